#!/usr/bin/env python3
"""Writes a random-weight Hugging Face checkpoint folder with the real widths of
DeepSeek-V2-Lite or DeepSeek-V3 (fewer layers), for benchmarks (`dsv3 bench`,
bench/vs_llamacpp.sh). Never for correctness tests: the weights are noise.

  python scripts/make_bench_model.py --preset v2-lite --layers 4 --dtype bf16 \
      --out /work/models/v2lite-4L-bf16

Weights are N(0, 0.02) (norms 1.0, router N(0, 0.02) so softmax routing spreads over the
experts), generated with numpy and streamed straight into safetensors shards (no HF model is
instantiated). --dtype fp8 stores every Linear inside the decoder layers (attention
projections, dense/shared/routed expert gate/up/down) as F8_E4M3 in DeepSeek's layout:
128x128 blocks, weight_scale_inv[ceil(out/128), ceil(in/128)] fp32 = block amax / 448,
weight = e4m3 * scale_inv; embeddings, lm_head, norms and the router stay bf16, and config.json
gets DeepSeek-V3's quantization_config. Models go outside the repository (e.g. /work/models).

Tokenizer: if --tokenizer-gguf names a llama.cpp vocab GGUF (default for v2-lite:
/work/shared/data/tokenizers/ggml-vocab-deepseek-llm.gguf, the DeepSeek-LLM/V2 tokenizer of
102400 tokens) its tokens and merges are written as tokenizer.json with DeepSeek-LLM's
pre-tokenizer, so llama.cpp's convert_hf_to_gguf.py recognises it ("deepseek-llm"); otherwise
a trivial byte-level tokenizer.json (256 byte tokens + BOS/EOS) is written.

Deviations from the real model are recorded in config.json under "dsv3_bench_model".
"""
import argparse
import json
import math
import os
import struct
import sys

import numpy as np

PRESETS = {
    # deepseek-ai/DeepSeek-V2-Lite config.json (27 layers).
    "v2-lite": dict(
        architectures=["DeepseekV2ForCausalLM"], model_type="deepseek_v2", vocab_size=102400,
        hidden_size=2048, intermediate_size=10944, moe_intermediate_size=1408,
        num_hidden_layers=27, num_attention_heads=16, num_key_value_heads=16, q_lora_rank=None,
        kv_lora_rank=512, qk_nope_head_dim=128, qk_rope_head_dim=64, v_head_dim=128,
        n_routed_experts=64, n_shared_experts=2, num_experts_per_tok=6, n_group=1,
        topk_group=1, topk_method="greedy", scoring_func="softmax", norm_topk_prob=False,
        routed_scaling_factor=1.0, first_k_dense_replace=1, moe_layer_freq=1,
        rms_norm_eps=1e-6, rope_theta=10000, max_position_embeddings=163840,
        rope_scaling=dict(type="yarn", factor=40, original_max_position_embeddings=4096,
                          beta_fast=32, beta_slow=1, mscale=0.707, mscale_all_dim=0.707),
        bos_token_id=100000, eos_token_id=100001, tie_word_embeddings=False,
        hidden_act="silu", attention_bias=False, aux_loss_alpha=0.001, ep_size=1,
        seq_aux=True, use_cache=True, torch_dtype="bfloat16", initializer_range=0.02),
    # deepseek-ai/DeepSeek-V3 config.json (61 layers, 1 MTP layer, omitted here).
    "v3": dict(
        architectures=["DeepseekV3ForCausalLM"], model_type="deepseek_v3", vocab_size=129280,
        hidden_size=7168, intermediate_size=18432, moe_intermediate_size=2048,
        num_hidden_layers=61, num_attention_heads=128, num_key_value_heads=128,
        q_lora_rank=1536, kv_lora_rank=512, qk_nope_head_dim=128, qk_rope_head_dim=64,
        v_head_dim=128, n_routed_experts=256, n_shared_experts=1, num_experts_per_tok=8,
        n_group=8, topk_group=4, topk_method="noaux_tc", scoring_func="sigmoid",
        norm_topk_prob=True, routed_scaling_factor=2.5, first_k_dense_replace=3,
        moe_layer_freq=1, rms_norm_eps=1e-6, rope_theta=10000, max_position_embeddings=163840,
        rope_scaling=dict(type="yarn", factor=40, original_max_position_embeddings=4096,
                          beta_fast=32, beta_slow=1, mscale=1.0, mscale_all_dim=1.0),
        bos_token_id=0, eos_token_id=1, tie_word_embeddings=False, hidden_act="silu",
        attention_bias=False, num_nextn_predict_layers=0, ep_size=1, use_cache=True,
        torch_dtype="bfloat16", initializer_range=0.02),
}

DEFAULT_GGUF = {"v2-lite": "/work/shared/data/tokenizers/ggml-vocab-deepseek-llm.gguf"}

# DeepSeek-LLM's pre-tokenizer (tokenizer.json of deepseek-ai/deepseek-llm-7b-base, the same
# splits as llama.cpp's LLAMA_VOCAB_PRE_TYPE_DEEPSEEK_LLM).
DEEPSEEK_LLM_SPLITS = [
    '[\r\n]',
    '\\s?[A-Za-z\xb5\xc0-\xd6\xd8-\xf6\xf8-\u01ba\u01bc-\u01bf\u01c4-\u0293\u0295-\u02af'
    '\u0370-\u0373\u0376\u0377\u037b-\u037d\u037f\u0386\u0388-\u038a\u038c\u038e-\u03a1'
    '\u03a3-\u03f5\u03f7-\u0481\u048a-\u052f\u0531-\u0556\u10a0-\u10c5\u13a0-\u13f5\u13f8-'
    '\u13fd\u1c90-\u1cba\u1cbd-\u1cbf\u1d00-\u1d2b\u1d6b-\u1d77\u1d79-\u1d9a\u1e00-\u1f15'
    '\u1f18-\u1f1d\u1f20-\u1f45\u1f48-\u1f4d\u1f50-\u1f57\u1f59\u1f5b\u1f5d\u1f5f-\u1f7d'
    '\u1f80-\u1fb4\u1fb6-\u1fbc\u1fbe\u1fc2-\u1fc4\u1fc6-\u1fcc\u1fd0-\u1fd3\u1fd6-\u1fdb'
    '\u1fe0-\u1fec\u1ff2-\u1ff4\u1ff6-\u1ffc\u2102\u2107\u210a-\u2113\u2115\u2119-\u211d'
    '\u2124\u2126\u2128\u212a-\u212d\u212f-\u2134\u2139\u213c-\u213f\u2145-\u2149\u214e'
    '\u2183\u2184\u2c00-\u2c7b\u2c7e-\u2ce4\u2ceb-\u2cee\u2cf2\u2cf3\ua640-\ua66d\ua680-'
    '\ua69b\ua722-\ua76f\ua771-\ua787\ua78b-\ua78e\uab70-\uabbf\ufb00-\ufb06\ufb13-\ufb17'
    '\uff21-\uff3a\uff41-\uff5a\U00010400-\U0001044f\U000104b0-\U000104d3\U000104d8-'
    '\U000104fb\U00010c80-\U00010cb2\U00010cc0-\U00010cf2\U000118a0-\U000118df\U0001e900-'
    '\U0001e943]+',
    '\\s?[!-/:-~\uff01-\uff0f\uff1a-\uff5e\u2018-\u201f\u3000-\u3002]+',
    '\\s+$',
    '[\u4e00-\u9fa5\u0800-\u4e00\uac00-\ud7ff]+',
]

STD = 0.02
E4M3_MAX = 448.0
SHARD_BYTES = 4 << 30


# ----------------------------------------------------------------------------- tensor list
def tensor_list(c):
    """(name, shape, kind) for every tensor; kind: 'emb', 'norm', 'linear', 'router', 'bias'."""
    D, H = c["hidden_size"], c["num_attention_heads"]
    dqk = c["qk_nope_head_dim"] + c["qk_rope_head_dim"]
    out = [("model.embed_tokens.weight", (c["vocab_size"], D), "emb")]
    for L in range(c["num_hidden_layers"]):
        p = f"model.layers.{L}."
        out += [(p + "input_layernorm.weight", (D,), "norm"),
                (p + "post_attention_layernorm.weight", (D,), "norm")]
        a = p + "self_attn."
        if c["q_lora_rank"]:
            out += [(a + "q_a_proj.weight", (c["q_lora_rank"], D), "linear"),
                    (a + "q_a_layernorm.weight", (c["q_lora_rank"],), "norm"),
                    (a + "q_b_proj.weight", (H * dqk, c["q_lora_rank"]), "linear")]
        else:
            out.append((a + "q_proj.weight", (H * dqk, D), "linear"))
        out += [(a + "kv_a_proj_with_mqa.weight", (c["kv_lora_rank"] + c["qk_rope_head_dim"], D),
                 "linear"),
                (a + "kv_a_layernorm.weight", (c["kv_lora_rank"],), "norm"),
                (a + "kv_b_proj.weight",
                 (H * (c["qk_nope_head_dim"] + c["v_head_dim"]), c["kv_lora_rank"]), "linear"),
                (a + "o_proj.weight", (D, H * c["v_head_dim"]), "linear")]
        moe = L >= c["first_k_dense_replace"] and L % c["moe_layer_freq"] == 0
        if not moe:
            I = c["intermediate_size"]
            out += [(p + "mlp.gate_proj.weight", (I, D), "linear"),
                    (p + "mlp.up_proj.weight", (I, D), "linear"),
                    (p + "mlp.down_proj.weight", (D, I), "linear")]
            continue
        E, I = c["n_routed_experts"], c["moe_intermediate_size"]
        out.append((p + "mlp.gate.weight", (E, D), "router"))
        if c["topk_method"] == "noaux_tc":
            out.append((p + "mlp.gate.e_score_correction_bias", (E,), "bias"))
        for e in range(E):
            q = f"{p}mlp.experts.{e}."
            out += [(q + "gate_proj.weight", (I, D), "linear"),
                    (q + "up_proj.weight", (I, D), "linear"),
                    (q + "down_proj.weight", (D, I), "linear")]
        if c["n_shared_experts"]:
            S = c["n_shared_experts"] * I
            q = p + "mlp.shared_experts."
            out += [(q + "gate_proj.weight", (S, D), "linear"),
                    (q + "up_proj.weight", (S, D), "linear"),
                    (q + "down_proj.weight", (D, S), "linear")]
    out += [("model.norm.weight", (D,), "norm"), ("lm_head.weight", (c["vocab_size"], D), "emb")]
    return out


def stored(name, shape, kind, fp8):
    """[(name, dtype, shape)] as stored: an fp8 Linear adds its weight_scale_inv."""
    if kind == "bias":
        return [(name, "F32", shape)]
    if fp8 and kind == "linear":
        sc = (math.ceil(shape[0] / 128), math.ceil(shape[1] / 128))
        return [(name, "F8_E4M3", shape), (name + "_scale_inv", "F32", sc)]
    return [(name, "BF16", shape)]


ITEMSIZE = {"BF16": 2, "F32": 4, "F8_E4M3": 1}


# ----------------------------------------------------------------------------- data
def to_bf16(x):
    """fp32 -> bf16 bits (round to nearest even) as uint16."""
    u = x.view(np.uint32)
    u = u + (np.uint32(0x7FFF) + ((u >> np.uint32(16)) & np.uint32(1)))
    return (u >> np.uint32(16)).astype(np.uint16)


def quant_fp8(w):
    """w fp32 [O, I] -> (e4m3 bytes [O, I], scale_inv fp32 [ceil(O/128), ceil(I/128)])."""
    import torch
    O, I = w.shape
    bo, bi = math.ceil(O / 128), math.ceil(I / 128)
    pad = np.zeros((bo * 128, bi * 128), np.float32)
    pad[:O, :I] = w
    blocks = np.abs(pad.reshape(bo, 128, bi, 128)).max(axis=(1, 3))
    scale = np.maximum(blocks / E4M3_MAX, 1e-12).astype(np.float32)
    q = pad / np.repeat(np.repeat(scale, 128, 0), 128, 1)
    q8 = torch.from_numpy(q[:O, :I].copy()).to(torch.float8_e4m3fn)
    return q8.view(torch.uint8).numpy(), scale


def make_data(rng, name, shape, kind, fp8):
    """[(bytes-like)] for the stored tensors of one checkpoint tensor, in stored() order."""
    if kind == "norm":
        return [to_bf16(np.ones(shape, np.float32))]
    if kind == "bias":  # V3 e_score_correction_bias: small, with negative values
        return [rng.standard_normal(shape, dtype=np.float32) * np.float32(0.01)]
    w = rng.standard_normal(shape, dtype=np.float32)
    w *= np.float32(STD)
    if fp8 and kind == "linear":
        q, s = quant_fp8(w)
        return [q, s]
    return [to_bf16(w)]


# ----------------------------------------------------------------------------- writing
def write_shards(out, entries, gen):
    """entries: [(name, dtype, shape, group)]; gen(group) -> list of arrays in order."""
    shards, cur, size = [], [], 0
    for e in entries:
        nb = ITEMSIZE[e[1]] * math.prod(e[2])
        if cur and size + nb > SHARD_BYTES:
            shards.append(cur)
            cur, size = [], 0
        cur.append(e)
        size += nb
    if cur:
        shards.append(cur)
    n = len(shards)
    weight_map, total = {}, 0
    pending = {}  # group -> remaining arrays (a group may span two shards)
    for si, sh in enumerate(shards):
        fname = "model.safetensors" if n == 1 else f"model-{si + 1:05d}-of-{n:05d}.safetensors"
        header, off = {}, 0
        for name, dt, shape, _ in sh:
            nb = ITEMSIZE[dt] * math.prod(shape)
            header[name] = {"dtype": dt, "shape": list(shape), "data_offsets": [off, off + nb]}
            off += nb
            weight_map[name] = fname
        hb = json.dumps(header, separators=(",", ":")).encode()
        hb += b" " * ((8 - len(hb) % 8) % 8)
        with open(os.path.join(out, fname), "wb") as f:
            f.write(struct.pack("<Q", len(hb)))
            f.write(hb)
            for name, dt, shape, group in sh:
                if group not in pending:
                    pending[group] = list(gen(group))
                arr = pending[group].pop(0)
                if not pending[group]:
                    del pending[group]
                b = np.ascontiguousarray(arr).view(np.uint8).reshape(-1)
                assert b.size == ITEMSIZE[dt] * math.prod(shape), name
                f.write(memoryview(b))
        total += off
        print(f"  wrote {fname} ({off / 2**30:.2f} GiB)", file=sys.stderr)
    if n > 1:
        with open(os.path.join(out, "model.safetensors.index.json"), "w") as f:
            json.dump({"metadata": {"total_size": total}, "weight_map": weight_map}, f, indent=1)
    return total


# ----------------------------------------------------------------------------- tokenizer
def read_gguf_vocab(path):
    """tokenizer.ggml.{tokens, merges, token_type} of a GGUF file (minimal reader, v2/v3)."""
    f = open(path, "rb")
    rd = lambda fmt: struct.unpack("<" + fmt, f.read(struct.calcsize("<" + fmt)))[0]
    rs = lambda: f.read(rd("Q")).decode("utf-8")
    assert f.read(4) == b"GGUF", path
    ver = rd("I")
    assert ver in (2, 3), f"{path}: GGUF version {ver}"
    rd("Q")
    n_kv = rd("Q")
    scalar = {0: "B", 1: "b", 2: "H", 3: "h", 4: "I", 5: "i", 6: "f", 7: "?", 10: "Q", 11: "q",
              12: "d"}

    def value(t):
        if t == 8:
            return rs()
        if t == 9:
            et, n = rd("I"), rd("Q")
            return [value(et) for _ in range(n)]
        return rd(scalar[t])

    kv = {}
    for _ in range(n_kv):
        k = rs()
        kv[k] = value(rd("I"))
    return kv


def deepseek_tokenizer(kv):
    tokens, merges, types = (kv["tokenizer.ggml.tokens"], kv["tokenizer.ggml.merges"],
                             kv["tokenizer.ggml.token_type"])
    added, vocab = [], {}
    for i, (t, ty) in enumerate(zip(tokens, types)):
        if ty == 3 or ty == 4:  # control / user-defined: added tokens
            added.append({"id": i, "content": t, "single_word": False, "lstrip": False,
                          "rstrip": False, "normalized": ty == 4, "special": ty == 3})
        vocab[t] = i
    bos = kv.get("tokenizer.ggml.bos_token_id")
    bos_tok = tokens[bos] if bos is not None else None
    pre = [{"type": "Split", "pattern": {"Regex": r}, "behavior": "Isolated", "invert": False}
           for r in DEEPSEEK_LLM_SPLITS]
    pre += [{"type": "Digits", "individual_digits": True},
            {"type": "ByteLevel", "add_prefix_space": False, "trim_offsets": True,
             "use_regex": False}]
    post = None
    if bos_tok is not None:
        post = {"type": "TemplateProcessing",
                "single": [{"SpecialToken": {"id": bos_tok, "type_id": 0}},
                           {"Sequence": {"id": "A", "type_id": 0}}],
                "pair": [{"SpecialToken": {"id": bos_tok, "type_id": 0}},
                         {"Sequence": {"id": "A", "type_id": 0}},
                         {"SpecialToken": {"id": bos_tok, "type_id": 1}},
                         {"Sequence": {"id": "B", "type_id": 1}}],
                "special_tokens": {bos_tok: {"id": bos_tok, "ids": [bos], "tokens": [bos_tok]}}}
    tok = {"version": "1.0", "truncation": None, "padding": None, "added_tokens": added,
           "normalizer": {"type": "Sequence", "normalizers": []},
           "pre_tokenizer": {"type": "Sequence", "pretokenizers": pre},
           "post_processor": post,
           "decoder": {"type": "ByteLevel", "add_prefix_space": True, "trim_offsets": True,
                       "use_regex": True},
           "model": {"type": "BPE", "dropout": None, "unk_token": None,
                     "continuing_subword_prefix": None, "end_of_word_suffix": None,
                     "fuse_unk": False, "byte_fallback": False, "ignore_merges": False,
                     "vocab": vocab, "merges": merges}}
    eos = kv.get("tokenizer.ggml.eos_token_id")
    cfg = {"add_bos_token": True, "add_eos_token": False, "bos_token": bos_tok,
           "eos_token": tokens[eos] if eos is not None else None, "clean_up_tokenization_spaces": False,
           "model_max_length": 16384, "tokenizer_class": "PreTrainedTokenizerFast", "legacy": True}
    return tok, cfg, bos, eos


def byte_tokenizer(c):
    """Trivial byte-level BPE: the 256 GPT-2 byte symbols, no merges, BOS/EOS at the config ids."""
    bs = list(range(ord("!"), ord("~") + 1)) + list(range(0xA1, 0xAD)) + list(range(0xAE, 0x100))
    cs, n = bs[:], 0
    for b in range(256):
        if b not in bs:
            bs.append(b)
            cs.append(256 + n)
            n += 1
    vocab = {chr(cv): b for b, cv in zip(bs, cs)}
    added = []
    for name, i in (("<bos>", c["bos_token_id"]), ("<eos>", c["eos_token_id"])):
        added.append({"id": i, "content": name, "single_word": False, "lstrip": False,
                      "rstrip": False, "normalized": False, "special": True})
        vocab[name] = i
    tok = {"version": "1.0", "truncation": None, "padding": None, "added_tokens": added,
           "normalizer": None,
           "pre_tokenizer": {"type": "ByteLevel", "add_prefix_space": False, "trim_offsets": True,
                             "use_regex": True},
           "post_processor": None, "decoder": {"type": "ByteLevel", "add_prefix_space": True,
                                               "trim_offsets": True, "use_regex": True},
           "model": {"type": "BPE", "dropout": None, "unk_token": None,
                     "continuing_subword_prefix": None, "end_of_word_suffix": None,
                     "fuse_unk": False, "byte_fallback": False, "ignore_merges": False,
                     "vocab": vocab, "merges": []}}
    cfg = {"bos_token": "<bos>", "eos_token": "<eos>", "tokenizer_class": "PreTrainedTokenizerFast",
           "model_max_length": 16384}
    return tok, cfg


# ----------------------------------------------------------------------------- main
def main():
    ap = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    ap.add_argument("--preset", choices=sorted(PRESETS), required=True)
    ap.add_argument("--layers", type=int, required=True, help="decoder layers (real: 27 / 61)")
    ap.add_argument("--dtype", choices=["bf16", "fp8"], default="bf16")
    ap.add_argument("--out", required=True, help="output folder (outside the repository)")
    ap.add_argument("--experts", type=int, default=0,
                    help="routed experts per MoE layer (default: the real count); fewer is "
                         "recorded in config.json as a deviation")
    ap.add_argument("--first-dense", type=int, default=-1,
                    help="first_k_dense_replace (default: the real value, capped at layers-1)")
    ap.add_argument("--tokenizer-gguf", default=None,
                    help="llama.cpp vocab GGUF to turn into tokenizer.json ('' = byte tokenizer)")
    ap.add_argument("--max-gib", type=float, default=24.0, help="refuse to write more than this")
    ap.add_argument("--seed", type=int, default=0)
    args = ap.parse_args()

    c = json.loads(json.dumps(PRESETS[args.preset]))
    notes = {"preset": args.preset, "random_weights_std": STD, "seed": args.seed,
             "real_num_hidden_layers": c["num_hidden_layers"]}
    if args.layers < 1:
        sys.exit("--layers must be >= 1")
    c["num_hidden_layers"] = args.layers
    fd = c["first_k_dense_replace"] if args.first_dense < 0 else args.first_dense
    if fd >= args.layers and args.first_dense < 0:
        fd = max(0, args.layers - 1)  # keep at least one MoE layer
    if fd != c["first_k_dense_replace"]:
        notes["real_first_k_dense_replace"] = c["first_k_dense_replace"]
    c["first_k_dense_replace"] = fd
    if args.experts:
        if args.experts < c["num_experts_per_tok"] or args.experts % c["n_group"]:
            sys.exit(f"--experts must be >= top-k {c['num_experts_per_tok']} and a multiple of "
                     f"n_group {c['n_group']}")
        if args.experts != c["n_routed_experts"]:
            notes["real_n_routed_experts"] = c["n_routed_experts"]
        c["n_routed_experts"] = args.experts
    fp8 = args.dtype == "fp8"
    if fp8:
        c["quantization_config"] = {"activation_scheme": "dynamic", "fmt": "e4m3",
                                    "quant_method": "fp8", "weight_block_size": [128, 128]}
    c["dsv3_bench_model"] = notes

    tensors = tensor_list(c)
    entries = []
    for gi, (name, shape, kind) in enumerate(tensors):
        for sname, dt, sshape in stored(name, shape, kind, fp8):
            entries.append((sname, dt, tuple(sshape), gi))
    total = sum(ITEMSIZE[dt] * math.prod(s) for _, dt, s, _ in entries)
    print(f"{args.preset}: {args.layers} layers ({fd} dense), {c['n_routed_experts']} experts, "
          f"{args.dtype}: {len(entries)} tensors, {total / 2**30:.2f} GiB", file=sys.stderr)
    if total > args.max_gib * 2**30:
        sys.exit(f"checkpoint would be {total / 2**30:.1f} GiB > --max-gib {args.max_gib}: use "
                 "fewer --layers or --experts")

    os.makedirs(args.out, exist_ok=True)
    rng = np.random.default_rng(args.seed)
    write_shards(args.out, entries, lambda gi: make_data(rng, *tensors[gi], fp8))

    gguf = DEFAULT_GGUF.get(args.preset) if args.tokenizer_gguf is None else args.tokenizer_gguf
    if gguf:
        kv = read_gguf_vocab(gguf)
        n_vocab = len(kv["tokenizer.ggml.tokens"])
        if n_vocab > c["vocab_size"]:
            sys.exit(f"{gguf}: {n_vocab} tokens > vocab_size {c['vocab_size']}")
        tok, tcfg, bos, eos = deepseek_tokenizer(kv)
        assert bos == c["bos_token_id"] and eos == c["eos_token_id"], (bos, eos)
        notes["tokenizer"] = f"tokens+merges of {os.path.basename(gguf)}, DeepSeek-LLM pre-tokenizer"
    else:
        tok, tcfg = byte_tokenizer(c)
        notes["tokenizer"] = "trivial byte-level (256 bytes + BOS/EOS)"
    with open(os.path.join(args.out, "tokenizer.json"), "w", encoding="utf-8") as f:
        json.dump(tok, f, ensure_ascii=False)
    with open(os.path.join(args.out, "tokenizer_config.json"), "w") as f:
        json.dump(tcfg, f, indent=1)
    with open(os.path.join(args.out, "config.json"), "w") as f:
        json.dump(c, f, indent=2)
    with open(os.path.join(args.out, "generation_config.json"), "w") as f:
        json.dump({"bos_token_id": c["bos_token_id"], "eos_token_id": c["eos_token_id"]}, f)
    print(f"wrote {args.out}", file=sys.stderr)


if __name__ == "__main__":
    main()
