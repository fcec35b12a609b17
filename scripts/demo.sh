#!/usr/bin/env bash
# README command 1: installs everything, builds mixcl and runs what it can do today on this machine:
# list and measure every device, then write a tiny synthetic DeepSeek-V3-shaped model, inspect it and
# generate text with it (random weights: gibberish text, but a complete run).
set -euo pipefail
cd "$(dirname "$0")/.."
bash scripts/install-deps.sh
bash scripts/build.sh release
./build/cli/mixcl devices --probe
demo_dir=${MIXCL_DEMO_DIR:-${XDG_CACHE_HOME:-$HOME/.cache}/mixcl/demo}
mkdir -p "$demo_dir"
./build/cli/mixcl synth --geometry tiny-v3 -o "$demo_dir/tiny-v3.gguf"
./build/cli/mixcl inspect "$demo_dir/tiny-v3.gguf"
./build/cli/mixcl run -m "$demo_dir/tiny-v3.gguf" -p "The quick brown fox" -n 48 --seed 1
