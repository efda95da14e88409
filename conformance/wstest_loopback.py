# -*- coding: utf-8 -*-
# Python 2 helper, run by conformance/run with the suite's python2.7
# (<prefix>/bin/python2, see conformance/install).
#
#   python2 wstest_loopback.py wstest <wstest args...>
#       Runs wstest, but every TCP listener binds 127.0.0.1: wstest's fuzzingserver
#       and its web page otherwise listen on all interfaces, and this harness must
#       never be reachable from outside the machine.
#
#   python2 wstest_loopback.py list-cases <spec.json>
#       Prints, one per line, the case IDs that wstest will run for the spec
#       (its "cases" minus "exclude-cases", resolved exactly as wstest does), so
#       validate.py can check that every expected case ran. Fails on unknown IDs.
import json
import sys


def run_wstest(args):
    # choosereactor installs the epoll reactor; it must be imported before
    # anything touches twisted.internet.reactor, as wstest itself does.
    from autobahntestsuite import choosereactor  # noqa: F401
    from twisted.internet import reactor

    listen_tcp = reactor.listenTCP

    def listen_tcp_loopback(port, factory, backlog=50, interface=''):
        return listen_tcp(port, factory, backlog, interface or '127.0.0.1')

    reactor.listenTCP = listen_tcp_loopback

    from autobahntestsuite import wstest
    sys.argv = ['wstest'] + args
    wstest.run()


def list_cases(spec_path):
    from autobahntestsuite.caseset import CaseSet
    from autobahntestsuite.case import (Cases, CaseCategories, CaseSubCategories,
                                        CaseSetname, CaseBasename)

    with open(spec_path) as f:
        spec = json.load(f)
    case_set = CaseSet(CaseSetname, CaseBasename, Cases, CaseCategories, CaseSubCategories)
    cases = case_set.parseSpecCases(spec)
    unknown = [c for c in cases if c not in case_set.CasesIndices]
    if unknown:
        sys.stderr.write('unknown case id(s) in %s: %s\n' % (spec_path, ', '.join(unknown)))
        sys.exit(2)
    for c in cases:
        print(c)


def main():
    if len(sys.argv) >= 2 and sys.argv[1] == 'wstest':
        run_wstest(sys.argv[2:])
    elif len(sys.argv) == 3 and sys.argv[1] == 'list-cases':
        list_cases(sys.argv[2])
    else:
        sys.stderr.write(__doc__ if __doc__ else 'usage: wstest_loopback.py wstest ARGS | list-cases SPEC\n')
        sys.exit(2)


if __name__ == '__main__':
    main()
