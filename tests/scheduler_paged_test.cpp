// The scheduler over a paged KV pool too small for all its sequences at once: sequences that
// run out of pages are preempted and recomputed, and every sequence still gets exactly the
// greedy tokens of decoding it alone (Generator, contiguous cache), with and without MTP; all
// pages come back at the end. A sequence alone in a full pool ends with "length"; a prompt
// larger than the pool is refused with KvPoolTooSmall.
#include <gtest/gtest.h>

#include <chrono>
#include <future>
#include <mutex>
#include <thread>

#include "core/error.h"
#include "model/model.h"
#include "runtime/generator.h"
#include "runtime/scheduler.h"
#include "scheduler_test_util.h"
#include "test_util.h"

using namespace dsv3;

using Sink = test::Collector;

namespace {

// Waits (bounded) until the worker has retired every sequence; returns the last stats.
SchedulerStats settled(const Scheduler& s) {
  SchedulerStats st = s.stats();
  for (int i = 0; i < 2000 && (st.kv_pages_used != 0 || st.active != 0); ++i) {
    std::this_thread::sleep_for(std::chrono::milliseconds(5));
    st = s.stats();
  }
  return st;
}

}  // namespace

TEST(SchedulerPaged, PreemptionKeepsGreedyTokens) {
  auto m = Model::load(DSV3_BUILTIN_MODEL_DIR);
  const std::vector<std::vector<int32_t>> prompts = {{0, 5, 6, 7}, {9, 8, 7, 6, 5, 4, 3, 2, 1}, {100, 3}};
  const int64_t n_new = 28;
  std::vector<std::vector<int32_t>> want;
  for (auto& p : prompts) want.push_back(test::greedy_alone(*m, p, n_new));
  for (int64_t mtp : {0, 1}) {
    ThreadPool pool(2);
    SchedulerOptions opt;
    opt.mtp_depth = mtp;
    opt.max_seqs = 3;
    opt.ctx = 128;
    opt.page_tokens = 8;
    opt.kv_tokens = 48;  // 6 pages; the three sequences need 4 + 5 + 4 at their end
    opt.prefill_chunk = 4;
    std::vector<std::unique_ptr<Sink>> sinks;  // outlive the scheduler's worker
    Scheduler s(*m, &pool, opt);
    for (auto& p : prompts) {
      sinks.push_back(std::make_unique<Sink>());
      ASSERT_GT(s.submit(sinks.back()->request(p, n_new)), 0u);
    }
    for (size_t i = 0; i < prompts.size(); ++i) {
      ASSERT_EQ(sinks[i]->done.get_future().wait_for(std::chrono::seconds(120)), std::future_status::ready);
      EXPECT_EQ(sinks[i]->finish, FinishReason::kLength);
      EXPECT_EQ(sinks[i]->tokens, want[i]) << "request " << i << " mtp " << mtp;
    }
    const SchedulerStats st = settled(s);
    EXPECT_GT(st.preemptions, 0) << "the pool was meant to run out of pages";
    EXPECT_EQ(st.kv_pages_used, 0);
    EXPECT_EQ(st.kv_pages_total, 6);
    EXPECT_EQ(st.tokens_out, int64_t(prompts.size()) * n_new);
  }
}

TEST(SchedulerPaged, AloneInAFullPoolEndsWithLength) {
  auto m = Model::load(test::data_path("tiny-v3"));
  SchedulerOptions opt;
  opt.ctx = 64;
  opt.page_tokens = 4;
  opt.kv_tokens = 16;
  Sink a;
  Scheduler s(*m, nullptr, opt);
  ASSERT_GT(s.submit(a.request({1, 2, 3, 4}, 40)), 0u);
  ASSERT_EQ(a.done.get_future().wait_for(std::chrono::seconds(60)), std::future_status::ready);
  EXPECT_EQ(a.finish, FinishReason::kLength);
  // Positions 0..15: the prompt's 4, then 12 fed tokens; the 13th token emitted needs no room.
  EXPECT_EQ(a.tokens.size(), 13u);
  EXPECT_EQ(a.tokens, test::greedy_alone(*m, {1, 2, 3, 4}, 13));
  EXPECT_EQ(settled(s).kv_pages_used, 0);
}

TEST(SchedulerPaged, PromptLargerThanPoolIsRefused) {
  auto m = Model::load(test::data_path("tiny-v3"));
  SchedulerOptions opt;
  opt.ctx = 64;
  opt.page_tokens = 8;
  opt.kv_tokens = 16;
  Sink a, b;
  Scheduler s(*m, nullptr, opt);
  EXPECT_THROW(s.submit(a.request(std::vector<int32_t>(16, 5), 4)), KvPoolTooSmall);
  ASSERT_GT(s.submit(b.request(std::vector<int32_t>(15, 5), 4)), 0u);  // 15 + 1 fit in 2 pages
  ASSERT_EQ(b.done.get_future().wait_for(std::chrono::seconds(60)), std::future_status::ready);
  EXPECT_EQ(b.finish, FinishReason::kLength);
}
