#!/usr/bin/env bash
# Decode at depth 0 vs a deep context, as alternating dsv3 runs (order flipped every pair, so a
# drift or a memory-bandwidth switch does not favour one side), one line per pair with the
# ratio. Used for issue 10's "decode at 16k >= 70% of depth 0" (bench/RESULTS.md).
# usage: bench/depth_pairs.sh MODEL_DIR THREADS PAIRS [DEPTH] [KV_TYPE]
#   env DSV3=path/to/dsv3 (default build/dsv3)
set -euo pipefail
[ $# -ge 3 ] || { echo "usage: $0 MODEL_DIR THREADS PAIRS [DEPTH=16384] [KV_TYPE=bf16]" >&2; exit 2; }
model=$1 threads=$2 pairs=$3 depth=${4:-16384} kv=${5:-bf16}
dsv3=${DSV3:-build/dsv3}
run() {
  "$dsv3" bench -m "$model" -p 0 -n 64 --depths "$1" --threads "$threads" --reps 3 \
    --kv-type "$kv" --md --no-probe 2>/dev/null | awk -F'|' '/^\| tg/ {gsub(/ /, "", $5); print $5}'
}
"$dsv3" bench -m "$model" -p 0 -n 8 --depths 0 --threads "$threads" --reps 1 2>&1 | grep roofline || true
for i in $(seq 1 "$pairs"); do
  if [ $((i % 2)) = 1 ]; then a=$(run 0); b=$(run "$depth"); else b=$(run "$depth"); a=$(run 0); fi
  awk -v i="$i" -v a="$a" -v b="$b" -v t="$(date -u +%T)" \
    'BEGIN { printf "pair %d %s depth0 %s t/s, depth %s t/s, ratio %.1f%%\n", i, t, a, b, 100 * b / a }'
done
"$dsv3" bench -m "$model" -p 0 -n 8 --depths 0 --threads "$threads" --reps 1 2>&1 | grep roofline || true
