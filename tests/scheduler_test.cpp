// Continuous batching: several sequences decoded together give the same greedy tokens as
// decoding each alone (HF-checked path), the queue refuses work beyond its bound, and a
// cancelled sequence frees its slot for the next request.
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

using test::Collector;

TEST(Scheduler, BatchedGreedyEqualsSequential) {
 for (int64_t mtp : {0, 1}) {
  // The built-in model: a trained MTP head, so drafts really get accepted (~95%).
  auto m = Model::load(DSV3_BUILTIN_MODEL_DIR);
  std::vector<std::vector<int32_t>> prompts = {{0, 5, 6, 7}, {9, 8, 7, 6, 5, 4, 3, 2, 1}, {100}, {42, 43}};
  ThreadPool pool(2);
  SchedulerOptions opt;
  opt.mtp_depth = mtp;  // MTP drafts verified inside the batched step must not change tokens
  opt.max_seqs = 3;  // 4 requests: one waits in the queue, then joins mid-stream
  opt.ctx = 128;
  opt.prefill_chunk = 4;  // forces chunked prefill alongside decoding
  // Collectors outlive the scheduler: its worker may still be inside a callback (unlocking
  // the collector's mutex) after the final event has woken this thread.
  std::vector<std::unique_ptr<Collector>> cs;
  Scheduler s(*m, &pool, opt);
  for (auto& p : prompts) {
    cs.push_back(std::make_unique<Collector>());
    ASSERT_GT(s.submit(cs.back()->request(p, 24)), 0u);
  }
  for (size_t i = 0; i < prompts.size(); ++i) {
    ASSERT_EQ(cs[i]->done.get_future().wait_for(std::chrono::seconds(120)), std::future_status::ready);
    EXPECT_EQ(cs[i]->finish, FinishReason::kLength);
    EXPECT_EQ(cs[i]->tokens, test::greedy_alone(*m, prompts[i], 24)) << "request " << i << " mtp " << mtp;
  }
  auto st = s.stats();
  EXPECT_EQ(st.tokens_out, 4 * 24);
  EXPECT_EQ(st.requests_total, 4);
  if (mtp) {
    EXPECT_GT(st.mtp_drafted, 0);
    EXPECT_GT(st.mtp_accepted, 0);
    EXPECT_LT(st.steps, 4 * 24 + 10);  // accepted drafts save steps
  }
 }
}

TEST(Scheduler, QueueBoundAndCancellation) {
  auto m = Model::load(test::data_path("tiny-v3"));
  SchedulerOptions opt;
  opt.max_seqs = 1;
  opt.max_queue = 1;
  opt.ctx = 512;
  Collector a, b, c;  // declared first: outlive the scheduler's worker
  Scheduler s(*m, nullptr, opt);
  a.gated = true;
  const uint64_t ia = s.submit(a.request({1, 2, 3}, 400));
  ASSERT_GT(ia, 0u);
  ASSERT_EQ(a.first_token.get_future().wait_for(std::chrono::seconds(60)), std::future_status::ready);
  ASSERT_GT(s.submit(b.request({4, 5}, 4)), 0u);  // waits for the slot
  // The slot is taken and the queue holds one: a third is refused.
  EXPECT_EQ(s.submit(c.request({6}, 4)), 0u);
  EXPECT_GE(s.stats().requests_rejected, 1);
  s.cancel(ia);
  a.release.set_value();
  ASSERT_EQ(a.done.get_future().wait_for(std::chrono::seconds(60)), std::future_status::ready);
  EXPECT_EQ(a.finish, FinishReason::kCancelled);
  EXPECT_LT(a.tokens.size(), 400u);
  ASSERT_EQ(b.done.get_future().wait_for(std::chrono::seconds(60)), std::future_status::ready);
  EXPECT_EQ(b.finish, FinishReason::kLength);
  EXPECT_EQ(b.tokens.size(), 4u);
}

TEST(Scheduler, CallbackStopEndsSequence) {
  auto m = Model::load(test::data_path("tiny-v3"));
  SchedulerOptions opt;
  opt.ctx = 64;
  Collector a;  // declared first: outlives the scheduler's worker
  Scheduler s(*m, nullptr, opt);
  a.stop_after_first = true;  // e.g. a stop string matched, or the client went away
  ASSERT_GT(s.submit(a.request({1, 2}, 20)), 0u);
  ASSERT_EQ(a.done.get_future().wait_for(std::chrono::seconds(60)), std::future_status::ready);
  EXPECT_EQ(a.finish, FinishReason::kCancelled);
  EXPECT_EQ(a.tokens.size(), 1u);
}

TEST(Scheduler, RejectsImpossibleRequests) {
  auto m = Model::load(test::data_path("tiny-v3"));
  SchedulerOptions opt;
  opt.ctx = 16;
  Collector a;  // declared first: outlives the scheduler's worker
  Scheduler s(*m, nullptr, opt);
  EXPECT_THROW(s.submit(a.request({1, 2, 3}, 14)), Error);
  EXPECT_THROW(s.submit(a.request({}, 4)), Error);
  EXPECT_THROW(s.submit(a.request({1, 99999}, 4)), Error);
}
