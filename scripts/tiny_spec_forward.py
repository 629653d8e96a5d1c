#!/usr/bin/env python3
"""Independent float64 forward pass of a DeepSeek checkpoint, written from
../shared/docs/architecture.md (§6-§11), NOT from transformers code; plus the MTP module (§11).

Usage: /work/venv/bin/python scripts/tiny_spec_forward.py tests/data/tiny-v3 [more dirs]

For each directory with ref/ (made by make_tiny_models.py) it
  - recomputes every prompt's logits, hidden states and routed experts in float64 and compares
    them with the HF fp32 reference (written to ref/spec_check.json; any expert mismatch or a
    logits difference above 1e-4 relative fails the script);
  - if the checkpoint has MTP layers (num_nextn_predict_layers > 0), writes for every prompt with
    T >= 2 tokens: ref/mtp_logits_<i>.npy f32 [T-1, V] and ref/mtp_experts_<i>.npy i32 [T-1, K]:
    row i is the MTP prediction of token i+2 from (h_i, t_{i+1}), where h_i is the main model's
    hidden state after model.norm (what is fed to lm_head), RoPE position i, concat order
    (enorm(emb), hnorm(h)), MTP layer run causally over the T-1 pairs, then shared_head.norm and
    shared_head.head (architecture.md §11.1, vLLM/SGLang convention).
"""
import json
import math
import os
import sys

import numpy as np
import torch
from safetensors import safe_open

sys.path.insert(0, os.path.dirname(os.path.abspath(__file__)))
import tiny_ref  # noqa: E402  (spec_route: routing per §10)

F64 = torch.float64
RECORD = None  # when a dict: layer intermediates named like tiny_intermediates ("<l>_<name>")
MARGINS = {}  # per MoE prefix: smallest routing decision gap seen (units as tiny_ref.spec_route)


class Ckpt:
    """config.json (either rope_scaling or rope_parameters spelling) + all tensors as float64."""

    def __init__(self, d):
        self.c = json.load(open(os.path.join(d, "config.json")))
        idx = os.path.join(d, "model.safetensors.index.json")
        files = (sorted(set(json.load(open(idx))["weight_map"].values()))
                 if os.path.exists(idx) else ["model.safetensors"])
        self.w = {}
        for fn in files:
            with safe_open(os.path.join(d, fn), "pt") as f:
                for k in f.keys():
                    self.w[k] = f.get_tensor(k).to(F64)

    def rope(self):
        c = self.c
        rp = dict(c.get("rope_scaling") or c.get("rope_parameters") or {})
        theta = c.get("rope_theta", rp.get("rope_theta", 10000.0))
        typ = rp.get("type", rp.get("rope_type", "default"))
        return rp, float(theta), typ == "yarn"


def rmsnorm(x, w, eps):
    return x / torch.sqrt((x * x).mean(-1, keepdim=True) + eps) * w


def yarn_tables(ck):
    """(inv_freq fp32 numpy [d/2], cos/sin amplitude, softmax scale) per §7.4, §8.3, §8.4."""
    c = ck.c
    d = c["qk_rope_head_dim"]
    rp, theta, yarn = ck.rope()
    inv = (1.0 / (np.float32(theta) ** (np.arange(0, d, 2, dtype=np.float32) / np.float32(d))))
    inv = inv.astype(np.float32)
    scale = (c["qk_nope_head_dim"] + d) ** -0.5
    amp = 1.0
    if yarn:
        s, L0 = float(rp["factor"]), rp["original_max_position_embeddings"]
        bf, bs = rp.get("beta_fast", 32), rp.get("beta_slow", 1)

        def corr(n):
            return d * math.log(L0 / (n * 2 * math.pi)) / (2 * math.log(theta))

        lo, hi = max(math.floor(corr(bf)), 0), min(math.ceil(corr(bs)), d - 1)
        if lo == hi:
            hi += 0.001
        ramp = np.clip((np.arange(d // 2) - lo) / (hi - lo), 0, 1).astype(np.float32)
        inv = (inv / np.float32(s) * ramp + inv * (1 - ramp)).astype(np.float32)

        def gm(sc, m):
            return 1.0 if sc <= 1 else 0.1 * m * math.log(sc) + 1.0

        ms, msa = rp.get("mscale"), rp.get("mscale_all_dim")
        amp = gm(s, ms) / gm(s, msa) if (ms and msa) else gm(s, 1.0)
        if msa and s > 1:
            scale *= gm(s, msa) ** 2
    return inv, amp, scale


def rope(x, pos, inv, amp):
    """Interleaved pairs (2i, 2i+1) rotated by fp32(pos) * inv_freq_i (§8.2); x [..., T, d]."""
    ang = torch.from_numpy((pos.astype(np.float32)[:, None] * inv[None, :]).astype(np.float32))
    ang = ang.to(F64)
    cs, sn = torch.cos(ang) * amp, torch.sin(ang) * amp
    a, b = x[..., 0::2], x[..., 1::2]
    out = torch.empty_like(x)
    out[..., 0::2] = a * cs - b * sn
    out[..., 1::2] = a * sn + b * cs
    return out


def mla(ck, p, x, pos, tabs):
    """Naive MLA (§7.1-7.2) over a whole causal sequence x [T, D]."""
    c, w = ck.c, ck.w
    H, dn, dr, dv, r = (c["num_attention_heads"], c["qk_nope_head_dim"], c["qk_rope_head_dim"],
                        c["v_head_dim"], c["kv_lora_rank"])
    eps = c.get("rms_norm_eps", 1e-6)
    T = x.shape[0]
    if c.get("q_lora_rank"):
        q = rmsnorm(x @ w[p + "q_a_proj.weight"].T, w[p + "q_a_layernorm.weight"], 1e-6)
        q = q @ w[p + "q_b_proj.weight"].T
    else:
        q = x @ w[p + "q_proj.weight"].T
    q = q.view(T, H, dn + dr).transpose(0, 1)  # [H, T, dqk]
    kv = x @ w[p + "kv_a_proj_with_mqa.weight"].T
    ckv = rmsnorm(kv[:, :r], w[p + "kv_a_layernorm.weight"], 1e-6)
    inv, amp, scale = tabs
    kpe = rope(kv[:, r:], pos, inv, amp)  # [T, dr] shared by all heads
    qpe = rope(q[..., dn:], pos, inv, amp)
    kvb = w[p + "kv_b_proj.weight"].view(H, dn + dv, r)
    knope = torch.einsum("hkr,tr->htk", kvb[:, :dn], ckv)
    v = torch.einsum("hvr,tr->htv", kvb[:, dn:], ckv)
    sc = (torch.einsum("hsk,htk->hst", q[..., :dn], knope)
          + torch.einsum("hsk,tk->hst", qpe, kpe)) * scale
    mask = torch.triu(torch.ones(T, T, dtype=torch.bool), 1)
    sc = sc.masked_fill(mask, -math.inf)
    o = torch.einsum("hst,htv->shv", torch.softmax(sc, -1), v).reshape(T, H * dv)
    del eps
    out = o @ w[p + "o_proj.weight"].T
    if RECORD is not None:
        li = p.split(".")[2]
        RECORD.update({f"{li}_c_kv": ckv, f"{li}_k_pe": kpe, f"{li}_q_pe": qpe.transpose(0, 1),
                       f"{li}_q": q.transpose(0, 1), f"{li}_attn_out": out})
    return out


def swiglu(w, p, x):
    g = x @ w[p + "gate_proj.weight"].T
    return (g * torch.sigmoid(g) * (x @ w[p + "up_proj.weight"].T)) @ w[p + "down_proj.weight"].T


def route_cfg(c):
    mt = c["model_type"]
    return {"model_type": mt, "E": c["n_routed_experts"], "K": c["num_experts_per_tok"],
            "G": c.get("n_group") or 1, "Gk": c.get("topk_group") or 1,
            "scoring": c.get("scoring_func", "sigmoid" if mt == "deepseek_v3" else "softmax"),
            "method": c.get("topk_method", "noaux_tc" if mt == "deepseek_v3" else "greedy"),
            "norm_topk_prob": bool(c.get("norm_topk_prob", False)),
            "rsf": float(c.get("routed_scaling_factor", 1.0))}


def moe(ck, p, x):
    """§10: routed experts (weights from spec_route) + shared experts; returns (y, experts)."""
    w, c = ck.w, ck.c
    rc = route_cfg(c)
    logits = (x @ w[p + "gate.weight"].T).numpy()
    bias = w.get(p + "gate.e_score_correction_bias")
    bias = bias.numpy() if bias is not None else None
    y = swiglu(w, p + "shared_experts.", x)
    chosen = []
    for t in range(x.shape[0]):
        r = tiny_ref.spec_route(logits[t], rc, bias)
        MARGINS.setdefault(p, {})
        for k, v in r["margins"].items():
            MARGINS[p][k] = min(MARGINS.setdefault(p, {}).get(k, math.inf), float(v))
        for e, g in zip(r["idx"], r["w"]):
            y[t] += float(g) * swiglu(w, f"{p}experts.{e}.", x[t:t + 1])[0]
        chosen.append(r["idx"])
    return y, np.stack(chosen)


def layer(ck, i, h, pos, tabs):
    c, w = ck.c, ck.w
    eps = c.get("rms_norm_eps", 1e-6)
    p = f"model.layers.{i}."
    h = h + mla(ck, p + "self_attn.", rmsnorm(h, w[p + "input_layernorm.weight"], eps), pos, tabs)
    u = rmsnorm(h, w[p + "post_attention_layernorm.weight"], eps)
    is_moe = (c.get("n_routed_experts") and i >= c.get("first_k_dense_replace", 0)
              and i % c.get("moe_layer_freq", 1) == 0)
    if is_moe:
        f, ex = moe(ck, p + "mlp.", u)
    else:
        f, ex = swiglu(w, p + "mlp.", u), None
    if RECORD is not None:
        RECORD.update({f"{i}_ffn_in": u, f"{i}_ffn_out": f})
    return h + f, ex


def forward(ck, ids):
    """Main model: (logits [T,V], hidden [L+1,T,D] like HF, experts [nMoE,T,K], final-norm h)."""
    c, w = ck.c, ck.w
    tabs = yarn_tables(ck)
    pos = np.arange(len(ids))
    h = w["model.embed_tokens.weight"][torch.tensor(ids)]
    hidden, experts = [h], []
    for i in range(c["num_hidden_layers"]):
        h, ex = layer(ck, i, h, pos, tabs)
        hidden.append(h)
        if ex is not None:
            experts.append(ex)
    hn = rmsnorm(h, w["model.norm.weight"], c.get("rms_norm_eps", 1e-6))
    hidden[-1] = hn  # HF convention: last entry after the final norm
    return hn @ w["lm_head.weight"].T, torch.stack(hidden), np.stack(experts), hn


def mtp(ck, ids, hn):
    """MTP depth 1 (§11.1) over pairs (hn[i], ids[i+1]), i = 0..T-2, positions 0..T-2."""
    c, w = ck.c, ck.w
    L, eps = c["num_hidden_layers"], c.get("rms_norm_eps", 1e-6)
    p = f"model.layers.{L}."
    e = w[p + "embed_tokens.weight"][torch.tensor(ids[1:])]
    x = torch.cat([rmsnorm(e, w[p + "enorm.weight"], eps),
                   rmsnorm(hn[:-1], w[p + "hnorm.weight"], eps)], -1) @ w[p + "eh_proj.weight"].T
    h, ex = layer(ck, L, x, np.arange(len(ids) - 1), yarn_tables(ck))
    logits = rmsnorm(h, w[p + "shared_head.norm.weight"], eps) @ w[p + "shared_head.head.weight"].T
    return logits, ex


@torch.no_grad()
def hf_mtp_logits(d, ids):
    """Cross-check: the same MTP computation with HF's own DeepseekV3DecoderLayer (fp32, eager)
    holding the layer-L tensors, HF rotary embedding and HF's main-model final hidden state."""
    import transformers
    from transformers import DeepseekV3ForCausalLM
    transformers.logging.set_verbosity_error()  # HF reports layer-L tensors as unexpected
    from transformers.models.deepseek_v3.modeling_deepseek_v3 import DeepseekV3DecoderLayer
    model = DeepseekV3ForCausalLM.from_pretrained(d, dtype=torch.float32,
                                                  attn_implementation="eager").eval()
    cfg = model.config
    L = cfg.num_hidden_layers
    p = f"model.layers.{L}."
    ck = {k[len(p):]: v for k, v in Ckpt(d).w.items() if k.startswith(p)}
    lay = DeepseekV3DecoderLayer(cfg, layer_idx=L).eval()
    E, inter = cfg.n_routed_experts, cfg.moe_intermediate_size
    sd = {}
    for k in lay.state_dict():
        if k == "mlp.experts.gate_up_proj":
            sd[k] = torch.stack([torch.cat([ck[f"mlp.experts.{e}.gate_proj.weight"],
                                            ck[f"mlp.experts.{e}.up_proj.weight"]])
                                 for e in range(E)])
        elif k == "mlp.experts.down_proj":
            sd[k] = torch.stack([ck[f"mlp.experts.{e}.down_proj.weight"] for e in range(E)])
        else:
            sd[k] = ck[k]
    lay.load_state_dict({k: v.float() for k, v in sd.items()})
    assert sd["mlp.experts.gate_up_proj"].shape[1] == 2 * inter
    x = torch.tensor([ids])
    hn = model(x, output_hidden_states=True).hidden_states[-1]  # after model.norm
    eps = cfg.rms_norm_eps
    w = {k: v.float() for k, v in ck.items()}
    e = model.model.embed_tokens(x[:, 1:])
    h = torch.cat([rmsnorm(e, w["enorm.weight"], eps), rmsnorm(hn[:, :-1], w["hnorm.weight"], eps)],
                  -1) @ w["eh_proj.weight"].T
    T = h.shape[1]
    pos = torch.arange(T)[None]
    cos_sin = model.model.rotary_emb(h, pos)
    mask = torch.full((T, T), torch.finfo(torch.float32).min).triu(1)[None, None]
    h = lay(h, attention_mask=mask, position_ids=pos, position_embeddings=cos_sin)
    h = h[0] if isinstance(h, tuple) else h
    return (rmsnorm(h, w["shared_head.norm.weight"], eps) @ w["shared_head.head.weight"].T)[0]


def check_dir(d):
    torch.set_num_threads(1)
    ck = Ckpt(d)
    rdir = os.path.join(d, "ref")
    prompts = json.load(open(os.path.join(rdir, "prompts.json")))["prompts"]
    report = {"what": "float64 forward written from architecture.md vs HF fp32 reference",
              "prompts": []}
    ok = True
    global RECORD
    for i, ids in enumerate(prompts):
        ddir = os.path.join(rdir, f"dump_{i}")
        RECORD = {} if os.path.isdir(ddir) else None
        logits, hidden, experts, hn = forward(ck, ids)
        rec, RECORD = RECORD, None
        hl = np.load(os.path.join(rdir, f"logits_{i}.npy"))
        hh = np.load(os.path.join(rdir, f"hidden_{i}.npy"))
        he = np.load(os.path.join(rdir, f"experts_{i}.npy"))
        rel = float(np.abs(logits.numpy() - hl).max() / np.abs(hl).max())
        hrel = float(np.abs(hidden.numpy() - hh).max() / np.abs(hh).max())
        same = bool(np.array_equal(experts, he))
        ok &= same and rel <= 1e-4
        entry = {"prompt": i, "T": len(ids), "logits_max_abs_rel": rel,
                 "hidden_max_abs_rel": hrel, "experts_equal": same}
        if rec is not None:  # HF per-layer dump vs spec, relative to each tensor's max
            worst = 0.0
            for k, v in rec.items():
                hv = np.load(os.path.join(ddir, f"{k}.npy"))
                worst = max(worst, float(np.abs(hv - v.numpy()).max() / np.abs(hv).max()))
            entry["dump_max_abs_rel"] = worst
            entry["dump_checked"] = len(rec)
            ok &= worst <= 1e-4
        if ck.c.get("num_nextn_predict_layers", 0) and len(ids) >= 2:
            ml, mex = mtp(ck, ids, hn)
            np.save(os.path.join(rdir, f"mtp_logits_{i}.npy"), ml.numpy().astype(np.float32))
            np.save(os.path.join(rdir, f"mtp_experts_{i}.npy"), mex.astype(np.int32))
            entry["mtp_logits_std"] = float(ml.std())
            hm = hf_mtp_logits(d, ids).numpy()
            entry["mtp_vs_hf_layer_max_abs_rel"] = float(np.abs(hm - ml.numpy()).max()
                                                         / np.abs(hm).max())
            ok &= entry["mtp_vs_hf_layer_max_abs_rel"] <= 1e-4
        report["prompts"].append(entry)
        print(d, entry)
    report["min_routing_margins_per_layer"] = dict(MARGINS)
    print(d, "routing margins", MARGINS)
    MARGINS.clear()
    with open(os.path.join(rdir, "spec_check.json"), "w") as f:
        json.dump(report, f, indent=2)
        f.write("\n")
    return ok


if __name__ == "__main__":
    results = [check_dir(d) for d in sys.argv[1:]]
    sys.exit(0 if all(results) else 1)
