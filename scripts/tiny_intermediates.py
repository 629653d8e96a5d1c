"""Per-layer HF intermediates of one prompt, for locating the first divergence of an engine.

write_dump(model, ids, out_dir) writes <out_dir>/<l>_<name>.npy (f32, batch dim dropped) for every
main layer l, captured with forward hooks on HF's modules (values are HF's own, fp32 eager):
  attn_in    [T, D]        input_layernorm output
  c_q        [T, q_lora]   q_a_layernorm output (only when q_lora_rank is set)
  q          [T, H, dqk]   q_proj / q_b_proj output, per head [nope | rope], before RoPE
  kv_a       [T, r+dr]     kv_a_proj_with_mqa output [latent | k_pe raw]
  c_kv       [T, r]        kv_a_layernorm output (what the latent cache holds)
  q_pe       [T, H, dr]    q rope part after RoPE, INTERLEAVED pair layout (checkpoint layout)
  k_pe       [T, dr]       k rope part after RoPE, interleaved layout (what the cache holds)
  attn_out   [T, D]        o_proj output (before the residual add)
  ffn_in     [T, D]        post_attention_layernorm output
  router_logits [T, E]     MoE layers only: fp32 router logits W_g u
  ffn_out    [T, D]        dense MLP or MoE output (routed + shared, before the residual add)
HF V3 (rope_interleave) returns RoPE'd q/k in half-split layout [even pairs | odd pairs]; they are
converted back to interleaved here so they compare directly with a (2i, 2i+1) implementation.
"""
import os

import numpy as np
import torch
from transformers.models.deepseek_v2 import modeling_deepseek_v2 as mv2
from transformers.models.deepseek_v3 import modeling_deepseek_v3 as mv3


def _interleave(t):
    half = t.shape[-1] // 2
    o = torch.empty_like(t)
    o[..., 0::2], o[..., 1::2] = t[..., :half], t[..., half:]
    return o


@torch.no_grad()
def write_dump(model, ids, out_dir):
    cfg = model.config
    dn, H = cfg.qk_nope_head_dim, cfg.num_attention_heads
    v3 = cfg.model_type == "deepseek_v3"
    mod = mv3 if v3 else mv2
    rec, hooks = {}, []

    def save(key, batch=True, post=None):
        def hook(_m, _inp, out):
            t = out[0] if isinstance(out, tuple) else out
            t = t[0] if batch else t
            rec[key] = (post(t) if post else t).detach().float().clone()
        return hook

    layer_of_attn = {}
    for l, layer in enumerate(model.model.layers):
        a = layer.self_attn
        layer_of_attn[id(a)] = l
        hooks.append(layer.input_layernorm.register_forward_hook(save(f"{l}_attn_in")))
        if a.q_proj is None:
            hooks.append(a.q_a_layernorm.register_forward_hook(save(f"{l}_c_q")))
        qm = a.q_proj if a.q_proj is not None else a.q_b_proj
        hooks.append(qm.register_forward_hook(
            save(f"{l}_q", post=lambda t: t.view(t.shape[0], H, -1))))
        hooks.append(a.kv_a_proj_with_mqa.register_forward_hook(save(f"{l}_kv_a")))
        hooks.append(a.kv_a_layernorm.register_forward_hook(save(f"{l}_c_kv")))
        hooks.append(a.o_proj.register_forward_hook(save(f"{l}_attn_out")))
        hooks.append(layer.post_attention_layernorm.register_forward_hook(save(f"{l}_ffn_in")))
        gate = getattr(layer.mlp, "gate", None)
        if gate is not None and hasattr(gate, "top_k"):  # router output has no batch dim
            hooks.append(gate.register_forward_hook(save(f"{l}_router_logits", batch=False)))
        hooks.append(layer.mlp.register_forward_hook(save(f"{l}_ffn_out")))

    orig = mod.eager_attention_forward

    def capture_attention(module, query, key, value, attention_mask, scaling, **kw):
        l = layer_of_attn[id(module)]
        qpe, kpe = query[0, :, :, dn:].transpose(0, 1), key[0, 0, :, dn:]  # [T,H,dr], [T,dr]
        if v3 and cfg.rope_interleave:
            qpe, kpe = _interleave(qpe), _interleave(kpe)
        rec[f"{l}_q_pe"], rec[f"{l}_k_pe"] = qpe.float().clone(), kpe.float().clone()
        return orig(module, query, key, value, attention_mask, scaling, **kw)

    mod.eager_attention_forward = capture_attention
    try:
        out = model(torch.tensor([ids]), use_cache=False)
    finally:
        mod.eager_attention_forward = orig
        for h in hooks:
            h.remove()
    L = cfg.num_hidden_layers
    assert all(f"{l}_q_pe" in rec for l in range(L)), "attention capture did not run (not eager?)"
    os.makedirs(out_dir, exist_ok=True)
    for k, v in rec.items():
        np.save(os.path.join(out_dir, f"{k}.npy"), v.numpy().astype(np.float32))
    return out.logits[0].float().numpy(), sorted(rec)
