// Training GPU-hours and dollar cost.
#include "analyze/training_cost.h"

#include "core/error.h"

namespace dsv3::analyze {

TrainingCost training_cost(double gflops_per_token, const TrainingCostParams& p) {
  DSV3_CHECK(p.train_tokens > 0, "training tokens must be > 0");
  DSV3_CHECK(p.gpus > 0, "GPU count must be > 0");
  DSV3_CHECK(p.context_ext_gpu_hours >= 0 && p.post_train_gpu_hours >= 0 && p.gpu_hour_price >= 0,
             "GPU-hours and price must be >= 0");
  TrainingCost c;
  if (p.pretrain_gpu_hours) {
    DSV3_CHECK(*p.pretrain_gpu_hours >= 0, "pre-training GPU-hours must be >= 0");
    c.pretrain_gpu_hours = *p.pretrain_gpu_hours;
  } else {
    DSV3_CHECK(p.achieved_tflops > 0, "achieved TFLOPS must be > 0");
    DSV3_CHECK(gflops_per_token > 0, "FLOPs per token must be > 0");
    c.pretrain_gpu_hours =
        p.train_tokens * gflops_per_token * 1e9 / (p.achieved_tflops * 1e12) / 3600.0;
    c.pretrain_computed = true;
  }
  c.pretrain_days = c.pretrain_gpu_hours / double(p.gpus) / 24.0;
  c.gpu_hours_per_trillion = c.pretrain_gpu_hours / (p.train_tokens / 1e12);
  c.total_gpu_hours = c.pretrain_gpu_hours + p.context_ext_gpu_hours + p.post_train_gpu_hours;
  c.cost_usd = c.total_gpu_hours * p.gpu_hour_price;
  return c;
}

}  // namespace dsv3::analyze
