// Memory-bandwidth roofline for single-sequence decode: each step reads the activated weights
// once (the input embedding only one row) plus the sequence's KV cache, so
//   tokens/s <= mem_bw / (weight bytes + KV bytes).
// With MTP (one draft token accepted with probability p), a step verifies 2 tokens and runs the
// MTP module, yielding 1 + p tokens. Its weight traffic lies between two bounds: the 2 tokens
// pick the same routed experts (upper tokens/s) or all-different ones (lower tokens/s).
#pragma once
#include <cstdint>

#include "analyze/arch_spec.h"
#include "analyze/formats.h"

namespace dsv3::analyze {

struct RooflineParams {
  double mem_bw_gbps = 3350;  // H800 HBM3, decimal GB/s
  NumberFormat weights{"fp8", 8};
  NumberFormat kv{"bf16", 16};
  int64_t ctx = 4096;            // tokens already cached for the sequence
  double mtp_acceptance = 0.85;  // V3 report: 85-90 % for the second token
};

struct RooflineResult {
  int64_t weight_bytes = 0;  // per decode step, one token
  int64_t kv_bytes = 0;      // per decode step
  double tokens_per_s = 0;
  bool has_mtp = false;             // the config has MTP modules (num_nextn_predict_layers > 0)
  double mtp_tokens_per_step = 0;   // 1 + p
  int64_t mtp_extra_bytes_min = 0;  // MTP module only (same experts for both tokens)
  int64_t mtp_extra_bytes_max = 0;  // + a second set of routed experts
  double mtp_tokens_per_s_upper = 0;
  double mtp_tokens_per_s_lower = 0;
};

// Throws MissingFields for absent config keys, dsv3::Error for bad parameters.
RooflineResult decode_roofline(const ArchSpec& s, const RooflineParams& p);

}  // namespace dsv3::analyze
