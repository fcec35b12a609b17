#!/usr/bin/env bash
# Fuzzes the GGUF reader: fuzz.sh [seconds=60]. Configures and builds build-fuzz with clang + libFuzzer
# (ASan+UBSan), then runs the target over the seed corpus (valid files in fuzz/seeds/gguf and the damaged
# files in tests/data/gguf_damaged). Exits non-zero on any crash, sanitizer report, leak or timeout.
set -euo pipefail
cd "$(dirname "$0")/.."
seconds=${1:-60}
dir=${MIXCL_FUZZ_BUILD_DIR:-build-fuzz}
if [ ! -f "$dir/CMakeCache.txt" ]; then
  generator=()
  command -v ninja >/dev/null && generator=(-G Ninja)
  CC=clang CXX=clang++ cmake -S . -B "$dir" "${generator[@]}" -DCMAKE_BUILD_TYPE=RelWithDebInfo -DMIXCL_FUZZ=ON \
    -DMIXCL_BUILD_TESTS=OFF -DMIXCL_BUILD_BENCH=OFF
fi
cmake --build "$dir" --target mixcl_fuzz_gguf -j "$(nproc)"
work=$(mktemp -d)
trap 'rm -rf "$work"' EXIT
mkdir -p "$work/corpus"
cp fuzz/seeds/gguf/*.gguf "$work/corpus/"
for f in tests/data/gguf_damaged/*.gguf; do cp "$f" "$work/corpus/damaged_$(basename "$f")"; done
# Seeds first (every checked-in file once), then mutate for the time budget; -max_len covers the seeds.
"$dir/fuzz/mixcl_fuzz_gguf" -runs=0 "$work/corpus" >"$work/seeds.log" 2>&1 || { cat "$work/seeds.log"; exit 1; }
status=0
"$dir/fuzz/mixcl_fuzz_gguf" -max_total_time="$seconds" -max_len=4096 -timeout=10 -rss_limit_mb=2048 \
  -print_final_stats=1 -artifact_prefix="$work/" "$work/corpus" >"$work/fuzz.log" 2>&1 || status=$?
tail -25 "$work/fuzz.log"
if [ "$status" -ne 0 ]; then
  echo "fuzz.sh: the GGUF fuzzer FAILED (exit $status); crashing inputs:"
  for a in "$work"/crash-* "$work"/leak-* "$work"/timeout-* "$work"/oom-*; do
    [ -e "$a" ] || continue
    mkdir -p fuzz/artifacts && cp "$a" fuzz/artifacts/ && echo "  fuzz/artifacts/$(basename "$a")"
  done
  exit 1
fi
echo "fuzz.sh: ${seconds}s of fuzzing the GGUF reader found no crash"
