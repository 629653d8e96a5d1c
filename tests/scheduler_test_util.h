// Helpers shared by the scheduler tests: a Collector that records one sequence's events (and
// can hold the worker on its first token), and the reference greedy tokens of decoding a
// prompt alone with the Generator (contiguous cache). Declare collectors BEFORE the scheduler:
// its worker may still be inside a callback after the final event woke the test thread.
#pragma once
#include <future>
#include <mutex>
#include <vector>

#include "model/model.h"
#include "runtime/generator.h"
#include "runtime/scheduler.h"

namespace dsv3::test {

struct Collector {
  std::mutex mu;
  std::vector<int32_t> tokens;
  FinishReason finish = FinishReason::kNone;
  std::promise<void> done;
  bool stop_after_first = false;
  // gated: the first token event holds the scheduler thread until `release` is set, so a test
  // can act while this sequence is known to occupy its slot (no timing assumptions).
  bool gated = false;
  std::promise<void> first_token, release;
  SeqRequest request(std::vector<int32_t> prompt, int64_t n) {
    SeqRequest r;
    r.prompt = std::move(prompt);
    r.max_new_tokens = n;
    r.ignore_eos = true;
    r.on_event = [this](const TokenEvent& e) {
      if (gated && e.token >= 0) {
        gated = false;
        first_token.set_value();
        release.get_future().wait();
      }
      std::lock_guard<std::mutex> lk(mu);
      if (e.token >= 0) tokens.push_back(e.token);
      if (e.finish != FinishReason::kNone) {
        finish = e.finish;
        done.set_value();
      }
      return !stop_after_first;
    };
    return r;
  }
};

// Greedy tokens of decoding `prompt` alone (Generator, ctx 128, f32 cache, EOS ignored).
inline std::vector<int32_t> greedy_alone(const Model& m, const std::vector<int32_t>& prompt,
                                         int64_t n) {
  GenerateOptions go;
  go.ignore_eos = true;
  Generator g(m, nullptr, 128, DType::F32, {}, go);
  std::vector<int32_t> out;
  g.generate(prompt, n, [&](int32_t t) {
    out.push_back(t);
    return true;
  });
  return out;
}

}  // namespace dsv3::test
