"""The figures of one role's contract-fuzzing run, and its gates (reliability/contract.sh).

Reads, from --dir: ids.json and setup_requests (reliability/fuzz_setup.py), counts.json
(reliability/fuzz_hooks.py), metrics.txt (the service's /metrics, read once after the run) and
server.log. Prints, per operation, the cases sent and how many got a 2xx, then the share of the
role's operations with at least one 2xx, and the request accounting. Exits 1 when:

- the service's request counter (the sum of tongxing_http_requests_total: every answer of the
  service, refusals included; the read of /metrics that reports it is not in it yet) differs
  from the requests sent to it: the script's (readiness polls that were answered), the setup's,
  and those that left Schemathesis' process (its cases, what its checks and probes send, the
  hooks' ETag reads), less those the HTTP layer answered before the service (a request it cannot
  parse never reaches the service's counter; each leaves a line in the server's log);
- --min-coverage is given and fewer operations than that share got a 2xx.
"""

import argparse
import json
import os
import re
import sys


def main():
    ap = argparse.ArgumentParser()
    ap.add_argument("--dir", required=True)
    ap.add_argument("--label", required=True)
    ap.add_argument("--script-requests", type=int, required=True)
    ap.add_argument("--min-coverage", type=float, default=None)
    a = ap.parse_args()
    ids = json.load(open(os.path.join(a.dir, "ids.json")))
    counts_path = os.path.join(a.dir, "counts.json")
    counts = json.load(open(counts_path)) if os.path.exists(counts_path) else {
        "operations": {}, "etag_reads": 0, "transport": {"service": 0, "http_layer": 0, "no_answer": 0}}
    setup_answered, setup_unanswered = (int(x) for x in open(os.path.join(a.dir, "setup_requests")).read().split())
    metrics = open(os.path.join(a.dir, "metrics.txt")).read()
    counted = sum(int(float(m.group(1))) for m in re.finditer(r"^tongxing_http_requests_total\{.*\} (\S+)$", metrics, re.M))
    log = open(os.path.join(a.dir, "server.log"), errors="replace").read()
    parse_errors = len(re.findall(r"request parse error", log))

    by_id = {e["operation_id"]: e for e in counts["operations"].values()}
    ops = ids["operations"]
    failed = False
    print(f"{'operation':40} {'sent':>6} {'2xx':>6}  statuses; the most frequent refusals")
    reached = 0
    for op in sorted(ops):
        e = by_id.get(op, {"sent": 0, "2xx": 0, "statuses": {}, "codes": {}})
        reached += e["2xx"] > 0
        statuses = " ".join(f"{k}:{v}" for k, v in sorted(e["statuses"].items()))
        codes = sorted(e["codes"].items(), key=lambda kv: -kv[1])[:2]
        refusals = "; ".join(f"{k} x{v}" for k, v in codes)
        print(f"{op:40} {e['sent']:6} {e['2xx']:6}  {statuses}{'  | ' + refusals if refusals else ''}")
    share = 100.0 * reached / len(ops) if ops else 0.0
    print(f"{a.label}: {reached}/{len(ops)} operations got a 2xx ({share:.1f}%); "
          f"{len(ids['not_allowed'])} operations left out as refused to the role (or not the role's)")
    if a.min_coverage is not None and share < a.min_coverage:
        print(f"{a.label}: FAIL: fewer than {a.min_coverage:g}% of the operations got a 2xx", file=sys.stderr)
        failed = True

    t = counts["transport"]
    cases = sum(e["sent"] for e in counts["operations"].values())
    sent = a.script_requests + setup_answered + t["service"]
    print(f"{a.label}: requests the service answered: {sent} sent = script {a.script_requests} + setup {setup_answered} "
          f"+ Schemathesis {t['service']} ({cases} cases, {counts['etag_reads']} ETag reads by the hooks, "
          f"{t['service'] + t['http_layer'] - cases - counts['etag_reads']} sent by checks and probes); its counter says {counted}")
    print(f"{a.label}: answered by the HTTP layer before the service (unparsable, not counted by it): "
          f"{t['http_layer']} (server log: {parse_errors}); no answer at all: {t['no_answer'] + setup_unanswered}")
    if counted != sent:
        print(f"{a.label}: FAIL: the service counted {counted} requests, {sent} were sent and answered by it",
              file=sys.stderr)
        failed = True
    if t["http_layer"] != parse_errors:
        print(f"{a.label}: FAIL: {t['http_layer']} answers came from the HTTP layer, the server logged "
              f"{parse_errors} unparsable requests", file=sys.stderr)
        failed = True
    sys.exit(1 if failed else 0)


if __name__ == "__main__":
    main()
