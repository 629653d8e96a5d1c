// Multi-row MLA attention over the latent cache as blocked matmuls (see mla_prefill.h).
#include "model/mla_prefill.h"

#include <algorithm>
#include <cmath>

#include "core/error.h"
#include "kernels/matmul_fp8.h"
#include "kernels/ops.h"
#include "runtime/kv_convert.h"

namespace dsv3 {

int64_t mla_prefill_row_block(int64_t T) {
  constexpr int64_t kMaxRows = 128, kMinRows = 16, kScoreFloats = int64_t(4) << 20;
  return std::clamp(kScoreFloats / std::max<int64_t>(T, 1), kMinRows, kMaxRows);
}

void mla_prefill_attention(const ModelConfig& c, const AttentionWeights& w, int64_t layer,
                           const float* q, const std::vector<SeqRows>& seqs, float* o,
                           ThreadPool* pool) {
  const int64_t H = c.num_attention_heads, dn = c.qk_nope_head_dim, dr = c.qk_rope_head_dim,
                dv = c.v_head_dim, dqk = c.qk_head_dim(), r = c.kv_lora_rank,
                W = c.latent_cache_width(), dkv = dn + dv;
  DSV3_CHECK(W == r + dr, "MLA prefill: cache width ", W, " != kv_lora_rank + rope dim ", r + dr);
  DSV3_CHECK(w.kv_b_proj.rows() == H * dkv && w.kv_b_proj.cols() == r, "MLA prefill: kv_b_proj ",
             shape_string(w.kv_b_proj), " is not [", H * dkv, ", ", r, "]");
  const float scale = float(c.softmax_scale());
  // Called from the forward's own thread only; grows to the longest context, then reused.
  thread_local std::vector<float> ckv, wkv, kvt, kcat, qb, sc, ob, kvb;
  // Emulated FP8 GEMM (DeepSeek's act_quant + fp8_gemm, kernels/matmul_fp8.h) quantises the
  // activations, here c_kv: decompress with kv_b_proj itself, all heads at once ([T, H * dkv],
  // the old naive layout), so the emulation stays faithful. Other weights are read as f32 rows.
  const bool emulate = w.kv_b_proj.dtype == DType::F8_E4M3 &&
                       kernels::fp8_gemm_mode() != kernels::Fp8GemmMode::kExact;
  for (const SeqRows& sq : seqs) {
    if (sq.n == 0) continue;
    const int64_t T = sq.start + sq.n;
    const KvCache& kc = *sq.cache;
    const KvWidenFn widen = kv_widen_fn(kc.dtype());
    const size_t es = dtype_size(kc.dtype());
    ckv.resize(size_t(T * r));
    kvt.resize(size_t(dkv * T));
    kcat.resize(size_t(T * dqk));
    wkv.resize(size_t(dkv * r));
    float* ckv_p = ckv.data();
    float* kcat_p = kcat.data();
    float* kvt_p = kvt.data();
    // c_kv rows contiguous (the matmul weight [T, r]); k_pe into K's last d_rope columns, shared
    // by every head; both read from the cache rows in their stored dtype, widened exactly.
    parallel_for(T * W < (int64_t(1) << 16) ? nullptr : pool, T, [&](int64_t t0, int64_t t1) {
      for (int64_t t = t0; t < t1; ++t) {
        const auto* row = static_cast<const uint8_t*>(kc.row_ptr(layer, t));
        widen(row, size_t(r), ckv_p + t * r);
        widen(row + size_t(r) * es, size_t(dr), kcat_p + t * dqk + dn);
      }
    }, 64);
    const TensorView ckv_v = make_view(DType::F32, ckv_p, {T, r});
    const TensorView k_v = make_view(DType::F32, kcat_p, {T, dqk});
    const TensorView vt_v = make_view(DType::F32, kvt_p + dn * T, {dv, T});
    if (emulate) {
      kvb.resize(size_t(T * H * dkv));
      kernels::matmul(ckv_p, T, w.kv_b_proj, kvb.data(), pool);
    }
    const int64_t MB = mla_prefill_row_block(T);
    qb.resize(size_t(std::min(sq.n, MB) * dqk));
    sc.resize(size_t(std::min(sq.n, MB) * T));
    ob.resize(size_t(std::min(sq.n, MB) * dv));
    for (int64_t h = 0; h < H; ++h) {
      // [k_nope^T; v^T] for head h: W_UKV[h] [dkv, r] times c_kv^T.
      if (emulate) {
        const float* kb = kvb.data() + h * dkv;
        for (int64_t t = 0; t < T; ++t)
          for (int64_t j = 0; j < dkv; ++j) kvt_p[j * T + t] = kb[t * H * dkv + j];
      } else {
        for (int64_t j = 0; j < dkv; ++j) kernels::weight_row(w.kv_b_proj, h * dkv + j, wkv.data() + j * r);
        kernels::matmul(wkv.data(), dkv, ckv_v, kvt_p, pool);
      }
      // k_nope^T [dn, T] -> K[:, :dn], 16 keys at a time (one cache line of each k_nope^T row).
      constexpr int64_t kTB = 16;
      parallel_for(T * dn < (int64_t(1) << 16) ? nullptr : pool, (T + kTB - 1) / kTB,
                   [&](int64_t b0, int64_t b1) {
                     for (int64_t b = b0; b < b1; ++b) {
                       const int64_t t0 = b * kTB, t1 = std::min(T, t0 + kTB);
                       for (int64_t j = 0; j < dn; ++j) {
                         const float* src = kvt_p + j * T;
                         for (int64_t t = t0; t < t1; ++t) kcat_p[t * dqk + j] = src[t];
                       }
                     }
                   });
      for (int64_t i0 = 0; i0 < sq.n; i0 += MB) {
        const int64_t i1 = std::min(sq.n, i0 + MB), M = i1 - i0;
        for (int64_t i = i0; i < i1; ++i) {
          const float* src = q + ((sq.row0 + i) * H + h) * dqk;
          std::copy(src, src + dqk, qb.data() + (i - i0) * dqk);
        }
        float* sc_p = sc.data();
        kernels::matmul(qb.data(), M, k_v, sc_p, pool);  // [M, T] raw scores
        parallel_for(M * T < (int64_t(1) << 14) ? nullptr : pool, M, [&](int64_t m0, int64_t m1) {
          for (int64_t m = m0; m < m1; ++m) {
            const int64_t n = sq.start + i0 + m + 1;  // causal: keys t < n
            float* row = sc_p + m * T;
            for (int64_t t = 0; t < n; ++t) row[t] *= scale;
            kernels::softmax(row, n);
            std::fill(row + n, row + T, 0.f);
          }
        });
        kernels::matmul(sc_p, M, vt_v, ob.data(), pool);  // [M, dv]
        for (int64_t i = i0; i < i1; ++i) {
          const float* src = ob.data() + (i - i0) * dv;
          std::copy(src, src + dv, o + ((sq.row0 + i) * H + h) * dv);
        }
      }
    }
  }
}

}  // namespace dsv3
