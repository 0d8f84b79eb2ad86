#!/usr/bin/env python3
"""Writes bench/report/report.md, report.json and SVG plots from the files tools/bench_report.sh
collected: Relief's own measurements (relief-bench model --json, one file per round), each peer's JSON
line per round, the kernel sweep. A cell's time is the median over rounds of each round's median;
ratios are pair by pair, from the same run."""
import datetime
import glob
import json
import os
import platform
import statistics
import subprocess
import sys

work, out = sys.argv[1:3]
models = [m.split("=", 1) for m in sys.argv[3:]]
peers = [json.loads(l) for l in open(os.path.join(work, "peers.jsonl")) if l.strip()]
settings = json.load(open(os.path.join(work, "settings.json")))
rounds = settings["rounds"]
cores = os.cpu_count()
# "AMD EPYC" alone names no generation; family, model and the vector width say which kernels ran
# (Relief and DeepSparse both pick AVX-512 code where the CPU has it).
info = {}
for line in open("/proc/cpuinfo"):
    key, _, value = line.partition(":")
    info.setdefault(key.strip(), value.strip())
cpu = info.get("model name", platform.processor())
flags = set(info.get("flags", "").split())
isa = "AVX-512" if "avx512f" in flags else "AVX2" if "avx2" in flags else "SSE"
if "cpu family" in info:
    cpu = f"{cpu} (family {info['cpu family']}, model {info.get('model', '?')}, {isa})"
swift = subprocess.run(["swift", "--version"], capture_output=True, text=True).stdout.split("\n")[0]
versions = {}
for p in peers:
    versions[p["result"]["peer"]] = p["result"]["version"]

rows, data = [], {"date": datetime.date.today().isoformat(), "machine": f"{cpu}, {cores} cores", "swift": swift,
                  "peerVersions": versions, "rounds": rounds, "secondsPerRound": settings["secondsPerRound"], "models": []}
svgs = []
for name, rlf in models:
    round_files = sorted(glob.glob(os.path.join(work, glob.escape(name) + ".relief.*.json")))
    assert len(round_files) == rounds, f"{name}: {len(round_files)} rounds of Relief measurements, expected {rounds}"
    # Per (plan, batch, threads): each round's run; the cell takes the medians over rounds.
    relief_rounds = {}
    for path in round_files:
        for r in json.load(open(path)):
            for run in r["runs"]:
                relief_rounds.setdefault((run["plan"], run["batch"], run["threads"]), []).append(run)
    relief = {key: {"medianMilliseconds": statistics.median(x["medianMilliseconds"] for x in runs),
                    "p99Milliseconds": statistics.median(x["p99Milliseconds"] for x in runs),
                    "roundMedians": [x["medianMilliseconds"] for x in runs],
                    # Examples per pass through the network, as each round chose them.
                    "chunks": [x.get("chunk") for x in runs]} for key, runs in relief_rounds.items()}
    reports = json.load(open(round_files[0]))
    rlf_bytes = os.path.getsize(rlf)
    onnx_bytes = os.path.getsize(os.path.join(work, name + ".onnx"))
    first = reports[0]
    layers = [l for l in (first["layers"].get("64") or first["layers"][sorted(first["layers"], key=int)[-1]]) if l["weightShape"]]
    nnz = sum(l["nonzeros"] for l in layers)
    total = sum(l["weightShape"][0] * (l["denseWeightBytes"] // 4 // max(1, l["weightShape"][0])) for l in layers)
    model = {"name": name, "rlf": rlf, "rlfBytes": rlf_bytes, "onnxBytes": onnx_bytes, "sizeRatio": onnx_bytes / rlf_bytes,
             "residentWeightBytes": first["residentWeightBytes"], "denseWeightBytes": first["denseWeightBytes"],
             "peakResidentBytes": first["peakResidentBytes"], "cells": []}
    full = os.path.join(work, name + ".full.onnx")
    if os.path.exists(full):
        # The pruned model as a framework exports it: the original architecture, zeros included.
        model["fullOnnxBytes"] = os.path.getsize(full)
        model["fullSizeRatio"] = model["fullOnnxBytes"] / rlf_bytes
    for (plan, batch, threads), run in sorted(relief.items()):
        if plan != "sparse":
            continue
        cell = {"batch": batch, "threads": threads, "relief": run["medianMilliseconds"], "reliefP99": run["p99Milliseconds"],
                "reliefRounds": run["roundMedians"], "reliefChunks": run["chunks"],
                "reliefDense": relief.get(("dense", batch, threads), {}).get("medianMilliseconds"), "peers": {}}
        by_peer = {}
        for p in peers:
            r = p["result"]
            if p["model"] == name and r["batch"] == batch and r["threads"] == threads:
                by_peer.setdefault(r["peer"], []).append(r)
        for peer, results in by_peer.items():
            ok = all(r["ok"] for r in results)
            median = statistics.median(r["median_ms"] for r in results)
            cell["peers"][peer] = {"median": median, "p99": statistics.median(r["p99_ms"] for r in results), "ok": ok,
                                   "maxError": max(r["max_error"] for r in results), "rounds": [r["median_ms"] for r in results],
                                   "repetitions": sum(r["repetitions"] for r in results),
                                   "reliefSpeedup": median / run["medianMilliseconds"] if ok else None}
        model["cells"].append(cell)
    data["models"].append(model)

peer_names = ["onnxruntime", "deepsparse", "pytorch", "pytorch-sparse", "scipy-csr"]
md = [f"# Relief beside ONNX Runtime, DeepSparse, PyTorch and SciPy\n",
      f"Generated by `tools/bench_report.sh` on {data['date']}: {data['machine']}; {swift}; "
      + ", ".join(f"{k} {v}" for k, v in sorted(versions.items())) + ". "
      "Every model runs with the same weights (Relief's .rlf, and its ONNX export for the peers), the same inputs and the "
      "same thread count; each peer's outputs are checked against Relief's (relative error ≤ 1e-3) before its time counts "
      f"(✗ marks a peer whose outputs differed). Each runtime is measured in {rounds} rounds, the runtimes taking turns "
      f"within each round, so a slow spell of this shared machine falls on all of them alike; a cell's time is the median "
      f"over the rounds of each round's median of at least 20 runs and at least {settings['secondsPerRound']:g} s after 3 "
      "warm-up runs (slow peers: at least 5 runs, 10 s); speed-up = peer median / Relief median, from the same run. "
      "Relief runs a batch through the network in the chunk of examples per pass (the whole batch, 16, 4 or 1) that it "
      "measured fastest for the model when loading it; the column gives each round's choice. "
      "DeepSparse runs in its own virtual environment (evaluation licence; never a dependency of Relief).\n"]
for m in data["models"]:
    md.append(f"## {m['name']}\n")
    md.append(f".rlf {m['rlfBytes']:,} bytes; dense ONNX of the same pruned model {m['onnxBytes']:,} bytes "
              f"(**{m['sizeRatio']:.1f}× smaller**; Relief's ONNX export drops the units pruning disconnected)"
              + (f"; dense ONNX of the full architecture, as PyTorch exports the pruned model with its zeros, "
                 f"{m['fullOnnxBytes']:,} bytes (**{m['fullSizeRatio']:.1f}× smaller**)" if "fullOnnxBytes" in m else "")
              + f"; weights resident in Relief {m['residentWeightBytes']:,} bytes vs "
              f"{m['denseWeightBytes']:,} dense; peak resident memory of the Relief process while its chosen plans ran {m['peakResidentBytes'] / 2**20:.1f} MiB.\n")
    md.append("| batch | threads | Relief ms (p99) | Relief examples per pass | Relief dense ms | "
              + " | ".join(f"{p} ms (Relief speed-up)" for p in peer_names) + " |")
    md.append("|---:|---:|---:|---:|---:|" + "---:|" * len(peer_names))
    for c in m["cells"]:
        cells = []
        for p in peer_names:
            r = c["peers"].get(p)
            if r is None:
                cells.append("—")
            elif not r["ok"]:
                cells.append(f"✗ {r['median']:.3f} (error {r['maxError']:.1e})")
            else:
                cells.append(f"{r['median']:.3f} ({r['reliefSpeedup']:.2f}×)")
        dense = f"{c['reliefDense']:.3f}" if c["reliefDense"] else "—"
        chunks = "/".join(dict.fromkeys(str(k) if k is not None else "—" for k in c["reliefChunks"]))
        md.append(f"| {c['batch']} | {c['threads']} | {c['relief']:.3f} ({c['reliefP99']:.3f}) | {chunks} | {dense} | " + " | ".join(cells) + " |")
    md.append("")
    md.append("The FLOPs caveat, layer by layer (Relief, 1 thread; `relief-bench model`):\n")
    md.append(open(os.path.join(work, m["name"] + ".relief.md")).read().split("\n", 2)[2].strip())
    md.append("")
    # One SVG per model: Relief's speed-up over each peer, per batch and thread count.
    bars = [(f"b{c['batch']} t{c['threads']}", p, c["peers"][p]["reliefSpeedup"]) for c in m["cells"] for p in peer_names
            if p in c["peers"] and c["peers"][p]["reliefSpeedup"]]
    if bars:
        width, height, left = 760, 40 + 18 * len(bars), 230
        top = max(b[2] for b in bars)
        scale = (width - left - 60) / max(top, 1)
        svg = [f'<svg xmlns="http://www.w3.org/2000/svg" width="{width}" height="{height}" font-family="sans-serif" font-size="11">',
               f'<text x="10" y="16" font-size="13">{m["name"]}: Relief speed-up over each peer (log-free, 1× = line)</text>',
               f'<line x1="{left + scale}" y1="24" x2="{left + scale}" y2="{height - 8}" stroke="#900" stroke-dasharray="3,3"/>']
        for k, (cell, peer, ratio) in enumerate(bars):
            y = 28 + 18 * k
            svg.append(f'<text x="10" y="{y + 11}">{cell} {peer}</text>')
            svg.append(f'<rect x="{left}" y="{y}" width="{max(1, ratio * scale):.1f}" height="13" fill="#3a7"/>')
            svg.append(f'<text x="{left + ratio * scale + 4:.1f}" y="{y + 11}">{ratio:.2f}×</text>')
        svg.append("</svg>")
        path = os.path.join(out, m["name"] + ".svg")
        open(path, "w").write("\n".join(svg))
        md.append(f"![Relief speed-up on {m['name']}]({m['name']}.svg)\n")
md.append("## Kernel sweep (`relief-bench kernels`)\n")
md.append(open(os.path.join(work, "kernels.md")).read().strip())
open(os.path.join(out, "report.md"), "w").write("\n".join(md) + "\n")
json.dump(data, open(os.path.join(out, "report.json"), "w"), indent=1)
