// Multi-row MLA attention over a long latent cache (prefill chunks, at any depth): K/V
// decompressed per head with one matmul over the cache, scores and values as blocked matmuls.
#pragma once
#include <cstdint>
#include <vector>

#include "core/thread_pool.h"
#include "model/config.h"
#include "model/mla.h"
#include "model/model.h"

namespace dsv3 {

// Naive-form MLA attention (architecture.md §7.2) for every sequence's rows, its cache already
// holding them: q [R, H, d_qk] (RoPE applied), o [R, H, d_v]. Per (sequence, head):
//   [k_nope^T; v^T] = W_UKV[h] (as f32, [d_nope + d_v, r]) x c_kv^T  -> [d_nope + d_v, T]
// (c_kv read once per head as the matmul's weight operand, never packed), k_nope transposed
// next to k_pe into K [T, d_qk], then per block of up to 128 query rows: scores = q_blk K^T
// (one matmul), scale + causal softmax per row (zeros past the row's position), o_blk =
// scores V (one matmul with v^T). Scratch is bounded per head: about T * (2 r + d_qk + d_nope +
// d_v) floats plus a [block, T] score block, never a [R, T] matrix for all heads. Results do
// not depend on the thread count (every matmul and row softmax is split-invariant). kv_b_proj is
// read as f32 rows (exact for bf16 / f32; FP8 and GGUF rows dequantised), except under emulated
// FP8 GEMM, where c_kv goes through matmul with kv_b_proj for all heads at once (activation
// quantisation as DeepSeek's kernel; [T, H * (d_nope + d_v)] scratch).
void mla_prefill_attention(const ModelConfig& c, const AttentionWeights& w, int64_t layer,
                           const float* q, const std::vector<SeqRows>& seqs, float* o,
                           ThreadPool* pool);

// Rows per score block for a context of T keys: 128, fewer when T is so long that a
// [block, T] f32 block would pass 16 MiB (never below 16).
int64_t mla_prefill_row_block(int64_t T);

}  // namespace dsv3
