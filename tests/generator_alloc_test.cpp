// The decode loop of Generator (plain and MTP-speculative, greedy and sampled) does not
// allocate: after a warm-up call, generating more tokens makes no more operator new calls than
// generating fewer (the prompt pass and setup allocate the same amount both times).
#include <gtest/gtest.h>

#include <functional>
#include <memory>
#include <vector>

#include "alloc_count.h"
#include "core/thread_pool.h"
#include "model/forward.h"
#include "model/model.h"
#include "runtime/generator.h"
#include "test_util.h"

using namespace dsv3;

namespace {

int64_t allocs_for(Generator& g, const std::vector<int32_t>& prompt, int64_t n,
                   const std::function<bool(int32_t)>& on_token) {
  g.reset();
  test::AllocCounter count;
  g.generate(prompt, n, on_token);
  return count.count();
}

}  // namespace

TEST(GeneratorAlloc, DecodeStepsDoNotAllocate) {
  auto m = Model::load(test::data_path("tiny-v3"));  // has one MTP module
  const std::vector<int32_t> prompt = {3, 14, 15, 92, 65, 35};
  SamplerParams greedy;
  SamplerParams sampled;
  sampled.temperature = 0.8f;
  sampled.top_p = 0.9f;
  sampled.seed = 7;
  SamplerParams topk = sampled;
  topk.top_k = 5;
  int64_t emitted = 0;
  const std::function<bool(int32_t)> on_token = [&emitted](int32_t) { ++emitted; return true; };
  for (int threads : {1, 2}) {
    std::unique_ptr<ThreadPool> pool = threads > 1 ? std::make_unique<ThreadPool>(threads) : nullptr;
    for (int64_t mtp : {0, 2})
      for (const SamplerParams* sp : {&greedy, &sampled, &topk}) {
        ForwardOptions fwd;
        fwd.mla = MlaMode::kAbsorbed;
        GenerateOptions go;
        go.sampling = *sp;
        go.mtp_depth = mtp;
        go.ignore_eos = true;
        Generator g(*m, pool.get(), 128, DType::BF16, fwd, go);
        allocs_for(g, prompt, 40, on_token);  // warm-up: every buffer reaches its size
        emitted = 0;
        const int64_t few = allocs_for(g, prompt, 4, on_token);
        ASSERT_EQ(emitted, 4);
        emitted = 0;
        const int64_t many = allocs_for(g, prompt, 40, on_token);
        ASSERT_EQ(emitted, 40);
        EXPECT_EQ(many, few) << "allocations grow with the number of decode steps: threads "
                             << threads << ", mtp " << mtp << ", temperature " << sp->temperature
                             << ", top_k " << sp->top_k;
      }
  }
}
