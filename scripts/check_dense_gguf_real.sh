#!/usr/bin/env bash
# Real-model check of the dense llama path (not part of ctest: needs the 98 MB SmolLM2 GGUF from
# scripts/get_smollm2_135m.sh, /work/venv-llama with transformers 4.57 + gguf, and ~1 min).
# Hugging Face transformers dequantizes SmolLM2-135M-Instruct Q4_1 (its own GGUF reader, which
# un-permutes llama's q/k rows) into an fp32 HF folder; llama.cpp's converter turns that folder
# into an f32 GGUF (q/k permuted again). dsv3's logits from the HF folder and from the f32 GGUF
# must equal HF's fp32 logits on a chat prompt (30 layers; measured 3e-6 relative), and the
# Q4_1 GGUF itself is compared too (dsv3's Q4_1 kernel quantizes activations per 32 values to
# 8 bits, as llama.cpp does, so it is expected to differ by a few % of scale; llama.cpp itself
# is the reference for that file).
#   scripts/check_dense_gguf_real.sh [DSV3] [GGUF] [WORKDIR]
set -euo pipefail
DSV3=${1:-build/dsv3}
GGUF=${2:-/work/models/SmolLM2-135M-Instruct.Q4_1.gguf}
W=${3:-$(mktemp -d)}
PY=${PY:-/work/venv-llama/bin/python}
CONVERT=${CONVERT:-/work/llama.cpp-src/llama_cpp_python-0.3.36/vendor/llama.cpp/convert_hf_to_gguf.py}
P=$'<|im_start|>system\nYou are a helpful AI assistant named SmolLM, trained by Hugging Face<|im_end|>\n<|im_start|>user\nWhat is the capital of France?<|im_end|>\n<|im_start|>assistant\n'
"$DSV3" tokenize -m "$GGUF" --ids "$P" > "$W/prompt.txt"
"$PY" - "$GGUF" "$W" <<'PYEOF'
import os, sys, numpy as np, torch
from transformers import AutoModelForCausalLM, AutoTokenizer
gguf, w = sys.argv[1], sys.argv[2]
d, f = os.path.dirname(os.path.abspath(gguf)), os.path.basename(gguf)
m = AutoModelForCausalLM.from_pretrained(d, gguf_file=f, dtype=torch.float32).eval()
m.save_pretrained(w + "/hf")
AutoTokenizer.from_pretrained(d, gguf_file=f).save_pretrained(w + "/hf")
ids = [int(x) for x in open(w + "/prompt.txt").read().split()]
with torch.no_grad():
    np.save(w + "/hf_logits.npy", m(torch.tensor([ids])).logits[0].numpy())
PYEOF
rm -f "$W/hf/tokenizer.model"  # the converter would try it as SentencePiece; tokenizer.json is used
"$PY" "$CONVERT" "$W/hf" --outtype f32 --outfile "$W/f32.gguf" >/dev/null 2>&1
TOKS=$(tr ' ' ',' < "$W/prompt.txt")
for src in "$W/hf" "$W/f32.gguf" "$GGUF"; do
  "$DSV3" logits -m "$src" --tokens "$TOKS" -o "$W/dsv3.npy" 2>/dev/null
  "$PY" -c "
import numpy as np
a, b = np.load('$W/dsv3.npy'), np.load('$W/hf_logits.npy')
print('%-60s max|dsv3-HF| / max|HF| = %.3g, top-1 agreement %.3f' % ('$src'[-60:], np.abs(a-b).max() / np.abs(b).max(), (a.argmax(-1) == b.argmax(-1)).mean()))"
done
