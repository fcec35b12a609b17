#!/usr/bin/env bash
# llama.cpp (node-llama-cpp's prebuilt CPU libraries, installed with npm) side by side with `mixcl bench` on one
# GGUF file: prefill and decode tokens/s of both, decode as % of the same bandwidth bound. Not part of CI.
#
#   bench/compare_llama_cpp.sh INSTALL_DIR -m model.gguf [options]
#
#   -m FILE         deepseek2 GGUF both engines read (required)
#   --mixcl BIN     mixcl CLI (default: build/cli/mixcl of this checkout)
#   -t N            threads of both engines (default 2)
#   -p N, -n N      prompt tokens of the prefill test, tokens of the decode test (default 512, 128)
#   -r N            repetitions per test within a run (default 3)
#   --rounds N      llama.cpp and mixcl runs alternate this many times (default 2)
#   --weight-memory LIST   mixcl host weight memory modes, comma-separated (default huge_pages,mapped)
#   --agree FILE    also compare 32 greedy tokens of both engines on FILE (made with `mixcl synth --geometry
#                   tiny-v3` if it does not exist)
#   --out DIR       where the JSON results go (default INSTALL_DIR/results-<UTC time>)
#
# npm must reach its registry; node-llama-cpp is installed without downloading or building anything
# (NODE_LLAMA_CPP_SKIP_DOWNLOAD, optional packages left out, the prebuilt @node-llama-cpp/linux-x64 added).
# llama.cpp's deepseek2 loader takes a file with no q-LoRA (attn_q) only when it has 27 blocks (the real
# V2-Lite), so a V2-Lite-shaped file for this comparison needs `mixcl synth --geometry v2-lite --layers 27`.
set -euo pipefail

die() { echo "compare_llama_cpp.sh: error: $*" >&2; exit 1; }

here="$(cd "$(dirname "${BASH_SOURCE[0]}")" && pwd)"
[[ $# -ge 1 && $1 != -* ]] || die "usage: $0 INSTALL_DIR -m model.gguf [-t N] [-p N] [-n N] [-r N] [--rounds N] [--weight-memory LIST] [--mixcl BIN] [--agree tiny.gguf] [--out DIR]"
dir="$(mkdir -p "$1" && cd "$1" && pwd)"
shift
model="" mixcl="$here/../build/cli/mixcl" threads=2 n_prompt=512 n_gen=128 reps=3 rounds=2
weight_memory="huge_pages,mapped" agree="" out=""
while [[ $# -gt 0 ]]; do
  [[ $# -ge 2 ]] || die "option $1 needs a value"
  case "$1" in
    -m) model="$2" ;;
    --mixcl) mixcl="$2" ;;
    -t) threads="$2" ;;
    -p) n_prompt="$2" ;;
    -n) n_gen="$2" ;;
    -r) reps="$2" ;;
    --rounds) rounds="$2" ;;
    --weight-memory) weight_memory="$2" ;;
    --agree) agree="$2" ;;
    --out) out="$2" ;;
    *) die "unknown option $1" ;;
  esac
  shift 2
done
[[ -n $model ]] || die "-m model.gguf is required"
[[ -f $model ]] || die "model $model not found"
[[ -x $mixcl ]] || die "mixcl CLI $mixcl not found or not executable (build it: ninja -C build mixcl, or pass --mixcl)"
command -v node >/dev/null || die "node not found (node-llama-cpp needs node >= 20)"
command -v npm >/dev/null || die "npm not found"

# 1. Install node-llama-cpp with its prebuilt CPU binaries only.
version=3.22.1
if [[ ! -f $dir/node_modules/node-llama-cpp/package.json || ! -d $dir/node_modules/@node-llama-cpp/linux-x64/bins ]]; then
  echo "installing node-llama-cpp@$version into $dir" >&2
  [[ -f $dir/package.json ]] || echo '{"name": "mixcl-llama-cpp-compare", "private": true, "type": "module"}' > "$dir/package.json"
  (cd "$dir" && NODE_LLAMA_CPP_SKIP_DOWNLOAD=true npm install --omit=optional --no-audit --no-fund \
     "node-llama-cpp@$version" "@node-llama-cpp/linux-x64@$version") || die "npm install failed (see above)"
fi
ls "$dir"/node_modules/@node-llama-cpp/linux-x64/bins/linux-x64/libllama*.so >/dev/null 2>&1 ||
  die "no libllama*.so under $dir/node_modules/@node-llama-cpp/linux-x64/bins/linux-x64 (prebuilt package incomplete)"

# 2. Freeze the probe figures for the whole comparison: a private cache seeded from the user's one.
export MIXCL_CACHE_DIR="$dir/mixcl-cache"
mkdir -p "$MIXCL_CACHE_DIR"
user_cache="${XDG_CACHE_HOME:-$HOME/.cache}/mixcl/probe.json"
if [[ ! -f $MIXCL_CACHE_DIR/probe.json && -f $user_cache ]]; then cp "$user_cache" "$MIXCL_CACHE_DIR/probe.json"; fi

out="${out:-$dir/results-$(date -u +%Y%m%dT%H%M%SZ)}"
mkdir -p "$out"
echo "results: $out" >&2

# 3. Alternate the engines so both see the same machine load.
for ((round = 1; round <= rounds; ++round)); do
  tag=$(printf '%02d' "$round")
  uptime > "$out/${tag}_llama.cpp_mmap.load"
  echo "round $round: llama.cpp ($(cat "$out/${tag}_llama.cpp_mmap.load"))" >&2
  node "$here/compare_llama_cpp.mjs" bench --dir "$dir" -m "$model" -t "$threads" -p "$n_prompt" -n "$n_gen" -r "$reps" \
    > "$out/${tag}_llama.cpp_mmap.json" || die "llama.cpp run failed (see above)"
  IFS=, read -ra modes <<< "$weight_memory"
  for wm in "${modes[@]}"; do
    uptime > "$out/${tag}_mixcl_${wm}.load"
    echo "round $round: mixcl --weight-memory $wm ($(cat "$out/${tag}_mixcl_${wm}.load"))" >&2
    "$mixcl" bench -m "$model" -p "$n_prompt" -n "$n_gen" -r "$reps" --device host -t "$threads" \
      --weight-memory "$wm" -o json > "$out/${tag}_mixcl_${wm}.json" || die "mixcl bench --weight-memory $wm failed"
  done
done

node "$here/compare_llama_cpp.mjs" table --results "$out" | tee "$out/table.md"

# 4. Optional: greedy tokens of both engines on a tiny model.
if [[ -n $agree ]]; then
  if [[ ! -f $agree ]]; then "$mixcl" synth --geometry tiny-v3 -o "$agree" >&2 || die "mixcl synth failed"; fi
  node "$here/compare_llama_cpp.mjs" agree --dir "$dir" -m "$agree" --mixcl "$mixcl" -t "$threads" -n 32 \
    --tokens 506,10,20,30,40,50,60,70 > "$out/agree.json" || die "agreement run failed"
  node -e 'const r = JSON.parse(require("fs").readFileSync(process.argv[1], "utf8")), t = r.teacher_forced;
    console.log(`greedy 32 tokens: ${r.identical ? "identical" : `${r.positions_equal}/32 equal, first mismatch at ${r.first_mismatch}`}; ` +
      `teacher-forced argmax ${t.argmax_equal}/${t.positions} equal, max |logit diff| ${(100 * t.max_abs_logit_diff_over_range).toFixed(2)}% of the logit range`);' \
    "$out/agree.json"
fi
