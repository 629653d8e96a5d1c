// Model: a loaded DeepSeek-V2/V3 checkpoint — its ModelConfig and views of every weight,
// used in place from the mmap'd safetensors files (no copy, stored dtype kept).
// Weight names follow the checkpoint (q_a_proj, kv_b_proj, e_score_correction_bias, ...);
// shapes are [out, in] as in PyTorch Linear.
#pragma once
#include <functional>
#include <memory>
#include <string>
#include <vector>

#include "core/tensor.h"
#include "io/checkpoint.h"
#include "io/gguf.h"
#include "model/config.h"
#include "model/rope.h"

namespace dsv3 {

struct AttentionWeights {
  TensorView q_proj;               // [H*d_qk, D]   only when q_lora_rank == 0
  TensorView q_a_proj;             // [r_q, D]
  TensorView q_a_layernorm;        // [r_q]
  TensorView q_b_proj;             // [H*d_qk, r_q]
  TensorView kv_a_proj_with_mqa;   // [r_kv + d_rope, D]   rows: latent first, then k_pe
  TensorView kv_a_layernorm;       // [r_kv]
  TensorView kv_b_proj;            // [H*(d_nope + d_v), r_kv]  per head: W_UK rows then W_UV rows
  TensorView o_proj;               // [D, H*d_v]
  // GQA (qwen2, llama): q_proj [H*hd, D] and o_proj above, plus K/V projections and biases
  // (data == nullptr when the config has none).
  TensorView k_proj, v_proj;       // [Hkv*hd, D]
  TensorView q_bias;               // [H*hd]
  TensorView k_bias, v_bias;       // [Hkv*hd]
  TensorView o_bias;               // [D]
};

struct FfnWeights {  // SwiGLU: down(silu(gate x) * up x)
  TensorView gate_proj, up_proj, down_proj;
};

struct MoeWeights {
  TensorView gate;                     // router [E, D]
  TensorView e_score_correction_bias;  // [E] fp32, V3 only (data == nullptr otherwise)
  std::vector<FfnWeights> experts;     // E routed experts
  FfnWeights shared_experts;           // one SwiGLU of width n_shared * moe_intermediate_size
  bool has_shared = false;
};

struct LayerWeights {
  TensorView input_layernorm, post_attention_layernorm;  // [D]
  AttentionWeights attn;
  bool is_moe = false;
  FfnWeights mlp;  // dense layers
  MoeWeights moe;  // MoE layers
};

// Multi-token-prediction module k (checkpoint layer num_hidden_layers + k).
struct MtpWeights {
  TensorView enorm, hnorm;          // [D]
  TensorView eh_proj;               // [D, 2D]  input = concat(enorm(emb), hnorm(h))
  LayerWeights layer;               // a full decoder layer
  TensorView shared_head_norm;      // [D]
  TensorView embed_tokens, head;    // [V, D]; alias the main ones when absent from the file
};

struct Model {
  ModelConfig config;
  std::unique_ptr<Checkpoint> checkpoint;  // HF folder (null for a GGUF file)
  std::unique_ptr<GgufFile> gguf;          // GGUF file (null for an HF folder)
  std::vector<std::vector<uint8_t>> owned_tensors;  // rebuilt at load (deepseek2 GGUF kv_b_proj)
  TensorView embed_tokens;  // [V, D]
  TensorView norm;          // [D]
  TensorView lm_head;       // [V, D] (= embed_tokens when tied)
  std::vector<LayerWeights> layers;
  std::vector<MtpWeights> mtp;
  std::unique_ptr<RopeTable> rope;  // YaRN-corrected frequencies for this config

  // Opens an HF checkpoint folder, parses config.json into ModelConfig and checks every
  // tensor against the tensor table: missing, unexpected, wrongly shaped or typed tensors
  // are a dsv3::Error naming the file and the tensor.
  // A path ending in ".gguf" (a file) is loaded by load_gguf (model/gguf_model.h) instead.
  static std::unique_ptr<Model> load(const std::string& dir);

  // Binds every weight view (globals, layers, MTP) from checkpoint-named tensors; `get`
  // returns an empty view for an absent name. Shared by the HF and GGUF loaders.
  void bind_weights(const std::function<TensorView(const std::string&)>& get);

  size_t weight_bytes() const;  // bytes of all tensors the forward pass can touch
};

}  // namespace dsv3
