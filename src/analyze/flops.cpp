// Training FLOPs per token: exact (6·N_act + attention) and the paper's mixed method.
#include "analyze/flops.h"

#include "analyze/params.h"

namespace dsv3::analyze {

double six_n2_gflops(int64_t L, int64_t d, int64_t V) {
  return (72.0 * double(L) * double(d) * double(d) + 6.0 * double(V) * double(d)) / 1e9;
}

double backout_gflops_per_token(double tflops_per_gpu, int64_t gpus, double tokens_per_day) {
  DSV3_CHECK(tokens_per_day > 0 && gpus > 0 && tflops_per_gpu > 0,
             "throughput back-out needs positive TFLOPS, GPU count and tokens/day");
  return tflops_per_gpu * 1e12 * double(gpus) / (tokens_per_day / 86400.0) / 1e9;
}

TrainingFlops training_flops(const ArchSpec& s, const FlopsOptions& o) {
  DSV3_CHECK(o.seq_len > 0, "sequence length must be > 0, got ", o.seq_len);
  Need need("training FLOPs");
  const int64_t L = need(s.num_layers), h = need(s.num_heads), d = need(s.hidden_size);
  const int64_t V = need(s.vocab_size);
  int64_t d_qk, d_v;
  if (s.attention == AttentionKind::kMLA) {
    d_qk = need(s.qk_nope_head_dim) + need(s.qk_rope_head_dim);
    d_v = need(s.v_head_dim);
  } else {
    d_qk = d_v = need(s.head_dim);
  }
  need.done();
  const ParamCounts p = count_params(s);  // throws its own MissingFields if needed

  TrainingFlops f;
  const double c = o.causal ? 0.5 : 1.0;
  const double attn_per_layer = 3.0 * 2.0 * double(o.seq_len) * double(h) * double(d_qk + d_v) * c;
  f.matmul_gflops = 6.0 * double(p.active_body() + V * d) / 1e9;
  f.attention_gflops = attn_per_layer * double(L) / 1e9;
  f.exact_gflops = f.matmul_gflops + f.attention_gflops;
  if (s.is_moe) {
    f.paper_gflops = f.exact_gflops;
    f.paper_method = "6*N_act + attention";
  } else {
    f.paper_gflops = six_n2_gflops(L, d, V);
    f.paper_method = "6N2";
  }
  if (s.num_mtp_layers > 0)
    f.mtp_gflops = (6.0 * double(p.mtp_active + s.num_mtp_layers * V * d) +
                    attn_per_layer * double(s.num_mtp_layers)) /
                   1e9;
  return f;
}

}  // namespace dsv3::analyze
