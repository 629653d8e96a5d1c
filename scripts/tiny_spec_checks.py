"""Checks of HF transformers' DeepSeek code against architecture.md semantics (no HF code reused).

- spec_softmax_scale(): §7.4  qk_head_dim^-1/2 * m^2, m = 0.1 * mscale_all_dim * ln(factor) + 1.
- spec_yarn_inv_freq(): §8.3 YaRN frequencies (fp32 pow like torch), and §8.4 cos/sin amplitude.
- check_rope(): HF's rotary application vs the interleaved-pair rotation of §8.2.
All return values go into ref/meta.json so a reader can see what was verified.
"""
import math

import numpy as np
import torch


def yarn_params(config):
    rp = dict(config.rope_parameters)
    return rp if rp.get("rope_type", rp.get("type")) == "yarn" else None


def spec_softmax_scale(config):
    scale = (config.qk_nope_head_dim + config.qk_rope_head_dim) ** -0.5
    rp = yarn_params(config)
    if rp and rp.get("mscale_all_dim") and rp["factor"] > 1:
        m = 0.1 * rp["mscale_all_dim"] * math.log(rp["factor"]) + 1.0
        scale *= m * m
    return scale


def spec_yarn_inv_freq(config):
    """(inv_freq float32 [d/2], amplitude a) per architecture.md §8.3/§8.4."""
    d = config.qk_rope_head_dim
    rp = dict(config.rope_parameters)
    theta = rp["rope_theta"]
    inv = (1.0 / (np.float32(theta) ** (np.arange(0, d, 2, dtype=np.float32) / np.float32(d))))
    inv = inv.astype(np.float32)
    if not yarn_params(config):
        return inv, 1.0
    s, L0 = rp["factor"], rp["original_max_position_embeddings"]
    bf, bs = rp.get("beta_fast", 32), rp.get("beta_slow", 1)

    def corr_dim(n):
        return d * math.log(L0 / (n * 2 * math.pi)) / (2 * math.log(theta))

    low = max(math.floor(corr_dim(bf)), 0)
    high = min(math.ceil(corr_dim(bs)), d - 1)
    if low == high:
        high += 0.001
    ramp = np.clip((np.arange(d // 2, dtype=np.float32) - low) / (high - low), 0, 1)
    ramp = ramp.astype(np.float32)
    extrap = 1.0 - ramp  # weight of the unscaled frequency
    inv_new = (inv / np.float32(s)) * (1 - extrap) + inv * extrap

    def gm(scale, m):
        return 1.0 if scale <= 1 else 0.1 * m * math.log(scale) + 1.0

    ms, msa = rp.get("mscale"), rp.get("mscale_all_dim")
    a = gm(s, ms) / gm(s, msa) if (ms and msa) else gm(s, 1.0)
    return inv_new.astype(np.float32), a


def rope_interleaved(x, pos, inv_freq, amp):
    """§8.2: pair (x[2i], x[2i+1]) rotated by pos*inv_freq_i (fp32 angle); cos/sin times amp."""
    x = np.asarray(x, np.float64)
    ang = (np.float32(pos) * inv_freq).astype(np.float32).astype(np.float64)
    c, s = np.cos(ang) * amp, np.sin(ang) * amp
    out = x.copy()
    out[..., 0::2] = x[..., 0::2] * c - x[..., 1::2] * s
    out[..., 1::2] = x[..., 0::2] * s + x[..., 1::2] * c
    return out


@torch.no_grad()
def check_rope(model):
    """Returns max |HF - spec| of the rotated q_pe / k_pe for random inputs at positions 0..63.

    HF V3 (rope_interleave true) outputs the rotated pairs in half-split layout ([even | odd]);
    scores are unchanged by that permutation as long as q and k use the same one, so the HF
    output is re-interleaved before comparing. HF V2 works on complex pairs (interleaved)."""
    cfg = model.config
    d = cfg.qk_rope_head_dim
    T = 64
    g = torch.Generator().manual_seed(0)
    q = torch.randn(1, 2, T, d, generator=g)
    k = torch.randn(1, 1, T, d, generator=g)
    pos = torch.arange(T)[None]
    inv, amp = spec_yarn_inv_freq(cfg)
    hf_inv = model.model.rotary_emb.inv_freq.numpy()
    inv_err = float(np.abs(hf_inv - inv).max() / np.abs(inv).max())
    if cfg.model_type == "deepseek_v3":
        from transformers.models.deepseek_v3 import modeling_deepseek_v3 as mv3
        cos, sin = model.model.rotary_emb(q, pos)
        assert cfg.rope_interleave, "tiny V3 checkpoints assume rope_interleave = true"
        hq, hk = mv3.apply_rotary_pos_emb_interleave(q, k, cos, sin)
        half = d // 2

        def reinter(t):
            o = torch.empty_like(t)
            o[..., 0::2], o[..., 1::2] = t[..., :half], t[..., half:]
            return o

        hq, hk = reinter(hq), reinter(hk)
        hf_amp = model.model.rotary_emb.attention_scaling
    else:
        from transformers.models.deepseek_v2 import modeling_deepseek_v2 as mv2
        fc = model.model.rotary_emb(q, pos)
        hq, hk = mv2.apply_rotary_emb(q, k, fc)
        hf_amp = model.model.rotary_emb.attention_scaling
    sq = rope_interleaved(q.numpy(), np.arange(T)[:, None], inv, amp)
    sk = rope_interleaved(k.numpy(), np.arange(T)[:, None], inv, amp)
    err = max(float(np.abs(hq.numpy() - sq).max()), float(np.abs(hk.numpy() - sk).max()))
    return {"rope_max_abs_err_vs_interleaved_spec": err, "inv_freq_rel_err": inv_err,
            "inv_freq": [float(v) for v in inv], "cos_sin_amplitude_spec": amp,
            "cos_sin_amplitude_hf": float(hf_amp)}
