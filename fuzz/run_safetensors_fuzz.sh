#!/usr/bin/env bash
# Builds and runs a libFuzzer target of the checkpoint readers with ASan + UBSan.
# Needs clang (Debian: apt-get install -y clang; libFuzzer ships with it).
# Usage: [FUZZ_TARGET=safetensors|checkpoint_index] fuzz/run_safetensors_fuzz.sh [SECONDS=60] [libFuzzer flags...]
#   safetensors       (default) fuzz/safetensors_fuzz.cpp: SafetensorsFile::open + writer round trip;
#                     seeds: the Python-written files in tests/data/loader.
#   checkpoint_index  fuzz/checkpoint_index_fuzz.cpp: Checkpoint::open on fuzzed index/config JSON;
#                     seeds: the index and config files in tests/data/loader.
#   Build output, the growing corpus and crash-* files go to ${FUZZ_OUT:-build-fuzz}/<target>/.
#   Scratch files go to a temporary folder under ${DSV3_FUZZ_TMP:-/dev/shm}, removed at exit. Exit status non-zero if a crash was found.
set -euo pipefail
cd "$(dirname "$0")/.."
SECONDS_TO_RUN=${1:-60}
shift || true
TARGET=${FUZZ_TARGET:-safetensors}
OUT=${FUZZ_OUT:-build-fuzz}/$TARGET
mkdir -p "$OUT/corpus"
CXX=${CXX_FUZZ:-clang++}
SRCS="src/core/dtype.cpp src/core/mapped_file.cpp src/core/tensor.cpp src/io/json_util.cpp
      src/io/safetensors.cpp src/io/hf_index.cpp src/io/checkpoint.cpp fuzz/${TARGET}_fuzz.cpp"
BIN="$OUT/${TARGET}_fuzz"
if [ ! -x "$BIN" ] || [ -n "$(find $SRCS src/io/*.h src/core/*.h -newer "$BIN" 2>/dev/null)" ]; then
  echo "building $BIN with $CXX"
  # shellcheck disable=SC2086
  $CXX -std=c++20 -O1 -g -fno-omit-frame-pointer -fsanitize=fuzzer,address,undefined \
    -fno-sanitize-recover=undefined -Isrc $SRCS -o "$BIN"
fi
if [ "$TARGET" = safetensors ]; then
  for f in tests/data/loader/*.safetensors tests/data/loader/sharded/*.safetensors; do
    cp -n "$f" "$OUT/corpus/" || true
  done
else  # first byte 0: the text is an index; 1: a config.json
  printf '\x00{"weight_map":{"a":"a.safetensors","b":"a.safetensors","c":"b.safetensors"}}' \
    > "$OUT/corpus/seed_valid"
  i=0
  for f in tests/data/loader/*/model.safetensors.index.json tests/data/loader/index_escapes.json; do
    { printf '\x00'; cat "$f"; } > "$OUT/corpus/seed_index_$i"; i=$((i + 1))
  done
  for f in tests/data/loader/*/config.json; do
    { printf '\x01'; cat "$f"; } > "$OUT/corpus/seed_config_$i"; i=$((i + 1))
  done
fi
DSV3_FUZZ_TMP=$(mktemp -d "${DSV3_FUZZ_TMP:-/dev/shm}/dsv3_fuzz.XXXXXX")
export DSV3_FUZZ_TMP
trap 'rm -rf "$DSV3_FUZZ_TMP"' EXIT
ASAN_OPTIONS=${ASAN_OPTIONS:-detect_leaks=1} \
  "$BIN" "$OUT/corpus" -dict=fuzz/safetensors.dict -max_len=8192 \
  -max_total_time="$SECONDS_TO_RUN" -artifact_prefix="$OUT/" -print_final_stats=1 "$@"
