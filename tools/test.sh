#!/usr/bin/env bash
# The whole test suite: set-up, the corpus check, every Swift test, and a bounded fuzzing run.
#   FUZZ_SECONDS (default 60) sets the length of the fuzzing run.
set -euo pipefail
cd "$(dirname "$0")/.."
bash tools/setup.sh

echo "== corpus: the committed broken files are what the generator writes"
python3 tools/make_rlf_corpus.py --check

echo "== swift test"
swift build --build-tests
log=$(mktemp)
trap 'rm -f "$log"' EXIT
set +e
swift test --skip-build > "$log" 2>&1
status=$?
set -e
# Show what matters: failures, skips with their reasons, suite results.
grep -vE "^(◇|↳)|started\.$|^Test Suite|^\[" "$log" | grep -vE "^✔ Test .* passed after" || true
summary=$(grep -E "Test run with [0-9]+ tests?" "$log" | tail -1 || true)
if [ $status -ne 0 ] || ! grep -qE "Test run with [0-9]+ tests? .*passed" "$log"; then
  echo "swift test failed (exit $status): ${summary:-no summary}" >&2
  exit 1
fi
echo "$summary"

echo "== thread sanitizer: the worker pool, concurrent inferences on one model, kernels, convolutions and batches split over threads"
swift build --build-tests --sanitize=thread --scratch-path .build-tsan
TSAN_OPTIONS=halt_on_error=1 swift test --skip-build --sanitize=thread --scratch-path .build-tsan \
  --filter "WorkerPoolTests|concurrentInferencesMatchSequentialOnes|threadsSplitRowsWithoutChangingResults|batchesSplitBetweenThreadsMatchOneThread|matchesThePlainConvolution" > "$log" 2>&1 || {
  cat "$log"; echo "thread-sanitizer run failed" >&2; exit 1; }
grep -q "ThreadSanitizer" "$log" && { cat "$log"; echo "thread sanitizer reported a race" >&2; exit 1; }
grep -E "Test run with" "$log" | tail -1

echo "== fuzz: the .rlf reader under libFuzzer and AddressSanitizer"
bash tools/fuzz.sh "${FUZZ_SECONDS:-60}"

count=$(echo "$summary" | grep -oE "[0-9]+ tests?" | head -1 | grep -oE "[0-9]+")
echo "tests: $count passed, 0 failed"
