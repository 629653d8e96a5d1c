#!/usr/bin/env bash
# Decode speed of two dsv3 builds as alternating runs (order flipped every pair, so a drift or a
# memory-bandwidth switch does not favour one side), one line per pair with the ratio B / A and
# the read bandwidth probed just before the pair (this machine's 2-thread bandwidth flips
# between two modes: only compare pairs measured in the same mode). Used for issue 10's decode
# fork/join work (bench/RESULTS.md, "Decode fork/join").
# usage: bench/binary_pairs.sh DSV3_A DSV3_B MODEL_DIR THREADS PAIRS [N=64] [DEPTH=0]
#   env FIRST=N: number the pairs from N (odd: A runs first; even: B first)
set -euo pipefail
[ $# -ge 5 ] || { echo "usage: $0 DSV3_A DSV3_B MODEL_DIR THREADS PAIRS [N=64] [DEPTH=0]" >&2; exit 2; }
A=$1 B=$2 model=$3 threads=$4 pairs=$5 n=${6:-64} depth=${7:-0}
run() {
  "$1" bench -m "$model" -p 0 -n "$n" --depths "$depth" --threads "$threads" --reps 3 \
    --kv-type bf16 --md --no-probe 2>/dev/null | awk -F'|' '/^\| tg/ {gsub(/ /, "", $5); print $5}'
}
probe() {
  "$A" bench -m "$model" -p 0 -n 4 --depths 0 --threads "$threads" --reps 1 2>&1 |
    grep -o 'read bandwidth [0-9.]* GB/s before, [0-9.]* after' | head -1 || true
}
first=${FIRST:-1}
for i in $(seq "$first" $((first + pairs - 1))); do
  bw=$(probe)
  if [ $((i % 2)) = 1 ]; then a=$(run "$A"); b=$(run "$B"); else b=$(run "$B"); a=$(run "$A"); fi
  awk -v i="$i" -v a="$a" -v b="$b" -v t="$(date -u +%T)" -v bw="$bw" -v l="$(cut -d' ' -f1 /proc/loadavg)" \
    'BEGIN { printf "pair %d %s load %s A %s t/s B %s t/s ratio %.3f (%s)\n", i, t, l, a, b, b / a, bw }'
done
