// YaRN inverse frequencies (HF _compute_yarn_parameters semantics, truncate = true).
#include "model/rope.h"

#include <algorithm>
#include <cmath>

#include "core/error.h"

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
  if (c.rope.llama3) {
    // HF _compute_llama3_parameters, in fp32 as torch computes it: wavelengths shorter than
    // original/high_freq_factor keep their frequency, longer than original/low_freq_factor are
    // divided by factor, and the band between is interpolated by `smooth`.
    const float factor = float(c.rope.factor), lo = float(c.rope.low_freq_factor),
                hi = float(c.rope.high_freq_factor);
    const float old_ctx = float(c.rope.original_max_position_embeddings);
    const float low_wavelen = old_ctx / lo, high_wavelen = old_ctx / hi;
    for (int64_t i = 0; i < half; ++i) {
      const float f = 1.0f / pos_freqs[size_t(i)];
      const float wavelen = float(2 * M_PI) / f;
      float g = wavelen > low_wavelen ? f / factor : f;
      if (!(wavelen < high_wavelen) && !(wavelen > low_wavelen)) {
        const float smooth = (old_ctx / wavelen - lo) / (hi - lo);
        g = (1.0f - smooth) * g / factor + smooth * g;
      }
      inv_freq[size_t(i)] = g;
    }
    return;
  }
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

void RopeTable::divide_by(const std::vector<float>& freq_factors) {
  DSV3_CHECK(freq_factors.size() == inv_freq.size(), "rope_freqs has ", freq_factors.size(),
             " values, expected ", inv_freq.size(), " (rope dimension / 2)");
  for (size_t i = 0; i < inv_freq.size(); ++i) {
    DSV3_CHECK(freq_factors[i] > 0 && std::isfinite(freq_factors[i]),
               "rope_freqs[", i, "] must be a positive number, got ", freq_factors[i]);
    inv_freq[i] /= freq_factors[i];
  }
  freq_factors_ = freq_factors;
}

void RopeTable::use_ggml_recurrence(const ModelConfig& c) {
  DSV3_CHECK(!c.rope.yarn && !c.rope.llama3, "ggml RoPE recurrence: only plain RoPE is supported");
  ggml_ = true;
  ggml_theta_scale_ = std::pow(float(c.rope_theta), -2.0f / float(c.qk_rope_head_dim));
}

void RopeTable::at(int64_t pos, float* cos, float* sin) const {
  if (ggml_) {
    float theta = float(pos);
    for (size_t i = 0; i < inv_freq.size(); ++i) {
      const float a = freq_factors_.empty() ? theta : theta / freq_factors_[i];
      cos[i] = std::cos(a) * attention_factor;
      sin[i] = std::sin(a) * attention_factor;
      theta *= ggml_theta_scale_;
    }
    return;
  }
  const float p = float(pos);
  for (size_t i = 0; i < inv_freq.size(); ++i) {
    const float a = p * inv_freq[i];
    cos[i] = std::cos(a) * attention_factor;
    sin[i] = std::sin(a) * attention_factor;
  }
}

}  // namespace dsv3
