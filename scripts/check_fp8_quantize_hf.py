#!/usr/bin/env python3
"""Does `dsv3 quantize --to fp8` write a checkpoint that HF transformers loads? (issue 5, item 3)

Usage: /work/venv/bin/python scripts/check_fp8_quantize_hf.py --dsv3 build-x/dsv3

For two tiny random DeepSeek-V3 checkpoints (fp32, written with HF's own classes):
  aligned  every FP8 projection is a whole number of 128x128 blocks;
  partial  the shapes of scripts/make_tiny_fp8_model.py: kv_a_proj_with_mqa has 192 rows
           (1.5 blocks), dense intermediate 320 (2.5 blocks), q_lora 192;
it runs `dsv3 quantize --to fp8`, then
  1. reference: the FP8 output dequantised here in torch with DeepSeek's semantics
     (w = e4m3 * s[r // 128, c // 128], edge blocks partial), loaded by
     DeepseekV3ForCausalLM.from_pretrained in fp32;
  2. transformers itself: from_pretrained(<dsv3 FP8 folder>) with its FineGrainedFP8 quantizer
     (needs `accelerate`, pinned in scripts/requirements.txt; on a machine without CUDA/XPU it
     switches to dequantize=True and folds every weight_scale_inv into the weight at load),
     dtype float32; logits compared with 1.
  3. --patched: the same load with transformers' Fp8Dequantize._dequantize_one replaced by a
     128x128 (ceil) dequantisation, to show that the partial-block checkpoint is otherwise valid.

Tolerance: transformers dequantises as fp32(e4m3) * scale like the reference, so logits should
agree to fp32 reassociation level; the check allows 1e-4 * max|logit| (both run in fp32).

Finding (transformers 5.23.0): transformers derives the block size from the scale grid
(block = rows // scale_rows) and raises "Weight shape (R, C) not divisible by scale grid" when
R or C is not a multiple of the grid -- i.e. for every partial 128-block, including DeepSeek-V3's
own FP8 release (kv_a_proj_with_mqa [576, 7168] with a [5, 56] scale grid; checked below on a
synthetic tensor of that shape). Where R happens to be divisible (192 rows, 2 scale rows) it
silently uses 96-row blocks, which is wrong (also checked below). The aligned checkpoint loads
and matches exactly; the partial one is refused at load (the load report shows
"Weight shape (320, 256) not divisible by scale grid (3, 2)" for the dense up_proj) and matches
exactly once the dequantiser uses 128x128 blocks. Exit status 0 when all of that holds.
"""
import argparse
import json
import os
import shutil
import subprocess
import sys
import tempfile

import numpy as np
import torch
from safetensors import safe_open
from safetensors.torch import save_file

sys.path.insert(0, os.path.dirname(os.path.abspath(__file__)))
import make_tiny_models  # noqa: E402

from transformers import AutoModelForCausalLM, DeepseekV3Config, DeepseekV3ForCausalLM  # noqa: E402

BASE = {
    "architectures": ["DeepseekV3ForCausalLM"], "model_type": "deepseek_v3",
    "vocab_size": 256, "hidden_size": 256, "num_hidden_layers": 2,
    "num_nextn_predict_layers": 0, "num_attention_heads": 2, "num_key_value_heads": 2,
    "qk_nope_head_dim": 128, "v_head_dim": 128,
    "n_routed_experts": 4, "n_shared_experts": 1, "num_experts_per_tok": 2,
    "n_group": 2, "topk_group": 1, "topk_method": "noaux_tc", "scoring_func": "sigmoid",
    "norm_topk_prob": True, "routed_scaling_factor": 2.5, "first_k_dense_replace": 1,
    "rope_theta": 10000, "bos_token_id": 0, "eos_token_id": 1, "torch_dtype": "float32",
}
CASES = {
    # kv_a rows = kv_lora + rope = 256, q_b rows = 2 * (128 + 128), kv_b cols = 128.
    "aligned": dict(BASE, intermediate_size=384, moe_intermediate_size=128, q_lora_rank=256,
                    kv_lora_rank=128, qk_rope_head_dim=128),
    # kv_a rows 192, dense intermediate 320, q_lora 192 (make_tiny_fp8_model.py's shapes).
    "partial": dict(BASE, intermediate_size=320, moe_intermediate_size=128, q_lora_rank=192,
                    kv_lora_rank=128, qk_rope_head_dim=64),
}
PROMPT = [0, 17, 42, 99, 3, 250, 128, 7, 64, 33, 5]


def dequant_folder(src, dst, cfg):
    """DeepSeek semantics: every F8_E4M3 `w` with `w_scale_inv` -> fp32 e4m3(w) * s per block."""
    os.makedirs(dst)
    out = {}
    with safe_open(os.path.join(src, "model.safetensors"), "pt") as f:
        keys = set(f.keys())
        for k in keys:
            if k.endswith("_scale_inv"):
                continue
            t = f.get_tensor(k)
            if t.dtype == torch.float8_e4m3fn:
                s = f.get_tensor(k + "_scale_inv")
                R, C = t.shape
                full = s.repeat_interleave(128, 0)[:R].repeat_interleave(128, 1)[:, :C]
                t = t.float() * full
            out[k] = t.float()
    save_file(out, os.path.join(dst, "model.safetensors"), metadata={"format": "pt"})
    make_tiny_models.write_config(dst, cfg)


def logits_of(model):
    with torch.no_grad():
        return model(torch.tensor([PROMPT])).logits[0].float().numpy()


def ceil_block_dequantize(self, quantized, scales, output_dtype=None):
    """Replacement for Fp8Dequantize._dequantize_one: 128x128 blocks, partial at the edges."""
    q = quantized.to(torch.float32)
    R, C = q.shape[-2:]
    full = scales.float().repeat_interleave(128, -2)[..., :R, :].repeat_interleave(128, -1)[..., :C]
    out = q * full
    return out.to(output_dtype) if output_dtype is not None else out


def run_case(name, cfg, dsv3, tmp, patched):
    d = os.path.join(tmp, name)
    src, fp8, ref_dir = d + "-f32", d + "-fp8", d + "-deq"
    os.makedirs(src)
    make_tiny_models.write_config(src, cfg)
    config = DeepseekV3Config.from_pretrained(src)
    torch.manual_seed(1)
    model = DeepseekV3ForCausalLM(config).eval()
    state = make_tiny_models.hf_state_from_save(model, config.n_routed_experts,
                                                config.moe_intermediate_size)
    save_file({k: v.float().contiguous() for k, v in state.items()},
              os.path.join(src, "model.safetensors"), metadata={"format": "pt"})
    subprocess.run([dsv3, "quantize", "-m", src, "-o", fp8, "--to", "fp8"], check=True,
                   stdout=subprocess.DEVNULL)
    with open(os.path.join(fp8, "config.json")) as f:
        qc = json.load(f).get("quantization_config")
    print(f"[{name}] dsv3 quantize --to fp8 -> quantization_config {qc}")
    dequant_folder(fp8, ref_dir, cfg)
    ref = logits_of(DeepseekV3ForCausalLM.from_pretrained(ref_dir, dtype=torch.float32).eval())
    tol = 1e-4 * float(np.abs(ref).max())
    try:
        hf = AutoModelForCausalLM.from_pretrained(fp8, dtype=torch.float32).eval()
        diff = float(np.abs(logits_of(hf) - ref).max())
        print(f"[{name}] transformers loaded the FP8 folder: max |logit diff| {diff:.3g} "
              f"(tolerance {tol:.3g})")
        result = ("loaded", diff <= tol)
    except Exception as e:  # noqa: BLE001 -- the error text is the finding
        print(f"[{name}] transformers refused the FP8 folder: {type(e).__name__}: {e}")
        result = ("refused", str(e))
    if patched:
        from transformers.integrations import finegrained_fp8 as ff
        orig = ff.Fp8Dequantize._dequantize_one
        ff.Fp8Dequantize._dequantize_one = ceil_block_dequantize
        try:
            hf = AutoModelForCausalLM.from_pretrained(fp8, dtype=torch.float32).eval()
            diff = float(np.abs(logits_of(hf) - ref).max())
            print(f"[{name}] with 128x128 ceil-block dequantisation patched in: max |logit diff| "
                  f"{diff:.3g} (tolerance {tol:.3g})")
            result = result + (diff <= tol,)
        finally:
            ff.Fp8Dequantize._dequantize_one = orig
    return result


def deepseek_v3_kv_a_shape():
    """transformers' dequantiser on DeepSeek-V3's own kv_a_proj_with_mqa FP8 shape, and on a
    192-row weight (1.5 blocks) whose row count happens to divide by its 2 scale rows."""
    from transformers.integrations.finegrained_fp8 import Fp8Dequantize
    q = torch.ones(192, 256, dtype=torch.float8_e4m3fn)
    s = torch.tensor([[1.0, 1.0], [2.0, 2.0]])
    w = Fp8Dequantize(None)._dequantize_one(q, s, output_dtype=torch.float32)
    wrong = float(w[100, 0]) != 1.0  # row 100 is in block 0 (scale 1) in DeepSeek's layout
    print(f"192-row weight, scales [2, 2]: row 100 dequantised with scale {float(w[100, 0])} "
          f"({'96-row blocks: wrong' if wrong else '128-row blocks'})")
    q = torch.zeros(576, 7168, dtype=torch.float8_e4m3fn)
    s = torch.ones(5, 56, dtype=torch.float32)
    try:
        Fp8Dequantize(None)._dequantize_one(q, s)
        print("DeepSeek-V3 kv_a_proj_with_mqa [576, 7168] / scales [5, 56]: dequantised")
        return False
    except Exception as e:  # noqa: BLE001
        print(f"DeepSeek-V3 kv_a_proj_with_mqa [576, 7168] / scales [5, 56]: {type(e).__name__}: {e}")
        return wrong


def main():
    ap = argparse.ArgumentParser()
    ap.add_argument("--dsv3", required=True)
    ap.add_argument("--no-patched", action="store_true")
    a = ap.parse_args()
    import transformers
    print("transformers", transformers.__version__, "torch", torch.__version__)
    tmp = tempfile.mkdtemp()
    ok = True
    try:
        al = run_case("aligned", CASES["aligned"], a.dsv3, tmp, not a.no_patched)
        pa = run_case("partial", CASES["partial"], a.dsv3, tmp, not a.no_patched)
        ok &= al[0] == "loaded" and al[1]
        ok &= pa[0] == "refused"  # the load report names "not divisible by scale grid"
        if not a.no_patched:
            ok &= al[2] and pa[2]
        ok &= deepseek_v3_kv_a_shape()
    finally:
        shutil.rmtree(tmp, ignore_errors=True)
    print("OK" if ok else "UNEXPECTED")
    return 0 if ok else 1


if __name__ == "__main__":
    sys.exit(main())
