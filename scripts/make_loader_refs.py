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


if __name__ == "__main__":
    main()
