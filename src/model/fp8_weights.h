// FP8 checkpoints (docs/architecture.md §4): the quantization_config of config.json, binding
// of each F8_E4M3 weight to its `<name>_scale_inv` block scales, and the block quantizer /
// dequantizer used by `dsv3 quantize` (DeepSeek layout: 128x128 blocks, one fp32 multiplier
// per block, shape [ceil(rows/128), ceil(cols/128)], partial edge blocks not padded).
#pragma once
#include <cstdint>
#include <string>

#include <nlohmann/json.hpp>

#include "core/tensor.h"
#include "io/checkpoint.h"

namespace dsv3 {

struct Fp8Config {
  bool present = false;  // config.json has a quantization_config
  int64_t block_rows = 128, block_cols = 128;
  bool ue8m0 = false;  // scale_fmt == "ue8m0" (V3.1): activation scales rounded to powers of 2
};

// Parses config["quantization_config"] if present: quant_method must be "fp8", fmt (if given)
// "e4m3", weight_block_size [128, 128] (the only block the kernels implement); anything else is a
// dsv3::Error naming `path` and the field. Absent: 128x128 defaults, present = false.
Fp8Config parse_fp8_config(const nlohmann::json& config, const std::string& path);

// The name of the scale tensor of FP8 weight `name`: name + "_scale_inv".
std::string fp8_scale_name(const std::string& name);

// For the F8_E4M3 weight `t` (2-D) named `name`: finds `<name>_scale_inv` in the checkpoint,
// checks it is F32 of shape [ceil(rows/128), ceil(cols/128)] and sets view->block_scale.
// A missing or wrongly typed/shaped scale is a dsv3::Error naming the file and both tensors.
void attach_fp8_scale(const Checkpoint& ck, const StoredTensor& t, const std::string& name,
                      const Fp8Config& cfg, TensorView* view);

// True if `name` is "<X>_scale_inv" and X is an F8_E4M3 tensor of the checkpoint.
bool is_fp8_scale_of_weight(const Checkpoint& ck, const std::string& name);

// DeepSeek block quantization of w [R, C] (fp32): per 128x128 block s = amax / 448 (fp32
// division; an all-zero block gets s = 1), q = e4m3_RNE(w / s). q: R*C codes, s:
// ceil(R/128)*ceil(C/128) floats. Non-finite input is a dsv3::Error naming `what`.
void quantize_fp8_blocks(const float* w, int64_t R, int64_t C, uint8_t* q, float* s,
                         const std::string& what);

// fp8_cast_bf16: out[r, c] = bf16_RNE(float(e4m3(q[r, c])) * s[r/128, c/128]).
void dequant_fp8_to_bf16(const uint8_t* q, const float* s, int64_t R, int64_t C, uint16_t* out);

}  // namespace dsv3
