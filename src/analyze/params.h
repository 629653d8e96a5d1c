// Parameter counts of an ArchSpec, split by role (embedding, attention, dense FFN, routed and
// shared experts, router, norms, head, MTP), total and activated per token.
#pragma once
#include <cstdint>

#include "analyze/arch_spec.h"

namespace dsv3::analyze {

// Counts over the main model (layers 0..L-1); the MTP modules are counted separately.
// All FFNs are SwiGLU (gate, up, down: 3·d·width), which holds for every supported config.
struct ParamCounts {
  int64_t embedding = 0;       // V·d
  int64_t attention = 0;       // projections (+ biases), all layers
  int64_t dense_ffn = 0;       // dense-FFN layers
  int64_t routed_experts = 0;  // every routed expert of every MoE layer
  int64_t routed_active = 0;   // experts_per_token experts per MoE layer
  int64_t shared_experts = 0;  // always active
  int64_t router = 0;          // gate weight E·d (+ E correction biases for noaux_tc)
  int64_t norms = 0;           // RMSNorm weights (layer norms, MLA latent norms, final norm)
  int64_t head = 0;            // lm_head V·d (0 when tied to the embedding)
  int64_t mtp = 0;             // MTP modules: unique params (embedding and head are shared)
  int64_t mtp_active = 0;      // of which activated per token
  int64_t moe_layers = 0, dense_layers = 0;

  // All main-model parameters.
  int64_t total() const {
    return embedding + attention + dense_ffn + routed_experts + shared_experts + router + norms +
           head;
  }
  // Activated per token, both embeddings included (the convention behind V3's "37B").
  int64_t active() const {
    return embedding + attention + dense_ffn + routed_active + shared_experts + router + norms +
           head;
  }
  // Activated non-embedding matmul parameters (what 6·N counts; norms excluded, head excluded).
  int64_t active_body() const {
    return attention + dense_ffn + routed_active + shared_experts + router;
  }
};

// Throws MissingFields naming the config keys the count needs but the config lacks.
ParamCounts count_params(const ArchSpec& s);

// Per-layer attention parameters (projections and biases, no norms).
int64_t attention_params_per_layer(const ArchSpec& s);

}  // namespace dsv3::analyze
