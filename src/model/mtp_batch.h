// Batched MTP catch-up for the server: several sequences' MTP chunks through the MTP module in
// one pass (projections, the MTP decoder layer and the shared head see all rows at once;
// attention runs per sequence against its own MTP cache). Equals separate mtp_forward() calls
// up to fp32 summation order.
#pragma once
#include <cstdint>
#include <vector>

#include "model/forward.h"
#include "model/model.h"

namespace dsv3 {

struct MtpChunk {
  KvCache* cache;               // the sequence's MTP cache (holds exactly `start` tokens)
  const float* hidden;          // [n, D] main-model final hidden states (after the final norm)
  const int32_t* next_tokens;   // [n] token following each hidden state's position
  int64_t n, start;
  float* logits;                // [V] draft logits of the chunk's last row
};

void mtp_forward_batch(const Model& m, int64_t k, const std::vector<MtpChunk>& chunks,
                       ThreadPool* pool, const ForwardOptions& opt = {});

}  // namespace dsv3
