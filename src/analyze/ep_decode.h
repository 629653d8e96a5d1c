// Theoretical decode time per output token under expert parallelism (paper §2.3.2): each
// device holds one expert and handles T tokens; per MoE layer and micro-batch, a dispatch
// (b_d bytes/element) and a combine (b_c) all-to-all move T·k·H elements through the device's
// link; computation is assumed fully hidden behind communication (dual micro-batch overlap).
//
//   comm  = (b_d + b_c) · T · k · H / BW           one micro-batch, both all-to-alls
//   layer = micro_batches · comm + 2 · micro_batches · latency
//   TPOT  = layers · layer,   tokens/s per sequence = 1 / TPOT
#pragma once
#include <cstdint>

namespace dsv3::analyze {

struct EpDecodeParams {
  double dispatch_bytes = 1.0;     // FP8 dispatch (1 B/element; 1.03125 with 4-B per-128 scales)
  double combine_bytes = 2.0;      // BF16 combine
  int64_t tokens_per_device = 32;  // T
  int64_t experts_per_token = 9;   // k = routed top-k + shared experts (V3: 8 + 1)
  int64_t hidden = 7000;           // H; the paper's "7K" is exactly 7000 (7168 does not fit)
  double bandwidth_gbps = 50.0;    // per-device link bandwidth, decimal GB/s (400 Gb/s IB)
  int64_t micro_batches = 2;
  int64_t layers = 61;      // the paper multiplies by all 61 layers (58 are MoE)
  double latency_us = 0.0;  // per all-to-all crossing; the paper ignores it
};

struct EpDecodeResult {
  double bytes_per_microbatch = 0;  // per device per layer
  double comm_us = 0;               // one micro-batch, dispatch + combine
  double layer_us = 0;
  double tpot_ms = 0;
  double tokens_per_s = 0;  // per sequence
};

// Throws dsv3::Error for non-positive parameters (naming them).
EpDecodeResult ep_decode(const EpDecodeParams& p);

}  // namespace dsv3::analyze
