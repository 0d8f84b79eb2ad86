#!/usr/bin/env bash
# The main job on the default data set. For now: set up, build in release mode, summarise the data
# sets, train LeNet-300-100 on MNIST, and round-trip a real model (a nearest-centroid classifier)
# through an .rlf file. Pruning, export, inference and reports join as their issues land.
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
"$bin/relief-train" --model lenet-300-100 --dataset mnist --epochs 10 --milestones 7 -o runs/main-lenet-300-100

for d in mnist fashion-mnist; do
  echo
  echo "== .rlf round trip: nearest-centroid classifier on $d"
  "$bin/relief-data" centroid --dataset "$d" -o "data/models/$d-centroid.rlf"
done
echo
echo "== relief-inspect data/models/mnist-centroid.rlf"
"$bin/relief-inspect" data/models/mnist-centroid.rlf
