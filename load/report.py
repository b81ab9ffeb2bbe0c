"""Assembles one backend's harness run: prints the table and writes it as JSON.

usage: report.py BACKEND MODE SEED_JSON RUNS_JSONL LIMITS_JSON IDLE_KB PEAK_KB OUT_JSON
"""
import json
import sys

backend, mode, seed_path, runs_path, limits_path, idle_kb, peak_kb, out_path = sys.argv[1:9]
seed = json.load(open(seed_path))
runs = [json.loads(line) for line in open(runs_path) if line.strip()]
limits = json.load(open(limits_path))
idle_mb, peak_mb = int(idle_kb) / 1024, int(peak_kb) / 1024


def run(scenario, connections):
    return next((r["result"] for r in runs if r["scenario"] == scenario and r["connections"] == connections), None)


rows = []
for r in runs:
    res, c = r["result"], r["connections"]
    health = run("healthz", c)
    row = {
        "scenario": r["scenario"],
        "connections": c,
        "rps": res["rps"],
        "p50_ms": res["p50_ms"],
        "p99_ms": res["p99_ms"],
        "non_2xx": res["non_2xx"],
        "socket_errors": res["socket_errors"],
        # Peak resident memory during this run alone (the harness resets it before each).
        "peak_mb": round(r["peak_kb"] / 1024, 1) if "peak_kb" in r else None,
        "vs_healthz": res["rps"] / health["rps"] if health and health["rps"] else None,
        "vs_pgbench": res["rps"] / limits[f"pgbench_{c}"] if f"pgbench_{c}" in limits else None,
    }
    rows.append(row)

get32, get2 = run("get_child", 32), run("get_child", 2)
targets = []


def target(name, value, limit, ok):
    targets.append({"target": name, "value": value, "limit": limit, "met": bool(ok)})


if backend == "postgres" and "pgbench_32" in limits:
    ratio = get32["rps"] / limits["pgbench_32"]
    target("GET child @32 / pgbench -S @32", round(ratio, 3), ">= 0.5", ratio >= 0.5)
else:
    ratio = get32["rps"] / run("healthz", 32)["rps"]
    target("GET child @32 / healthz @32", round(ratio, 3), ">= 0.4", ratio >= 0.4)
target("GET child p99 @2 (light load), ms", get2["p99_ms"], "<= 5", get2["p99_ms"] <= 5)
target("summary report p50 @2, ms", run("summary", 2)["p50_ms"], "<= 200", run("summary", 2)["p50_ms"] <= 200)
target("compliance alerts p50 @2, ms", run("alerts", 2)["p50_ms"], "<= 100", run("alerts", 2)["p50_ms"] <= 100)
target("resident memory idle, MB", round(idle_mb, 1), "<= 60", idle_mb <= 60)
target("resident memory peak (GET child at 64 connections), MB", round(peak_mb, 1), "<= 150", peak_mb <= 150)
failures = sum(r["non_2xx"] + r["socket_errors"] for r in rows)

doc = {
    "backend": backend,
    "mode": mode,
    "counts": seed["counts"],
    "seed_s": round(seed["load_s"], 1),
    "limits": limits,
    "memory_mb": {"idle": round(idle_mb, 1), "peak": round(peak_mb, 1)},
    "runs": rows,
    "targets": targets,
    "failed_requests": failures,
}
json.dump(doc, open(out_path, "w"), indent=2)

fmt = lambda v, spec: "-" if v is None else format(v, spec)
print(f"\n{backend} ({mode}): {seed['counts']}, seeded in {seed['load_s']:.0f} s")
print(f"{'scenario':<16}{'conns':>6}{'req/s':>10}{'p50 ms':>9}{'p99 ms':>9}{'non-2xx':>9}{'/healthz':>10}{'/pgbench':>10}{'peak MB':>9}")
for r in rows:
    print(
        f"{r['scenario']:<16}{r['connections']:>6}{r['rps']:>10.0f}{r['p50_ms']:>9.2f}{r['p99_ms']:>9.2f}"
        f"{r['non_2xx']:>9}{fmt(r['vs_healthz'], '>10.2f'):>10}{fmt(r['vs_pgbench'], '>10.2f'):>10}"
        f"{fmt(r['peak_mb'], '>9.1f'):>9}"
    )
for k, v in limits.items():
    print(f"limit {k}: {v:.0f} tps")
print(f"resident memory: idle {idle_mb:.1f} MB, peak {peak_mb:.1f} MB (GET child at 64 connections)")
for t in targets:
    print(f"{'met ' if t['met'] else 'MISS'} {t['target']}: {t['value']} (target {t['limit']})")
print(f"failed requests: {failures}")
if failures:
    sys.exit(1)
