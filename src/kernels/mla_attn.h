// Flash-style absorbed MLA attention for decode (architecture.md §7.3/§8): one query token,
// all heads, scored directly against the latent cache rows (c_kv | k_pe) in the cache's stored
// dtype (f32 or bf16), streamed once in small blocks with an online softmax (running max and
// sum per head, no score vector over the whole context), the attention-weighted latent
// accumulated in the same pass. Every cache row is read once per query for all heads.
//
// The context is cut into chunks whose boundaries depend only on its length
// (mla_attn_chunks); each chunk yields a partial (max, sum, weighted latent) per head, and the
// partials are merged in chunk order (mla_attn_combine). Chunks are the unit of thread
// parallelism, so results are bit-identical for any thread count.
#pragma once
#include <cstdint>

#include "core/dtype.h"
#include "core/tensor.h"

namespace dsv3::kernels {

// Rows [0, n) of one layer's latent cache as the kernel sees them: row_ptr(self, pos) points at
// `width` values of position pos stored as `dtype` (F32, BF16 or F16); rows are contiguous (stride
// width) within each aligned run of page_tokens positions, never across a page boundary.
struct LatentSource {
  const void* (*row_ptr)(const void* self, int64_t pos);
  const void* self;
  int64_t page_tokens;
  DType dtype;
  int64_t width;
  // Rows [0, rows) exist (0: only those a call is asked to read). A partial over [t0, t1) may
  // prefetch rows [t1, rows) during its last block, so the next chunk starts warm.
  int64_t rows = 0;
};

struct MlaAttnShape {
  int64_t H;      // heads
  int64_t r;      // kv_lora_rank (c_kv width = value width in latent space)
  int64_t dr;     // qk_rope_head_dim (k_pe width); width = r + dr
  float scale;    // softmax scale applied to q.k
};

// Rows per streamed block (the unit of the online-softmax update) of the fp32-FMA kernel; the
// bf16 kernel uses kMlaAttnMaxBlock.
constexpr int64_t kMlaAttnBlock = 32;
constexpr int64_t kMlaAttnMaxBlock = 128;

// The chunks of a context of T tokens (a function of T only): n chunks of near-equal length
// (so threads taking n / threads chunks each get equal work), boundaries on multiples of
// kMlaAttnMaxBlock (every block but a chunk's last is whole), none empty.
struct MlaChunks {
  int64_t n, T;
  int64_t begin(int64_t k) const {
    return k <= 0 ? 0 : k >= n ? T : (k * T / n) / kMlaAttnMaxBlock * kMlaAttnMaxBlock;
  }
  int64_t end(int64_t k) const { return begin(k + 1); }
};
MlaChunks mla_attn_chunks(int64_t T);

// Precision: f32 and f16 rows (f16 widened exactly) are attended in fp32. bf16 rows follow
// bf16 semantics, as DeepSeek's reference inference and HF in bf16 keep their cache and
// attention: the query and the softmax weights are rounded to bf16 (nearest even, denormals
// to zero), products are exact and sums fp32 (vdpbf16ps on AVX-512 BF16 CPUs, fp32 FMAs of
// the same values elsewhere; the orders differ, each is fixed).
//
// Partial attention of one query over positions [t0, t1) of `src`. qcat: [H, r + dr], per head
// the absorbed nope query (W_UK^T q_nope, r values) followed by q_pe (dr values). Writes
// m[h] (max scaled score), l[h] (sum of exp(score - m[h])) and acc[h, r] (sum of
// exp(score - m[h]) * c_kv). Single-threaded; AVX-512/AVX2/portable by kernels::current_isa().
void mla_attn_partial(const MlaAttnShape& s, const float* qcat, const LatentSource& src,
                      int64_t t0, int64_t t1, float* m, float* l, float* acc);

// Merges n_parts partials (m, l: [n_parts, H]; acc: [n_parts, H, r]) in part order into the
// normalised attention-weighted latent out[H, r] (only heads [h0, h1)).
void mla_attn_combine(const MlaAttnShape& s, int64_t n_parts, const float* m, const float* l,
                      const float* acc, int64_t h0, int64_t h1, float* out);

// Reference twin: plain two-pass softmax in double over rows [0, T), out[H, r] fp32; for bf16
// rows the query is rounded to bf16 first (the weights are not: their rounding depends on the
// kernel's running max, tests bound it instead).
void mla_attn_ref(const MlaAttnShape& s, const float* qcat, const LatentSource& src, int64_t T,
                  float* out);

// y[j] += sum_i a[i] * W[row0 + i, j] for i < n, j < W.cols(), summed in increasing i for
// every j (the absorbed query W_UK^T q). Any weight dtype (F32/BF16/F16 read in registers,
// others through weight_row).
void rows_axpy(const float* a, int64_t n, const TensorView& W, int64_t row0, float* y);

}  // namespace dsv3::kernels
