// Training compute per token (paper Table 2), in GFLOP (forward + backward = 3 × forward).
//
// exact mode, every model: F = 6·(N_act_body + V·d) + 3·2·S·n_h·(d_qk + d_v)·L · c
//   (N_act_body = activated non-embedding matmul params, V·d = output head, c = 1/2 for causal
//   masking as FlashAttention counts it, 1 otherwise).
// paper mode: the paper's table mixes methods (../shared/docs/paper-tables.md §2): MoE rows are
//   the exact formula, dense rows are DeepSeek LLM's 6N2 = 72·L·d² + 6·V·d (classic 12·d² block).
#pragma once
#include <cstdint>
#include <string>

#include "analyze/arch_spec.h"

namespace dsv3::analyze {

struct FlopsOptions {
  int64_t seq_len = 4096;  // S; the paper's pre-training sequence length
  bool causal = true;      // halve the attention-score FLOPs (only the lower triangle)
};

struct TrainingFlops {
  double matmul_gflops = 0;     // 6·(N_act_body + V·d)
  double attention_gflops = 0;  // score + value FLOPs, fwd + bwd
  double exact_gflops = 0;      // matmul + attention
  double paper_gflops = 0;      // 6N2 for dense models, exact for MoE
  std::string paper_method;     // "6N2" or "6*N_act + attention"
  double mtp_gflops = 0;        // extra for the MTP modules (in neither figure; the paper omits it)
};

// Throws MissingFields naming absent config keys.
TrainingFlops training_flops(const ArchSpec& s, const FlopsOptions& o);

// DeepSeek LLM's 6N2 in GFLOP: 72·L·d² + 6·V·d.
double six_n2_gflops(int64_t layers, int64_t hidden, int64_t vocab);

// GFLOP per token implied by a measured throughput: tflops_per_gpu · gpus / tokens per second.
// (Paper Table 4: 385 TFLOPS causal × 2048 GPUs at 272.80 B tokens/day -> 249.72.)
double backout_gflops_per_token(double tflops_per_gpu, int64_t gpus, double tokens_per_day);

}  // namespace dsv3::analyze
