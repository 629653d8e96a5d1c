#!/usr/bin/env python3
"""Exact-arithmetic third opinion for bench/r1_distill_vs_llamacpp.sh: HF transformers loads the
GGUF (gguf-py dequantises every tensor to f32) and computes fp32 logits of the same token ids,
with no activation quantisation. Then dsv3's and llama.cpp's logits are each compared with it.

  /work/venv/bin/python bench/hf_gguf_logits.py MODEL.gguf RUN_DIR
RUN_DIR is an OUT folder of r1_distill_vs_llamacpp.sh (llama.tokens). Also needs
$RUN_DIR/dsv3_logits.npy and $RUN_DIR/llama_logits.f32 (run that script with FULL_LOGITS=1);
prints one markdown table.
"""
import os, sys, tempfile
import numpy as np
import torch
from transformers import AutoModelForCausalLM

model, run = sys.argv[1], sys.argv[2]
toks = [int(x) for x in open(os.path.join(run, "llama.tokens")).read().split()]
torch.set_num_threads(1)
with tempfile.TemporaryDirectory() as td:
    os.symlink(os.path.abspath(model), os.path.join(td, "m.gguf"))
    m = AutoModelForCausalLM.from_pretrained(td, gguf_file="m.gguf", dtype=torch.float32).eval()
    with torch.no_grad():
        h = m(torch.tensor([toks])).logits[0].float().numpy()
V = h.shape[1]
d = np.load(os.path.join(run, "dsv3_logits.npy"))
l = np.fromfile(os.path.join(run, "llama_logits.f32"), dtype=np.float32).reshape(-1, V)
n = len(toks) - 1


def ppl(x):
    x = x.astype(np.float64)
    mx = x.max(1)
    lse = mx + np.log(np.exp(x - mx[:, None]).sum(1))
    return float(np.exp(np.mean([lse[i] - x[i, toks[i + 1]] for i in range(n)])))


print("| engine | mean abs logit diff vs HF f32 | max | top-1 agreement with HF f32 | perplexity |")
print("| --- | ---: | ---: | ---: | ---: |")
print(f"| HF transformers f32 (dequantised weights) | 0 | 0 | 100% | {ppl(h):.4f} |")
for name, a in (("dsv3", d), ("llama.cpp", l)):
    agree = float((a.argmax(1) == h.argmax(1))[:n].mean())
    print(f"| {name} | {np.abs(a - h).mean():.4f} | {np.abs(a - h).max():.3f} | {100 * agree:.2f}% | {ppl(a):.4f} |")
