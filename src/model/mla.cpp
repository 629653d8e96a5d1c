// MLA forward: projections, latent cache write, naive and absorbed attention.
#include "model/mla.h"

#include <algorithm>
#include <cmath>
#include <vector>

#include "core/error.h"
#include "io/npy.h"
#include "kernels/mla_attn.h"
#include "kernels/ops.h"
#include "model/ggml_act_round.h"
#include "model/mla_prefill.h"
#include "model/scratch.h"

namespace dsv3 {

namespace {

// Rows [r0, r0 + n) of a 2-D weight as its own view (rows are contiguous in memory).
TensorView row_slice(const TensorView& W, int64_t r0, int64_t n) {
  TensorView v = W;
  v.shape[0] = n;
  v.data = static_cast<const uint8_t*>(W.data) + size_t(r0) * size_t(W.cols()) * dtype_size(W.dtype);
  if (W.block_scale) {  // FP8 (issue 5): slice whole 128-row scale blocks
    DSV3_CHECK(r0 % 128 == 0, "FP8 kv_b_proj: absorbed MLA needs d_nope % 128 == 0, row ", r0);
    v.block_scale = W.block_scale + (r0 / 128) * ((W.cols() + 127) / 128);
  }
  return v;
}

// y[j] = W[r0 + j, :] . x for j < n. Block-aligned (or non-FP8) row ranges use the matmul
// kernel on a slice; an FP8 range that starts inside a 128-row scale block (small models whose
// d_nope is not a multiple of 128) is read row by row with its block scales.
void rows_matvec(const TensorView& W, int64_t r0, int64_t n, const float* x, float* y) {
  if (!W.block_scale || r0 % 128 == 0) {
    kernels::matmul(x, 1, row_slice(W, r0, n), y, nullptr);
    return;
  }
  float* row = scratch_floats(Scratch::kMlaRow, size_t(W.cols()));
  for (int64_t j = 0; j < n; ++j) {
    kernels::weight_row(W, r0 + j, row);
    y[j] = kernels::dot(row, x, W.cols());
  }
}

// One (sequence, layer) of the latent cache as the attention kernel's row source.
struct CacheLayer {
  const KvCache* cache;
  int64_t layer;
};

const void* cache_row(const void* self, int64_t pos) {
  const auto* cl = static_cast<const CacheLayer*>(self);
  return cl->cache->row_ptr(cl->layer, pos);
}

// A piece of absorbed attention: query row s (context T) over chunk [t0, t1), partial `part`.
struct AttnItem {
  int64_t s, seq, t0, t1, part, T;
};

// Absorbed attention for every query row (architecture.md §7.3): q_abs = W_UK^T q_nope per head,
// scores against the latent cache in its stored dtype, streamed in blocks with an online
// softmax for all heads at once (kernels/mla_attn.h), chunk partials merged in a fixed order,
// then W_UV per head. q: [R, H, d_qk] (RoPE applied), o: [R, H, d_v]. The work split never
// changes a bit: each chunk, head and row is computed the same way on any thread.
void absorbed_attention(const ModelConfig& c, const AttentionWeights& w, int64_t layer,
                        const float* q, int64_t R, const std::vector<SeqRows>& seqs, float* o,
                        ThreadPool* pool) {
  const int64_t H = c.num_attention_heads, dn = c.qk_nope_head_dim, dr = c.qk_rope_head_dim,
                dv = c.v_head_dim, dqk = c.qk_head_dim(), r = c.kv_lora_rank, W = r + dr;
  const kernels::MlaAttnShape shape{H, r, dr, float(c.softmax_scale())};
  // GGUF split layout under ggml_numerics: the stored types of attn_k_b / attn_v_b, whose
  // vec_dot_type ggml rounds q_nope and the attended latent to (F32: no rounding).
  const bool gr = c.ggml_numerics && size_t(layer) < c.ggml_k_b_type.size() && size_t(layer) < c.ggml_v_b_type.size();
  const DType kb_type = gr ? c.ggml_k_b_type[size_t(layer)] : DType::F32;
  const DType vb_type = gr ? c.ggml_v_b_type[size_t(layer)] : DType::F32;
  DSV3_CHECK(kb_type == DType::F32 || (dn <= 512 && r <= 512), "MLA: ggml rounding needs d_nope, r <= 512");
  // Query absorption: qcat[s, h] = [W_UK[h]^T q_nope[s, h] | q_pe[s, h]].
  float* qcat = scratch_floats(Scratch::kMlaQcat, size_t(R * H * W));
  ThreadPool* qpool = R * H * dn * r < (int64_t(1) << 16) ? nullptr : pool;
  parallel_for(qpool, R * H, [&](int64_t i0, int64_t i1) {
    for (int64_t item = i0; item < i1; ++item) {
      const int64_t h = item % H;
      const float* qh = q + item * dqk;
      float* qc = qcat + item * W;
      std::fill(qc, qc + r, 0.f);
      if (kb_type != DType::F32) {  // ggml_numerics: q_nope as ggml's vec_dot_type of attn_k_b holds it
        float qn[512];
        std::copy(qh, qh + dn, qn);
        ggml_round_for_weight(kb_type, qn, dn);
        kernels::rows_axpy(qn, dn, w.kv_b_proj, h * (dn + dv), qc);
      } else {
        kernels::rows_axpy(qh, dn, w.kv_b_proj, h * (dn + dv), qc);
      }
      std::copy(qh + dn, qh + dqk, qc + r);
    }
  });
  // Chunked attention items over every row's causal context.
  thread_local std::vector<AttnItem> items;
  thread_local std::vector<CacheLayer> sources;
  thread_local std::vector<int64_t> row_part0, row_parts;  // per row: first partial, count
  items.clear();
  sources.clear();
  row_part0.assign(size_t(R), 0);
  row_parts.assign(size_t(R), 0);
  int64_t n_parts = 0, work = 0;
  for (size_t qi = 0; qi < seqs.size(); ++qi) {
    const SeqRows& sq = seqs[qi];
    sources.push_back({sq.cache, layer});
    for (int64_t i = 0; i < sq.n; ++i) {
      const int64_t s = sq.row0 + i, T = sq.start + i + 1;  // causal: positions <= its own
      const kernels::MlaChunks ch = kernels::mla_attn_chunks(T);
      row_part0[size_t(s)] = n_parts;
      row_parts[size_t(s)] = ch.n;
      for (int64_t k = 0; k < ch.n; ++k)
        items.push_back({s, int64_t(qi), ch.begin(k), ch.end(k), n_parts + k, T});
      n_parts += ch.n;
      work += T * H * (W + r);
    }
  }
  // Plain pointers for the workers: a thread_local named inside the lambda would be the
  // worker's own (empty) instance.
  const AttnItem* item_v = items.data();
  const CacheLayer* source_v = sources.data();
  const int64_t* part0_v = row_part0.data();
  const int64_t* parts_v = row_parts.data();
  float* pm = scratch_floats(Scratch::kMlaPartM, size_t(n_parts * H));
  float* pl = scratch_floats(Scratch::kMlaPartL, size_t(n_parts * H));
  float* pacc = scratch_floats(Scratch::kMlaPartAcc, size_t(n_parts * H * r));
  ThreadPool* apool = work < (int64_t(1) << 16) ? nullptr : pool;
  parallel_for(apool, int64_t(items.size()), [&](int64_t i0, int64_t i1) {
    for (int64_t it = i0; it < i1; ++it) {
      const AttnItem& a = item_v[it];
      const CacheLayer& cl = source_v[a.seq];
      const KvCache& kc = *cl.cache;
      const kernels::LatentSource src{&cache_row, &cl, kc.page_tokens(), kc.dtype(), kc.width(), a.T};
      kernels::mla_attn_partial(shape, qcat + a.s * H * W, src, a.t0, a.t1, pm + a.part * H,
                                pl + a.part * H, pacc + a.part * H * r);
    }
  });
  // Merge partials per (row, head), then the value absorption o[s, h] = W_UV[h] latv[s, h].
  float* latv = scratch_floats(Scratch::kMlaLatv, size_t(R * H * r));
  ThreadPool* vpool = R * H * dv * r < (int64_t(1) << 16) ? nullptr : pool;
  parallel_for(vpool, R * H, [&](int64_t i0, int64_t i1) {
    for (int64_t item = i0; item < i1; ++item) {
      const int64_t s = item / H, h = item % H, p0 = part0_v[s];
      float* lv = latv + s * H * r;
      kernels::mla_attn_combine(shape, parts_v[s], pm + p0 * H, pl + p0 * H,
                                pacc + p0 * H * r, h, h + 1, lv);
      if (vb_type != DType::F32) ggml_round_for_weight(vb_type, lv + h * r, r);
      rows_matvec(w.kv_b_proj, h * (dn + dv) + dn, dv, lv + h * r, o + item * dv);
    }
  });
}

void dump(const std::string& prefix, const char* name, const float* d, std::vector<int64_t> shape) {
  if (!prefix.empty()) write_npy(prefix + name + ".npy", d, shape);
}

}  // namespace

void mla_forward_batch(const ModelConfig& c, const AttentionWeights& w, const RopeTable& rope,
                       int64_t layer, const float* x, int64_t R, const std::vector<SeqRows>& seqs,
                       bool absorbed, float* out, ThreadPool* pool, const std::string& dump_prefix) {
  const int64_t H = c.num_attention_heads, dn = c.qk_nope_head_dim, dr = c.qk_rope_head_dim,
                dv = c.v_head_dim, dqk = c.qk_head_dim(), r = c.kv_lora_rank, W = c.latent_cache_width();
  const float eps = float(c.rms_norm_eps);

  // Queries: q [R, H * d_qk], per head [nope | rope].
  float* q = scratch_floats(Scratch::kMlaQ, size_t(R * H * dqk));
  if (c.q_lora_rank > 0) {
    float* cq = scratch_floats(Scratch::kMlaCq, size_t(R * c.q_lora_rank));
    matmul_as(c.ggml_numerics, x, R, w.q_a_proj, cq, pool);
    kernels::rmsnorm_as(c.ggml_numerics, cq, R, c.q_lora_rank, w.q_a_layernorm, eps, cq);
    matmul_as(c.ggml_numerics, cq, R, w.q_b_proj, q, pool);
  } else {
    matmul_as(c.ggml_numerics, x, R, w.q_proj, q, pool);
  }
  // Latent: kv [R, r + d_rope] -> c_kv = rmsnorm(kv[:r]), k_pe = rope(kv[r:]).
  float* kv = scratch_floats(Scratch::kMlaKv, size_t(R * W));
  matmul_as(c.ggml_numerics, x, R, w.kv_a_proj_with_mqa, kv, pool);
  float cs[256], sn[256];  // dr / 2 values each
  DSV3_CHECK(dr / 2 <= 256, "qk_rope_head_dim ", dr, " above 512 is not supported");
  for (const SeqRows& sq : seqs) {
    for (int64_t i = 0; i < sq.n; ++i) {
      const int64_t s = sq.row0 + i;
      float* row = kv + s * W;
      kernels::rmsnorm_as(c.ggml_numerics, row, 1, r, w.kv_a_layernorm, eps, row);
      rope.at(sq.start + i, cs, sn);
      kernels::rope_interleaved(row + r, dr, cs, sn);
      for (int64_t h = 0; h < H; ++h) kernels::rope_interleaved(q + (s * H + h) * dqk + dn, dr, cs, sn);
      sq.cache->write(layer, sq.start + i, row);
    }
  }
  if (!dump_prefix.empty()) dump(dump_prefix, "q", q, {R, H, dqk});
  if (!dump_prefix.empty()) dump(dump_prefix, "c_kv_k_pe", kv, {R, W});

  float* o = scratch_floats(Scratch::kMlaO, size_t(R * H * dv));  // per head, [R, H * d_v]
  if (absorbed) {
    absorbed_attention(c, w, layer, q, R, seqs, o, pool);
  } else {
    // Naive form: K/V decompressed per head, scores and values as blocked matmuls.
    mla_prefill_attention(c, w, layer, q, seqs, o, pool);
  }
  if (!dump_prefix.empty()) dump(dump_prefix, "attn_heads", o, {R, H, dv});
  matmul_as(c.ggml_numerics, o, R, w.o_proj, out, pool);
}

void mla_forward(const ModelConfig& c, const AttentionWeights& w, const RopeTable& rope,
                 int64_t layer, const float* x, int64_t S, int64_t start, KvCache& cache,
                 bool absorbed, float* out, ThreadPool* pool, const std::string& dump_prefix) {
  mla_forward_batch(c, w, rope, layer, x, S, {SeqRows{&cache, 0, S, start}}, absorbed, out, pool,
                    dump_prefix);
}

}  // namespace dsv3
