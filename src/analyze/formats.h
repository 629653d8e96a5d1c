// Storage formats for weights and KV cache entries, as bits per element, by name.
#pragma once
#include <string>
#include <vector>

namespace dsv3::analyze {

struct NumberFormat {
  std::string name;  // as given: "bf16", "fp8", "q4_k", "6bit"
  double bits;       // storage bits per element, incl. per-block scales where the format has them
};

// Known names: f32/fp32 (32), bf16/f16/fp16 (16), fp8/e4m3/e5m2/int8 (8), int4/fp4 (4),
// q8_0 (8.5: 32 int8 + one f16 scale), q6_k (6.5625), q4_k (4.5), or "<bits>bit" such as
// "6bit" (the 6-bit KV of deployed DeepSeek-V2) or "4.5bit". Unknown names throw dsv3::Error.
NumberFormat parse_format(const std::string& name);
// Comma-separated list of formats; an empty list is an error naming `flag`.
std::vector<NumberFormat> parse_format_list(const std::string& list, const std::string& flag);
// Comma-separated list of positive numbers (e.g. "--bandwidth 50,900"); errors name `flag`.
std::vector<double> parse_number_list(const std::string& list, const std::string& flag);

}  // namespace dsv3::analyze
