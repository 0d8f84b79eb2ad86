#!/usr/bin/env bash
# Relief beside the runtimes people use, on the same weights, inputs and thread counts, in one run:
# ONNX Runtime (dense), DeepSparse 1.8.0, PyTorch CPU (dense and torch.sparse), SciPy CSR; plus the
# kernel sweep. Writes bench/report/report.md, report.json and SVG plots.
#   tools/bench_report.sh            (about 15-25 minutes on 2 cores)
# Models: LeNet-300-100 and LeNet-5 pruned by NNrelief (runs/targets/*.rlf from tools/pruning_targets.sh,
# else the main job's LeNet-300-100 and a synthetic LeNet-5), and VGG-11 / ResNet-20 with seeded random
# weights pruned to NNrelief-like densities (relief-bench synth); LeNet-300-100 also at 90% sparsity.
# Each runtime is measured in ROUNDS rounds (default 3), the runtimes taking turns within a round, and a
# cell's time is the median over rounds: a slow spell of this shared machine then falls on all of them
# alike instead of on whichever ran during it.
# Environment: SECONDS_PER_CELL (default 1, split between the rounds), ROUNDS, QUICK=1 (fewer cells, for a smoke test);
# MODELS="name ..." measures only those models (names as in the report, e.g. resnet-20-synth-10pct),
# SWEEP=0 leaves out the kernel sweep, OUT=dir writes the report there (default bench/report): a partial
# run for one change, e.g.  MODELS=resnet-20-synth-10pct SWEEP=0 OUT=runs/report-resnet tools/bench_report.sh
set -euo pipefail
cd "$(dirname "$0")/.."
bash tools/setup.sh
python3 -m pip install -q onnx onnxruntime scipy 2>/dev/null || python3 -m pip install onnx onnxruntime scipy
bash tools/peers/setup_deepsparse.sh
swift build -c release
bin=$(swift build -c release --show-bin-path)
out=${OUT:-bench/report}
work=runs/bench-report
mkdir -p "$out" "$work"
seconds=${SECONDS_PER_CELL:-1}
rounds=${ROUNDS:-3}
per_round=$(python3 -c "print(max(0.2, $seconds / $rounds))")
echo "{\"rounds\": $rounds, \"secondsPerRound\": $per_round}" > "$work/settings.json"

# The models: name, .rlf path.
models=()
add() { models+=("$1=$2"); }
if [ -f runs/targets/lenet-300-100.rlf ]; then add lenet-300-100-relief runs/targets/lenet-300-100.rlf
elif [ -f data/models/lenet-300-100-relief.rlf ]; then add lenet-300-100-relief data/models/lenet-300-100-relief.rlf; fi
if [ -f runs/targets/lenet-5.rlf ]; then add lenet-5-relief runs/targets/lenet-5.rlf
else "$bin/relief-bench" synth --model lenet-5 --density 0.01 -o "$work/lenet-5-synth.rlf" >/dev/null; add lenet-5-synth-1pct "$work/lenet-5-synth.rlf"; fi
"$bin/relief-bench" synth --model lenet-300-100 --density 0.10 -o "$work/lenet-300-100-10pct.rlf" >/dev/null
add lenet-300-100-synth-10pct "$work/lenet-300-100-10pct.rlf"
"$bin/relief-bench" synth --model resnet-20 --density 0.10 -o "$work/resnet-20-10pct.rlf" >/dev/null
add resnet-20-synth-10pct "$work/resnet-20-10pct.rlf"
if [ "${QUICK:-0}" != 1 ]; then
  "$bin/relief-bench" synth --model vgg-11 --density 0.05 -o "$work/vgg-11-5pct.rlf" >/dev/null
  add vgg-11-synth-5pct "$work/vgg-11-5pct.rlf"
fi
if [ -n "${MODELS:-}" ]; then
  kept=()
  for entry in "${models[@]}"; do
    for name in $MODELS; do [ "${entry%%=*}" = "$name" ] && kept+=("$entry"); done
  done
  [ ${#kept[@]} -gt 0 ] || { echo "MODELS names none of: ${models[*]%%=*}" >&2; exit 2; }
  models=("${kept[@]}")
fi
batches="1 64"; threads="1 2"
[ "${QUICK:-0}" = 1 ] && { batches="1"; threads="1"; }

: > "$work/peers.jsonl"
for entry in "${models[@]}"; do
  name=${entry%%=*}; rlf=${entry#*=}
  echo "== $name ($rlf)"
  "$bin/relief-export" "$rlf" -o "$work/$name.onnx" >/dev/null
  # The NNrelief models also against the dense ONNX of their full architecture (the file a framework
  # writes for the pruned model, zeros and disconnected units included): the dense starting point's export.
  full=""
  case $name in lenet-300-100-relief) full=runs/lenet-300-100-mnist/checkpoint.safetensors ;;
                lenet-5-relief) full=runs/lenet-5-mnist/checkpoint.safetensors ;; esac
  rm -f "$work/$name.full.onnx"
  if [ -n "$full" ] && [ -f "$full" ]; then "$bin/relief-export" "$full" -o "$work/$name.full.onnx" >/dev/null; fi
  shape=$(python3 tools/peers/prepare.py "$bin" "$rlf" "$work/$name")
  "$bin/relief-infer" "$rlf" "$work/$name.u8" --outputs "$work/$name.ref" --no-cache > /dev/null
  "$bin/relief-bench" model "$rlf" --batches $batches --threads 1 --seconds "$seconds" > "$work/$name.relief.md"
  rm -f "$work/$name".relief.*.json
  for round in $(seq 1 "$rounds"); do
    echo "   round $round of $rounds"
    "$bin/relief-bench" model "$rlf" --batches $batches --threads $threads --seconds "$per_round" --json > "$work/$name.relief.$round.json"
    for b in $batches; do
      for t in $threads; do
        common=(--onnx "$work/$name.onnx" --inputs "$work/$name.f32" --reference "$work/$name.ref" --shape $shape --batch "$b" --threads "$t" --seconds "$per_round")
        for peer in ort_peer.py "torch_peer.py" "torch_peer.py --sparse" scipy_peer.py; do
          [ "$peer" = scipy_peer.py ] && [ "$t" != 1 ] && continue   # SciPy's sparse products are single-threaded
          # shellcheck disable=SC2086
          line=$(cd tools/peers && python3 $peer "${common[@]/#$work/../../$work}" 2>/dev/null | tail -1) || line=""
          [ -n "$line" ] && echo "{\"model\": \"$name\", \"round\": $round, \"result\": $line}" >> "$work/peers.jsonl"
        done
        line=$(cd tools/peers && ../../.venv-deepsparse/bin/python deepsparse_peer.py "${common[@]/#$work/../../$work}" 2>/dev/null | tail -1) || line=""
        [ -n "$line" ] && echo "{\"model\": \"$name\", \"round\": $round, \"result\": $line}" >> "$work/peers.jsonl"
      done
    done
  done
done
echo "== kernel sweep"
if [ "${SWEEP:-1}" = 0 ]; then
  echo "Not run (\`SWEEP=0\`)." > "$work/kernels.md"
elif [ "${QUICK:-0}" = 1 ]; then
  "$bin/relief-bench" kernels --densities 100 5 --batches 1 --threads 1 --shapes fc1 > "$work/kernels.md"
else
  "$bin/relief-bench" kernels --densities 100 50 20 10 5 2 1 0.5 --batches 1 8 64 --threads 1 2 > "$work/kernels.md"
fi
python3 tools/peers/report.py "$work" "$out" "${models[@]}"
echo "wrote $out/report.md"
