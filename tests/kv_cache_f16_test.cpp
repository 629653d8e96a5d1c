// The f16 KV cache (--kv-type f16, llama.cpp's default cache type): a write stores exactly
// f32_to_f16 of each value (round to nearest even: ties, subnormals, overflow to inf, NaN) and
// rows_f32 gives back exactly the values round_f16_inplace gives (the f16-rounded values the
// f32 cache held before the cache stored f16), in half the bytes of f32, contiguous and paged.
// Every reader sees those values: naive MLA (mla_prefill_attention) and absorbed MLA decode
// (mla_attn_partial through row_ptr) give the same bits over an f16 cache as over an f32 cache
// holding the same rounded values; a whole model (MLA and GQA) writes f16(its f32 rows) at
// layer 0 and gives logits close to the f32 cache's; GQA over a paged cache gives the bits of a
// contiguous one; the server's paged pool in f16 decodes the tokens a contiguous f16 cache
// decodes, with and without MTP. The readers' f16 widening (F16C) equals f16_to_f32 on every ISA.
#include <gtest/gtest.h>

#include <algorithm>
#include <chrono>
#include <cmath>
#include <cstring>
#include <future>
#include <limits>
#include <random>
#include <vector>

#include "core/dtype.h"
#include "core/error.h"
#include "kernels/isa.h"
#include "kernels/mla_attn.h"
#include "model/forward.h"
#include "model/ggml_act_round.h"
#include "model/gguf_model.h"
#include "model/mla_prefill.h"
#include "model/model.h"
#include "runtime/generator.h"
#include "runtime/kv_cache.h"
#include "runtime/kv_convert.h"
#include "runtime/scheduler.h"
#include "scheduler_test_util.h"
#include "test_util.h"

using namespace dsv3;

namespace {

uint32_t bits(float f) {
  uint32_t u;
  std::memcpy(&u, &f, 4);
  return u;
}

// W values: edge cases of the f16 rounding first, then normals at several magnitudes.
std::vector<float> test_row(int64_t W, std::mt19937& rng) {
  const float inf = std::numeric_limits<float>::infinity();
  std::vector<float> row = {0.f,
                            -0.f,
                            1.f + 0x1p-11f,      // tie between 1 and 1 + 2^-10: to even (1)
                            1.f + 3 * 0x1p-11f,  // tie: to even (1 + 2^-9)
                            65504.f,             // largest f16
                            65519.99f,           // rounds down to 65504
                            65520.f,             // overflows to inf
                            -1e6f,               // -inf
                            0x1p-25f,            // half the smallest subnormal: tie to 0
                            3 * 0x1p-25f,        // tie between subnormals 1 and 2: to 2
                            1e-6f,               // subnormal
                            0x1p-14f,            // smallest normal
                            inf,
                            -inf,
                            std::numeric_limits<float>::quiet_NaN()};
  std::normal_distribution<float> nd;
  std::uniform_int_distribution<int> e(-20, 12);
  while (int64_t(row.size()) < W) row.push_back(std::ldexp(nd(rng), e(rng)));
  row.resize(size_t(W));
  return row;
}

// Fills `n` positions of layer 0 of both caches with the same random rows.
void fill_both(KvCache& a, KvCache& b, int64_t n, uint32_t seed) {
  std::mt19937 rng(seed);
  std::normal_distribution<float> nd;
  std::vector<float> row(static_cast<size_t>(a.width()));
  for (int64_t t = 0; t < n; ++t) {
    for (float& v : row) v = nd(rng);
    a.write(0, t, row.data());
    b.write(0, t, row.data());
  }
}

const void* cache_row(const void* self, int64_t pos) {
  return static_cast<const KvCache*>(self)->row_ptr(0, pos);
}

}  // namespace

TEST(KvCacheF16, WriteRoundsToNearestEvenAndReadsBackExactly) {
  auto m = Model::load(test::data_path("tiny-v3"));
  const ModelConfig& c = m->config;
  const int64_t L = 2, ctx = 16, P = 4, W = c.latent_cache_width();
  ASSERT_GE(W, 15);
  KvCache f32(c, L, ctx, DType::F32), f16(c, L, ctx, DType::F16);
  EXPECT_EQ(f16.dtype(), DType::F16);
  EXPECT_EQ(f16.bytes() * 2, f32.bytes());
  EXPECT_EQ(f16.bytes(), size_t(L * ctx * W * 2));
  EXPECT_EQ(KvCache::bytes_per_token(c, L, DType::F16) * 2,
            KvCache::bytes_per_token(c, L, DType::F32));
  EXPECT_STREQ(kv_type_name(DType::F16), "f16");
  EXPECT_STREQ(kv_type_name(DType::BF16), "bf16");
  EXPECT_STREQ(kv_type_name(DType::F32), "f32");
  KvPool pool(c, L, 3, P, DType::F16), pool32(c, L, 3, P, DType::F32);
  EXPECT_EQ(pool.bytes() * 2, pool32.bytes());
  std::vector<int32_t> pages = {pool.alloc(), pool.alloc(), pool.alloc()};
  std::swap(pages[0], pages[2]);
  KvCache paged(pool, &pages, 0, L, 12);
  EXPECT_EQ(paged.dtype(), DType::F16);

  std::mt19937 rng(3);
  std::vector<std::vector<float>> rows;
  for (int64_t l = 0; l < L; ++l)
    for (int64_t p = 0; p < 10; ++p) {
      rows.push_back(test_row(W, rng));
      f16.write(l, p, rows.back().data());
      paged.write(l, p, rows.back().data());
    }
  for (KvCache* kc : {&f16, &paged}) {
    SCOPED_TRACE(kc->paged() ? "paged" : "contiguous");
    for (int64_t l = 0; l < L; ++l) {
      std::vector<float> scratch;
      const float* got = kc->rows_f32(l, 10, scratch);
      for (int64_t p = 0; p < 10; ++p) {
        const std::vector<float>& x = rows[size_t(l * 10 + p)];
        std::vector<float> want = x;
        round_f16_inplace(want.data(), W);  // the values the f32 cache held under --kv-type f16
        const auto* stored = static_cast<const uint16_t*>(kc->row_ptr(l, p));
        for (int64_t i = 0; i < W; ++i) {
          ASSERT_EQ(stored[i], f32_to_f16(x[size_t(i)])) << l << " " << p << " " << i;
          if (std::isnan(x[size_t(i)])) {
            ASSERT_TRUE(std::isnan(got[p * W + i]));
          } else {
            ASSERT_EQ(bits(got[p * W + i]), bits(want[size_t(i)])) << l << " " << p << " " << i;
          }
        }
      }
    }
  }
  // Spot checks of the rounding itself (f32_to_f16 is the reference above).
  std::vector<float> s;
  const float* r0 = f16.rows_f32(0, 1, s);
  EXPECT_EQ(r0[2], 1.f);
  EXPECT_EQ(r0[3], 1.f + 0x1p-9f);
  EXPECT_EQ(r0[5], 65504.f);
  EXPECT_TRUE(std::isinf(r0[6]) && r0[6] > 0);
  EXPECT_TRUE(std::isinf(r0[7]) && r0[7] < 0);
  EXPECT_EQ(r0[8], 0.f);
  EXPECT_EQ(r0[9], 0x1p-23f);
  EXPECT_TRUE(std::signbit(r0[1]));
}

// The readers' widening (F16C on AVX2/AVX-512, f16_to_f32 portable) gives f16_to_f32's bits for
// every f16 pattern but signaling NaNs (which F16C quiets; a cache write never stores one), at
// lengths with and without a vector tail; bf16 and f32 likewise.
TEST(KvCacheF16, WideningMatchesTheScalarReferenceOnEveryIsa) {
  std::vector<uint16_t> all(size_t(65536));
  for (uint32_t h = 0; h < 65536; ++h) all[h] = uint16_t(h);
  const auto isas = kernels::supported_isas();
  for (kernels::Isa isa : isas) {
    kernels::set_isa(isa);
    SCOPED_TRACE(std::string(kernels::isa_name(isa)));
    for (size_t n : {size_t(65536), size_t(37), size_t(5)}) {
      std::vector<float> got(n + 1, 7.f);
      kv_values_to_f32(DType::F16, all.data() + 3, n - 3, got.data());
      EXPECT_EQ(got[n - 3], 7.f);  // nothing written past n - 3 values
      for (size_t i = 0; i + 3 < n; ++i) {
        const uint16_t h = all[i + 3];
        const bool snan = (h & 0x7c00) == 0x7c00 && (h & 0x3ff) != 0 && (h & 0x200) == 0;
        if (snan) {
          ASSERT_TRUE(std::isnan(got[i])) << h;
        } else {
          ASSERT_EQ(bits(got[i]), bits(f16_to_f32(h))) << h;
        }
      }
      kv_values_to_f32(DType::BF16, all.data(), n, got.data());
      for (size_t i = 0; i < n; ++i) ASSERT_EQ(bits(got[i]), bits(bf16_to_f32(all[i]))) << i;
    }
  }
  kernels::set_isa(isas.back());
  const float x[3] = {1.f, -2.5f, 3e-40f};
  float y[3];
  kv_values_to_f32(DType::F32, x, 3, y);
  EXPECT_EQ(0, std::memcmp(x, y, sizeof x));
  EXPECT_THROW(kv_values_to_f32(DType::I8, x, 3, y), Error);
}

TEST(KvCacheF16, OnlyF32Bf16F16AreCacheTypes) {
  auto m = Model::load(test::data_path("tiny-v3"));
  for (DType t : {DType::F8_E4M3, DType::I8, DType::Q8_0}) {
    EXPECT_THROW(KvCache(m->config, 1, 4, t), Error);
    EXPECT_THROW(KvPool(m->config, 1, 1, 4, t), Error);
  }
}

// Naive MLA (rows_f32) and absorbed MLA decode (row_ptr, every ISA, contiguous and paged) give
// the same bits over an f16 cache as over an f32 cache holding the same f16-rounded values:
// the readers widen f16 exactly and run the f32 arithmetic.
TEST(KvCacheF16, MlaReadersSeeTheF32CacheOfRoundedValues) {
  auto m = Model::load(test::data_path("tiny-v3"));
  const ModelConfig& c = m->config;
  const AttentionWeights& w = m->layers[0].attn;
  const int64_t H = c.num_attention_heads, dqk = c.qk_head_dim(), dv = c.v_head_dim,
                W = c.latent_cache_width(), r = c.kv_lora_rank, T = 150, P = 16;
  KvCache f16(c, 1, 256, DType::F16), f32(c, 1, 256, DType::F32);
  KvPool pool(c, 1, 16, P, DType::F16), pool32(c, 1, 16, P, DType::F32);
  std::vector<int32_t> pages;
  for (int i = 0; i < 10; ++i) pages.push_back(pool.alloc());
  std::reverse(pages.begin(), pages.end());
  for (int i = 0; i < 10; ++i) ASSERT_EQ(pool32.alloc(), i);
  KvCache paged(pool, &pages, 0, 1, 256), paged32(pool32, &pages, 0, 1, 256);
  fill_both(f16, paged, T, 5);
  {
    std::vector<float> s;
    const float* rounded = f16.rows_f32(0, T, s);
    for (int64_t t = 0; t < T; ++t) {
      f32.write(0, t, rounded + t * W);
      paged32.write(0, t, rounded + t * W);
    }
  }
  std::mt19937 rng(9);
  std::normal_distribution<float> nd;
  // Naive: 40 query rows at positions [110, 150).
  const int64_t n = 40;
  std::vector<float> q(size_t(n * H * dqk));
  for (float& v : q) v = 2.f * nd(rng);
  std::vector<float> oa(size_t(n * H * dv)), ob(oa.size()), oc(oa.size());
  mla_prefill_attention(c, w, 0, q.data(), {{&f16, 0, n, T - n}}, oa.data(), nullptr);
  mla_prefill_attention(c, w, 0, q.data(), {{&f32, 0, n, T - n}}, ob.data(), nullptr);
  mla_prefill_attention(c, w, 0, q.data(), {{&paged, 0, n, T - n}}, oc.data(), nullptr);
  EXPECT_EQ(0, std::memcmp(oa.data(), ob.data(), oa.size() * 4));
  EXPECT_EQ(0, std::memcmp(oa.data(), oc.data(), oa.size() * 4));
  // Absorbed decode kernel over [0, T), contiguous and paged (pages of 16 cut its blocks, so
  // paged is compared with paged: same blocks, same summation order).
  const kernels::MlaAttnShape shape{H, r, c.qk_rope_head_dim, float(c.softmax_scale())};
  std::vector<float> qcat(size_t(H * W));
  for (float& v : qcat) v = nd(rng);
  const auto isas = kernels::supported_isas();
  for (kernels::Isa isa : isas) {
    kernels::set_isa(isa);
    SCOPED_TRACE(std::string(kernels::isa_name(isa)));
    for (auto [kc, k32] : {std::pair{&f16, &f32}, std::pair{&paged, &paged32}}) {
      std::vector<float> m1(static_cast<size_t>(H)), l1(static_cast<size_t>(H)), a1(size_t(H * r));
      kernels::mla_attn_partial(shape, qcat.data(),
                                {&cache_row, k32, k32->page_tokens(), DType::F32, W}, 0, T,
                                m1.data(), l1.data(), a1.data());
      std::vector<float> m2(static_cast<size_t>(H)), l2(static_cast<size_t>(H)), a2(size_t(H * r));
      kernels::mla_attn_partial(shape, qcat.data(),
                                {&cache_row, kc, kc->page_tokens(), DType::F16, W}, 0, T, m2.data(),
                                l2.data(), a2.data());
      EXPECT_EQ(0, std::memcmp(m1.data(), m2.data(), m1.size() * 4)) << kc->paged();
      EXPECT_EQ(0, std::memcmp(l1.data(), l2.data(), l1.size() * 4)) << kc->paged();
      EXPECT_EQ(0, std::memcmp(a1.data(), a2.data(), a1.size() * 4)) << kc->paged();
    }
  }
  kernels::set_isa(isas.back());
}

// Whole models, MLA (naive and absorbed) and GQA (dense llama from GGUF under ggml numerics):
// layer 0 sees the same input with either cache, so its f16 rows are f32_to_f16 of the f32
// cache's rows bit for bit; the logits move by the f16 rounding of K/V only (f16 keeps 11
// significant bits: relative errors <= 2^-11 of each cached value, through softmax and the
// value sums of a few layers; 2% of the largest logit is ~20x what these models show, and a
// cache that stored garbage or misread rows would be far outside it).
TEST(KvCacheF16, ModelsWriteF16RowsAndStayCloseToF32) {
  const std::vector<int32_t> toks = {1, 5, 9, 2, 7, 7, 3, 11, 4, 6, 8, 10};
  struct Case {
    const char* model;
    MlaMode mode;
    bool ggml;
  };
  for (const Case k :
       {Case{"tiny-v3", MlaMode::kNaive, false}, Case{"tiny-v3", MlaMode::kAbsorbed, false},
        Case{"tiny-llama/tiny-llama-f16.gguf", MlaMode::kAuto, true}}) {
    SCOPED_TRACE(std::string(k.model) + (k.mode == MlaMode::kNaive ? " naive" : " absorbed/auto"));
    set_gguf_ggml_numerics(k.ggml);
    auto m = Model::load(test::data_path(k.model));
    set_gguf_ggml_numerics(false);
    const ModelConfig& c = m->config;
    const int64_t V = c.vocab_size, S = int64_t(toks.size()), W = c.latent_cache_width();
    KvCache a(c, c.num_hidden_layers, 32, DType::F32), b(c, c.num_hidden_layers, 32, DType::F16);
    ForwardOptions fo;
    fo.mla = k.mode;
    std::vector<float> la(static_cast<size_t>(V)), lb(la.size());
    // A prompt chunk of 8, then 4 decode steps.
    double scale = 0, diff = 0;
    for (int64_t pos = 0; pos < S;) {
      const int64_t n = pos == 0 ? 8 : 1;
      forward(*m, a, toks.data() + pos, n, pos, la.data(), nullptr, fo);
      forward(*m, b, toks.data() + pos, n, pos, lb.data(), nullptr, fo);
      for (int64_t v = 0; v < V; ++v) {
        scale = std::max(scale, double(std::fabs(la[size_t(v)])));
        diff = std::max(diff, double(std::fabs(la[size_t(v)] - lb[size_t(v)])));
      }
      pos += n;
    }
    EXPECT_GT(diff, 0.0);  // the rounding is real
    EXPECT_LT(diff, 0.02 * scale);
    std::vector<float> s;
    const float* rows = a.rows_f32(0, S, s);
    for (int64_t t = 0; t < S; ++t) {
      const auto* h = static_cast<const uint16_t*>(b.row_ptr(0, t));
      for (int64_t i = 0; i < W; ++i) ASSERT_EQ(h[i], f32_to_f16(rows[t * W + i])) << t << " " << i;
    }
  }
}

// GQA (dense llama) over a paged cache, pages of 4 out of order, f32 and f16: the same bits as
// over a contiguous cache of the same dtype (GQA reads K/V row by row through row_ptr, widening
// each row exactly, and its arithmetic does not depend on where rows live).
TEST(KvCacheF16, GqaThroughPagedCacheIsBitIdentical) {
  auto m = Model::load(test::data_path("tiny-llama/tiny-llama-f16.gguf"));
  const ModelConfig& c = m->config;
  ASSERT_TRUE(c.is_gqa());
  const int64_t L = c.num_hidden_layers, V = c.vocab_size, ctx = 32;
  const std::vector<int32_t> toks = {3, 17, 25, 9, 1, 77, 30, 5, 42, 8, 11, 12, 13, 14};
  for (DType dt : {DType::F32, DType::F16}) {
    SCOPED_TRACE(dtype_name(dt));
    KvPool pool(c, L, 8, 4, dt);
    std::vector<int32_t> pages;
    for (int i = 0; i < 8; ++i) pages.push_back(pool.alloc());
    std::reverse(pages.begin(), pages.end());
    KvCache paged(pool, &pages, 0, L, ctx), flat(c, L, ctx, dt);
    std::vector<float> la(static_cast<size_t>(V)), lb(static_cast<size_t>(V));
    for (int64_t pos = 0; pos < int64_t(toks.size());) {
      const int64_t n = pos == 0 ? 10 : 1;
      forward(*m, paged, toks.data() + pos, n, pos, la.data(), nullptr);
      forward(*m, flat, toks.data() + pos, n, pos, lb.data(), nullptr);
      ASSERT_EQ(0, std::memcmp(la.data(), lb.data(), la.size() * 4)) << "pos " << pos;
      pos += n;
    }
  }
}

// The server's paged pool in f16, too small for its three sequences (preemption and
// recompute), with and without MTP: every sequence gets the greedy tokens of decoding it alone
// with a contiguous f16 cache.
TEST(KvCacheF16, PagedSchedulerMatchesContiguousF16) {
  auto m = Model::load(DSV3_BUILTIN_MODEL_DIR);
  const std::vector<std::vector<int32_t>> prompts = {
      {0, 5, 6, 7}, {9, 8, 7, 6, 5, 4, 3, 2, 1}, {100, 3}};
  const int64_t n_new = 20;
  std::vector<std::vector<int32_t>> want;
  for (auto& p : prompts) {
    GenerateOptions go;
    go.ignore_eos = true;
    Generator g(*m, nullptr, 128, DType::F16, {}, go);
    EXPECT_EQ(g.cache().dtype(), DType::F16);
    std::vector<int32_t> out;
    g.generate(p, n_new, [&](int32_t t) {
      out.push_back(t);
      return true;
    });
    want.push_back(out);
  }
  for (int64_t mtp : {0, 1}) {
    SchedulerOptions opt;
    opt.mtp_depth = mtp;
    opt.max_seqs = 3;
    opt.ctx = 128;
    opt.page_tokens = 8;
    opt.kv_tokens = 40;  // 5 pages; the three sequences need 3 + 4 + 3 at their end
    opt.prefill_chunk = 4;
    opt.kv_dtype = DType::F16;
    std::vector<std::unique_ptr<test::Collector>> sinks;  // outlive the scheduler's worker
    Scheduler s(*m, nullptr, opt);
    for (auto& p : prompts) {
      sinks.push_back(std::make_unique<test::Collector>());
      ASSERT_GT(s.submit(sinks.back()->request(p, n_new)), 0u);
    }
    for (size_t i = 0; i < prompts.size(); ++i) {
      ASSERT_EQ(sinks[i]->done.get_future().wait_for(std::chrono::seconds(120)),
                std::future_status::ready);
      EXPECT_EQ(sinks[i]->tokens, want[i]) << "request " << i << " mtp " << mtp;
    }
    EXPECT_GT(s.stats().preemptions, 0) << "the pool was meant to run out of pages";
  }
}
