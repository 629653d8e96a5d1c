// Writer for model.safetensors.index.json, the shard index of a Hugging Face checkpoint folder
// (read by io/checkpoint.h). Used by `dsv3 quantize` when it writes sharded output.
#pragma once
#include <cstdint>
#include <map>
#include <string>

#include <nlohmann/json.hpp>

namespace dsv3 {

// Writes DIR/model.safetensors.index.json exactly as transformers' save_pretrained does:
//   {"metadata": {<extra_metadata...>, "total_size": N}, "weight_map": {tensor: shard file}}
// serialised like json.dumps(index, indent=2, sort_keys=True) + "\n" (keys sorted by code point,
// non-ASCII escaped as \uXXXX). total_size is the sum of the tensors' byte sizes (not the file
// sizes). extra_metadata must be a JSON object or null; transformers adds "total_parameters".
// Shard names must be plain file names (same rule as Checkpoint::open) and weight_map non-empty;
// violations and I/O errors throw dsv3::Error naming the path and tensor. Written to a .tmp file
// and renamed.
void write_index(const std::string& dir, const std::map<std::string, std::string>& weight_map,
                 uint64_t total_size, const nlohmann::json& extra_metadata = nullptr);

// The index path inside DIR ("DIR/model.safetensors.index.json").
std::string index_path(const std::string& dir);

// True if `name` is a plain file name usable as a shard: non-empty, not "." or "..", and free of
// '/', '\\' and NUL.
bool is_plain_file_name(const std::string& name);

}  // namespace dsv3
