// YaRN inverse frequencies (HF _compute_yarn_parameters semantics, truncate = true).
#include "model/rope.h"

#include <algorithm>
#include <cmath>

namespace dsv3 {

namespace {
double yarn_get_mscale(double scale, double mscale) {
  return scale <= 1.0 ? 1.0 : 0.1 * mscale * std::log(scale) + 1.0;
}
}  // namespace

RopeTable::RopeTable(const ModelConfig& c) {
  const int64_t d = c.qk_rope_head_dim;
  const int64_t half = d / 2;
  const float base = float(c.rope_theta);
  std::vector<float> pos_freqs(static_cast<size_t>(half));
  for (int64_t i = 0; i < half; ++i) pos_freqs[size_t(i)] = std::pow(base, float(2 * i) / float(d));
  inv_freq.resize(static_cast<size_t>(half));
  if (!c.rope.yarn) {
    for (int64_t i = 0; i < half; ++i) inv_freq[size_t(i)] = 1.0f / pos_freqs[size_t(i)];
    return;
  }
  const double s = c.rope.factor;
  const double L0 = double(c.rope.original_max_position_embeddings);
  auto corr_dim = [&](double n_rot) {
    return (double(d) * std::log(L0 / (n_rot * 2.0 * M_PI))) / (2.0 * std::log(c.rope_theta));
  };
  double low = std::max(std::floor(corr_dim(c.rope.beta_fast)), 0.0);
  double high = std::min(std::ceil(corr_dim(c.rope.beta_slow)), double(d - 1));
  if (low == high) high += 0.001;
  for (int64_t i = 0; i < half; ++i) {
    const float extrap = 1.0f / pos_freqs[size_t(i)];
    const float interp = 1.0f / (float(s) * pos_freqs[size_t(i)]);
    float ramp = (float(i) - float(low)) / float(high - low);
    ramp = std::clamp(ramp, 0.0f, 1.0f);
    const float extrap_factor = 1.0f - ramp;
    inv_freq[size_t(i)] = interp * (1.0f - extrap_factor) + extrap * extrap_factor;
  }
  // HF: attention_factor = mscale/mscale_all_dim ratio when both are set, else get_mscale(s).
  if (c.rope.mscale != 0.0 && c.rope.mscale_all_dim != 0.0)
    attention_factor = float(yarn_get_mscale(s, c.rope.mscale) / yarn_get_mscale(s, c.rope.mscale_all_dim));
  else
    attention_factor = float(yarn_get_mscale(s, 1.0));
}

void RopeTable::at(int64_t pos, float* cos, float* sin) const {
  const float p = float(pos);
  for (size_t i = 0; i < inv_freq.size(); ++i) {
    const float a = p * inv_freq[i];
    cos[i] = std::cos(a) * attention_factor;
    sin[i] = std::sin(a) * attention_factor;
  }
}

}  // namespace dsv3
