// Scheduler: paged KV admission and preemption, chunked prefill + batched decode steps,
// sampling, cancellation.
#include "runtime/scheduler.h"

#include <algorithm>
#include <array>
#include <chrono>
#include <cmath>

#include "core/error.h"
#include "model/mtp.h"
#include "model/mtp_batch.h"

namespace dsv3 {

const char* finish_reason_name(FinishReason r) {
  switch (r) {
    case FinishReason::kStop: return "stop";
    case FinishReason::kLength: return "length";
    case FinishReason::kCancelled: return "cancelled";
    case FinishReason::kError: return "error";
    default: return "none";
  }
}

struct Scheduler::Seq {
  uint64_t id;
  SeqRequest req;
  Sampler sampler;
  std::vector<int32_t> toks;  // the prompt, then every emitted token
  std::vector<int32_t> pages;  // KV pool pages, shared by `cache` and `mtp_cache`
  std::unique_ptr<KvCache> cache, mtp_cache;
  int64_t target = 0;        // tokens to prefill: the prompt, or after preemption toks minus `pending`
  bool resumed = false;      // prefilling after preemption: no token is sampled at its end
  int64_t prefilled = 0;     // tokens of toks already in the cache
  int32_t pending = -1;      // sampled token not yet run through the model
  int64_t generated = 0;
  bool done = false;
  std::vector<float> draft_logits;  // MTP logits of the last pair (predicts the token after `pending`)
  bool has_draft = false;
  Seq(uint64_t i, SeqRequest r)
      : id(i), req(std::move(r)), sampler(req.sampling), toks(req.prompt),
        target(int64_t(req.prompt.size())) {}
  bool decoding() const { return !done && prefilled == target; }
};

namespace {
double now_s() {
  return std::chrono::duration<double>(std::chrono::steady_clock::now().time_since_epoch()).count();
}
}  // namespace

Scheduler::Scheduler(const Model& m, ThreadPool* pool, const SchedulerOptions& opt)
    : m_(m), pool_(pool), opt_(opt) {
  DSV3_CHECK(opt.max_seqs > 0 && opt.max_seqs <= 1024, "--parallel must be in [1, 1024]");
  DSV3_CHECK(opt.max_queue >= 0, "--queue must be >= 0");
  DSV3_CHECK(opt.prefill_chunk > 0, "prefill chunk must be > 0");
  DSV3_CHECK(opt.mtp_depth == 0 || opt.mtp_depth == 1, "the server drafts at most 1 MTP token per step");
  DSV3_CHECK(opt.mtp_depth == 0 || !m.mtp.empty(), "MTP requested but the checkpoint has no MTP module");
  DSV3_CHECK(opt.ctx > 0, "--ctx must be > 0, got ", opt.ctx);
  DSV3_CHECK(opt.page_tokens > 0, "KV page size must be > 0, got ", opt.page_tokens);
  DSV3_CHECK(opt.kv_tokens >= 0, "--kv-tokens must be >= 0, got ", opt.kv_tokens);
  const int64_t per_seq = (opt.ctx + opt.page_tokens - 1) / opt.page_tokens;
  const int64_t n_pages = opt.kv_tokens > 0 ? (opt.kv_tokens + opt.page_tokens - 1) / opt.page_tokens
                                            : opt.max_seqs * per_seq;
  kv_ = std::make_unique<KvPool>(m.config, m.config.num_hidden_layers + (opt.mtp_depth > 0 ? 1 : 0),
                                 n_pages, opt.page_tokens, opt.kv_dtype);
  stats_.kv_tokens_capacity = n_pages * opt.page_tokens;
  stats_.kv_pages_total = n_pages;
  thread_ = std::thread([this] { worker(); });
}

Scheduler::~Scheduler() {
  {
    std::lock_guard<std::mutex> lk(mu_);
    stop_ = true;
  }
  cv_.notify_all();
  thread_.join();
  for (auto& s : queue_) finish(*s, FinishReason::kCancelled);
  for (auto& s : running_) if (!s->done) finish(*s, FinishReason::kCancelled);
}

uint64_t Scheduler::submit(SeqRequest req) {
  DSV3_CHECK(!req.prompt.empty(), "empty prompt");
  DSV3_CHECK(req.max_new_tokens > 0, "max_tokens must be > 0");
  DSV3_CHECK(int64_t(req.prompt.size()) + req.max_new_tokens <= opt_.ctx, "prompt (",
             req.prompt.size(), " tokens) + max_tokens (", req.max_new_tokens,
             ") exceeds the context of ", opt_.ctx, " tokens");
  for (int32_t t : req.prompt)
    DSV3_CHECK(t >= 0 && t < m_.config.vocab_size, "token id ", t, " outside the vocabulary");
  DSV3_CHECK(req.top_logprobs <= 20, "top_logprobs must be <= 20");
  if (kv_->pages_for(int64_t(req.prompt.size()) + 1) > kv_->n_pages())
    throw KvPoolTooSmall(str("the prompt (", req.prompt.size(), " tokens) does not fit in the KV pool (",
                             kv_->n_pages() * kv_->page_tokens(), " tokens)"));
  Sampler validate(req.sampling);
  auto seq = std::make_unique<Seq>(0, std::move(req));
  seq->cache = std::make_unique<KvCache>(*kv_, &seq->pages, 0, m_.config.num_hidden_layers, opt_.ctx);
  if (opt_.mtp_depth > 0)
    seq->mtp_cache = std::make_unique<KvCache>(*kv_, &seq->pages, m_.config.num_hidden_layers, 1, opt_.ctx);
  std::lock_guard<std::mutex> lk(mu_);
  const int64_t free_seqs = std::max<int64_t>(0, opt_.max_seqs - int64_t(running_.size()));
  if (int64_t(queue_.size()) >= opt_.max_queue + free_seqs) {
    ++stats_.requests_rejected;
    return 0;
  }
  const uint64_t id = next_id_++;
  seq->id = id;
  ++stats_.requests_total;
  queue_.push_back(std::move(seq));
  cv_.notify_all();
  return id;
}

void Scheduler::cancel(uint64_t id) {
  std::lock_guard<std::mutex> lk(mu_);
  cancel_requests_.push_back(id);
  cv_.notify_all();
}

SchedulerStats Scheduler::stats() const {
  std::lock_guard<std::mutex> lk(mu_);
  return stats_;
}

void Scheduler::finish(Seq& s, FinishReason r, const std::string& err) {
  if (s.done) return;
  s.done = true;
  TokenEvent ev;
  ev.finish = r;
  ev.error = err;
  s.req.on_event(ev);
}

bool Scheduler::reserve(Seq& s, int64_t tokens) {
  while (int64_t(s.pages.size()) * kv_->page_tokens() < tokens) {
    const int32_t p = kv_->alloc();
    if (p < 0) return false;
    s.pages.push_back(p);
  }
  return true;
}

void Scheduler::release(Seq& s) {
  for (int32_t p : s.pages) kv_->release(p);
  s.pages.clear();
  s.cache->set_length(0);
  if (s.mtp_cache) s.mtp_cache->set_length(0);
}

void Scheduler::preempt(size_t i) {
  std::unique_ptr<Seq> s = std::move(running_[i]);
  running_.erase(running_.begin() + std::ptrdiff_t(i));
  release(*s);
  s->prefilled = 0;
  s->has_draft = false;
  if (s->generated > 0) {  // recompute everything before `pending`, then keep decoding
    s->target = int64_t(s->toks.size()) - 1;
    s->resumed = true;
  }
  ++stats_.preemptions;
  queue_.push_front(std::move(s));  // victims go youngest first, so older ones end up in front
}

void Scheduler::manage_pages() {
  // Running sequences take the page their next token needs, oldest first; when the pool is out
  // of pages the youngest running sequence makes room.
  for (size_t i = 0; i < running_.size();) {
    Seq& s = *running_[i];
    if (!s.decoding() || reserve(s, s.cache->length() + 1)) {
      ++i;
      continue;
    }
    size_t victim = running_.size() - 1;
    while (victim > i && running_[victim]->done) --victim;
    if (victim == i && i == 0) {  // alone (or with only finished ones) and the pool is full
      finish(s, FinishReason::kLength);
      ++i;
    } else if (victim == i) {
      preempt(i);  // the youngest needing a page: back to the queue, the rest keeps running
    } else {
      preempt(victim);  // retry i with the victim's pages
    }
  }
  // Admit from the queue in order while a request's pages (+ one page of headroom for each
  // running sequence) are free.
  while (!queue_.empty() && int64_t(running_.size()) < opt_.max_seqs) {
    Seq& s = *queue_.front();
    const int64_t need = kv_->pages_for(int64_t(s.toks.size()) + 1);
    if (need > kv_->n_pages()) {  // a preempted sequence that has outgrown the whole pool
      finish(s, FinishReason::kLength);
      queue_.pop_front();
      continue;
    }
    if (kv_->free_pages() < need + int64_t(running_.size())) break;
    DSV3_CHECK(reserve(s, int64_t(s.toks.size()) + 1), "KV pool accounting");
    s.cache->set_length(0);
    if (s.mtp_cache) s.mtp_cache->set_length(0);
    running_.push_back(std::move(queue_.front()));
    queue_.pop_front();
  }
}

void Scheduler::worker() {
  std::vector<Seq*> active;
  for (;;) {
    {
      std::unique_lock<std::mutex> lk(mu_);
      cv_.wait(lk, [&] { return stop_ || !queue_.empty() || !running_.empty(); });
      if (stop_) return;
      // Cancellations (queued or running).
      for (uint64_t id : cancel_requests_) {
        for (auto it = queue_.begin(); it != queue_.end(); ++it)
          if ((*it)->id == id) {
            finish(**it, FinishReason::kCancelled);
            queue_.erase(it);
            break;
          }
        for (auto& s : running_)
          if (s->id == id) finish(*s, FinishReason::kCancelled);
      }
      cancel_requests_.clear();
      // Retire finished sequences, freeing their pages; grow, preempt and admit.
      for (int pass = 0; pass < 2; ++pass) {
        for (auto& s : running_)
          if (s->done) release(*s);
        std::erase_if(running_, [](const auto& s) { return s->done; });
        if (pass == 0) manage_pages();  // may end sequences (kLength): retired by pass 1
      }
      stats_.queue_length = int64_t(queue_.size());
      stats_.active = int64_t(running_.size());
      int64_t used = 0;
      for (auto& s : running_) used += s->cache->length();
      stats_.kv_tokens_used = used;
      stats_.kv_pages_used = kv_->used_pages();
      active.clear();
      for (auto& s : running_) active.push_back(s.get());
      // Nothing running means the queue is empty too: an empty pool admits any queued request
      // (submit refused prompts larger than the pool).
      if (active.empty()) continue;
    }
    step(active);
  }
}

// Queues one sequence's MTP catch-up; run_mtp() runs all of a step's in one batched pass.
void Scheduler::mtp_catch_up(Seq& s, const float* hidden, const std::vector<int32_t>& next, int64_t start) {
  s.mtp_cache->set_length(start);
  s.draft_logits.resize(static_cast<size_t>(m_.config.vocab_size));
  mtp_jobs_.push_back({&s, hidden, next, start});
}

void Scheduler::run_mtp() {
  if (mtp_jobs_.empty()) return;
  std::vector<MtpChunk> chunks;
  for (auto& j : mtp_jobs_)
    chunks.push_back({j.s->mtp_cache.get(), j.hidden, j.next.data(), int64_t(j.next.size()), j.start,
                      j.s->draft_logits.data()});
  try {
    mtp_forward_batch(m_, 0, chunks, pool_, opt_.fwd);
    for (auto& j : mtp_jobs_) j.s->has_draft = true;
  } catch (const std::exception& e) {
    for (auto& j : mtp_jobs_) finish(*j.s, FinishReason::kError, e.what());
  }
  mtp_jobs_.clear();
}

void Scheduler::step(std::vector<Seq*>& active) {
  const int64_t V = m_.config.vocab_size, D = m_.config.hidden_size;
  const bool mtp = opt_.mtp_depth > 0;
  // Decoding sequences first ([pending] or [pending, draft]), then prompt chunks within the
  // prefill budget.
  std::vector<Seq*> batch;
  std::vector<int64_t> rows;
  std::vector<std::array<int32_t, 2>> dec_tokens(active.size());
  std::vector<std::vector<float>> q(active.size());
  int64_t budget = opt_.prefill_chunk;
  for (Seq* s : active) {
    if (!s->decoding()) continue;
    const size_t bi = batch.size();
    dec_tokens[bi][0] = s->pending;
    int64_t n = 1;
    Seq& sq = *s;
    const KvCache& c = *s->cache;
    if (mtp && s->has_draft && c.length() + 2 < opt_.ctx && s->generated + 1 < s->req.max_new_tokens &&
        reserve(sq, c.length() + 2)) {  // the draft row needs its page too (else no draft)
      s->sampler.distribution(s->draft_logits.data(), V, q[bi]);
      dec_tokens[bi][1] = s->sampler.greedy() ? argmax(s->draft_logits.data(), V) : s->sampler.sample_from(q[bi]);
      n = 2;
    }
    batch.push_back(s);
    rows.push_back(n);
  }
  const size_t n_decode = batch.size();
  for (Seq* s : active) {
    const int64_t left = s->target - s->prefilled;
    if (s->done || left == 0 || budget <= 0) continue;
    const int64_t n = std::min(left, budget);
    budget -= n;
    batch.push_back(s);
    rows.push_back(n);
  }
  if (batch.empty()) return;
  std::vector<std::vector<float>> logits(batch.size()), hidden(batch.size());
  std::vector<SeqChunk> chunks;
  for (size_t i = 0; i < batch.size(); ++i) {
    Seq* s = batch[i];
    KvCache* c = s->cache.get();
    const bool decode = i < n_decode;
    const int32_t* toks = decode ? dec_tokens[i].data() : s->toks.data() + s->prefilled;
    logits[i].resize(size_t(rows[i] * V));
    if (mtp) hidden[i].resize(size_t(rows[i] * D));
    chunks.push_back({c, toks, rows[i], c->length(), logits[i].data(), decode && rows[i] > 1,
                      mtp ? hidden[i].data() : nullptr});
  }
  std::string error;
  try {
    forward_batch(m_, chunks, pool_, opt_.fwd);
  } catch (const std::exception& e) {
    error = e.what();
  }
  int64_t produced = 0, drafted = 0, accepted = 0;
  // Emits one token; returns false when the sequence has ended.
  auto emit = [&](Seq* s, const float* lg, int32_t token) {
    TokenEvent ev;
    ev.token = token;
    if (s->req.top_logprobs >= 0) {
      const double lse = log_sum_exp(lg, V);
      ev.logprob = float(double(lg[ev.token]) - lse);
      std::vector<int32_t> idx(static_cast<size_t>(V));
      for (int64_t v = 0; v < V; ++v) idx[size_t(v)] = int32_t(v);
      const int64_t k = std::min<int64_t>(s->req.top_logprobs, V);
      std::partial_sort(idx.begin(), idx.begin() + k, idx.end(),
                        [&](int32_t a, int32_t b) { return lg[a] != lg[b] ? lg[a] > lg[b] : a < b; });
      for (int64_t j = 0; j < k; ++j) ev.top.push_back({idx[size_t(j)], float(double(lg[idx[size_t(j)]]) - lse)});
    }
    ++s->generated;
    s->toks.push_back(token);
    ++produced;
    {  // counted before the callback: stats read after a sequence's last event include it
      std::lock_guard<std::mutex> lk(mu_);
      ++stats_.tokens_out;
    }
    s->pending = token;
    const bool eos = !s->req.ignore_eos && token == m_.config.eos_token_id;
    const bool length = s->generated >= s->req.max_new_tokens ||
                        s->cache->length() + 1 >= opt_.ctx;
    if (eos) ev.finish = FinishReason::kStop;
    else if (length) ev.finish = FinishReason::kLength;
    const bool more = s->req.on_event(ev);
    if (ev.finish != FinishReason::kNone) s->done = true;
    else if (!more) finish(*s, FinishReason::kCancelled);
    return !s->done;
  };
  for (size_t i = 0; i < batch.size(); ++i) {
    Seq* s = batch[i];
    if (!error.empty()) {
      finish(*s, FinishReason::kError, error);
      continue;
    }
    KvCache& cache = *s->cache;
    if (i >= n_decode) {  // a prompt chunk (or a preempted sequence's recomputation)
      const int64_t begin = s->prefilled, P = s->target;
      s->prefilled += rows[i];
      if (!s->resumed) {
        std::lock_guard<std::mutex> lk(mu_);
        stats_.tokens_in += rows[i];
      }
      int32_t tok = -1;
      if (s->prefilled == P && !s->resumed) tok = s->sampler.sample(logits[i].data(), V);
      if (mtp) {  // pairs (h_j, t_{j+1}) of this chunk; the last one needs the sampled token
        std::vector<int32_t> next;
        for (int64_t j = begin; j < s->prefilled; ++j)
          next.push_back(j + 1 < int64_t(s->toks.size()) ? s->toks[size_t(j + 1)] : tok);
        mtp_catch_up(*s, hidden[i].data(), next, begin);
      }
      if (s->prefilled == P) s->resumed = false;  // decoding again from `pending`
      if (tok >= 0) emit(s, logits[i].data(), tok);
      continue;
    }
    const int64_t n0 = cache.length() - rows[i];  // position of `pending`
    if (rows[i] == 1) {
      const int32_t tok = s->sampler.sample(logits[i].data(), V);
      if (mtp) mtp_catch_up(*s, hidden[i].data(), {tok}, n0);
      emit(s, logits[i].data(), tok);
      continue;
    }
    // Verify the draft: accept it (then a bonus token from the 2nd row) or emit the correction.
    std::vector<float> p;
    s->sampler.distribution(logits[i].data(), V, p);
    bool ok = false;
    const int32_t t0 = s->sampler.speculative_step(p, q[i], dec_tokens[i][1], &ok);
    ++drafted;
    if (!ok) {
      cache.set_length(n0 + 1);  // roll back the rejected draft
      mtp_catch_up(*s, hidden[i].data(), {t0}, n0);
      emit(s, logits[i].data(), t0);
      continue;
    }
    ++accepted;
    const int32_t t1 = s->sampler.sample(logits[i].data() + V, V);
    mtp_catch_up(*s, hidden[i].data(), {t0, t1}, n0);
    if (emit(s, logits[i].data(), t0)) emit(s, logits[i].data() + V, t1);
  }
  run_mtp();
  const double t = now_s();
  std::lock_guard<std::mutex> lk(mu_);
  ++stats_.steps;
  stats_.mtp_drafted += drafted;
  stats_.mtp_accepted += accepted;
  rate_window_.push_back({t, produced});
  std::erase_if(rate_window_, [&](const auto& p) { return p.first < t - 10.0; });
  int64_t n = 0;
  for (auto& p : rate_window_) n += p.second;
  const double span = rate_window_.size() > 1 ? t - rate_window_.front().first : 0.0;
  stats_.decode_tokens_per_second = span > 0 ? double(n) / span : 0.0;
}

}  // namespace dsv3
