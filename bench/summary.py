"""Prints the table of bench/responder.sh: the median of the rounds per target, as Markdown.

Usage: python3 bench/summary.py RESULTS.jsonl SECONDS CONNECTIONS ROUNDS
"""
import json
import statistics
import sys

rows = [json.loads(line) for line in open(sys.argv[1])]
targets = list(dict.fromkeys(r["target"] for r in rows))


def median(target, field):
    return statistics.median(field(r) for r in rows if r["target"] == target)


base = median(targets[0], lambda r: r["wrk"]["rps"])
print(f"\nwrk -t2 -c{sys.argv[3]} -d{sys.argv[2]}s on loopback, median of {sys.argv[4]} interleaved rounds\n")
print(
    "| target | req/s | × hello | p50 ms | p99 ms | CPU µs/webhook | Redis CPU µs/webhook "
    "| replies / webhooks (all rounds) | drain s | CPU µs/reply sent |"
)
print("|---|---:|---:|---:|---:|---:|---:|---|---:|---:|")
for t in targets:
    mine = [r for r in rows if r["target"] == t]
    rps = median(t, lambda r: r["wrk"]["rps"])
    cells = [
        f"{rps:,.0f}",
        f"{rps / base:.2f}",
        f"{median(t, lambda r: r['wrk']['p50_ms']):.2f}",
        f"{median(t, lambda r: r['wrk']['p99_ms']):.2f}",
        f"{median(t, lambda r: r['cpu_us']):.1f}",
    ]
    redis = median(t, lambda r: r.get("redis_cpu_us", 0))
    cells.append(f"{redis:.1f}" if redis else "–")
    if "accepted" in mine[0]:
        cells += [
            f"{sum(r['replies'] for r in mine):,} / {sum(r['accepted'] for r in mine):,}",
            f"{median(t, lambda r: r['drain_s']):.0f}",
            f"{median(t, lambda r: r['send_cpu_us']):.1f}",
        ]
    else:
        cells += ["–"] * 3
    print(f"| {t} | " + " | ".join(cells) + " |")
