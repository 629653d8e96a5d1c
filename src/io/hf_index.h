// Writers for Hugging Face checkpoint folders (read back by io/checkpoint.h): the shard index
// model.safetensors.index.json, and sharded weights split as huggingface_hub splits them.
// Used by `dsv3 quantize`.
#pragma once
#include <cstdint>
#include <map>
#include <string>
#include <utility>
#include <vector>

#include <nlohmann/json.hpp>

#include "io/safetensors.h"

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

// How tensors are split into shard files.
struct ShardPlan {
  // (file name, indices into the tensor list) per shard, in file order.
  std::vector<std::pair<std::string, std::vector<size_t>>> shards;
  uint64_t total_size = 0;  // sum of nbytes
};

// Splits tensors, in the given order, exactly like huggingface_hub's
// split_state_dict_into_shards (used by save_pretrained / save_torch_state_dict): a tensor larger
// than max_shard_bytes gets a shard of its own (appended at once, before the shard being filled);
// otherwise it joins the current shard unless that would exceed max_shard_bytes, which starts a
// new one. One shard is named model.safetensors; N > 1 are model-0000i-of-0000N.safetensors.
// No deduplication of shared storage (our tensors never alias). Throws dsv3::Error if
// max_shard_bytes is 0 or the list is empty.
ShardPlan plan_shards(const std::vector<TensorToWrite>& tensors, uint64_t max_shard_bytes);

// Writes the tensors into DIR as plan_shards splits them (each shard with write_safetensors and
// `metadata`), plus the index (write_index with extra_index_metadata) when there is more than
// one shard. DIR must exist. Returns the plan.
ShardPlan write_sharded(const std::string& dir, const std::vector<TensorToWrite>& tensors,
                        uint64_t max_shard_bytes,
                        const std::map<std::string, std::string>& metadata = {},
                        const nlohmann::json& extra_index_metadata = nullptr);

}  // namespace dsv3
