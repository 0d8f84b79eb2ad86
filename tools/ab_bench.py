#!/usr/bin/env python3
"""A/B timing of two builds of relief-bench on one model, rounds alternating between them.

On a shared machine one run of each is not enough to tell a 10% change from noise: this runs
`relief-bench model MODEL --json` from build A, then from build B, for --rounds rounds, and prints per
layer and for the whole model the median over rounds of each build's median time and the ratio B/A.

    git worktree add /tmp/base HEAD && (cd /tmp/base && swift build -c release --product relief-bench)
    swift build -c release --product relief-bench
    python3 tools/ab_bench.py /tmp/base/.build/release .build/release runs/bench-report/vgg-11-5pct.rlf --batch 64
"""
import argparse
import json
import statistics
import subprocess
import sys


def measure(binary_dir, model, batch, threads, seconds):
    out = subprocess.run([f"{binary_dir}/relief-bench", "model", model, "--batches", str(batch), "--threads", str(threads),
                          "--seconds", str(seconds), "--json"], check=True, capture_output=True, text=True).stdout
    report = json.loads(out)[0]
    times = {"(whole model)": next(r["medianMilliseconds"] for r in report["runs"] if r["plan"] == "sparse")}
    for layer in report["layers"][str(batch)]:
        if layer["seconds"] * 1e3 >= 0.05:
            times[layer["name"]] = layer["seconds"] * 1e3
    return times


def main():
    p = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    p.add_argument("a", help="directory with build A's relief-bench (the baseline)")
    p.add_argument("b", help="directory with build B's relief-bench")
    p.add_argument("model")
    p.add_argument("--batch", type=int, default=64)
    p.add_argument("--threads", type=int, default=1)
    p.add_argument("--rounds", type=int, default=5)
    p.add_argument("--seconds", type=float, default=1.0, help="relief-bench --seconds per run")
    args = p.parse_args()
    runs = {"a": [], "b": []}
    for r in range(args.rounds):
        for side in ("a", "b"):
            runs[side].append(measure(getattr(args, side), args.model, args.batch, args.threads, args.seconds))
        print(f"round {r + 1}/{args.rounds}: A {runs['a'][-1]['(whole model)']:.2f} ms, B {runs['b'][-1]['(whole model)']:.2f} ms",
              file=sys.stderr)
    names = [n for n in runs["a"][0] if all(n in t for t in runs["a"] + runs["b"])]
    print(f"{args.model}, batch {args.batch}, {args.threads} thread(s), {args.rounds} alternating rounds; medians of per-run medians (ms)")
    print(f"{'':16} {'A':>9} {'B':>9} {'B/A':>6}")
    for n in names:
        a = statistics.median(t[n] for t in runs["a"])
        b = statistics.median(t[n] for t in runs["b"])
        print(f"{n:16} {a:9.3f} {b:9.3f} {b / a:6.2f}")


if __name__ == "__main__":
    main()
