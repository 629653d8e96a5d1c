#!/usr/bin/env bash
# Builds the libFuzzer targets (clang++ -fsanitize=fuzzer,address,undefined) and runs each for
# SECONDS seconds (default 180) at nice 19, seeded from the test data.
# Usage: fuzz/run_fuzz.sh [SECONDS] [target...]   (targets: gguf tokenizer_json tokenizer_config encode)
set -euo pipefail
cd "$(dirname "$0")/.."
SECS=${1:-180}
shift || true
TARGETS=${*:-"gguf tokenizer_json tokenizer_config encode"}
OUT=${FUZZ_OUT:-build-fuzz}
mkdir -p "$OUT"
CXX=${CXX:-clang++}
command -v "$CXX" >/dev/null || { echo "clang++ not found (apt-get install clang)"; exit 1; }
FLAGS="-std=c++20 -O1 -g -fsanitize=fuzzer-no-link,address,undefined -fno-sanitize-recover=undefined -Isrc"
SRCS="src/core/mapped_file.cpp src/io/gguf.cpp src/io/gguf_split.cpp $(ls src/text/{utf8,byte_level,bpe,pretokenizer,pretokenizer_regex,pretokenizer_added,tokenizer,stream_decoder,unicode_nfc,unicode_nfc_tables,unicode_classes}.cpp)"
OBJS=""
for s in $SRCS; do
  o="$OUT/$(echo "$s" | tr / _).o"
  if [ ! -f "$o" ] || [ "$s" -nt "$o" ]; then nice -n 19 $CXX $FLAGS -c "$s" -o "$o"; fi
  OBJS="$OBJS $o"
done
export DSV3_FUZZ_TOKENIZER=$PWD/tests/data/tokenizers/deepseek_v3/tokenizer.json
for t in $TARGETS; do
  nice -n 19 $CXX $FLAGS -fsanitize=fuzzer "fuzz/${t}_fuzz.cpp" $OBJS -lpcre2-8 -o "$OUT/${t}_fuzz"
  corpus="$OUT/corpus_$t"
  mkdir -p "$corpus"
  case $t in
    gguf) seeds="$OUT/seed_gguf"; mkdir -p "$seeds"  # vocab GGUFs + a split model's shards end to end
      cp ../shared/data/tokenizers/*.gguf "$seeds/" 2>/dev/null || true
      cat tests/data/gguf-split/tiny-qwen2-q8_0-0000{1,2,3}-of-00003.gguf > "$seeds/split3" ;;
    tokenizer_json) seeds="$OUT/seed_json" ; mkdir -p "$seeds"
      for d in tests/data/tokenizers/*/; do head -c 20000 "$d/tokenizer.json" > "$seeds/$(basename "$d")"; done
      printf '{"model":{"type":"BPE","vocab":{"a":0,"b":1,"ab":2},"merges":["a b"]},"pre_tokenizer":{"type":"Split","pattern":{"Regex":"\\\\p{N}{1,3}"},"behavior":"Isolated","invert":false},"added_tokens":[{"id":3,"content":"<s>","special":true}]}' > "$seeds/small.json" ;;
    tokenizer_config) seeds="$OUT/seed_cfg"; mkdir -p "$seeds"
      for d in tests/data/tokenizers/*/; do cp "$d/tokenizer_config.json" "$seeds/$(basename "$d")"; done ;;
    encode) seeds="$OUT/seed_enc"; mkdir -p "$seeds"
      head -c 4000 tests/data/tokenizers/corpus.jsonl > "$seeds/c1"; printf 'a\xff\xe4\xbd<\xef\xbd\x9cUser\xef\xbd\x9c> 12345' > "$seeds/c2" ;;
  esac
  echo "== $t: ${SECS}s"
  start=$(date +%s)
  set +e
  maxlen=65536
  [ "$t" = encode ] && maxlen=8192
  [ "$t" = gguf ] && maxlen=131072  # the 3-shard seed is 103 KB
  nice -n 19 "$OUT/${t}_fuzz" "$corpus" "$seeds" -max_total_time="$SECS" -max_len=$maxlen -rss_limit_mb=4096 \
    -print_final_stats=1 2>&1 | tail -n 12
  rc=${PIPESTATUS[0]}
  set -e
  echo "== $t: exit $rc after $(( $(date +%s) - start ))s"
done
