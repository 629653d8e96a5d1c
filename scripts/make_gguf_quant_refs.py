#!/usr/bin/env python3
"""Reference data for dsv3's ggml block-quant dequantisation (tests/gguf_quants_test.cpp).

For each of Q8_0, Q4_0, Q4_1, Q4_K, Q5_K, Q6_K writes into tests/data/gguf_quants/:
  <type>.blocks.bin  raw ggml blocks (as they sit in a GGUF file)
  <type>.f32.bin     gguf-py's gguf.quants.dequantize of those blocks (little-endian float32)
Blocks come from two sources, concatenated:
  * gguf-py's own quantize() of random normal data, where gguf-py can quantize (Q8_0/Q4_0/Q4_1);
  * random bytes with the f16 scale fields replaced by random finite halves (every type; the
    K-quants have no quantizer in gguf-py) -- this covers every code value, e.g. Q8_0's -128.
The f16 scales are drawn from normal(0, 0.05) (plus a few exact zeros and subnormals).

Usage: /work/venv/bin/python scripts/make_gguf_quant_refs.py   (gguf pinned in requirements.txt)
"""
import os

import numpy as np
from gguf import GGMLQuantizationType as T
from gguf import GGML_QUANT_SIZES
from gguf.quants import dequantize, quantize

OUT = os.path.join(os.path.dirname(os.path.abspath(__file__)), "..", "tests", "data", "gguf_quants")

# type -> byte offsets of its f16 scale fields inside one block (ggml block structs)
SCALE_FIELDS = {
    T.Q8_0: [0],           # d, qs[32]
    T.Q4_0: [0],           # d, qs[16]
    T.Q4_1: [0, 2],        # d, m, qs[16]
    T.Q4_K: [0, 2],        # d, dmin, scales[12], qs[128]
    T.Q5_K: [0, 2],        # d, dmin, scales[12], qh[32], qs[128]
    T.Q6_K: [208],         # ql[128], qh[64], scales[16], d
}
N_QUANTIZED = 16   # blocks from gguf-py's quantize (block types with a quantizer)
N_RANDOM = {T.Q8_0: 16, T.Q4_0: 16, T.Q4_1: 16, T.Q4_K: 6, T.Q5_K: 6, T.Q6_K: 6}


def random_halves(rng, n):
    h = rng.normal(0.0, 0.05, size=n).astype(np.float16)
    h[rng.random(n) < 0.1] = 0.0
    sub = rng.random(n) < 0.1  # a few subnormal halves
    h[sub] = (rng.integers(1, 1024, size=int(sub.sum())) * 2.0**-24).astype(np.float16)
    assert np.all(np.isfinite(h))
    return h


def random_blocks(rng, qtype, n):
    block_elems, block_bytes = GGML_QUANT_SIZES[qtype]
    b = rng.integers(0, 256, size=(n, block_bytes), dtype=np.uint8)
    for off in SCALE_FIELDS[qtype]:
        b[:, off:off + 2] = random_halves(rng, n).view(np.uint8).reshape(n, 2)
    return b


def main():
    rng = np.random.default_rng(20261122)
    os.makedirs(OUT, exist_ok=True)
    for qtype in SCALE_FIELDS:
        block_elems, block_bytes = GGML_QUANT_SIZES[qtype]
        parts = []
        try:
            x = rng.normal(0.0, 1.0, size=(1, N_QUANTIZED * block_elems)).astype(np.float32)
            parts.append(quantize(x, qtype).reshape(-1, block_bytes))
        except NotImplementedError:
            pass  # K-quants: gguf-py only dequantizes
        parts.append(random_blocks(rng, qtype, N_RANDOM[qtype]))
        blocks = np.ascontiguousarray(np.concatenate(parts, axis=0))
        vals = dequantize(blocks.reshape(1, -1), qtype).astype(np.float32).reshape(-1)
        assert vals.size == blocks.shape[0] * block_elems and np.all(np.isfinite(vals))
        name = qtype.name
        blocks.tofile(os.path.join(OUT, f"{name}.blocks.bin"))
        vals.astype("<f4").tofile(os.path.join(OUT, f"{name}.f32.bin"))
        print(f"{name}: {blocks.shape[0]} blocks ({len(parts)} sources), {vals.size} values")


if __name__ == "__main__":
    main()
