// Training GPU-hours and cost: pre-training from tokens × FLOPs/token ÷ achieved FLOP/s (or a
// reported figure), plus context extension and post-training (V3 report: 2,664 K + 119 K + 5 K
// = 2,788 K H800 GPU-hours, $5.576 M at $2 per GPU-hour).
#pragma once
#include <cstdint>
#include <optional>

namespace dsv3::analyze {

struct TrainingCostParams {
  double train_tokens = 14.8e12;             // V3 pre-training corpus
  double achieved_tflops = 385;              // per GPU, causal counting (paper Table 4)
  int64_t gpus = 2048;                       // H800 cluster
  std::optional<double> pretrain_gpu_hours;  // reported value; computed when empty
  double context_ext_gpu_hours = 119e3;      // 32 K then 128 K extension
  double post_train_gpu_hours = 5e3;         // SFT + RL
  double gpu_hour_price = 2.0;               // USD
};

struct TrainingCost {
  double pretrain_gpu_hours = 0;
  bool pretrain_computed = false;  // from FLOPs (true) or given (false)
  double pretrain_days = 0;        // on `gpus` GPUs
  double gpu_hours_per_trillion = 0;
  double total_gpu_hours = 0;
  double cost_usd = 0;
};

// `gflops_per_token` is used only when pretrain_gpu_hours is empty. Throws dsv3::Error on
// non-positive or negative inputs.
TrainingCost training_cost(double gflops_per_token, const TrainingCostParams& p);

}  // namespace dsv3::analyze
