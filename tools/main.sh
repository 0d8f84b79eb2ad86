#!/usr/bin/env bash
# The main job on the default data set. For now (issue 2): set up, build in release mode, summarise
# the data sets, and round-trip a real model (a nearest-centroid classifier) through an .rlf file.
# Pruning, export, inference and reports join as their issues land.
set -euo pipefail
cd "$(dirname "$0")/.."
bash tools/setup.sh
swift build -c release
bin=$(swift build -c release --show-bin-path)
mkdir -p data/models

echo "== Data sets"
"$bin/relief-data" summary --dataset mnist fashion-mnist
for d in mnist fashion-mnist; do
  echo
  echo "== .rlf round trip: nearest-centroid classifier on $d"
  "$bin/relief-data" centroid --dataset "$d" -o "data/models/$d-centroid.rlf"
done
echo
echo "== relief-inspect data/models/mnist-centroid.rlf"
"$bin/relief-inspect" data/models/mnist-centroid.rlf
