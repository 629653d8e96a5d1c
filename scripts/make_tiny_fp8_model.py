#!/usr/bin/env python3
"""Makes tests/data/tiny-v3-fp8: a tiny DeepSeek-V3-like checkpoint in DeepSeek's FP8 layout,
with Hugging Face reference outputs on its dequantized weights.

Usage: /work/venv/bin/python scripts/make_tiny_fp8_model.py [--out tests/data/tiny-v3-fp8]
                                                             [--dsv3 build-fp8/dsv3]

1. A random DeepseekV3ForCausalLM (HF classes, transformers pinned in scripts/requirements.txt)
   with dims >= 128 so 128x128 blocks are real, and partial blocks everywhere they can occur:
   kv_a_proj_with_mqa rows = kv_lora 128 + rope 64 = 192 (1.5 blocks), q_a_proj rows /
   q_b_proj cols = q_lora 192, dense intermediate 320 (2.5 blocks). Weights re-drawn with
   tiny_weights.perturb_ (O(1) activations).
2. Quantized with torch ops exactly as DeepSeek's layout (make_fp8_refs.block_quant: per 128x128
   block s = amax/448, q = (w/s).to(float8_e4m3fn)) for every attention / FFN / expert /
   shared-expert projection; embeddings, lm_head, norms, router (+ fp32 bias) are stored bf16 /
   fp32 as in DeepSeek-V3. config.json gets quantization_config.
3. Reference: the dequantized model (fp8.float() * s in fp32, bf16 tensors widened) saved as an
   fp32 checkpoint, re-loaded by HF from_pretrained (fp32, eager), run on 4 prompts:
   ref/logits_<i>.npy, ref/experts_<i>.npy (routing checked against tiny_ref.spec_route), and the
   seed is accepted only if routing and top-1 margins are far from ties (as make_tiny_models.py).
4. ref/emul_logits_<i>.npy: the same HF model with every quantized projection (nn.Linear and the
   per-expert F.linear of the fused experts) replaced by DeepSeek's FP8 GEMM emulated in torch
   (make_fp8_refs.act_quant + fp8_gemm: 1x128 e4m3 activations with amax/448 scales clamped at
   1e-4, fp32 promotion per 128-block, bf16 output) on the stored e4m3 codes and scales.
5. ref/cast_bf16.safetensors: torch's fp8_cast_bf16 ((q.float() * s).to(bfloat16)) of two
   tensors (layer-0 kv_a_proj_with_mqa with its partial block, layer-1 expert 0 down_proj), for
   the bit-exactness test of `dsv3 quantize --to bf16`.
6. If --dsv3 is given: runs `dsv3 quantize --to bf16` on the result and loads that folder with
   transformers from_pretrained (the HF-loadability check of our converter output; transformers
   5.23 cannot load the FP8 folder itself on CPU without `accelerate`, and its Fp8Dequantize
   rejects partial blocks (rows % scale_rows != 0), so the bf16 route is the one checked), and
   runs `dsv3 quantize --to fp8` on the dequantized fp32 checkpoint and checks every FP8 tensor
   and scale is bit-identical to the torch quantization of step 2.
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
from transformers import DeepseekV3Config, DeepseekV3ForCausalLM

sys.path.insert(0, os.path.dirname(os.path.abspath(__file__)))
import make_fp8_refs  # noqa: E402
import make_tiny_models  # noqa: E402
import tiny_ref  # noqa: E402
import tiny_weights  # noqa: E402

CONFIG = {
    "architectures": ["DeepseekV3ForCausalLM"], "model_type": "deepseek_v3",
    "vocab_size": 256, "hidden_size": 256, "intermediate_size": 320,
    "moe_intermediate_size": 128, "num_hidden_layers": 2, "num_nextn_predict_layers": 0,
    "num_attention_heads": 2, "num_key_value_heads": 2, "q_lora_rank": 192,
    "kv_lora_rank": 128, "qk_nope_head_dim": 128, "qk_rope_head_dim": 64, "v_head_dim": 128,
    "n_routed_experts": 4, "n_shared_experts": 1, "num_experts_per_tok": 2,
    "n_group": 2, "topk_group": 1, "topk_method": "noaux_tc", "scoring_func": "sigmoid",
    "norm_topk_prob": True, "routed_scaling_factor": 2.5, "first_k_dense_replace": 1,
    "rope_theta": 10000,
    "rope_scaling": {"beta_fast": 32, "beta_slow": 1, "factor": 40, "mscale": 1.0,
                     "mscale_all_dim": 1.0, "original_max_position_embeddings": 4096,
                     "type": "yarn"},
    "bos_token_id": 0, "eos_token_id": 1, "torch_dtype": "bfloat16",
}
QCFG = {"activation_scheme": "dynamic", "fmt": "e4m3", "quant_method": "fp8",
        "weight_block_size": [128, 128]}
SPEC = {"router_std": 2.0, "head_std": 3.0, "bias_mean": -0.25, "bias_std": 0.3}
LINEAR_SUFFIXES = ("q_a_proj.weight", "q_b_proj.weight", "q_proj.weight",
                   "kv_a_proj_with_mqa.weight", "kv_b_proj.weight", "o_proj.weight",
                   "gate_proj.weight", "up_proj.weight", "down_proj.weight")
PROMPT_LENS = [1, 7, 23, 50]
MIN_SIGMOID_GAP = 1e-3   # routing margin in (sigmoid + bias) space
MIN_TOP1_GAP = 1e-2      # lm logit top1 - top2 at the last position of each prompt


def is_linear(name):
    return name.startswith("model.layers.") and name.endswith(LINEAR_SUFFIXES)


def prompts(vocab, seed):
    rng = np.random.default_rng(seed)
    return [[vocab - 1]] + [rng.integers(0, vocab, n).tolist() for n in PROMPT_LENS[1:]]


class Fp8GemmEmulation:
    """Context manager: torch.nn.functional.linear on a registered weight (by data_ptr) runs
    act_quant + fp8_gemm on that weight's e4m3 codes and block scales instead."""

    def __init__(self, model, fp8_state, n_experts):
        self.reg, self.calls, self.hit = {}, 0, set()
        for name, p in model.named_parameters():
            if name in fp8_state and name + "_scale_inv" in fp8_state:
                self.reg[p.data_ptr()] = (fp8_state[name], fp8_state[name + "_scale_inv"])
            elif name.endswith("mlp.experts.gate_up_proj"):
                pre = name[:-len("gate_up_proj")]
                for e in range(n_experts):
                    g, u = f"{pre}{e}.gate_proj.weight", f"{pre}{e}.up_proj.weight"
                    q = torch.cat([fp8_state[g].view(torch.uint8), fp8_state[u].view(torch.uint8)])
                    s = torch.cat([fp8_state[g + "_scale_inv"], fp8_state[u + "_scale_inv"]])
                    assert fp8_state[g].shape[0] % 128 == 0
                    self.reg[p[e].data_ptr()] = (q.view(torch.float8_e4m3fn), s)
            elif name.endswith("mlp.experts.down_proj"):
                pre = name[:-len("down_proj")]
                for e in range(n_experts):
                    d = f"{pre}{e}.down_proj.weight"
                    self.reg[p[e].data_ptr()] = (fp8_state[d], fp8_state[d + "_scale_inv"])
        self.orig = torch.nn.functional.linear

    def linear(self, x, w, b=None):
        hit = self.reg.get(w.data_ptr())
        if hit is None or tuple(hit[0].shape) != tuple(w.shape):
            return self.orig(x, w, b)
        self.calls += 1
        self.hit.add(w.data_ptr())
        shp = x.shape
        aq, a_s = make_fp8_refs.act_quant(x.reshape(-1, shp[-1]).float(), False)
        y = make_fp8_refs.fp8_gemm(aq, a_s, hit[0], hit[1])
        assert b is None
        return y.reshape(*shp[:-1], w.shape[0])

    def __enter__(self):
        torch.nn.functional.linear = self.linear
        return self

    def __exit__(self, *a):
        torch.nn.functional.linear = self.orig


def build(seed, out):
    tmp = tempfile.mkdtemp()
    try:
        make_tiny_models.write_config(tmp, CONFIG)
        config = DeepseekV3Config.from_pretrained(tmp)
        config._attn_implementation = "eager"
        torch.manual_seed(seed)
        model = DeepseekV3ForCausalLM(config).eval()
        gen = torch.Generator().manual_seed(seed)
        tiny_weights.perturb_(tiny_weights.trainable_tensors(model), gen, SPEC)
        state = make_tiny_models.hf_state_from_save(model, config.n_routed_experts,
                                                    config.moe_intermediate_size)
        fp8_state, deq_state = {}, {}
        for k, v in state.items():
            v = v.float()
            if is_linear(k):
                q, s = make_fp8_refs.block_quant(v)
                fp8_state[k], fp8_state[k + "_scale_inv"] = q, s
                deq_state[k] = make_fp8_refs.dequant(q, s)
            elif k.endswith("e_score_correction_bias"):
                fp8_state[k] = v
                deq_state[k] = v
            else:
                fp8_state[k] = v.to(torch.bfloat16)
                deq_state[k] = fp8_state[k].float()
        if os.path.exists(out):
            shutil.rmtree(out)
        os.makedirs(os.path.join(out, "ref"))
        cfg = dict(make_tiny_models.COMMON)
        cfg.update(CONFIG)
        cfg["quantization_config"] = QCFG
        with open(os.path.join(out, "config.json"), "w") as f:
            json.dump(cfg, f, indent=2, sort_keys=True)
            f.write("\n")
        save_file(fp8_state, os.path.join(out, "model.safetensors"), metadata={"format": "pt"})

        deq_dir = os.path.join(tmp, "deq")
        os.makedirs(deq_dir)
        make_tiny_models.write_config(deq_dir, dict(CONFIG, torch_dtype="float32"))
        save_file(deq_state, os.path.join(deq_dir, "model.safetensors"), metadata={"format": "pt"})
        # Eager experts (a per-expert F.linear loop), so the FP8 emulation below sees them.
        ref = DeepseekV3ForCausalLM.from_pretrained(deq_dir, dtype=torch.float32,
                                                    attn_implementation="eager",
                                                    experts_implementation="eager").eval()
        bias = {li: g.e_score_correction_bias.numpy().astype(np.float64)
                for li, g in tiny_ref.moe_gates(ref)}
        ps = prompts(CONFIG["vocab_size"], seed + 1)
        fails, outs = [], []
        for i, ids in enumerate(ps):
            logits, _, routers = tiny_ref.run_capture(ref, ids)
            experts, _, mins, _ = tiny_ref.check_routing(ref, routers, bias)
            for k, v in mins.items():
                if v < MIN_SIGMOID_GAP:
                    fails.append(f"prompt {i} routing margin {k}={v:.3g}")
            top = np.sort(logits, axis=1)
            gap = float((top[:, -1] - top[:, -2]).min())
            if gap < MIN_TOP1_GAP:
                fails.append(f"prompt {i} top1 gap {gap:.3g}")
            outs.append((logits, experts))
        if fails:
            return False, fails, None
        with open(os.path.join(out, "ref", "prompts.json"), "w") as f:
            json.dump({"prompts": ps}, f)
            f.write("\n")
        for i, (logits, experts) in enumerate(outs):
            np.save(os.path.join(out, "ref", f"logits_{i}.npy"), logits.astype(np.float32))
            np.save(os.path.join(out, "ref", f"experts_{i}.npy"), experts.astype(np.int32))
        with Fp8GemmEmulation(ref, fp8_state, CONFIG["n_routed_experts"]) as em:
            n_fp8 = sum(1 for k in fp8_state if k.endswith("_scale_inv"))
            n_fused = sum(1 for k in fp8_state if ".experts." in k and k.endswith("up_proj.weight"))
            assert len(em.reg) == n_fp8 - n_fused, (len(em.reg), n_fp8, n_fused)
            for i, ids in enumerate(ps):
                logits, _, _ = tiny_ref.run_capture(ref, ids)
                np.save(os.path.join(out, "ref", f"emul_logits_{i}.npy"), logits.astype(np.float32))
            assert em.hit == set(em.reg), "some FP8 projections were not emulated"
        emul_dev = []
        for i, (logits, _) in enumerate(outs):
            e = np.load(os.path.join(out, "ref", f"emul_logits_{i}.npy"))
            emul_dev.append((float(((e - logits) ** 2).sum()), float((logits ** 2).sum()),
                             float(np.abs(e - logits).max())))
        pick = ["model.layers.0.self_attn.kv_a_proj_with_mqa.weight",
                "model.layers.1.mlp.experts.0.down_proj.weight"]
        save_file({k: make_fp8_refs.dequant(fp8_state[k], fp8_state[k + "_scale_inv"])
                   .to(torch.bfloat16) for k in pick},
                  os.path.join(out, "ref", "cast_bf16.safetensors"))
        meta = {"seed": seed, "torch": torch.__version__,
                "transformers": __import__("transformers").__version__,
                "fp8_tensors": sum(1 for k in fp8_state if k.endswith("_scale_inv")),
                "max_abs_logit": float(max(np.abs(o[0]).max() for o in outs)),
                "torch_emul_vs_dequant_rel_rms": (sum(d[0] for d in emul_dev) /
                                                  sum(d[1] for d in emul_dev)) ** 0.5,
                "torch_emul_vs_dequant_max_abs": max(d[2] for d in emul_dev)}
        with open(os.path.join(out, "ref", "meta.json"), "w") as f:
            json.dump(meta, f, indent=2)
            f.write("\n")
        return True, meta, (deq_dir, fp8_state, tmp)
    except Exception:
        shutil.rmtree(tmp)
        raise


def check_with_dsv3(dsv3, out, deq_dir, fp8_state, tmp):
    bf = os.path.join(tmp, "bf16")
    subprocess.run([dsv3, "quantize", "-m", out, "-o", bf, "--to", "bf16"], check=True)
    hf = DeepseekV3ForCausalLM.from_pretrained(bf, dtype=torch.float32).eval()
    ids = torch.tensor([prompts(CONFIG["vocab_size"], 0)[2]])
    ref = np.load(os.path.join(out, "ref", "logits_0.npy"))
    print("transformers loaded dsv3 --to bf16 output; logits[0] shape", hf(ids).logits.shape,
          ref.shape)
    q8 = os.path.join(tmp, "q8")
    subprocess.run([dsv3, "quantize", "-m", deq_dir, "-o", q8, "--to", "fp8"], check=True)
    n = 0
    with safe_open(os.path.join(q8, "model.safetensors"), "pt") as f:
        for k in f.keys():
            if k in fp8_state and fp8_state[k].dtype in (torch.float8_e4m3fn, torch.float32) and \
                    (k.endswith("_scale_inv") or is_linear(k)):
                a, b = f.get_tensor(k), fp8_state[k]
                assert a.dtype == b.dtype and torch.equal(a.view(torch.uint8) if a.dtype != torch.float32
                                                          else a, b.view(torch.uint8) if b.dtype
                                                          != torch.float32 else b), k
                n += 1
    print(f"dsv3 quantize --to fp8 matches torch block quantization on {n} tensors")


def main():
    ap = argparse.ArgumentParser()
    ap.add_argument("--out", default=os.path.join(os.path.dirname(__file__), "..", "tests",
                                                   "data", "tiny-v3-fp8"))
    ap.add_argument("--dsv3", default=None)
    ap.add_argument("--seed", type=int, default=5000)
    a = ap.parse_args()
    for seed in range(a.seed, a.seed + 50):
        ok, info, extra = build(seed, a.out)
        if ok:
            print("seed", seed, info)
            if a.dsv3:
                check_with_dsv3(a.dsv3, a.out, *extra)
            shutil.rmtree(extra[2])
            return
        print("seed", seed, "rejected:", info[:3])
    raise SystemExit("no acceptable seed")


if __name__ == "__main__":
    main()
