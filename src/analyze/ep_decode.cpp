// EP decode TPOT model of paper §2.3.2.
#include "analyze/ep_decode.h"

#include "core/error.h"

namespace dsv3::analyze {

EpDecodeResult ep_decode(const EpDecodeParams& p) {
  DSV3_CHECK(
      p.dispatch_bytes >= 0 && p.combine_bytes >= 0 && p.dispatch_bytes + p.combine_bytes > 0,
      "EP decode: dispatch/combine bytes must be >= 0 and not both 0");
  DSV3_CHECK(p.tokens_per_device > 0, "EP decode: tokens per device must be > 0");
  DSV3_CHECK(p.experts_per_token > 0, "EP decode: experts per token must be > 0");
  DSV3_CHECK(p.hidden > 0, "EP decode: hidden size must be > 0");
  DSV3_CHECK(p.bandwidth_gbps > 0, "EP decode: bandwidth must be > 0");
  DSV3_CHECK(p.micro_batches > 0, "EP decode: micro-batches must be > 0");
  DSV3_CHECK(p.layers > 0, "EP decode: layers must be > 0");
  DSV3_CHECK(p.latency_us >= 0, "EP decode: latency must be >= 0");
  EpDecodeResult r;
  r.bytes_per_microbatch = (p.dispatch_bytes + p.combine_bytes) * double(p.tokens_per_device) *
                           double(p.experts_per_token) * double(p.hidden);
  DSV3_CHECK(r.bytes_per_microbatch < 1e18, "EP decode: bytes per micro-batch overflow");
  r.comm_us = r.bytes_per_microbatch / (p.bandwidth_gbps * 1e9) * 1e6;
  r.layer_us = double(p.micro_batches) * r.comm_us + 2.0 * double(p.micro_batches) * p.latency_us;
  r.tpot_ms = double(p.layers) * r.layer_us / 1e3;
  r.tokens_per_s = 1e3 / r.tpot_ms;
  return r;
}

}  // namespace dsv3::analyze
