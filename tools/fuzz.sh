#!/usr/bin/env bash
# Builds the libFuzzer target of the .rlf reader (Swift, -sanitize=fuzzer,address) and runs it for a
# bounded time on the committed corpus (formats/corpus). Any crash is saved under fuzz-artifacts/ and
# the script fails; turn the crashing input into a fixture of formats/corpus/bad.
#   tools/fuzz.sh [SECONDS]     (default 60)
set -euo pipefail
cd "$(dirname "$0")/.."
seconds=${1:-60}
out=.build-fuzz
mkdir -p "$out" fuzz-artifacts
# (The linker's "Cannot export local symbol __asan_..." warnings are harmless; they go to the log.)
if ! swiftc -sanitize=fuzzer,address -parse-as-library -O -g -module-name ReliefFormat \
  -I Sources/CZstd -lzstd \
  Sources/ReliefFormat/*.swift tools/fuzz/RLFReaderFuzz.swift -o "$out/rlf-reader-fuzz" > "$out/build.log" 2>&1; then
  grep -v "Cannot export local symbol" "$out/build.log" >&2
  exit 1
fi
work=$(mktemp -d)
trap 'rm -rf "$work"' EXIT
# New inputs go to $work; the committed corpus is read only.
"$out/rlf-reader-fuzz" -max_total_time="$seconds" -rss_limit_mb=2048 -timeout=10 -max_len=65536 \
  -artifact_prefix=fuzz-artifacts/ -print_final_stats=1 \
  "$work" formats/corpus/good formats/corpus/bad 2>&1 | grep -E "INITED|DONE|^stat::number_of_executed_units|^stat::peak_rss|ERROR|SUMMARY|crash|Test unit written" || true
if compgen -G "fuzz-artifacts/*" > /dev/null; then
  echo "fuzz: the reader crashed on inputs saved in fuzz-artifacts/" >&2
  exit 1
fi
echo "fuzz: no crash in ${seconds}s"
