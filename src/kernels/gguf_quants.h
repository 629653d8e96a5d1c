// ggml block-quantised weights (GGUF tensor types Q8_0, Q4_0, Q4_1, Q4_K, Q5_K, Q6_K): scalar
// reference dequantisation and matrix products that use the blocks as stored.
//
// Block formats (ggml's block_* structs, little-endian; "f16" an IEEE half; values in order):
//   Q8_0 (32 values, 34 B): f16 d, int8 q[32]                   w = d * q
//   Q4_0 (32 values, 18 B): f16 d, u8 qs[16]                    w = d * (nib - 8)
//   Q4_1 (32 values, 20 B): f16 d, f16 m, u8 qs[16]             w = d * nib + m
//        (value l < 16 is the low nibble of qs[l], value 16 + l its high nibble)
//   Q4_K (256 values, 144 B): f16 d, f16 dmin, u8 scales[12], u8 qs[128]
//        8 sub-blocks of 32 with 6-bit scale sc_j and min m_j packed in `scales`
//        (j < 4: sc = s[j] & 63, m = s[j+4] & 63; j >= 4: sc = (s[j+4] & 15) | (s[j-4] >> 6) << 4,
//        m = (s[j+4] >> 4) | (s[j] >> 6) << 4); values 64c + l (l < 32) are the low nibbles of
//        qs[32c + l] (sub-block 2c), values 64c + 32 + l the high nibbles (sub-block 2c + 1);
//        w = (d * sc_j) * q - (dmin * m_j)
//   Q5_K (256 values, 176 B): f16 d, f16 dmin, u8 scales[12], u8 qh[32], u8 qs[128]: as Q4_K
//        with a fifth bit: value 32j + l adds 16 * ((qh[l] >> j) & 1)
//   Q6_K (256 values, 210 B): u8 ql[128], u8 qh[64], int8 scales[16], f16 d; value
//        128h + 32g + l (h < 2, g < 4, l < 32) has low 4 bits from ql[64h + 32(g & 1) + l]
//        (low nibble for g < 2, high for g >= 2) and high 2 bits (qh[32h + l] >> 2g) & 3;
//        w = (d * scales[v / 16]) * (q - 32)
//
// Matrix products (matmul_gguf, used by kernels::matmul for these dtypes): like llama.cpp's CPU
// path, the activations are quantised to 8 bits in the format ggml pairs with the weight type
// (its vec_dot_type), and the products are integer dot products. Exactly:
//   Q8_0, Q4_0, Q4_1 -> ggml's q8_0 / q8_1 (x86 build): per 32-block b, amax = max|x|,
//            dx_b = f16(amax / 127) (the scale as stored in fp16), xq_k = round_half_even(x_k *
//            (127 / amax)) (0 for an all-zero block; clamped to [-127, 127]), S_b = sum of xq,
//            and for q8_1 sx_b = f16(float(S_b) * (amax / 127)) (ggml's s = d * sum, fp16).
//   Q4_K, Q5_K, Q6_K -> ggml's q8_K: per 256-block, v = the first x of largest |x|, iscale =
//            -127 / v, xq_k = min(127, round_half_even(iscale * x_k)), dx = 1 / iscale (fp32;
//            0 and xq = 0 for an all-zero block); every 32- and 16-sub-block of it has that dx,
//            S the sum of its xq (ggml's bsums).
//   y[m, n] = tree16(acc), acc[16] lanes of fp32 starting at +0; for every block b of row n,
//            in increasing b, with lane = b % 16 and I_b the exact integer sum_k q_k * xq_k of
//            the block's integer codes q_k (Q4_0: nib - 8; Q8_0: q; Q4_1/Q4_K/Q5_K: the
//            unsigned code; Q6_K: q - 32):
//     Q8_0, Q4_0:  acc[lane] = fma(d_b * dx_b, float(I_b), acc[lane])
//     Q4_1:        acc[lane] = fma(d_b * dx_b, float(I_b), acc[lane]);
//                  acc[lane] = fma(m_b, sx_b, acc[lane])          (ggml: m * s)
//     Q4_K, Q5_K (b = 32-value sub-block):  acc[lane] = fma((d * sc_b) * dx_b, float(I_b), acc[lane]);
//                  acc[lane] = fma(-(dmin * m_b) * dx_b, float(S_b), acc[lane])
//     Q6_K (b = 16-value sub-block):  acc[lane] = fma((d * sc_b) * dx, float(I_b), acc[lane])
//   tree16(a) = ((s[0] + s[2]) + (s[1] + s[3])) with s[i] = (a[i] + a[i+8]) + (a[i+4] + a[i+12]),
//   i.e. pairwise halving: a[i] + a[i+8], then + [i+4], then + [i+2], then + [i+1].
// So the activation bytes and scales are ggml's, bit for bit; per block the integers are
// ggml's and the fp32 products equal ggml's up to the order of fp32 roundings (ggml sums the
// K-quant sub-blocks of a super-block as integers first and keeps its own lane order).
// The AVX-512 (VNNI), AVX2 and portable paths and matmul_gguf_ref all compute exactly this, so
// they agree bit for bit, for any thread count. Against the fp32 product with dequantised
// weights the extra error is the activation rounding: per value <= dx/2 (+ the fp16 rounding
// of dx, <= 127 * 2^-11 dx, for q8_0/q8_1; + |m_b| * 2^-10 |sx_b| per Q4_1 block).
#pragma once
#include <cstdint>
#include <vector>

#include "core/tensor.h"
#include "core/thread_pool.h"

namespace dsv3::kernels {

// Writes the n values (n a multiple of t's block size, else dsv3::Error) of the blocks at src
// as fp32, computed as ggml / gguf-py do (fp32 products in the order of the formulas above).
void dequantize_row_ref(DType t, const void* src, int64_t n, float* out);

// One activation row quantised to 8 bits (see above). K a multiple of 32.
struct Q8Row {
  const int8_t* q;     // [K]
  const float* d32;    // [K/32] dx_b
  const float* d16;    // [K/16] dx of the 32-block holding each 16-value half
  const int32_t* s32;  // [K/32] S_b
  const int32_t* s16;  // [K/16] S16_j
  const float* sx32;   // [K/32] sx_b (q8_1, for Q4_1 weights; else unset)
};
// Owns M quantised rows of length K.
struct Q8Acts {
  int64_t M = 0, K = 0;
  std::vector<int8_t> q;
  std::vector<float> d32, d16;
  std::vector<int32_t> s32, s16;
  std::vector<float> sx32;
  // Optional transposed copy for the packed prefill path (pack_acts16): rows in groups of 16
  // (the last group zero-padded), qt [M16/16][K/4][16][4], d32t / s32t [M16/16][K/32][16],
  // s16t [M16/16][K/16][16].
  int64_t M16 = 0;
  std::vector<int8_t> qt;
  std::vector<float> d32t;
  std::vector<int32_t> s32t, s16t;
  std::vector<float> sx32t;  // [M16/16][K/32][16]
  Q8Row row(int64_t m) const {
    return {q.data() + m * K, d32.data() + m * (K / 32), d16.data() + m * (K / 16),
            s32.data() + m * (K / 32), s16.data() + m * (K / 16),
            sx32.data() + m * (K / 32)};
  }
};
// Quantises x [M, K] into `out` (reusing its storage) as ggml does for products with weights of
// block type wt (see above): q8_0/q8_1 per 32-block for Q8_0/Q4_0/Q4_1 (K % 32 == 0), q8_K per
// 256-block for the K-quants (K % 256 == 0); else dsv3::Error.
void quantize_acts_q8(const float* x, int64_t M, int64_t K, Q8Acts* out, DType wt);
// Fills the transposed 16-row groups of `a` (same values, another layout).
void pack_acts16(Q8Acts* a);

// y[M, N] = x[M, K] W^T for a block-quantised W [N, K] (checked: 2-D, block type, K a multiple
// of the block size), computed as described above; threads split the N rows.
void matmul_gguf(const float* x, int64_t M, const TensorView& W, float* y, ThreadPool* pool);
// gate_up_silu for block-quantised gate/up weights: matmul_gguf of each, then silu_mul
// (bit-identical to doing that by hand).
void gate_up_silu_gguf(const float* x, const TensorView& Wg, const TensorView& Wu, float* h,
                       ThreadPool* pool);
// Scalar reference twin of matmul_gguf: the same math written from the block formats (integer
// codes taken straight from the format, natural order), one output at a time.
void matmul_gguf_ref(const float* x, int64_t M, const TensorView& W, float* y);

// Throws dsv3::Error naming `what` unless W is a 2-D block-quantised weight whose row length is
// a multiple of its block size (the precondition of every function here that takes a weight).
void check_gguf_weight(const TensorView& W, const char* what);

// Row r of a block-quantised 2-D weight as fp32 (dequantize_row_ref of that row).
void gguf_weight_row(const TensorView& W, int64_t r, float* out);

}  // namespace dsv3::kernels
