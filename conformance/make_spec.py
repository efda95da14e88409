#!/usr/bin/env python3
"""Fill a wstest spec template (fuzzingclient.json / fuzzingserver.json).

Used by conformance/run; standard library only.

    make_spec.py TEMPLATE OUT --url ws://127.0.0.1:9001 --outdir DIR
                 [--agent NAME] [--cases '1.*,2.1'] [--compression]

--cases replaces the template's "cases" (default: keep ["*"]).
Without --compression the template's 12.*/13.* exclusions stay; with it they go.
Prints the exclude-cases that remain, comma-separated, so run can report them.
"""

import argparse
import json

COMPRESSION_PATTERNS = ("12.*", "13.*")


def parse_args():
    p = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    p.add_argument("template")
    p.add_argument("out")
    p.add_argument("--url", required=True)
    p.add_argument("--outdir", required=True)
    p.add_argument("--agent", help="agent name (fuzzingclient only: names our server in the report)")
    p.add_argument("--cases", help="comma-separated wstest case patterns, e.g. '1.*,2.1'")
    p.add_argument("--compression", action="store_true", help="include the 12.*/13.* compression cases")
    return p.parse_args()


def split_patterns(text):
    return [c.strip() for c in text.split(",") if c.strip()]


def fill(spec, args):
    spec["outdir"] = args.outdir
    if "servers" in spec:  # fuzzingclient: wstest connects to our server
        spec["servers"][0]["url"] = args.url
        spec["servers"][0]["agent"] = args.agent or "ropeway"
    else:  # fuzzingserver: wstest listens here
        spec["url"] = args.url
    if args.cases:
        spec["cases"] = split_patterns(args.cases)
    if args.compression:
        spec["exclude-cases"] = [c for c in spec.get("exclude-cases", []) if c not in COMPRESSION_PATTERNS]
    return spec


def main():
    args = parse_args()
    with open(args.template) as f:
        spec = json.load(f)
    spec = fill(spec, args)
    with open(args.out, "w") as f:
        json.dump(spec, f, indent=2)
        f.write("\n")
    print(",".join(spec.get("exclude-cases", [])))


if __name__ == "__main__":
    main()
