"""Weight helpers for the tiny random DeepSeek checkpoints (see make_tiny_models.py).

- perturb_(): re-draws every parameter of a freshly built HF model so activations are O(1) and
  routing / greedy decisions have clear margins (HF's own init, std 0.02, gives near-uniform
  routers and near-flat logits).
- mtp_tensors(): the V3 multi-token-prediction layer `model.layers.{L}.*` (architecture.md §3.3,
  §11), built from an extra HF DeepseekV3DecoderLayer plus enorm/hnorm/eh_proj/shared_head and
  copies of the main embedding / lm_head. HF itself never reads these tensors.
- write_safetensors() / write_sharded(): single-file and index+shards layouts as published.
"""
import json
import math
import os

import torch
from safetensors.torch import save_file


def _normal(gen, shape, std, mean=0.0):
    return torch.randn(shape, generator=gen, dtype=torch.float32) * std + mean


def _uniform(gen, shape, lo, hi):
    return torch.rand(shape, generator=gen, dtype=torch.float32) * (hi - lo) + lo


def perturb_(named_params, gen, spec):
    """Re-draws parameters in place (name-based rules; names are HF module names).

    spec keys: router_std (std of router logits for unit-RMS input), head_std (std of lm logits),
    bias_mean / bias_std (V3 e_score_correction_bias).
    Linear weights [out, in] ~ N(0, 1/in) so every projection keeps O(1) activations; norm weights
    ~ U(0.6, 1.4) ("random around 1", so a loader that ignores a norm weight fails); embeddings
    ~ N(0, 1).
    """
    for name, p in named_params:
        shape = tuple(p.shape)
        if name.endswith("e_score_correction_bias"):
            new = _normal(gen, shape, spec["bias_std"], spec["bias_mean"])
        elif "norm" in name:  # every RMSNorm weight (layernorms, model.norm, enorm/hnorm, ...)
            new = _uniform(gen, shape, 0.6, 1.4)
        elif "embed_tokens" in name:
            new = _normal(gen, shape, 1.0)
        elif name.endswith("mlp.gate.weight"):  # router [E, D]
            new = _normal(gen, shape, spec["router_std"] / math.sqrt(shape[1]))
        elif name.endswith("lm_head.weight") or name.endswith("shared_head.head.weight"):
            new = _normal(gen, shape, spec["head_std"] / math.sqrt(shape[1]))
        elif name.endswith("experts.gate_up_proj"):  # fused [E, 2I, D]
            new = _normal(gen, shape, 1.0 / math.sqrt(shape[2]))
        elif name.endswith("experts.down_proj"):  # fused [E, D, I]
            new = _normal(gen, shape, 1.0 / math.sqrt(shape[2]))
        elif p.dim() == 2:  # nn.Linear [out, in]
            new = _normal(gen, shape, 1.0 / math.sqrt(shape[1]))
        else:
            raise ValueError(f"perturb_: no rule for parameter {name} {shape}")
        with torch.no_grad():
            p.copy_(new)


def trainable_tensors(module):
    """Parameters plus the persistent e_score_correction_bias buffers (not rotary inv_freq)."""
    out = list(module.named_parameters())
    out += [(n, b) for n, b in module.named_buffers() if n.endswith("e_score_correction_bias")]
    return out


def unfuse_layer_state(prefix, layer_state, n_experts, moe_inter):
    """Converts an HF v5 decoder-layer state dict (fused experts) to checkpoint names.

    HF v5 keeps experts as gate_up_proj [E, 2I, D] (gate rows first, then up) and down_proj
    [E, D, I]; published checkpoints store mlp.experts.{e}.{gate,up,down}_proj.weight.
    """
    out = {}
    for k, v in layer_state.items():
        if k.endswith("experts.gate_up_proj"):
            base = k[: -len("gate_up_proj")]
            for e in range(n_experts):
                out[f"{prefix}{base}{e}.gate_proj.weight"] = v[e, :moe_inter].clone()
                out[f"{prefix}{base}{e}.up_proj.weight"] = v[e, moe_inter:].clone()
        elif k.endswith("experts.down_proj"):
            base = k[: -len("down_proj")]
            for e in range(n_experts):
                out[f"{prefix}{base}{e}.down_proj.weight"] = v[e].clone()
        else:
            out[prefix + k] = v.detach().clone()
    return out


def mtp_tensors(config, layer_cls, main_state, gen, spec):
    """Tensors of the MTP module at layer index L = num_hidden_layers (architecture.md §3.3).

    A complete MoE decoder layer (drawn with the same rules as the main layers) plus
    enorm / hnorm [D], eh_proj [D, 2D] (input = concat(enorm(emb), hnorm(h)), embedding half
    first), shared_head.norm [D], and exact copies of model.embed_tokens / lm_head as
    embed_tokens / shared_head.head.
    """
    L = config.num_hidden_layers
    D = config.hidden_size
    layer = layer_cls(config, layer_idx=L)
    perturb_(trainable_tensors(layer), gen, spec)
    prefix = f"model.layers.{L}."
    out = unfuse_layer_state(prefix, layer.state_dict(), config.n_routed_experts,
                             config.moe_intermediate_size)
    out[prefix + "enorm.weight"] = _uniform(gen, (D,), 0.6, 1.4)
    out[prefix + "hnorm.weight"] = _uniform(gen, (D,), 0.6, 1.4)
    out[prefix + "eh_proj.weight"] = _normal(gen, (D, 2 * D), 1.0 / math.sqrt(2 * D))
    out[prefix + "shared_head.norm.weight"] = _uniform(gen, (D,), 0.6, 1.4)
    out[prefix + "embed_tokens.weight"] = main_state["model.embed_tokens.weight"].clone()
    out[prefix + "shared_head.head.weight"] = main_state["lm_head.weight"].clone()
    return out


def cast_for_file(state, dtype):
    """Casts every tensor to `dtype` except e_score_correction_bias, which stays F32 (as in V3)."""
    out = {}
    for k, v in state.items():
        v = v.detach().contiguous()
        out[k] = v if k.endswith("e_score_correction_bias") else v.to(dtype).contiguous()
    return out


def write_safetensors(path, state):
    save_file(state, path, metadata={"format": "pt"})


def write_sharded(dirpath, state, n_shards):
    """Writes model-0000i-of-0000N.safetensors + model.safetensors.index.json (HF layout).

    Tensors are distributed in sorted-name order, split into n_shards runs of roughly equal bytes.
    """
    names = sorted(state)
    total = sum(state[n].numel() * state[n].element_size() for n in names)
    target = total / n_shards
    shards, cur, cur_bytes = [], [], 0
    for n in names:
        nb = state[n].numel() * state[n].element_size()
        if cur and cur_bytes + nb > target and len(shards) < n_shards - 1:
            shards.append(cur)
            cur, cur_bytes = [], 0
        cur.append(n)
        cur_bytes += nb
    shards.append(cur)
    weight_map = {}
    for i, group in enumerate(shards):
        fname = f"model-{i + 1:05d}-of-{len(shards):05d}.safetensors"
        write_safetensors(os.path.join(dirpath, fname), {n: state[n] for n in group})
        for n in group:
            weight_map[n] = fname
    index = {"metadata": {"total_size": total}, "weight_map": weight_map}
    with open(os.path.join(dirpath, "model.safetensors.index.json"), "w") as f:
        json.dump(index, f, indent=2, sort_keys=True)
        f.write("\n")
    return len(shards)
