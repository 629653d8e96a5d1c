#!/usr/bin/env bash
# dsv3 vs llama.cpp on one GGUF file: accuracy on a fixed text and speed, in one run.
#
#   bench/r1_distill_vs_llamacpp.sh MODEL.gguf [TEXT_FILE]
#
# Made for DeepSeek-R1-Distill-Qwen-7B (scripts/get_r1_distill_qwen_7b.sh); works for any GGUF
# both engines load (SmolLM2-135M from scripts/get_smollm2_135m.sh, deepseek2 files from
# llama.cpp's converter).
# 1. Accuracy (TEXT_FILE, default bench/data/r1_eval_text.txt, ~1,100 tokens): llama.cpp
#    (bench/llamacpp_ref_logits.cpp against libllama: one batch, logits of every position)
#    tokenizes the text and gives per-position top-1 and the nll of the next token; dsv3 scores
#    the SAME token ids (`dsv3 perplexity --tokens-file --ctx T --top1-out`, one window), so
#    the comparison is of the forward passes only. Reported: top-1 agreement over the T-1
#    predicted positions (target >= 99%), perplexity of each and their ratio (target within
#    0.5%), and whether dsv3's own tokenizer gives the same ids (`dsv3 tokenize --ids`,
#    with llama.cpp's BOS prepended when it adds one).
# 2. Speed: for ROUNDS rounds x THREADS, `dsv3 bench` (A) then `llama-bench` (B), one
#    repetition each, same prompt length / generation length, depth 0, interleaved A B A B;
#    medians and the median of paired ratios; machine load (/proc/loadavg) before and after.
# dsv3 runs the accuracy pass with DSV3_ACC_ARGS (default "--numerics ggml --kv-type f16": llama.cpp's
# fp32 ops and roundings, and its f16 K/V - its default cache type, which its CPU flash attention
# also casts an f32 cache to; set DSV3_ACC_ARGS="" for dsv3's default numerics).
# Knobs (defaults): THREADS=2,1 ROUNDS=3 PROMPT=512 GEN=64 ACC_THREADS=2
# DSV3=<newest build*/dsv3> BUILD=/work/llama.cpp-build (llama-bench; built by
# bench/vs_llamacpp.sh) SRC=/work/llama.cpp-src LLAMA_PIN=0.3.36 OUT=/work/bench-runs/r1-<time>
# DSV3_ARGS="" LLAMA_ARGS="" (extra flags for dsv3 bench / llama-bench); FULL_LOGITS=1 also
# stores both engines' full logits for bench/hf_gguf_logits.py (exact f32 third opinion).
set -euo pipefail

MODEL=${1:?usage: bench/r1_distill_vs_llamacpp.sh MODEL.gguf [TEXT_FILE]}
HERE=$(cd "$(dirname "$0")" && pwd)
TEXT=${2:-$HERE/data/r1_eval_text.txt}
THREADS=${THREADS:-2,1}
ROUNDS=${ROUNDS:-3}
PROMPT=${PROMPT:-512}
GEN=${GEN:-64}
ACC_THREADS=${ACC_THREADS:-2}
LLAMA_PIN=${LLAMA_PIN:-0.3.36}
SRC=${SRC:-/work/llama.cpp-src}
BUILD=${BUILD:-/work/llama.cpp-build}
DSV3=${DSV3:-$(ls -t "$HERE"/../build*/dsv3 2>/dev/null | head -1)}
DSV3_ARGS=${DSV3_ARGS:-}
DSV3_ACC_ARGS=${DSV3_ACC_ARGS---numerics ggml --kv-type f16}
LLAMA_ARGS=${LLAMA_ARGS:-}
OUT=${OUT:-/work/bench-runs/r1-$(date -u +%Y%m%d-%H%M%S)}
LLAMA_DIR=$SRC/llama_cpp_python-$LLAMA_PIN/vendor/llama.cpp
log() { echo "[r1_vs_llamacpp] $*" >&2; }
mkdir -p "$OUT"
[[ -x $DSV3 ]] || { log "no dsv3 binary (set DSV3)"; exit 1; }
[[ -x $BUILD/bin/llama-bench ]] || { log "no $BUILD/bin/llama-bench: run bench/vs_llamacpp.sh once to build llama.cpp"; exit 1; }

# ---- reference tool against libllama (cached) ----------------------------------------------
REF=$BUILD/bin/llamacpp_ref_logits
if [[ ! -x $REF || $HERE/llamacpp_ref_logits.cpp -nt $REF ]]; then
  log "compiling $REF"
  g++ -O2 -std=c++17 -I"$LLAMA_DIR/include" -I"$LLAMA_DIR/ggml/include" "$HERE/llamacpp_ref_logits.cpp" \
    "$BUILD/src/libllama.a" "$BUILD/ggml/src/libggml.a" "$BUILD/ggml/src/libggml-cpu.a" \
    "$BUILD/ggml/src/libggml-base.a" -fopenmp -lpthread -ldl -o "$REF"
fi

{
  echo "date: $(date -u +%FT%TZ)"
  echo "model: $MODEL ($(stat -c %s "$MODEL") bytes)"
  echo "cpu: $(grep -m1 'model name' /proc/cpuinfo | cut -d: -f2-) ($(nproc) cpus)"
  echo "dsv3: $(git -C "$HERE/.." rev-parse --short HEAD) ($DSV3)"
  echo "llama.cpp: llama-cpp-python $LLAMA_PIN vendored tree ($BUILD)"
  echo "settings: threads=$THREADS rounds=$ROUNDS p=$PROMPT n=$GEN; accuracy threads=$ACC_THREADS, dsv3 args '$DSV3_ACC_ARGS'"
  echo "load at start: $(cut -d' ' -f1-3 /proc/loadavg)"
} | tee "$OUT/meta.txt" >&2

# ---- 1. accuracy ---------------------------------------------------------------------------
log "llama.cpp reference logits on $(basename "$TEXT")"
LOGITS_OUT=${FULL_LOGITS:+$OUT/llama_logits.f32} \
  "$REF" "$MODEL" "$TEXT" "$OUT/llama" "$ACC_THREADS" > "$OUT/llama_ppl.txt" 2> "$OUT/llama_ref.err" \
  || { tail -5 "$OUT/llama_ref.err" >&2; exit 1; }
T=$(wc -w < "$OUT/llama.tokens")
log "dsv3 on the same $T token ids"
# shellcheck disable=SC2086
"$DSV3" perplexity -m "$MODEL" --tokens-file "$OUT/llama.tokens" --ctx "$T" -t "$ACC_THREADS" $DSV3_ACC_ARGS \
  --top1-out "$OUT/dsv3.tsv" > "$OUT/dsv3_ppl.txt" 2> "$OUT/dsv3_ppl.err" \
  || { tail -5 "$OUT/dsv3_ppl.err" >&2; exit 1; }
if [[ -n ${FULL_LOGITS:-} ]]; then  # full logits of both, for bench/hf_gguf_logits.py
  # shellcheck disable=SC2086
  "$DSV3" logits -m "$MODEL" --tokens "$(cat "$OUT/llama.tokens")" -t "$ACC_THREADS" $DSV3_ACC_ARGS -o "$OUT/dsv3_logits.npy" 2> /dev/null
fi
"$DSV3" tokenize -m "$MODEL" -f "$TEXT" --ids > "$OUT/dsv3.tokens" 2> "$OUT/dsv3_tok.err" || echo "n/a" > "$OUT/dsv3.tokens"

python3 - "$OUT" <<'EOF' | tee "$OUT/accuracy.md"
import math, sys
out = sys.argv[1]
def rows(p):
    r = [l.rstrip("\n").split("\t") for l in open(p)][1:]
    return [(int(a[1]), int(a[2]), float(a[3]) if a[3] else None) for a in r]
L, D = rows(f"{out}/llama.tsv"), rows(f"{out}/dsv3.tsv")
assert len(L) == len(D) and all(a[0] == b[0] for a, b in zip(L, D)), "token sequences differ"
n = len(L) - 1
agree = sum(L[i][1] == D[i][1] for i in range(n))
ppl = lambda R: math.exp(sum(r[2] for r in R[:n]) / n)
pl, pd = ppl(L), ppl(D)
lt = open(f"{out}/llama.tokens").read().split()
dt = open(f"{out}/dsv3.tokens").read().split()
tok = "same ids" if dt == lt or dt == lt[1:] else f"differ (dsv3 {len(dt)} ids, llama.cpp {len(lt)} incl. BOS)"
print(f"| tokens | predicted positions | top-1 agreement | ppl llama.cpp | ppl dsv3 | ratio | dsv3 tokenizer |")
print(f"| ---: | ---: | ---: | ---: | ---: | ---: | --- |")
print(f"| {len(L)} | {n} | {agree}/{n} = {100*agree/n:.2f}% | {pl:.4f} | {pd:.4f} | {pd/pl:.4f} | {tok} |")
EOF

# ---- 2. speed ------------------------------------------------------------------------------
for ((r = 1; r <= ROUNDS; r++)); do
  for t in ${THREADS//,/ }; do
    log "round $r/$ROUNDS, $t thread(s): dsv3"
    # shellcheck disable=SC2086
    "$DSV3" bench -m "$MODEL" -p "$PROMPT" -n "$GEN" --depths 0 -t "$t" -r 1 --no-probe --json $DSV3_ARGS \
      > "$OUT/r${r}_dsv3_t${t}.json" 2> "$OUT/r${r}_dsv3_t${t}.err" \
      || { log "dsv3 bench failed: $(tail -1 "$OUT/r${r}_dsv3_t${t}.err")"; rm -f "$OUT/r${r}_dsv3_t${t}.json"; }
    log "round $r/$ROUNDS, $t thread(s): llama.cpp"
    # shellcheck disable=SC2086
    "$BUILD/bin/llama-bench" -m "$MODEL" -p "$PROMPT" -n "$GEN" -d 0 -t "$t" -r 1 -o json $LLAMA_ARGS \
      > "$OUT/r${r}_llama_t${t}.json" 2> "$OUT/r${r}_llama_t${t}.err" \
      || log "llama-bench failed: $(tail -1 "$OUT/r${r}_llama_t${t}.err")"
  done
done
echo "load at end: $(cut -d' ' -f1-3 /proc/loadavg)" | tee -a "$OUT/meta.txt" >&2

python3 - "$OUT" <<'EOF' | tee "$OUT/speed.md"
import glob, json, os, re, statistics as st, sys
out = sys.argv[1]
rows = {}
for f in sorted(glob.glob(os.path.join(out, "r*_*_t*.json"))):
    m = re.match(r"r(\d+)_(dsv3|llama)_t(\d+)\.json", os.path.basename(f))
    rnd, eng, t = int(m[1]), m[2], int(m[3])
    try:
        data = json.load(open(f))
    except Exception:
        continue
    items = data["results"] if eng == "dsv3" else data
    for e in items:
        test = ("pp%d" % e["n_prompt"]) if e["n_prompt"] else ("tg%d" % e["n_gen"])
        ts = e["median_ts"] if eng == "dsv3" else e["avg_ts"]
        rows.setdefault((t, test), {"dsv3": {}, "llama": {}})[eng][rnd] = ts
med = lambda v: st.median(v) if v else float("nan")
print("| test | threads | dsv3 t/s | llama.cpp t/s | dsv3/llama.cpp (median of paired ratios) | rounds |")
print("| --- | ---: | ---: | ---: | ---: | ---: |")
for (t, test) in sorted(rows, key=lambda k: (-k[0], k[1])):
    a, b = rows[(t, test)]["dsv3"], rows[(t, test)]["llama"]
    pairs = [a[r] / b[r] for r in a if r in b and b[r] > 0]
    fa = "%.2f" % med(list(a.values())) if a else "n/a"
    fb = "%.2f" % med(list(b.values())) if b else "n/a"
    fr = "%.2fx" % med(pairs) if pairs else "n/a"
    print(f"| {test} | {t} | {fa} | {fb} | {fr} | {max(len(a), len(b))} |")
EOF
log "results in $OUT"
