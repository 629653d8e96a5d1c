// Checkpoint conversion behind `dsv3 quantize`:
//   to FP8:  DeepSeek-V3 layout. Every linear projection of the tensor table (attention
//            q/kv/o projections, dense FFN, routed and shared experts, incl. those of MTP layers)
//            that is F32/BF16/F16 becomes F8_E4M3 + `<name>_scale_inv` (F32, 128x128 blocks,
//            s = amax/448, RNE); embeddings, lm_head, norms, router weight and bias, MTP
//            eh_proj / enorm / hnorm / shared_head.* / embed_tokens and any tensor the table
//            does not know are copied unchanged. config.json gains quantization_config
//            {"activation_scheme": "dynamic", "fmt": "e4m3", "quant_method": "fp8",
//             "weight_block_size": [128, 128]}.
//   to BF16: DeepSeek's fp8_cast_bf16: every F8_E4M3 tensor becomes bf16_RNE(float(w) * s)
//            (its scale is required: a missing one is an error, not a silent raw copy), the
//            `_scale_inv` tensors are dropped, all else copied; quantization_config is removed.
// The output folder gets config.json, model.safetensors (or shards of at most shard_bytes with
// model.safetensors.index.json, transformers' naming) and a copy of every other regular file
// of the input folder (tokenizer, generation_config, ...). Shards are written one at a time, so
// memory use is about one shard plus one tensor.
#pragma once
#include <cstdint>
#include <string>

namespace dsv3 {

enum class ConvertTarget { kFp8, kBf16 };

struct ConvertStats {
  int64_t converted = 0;               // tensors quantized (fp8) or dequantized (bf16)
  int64_t copied = 0;                  // tensors copied unchanged
  int64_t dropped = 0;                 // scale tensors dropped (bf16)
  size_t bytes_in = 0, bytes_out = 0;  // tensor bytes
  int64_t shards = 0;
};

// fp8_lm_head (to FP8 only; not DeepSeek's layout, which keeps the head in bf16): quantize
// lm_head.weight (and an MTP shared_head.head stored apart) too, as llama.cpp's Q8_0 files
// do with output.weight: the head is the largest matrix read per decoded token.
ConvertStats convert_checkpoint(const std::string& in_dir, const std::string& out_dir,
                                ConvertTarget to, size_t shard_bytes, bool fp8_lm_head = false);

}  // namespace dsv3
