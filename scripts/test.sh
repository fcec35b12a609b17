#!/usr/bin/env bash
# README command 2: installs everything, then builds and runs the whole test suite twice (release, and
# ASan+UBSan), then fuzzes the GGUF reader. Ends with "N passed, M failed"; exits non-zero on any failure.
set -uo pipefail
cd "$(dirname "$0")/.."
bash scripts/install-deps.sh || exit 1
total_pass=0
total_fail=0
status=0
export ASAN_OPTIONS=${ASAN_OPTIONS:-detect_leaks=1:abort_on_error=0}
export LSAN_OPTIONS=suppressions=$PWD/tests/lsan.supp:print_suppressions=0
export UBSAN_OPTIONS=print_stacktrace=1:halt_on_error=1

run_suite() {  # run_suite <flavour> <build dir>
  local flavour=$1 dir=$2 log
  log=$(mktemp)
  if ! bash scripts/build.sh "$flavour"; then
    echo "test.sh: $flavour build FAILED"
    total_fail=$((total_fail + 1))
    status=1
    return
  fi
  (cd "$dir" && ctest --output-on-failure -j "$(nproc)" --timeout 1200) 2>&1 | tee "$log"
  local line pass fail all
  line=$(grep -E "tests passed, [0-9]+ tests failed out of" "$log" | tail -1)
  if [ -z "$line" ]; then
    echo "test.sh: $flavour: ctest printed no summary"
    total_fail=$((total_fail + 1))
    status=1
  else
    fail=$(echo "$line" | sed -E 's/.* ([0-9]+) tests failed out of ([0-9]+).*/\1/')
    all=$(echo "$line" | sed -E 's/.* ([0-9]+) tests failed out of ([0-9]+).*/\2/')
    pass=$((all - fail))
    total_pass=$((total_pass + pass))
    total_fail=$((total_fail + fail))
    [ "$fail" -eq 0 ] || status=1
  fi
  rm -f "$log"
}

run_suite release build
if [ "${MIXCL_SKIP_ASAN:-0}" != 1 ]; then
  run_suite asan build-asan
fi
if [ -x scripts/fuzz.sh ] && [ "${MIXCL_SKIP_FUZZ:-0}" != 1 ]; then
  if bash scripts/fuzz.sh "${MIXCL_FUZZ_SECONDS:-60}"; then
    total_pass=$((total_pass + 1))
  else
    echo "test.sh: fuzzing FAILED"
    total_fail=$((total_fail + 1))
    status=1
  fi
fi
echo "${total_pass} passed, ${total_fail} failed"
exit $status
