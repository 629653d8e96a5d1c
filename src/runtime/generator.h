// Generator: prompt processing and token generation over one sequence, with optional
// self-speculative decoding by the checkpoint's MTP module (architecture.md §11.2).
//
// State invariant between rounds: the main cache holds positions [0, n) (tokens()), the
// pending token x_n has been emitted but not yet run through the model, and (with MTP) the MTP
// cache holds the pairs (h_i, t_{i+1}) for i < n, the last one being (h_{n-1}, x_n), whose logits
// give the next draft. A round drafts k tokens (module applied recurrently for k > 1), verifies
// [x_n, d_1..d_k] in one batched forward of the main model, accepts by greedy equality or by the
// rejection-sampling rule (so the output distribution is exactly that of plain sampling), then
// rolls both caches back to what plain decoding would hold.
#pragma once
#include <cstdint>
#include <functional>
#include <memory>
#include <vector>

#include "core/thread_pool.h"
#include "model/forward.h"
#include "model/model.h"
#include "runtime/kv_cache.h"
#include "runtime/sampler.h"

namespace dsv3 {

struct GenerateOptions {
  SamplerParams sampling;
  int64_t mtp_depth = 0;    // draft tokens per round; 0 = plain decoding
  bool ignore_eos = false;
};

struct GenerateStats {
  int64_t prompt_tokens = 0;      // tokens actually run through the model for the prompt
  int64_t generated = 0;          // tokens emitted
  int64_t decode_forwards = 0;    // main-model forwards after the prompt
  int64_t drafted = 0, accepted = 0;
  double prompt_seconds = 0, decode_seconds = 0;
};

class Generator {
 public:
  Generator(const Model& m, ThreadPool* pool, int64_t ctx, DType kv_dtype, const ForwardOptions& fwd,
            const GenerateOptions& opt);

  // Runs the prompt (reusing the longest cached prefix of the previous call), then emits up to
  // max_new tokens through on_token (return false to stop). Stops after EOS unless ignore_eos.
  void generate(const std::vector<int32_t>& prompt, int64_t max_new,
                const std::function<bool(int32_t)>& on_token);

  const GenerateStats& stats() const { return stats_; }
  const std::vector<int32_t>& tokens() const { return tokens_; }  // tokens in the main cache
  KvCache& cache() { return *cache_; }
  KvCache* mtp_cache() { return mtp_cache_.get(); }
  void reset();

 private:
  // Runs MTP over pairs [from, to) (needs hidden_ rows and token t_{i+1} = seq[i + 1]) and
  // leaves the last pair's logits in draft_logits_.
  void mtp_catch_up(const std::vector<int32_t>& seq, int64_t from, int64_t to);

  const Model& m_;
  ThreadPool* pool_;
  ForwardOptions fwd_;
  GenerateOptions opt_;
  Sampler sampler_;
  std::unique_ptr<KvCache> cache_, mtp_cache_;
  std::vector<int32_t> tokens_;
  std::vector<float> hidden_;        // [ctx, D] main hidden after the final norm (MTP input)
  std::vector<float> mtp_hidden_;    // [D] MTP output of the last pair (recurrent drafting)
  std::vector<float> draft_logits_;  // [V]
  // Decode-loop buffers, sized once (constructor / prompt) and reused for every step, so that
  // a warm decode loop does not allocate (tests/generator_alloc_test.cpp).
  std::vector<int32_t> seq_;           // all tokens including emitted ones
  std::vector<int32_t> chunk_, drafts_, next_;
  std::vector<float> step_logits_;     // [(mtp_depth + 1) * V]
  std::vector<float> step_hidden_;     // [(mtp_depth + 1) * D]
  std::vector<float> catch_h_;         // MTP catch-up hidden rows
  std::vector<std::vector<float>> qs_;  // [mtp_depth][V] draft distributions
  std::vector<float> p_;               // [V] target distribution of the current step
  GenerateStats stats_;
};

}  // namespace dsv3
