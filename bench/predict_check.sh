#!/usr/bin/env bash
# Predicted against measured decode tokens/s (issue #6): runs `mixcl bench --profile P` on tiny-v3 for the
# shipped profiles cpu, pocl-1dev and pocl-2dev (and, with --v2l8 FILE, a v2-lite 8-layer model on cpu and
# all on one PoCL device), ROUNDS times interleaved, and prints each figure with measured ÷ predicted.
#
#   bench/predict_check.sh [--mixcl PATH] [--rounds N] [--v2l8 FILE] [--profiles "cpu pocl-1dev pocl-2dev"]
#
# Target: measured ÷ predicted within 75%..125%. Re-measure the profiles first when the machine or the
# kernels changed: `mixcl tune --device host --ops matvec -o profiles/cpu.yaml` etc. (docs/plan.md).
set -euo pipefail

here="$(cd "$(dirname "$0")/.." && pwd)"
mixcl="${MIXCL:-}"
rounds=3
v2l8=""
profiles="cpu pocl-1dev pocl-2dev"
while [[ $# -gt 0 ]]; do
  case "$1" in
    --mixcl) mixcl="$2"; shift 2 ;;
    --rounds) rounds="$2"; shift 2 ;;
    --v2l8) v2l8="$2"; shift 2 ;;
    --profiles) profiles="$2"; shift 2 ;;
    -h|--help) sed -n '2,9p' "$0"; exit 0 ;;
    *) echo "predict_check.sh: unknown argument '$1' (see --help)" >&2; exit 2 ;;
  esac
done
if [[ -z "$mixcl" ]]; then
  for b in "$here"/build*/cli/mixcl "$here"/build*/mixcl; do
    [[ -x "$b" ]] && { mixcl="$b"; break; }
  done
fi
[[ -x "$mixcl" ]] || { echo "predict_check.sh: no mixcl binary found; pass --mixcl PATH" >&2; exit 2; }
command -v jq >/dev/null || { echo "predict_check.sh: needs jq (apt-get install jq)" >&2; exit 2; }
[[ -z "$v2l8" || -f "$v2l8" ]] || { echo "predict_check.sh: --v2l8 $v2l8: no such file" >&2; exit 2; }

work="$(mktemp -d /tmp/mixcl-predict-XXXXXX)"
trap 'rm -rf "$work"' EXIT
"$mixcl" synth --geometry tiny-v3 -o "$work/tiny-v3.gguf" >/dev/null
# v2l8 on one PoCL device: pocl-1dev with room for every weight, everything placed on cl0.
cat > "$work/pocl-1dev-all.yaml" <<YAML
extends: $here/profiles/pocl-1dev.yaml
devices:
  cl0:
    memory_budget: 8GiB
placement:
  - pattern: '.*'
    target: cl0
YAML

# name|model|profile|POCL_DEVICES|bench flags
cases=()
for p in $profiles; do
  devs="pthread"; [[ "$p" == pocl-2dev ]] && devs="pthread pthread"
  cases+=("tiny-v3 $p|$work/tiny-v3.gguf|$here/profiles/$p.yaml|$devs|-p 16 -n 64 -r 3 -b 4")
done
if [[ -n "$v2l8" ]]; then
  cases+=("v2l8 cpu|$v2l8|$here/profiles/cpu.yaml|pthread|-p 0 -n 16 -r 2 -b 4")
  cases+=("v2l8 cl0 (all)|$v2l8|$work/pocl-1dev-all.yaml|pthread|-p 0 -n 16 -r 2 -b 4")
fi

declare -A measured predicted
for ((r = 1; r <= rounds; ++r)); do
  echo "round $r/$rounds: $(uptime | sed 's/.*load/load/')"
  for c in "${cases[@]}"; do
    IFS='|' read -r name model profile devs flags <<<"$c"
    # shellcheck disable=SC2086
    json="$(POCL_DEVICES="$devs" "$mixcl" bench -m "$model" --profile "$profile" $flags -o json 2>/dev/null)"
    row="$(jq -c '[.[] | select(.n_gen > 0)][0]' <<<"$json")"
    m="$(jq -r '.avg_ts' <<<"$row")"
    p="$(jq -r '.predicted_ts' <<<"$row")"
    measured[$name]+="$m "
    predicted[$name]="$p"
    printf '  %-18s measured %10.2f t/s  predicted %10.2f t/s  ratio %5.0f%%\n' "$name" "$m" "$p" \
      "$(jq -n "100 * $m / $p")"
  done
done

echo
echo "| model, profile | decode measured (mean of $rounds runs: each) | decode predicted | measured ÷ predicted |"
echo "|---|---:|---:|---:|"
fail=0
for c in "${cases[@]}"; do
  IFS='|' read -r name _ <<<"$c"
  read -r -a ms <<<"${measured[$name]}"
  mean="$(printf '%s\n' "${ms[@]}" | jq -s 'add / length')"
  ratio="$(jq -n "100 * $mean / ${predicted[$name]}")"
  printf '| %s | %.1f (%s) | %.1f | %.0f%% |\n' "$name" "$mean" "$(printf "%.1f " "${ms[@]}" | sed 's/ $//; s/ /, /g')" \
    "${predicted[$name]}" "$ratio"
  [[ "$name" == tiny-v3* ]] && ! jq -e -n "$ratio >= 75 and $ratio <= 125" >/dev/null && fail=1
done
echo "load at the end: $(uptime | sed 's/.*load/load/')"
exit $fail
