#!/usr/bin/env bash
# Whole-neuron pruning without retraining (Wolfe et al.) on LeNet-300-100 / MNIST: every estimate with
# Algorithms I and II, stopped before the ranking set's accuracy falls 0.5 points; each result exported
# and measured; then NNrelief from the neuron-pruned network against NNrelief from the dense one.
# Writes bench/results/neurons-lenet-300-100-mnist.md.
#   tools/neuron_results.sh   Environment: THREADS (default all cores), RELIEF_BIN, RANKING_SET (default 2000),
#                              PRUNE_ITERATIONS / PRUNE_EPOCHS for the NNrelief comparison (default 8 and 5).
set -euo pipefail
cd "$(dirname "$0")/.."
threads=${THREADS:-$(nproc)}
source tools/release_bin.sh
[ -f runs/lenet-300-100-mnist/checkpoint.safetensors ] || bash tools/train_mnist_baselines.sh
out=runs/neurons
mkdir -p "$out" bench/results
ranking=${RANKING_SET:-2000}
for estimate in brute-force first-order second-order; do
  for algorithm in 1 2; do
    run="$out/$estimate-$algorithm"
    "$bin/relief-neurons" --from runs/lenet-300-100-mnist/checkpoint.safetensors --estimate "$estimate" --algorithm "$algorithm" \
      --max-drop 0.5 --ranking-set "$ranking" --threads "$threads" -o "$run" > /dev/null
    "$bin/relief-export" "$run/checkpoint.safetensors" -o "$run/model.rlf" --check --json > "$run/export.json"
    "$bin/relief-bench" model "$run/model.rlf" --batches 1 64 --seconds 0.5 --json > "$run/bench.json"
  done
done
# Brute force with re-ranking under stricter stops on the ranking set (STRICT_DROPS, points), to see how
# much of the 0.5-point budget the test set keeps at each.
strict=${STRICT_DROPS:-0.4 0.3}
for drop in $strict; do
  run="$out/brute-force-2-drop-$drop"
  "$bin/relief-neurons" --from runs/lenet-300-100-mnist/checkpoint.safetensors --estimate brute-force --algorithm 2 \
    --max-drop "$drop" --ranking-set "$ranking" --threads "$threads" -o "$run" > /dev/null
  "$bin/relief-export" "$run/checkpoint.safetensors" -o "$run/model.rlf" --check --json > "$run/export.json"
  "$bin/relief-bench" model "$run/model.rlf" --batches 1 64 --seconds 0.5 --json > "$run/bench.json"
done
"$bin/relief-export" runs/lenet-300-100-mnist/checkpoint.safetensors -o "$out/dense.rlf" --json > "$out/dense-export.json"
"$bin/relief-bench" model "$out/dense.rlf" --batches 1 64 --seconds 0.5 --json > "$out/dense-bench.json"
# NNrelief alone against NNrelief after brute-force neuron pruning (Algorithm II), the same schedule.
iterations=${PRUNE_ITERATIONS:-8}; epochs=${PRUNE_EPOCHS:-5}
for start in dense neurons; do
  from=runs/lenet-300-100-mnist/checkpoint.safetensors
  [ "$start" = neurons ] && from="$out/brute-force-2/checkpoint.safetensors"
  "$bin/relief-prune" --model lenet-300-100 --dataset mnist --from "$from" --iterations "$iterations" --retrain-epochs "$epochs" \
    --milestones $((epochs * 2 / 3 + 1)) --threads "$threads" -o "$out/relief-from-$start" --force > /dev/null 2>&1
done
python3 tools/neuron_report.py "$out" "$ranking" "$iterations" "$epochs" "$strict" > bench/results/neurons-lenet-300-100-mnist.md
cat bench/results/neurons-lenet-300-100-mnist.md
