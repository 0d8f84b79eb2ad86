#!/usr/bin/env bash
# NNrelief beside the baselines at equal remaining weights, on one model and data set, and the
# results document bench/results/pruning-MODEL-DATASET.md generated from the runs' logs.
#   tools/pruning_results.sh [MODEL] [DATASET] [ITERATIONS] [RETRAIN_EPOCHS] [PRETRAIN_EPOCHS]
# Defaults: lenet-300-100 mnist 20 5 20 (about 15 minutes on 2 cores). Release build.
# Every baseline prunes, at each iteration, to the remaining weights NNrelief reached there (--match).
# Environment: THREADS (default: all cores); RELIEF_BIN, a folder of already built release binaries
# (skips the build, so several of these can run beside other builds).
set -euo pipefail
cd "$(dirname "$0")/.."
model=${1:-lenet-300-100}; dataset=${2:-mnist}; iterations=${3:-20}; epochs=${4:-5}; pretrain=${5:-20}
out=runs/results/$model-$dataset
threads=${THREADS:-$(nproc)}
source tools/release_bin.sh
mkdir -p "$out" bench/results
timed() { local name=$1; shift; local start=$SECONDS; "$@"; echo "$name $((SECONDS - start))" >> "$out/times.txt"; }
: > "$out/times.txt"
timed train "$bin/relief-train" --model "$model" --dataset "$dataset" --epochs "$pretrain" --milestones $((pretrain * 2 / 3)) --threads "$threads" -o "$out/train" --force
common=(--model "$model" --dataset "$dataset" --from "$out/train/checkpoint.safetensors" --iterations "$iterations" --retrain-epochs "$epochs" --threads "$threads" --force)
timed relief "$bin/relief-prune" "${common[@]}" --method relief -o "$out/relief"
timed magnitude "$bin/relief-prune" "${common[@]}" --method magnitude --match "$out/relief" -o "$out/magnitude"
timed magnitude-global "$bin/relief-prune" "${common[@]}" --method magnitude-global --match "$out/relief" -o "$out/magnitude-global"
timed random "$bin/relief-prune" "${common[@]}" --method random --match "$out/relief" -o "$out/random"
timed imp-rewind "$bin/relief-prune" "${common[@]}" --method magnitude-global --rewind --match "$out/relief" -o "$out/imp-rewind"
"$bin/relief-export" "$out/relief/iteration-$iterations.safetensors" -o "$out/relief.rlf" --check > "$out/export.txt"
"$bin/relief-inspect" "$out/relief.rlf" > "$out/inspect.txt"
python3 tools/pruning_report.py "$out" "$model" "$dataset" "$iterations" "$epochs" "$pretrain" > "bench/results/pruning-$model-$dataset.md"
cat "bench/results/pruning-$model-$dataset.md"
