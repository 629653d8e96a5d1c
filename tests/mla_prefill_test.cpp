// Multi-row MLA attention over the latent cache (model/mla_prefill.h) against a double-precision
// reference written here from the definition (architecture.md §7.2: k_nope / v decompressed
// with kv_b_proj, causal softmax), for chunks of 1, 5, 33, 64+ rows at depths that cross the
// kernels' row/column blocks and the score row block, f32, bf16 and f16 caches, two sequences
// in one batch, and bit-identical results for 1 and 2 threads. The whole-model naive path
// (which calls it) is checked against HF in model_hf_test.
#include <gtest/gtest.h>

#include <cmath>
#include <cstring>
#include <random>
#include <vector>

#include "kernels/ops.h"
#include "model/mla_prefill.h"
#include "model/model.h"
#include "runtime/kv_cache.h"
#include "test_util.h"

using namespace dsv3;

namespace {

// o[s, h] for the rows of `sq` from the cache's stored rows (as the kernel reads them), in double.
void reference(const ModelConfig& c, const AttentionWeights& w, const float* q, const SeqRows& sq,
               std::vector<double>& o) {
  const int64_t H = c.num_attention_heads, dn = c.qk_nope_head_dim, dr = c.qk_rope_head_dim,
                dv = c.v_head_dim, dqk = c.qk_head_dim(), r = c.kv_lora_rank,
                W = c.latent_cache_width(), T = sq.start + sq.n;
  std::vector<float> scratch, wrow(static_cast<size_t>(r));
  const float* lat = sq.cache->rows_f32(0, T, scratch);
  std::vector<double> wkv(size_t(H * (dn + dv) * r));
  for (int64_t j = 0; j < H * (dn + dv); ++j) {
    kernels::weight_row(w.kv_b_proj, j, wrow.data());
    for (int64_t k = 0; k < r; ++k) wkv[size_t(j * r + k)] = wrow[size_t(k)];
  }
  std::vector<double> kv(size_t(T * H * (dn + dv)));  // decompressed [T, H, dn + dv]
  for (int64_t t = 0; t < T; ++t)
    for (int64_t j = 0; j < H * (dn + dv); ++j) {
      double s = 0;
      for (int64_t k = 0; k < r; ++k) s += wkv[size_t(j * r + k)] * lat[t * W + k];
      kv[size_t(t * H * (dn + dv) + j)] = s;
    }
  const double scale = c.softmax_scale();
  std::vector<double> p(static_cast<size_t>(T));
  for (int64_t i = 0; i < sq.n; ++i)
    for (int64_t h = 0; h < H; ++h) {
      const float* qh = q + ((sq.row0 + i) * H + h) * dqk;
      const int64_t n = sq.start + i + 1;
      double mx = -1e300;
      for (int64_t t = 0; t < n; ++t) {
        const double* kh = &kv[size_t((t * H + h) * (dn + dv))];
        double s = 0;
        for (int64_t d = 0; d < dn; ++d) s += qh[d] * kh[d];
        for (int64_t d = 0; d < dr; ++d) s += double(qh[dn + d]) * lat[t * W + r + d];
        p[size_t(t)] = s * scale;
        mx = std::max(mx, p[size_t(t)]);
      }
      double sum = 0;
      for (int64_t t = 0; t < n; ++t) sum += (p[size_t(t)] = std::exp(p[size_t(t)] - mx));
      for (int64_t d = 0; d < dv; ++d) {
        double acc = 0;
        for (int64_t t = 0; t < n; ++t) acc += p[size_t(t)] * kv[size_t((t * H + h) * (dn + dv) + dn + d)];
        o[size_t(((sq.row0 + i) * H + h) * dv + d)] = acc / sum;
      }
    }
}

}  // namespace

TEST(MlaPrefill, RowBlockIsBounded) {
  EXPECT_EQ(mla_prefill_row_block(1), 128);
  EXPECT_EQ(mla_prefill_row_block(16384), 128);
  EXPECT_EQ(mla_prefill_row_block(65536), 64);
  EXPECT_EQ(mla_prefill_row_block(int64_t(1) << 30), 16);
}

TEST(MlaPrefill, MatchesDoubleReferenceAndIsThreadInvariant) {
  // (start, n) of two sequences sharing one call: chunks of 1, 5, 33, 70 and 150 rows (past the
  // 128-row score block), contexts from 1 to 350 keys.
  const std::vector<std::pair<int64_t, int64_t>> cases = {
      {0, 1}, {0, 5}, {7, 1}, {40, 5}, {0, 33}, {100, 33}, {31, 70}, {0, 150}, {200, 150}};
  ThreadPool pool(2);
  for (const char* name : {"tiny-v2-lite", "tiny-v3"}) {
    auto m = Model::load(test::data_path(name));
    const ModelConfig& c = m->config;
    const AttentionWeights& w = m->layers[0].attn;
    const int64_t H = c.num_attention_heads, dqk = c.qk_head_dim(), dv = c.v_head_dim,
                  W = c.latent_cache_width();
    for (DType kvt : {DType::F32, DType::BF16, DType::F16}) {
      for (size_t ci = 0; ci + 1 < cases.size(); ++ci) {
        std::mt19937 rng(uint32_t(17 + ci));
        std::normal_distribution<float> nd(0.f, 1.f);
        KvCache ca(c, 1, 512, kvt), cb(c, 1, 512, kvt);
        const auto [sa, na] = cases[ci];
        const auto [sb, nb] = cases[ci + 1];
        std::vector<float> row(static_cast<size_t>(W));
        for (auto [cache, T] : {std::pair{&ca, sa + na}, std::pair{&cb, sb + nb}})
          for (int64_t t = 0; t < T; ++t) {
            for (float& v : row) v = nd(rng);
            cache->write(0, t, row.data());
          }
        const int64_t R = na + nb;
        std::vector<float> q(size_t(R * H * dqk));
        for (float& v : q) v = 2.f * nd(rng);
        const std::vector<SeqRows> seqs = {{&ca, 0, na, sa}, {&cb, na, nb, sb}};
        std::vector<float> o1(size_t(R * H * dv)), o2(o1.size());
        mla_prefill_attention(c, w, 0, q.data(), seqs, o1.data(), nullptr);
        mla_prefill_attention(c, w, 0, q.data(), seqs, o2.data(), &pool);
        EXPECT_EQ(0, std::memcmp(o1.data(), o2.data(), o1.size() * sizeof(float)))
            << name << " case " << ci << ": 1 and 2 threads differ";
        std::vector<double> ref(o1.size());
        for (const SeqRows& sq : seqs) reference(c, w, q.data(), sq, ref);
        // f32 matmuls over at most a few hundred terms, then a softmax: errors are a few f32
        // ulps (~1e-7) of the largest terms; 1e-4 of the largest output leaves ~100x room.
        double mx = 0, d = 0;
        for (size_t i = 0; i < ref.size(); ++i) {
          mx = std::max(mx, std::fabs(ref[i]));
          d = std::max(d, std::fabs(ref[i] - o1[i]));
        }
        EXPECT_LE(d, 1e-4 * mx) << name << " kv " << dtype_name(kvt) << " case " << ci;
      }
    }
  }
}
