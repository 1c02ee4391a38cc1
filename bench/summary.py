"""Prints the table of bench/responder.sh: the median of the rounds per target, as Markdown.

"× hello" is the median of the per-round ratios (each target against the hello-world of its
own round), which a baseline that moves between rounds does not skew; the rounds follow. The
second table sets each responder's CPU per webhook (its own, and its own plus Redis's) against
the «verify and read only» path of the same round, the same way, with the spread of the rounds.

Usage: python3 bench/summary.py RESULTS.jsonl SECONDS CONNECTIONS ROUNDS
"""
import json
import statistics
import sys

rows = [json.loads(line) for line in open(sys.argv[1])]
targets = list(dict.fromkeys(r["target"] for r in rows))


def median(target, field):
    return statistics.median(field(r) for r in rows if r["target"] == target)


hello = {r["round"]: r["wrk"]["rps"] for r in rows if r["target"] == targets[0]}
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
        f"{median(t, lambda r: r['wrk']['rps'] / hello[r['round']]):.2f}",
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

verify = {r["round"]: r["cpu_us"] for r in rows if r["target"].startswith("verify and read")}
responders = [t for t in targets if t.startswith("contacto responder")]
if verify and responders:
    print("\nResponder CPU per webhook against the same round's «verify and read only» (median, min–max)\n")
    print("| target | req/s (min–max) | × hello (min–max) | CPU µs/webhook (min–max) | × verify | own + Redis µs | × verify |")
    print("|---|---:|---:|---:|---:|---:|---:|")

    def spread(t, field, fmt):
        values = [field(r) for r in rows if r["target"] == t]
        return f"{fmt(statistics.median(values))} ({fmt(min(values))}–{fmt(max(values))})"

    for t in responders:
        own = lambda r: r["cpu_us"]
        both = lambda r: r["cpu_us"] + r.get("redis_cpu_us", 0)
        cells = [
            spread(t, lambda r: r["wrk"]["rps"], lambda v: f"{v:,.0f}"),
            spread(t, lambda r: r["wrk"]["rps"] / hello[r["round"]], lambda v: f"{v:.2f}"),
            spread(t, own, lambda v: f"{v:.1f}"),
            f"{median(t, lambda r: own(r) / verify[r['round']]):.2f}",
            f"{median(t, both):.1f}",
            f"{median(t, lambda r: both(r) / verify[r['round']]):.2f}",
        ]
        print(f"| {t} | " + " | ".join(cells) + " |")

print("\nPer round: req/s (× that round's hello-world; p99 ms)\n")
for t in targets:
    cells = [
        f"{r['wrk']['rps']:,.0f} ({r['wrk']['rps'] / hello[r['round']]:.2f} ×; {r['wrk']['p99_ms']:.1f})"
        for r in rows
        if r["target"] == t
    ]
    print(f"- {t}: " + " / ".join(cells))
