#!/usr/bin/env bash
# The main job on the default data set, as far as the pipeline exists: set up, build in release mode,
# summarise the data sets, train LeNet-300-100 on MNIST, prune it with NNrelief (a short schedule),
# export it to .rlf with a check against the checkpoint, and inspect it; then round-trip a
# nearest-centroid classifier through .rlf. Inference and reports join as their issues land.
set -euo pipefail
cd "$(dirname "$0")/.."
bash tools/setup.sh
swift build -c release
bin=$(swift build -c release --show-bin-path)
mkdir -p data/models

echo "== Data sets"
"$bin/relief-data" summary --dataset mnist fashion-mnist
echo
echo "== Training lenet-300-100 on MNIST (10 epochs)"
"$bin/relief-train" --model lenet-300-100 --dataset mnist --epochs 10 --milestones 7 -o runs/main/train --force

echo
echo "== NNrelief pruning (3 iterations of prune + 2 epochs of retraining), export and check"
"$bin/relief-prune" --model lenet-300-100 --dataset mnist --from runs/main/train/checkpoint.safetensors \
  --iterations 3 --retrain-epochs 2 -o runs/main/prune --force
"$bin/relief-export" runs/main/prune/iteration-3.safetensors -o data/models/lenet-300-100-relief.rlf --check
"$bin/relief-inspect" data/models/lenet-300-100-relief.rlf

echo
echo "== Sparse inference: the MNIST test set through relief-infer, then sparse against dense"
mnist_test=$(ls data/mnist/t10k-images-idx3-ubyte* | head -1)
mnist_labels=$(ls data/mnist/t10k-labels-idx1-ubyte* | head -1)
"$bin/relief-infer" data/models/lenet-300-100-relief.rlf "$mnist_test" --labels "$mnist_labels" | tail -1
"$bin/relief-infer" data/models/lenet-300-100-relief.rlf "$mnist_test" --limit 1
"$bin/relief-bench" model data/models/lenet-300-100-relief.rlf --seconds 0.5

for d in mnist fashion-mnist; do
  echo
  echo "== .rlf round trip: nearest-centroid classifier on $d"
  "$bin/relief-data" centroid --dataset "$d" -o "data/models/$d-centroid.rlf"
done
echo
echo "== relief-inspect data/models/mnist-centroid.rlf"
"$bin/relief-inspect" data/models/mnist-centroid.rlf
