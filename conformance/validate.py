#!/usr/bin/env python3
"""Check an Autobahn|Testsuite report (<outdir>/index.json) and summarise it.

Standard library only. Exit status 0 only when, for every agent in the report:
  * every case's behavior is OK, or INFORMATIONAL on a case whose only possible
    verdict is INFORMATIONAL (7.1.6, 7.13.1, 7.13.2);
  * every case's behaviorClose is OK or INFORMATIONAL;
  * the expected cases all ran (--expected-cases FILE: exactly those IDs;
    --expected N: that many cases).
NON-STRICT, FAILED, UNIMPLEMENTED (and WRONG CODE, UNCLEAN, ... for the close)
fail the run. Exit status 1: check failed; 2: report missing or unreadable.

    validate.py REPORT_DIR_OR_INDEX_JSON [--expected-cases FILE | --expected N]
                [--agent NAME] [--excluded '12.*,13.*'] [--title TEXT]
                [--markdown FILE]
"""

import argparse
import json
import os
import sys
from collections import Counter

BEHAVIORS = ("OK", "NON-STRICT", "INFORMATIONAL", "FAILED", "UNIMPLEMENTED")
# Cases whose code sets INFORMATIONAL unconditionally (autobahntestsuite 0.8.2,
# case7_1_6.py, case7_13_1.py, case7_13_2.py): there is no pass/fail verdict.
INFORMATIONAL_ONLY = {"7.1.6", "7.13.1", "7.13.2"}
CLOSE_PASSING = {"OK", "INFORMATIONAL"}


def parse_args():
    p = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    p.add_argument("report", help="the wstest outdir, or its index.json")
    group = p.add_mutually_exclusive_group()
    group.add_argument("--expected-cases", metavar="FILE", help="file with one expected case ID per line")
    group.add_argument("--expected", type=int, metavar="N", help="number of cases that must have run")
    p.add_argument("--agent", help="check only this agent (default: every agent in the report)")
    p.add_argument("--excluded", help="case patterns excluded from the run, for the summary ('' = none)")
    p.add_argument("--title", default="", help="heading for the summary, e.g. 'tokio server'")
    p.add_argument("--markdown", metavar="FILE", help="also write the summary as a markdown table")
    return p.parse_args()


def case_key(case_id):
    """Sort '1.2.10' after '1.2.9'."""
    return tuple(int(x) if x.isdigit() else 0 for x in case_id.split("."))


def load_report(path):
    if os.path.isdir(path):
        path = os.path.join(path, "index.json")
    try:
        with open(path) as f:
            return json.load(f)
    except (OSError, ValueError) as e:
        print(f"validate: cannot read {path}: {e}", file=sys.stderr)
        sys.exit(2)


def load_expected(args):
    """Returns (expected ID set or None, expected count or None)."""
    if args.expected_cases:
        with open(args.expected_cases) as f:
            ids = [line.strip() for line in f if line.strip()]
        return set(ids), len(ids)
    return None, args.expected


def classify(case_id, result):
    """Returns 'pass', 'informational' or 'fail' for one case."""
    behavior = result.get("behavior")
    close = result.get("behaviorClose")
    if close not in CLOSE_PASSING:
        return "fail"
    if behavior == "OK":
        return "pass"
    if behavior == "INFORMATIONAL" and case_id in INFORMATIONAL_ONLY:
        return "informational"
    return "fail"


def check_agent(agent, cases, expected_ids, expected_count):
    """Returns a dict summarising one agent's results."""
    verdicts = {cid: classify(cid, r) for cid, r in cases.items()}
    problems = []
    missing = sorted(expected_ids - cases.keys(), key=case_key) if expected_ids is not None else []
    extra = sorted(cases.keys() - expected_ids, key=case_key) if expected_ids is not None else []
    if missing:
        problems.append(f"{len(missing)} expected case(s) did not run: {', '.join(missing[:20])}"
                        + (" ..." if len(missing) > 20 else ""))
    if extra:
        problems.append(f"{len(extra)} unexpected case(s) in the report: {', '.join(extra[:20])}")
    if expected_ids is None and expected_count is not None and len(cases) != expected_count:
        problems.append(f"expected {expected_count} cases, the report has {len(cases)}")
    failed = [c for c, v in verdicts.items() if v == "fail"]
    if failed:
        problems.append(f"{len(failed)} case(s) not passing")
    return {
        "agent": agent,
        "cases": cases,
        "counts": Counter(r.get("behavior") for r in cases.values()),
        "close_counts": Counter(r.get("behaviorClose") for r in cases.values()),
        "failed": sorted(failed, key=case_key),
        "informational": sorted((c for c, v in verdicts.items() if v == "informational"), key=case_key),
        "problems": problems,
        "expected": expected_count,
    }


def behavior_columns(summary):
    names = list(BEHAVIORS) + sorted(set(summary["counts"]) - set(BEHAVIORS), key=str)
    return [(n, summary["counts"].get(n, 0)) for n in names]


def detail_rows(summary, case_ids):
    cases = summary["cases"]
    return [(c, cases[c].get("behavior"), cases[c].get("behaviorClose"),
             cases[c].get("remoteCloseCode"), cases[c].get("duration")) for c in case_ids]


def render_text(summaries, args):
    out = []
    title = f" ({args.title})" if args.title else ""
    out.append(f"Autobahn|Testsuite results{title}")
    if args.excluded is not None:
        out.append(f"excluded from this run: {args.excluded or 'none'}")
    for s in summaries:
        ran = len(s["cases"])
        expected = f" of {s['expected']} expected" if s["expected"] is not None else ""
        out.append(f"\nagent {s['agent']}: {ran} cases{expected}")
        cols = behavior_columns(s)
        out.append("  " + "  ".join(f"{n:>13}" for n, _ in cols))
        out.append("  " + "  ".join(f"{v:>13}" for _, v in cols))
        close = ", ".join(f"{k}={v}" for k, v in sorted(s["close_counts"].items(), key=str))
        out.append(f"  behaviorClose: {close}")
        for label, ids in (("not passing", s["failed"]), ("informational (accepted)", s["informational"])):
            if not ids:
                continue
            out.append(f"  {label}:")
            out.append(f"    {'case':<10} {'behavior':<14} {'behaviorClose':<14} {'remote code':<12} ms")
            for c, b, bc, code, ms in detail_rows(s, ids):
                out.append(f"    {c:<10} {b or '-':<14} {bc or '-':<14} {str(code):<12} {ms}")
        for problem in s["problems"]:
            out.append(f"  PROBLEM: {problem}")
    ok = all(not s["problems"] for s in summaries) and summaries
    out.append("\nRESULT: " + ("PASS" if ok else "FAIL"))
    return "\n".join(out)


def render_markdown(summaries, args):
    out = []
    title = f" — {args.title}" if args.title else ""
    out.append(f"### Autobahn|Testsuite{title}\n")
    if args.excluded is not None:
        out.append(f"Excluded from this run: `{args.excluded or 'none'}`\n")
    names = [n for n, _ in behavior_columns(summaries[0])] if summaries else list(BEHAVIORS)
    out.append("| agent | cases | " + " | ".join(names) + " | result |")
    out.append("|---|---:|" + "---:|" * len(names) + "---|")
    for s in summaries:
        counts = [str(s["counts"].get(n, 0)) for n in names]
        result = "pass" if not s["problems"] else "**FAIL**"
        out.append(f"| {s['agent']} | {len(s['cases'])} | " + " | ".join(counts) + f" | {result} |")
    for s in summaries:
        ids = s["failed"] + s["informational"]
        if not ids:
            continue
        out.append(f"\n{s['agent']}: cases that are not OK\n")
        out.append("| case | behavior | behaviorClose | accepted |")
        out.append("|---|---|---|---|")
        for c, b, bc, _, _ in detail_rows(s, sorted(ids, key=case_key)):
            accepted = "yes (informational only)" if c in s["informational"] else "no"
            out.append(f"| {c} | {b} | {bc} | {accepted} |")
        for problem in s["problems"]:
            out.append(f"\n- {problem}")
    return "\n".join(out) + "\n"


def main():
    args = parse_args()
    report = load_report(args.report)
    expected_ids, expected_count = load_expected(args)
    agents = [args.agent] if args.agent else sorted(report)
    summaries = [check_agent(a, report.get(a, {}), expected_ids, expected_count) for a in agents]
    if not summaries:
        print("validate: the report has no agent (did any case run?)", file=sys.stderr)
    if args.markdown:
        with open(args.markdown, "w") as f:
            f.write(render_markdown(summaries, args))
    print(render_text(summaries, args))
    ok = summaries and all(not s["problems"] for s in summaries)
    sys.exit(0 if ok else 1)


if __name__ == "__main__":
    main()
