// The one table of checkpoint tensors for DeepSeek-V2/V3 and the dense qwen2/llama (name pattern, role, shape from the
// config, allowed dtypes), shared by the loader and (later) the quantizer/converter.
// expected_tensors(config) expands the patterns for every layer, expert and MTP layer.
#pragma once
#include <cstdint>
#include <string>
#include <vector>

#include "core/dtype.h"
#include "model/config.h"

namespace dsv3 {

enum class TensorRole {
  kEmbedding,   // token embedding rows (never quantized)
  kNorm,        // RMSNorm weight (never quantized)
  kLinear,      // projection weight [out, in]; FP8 with block scales allowed
  kRouter,      // MoE gate weight [E, D] (never quantized)
  kRouterBias,  // e_score_correction_bias [E] (fp32)
  kHead,        // lm_head / shared_head.head (never quantized)
  kMtpProj,     // MTP eh_proj [D, 2D] (kept bf16 in DeepSeek-V3)
  kBias,        // projection bias [out] (GQA q/k/v/o; never quantized)
};

struct TensorSpec {
  std::string name;
  std::vector<int64_t> shape;
  TensorRole role;
  int64_t layer = -1;     // -1 for global tensors
  bool mtp = false;       // belongs to a multi-token-prediction layer
  bool optional = false;  // may be absent (e.g. MTP copies of embed/head, which alias the main ones)
};

// Every tensor a checkpoint with this config must (or may, if optional) contain.
std::vector<TensorSpec> expected_tensors(const ModelConfig& c);

// Whether `dt` is allowed for a tensor of this role. F8_E4M3 is allowed for kLinear only
// (with a `<name>_scale_inv` sibling), once FP8 support is enabled.
bool dtype_allowed(TensorRole role, DType dt);

}  // namespace dsv3
