#!/usr/bin/env python3
"""Reference data for the FP8 codecs, block quantizer and emulated FP8 GEMM (tests/data/fp8/).

Usage: /work/venv/bin/python scripts/make_fp8_refs.py [--out tests/data/fp8]

Everything here is computed by torch (version pinned in scripts/requirements.txt), never by dsv3:
  e4m3_decode.npy        f4 [256]    torch.float8_e4m3fn code -> float32 (NaN for 0x7f, 0xff)
  e4m3_encode_in.npy     f4 [N]      inputs: every e4m3 value, every midpoint (tie) and its fp32
                                     neighbours, subnormals, 448..480 overflow edge, inf/nan/±0,
                                     random magnitudes 2^-14..2^10
  e4m3_encode_out.npy    i4 [N]      x.to(torch.float8_e4m3fn) code
  e5m2_decode.npy / e5m2_encode_{in,out}.npy   same for torch.float8_e5m2
  ue8m0_in.npy / ue8m0_out.npy   f4  s -> 2^ceil(log2 s) as DeepSeek kernel.py (torch ops)
  quant_w.npy            f4 [576,160] random weight (partial 128-blocks in both dims, one all-zero
                                     block and one block with a huge outlier)
  quant_codes.npy        i4 [576,160] DeepSeek-style block quantization: s = amax/448 (fp32),
  quant_scales.npy       f4 [5,2]     q = (w / s).to(float8_e4m3fn); zero blocks get s = 1
  cast_bf16.npy          i4 [576,160] fp8_cast_bf16 of (codes, scales): bf16 bits of
                                     (q.float() * s).to(bfloat16)
  gemm_x.npy             f4 [M,K]     activations (one row with an all-zero 128-tile)
  gemm_w_codes.npy       i4 [N,K]     e4m3 weight codes, gemm_w_scales.npy f4 [ceil(N/128),K/128]
  gemm_exact.npy         f4 [M,N]     float64 x @ dequant(w).T (the plain FP8-weight matmul)
  gemm_emul.npy          f4 [M,N]     act_quant (1x128, amax clamped 1e-4, s = amax/448) +
                                     fp8_gemm (per-block fp32 dot * a_s * b_s, fp32 sum over
                                     blocks, bf16 output), DeepSeek inference/kernel.py semantics
  gemm_emul_ue8m0.npy    f4 [M,N]     same with scale_fmt = "ue8m0" activation scales
"""
import argparse
import os

import numpy as np
import torch

E4 = torch.float8_e4m3fn
E5 = torch.float8_e5m2


def codes_of(t):
    return t.view(torch.uint8).numpy().astype(np.int32)


def decode_all(dt):
    return torch.arange(256, dtype=torch.uint8).view(dt).float().numpy()


def encode_inputs(dt, seed):
    vals = decode_all(dt)
    fin = np.unique(vals[np.isfinite(vals)].astype(np.float64))
    mids = (fin[:-1] + fin[1:]) / 2  # exact in float32 for both formats
    f32 = lambda a: np.asarray(a, dtype=np.float32)  # noqa: E731
    mids32 = f32(mids)
    up = np.nextafter(mids32, np.float32(np.inf))
    dn = np.nextafter(mids32, np.float32(-np.inf))
    mx = float(fin.max())
    edge = [mx, np.nextafter(np.float32(mx), np.float32(np.inf)), 464.0, 470.0, 479.99, 480.0,
            481.0, 500.0, 1e4, 57344.0, 61439.0, 61440.0, 65535.0, 65536.0, 1e6, 3.4e38,
            np.inf, -np.inf, np.nan, 0.0, -0.0, 1e-45, -1e-45, 1e-38, 2.0 ** -10, 2.0 ** -17,
            2.0 ** -16 * 1.5, 2.0 ** -9 * 0.5, 2.0 ** -9 * 0.51, 2.0 ** -9 * 0.49]
    rng = np.random.default_rng(seed)
    rnd = rng.uniform(-1, 1, 8000) * np.exp2(rng.uniform(-18, 11, 8000))
    x = np.concatenate([f32(fin), mids32, up, dn, f32(edge), -f32(edge), f32(rnd)])
    return x.astype(np.float32)


def block_quant(w):
    """DeepSeek-layout 128x128 block quantization of a float32 [R, C] tensor (torch ops)."""
    R, C = w.shape
    br, bc = (R + 127) // 128, (C + 127) // 128
    q = torch.empty(R, C, dtype=E4)
    s = torch.empty(br, bc, dtype=torch.float32)
    for i in range(br):
        for j in range(bc):
            blk = w[i * 128:(i + 1) * 128, j * 128:(j + 1) * 128]
            amax = blk.abs().max()
            sc = amax / 448.0 if amax > 0 else torch.tensor(1.0)
            s[i, j] = sc
            q[i * 128:(i + 1) * 128, j * 128:(j + 1) * 128] = (blk / sc).to(E4)
    return q, s


def dequant(q, s):
    R, C = q.shape
    full = s.repeat_interleave(128, 0)[:R].repeat_interleave(128, 1)[:, :C]
    return q.float() * full


def act_quant(x, ue8m0):
    """inference/kernel.py act_quant over 1x128 tiles (last tile may be partial)."""
    M, K = x.shape
    nb = (K + 127) // 128
    q = torch.empty(M, K, dtype=E4)
    s = torch.empty(M, nb, dtype=torch.float32)
    for b in range(nb):
        t = x[:, b * 128:(b + 1) * 128]
        amax = t.abs().amax(dim=1).clamp(min=1e-4)
        sc = amax / 448.0
        if ue8m0:
            sc = torch.exp2(torch.ceil(torch.log2(sc)))
        s[:, b] = sc
        q[:, b * 128:(b + 1) * 128] = (t / sc[:, None]).to(E4)
    return q, s


def fp8_gemm(aq, a_s, bq, b_s):
    """C = A B^T with fp32 promotion every 128: sum_kb (dot_kb * a_s) * b_s, bf16 output."""
    M, K = aq.shape
    N = bq.shape[0]
    acc = torch.zeros(M, N, dtype=torch.float32)
    a = aq.float().double()
    b = bq.float().double()
    for kb in range((K + 127) // 128):
        # The 128-long dot of e4m3 products: computed exactly (float64) then rounded to fp32,
        # i.e. an ideal tensor-core accumulator; the C++ fp32 lane sums differ at ~1e-7.
        d = (a[:, kb * 128:(kb + 1) * 128] @ b[:, kb * 128:(kb + 1) * 128].T).float()
        bs = b_s[torch.arange(N) // 128, kb]
        acc += d * a_s[:, kb:kb + 1] * bs[None, :]
    return acc.to(torch.bfloat16).float()


def main():
    ap = argparse.ArgumentParser()
    ap.add_argument("--out", default=os.path.join(os.path.dirname(__file__), "..", "tests",
                                                   "data", "fp8"))
    out = ap.parse_args().out
    os.makedirs(out, exist_ok=True)
    save = lambda n, a: np.save(os.path.join(out, n), a)  # noqa: E731

    for name, dt, seed in (("e4m3", E4, 1), ("e5m2", E5, 2)):
        save(f"{name}_decode.npy", decode_all(dt).astype(np.float32))
        x = encode_inputs(dt, seed)
        save(f"{name}_encode_in.npy", x)
        save(f"{name}_encode_out.npy", codes_of(torch.from_numpy(x).to(dt)))

    rng = np.random.default_rng(5)
    s = np.concatenate([np.exp2(rng.uniform(-30, 10, 2000)), np.exp2(np.arange(-30, 10)),
                        [1e-4 / 448, 1.0, 0.75, 3.0, 2.0 ** -126, 2.0 ** -127]]).astype(np.float32)
    save("ue8m0_in.npy", s)
    save("ue8m0_out.npy", torch.exp2(torch.ceil(torch.log2(torch.from_numpy(s)))).numpy())

    g = torch.Generator().manual_seed(7)
    w = torch.randn(576, 160, generator=g) * 0.05
    w[128:256, 0:128] = 0.0            # all-zero block
    w[300, 150] = 40.0                 # outlier: the rest of its block goes subnormal / zero
    q, sc = block_quant(w)
    save("quant_w.npy", w.numpy())
    save("quant_codes.npy", codes_of(q))
    save("quant_scales.npy", sc.numpy())
    save("cast_bf16.npy", dequant(q, sc).to(torch.bfloat16).view(torch.int16).numpy()
         .astype(np.int32) & 0xffff)

    M, N, K = 5, 200, 320
    x = torch.randn(M, K, generator=g)
    x[2, 128:256] = 0.0                # zero tile: amax clamped to 1e-4
    x[3, :] *= 1e-3
    x[4, 5] = 300.0                    # outlier tile
    wq = (torch.randn(N, K, generator=g) * 2.0).to(E4)
    ws = torch.exp2(torch.randint(-12, -6, ((N + 127) // 128, (K + 127) // 128),
                                  generator=g).float()) * torch.rand(
        (N + 127) // 128, (K + 127) // 128, generator=g).add(1.0)
    save("gemm_x.npy", x.numpy())
    save("gemm_w_codes.npy", codes_of(wq))
    save("gemm_w_scales.npy", ws.numpy())
    save("gemm_exact.npy", (x.double() @ dequant(wq, ws).double().T).float().numpy())
    for ue, name in ((False, "gemm_emul.npy"), (True, "gemm_emul_ue8m0.npy")):
        aq, a_s = act_quant(x, ue)
        save(name, fp8_gemm(aq, a_s, wq, ws).numpy())
    print("wrote", out, "torch", torch.__version__)


if __name__ == "__main__":
    main()
