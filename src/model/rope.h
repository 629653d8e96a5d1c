// RoPE frequencies with YaRN correction, computed in fp32 exactly as torch does
// (architecture.md §8.3–8.4), and the per-position cos/sin for interleaved pairs.
#pragma once
#include <cstdint>
#include <vector>

#include "model/config.h"

namespace dsv3 {

struct RopeTable {
  std::vector<float> inv_freq;  // d/2 entries, YaRN-corrected
  float attention_factor = 1.f; // amplitude on cos/sin (HF "attention_scaling"); 1 for released configs

  explicit RopeTable(const ModelConfig& c);
  // cos/sin of angle fp32(pos) * inv_freq[i], times attention_factor; d/2 values each.
  void at(int64_t pos, float* cos, float* sin) const;
};

}  // namespace dsv3
