#!/usr/bin/env bash
# dsv3 vs llama.cpp on the same checkpoint, same threads, prompt lengths and context depths, in
# one run: A B A B interleaved for ROUNDS rounds, one table of medians and ratios at the end.
#
#   bench/vs_llamacpp.sh /work/models/v2lite-4L-bf16 [/work/models/v2lite-4L-fp8]
#
# 1. Builds llama.cpp (only llama-bench, llama-quantize) from the vendored tree of the
#    llama-cpp-python sdist on PyPI (pinned: LLAMA_PIN), -DGGML_NATIVE=ON, 2 jobs, into
#    $BUILD (cached: skipped when $BUILD/bin/llama-bench exists).
# 2. Makes $VENV (cached) with that tree's gguf-py and convert requirements (transformers,
#    numpy, sentencepiece, protobuf pins from requirements-convert_*.txt); torch is NOT
#    reinstalled: a .pth file appends /work/venv's site-packages (torch 2.9.1 CPU) to sys.path,
#    so /work/venv is used read-only and not polluted.
# 3. Converts the bf16 checkpoint with llama.cpp's own convert_hf_to_gguf.py to GGUF bf16 and
#    Q8_0 (cached in $GGUF_DIR). The checkpoint needs a tokenizer llama.cpp recognises:
#    scripts/make_bench_model.py --preset v2-lite writes DeepSeek-LLM's (hash "deepseek-llm").
# 4. For each round, thread count and weight type: dsv3 bench (A) then llama-bench (B), one
#    repetition each; pairs: bf16 checkpoint vs GGUF BF16, FP8 checkpoint (2nd argument, if
#    given and loadable) vs GGUF Q8_0 (8.5 bits/weight vs FP8's 8 + block scales).
# Environment knobs (defaults): THREADS=2 (comma list), PROMPT=512, GEN=128,
# DEPTHS=0,4096,16384, ROUNDS=3, TYPES=bf16,q8_0, DSV3=/work/main/build-bench/dsv3,
# DSV3_ARGS="--kv-type bf16" (llama.cpp's default KV cache is f16: same 2 bytes/value),
# LLAMA_ARGS="" (extra llama-bench flags), OUT=/work/bench-runs/<time>,
# BF16_ACT=fp32: --act-precision of dsv3 for the bf16 pair. BF16_ACT=bf16 is the same numeric
# contract as llama.cpp's BF16 path (activations rounded to bf16 once per matmul, bf16 x bf16
# products summed in fp32 with vdpbf16ps); fp32 (dsv3's default) keeps activations in fp32, more
# accurate and more work. FP8_ACT=fp32: the same for the FP8 checkpoint (Q8_0 on llama.cpp's side
# rounds activations to 8 bits).
# Only llama-bench fills a depth with a real (untimed) prefill; dsv3 bench writes synthetic
# latent rows (--fill synthetic): decode and prefill cost do not depend on the cached values.
set -euo pipefail

MODEL=${1:?usage: bench/vs_llamacpp.sh BF16_CHECKPOINT_DIR [FP8_CHECKPOINT_DIR]}
FP8_MODEL=${2:-}
LLAMA_PIN=${LLAMA_PIN:-0.3.36}
THREADS=${THREADS:-2}
PROMPT=${PROMPT:-512}
GEN=${GEN:-128}
DEPTHS=${DEPTHS:-0,4096,16384}
ROUNDS=${ROUNDS:-3}
TYPES=${TYPES:-bf16,q8_0}
SRC=${SRC:-/work/llama.cpp-src}
BUILD=${BUILD:-/work/llama.cpp-build}
VENV=${VENV:-/work/venv-llama}
GGUF_DIR=${GGUF_DIR:-/work/models/gguf}
DSV3=${DSV3:-/work/main/build-bench/dsv3}
DSV3_ARGS=${DSV3_ARGS:---kv-type bf16}
LLAMA_ARGS=${LLAMA_ARGS:-}
BF16_ACT=${BF16_ACT:-fp32}
FP8_ACT=${FP8_ACT:-fp32}
OUT=${OUT:-/work/bench-runs/$(date -u +%Y%m%d-%H%M%S)}
HERE=$(cd "$(dirname "$0")" && pwd)

log() { echo "[vs_llamacpp] $*" >&2; }
LLAMA_DIR=$SRC/llama_cpp_python-$LLAMA_PIN/vendor/llama.cpp

# ---- 1. llama.cpp -------------------------------------------------------------------------
if [[ ! -d $LLAMA_DIR ]]; then
  log "downloading llama-cpp-python==$LLAMA_PIN (sdist) into $SRC"
  mkdir -p "$SRC"
  /work/venv/bin/pip download --no-binary :all: --no-deps "llama-cpp-python==$LLAMA_PIN" -d "$SRC"
  tar xzf "$SRC/llama_cpp_python-$LLAMA_PIN.tar.gz" -C "$SRC"
fi
if [[ ! -x $BUILD/bin/llama-bench ]]; then
  log "building llama.cpp into $BUILD (2 jobs; takes a while)"
  cmake -S "$LLAMA_DIR" -B "$BUILD" -DCMAKE_BUILD_TYPE=Release -DGGML_NATIVE=ON -DLLAMA_CURL=OFF \
    -DLLAMA_OPENSSL=OFF -DLLAMA_BUILD_TESTS=OFF -DLLAMA_BUILD_EXAMPLES=OFF \
    -DLLAMA_BUILD_SERVER=OFF -DBUILD_SHARED_LIBS=OFF >/dev/null
  cmake --build "$BUILD" -j2 --target llama-bench llama-quantize
fi

# ---- 2. converter venv --------------------------------------------------------------------
if [[ ! -x $VENV/bin/python ]] || ! "$VENV/bin/python" -c "import gguf, transformers, torch" 2>/dev/null; then
  log "creating $VENV"
  /work/venv/bin/python -m venv "$VENV"
  sp=$(/work/venv/bin/python -c "import site; print(site.getsitepackages()[0])")
  vsp=$("$VENV/bin/python" -c "import site; print(site.getsitepackages()[0])")
  echo "import sys; sys.path.append('$sp')" > "$vsp/zz_torch_from_dsv3_venv.pth"
  "$VENV/bin/pip" install -q "transformers==4.57.6" "numpy~=2.2.6" "sentencepiece>=0.1.98,<0.3.0" \
    "protobuf>=4.21.0,<5.0.0" "$LLAMA_DIR/gguf-py"
fi

# ---- 3. GGUF conversion -------------------------------------------------------------------
mkdir -p "$GGUF_DIR" "$OUT"
name=$(basename "$MODEL")
gguf_for() { echo "$GGUF_DIR/$name-$1.gguf"; }
for ty in ${TYPES//,/ }; do
  f=$(gguf_for "$ty")
  if [[ ! -s $f ]]; then
    log "converting $MODEL to $f"
    "$VENV/bin/python" "$LLAMA_DIR/convert_hf_to_gguf.py" "$MODEL" --outtype "$ty" --outfile "$f.tmp" \
      > "$OUT/convert-$ty.log" 2>&1 || { tail -20 "$OUT/convert-$ty.log" >&2; exit 1; }
    # llama.cpp (src/models/deepseek2.cpp) treats deepseek2 as "lite" (no q_lora, key
    # attention.q_lora_rank optional) only when n_layer is 26 or 27; a V2-Lite-shaped model with
    # other depths fails to load ("key not found: deepseek2.attention.q_lora_rank") unless the
    # key is present: add q_lora_rank = 0, which selects the same q_proj path.
    if "$VENV/bin/python" -c "import json,sys; c=json.load(open(sys.argv[1]+'/config.json')); \
        sys.exit(0 if c.get('q_lora_rank') is None and c['num_hidden_layers'] not in (26, 27) else 1)" "$MODEL"; then
      log "adding deepseek2.attention.q_lora_rank = 0 to $f"
      "$VENV/bin/python" - "$f.tmp" "$f.tmp2" "$LLAMA_DIR/gguf-py" <<'PY' > /dev/null 2>&1
import sys
sys.path.insert(0, sys.argv[3])
import gguf
from gguf.scripts.gguf_new_metadata import copy_with_new_metadata, MetadataDetails
reader = gguf.GGUFReader(sys.argv[1], "r")
arch = reader.fields["general.architecture"].contents()
writer = gguf.GGUFWriter(sys.argv[2], arch=arch, endianess=reader.endianess)
copy_with_new_metadata(reader, writer, {
    f"{arch}.attention.q_lora_rank": MetadataDetails(gguf.GGUFValueType.UINT32, 0)}, [])
PY
      mv "$f.tmp2" "$f.tmp"
    fi
    mv "$f.tmp" "$f"
  fi
done

# ---- 4. interleaved runs ------------------------------------------------------------------
{
  echo "date: $(date -u +%FT%TZ)"
  echo "cpu: $(grep -m1 'model name' /proc/cpuinfo | cut -d: -f2-) ($(nproc) cpus)"
  echo "mem: $(free -g | awk '/Mem:/ {print $2 " GiB"}')"
  echo "dsv3: $(git -C "$HERE/.." rev-parse --short HEAD) ($DSV3)"
  echo "llama.cpp: $(git -C "$LLAMA_DIR" rev-parse --short HEAD 2>/dev/null || echo '?') (llama-cpp-python $LLAMA_PIN)"
  echo "settings: threads=$THREADS p=$PROMPT n=$GEN depths=$DEPTHS rounds=$ROUNDS types=$TYPES"
  echo "dsv3 args: $DSV3_ARGS (+ --act-precision $BF16_ACT for bf16, $FP8_ACT for fp8); llama-bench args: $LLAMA_ARGS"
  echo "load at start: $(cut -d' ' -f1-3 /proc/loadavg)"
} | tee "$OUT/meta.txt" >&2

for ((r = 1; r <= ROUNDS; r++)); do
  for t in ${THREADS//,/ }; do
    for ty in ${TYPES//,/ }; do
      dm=$MODEL act=$BF16_ACT
      [[ $ty == bf16 ]] || { dm=$FP8_MODEL; act=$FP8_ACT; }
      if [[ -n $dm ]]; then
        log "round $r/$ROUNDS, $t thread(s), $ty: dsv3 ($dm)"
        # shellcheck disable=SC2086
        if ! "$DSV3" bench -m "$dm" -p "$PROMPT" -n "$GEN" --depths "$DEPTHS" -t "$t" -r 1 \
            $DSV3_ARGS --act-precision "$act" --json > "$OUT/r${r}_dsv3_${ty}_t${t}.json" 2> "$OUT/r${r}_dsv3_${ty}_t${t}.err"; then
          log "dsv3 failed on $dm: $(tail -1 "$OUT/r${r}_dsv3_${ty}_t${t}.err")"
          rm -f "$OUT/r${r}_dsv3_${ty}_t${t}.json"
        fi
      fi
      log "round $r/$ROUNDS, $t thread(s), $ty: llama.cpp ($(gguf_for "$ty"))"
      # shellcheck disable=SC2086
      "$BUILD/bin/llama-bench" -m "$(gguf_for "$ty")" -p "$PROMPT" -n "$GEN" -d "$DEPTHS" -t "$t" \
        -r 1 -o json $LLAMA_ARGS > "$OUT/r${r}_llama_${ty}_t${t}.json" 2> "$OUT/r${r}_llama_${ty}_t${t}.err" \
        || log "llama-bench failed: $(tail -1 "$OUT/r${r}_llama_${ty}_t${t}.err")"
    done
  done
done
echo "load at end: $(cut -d' ' -f1-3 /proc/loadavg)" | tee -a "$OUT/meta.txt" >&2

# ---- 5. one table -------------------------------------------------------------------------
python3 - "$OUT" <<'EOF' | tee "$OUT/table.md"
import glob, json, os, re, statistics as st, sys
out = sys.argv[1]
rows = {}  # (type, test, depth, threads) -> {"dsv3": {round: ts}, "llama": {...}}
probes = {}
for f in sorted(glob.glob(os.path.join(out, "r*_*.json"))):
    m = re.match(r"r(\d+)_(dsv3|llama)_(\w+?)_t(\d+)\.json", os.path.basename(f))
    rnd, eng, ty, t = int(m[1]), m[2], m[3], int(m[4])
    try:
        data = json.load(open(f))
    except Exception:
        continue
    if eng == "dsv3":
        for p in data.get("probes", []):
            probes.setdefault(int(p["threads"]), []).extend(
                [p["read_gbs_before_best"], p["read_gbs_after_best"]])
        items = [(("pp%d" % e["n_prompt"]) if e["n_prompt"] else ("tg%d" % e["n_gen"]),
                  e["depth"], e["threads"], e["median_ts"], e.get("bandwidth_share")) for e in data["results"]]
    else:
        items = [(("pp%d" % e["n_prompt"]) if e["n_prompt"] else ("tg%d" % e["n_gen"]),
                  e.get("n_depth", 0), e["n_threads"], e["avg_ts"], None) for e in data]
    for test, d, th, ts, share in items:
        k = (ty, test, int(d), int(th))
        rows.setdefault(k, {"dsv3": {}, "llama": {}, "share": []})[eng][rnd] = ts
        if share is not None:
            rows[k]["share"].append(share)
med = lambda v: st.median(v) if v else float("nan")
print("| weights | test | depth | threads | dsv3 t/s (median) | llama.cpp t/s (median) | "
      "dsv3/llama (median of paired ratios) | dsv3 % of BW | rounds |")
print("| --- | --- | ---: | ---: | ---: | ---: | ---: | ---: | ---: |")
for k in sorted(rows, key=lambda k: (k[0], k[3], k[1][:2], k[2])):
    v = rows[k]
    a, b = v["dsv3"], v["llama"]
    pairs = [a[r] / b[r] for r in a if r in b and b[r] > 0]
    sa = "%.2f" % med(list(a.values())) if a else "n/a"
    sb = "%.2f" % med(list(b.values())) if b else "n/a"
    ratio = "%.2fx" % med(pairs) if pairs else "n/a"
    share = "%.0f%%" % (100 * med(v["share"])) if v["share"] else ""
    print(f"| {k[0]} | {k[1]} | {k[2]} | {k[3]} | {sa} | {sb} | {ratio} | {share} | "
          f"{max(len(a), len(b))} |")
for t, v in sorted(probes.items()):
    print(f"\nread bandwidth probes, {t} thread(s) (dsv3 bench, before/after each run): "
          f"median {med(v):.1f} GB/s, min {min(v):.1f}, max {max(v):.1f} over {len(v)} probes")
EOF
log "results in $OUT"
