// Decode roofline with and without MTP self-drafting.
#include "analyze/roofline.h"

#include <cmath>

#include "analyze/kv_cache.h"
#include "analyze/params.h"

namespace dsv3::analyze {

static int64_t bytes_of(int64_t params, double bits) {
  const long double b = std::ceil(static_cast<long double>(params) * bits / 8.0L);
  DSV3_CHECK(b < 9.2e18L, "size overflow: weight bytes too large");
  return static_cast<int64_t>(b);
}

RooflineResult decode_roofline(const ArchSpec& s, const RooflineParams& p) {
  DSV3_CHECK(p.mem_bw_gbps > 0, "roofline: memory bandwidth must be > 0");
  DSV3_CHECK(p.mtp_acceptance >= 0 && p.mtp_acceptance <= 1,
             "roofline: MTP acceptance must be in [0, 1], got ", p.mtp_acceptance);
  const ParamCounts c = count_params(s);
  RooflineResult r;
  const int64_t d = *s.hidden_size.value;  // present: count_params needed it
  r.weight_bytes = bytes_of(c.active() - c.embedding + d, p.weights.bits);
  r.kv_bytes = kv_bytes_for_context(s, p.kv, p.ctx);
  const double bw = p.mem_bw_gbps * 1e9;
  r.tokens_per_s = bw / (double(r.weight_bytes) + double(r.kv_bytes));
  r.has_mtp = s.num_mtp_layers > 0;
  if (r.has_mtp) {
    r.mtp_tokens_per_step = 1.0 + p.mtp_acceptance;
    r.mtp_extra_bytes_min = bytes_of(c.mtp_active, p.weights.bits);
    r.mtp_extra_bytes_max = bytes_of(c.mtp_active + c.routed_active, p.weights.bits);
    const double base = double(r.weight_bytes) + double(r.kv_bytes);
    r.mtp_tokens_per_s_upper = r.mtp_tokens_per_step * bw / (base + double(r.mtp_extra_bytes_min));
    r.mtp_tokens_per_s_lower = r.mtp_tokens_per_step * bw / (base + double(r.mtp_extra_bytes_max));
  }
  return r;
}

}  // namespace dsv3::analyze
