"""Reference outputs and sanity checks for the tiny random DeepSeek checkpoints.

- spec_route(): MoE routing re-implemented from architecture.md §10 (NOT from HF code), in
  float64 from HF's fp32 router logits; used to (a) check that HF's routing follows the DeepSeek
  semantics and (b) measure the decision margins (how far each top-k / group choice is from a tie).
- run_capture(): one HF forward with hooks on every MoE router: logits, hidden states, routing.
- greedy(): HF generate (greedy) plus a no-cache re-check of every step and its argmax margin.
"""
import numpy as np
import torch
from transformers import GenerationConfig


def _topk_desc(values, k):
    """Indices of the k largest values, ties -> lower index (stable)."""
    order = np.argsort(-values, kind="stable")
    return order[:k], order


def spec_route(logits, cfg, bias=None):
    """Routing of one token per architecture.md §10.1/§10.2.

    logits: [E] float (router logits W_g u). Returns dict with
      idx (sorted ascending), w (weights aligned with idx), margins (dict of gaps; each gap is
      between the last chosen and the first rejected candidate, in the space where the decision is
      taken, converted to logit units for softmax since softmax is monotone), neg_kept (True when
      fewer than K experts of the kept groups have a positive selection score, i.e. masking dropped
      groups with 0.0 instead of -inf would change the choice).
    """
    E, K = cfg["E"], cfg["K"]
    G, Gk = cfg["G"], cfg["Gk"]
    lg = logits.astype(np.float64)
    margins = {}
    neg_kept = False
    if cfg["scoring"] == "softmax":
        s = np.exp(lg - lg.max())
        s /= s.sum()
        sel = lg.copy()  # softmax is monotone: compare in logit space
        if cfg["method"] == "group_limited_greedy":
            gsc = sel.reshape(G, E // G).max(-1)  # group score = max (V2)
            kept, gorder = _topk_desc(gsc, Gk)
            margins["group"] = gsc[gorder[Gk - 1]] - gsc[gorder[Gk]]
            mask = np.zeros(G, bool)
            mask[kept] = True
            sel = np.where(np.repeat(mask, E // G), sel, -np.inf)
        elif cfg["method"] != "greedy":
            raise ValueError(cfg["method"])
        chosen, order = _topk_desc(sel, K)
        if np.isfinite(sel[order[K]]):
            margins["topk"] = sel[order[K - 1]] - sel[order[K]]
        w = s[chosen]
        if cfg["norm_topk_prob"] and cfg["model_type"] != "deepseek_v2":
            w = w / (w.sum() + 1e-20)
        w = w * cfg["rsf"]  # HF native V2: always x rsf (released V2 configs: norm_topk_prob false)
    elif cfg["scoring"] == "sigmoid":
        assert cfg["method"] == "noaux_tc"
        s = 1.0 / (1.0 + np.exp(-lg))
        c = s + bias.astype(np.float64)  # bias for selection only
        grp = np.sort(c.reshape(G, E // G), axis=-1)[:, ::-1]
        gsc = grp[:, 0] + grp[:, 1]  # group score = sum of top-2 (V3)
        kept, gorder = _topk_desc(gsc, Gk)
        margins["group"] = gsc[gorder[Gk - 1]] - gsc[gorder[Gk]]
        mask = np.repeat(np.isin(np.arange(G), kept), E // G)
        neg_kept = int((c[mask] > 0).sum()) < K
        sel = np.where(mask, c, -np.inf)  # official semantics: dropped groups at -inf
        chosen, order = _topk_desc(sel, K)
        if np.isfinite(sel[order[K]]):
            margins["topk"] = sel[order[K - 1]] - sel[order[K]]
        w = s[chosen]  # weights from the unbiased sigmoid
        if cfg["norm_topk_prob"]:
            w = w / (w.sum() + 1e-20)
        w = w * cfg["rsf"]
    else:
        raise ValueError(cfg["scoring"])
    perm = np.argsort(chosen)
    return {"idx": chosen[perm], "w": w[perm], "margins": margins, "neg_kept": neg_kept}


def route_cfg(config):
    """The routing fields of an HF config as a plain dict for spec_route."""
    mt = config.model_type
    scoring = getattr(config, "scoring_func", "sigmoid" if mt == "deepseek_v3" else "softmax")
    method = getattr(config, "topk_method", "noaux_tc" if mt == "deepseek_v3" else "greedy")
    return {"model_type": mt, "E": config.n_routed_experts, "K": config.num_experts_per_tok,
            "G": config.n_group or 1, "Gk": config.topk_group or 1, "scoring": scoring,
            "method": method, "norm_topk_prob": bool(config.norm_topk_prob),
            "rsf": float(config.routed_scaling_factor)}


def moe_gates(model):
    """[(layer index, router module)] for every MoE layer of an HF DeepSeek model."""
    out = []
    for i, layer in enumerate(model.model.layers):
        gate = getattr(layer.mlp, "gate", None)
        if gate is not None and hasattr(gate, "top_k"):
            out.append((i, gate))
    return out


@torch.no_grad()
def run_capture(model, ids):
    """Forward of one prompt. Returns logits [T,V], hidden [L+1,T,D] (HF output_hidden_states:
    [0] = embeddings, [l] = output of layer l-1 for l < L, [L] = final-norm output), and per MoE
    layer (router_logits [T,E], hf_weights [T,K], hf_idx [T,K])."""
    captured = []
    hooks = [g.register_forward_hook(lambda m, a, o: captured.append(
        tuple(t.detach().clone() for t in o))) for _, g in moe_gates(model)]
    try:
        out = model(torch.tensor([ids]), output_hidden_states=True, use_cache=False)
    finally:
        for h in hooks:
            h.remove()
    logits = out.logits[0].float().numpy()
    hidden = torch.stack([h[0] for h in out.hidden_states]).float().numpy()
    routers = [(c[0].float().numpy(), c[1].float().numpy(), c[2].numpy()) for c in captured]
    return logits, hidden, routers


def check_routing(model, routers, bias_by_layer):
    """Compares HF's routing with spec_route token by token; returns (experts [nL,T,K] int32,
    weights [nL,T,K] f32, min margins dict, number of tokens where 0.0-vs--inf masking matters)."""
    cfg = route_cfg(model.config)
    gates = moe_gates(model)
    assert len(routers) == len(gates), (len(routers), len(gates))
    experts, weights, mins, neg = [], [], {}, 0
    for (li, _), (rl, hw, hi) in zip(gates, routers):
        e_l, w_l = [], []
        for t in range(rl.shape[0]):
            r = spec_route(rl[t], cfg, bias_by_layer.get(li))
            hf_idx = np.sort(hi[t])
            if not np.array_equal(hf_idx, r["idx"]):
                raise AssertionError(
                    f"layer {li} token {t}: HF experts {hf_idx} != spec {r['idx']}")
            hf_w = hw[t][np.argsort(hi[t])]
            if not np.allclose(hf_w, r["w"], rtol=1e-5, atol=1e-6):
                raise AssertionError(f"layer {li} token {t}: HF weights {hf_w} != spec {r['w']}")
            for k, v in r["margins"].items():
                mins[k] = min(mins.get(k, np.inf), float(v))
            neg += int(r["neg_kept"])
            e_l.append(r["idx"])
            w_l.append(hf_w)
        experts.append(np.stack(e_l))
        weights.append(np.stack(w_l))
    return (np.stack(experts).astype(np.int32), np.stack(weights).astype(np.float32), mins, neg)


@torch.no_grad()
def greedy(model, ids, n_new):
    """HF generate (greedy, KV cache, no EOS stop) and a no-cache check of every step.

    Returns (new tokens int32 [n_new], min top1-top2 logit gap over the steps, full-sequence
    forward capture for routing checks, failure message or None)."""
    # An explicit all-ones attention_mask: otherwise generate() infers one from pad_token_id and
    # silently masks every prompt token equal to it (our prompts contain id 0).
    # No min_new_tokens and no EOS anywhere: generate() merges the model's generation_config
    # (eos_token_id) and min_new_tokens would then suppress EOS logits instead of taking argmax.
    gc = GenerationConfig(do_sample=False, max_new_tokens=n_new, eos_token_id=None,
                          pad_token_id=None, bos_token_id=None)
    saved = model.generation_config
    model.generation_config = GenerationConfig(do_sample=False)
    x = torch.tensor([ids])
    try:
        out = model.generate(x, attention_mask=torch.ones_like(x), generation_config=gc)
    finally:
        model.generation_config = saved
    new = out[0, len(ids):].numpy().astype(np.int32)
    assert len(new) == n_new, len(new)
    full = list(ids) + new.tolist()
    logits, hidden, routers = run_capture(model, full)
    steps = logits[len(ids) - 1: len(full) - 1]
    am = steps.argmax(-1)
    top2 = np.sort(steps, axis=-1)[:, -2:]
    gap = float((top2[:, 1] - top2[:, 0]).min())
    fail = None
    if not np.array_equal(am, new):
        bad = np.nonzero(am != new)[0]
        fail = f"generate (KV cache) differs from no-cache argmax at steps {bad}"
    return new, gap, (logits, hidden, routers), fail
