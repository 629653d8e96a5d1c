#!/usr/bin/env python3
"""Reference files for the safetensors / checkpoint-folder loader tests (tests/data/loader).

Written by the reference libraries themselves (safetensors 0.8.0, huggingface_hub), so the C++
reader is checked against files it did not write, and the C++ writer's output can be compared
byte for byte with the library's. Tensor values follow closed formulas that the C++ tests
recompute (all exactly representable in their dtypes).

Run: /work/venv/bin/python scripts/make_loader_refs.py   (from the repository root)
"""
import json
import os
import shutil

import torch
from huggingface_hub import save_torch_state_dict
from safetensors.torch import save_file

OUT = os.path.join(os.path.dirname(__file__), "..", "tests", "data", "loader")


def single_file_tensors():
    return {
        # value(i) = i * 0.25 - 1 over the flattened index
        "a.f32": (torch.arange(12, dtype=torch.float32) * 0.25 - 1).reshape(3, 4),
        # value(i) = i * 0.5 - 2
        "b.bf16": (torch.arange(10, dtype=torch.float32) * 0.5 - 2).to(torch.bfloat16).reshape(2, 5),
        # value(i) = i / 4 (odd element count: 14 bytes)
        "c.f16": (torch.arange(7, dtype=torch.float32) / 4).to(torch.float16),
        # FP8 E4M3 codes of 0.5, -1, 2, 448
        "d.f8": torch.tensor([0.5, -1.0, 2.0, 448.0]).to(torch.float8_e4m3fn),
        "e.i64": torch.tensor([1, -2, 3], dtype=torch.int64),
        "f.scalar": torch.tensor(3.5, dtype=torch.float32),
        "g.empty": torch.zeros(0, 3, dtype=torch.float32),
        "h.\u00fcn\u00efcode.weight": torch.tensor([7.0], dtype=torch.float32),
        "i.u8": torch.tensor([0, 1, 255], dtype=torch.uint8),
    }


def sharded_state_dict():
    sd = {}
    # value(i) = (i % 17) * 0.125 - 1 + layer, bf16; 48x40 per layer -> 3840 bytes each
    for layer in range(3):
        base = torch.arange(48 * 40, dtype=torch.float32)
        sd[f"model.layers.{layer}.mlp.weight"] = ((base % 17) * 0.125 - 1 + layer).to(
            torch.bfloat16).reshape(48, 40)
        sd[f"model.layers.{layer}.norm.weight"] = torch.full((40,), 1.0 + layer, dtype=torch.float32)
    sd["model.embed_tokens.weight"] = (torch.arange(30 * 40, dtype=torch.float32) % 9 - 4).reshape(30, 40)
    return sd


def main():
    os.makedirs(OUT, exist_ok=True)
    save_file(single_file_tensors(), os.path.join(OUT, "python_written.safetensors"),
              metadata={"format": "pt"})

    shard_dir = os.path.join(OUT, "sharded")
    shutil.rmtree(shard_dir, ignore_errors=True)
    os.makedirs(shard_dir)
    save_torch_state_dict(sharded_state_dict(), shard_dir, max_shard_size=6000,
                          metadata={"format": "pt"})
    with open(os.path.join(shard_dir, "config.json"), "w") as f:
        json.dump({"model_type": "deepseek_v3", "hidden_size": 40}, f, indent=2)
    print(sorted(os.listdir(shard_dir)))

    # A tensor above max_shard_size gets a shard of its own, placed before the shard being filled.
    big_dir = os.path.join(OUT, "sharded_big")
    shutil.rmtree(big_dir, ignore_errors=True)
    os.makedirs(big_dir)
    big = {"a": torch.arange(25, dtype=torch.float32),          # 100 bytes
           "b": torch.arange(1250, dtype=torch.float32) / 8,     # 5000 bytes
           "c": -torch.arange(25, dtype=torch.float32)}          # 100 bytes
    save_torch_state_dict(big, big_dir, max_shard_size=1000)
    print(sorted(os.listdir(big_dir)))

    # A folder as transformers' save_pretrained writes it (config.json, shards, index with
    # total_parameters/total_size, sort_keys formatting): the reference for io/hf_index.h.
    from transformers import DeepseekV3Config, DeepseekV3ForCausalLM
    torch.manual_seed(0)
    cfg = DeepseekV3Config(vocab_size=48, hidden_size=24, intermediate_size=40,
                           moe_intermediate_size=8, num_hidden_layers=2, num_attention_heads=2,
                           num_key_value_heads=2, n_routed_experts=4, n_shared_experts=1,
                           num_experts_per_tok=2, n_group=2, topk_group=1, first_k_dense_replace=1,
                           q_lora_rank=12, kv_lora_rank=8, qk_rope_head_dim=4, qk_nope_head_dim=4,
                           v_head_dim=4, max_position_embeddings=64, tie_word_embeddings=False)
    model = DeepseekV3ForCausalLM(cfg).to(torch.bfloat16)
    hf_dir = os.path.join(OUT, "hf_saved")
    shutil.rmtree(hf_dir, ignore_errors=True)
    model.save_pretrained(hf_dir, max_shard_size="8KB")
    for f in os.listdir(hf_dir):  # keep only what a checkpoint folder needs
        if f not in ("config.json", "model.safetensors.index.json") and not f.endswith(".safetensors"):
            os.remove(os.path.join(hf_dir, f))
    print(sorted(os.listdir(hf_dir)))

    # Non-ASCII and quote escaping and key order of the index, formatted by Python's json module
    # the way transformers formats model.safetensors.index.json.
    index = {"metadata": {"total_size": 10},
             "weight_map": {"\u00fcn\u00ef.w": "a.safetensors", "b\"q\\.w": "a.safetensors",
                            "Z.w": "b.safetensors", "\U0001f600.w": "b.safetensors"}}
    with open(os.path.join(OUT, "index_escapes.json"), "w", encoding="utf-8") as f:
        f.write(json.dumps(index, indent=2, sort_keys=True) + "\n")


if __name__ == "__main__":
    main()
