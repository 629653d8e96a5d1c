// Continuous-batching scheduler for the server: one worker thread runs decode steps in which
// every active sequence contributes its next token, and newly admitted sequences contribute a
// chunk of their prompt (chunked prefill, bounded per step so running streams are not stalled),
// all in one forward_batch() call. The latent cache is a paged pool (KvPool, pages of
// page_tokens positions): a sequence holds the pages its tokens need, taking a new one as it
// grows, and gives them all back when it ends. Admission: a queued request starts when fewer
// than max_seqs run and the pool has free pages for its prompt + 1 token plus one page of
// headroom per running sequence; otherwise it waits (FIFO) in a bounded queue, and submit()
// refuses it (returns 0; the server answers 429) when the queue is full. A prompt that needs
// more pages than the whole pool throws KvPoolTooSmall (the server answers 503). When a running
// sequence needs a page and none is free, the youngest running sequence is preempted: its pages
// are freed and it goes back to the front of the queue, to be recomputed from its prompt and
// the tokens it already emitted (no token is emitted twice). A sequence alone in the pool that
// fills it ends with kLength. Cancelling (client gone, stop string found) frees the pages
// before the next step.
#pragma once
#include <atomic>
#include <condition_variable>
#include <cstdint>
#include <deque>
#include <functional>
#include <memory>
#include <mutex>
#include <string>
#include <thread>
#include <vector>

#include "core/error.h"
#include "core/thread_pool.h"
#include "model/forward.h"
#include "model/model.h"
#include "runtime/kv_cache.h"
#include "runtime/sampler.h"

namespace dsv3 {

enum class FinishReason { kNone, kStop, kLength, kCancelled, kError };
const char* finish_reason_name(FinishReason r);  // "stop", "length", "cancelled", "error"

struct TokenEvent {
  int32_t token = -1;       // -1 when the event only reports the end (e.g. cancelled, error)
  float logprob = 0.f;      // log-probability of `token` under the model (log-softmax of logits)
  std::vector<std::pair<int32_t, float>> top;  // top_logprobs alternatives, most likely first
  FinishReason finish = FinishReason::kNone;   // set on the last event of a sequence
  std::string error;
};

struct SeqRequest {
  std::vector<int32_t> prompt;
  int64_t max_new_tokens = 256;
  SamplerParams sampling;
  bool ignore_eos = false;
  int top_logprobs = -1;  // -1: no logprobs; 0..20: logprob of the token plus that many alternatives
  // Called on the scheduler thread for every token and once more at the end (finish set).
  // Return false to stop the sequence (stop string found, client disconnected).
  std::function<bool(const TokenEvent&)> on_event;
};

struct SchedulerOptions {
  int64_t max_seqs = 4;        // sequences decoded together (running at once)
  int64_t ctx = 4096;          // most tokens of one sequence (prompt + generated)
  int64_t kv_tokens = 0;       // KV pool capacity in tokens (rounded up to pages); 0: max_seqs * ctx
  int64_t page_tokens = 64;    // positions per KV page
  int64_t max_queue = 64;      // waiting requests beyond the slots
  int64_t prefill_chunk = 256; // prompt rows per step, summed over admitted sequences
  DType kv_dtype = DType::F32;  // KV pool storage: F32, BF16 or F16 (--kv-type)
  ForwardOptions fwd;
  // 1: each decoding sequence drafts one token with the checkpoint's MTP module and the batched
  // step verifies [pending, draft] (2 rows) for it; 0: plain decoding.
  int64_t mtp_depth = 0;
};

struct SchedulerStats {
  int64_t requests_total = 0, requests_rejected = 0, tokens_in = 0, tokens_out = 0;
  int64_t queue_length = 0, active = 0, kv_tokens_used = 0, kv_tokens_capacity = 0;
  int64_t kv_pages_used = 0, kv_pages_total = 0, preemptions = 0;
  int64_t steps = 0;
  int64_t mtp_drafted = 0, mtp_accepted = 0;
  double decode_tokens_per_second = 0;  // over the last ~10 s of steps
};

// Thrown by submit() for a prompt that needs more KV pages than the whole pool holds.
struct KvPoolTooSmall : Error {
  using Error::Error;
};

class Scheduler {
 public:
  Scheduler(const Model& m, ThreadPool* pool, const SchedulerOptions& opt);
  ~Scheduler();  // stops the worker; pending and active sequences end with kCancelled
  Scheduler(const Scheduler&) = delete;
  Scheduler& operator=(const Scheduler&) = delete;

  // Queues a request; returns its id (> 0), or 0 if the queue is full. Throws dsv3::Error for a
  // request that can never run (empty prompt, prompt + max_new_tokens beyond ctx, bad sampling),
  // KvPoolTooSmall when its prompt alone exceeds the KV pool.
  uint64_t submit(SeqRequest req);
  // Asks the worker to stop a sequence (queued or running); its final event says kCancelled.
  void cancel(uint64_t id);
  SchedulerStats stats() const;
  const SchedulerOptions& options() const { return opt_; }

 private:
  struct Seq;
  void worker();
  void step(std::vector<Seq*>& active);
  void finish(Seq& s, FinishReason r, const std::string& err = "");
  bool reserve(Seq& s, int64_t tokens);  // grows s's page table to hold `tokens`; false if full
  void release(Seq& s);
  void preempt(size_t running_index);    // (mu_ held) back to the queue's front, pages freed
  void manage_pages();                   // (mu_ held) grow, preempt, admit

  const Model& m_;
  ThreadPool* pool_;
  SchedulerOptions opt_;
  void mtp_catch_up(Seq& s, const float* hidden, const std::vector<int32_t>& next, int64_t start);
  void run_mtp();  // the step's queued MTP catch-ups, batched over sequences
  struct MtpJob {
    Seq* s;
    const float* hidden;
    std::vector<int32_t> next;
    int64_t start;
  };
  std::vector<MtpJob> mtp_jobs_;  // worker thread only
  std::unique_ptr<KvPool> kv_;  // model layers, then the MTP layer when drafting
  mutable std::mutex mu_;
  std::condition_variable cv_;
  std::deque<std::unique_ptr<Seq>> queue_;
  std::vector<std::unique_ptr<Seq>> running_;
  std::vector<uint64_t> cancel_requests_;
  uint64_t next_id_ = 1;
  bool stop_ = false;
  SchedulerStats stats_;
  std::vector<std::pair<double, int64_t>> rate_window_;  // (time, tokens) of recent steps
  std::thread thread_;
};

}  // namespace dsv3
