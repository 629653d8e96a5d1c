// Token sampling: greedy (temperature 0), or temperature with optional top-k and top-p,
// driven by a seeded xoshiro256** generator so a seed gives the same tokens on every machine.
#pragma once
#include <cstdint>
#include <utility>
#include <vector>

namespace dsv3 {

struct SamplerParams {
  float temperature = 0.f;  // 0 = greedy (argmax, ties to the lower id)
  int64_t top_k = 0;        // 0 = off
  float top_p = 1.f;        // 1 = off
  uint64_t seed = 0;
};

class Sampler {
 public:
  explicit Sampler(const SamplerParams& p);
  // Picks a token from logits[0..V). Validates parameters on construction.
  // Equivalent to sample_from(distribution(logits)).
  int32_t sample(const float* logits, int64_t V);
  // The distribution sample() draws from: softmax(logits / T) truncated by top-k then top-p
  // and renormalised (one-hot at the argmax for greedy). p has V entries.
  void distribution(const float* logits, int64_t V, std::vector<float>& p) const;
  // Inverse-CDF draw in token-id order from a distribution over V tokens.
  int32_t sample_from(const std::vector<float>& p);
  // Speculative-sampling step (Leviathan et al. / Chen et al.): `draft` was drawn from q; accept
  // it with probability min(1, p[draft] / q[draft]); otherwise draw from max(0, p - q)
  // renormalised. Returns the emitted token and sets *accepted. The emitted token is
  // distributed exactly as p. With one-hot p and q (greedy) it accepts iff argmaxes agree.
  int32_t speculative_step(const std::vector<float>& p, const std::vector<float>& q, int32_t draft,
                           bool* accepted);
  bool greedy() const { return p_.temperature == 0.f; }
  // Uniform double in [0, 1) from the generator (53 random bits).
  double uniform();

 private:
  SamplerParams p_;
  uint64_t s_[4];
  // Work buffers reused across calls (a warm decode loop does not allocate); they carry no
  // state between calls.
  mutable std::vector<std::pair<float, int32_t>> sorted_;
  mutable std::vector<double> prob_;
  struct Cand {
    float z;      // logit / temperature
    int32_t id;
    double p;     // softmax probability
  };
  mutable std::vector<Cand> cands_, head_;
  mutable std::vector<double> bucket_mass_;
  std::vector<float> tmp_;
};

int32_t argmax(const float* x, int64_t n);
// log(sum_i exp(x[i])) in double, max-subtracted (for log-probabilities and perplexity).
double log_sum_exp(const float* x, int64_t n);

}  // namespace dsv3
