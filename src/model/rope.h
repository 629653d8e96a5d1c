// RoPE frequencies with YaRN correction, computed in fp32 exactly as torch does
// (architecture.md §8.3–8.4), or with Llama-3 scaling (HF rope_type "llama3"), and the
// per-position cos/sin (d/2 angles; which elements pair up is the caller's RopeStyle).
#pragma once
#include <cstdint>
#include <vector>

#include "model/config.h"

namespace dsv3 {

struct RopeTable {
  std::vector<float> inv_freq;  // d/2 entries, YaRN-corrected
  float attention_factor = 1.f; // amplitude on cos/sin (HF "attention_scaling"); 1 for released configs

  explicit RopeTable(const ModelConfig& c);
  // inv_freq[i] /= freq_factors[i]: GGUF's rope_freqs tensor (llama.cpp's form of Llama-3
  // scaling). dsv3::Error for a wrong count or a non-positive factor.
  void divide_by(const std::vector<float>& freq_factors);
  // Switches at() to ggml's angle recurrence (models loaded from GGUF, so that dsv3 and
  // llama.cpp rotate by the same fp32 angles): theta_0 = fp32(pos), theta_{i+1} = theta_i *
  // powf(freq_base, -2 / n_dims) rounded at every step, angle_i = theta_i / freq_factor_i.
  // The torch form (fp32(pos) * inv_freq[i]) differs from it by up to ~1e-6 relative, i.e.
  // ~1e-3 rad at position 1000. Only for plain RoPE (no YaRN, no HF llama3 rescaling):
  // dsv3::Error otherwise.
  void use_ggml_recurrence(const ModelConfig& c);
  // cos/sin of angle fp32(pos) * inv_freq[i] (or ggml's recurrence, above), times
  // attention_factor; d/2 values each.
  void at(int64_t pos, float* cos, float* sin) const;

 private:
  bool ggml_ = false;
  float ggml_theta_scale_ = 1.f;
  std::vector<float> freq_factors_;  // rope_freqs as given (empty: none)
};

}  // namespace dsv3
