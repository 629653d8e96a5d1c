// Paged latent KV pool: a paged KvCache view (pages scattered in a KvPool) holds exactly what a
// contiguous KvCache holds — the same rows through row_ptr() (contiguous within a page, per the
// page_tokens() contract) and rows_f32() (f32, bf16 and f16) — refuses writes beyond its pages, and a
// forward pass through it gives the logits of the contiguous cache. Pool accounting: exhaustion
// and double release.
#include <gtest/gtest.h>

#include <algorithm>
#include <cstring>
#include <random>

#include "core/error.h"
#include "model/forward.h"
#include "model/model.h"
#include "runtime/kv_cache.h"
#include "test_util.h"

using namespace dsv3;

namespace {

const ModelConfig& tiny_config() {
  static auto m = Model::load(test::data_path("tiny-v3"));
  return m->config;
}

}  // namespace

TEST(KvPool, PagedViewHoldsWhatContiguousHolds) {
  const ModelConfig& c = tiny_config();
  const int64_t L = 2, ctx = 12, P = 4, W = c.latent_cache_width();
  for (DType dt : {DType::F32, DType::BF16, DType::F16}) {
    SCOPED_TRACE(dtype_name(dt));
    KvPool pool(c, L + 1, 6, P, dt);  // one extra layer: the view uses layers [1, 3)
    std::vector<int32_t> pages;
    for (int i = 0; i < 3; ++i) pages.push_back(pool.alloc());
    std::swap(pages[0], pages[2]);  // out of order: pages are not laid out by position
    KvCache paged(pool, &pages, 1, L, ctx), flat(c, L, ctx, dt);
    EXPECT_TRUE(paged.paged());
    EXPECT_EQ(paged.page_tokens(), P);
    EXPECT_EQ(paged.capacity(), 12);
    std::mt19937 rng(7);
    std::normal_distribution<float> nd;
    std::vector<float> row(static_cast<size_t>(W));
    for (int64_t l = 0; l < L; ++l)
      for (int64_t p = 0; p < 10; ++p) {
        for (float& v : row) v = nd(rng);
        paged.write(l, p, row.data());
        flat.write(l, p, row.data());
      }
    const size_t rb = size_t(W) * dtype_size(dt);
    for (int64_t l = 0; l < L; ++l) {
      for (int64_t p = 0; p < 10; ++p) {
        EXPECT_EQ(std::memcmp(paged.row_ptr(l, p), flat.row_ptr(l, p), rb), 0) << l << " " << p;
        if ((p + 1) % P != 0) {  // contiguous within a page
          EXPECT_EQ(static_cast<const uint8_t*>(paged.row_ptr(l, p)) + rb, paged.row_ptr(l, p + 1));
        }
      }
      std::vector<float> s1, s2;
      const float* a = paged.rows_f32(l, 10, s1);
      const float* b = flat.rows_f32(l, 10, s2);
      EXPECT_EQ(std::memcmp(a, b, size_t(10 * W) * 4), 0) << "layer " << l;
    }
    pages.pop_back();  // 8 positions left
    EXPECT_THROW(paged.write(0, 9, row.data()), Error);
    EXPECT_THROW(KvCache(pool, &pages, 2, 2, ctx), Error);  // layers beyond the pool
  }
}

TEST(KvPool, AllocReleaseAccounting) {
  KvPool pool(tiny_config(), 1, 3, 8, DType::F32);
  EXPECT_EQ(pool.pages_for(17), 3);
  EXPECT_EQ(pool.pages_for(16), 2);
  std::vector<int32_t> got;
  for (int i = 0; i < 3; ++i) got.push_back(pool.alloc());
  EXPECT_EQ(pool.alloc(), -1);
  EXPECT_EQ(pool.used_pages(), 3);
  pool.release(got[1]);
  EXPECT_EQ(pool.free_pages(), 1);
  EXPECT_THROW(pool.release(got[1]), Error);
  EXPECT_THROW(pool.release(99), Error);
  EXPECT_EQ(pool.alloc(), got[1]);
  EXPECT_THROW(KvPool(tiny_config(), 1, 0, 8, DType::F32), Error);
}

// The model over a paged cache (page of 4, pages out of order) equals the model over a
// contiguous cache: prompt of 10, then 4 decode steps, naive and absorbed attention. The
// tolerance allows attention kernels that block their reductions by page (summation order);
// the values read are the same.
TEST(KvPool, ForwardThroughPagedCacheMatchesContiguous) {
  auto m = Model::load(test::data_path("tiny-v3"));
  const ModelConfig& c = m->config;
  const int64_t L = c.num_hidden_layers, V = c.vocab_size, ctx = 32;
  for (MlaMode mode : {MlaMode::kNaive, MlaMode::kAbsorbed}) {
    ForwardOptions fo;
    fo.mla = mode;
    KvPool pool(c, L, 8, 4, DType::F32);
    std::vector<int32_t> pages;
    for (int i = 0; i < 8; ++i) pages.push_back(pool.alloc());
    std::reverse(pages.begin(), pages.end());
    KvCache paged(pool, &pages, 0, L, ctx), flat(c, L, ctx, DType::F32);
    std::vector<int32_t> toks = {3, 17, 250, 9, 1, 77, 300, 5, 42, 8, 11, 12, 13, 14};
    std::vector<float> la(static_cast<size_t>(V)), lb(static_cast<size_t>(V));
    for (int64_t pos = 0; pos < 14;) {
      const int64_t n = pos == 0 ? 10 : 1;
      forward(*m, paged, toks.data() + pos, n, pos, la.data(), nullptr, fo);
      forward(*m, flat, toks.data() + pos, n, pos, lb.data(), nullptr, fo);
      for (int64_t v = 0; v < V; ++v)
        ASSERT_NEAR(la[size_t(v)], lb[size_t(v)], 1e-4f) << "pos " << pos << " v " << v;
      pos += n;
    }
    EXPECT_EQ(paged.length(), 14);
  }
}

// With DeepSeek's latent width (512 + 64 values: 1152 bytes in bf16/f16, 2304 in f32) every row
// of a contiguous cache and of every pool page starts on a 64-byte line, so the attention
// kernels' 64-byte loads never split a line.
TEST(KvPool, RowsOfDeepSeekWidthAreLineAligned) {
  ModelConfig c = tiny_config();
  c.kv_lora_rank = 512;
  c.qk_rope_head_dim = 64;
  for (DType dt : {DType::F32, DType::BF16, DType::F16}) {
    KvCache cache(c, 2, 40, dt);
    KvPool pool(c, 2, 3, 16, dt);
    std::vector<int32_t> pages = {pool.alloc(), pool.alloc(), pool.alloc()};
    KvCache view(pool, &pages, 0, 2, 48);
    for (int64_t layer = 0; layer < 2; ++layer)
      for (int64_t pos = 0; pos < 40; ++pos) {
        EXPECT_EQ(reinterpret_cast<uintptr_t>(cache.row_ptr(layer, pos)) % 64, 0u) << dtype_name(dt);
        EXPECT_EQ(reinterpret_cast<uintptr_t>(view.row_ptr(layer, pos)) % 64, 0u) << dtype_name(dt);
      }
  }
}
