#!/usr/bin/env bash
# The schedules behind the MNIST targets, run from the recipes in bench/recipes, then exported,
# checked through the sparse runtime, inspected, and written up in bench/results/pruning-targets.md.
#   tools/pruning_targets.sh [lenet-300-100|lenet-5|report]   (default: both, then the report)
# Environment: THREADS (default: all cores); RELIEF_BIN (already built release binaries); NOTE (a
# sentence for the document, e.g. what else ran on the machine). `tools/pruning_targets.sh report`
# only writes the document from the runs already in runs/targets.
# Runs land in runs/targets/; the dense starting points come from tools/train_mnist_baselines.sh.
set -euo pipefail
cd "$(dirname "$0")/.."
what=${1:-all}
threads=${THREADS:-$(nproc)}
source tools/release_bin.sh
out=runs/targets
mkdir -p "$out"
[ -f runs/lenet-300-100-mnist/checkpoint.safetensors ] && [ -f runs/lenet-5-mnist/checkpoint.safetensors ] || bash tools/train_mnist_baselines.sh
timed() { local name=$1; shift; local start=$SECONDS; "$@"; echo "$name $((SECONDS - start))" >> "$out/times.txt"; }
touch "$out/times.txt"
if [ "$what" = all ] || [ "$what" = lenet-300-100 ]; then
  timed lenet-300-100 "$bin/relief-prune" --recipe bench/recipes/lenet-300-100-mnist.yaml \
    --from runs/lenet-300-100-mnist/checkpoint.safetensors --threads "$threads" -o "$out/lenet-300-100" --force
fi
if [ "$what" = all ] || [ "$what" = lenet-5 ]; then
  timed lenet-5-stage1 "$bin/relief-prune" --recipe bench/recipes/lenet-5-mnist-stage1.yaml \
    --from runs/lenet-5-mnist/checkpoint.safetensors --threads "$threads" -o "$out/lenet-5-stage1" --force
  timed lenet-5-stage2 "$bin/relief-prune" --recipe bench/recipes/lenet-5-mnist-stage2.yaml \
    --from "$out/lenet-5-stage1/iteration-12.safetensors" --threads "$threads" -o "$out/lenet-5-stage2" --force
fi
python3 tools/pruning_targets_report.py "$out" "$bin" "${NOTE:-}" > bench/results/pruning-targets.md
cat bench/results/pruning-targets.md
