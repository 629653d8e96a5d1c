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
  // cos/sin of angle fp32(pos) * inv_freq[i], times attention_factor; d/2 values each.
  void at(int64_t pos, float* cos, float* sin) const;
};

}  // namespace dsv3
