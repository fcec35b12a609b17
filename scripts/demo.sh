#!/usr/bin/env bash
# README command 1: installs everything, builds mixcl and runs its main job on this machine.
set -euo pipefail
cd "$(dirname "$0")/.."
bash scripts/install-deps.sh
bash scripts/build.sh release
./build/cli/mixcl devices --probe
