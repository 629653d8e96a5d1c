// Token sampling: greedy (temperature 0), or temperature with optional top-k and top-p,
// driven by a seeded xoshiro256** generator so a seed gives the same tokens on every machine.
#pragma once
#include <cstdint>
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
  int32_t sample(const float* logits, int64_t V);
  // Uniform double in [0, 1) from the generator (53 random bits).
  double uniform();

 private:
  SamplerParams p_;
  uint64_t s_[4];
  std::vector<std::pair<float, int32_t>> buf_;
};

int32_t argmax(const float* x, int64_t n);

}  // namespace dsv3
