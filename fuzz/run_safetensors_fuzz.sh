#!/usr/bin/env bash
# Builds and runs the libFuzzer target for the safetensors reader (fuzz/safetensors_fuzz.cpp)
# with ASan + UBSan. Needs clang (Debian: apt-get install -y clang; libFuzzer ships with it).
# Usage: fuzz/run_safetensors_fuzz.sh [SECONDS=60] [extra libFuzzer flags...]
#   Build output and the growing corpus go to ${FUZZ_OUT:-build-fuzz}/safetensors/.
#   Seeds: the Python-written files in tests/data/loader. Crashes are saved there as crash-*.
set -euo pipefail
cd "$(dirname "$0")/.."
SECONDS_TO_RUN=${1:-60}
shift || true
OUT=${FUZZ_OUT:-build-fuzz}/safetensors
mkdir -p "$OUT/corpus"
CXX=${CXX_FUZZ:-clang++}
SRCS="src/core/dtype.cpp src/core/mapped_file.cpp src/core/tensor.cpp src/io/json_util.cpp
      src/io/safetensors.cpp fuzz/safetensors_fuzz.cpp"
if [ ! -x "$OUT/safetensors_fuzz" ] || [ -n "$(find $SRCS src/io/*.h src/core/*.h -newer "$OUT/safetensors_fuzz" 2>/dev/null)" ]; then
  echo "building $OUT/safetensors_fuzz with $CXX"
  # shellcheck disable=SC2086
  $CXX -std=c++20 -O1 -g -fno-omit-frame-pointer -fsanitize=fuzzer,address,undefined \
    -fno-sanitize-recover=undefined -Isrc $SRCS -o "$OUT/safetensors_fuzz"
fi
for f in tests/data/loader/*.safetensors tests/data/loader/sharded/*.safetensors; do
  [ -f "$f" ] && cp -n "$f" "$OUT/corpus/" || true
done
export DSV3_FUZZ_TMP=${DSV3_FUZZ_TMP:-/dev/shm}
ASAN_OPTIONS=${ASAN_OPTIONS:-detect_leaks=1} \
  "$OUT/safetensors_fuzz" "$OUT/corpus" -dict=fuzz/safetensors.dict -max_len=4096 \
  -max_total_time="$SECONDS_TO_RUN" -artifact_prefix="$OUT/" -print_final_stats=1 "$@"
