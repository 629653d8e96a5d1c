// GGUF files of llama.cpp's "deepseek2" architecture (DeepSeek-V2/V2-Lite/V3 as written by
// llama.cpp's convert_hf_to_gguf.py) mapped onto the DeepSeek tensor table (tensor_table.h):
// deepseek2.* metadata -> the equivalent HF config.json (so ModelConfig::from_json validates it),
// GGUF tensor names -> HF names with PyTorch-layout views into the mapping.
//
// Both attention layouts llama.cpp reads:
//   * MLA split (converters since the absorption change; what llama-cpp-python 0.3.36 writes):
//     blk.N.attn_k_b.weight ggml [d_nope, r_kv, H] (W_UK transposed per head) and
//     blk.N.attn_v_b.weight ggml [r_kv, d_v, H], with attention.key_length_mla/value_length_mla;
//   * older: one blk.N.attn_kv_b.weight ggml [r_kv, H*(d_nope+d_v)], head dims in
//     attention.key_length (d_nope + d_rope) and attention.value_length (d_v).
// The split layout is re-assembled into kv_b_proj [H*(d_nope+d_v), r_kv] (per head W_UK rows,
// then W_UV rows) at load: bit-exact in the file's dtype for F32/F16/BF16, dequantised to F32
// for block types (k_b's blocks run along d_nope, kv_b_proj's rows along r_kv).
// Merged experts (ffn_{gate,up,down}_exps, ggml [.., .., E]) become per-expert views (each a
// contiguous slice). Routing: expert_gating_func 2 = sigmoid, else softmax; a
// blk.N.exp_probs_b.bias tensor = noaux_tc (V3); expert_group_count > 1 = group-limited greedy.
// YaRN: rope.scaling.yarn_log_multiplier = 0.1 * mscale_all_dim (llama.cpp writes only that
// one; mscale is taken equal to it, which is what llama.cpp computes too). MTP layers
// (converter skips them) are not loaded; tensors of layers >= block_count are ignored.
#pragma once
#include <cstdint>
#include <map>
#include <memory>
#include <string>
#include <vector>

#include <nlohmann/json.hpp>

#include "core/tensor.h"
#include "io/gguf.h"
#include "model/config.h"
#include "model/model.h"

namespace dsv3 {

// True if general.architecture is "deepseek2".
bool gguf_is_deepseek2(const GgufFile& g);

// The HF config.json equivalent of the deepseek2.* keys (model_type deepseek_v3 when routing is
// sigmoid + noaux_tc, else deepseek_v2). Missing required keys are a dsv3::Error naming them.
nlohmann::json deepseek2_gguf_config_json(const GgufFile& g);

// Views of every tensor named as in the HF checkpoint (tensor_table.h names). Tensors rebuilt
// at load (kv_b_proj of the split layout) live in `owned`, which must outlive the views.
// Unknown tensor names, wrong shapes and unsupported ggml types are dsv3::Error naming the
// GGUF tensor. Shapes are checked against `c` by the caller (Model binding).
std::map<std::string, TensorView> deepseek2_gguf_views(const GgufFile& g, const ModelConfig& c,
                                                       std::vector<std::vector<uint8_t>>* owned);

// Completes `m`, whose m->gguf is an open deepseek2 GGUF: config, RoPE table, views checked
// against the tensor table (shape; dtype: the checkpoint dtypes or a ggml block type for
// projections, embedding and head), rebuilt kv_b_proj tensors kept in m->owned_tensors.
// Called by load_gguf (model/gguf_model.h) for general.architecture "deepseek2".
std::unique_ptr<Model> load_gguf_deepseek2(std::unique_ptr<Model> m);

}  // namespace dsv3
