#!/usr/bin/env bash
# Encode throughput of dsv3's tokenizer vs HF tokenizers (Rust, one thread) on the same text, in
# one run. Text: DSV3_BENCH_TEXT or the test corpus (all scripts, code, digits, emoji, 100 kB word).
# Usage: bench/tokenizer_throughput.sh   (needs /work/venv or PYTHON with tokenizers installed)
set -euo pipefail
cd "$(dirname "$0")/.."
PY=${PYTHON:-/work/venv/bin/python}
OUT=${BENCH_OUT:-build-tok/bench}
mkdir -p "$OUT"
TEXT=${DSV3_BENCH_TEXT:-$OUT/corpus.txt}
if [ -z "${DSV3_BENCH_TEXT:-}" ]; then
  "$PY" -c "
import json,sys
lines=open('tests/data/tokenizers/corpus.jsonl',encoding='utf-8').read().split('\n')[1:]
t=''.join(json.loads(l)['t']+'\n' for l in lines if l and 'hex' not in json.loads(l))
open('$TEXT','w',encoding='utf-8').write(t)"
fi
SRCS="src/core/mapped_file.cpp src/io/gguf.cpp $(ls src/text/{utf8,byte_level,bpe,pretokenizer,pretokenizer_regex,pretokenizer_added,tokenizer,stream_decoder,unicode_nfc,unicode_nfc_tables,unicode_classes}.cpp)"
g++ -std=c++20 -O2 -DNDEBUG -Isrc -DDSV3_SOURCE_DIR="\"$PWD\"" bench/tokenizer_bench.cpp $SRCS \
  -lpcre2-8 -lbenchmark -lbenchmark_main -pthread -o "$OUT/tokenizer_bench"
echo "text: $TEXT ($(wc -c < "$TEXT") bytes)"
echo "== dsv3 (C++, 1 thread; rates from CPU time, the machine is shared)"
DSV3_BENCH_TEXT=$TEXT "$OUT/tokenizer_bench" --benchmark_counters_tabular=true 2>/dev/null | grep -E "encode|Benchmark"
echo "== HF tokenizers $("$PY" -c "import tokenizers;print(tokenizers.__version__)") (Rust, TOKENIZERS_PARALLELISM=false, RAYON_NUM_THREADS=1; CPU time)"
TOKENIZERS_PARALLELISM=false RAYON_NUM_THREADS=1 "$PY" - "$TEXT" <<'PYEOF'
import sys, time, tokenizers
text = open(sys.argv[1], encoding='utf-8', newline='').read()  # keep CR bytes
n = len(text.encode())
for name in ['deepseek_v3', 'deepseek_v2', 'qwen2', 'llama3']:
    tok = tokenizers.Tokenizer.from_file(f'tests/data/tokenizers/{name}/tokenizer.json')
    tok.encode(text, add_special_tokens=False)  # warm the cache, as the C++ run does
    best, reps, t0 = 1e9, 0, time.process_time()
    while time.process_time() - t0 < 2 or reps < 3:
        t = time.process_time()
        ids = tok.encode(text, add_special_tokens=False).ids
        best = min(best, time.process_time() - t)
        reps += 1
    print(f'encode       {name:12s} {best*1e3:8.1f} ms CPU  {n/best/1e6:6.2f} MB/s  tokens={len(ids)}  (best of {reps})')
    lines = [l + '\n' for l in text.split('\n')][:-1] if text.endswith('\n') else [l + '\n' for l in text.split('\n')]
    best, reps, t0 = 1e9, 0, time.process_time()
    while time.process_time() - t0 < 2 or reps < 3:
        t = time.process_time()
        k = sum(len(e.ids) for e in tok.encode_batch(lines, add_special_tokens=False))
        best = min(best, time.process_time() - t)
        reps += 1
    print(f'encode_lines {name:12s} {best*1e3:8.1f} ms CPU  {n/best/1e6:6.2f} MB/s  tokens={k}  (best of {reps})')
PYEOF
