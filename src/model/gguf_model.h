// Loading a model from one GGUF file (llama.cpp's format) of the dense architectures llama and
// qwen2: GGUF metadata (<arch>.block_count, .embedding_length, .attention.head_count(_kv),
// .rope.freq_base, ...) becomes a ModelConfig, GGUF tensor names (token_embd, blk.N.attn_q,
// ...) are mapped to the checkpoint names of the tensor table (model/tensor_table.h) and checked
// there (shape, dtype, missing and unexpected tensors), and weights are used in place from the
// mapping in their stored ggml type. llama.cpp's converter permutes the q/k rows of the llama
// architecture into interleaved RoPE pairs, so llama GGUFs run with RopeStyle::kInterleaved
// (same scores as HF's rotate-half on the unpermuted rows); qwen2 GGUFs are not permuted and
// keep rotate-half. Llama-3 rope scaling comes as the rope_freqs tensor (frequency divisors).
#pragma once
#include <memory>
#include <string>

#include "model/model.h"

namespace dsv3 {

// True if `path` names a GGUF file (ends in ".gguf").
bool is_gguf_path(const std::string& path);

// Opens and validates a GGUF model; every problem is a dsv3::Error naming the file and the
// metadata key or tensor at fault.
std::unique_ptr<Model> load_gguf(const std::string& path);

// Process-wide choice for GGUF models loaded from now on (default off): ggml's numerics for the
// fp32 ops (ModelConfig::ggml_numerics: RMSNorm, SiLU, RoPE angles, MLA absorption roundings,
// f16/bf16 activations), so that dsv3 computes what llama.cpp computes on the same file. Off,
// a GGUF of f32/bf16 weights gives the same bits as its HF folder. (`--numerics ggml`.)
void set_gguf_ggml_numerics(bool on);
bool gguf_ggml_numerics();

// The config a GGUF's metadata describes (used by load_gguf; exposed for tests and tools).
ModelConfig gguf_model_config(const GgufFile& f);

}  // namespace dsv3
