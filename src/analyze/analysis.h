// `dsv3 analyze` as a library call: every figure of the co-design calculator for one ArchSpec,
// with each model parameter an option whose default is the paper's value. Sections whose
// config fields are missing are kept in the report as "skipped" with the missing keys.
#pragma once
#include <optional>
#include <string>
#include <vector>

#include "analyze/arch_spec.h"
#include "analyze/ep_decode.h"
#include "analyze/flops.h"
#include "analyze/formats.h"
#include "analyze/network.h"
#include "analyze/report.h"
#include "analyze/roofline.h"
#include "analyze/training_cost.h"

namespace dsv3::analyze {

struct AnalyzeOptions {
  // KV cache
  std::vector<NumberFormat> kv_formats{{"bf16", 16}, {"fp8", 8}};
  int64_t ctx = 131072;                     // 128 K context
  std::string kv_baseline = "deepseek-v3";  // preset to compare bytes/token with; "" = none
  // training FLOPs
  FlopsOptions flops;
  // EP decode: hidden, experts per token and layers come from the model unless overridden
  EpDecodeParams ep;
  std::optional<int64_t> ep_hidden, ep_experts;
  std::string ep_layers = "all";            // "all" (paper), "moe", or a number
  std::vector<double> bandwidths{50, 900};  // GB/s: 400 Gb/s IB, GB200 NVL72
  // decode roofline
  RooflineParams roofline;
  std::vector<double> mem_bws{3350};  // GB/s, H800 HBM3
  std::vector<NumberFormat> weight_formats{{"bf16", 16}, {"fp8", 8}};
  // network and training cost
  NetworkParams network;
  TrainingCostParams training;
  double tokens_per_day = 272.80e9;  // paper Table 4 (MPFT), for the FLOPs/token back-out
  // Sections to compute (section_keys()); empty = all.
  std::vector<std::string> only;
};

// "model", "params", "kv_cache", "flops", "ep_decode", "roofline", "network", "training".
const std::vector<std::string>& section_keys();

// `spec` may be null only when every requested section is model-independent ("network").
// Throws dsv3::Error for bad options (unknown section, bad --ep-layers, unknown baseline).
Report analyze_model(const ArchSpec* spec, const AnalyzeOptions& o);

}  // namespace dsv3::analyze
