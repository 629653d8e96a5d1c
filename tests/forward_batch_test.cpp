// Batched forward over several sequences (the server's decode step) equals separate forwards:
// same logits up to fp32 summation order (1e-5 of scale), and the same cache contents.
#include <gtest/gtest.h>

#include <cmath>

#include "model/forward.h"
#include "model/model.h"
#include "test_util.h"

using namespace dsv3;

TEST(ForwardBatch, EqualsSeparateForwards) {
  for (const char* name : {"tiny-v3", "tiny-v2-lite"}) {
    auto m = Model::load(test::data_path(name));
    const ModelConfig& c = m->config;
    const int64_t V = c.vocab_size, L = c.num_hidden_layers;
    // Three sequences: a prefix already cached, then chunks of different lengths.
    std::vector<std::vector<int32_t>> prefix = {{1, 2, 3, 4, 5}, {9}, {}};
    std::vector<std::vector<int32_t>> chunk = {{6}, {10, 11, 12}, {20, 21, 22, 23}};
    for (MlaMode mode : {MlaMode::kAuto, MlaMode::kAbsorbed, MlaMode::kNaive}) {
      ForwardOptions opt;
      opt.mla = mode;
      std::vector<std::unique_ptr<KvCache>> a, b;
      std::vector<std::vector<float>> la(3), lb(3);
      for (int i = 0; i < 3; ++i) {
        a.push_back(std::make_unique<KvCache>(c, L, 16, DType::F32));
        b.push_back(std::make_unique<KvCache>(c, L, 16, DType::F32));
        std::vector<float> tmp(static_cast<size_t>(V));
        if (!prefix[size_t(i)].empty()) {
          forward(*m, *a[size_t(i)], prefix[size_t(i)].data(), int64_t(prefix[size_t(i)].size()), 0, tmp.data(), nullptr, opt);
          forward(*m, *b[size_t(i)], prefix[size_t(i)].data(), int64_t(prefix[size_t(i)].size()), 0, tmp.data(), nullptr, opt);
        }
        la[size_t(i)].resize(chunk[size_t(i)].size() * size_t(V));
        lb[size_t(i)].resize(chunk[size_t(i)].size() * size_t(V));
      }
      ThreadPool pool(2);
      std::vector<SeqChunk> chunks;
      for (int i = 0; i < 3; ++i) {
        ForwardOptions o = opt;
        o.all_logits = true;
        forward(*m, *a[size_t(i)], chunk[size_t(i)].data(), int64_t(chunk[size_t(i)].size()),
                int64_t(prefix[size_t(i)].size()), la[size_t(i)].data(), &pool, o);
        chunks.push_back({b[size_t(i)].get(), chunk[size_t(i)].data(), int64_t(chunk[size_t(i)].size()),
                          int64_t(prefix[size_t(i)].size()), lb[size_t(i)].data(), true, nullptr});
      }
      // Auto mode picks naive attention for a batch with multi-token chunks, which is what the
      // separate calls of the 2nd and 3rd sequence do; the 1st (single token) used absorbed there.
      forward_batch(*m, chunks, &pool, opt);
      for (int i = 0; i < 3; ++i) {
        double mx = 1, d = 0;
        for (size_t j = 0; j < la[size_t(i)].size(); ++j) {
          mx = std::max(mx, double(std::fabs(la[size_t(i)][j])));
          d = std::max(d, double(std::fabs(la[size_t(i)][j] - lb[size_t(i)][j])));
        }
        EXPECT_LE(d, 1e-5 * mx) << name << " seq " << i << " mode " << int(mode);
        EXPECT_EQ(a[size_t(i)]->length(), b[size_t(i)]->length());
      }
    }
  }
}
