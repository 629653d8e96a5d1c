// mtp_forward_batch (the server's batched MTP catch-up) equals separate mtp_forward calls on the
// built-in model (trained MTP head): two sequences with chunks of different lengths and starts.
// Tolerance: the batched pass runs matrix-matrix products over more rows, which may take another
// kernel path (fp32 summation order); logits are O(10), 1e-4 relative is far above that noise
// and far below any real indexing error.
#include <gtest/gtest.h>

#include <cmath>

#include "model/forward.h"
#include "model/model.h"
#include "model/mtp.h"
#include "model/mtp_batch.h"

using namespace dsv3;

TEST(MtpBatch, EqualsSeparateMtpForwards) {
  auto m = Model::load(DSV3_BUILTIN_MODEL_DIR);
  ASSERT_FALSE(m->mtp.empty());
  const ModelConfig& c = m->config;
  const int64_t L = c.num_hidden_layers, V = c.vocab_size, D = c.hidden_size;
  const std::vector<std::vector<int32_t>> toks = {{0, 5, 6, 7, 8, 9}, {9, 8, 7, 6, 5, 4, 3, 2, 1}};
  // Main-model hidden states for every position.
  std::vector<std::vector<float>> hid;
  for (auto& t : toks) {
    KvCache kc(c, L, 32, DType::F32);
    std::vector<float> lg(static_cast<size_t>(int64_t(t.size()) * V)), h(static_cast<size_t>(int64_t(t.size()) * D));
    ForwardOptions fo;
    fo.all_logits = true;
    forward(*m, kc, t.data(), int64_t(t.size()), 0, lg.data(), nullptr, fo, nullptr, h.data());
    hid.push_back(h);
  }
  // Pairs (h_j, t_{j+1}): sequence 0 catches up rows [0, 3) then [3, 5); sequence 1 [0, 8).
  struct Part { size_t seq; int64_t start, n; };
  const std::vector<std::vector<Part>> rounds = {{{0, 0, 3}, {1, 0, 8}}, {{0, 3, 2}}};
  std::vector<std::unique_ptr<KvCache>> sep, bat;
  for (int i = 0; i < 2; ++i) {
    sep.push_back(std::make_unique<KvCache>(c, 1, 32, DType::F32));
    bat.push_back(std::make_unique<KvCache>(c, 1, 32, DType::F32));
  }
  for (auto& round : rounds) {
    std::vector<std::vector<float>> want, got;
    std::vector<MtpChunk> chunks;
    want.assign(round.size(), std::vector<float>(static_cast<size_t>(V)));
    got.assign(round.size(), std::vector<float>(static_cast<size_t>(V)));
    for (size_t i = 0; i < round.size(); ++i) {
      const Part& p = round[i];
      const float* h = hid[p.seq].data() + p.start * D;
      const int32_t* next = toks[p.seq].data() + p.start + 1;
      mtp_forward(*m, 0, *sep[p.seq], h, next, p.n, p.start, want[i].data(), nullptr);
      chunks.push_back({bat[p.seq].get(), h, next, p.n, p.start, got[i].data()});
    }
    mtp_forward_batch(*m, 0, chunks, nullptr);
    for (size_t i = 0; i < round.size(); ++i) {
      EXPECT_EQ(bat[round[i].seq]->length(), round[i].start + round[i].n);
      for (int64_t v = 0; v < V; ++v)
        ASSERT_NEAR(got[i][size_t(v)], want[i][size_t(v)], 1e-4 * (1 + std::fabs(want[i][size_t(v)])))
            << "chunk " << i << " v " << v;
    }
  }
}
