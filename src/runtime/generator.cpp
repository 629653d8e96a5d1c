// Generator: plain and MTP-speculative decoding loops with cache rollback.
#include "runtime/generator.h"

#include <algorithm>
#include <chrono>

#include "core/error.h"
#include "model/mtp.h"

namespace dsv3 {

namespace {
double seconds_since(std::chrono::steady_clock::time_point t) {
  return std::chrono::duration<double>(std::chrono::steady_clock::now() - t).count();
}
}  // namespace

Generator::Generator(const Model& m, ThreadPool* pool, int64_t ctx, DType kv_dtype,
                     const ForwardOptions& fwd, const GenerateOptions& opt)
    : m_(m), pool_(pool), fwd_(fwd), opt_(opt), sampler_(opt.sampling) {
  const ModelConfig& c = m.config;
  DSV3_CHECK(opt.mtp_depth >= 0 && opt.mtp_depth <= 16, "--mtp must be in [0, 16], got ", opt.mtp_depth);
  if (opt.mtp_depth > 0)
    DSV3_CHECK(!m.mtp.empty(), "--mtp ", opt.mtp_depth, ": this checkpoint has no MTP module (num_nextn_predict_layers = 0)");
  cache_ = std::make_unique<KvCache>(c, c.num_hidden_layers, ctx, kv_dtype);
  if (opt.mtp_depth > 0) {
    mtp_cache_ = std::make_unique<KvCache>(c, 1, ctx, kv_dtype);
    hidden_.resize(static_cast<size_t>(ctx * c.hidden_size));
    mtp_hidden_.resize(static_cast<size_t>(c.hidden_size));
    draft_logits_.resize(static_cast<size_t>(c.vocab_size));
  }
  const size_t V = size_t(c.vocab_size), D = size_t(c.hidden_size), k = size_t(opt.mtp_depth);
  seq_.reserve(size_t(ctx) + k + 2);
  chunk_.reserve(k + 1);
  drafts_.reserve(k);
  next_.reserve(size_t(ctx) + 1);
  step_logits_.resize((k + 1) * V);
  step_hidden_.resize((k + 1) * D);
  if (k > 0) catch_h_.reserve((k + 1) * D);
  qs_.assign(k, std::vector<float>(V));
  p_.reserve(V);
}

void Generator::reset() {
  tokens_.clear();
  cache_->set_length(0);
  if (mtp_cache_) mtp_cache_->set_length(0);
}

void Generator::mtp_catch_up(const std::vector<int32_t>& seq, int64_t from, int64_t to) {
  if (to <= from) return;
  const int64_t D = m_.config.hidden_size;
  next_.assign(seq.begin() + from + 1, seq.begin() + to + 1);
  catch_h_.resize(static_cast<size_t>((to - from) * D));
  ForwardOptions o = fwd_;
  o.all_logits = false;
  mtp_forward(m_, 0, *mtp_cache_, hidden_.data() + from * D, next_.data(), to - from, from,
              draft_logits_.data(), pool_, o, nullptr, catch_h_.data());
  std::copy(catch_h_.end() - D, catch_h_.end(), mtp_hidden_.begin());
}

void Generator::generate(const std::vector<int32_t>& prompt, int64_t max_new,
                         const std::function<bool(int32_t)>& on_token) {
  const ModelConfig& c = m_.config;
  const int64_t V = c.vocab_size, D = c.hidden_size, P = int64_t(prompt.size());
  DSV3_CHECK(P > 0, "empty prompt");
  DSV3_CHECK(P + 1 <= cache_->ctx(), "prompt of ", P, " tokens does not fit the context (--ctx ", cache_->ctx(), ")");
  stats_ = {};
  const bool mtp = opt_.mtp_depth > 0;

  // Reuse the longest common prefix of the cache; at least one prompt token is re-run.
  int64_t L = 0;
  while (L < int64_t(tokens_.size()) && L < P && tokens_[size_t(L)] == prompt[size_t(L)]) ++L;
  L = std::min(L, P - 1);
  cache_->set_length(L);
  tokens_.assign(prompt.begin(), prompt.end());

  auto t0 = std::chrono::steady_clock::now();
  const int64_t S = P - L;
  // The prompt's hidden rows go straight to hidden_ (the MTP input), its last logits to
  // step_logits_.
  forward(m_, *cache_, prompt.data() + L, S, L, step_logits_.data(), pool_, fwd_, nullptr,
          mtp ? hidden_.data() + L * D : nullptr);
  stats_.prompt_tokens = S;
  int32_t x = sampler_.sample(step_logits_.data(), V);
  std::vector<int32_t>& seq = seq_;
  seq.assign(prompt.begin(), prompt.end());
  seq.push_back(x);
  if (mtp) {
    // Pairs i < L - 1 use tokens that did not change; redo the rest.
    const int64_t valid = std::min<int64_t>(mtp_cache_->length(), std::max<int64_t>(0, L - 1));
    mtp_cache_->set_length(valid);
    mtp_catch_up(seq, valid, P);
  }
  stats_.prompt_seconds = seconds_since(t0);
  auto t1 = std::chrono::steady_clock::now();

  auto emit = [&](int32_t tok) {
    ++stats_.generated;
    const bool more = on_token(tok);
    const bool eos = !opt_.ignore_eos && tok == c.eos_token_id;
    return more && !eos && stats_.generated < max_new;
  };
  if (max_new <= 0 || !emit(x)) {
    stats_.decode_seconds = seconds_since(t1);
    return;
  }
  std::vector<float>& p = p_;
  std::vector<int32_t>& drafts = drafts_;
  std::vector<int32_t>& chunk = chunk_;
  std::vector<float>& lg = step_logits_;
  std::vector<float>& hid = step_hidden_;
  while (true) {
    const int64_t n = cache_->length();  // x is token n
    if (n + 1 > cache_->ctx()) break;    // context full
    const int64_t k = mtp ? std::min<int64_t>(opt_.mtp_depth, cache_->ctx() - n - 1) : 0;
    // Draft k tokens with the MTP module (recurrently for k > 1).
    drafts.clear();
    for (int64_t j = 0; j < k; ++j) {
      if (j > 0) {
        ForwardOptions o = fwd_;
        o.all_logits = false;
        const int32_t prev = drafts.back();
        // mtp_forward reads its hidden input before it writes out_hidden (same row is fine).
        mtp_forward(m_, 0, *mtp_cache_, mtp_hidden_.data(), &prev, 1, mtp_cache_->length(),
                    draft_logits_.data(), pool_, o, nullptr, mtp_hidden_.data());
      }
      std::vector<float>& qj = qs_[size_t(j)];
      sampler_.distribution(draft_logits_.data(), V, qj);
      drafts.push_back(sampler_.greedy() ? argmax(draft_logits_.data(), V) : sampler_.sample_from(qj));
    }
    // Verify [x, d_1..d_k] in one forward of the main model.
    chunk.assign(1, x);
    chunk.insert(chunk.end(), drafts.begin(), drafts.end());
    const int64_t S2 = int64_t(chunk.size());
    ForwardOptions o = fwd_;
    o.all_logits = true;
    forward(m_, *cache_, chunk.data(), S2, n, lg.data(), pool_, o, nullptr, mtp ? hid.data() : nullptr);
    ++stats_.decode_forwards;
    tokens_.push_back(x);
    int64_t m = 0;  // accepted drafts
    int32_t next = -1;
    bool go_on = true;
    for (int64_t j = 0; j < k; ++j) {
      sampler_.distribution(lg.data() + j * V, V, p);
      bool acc = false;
      const int32_t t = sampler_.speculative_step(p, qs_[size_t(j)], drafts[size_t(j)], &acc);
      ++stats_.drafted;
      if (!acc) {
        next = t;
        break;
      }
      ++stats_.accepted;
      ++m;
      tokens_.push_back(t);
      seq.push_back(t);
      if (!emit(t)) { go_on = false; break; }
    }
    if (go_on && next < 0) next = sampler_.sample(lg.data() + m * V, V);  // bonus token
    // Roll back: keep positions [0, n + 1 + m) = x and the accepted drafts.
    cache_->set_length(n + 1 + m);
    if (!go_on) break;
    if (mtp) {
      std::copy(hid.begin(), hid.begin() + (m + 1) * D, hidden_.begin() + n * D);
      mtp_cache_->set_length(n);
      seq.push_back(next);
      mtp_catch_up(seq, n, n + 1 + m);
    } else {
      seq.push_back(next);
    }
    x = next;
    if (!emit(x)) break;
  }
  stats_.decode_seconds = seconds_since(t1);
}

}  // namespace dsv3
