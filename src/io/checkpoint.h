// A Hugging Face checkpoint folder as published: config.json plus either model.safetensors or
// model.safetensors.index.json with its shards. All shards are memory-mapped; tensors are
// looked up by their checkpoint name. Validation against the model's tensor table (shapes,
// dtypes, missing/unexpected names) is done by the model layer (src/model/tensor_table.h).
#pragma once
#include <map>
#include <memory>
#include <string>
#include <vector>

#include <nlohmann/json.hpp>

#include "io/safetensors.h"

namespace dsv3 {

class Checkpoint {
 public:
  // Opens DIR; errors (missing config.json, malformed JSON, index naming a missing shard, a
  // tensor listed in the index but absent from its shard or present in two shards) name the file.
  // Which weights are read, in transformers' order of preference:
  //   1. DIR/model.safetensors if it exists;
  //   2. else DIR/model.safetensors.index.json: {"weight_map": {tensor: shard file}} (other keys
  //      ignored). Shard names must be plain file names (no '/' or backslash, not "." or "..";
  //      symlinks are fine, as in the HF hub cache). Every shard must exist, every listed
  //      tensor must be in its shard, and every tensor of a shard must be listed, for that shard;
  //   3. else every DIR/*.safetensors, in name order.
  // A tensor name found in two files is an error naming both. Each file is validated by
  // SafetensorsFile::open.
  static std::unique_ptr<Checkpoint> open(const std::string& dir);

  const std::string& dir() const { return dir_; }
  const nlohmann::json& config() const { return config_; }  // parsed config.json
  // nullptr if absent.
  const StoredTensor* find(const std::string& name) const;
  const std::map<std::string, const StoredTensor*>& tensors() const { return index_; }
  // Total bytes of all tensors (for the memory report).
  size_t total_bytes() const;
  // Bytes of all mapped files (tensors + headers), and bytes copied off the mmap (0 for files
  // written by the safetensors library; see SafetensorsFile::copied_bytes).
  size_t mapped_bytes() const;
  size_t copied_bytes() const;
  // One line for the load report: "4 files, 16.4 KiB mapped, 7 tensors (16.4 KiB)".
  std::string memory_summary() const;
  // The opened weight files, in load order.
  const std::vector<std::unique_ptr<SafetensorsFile>>& files() const { return files_; }
  // Which layout was found: "model.safetensors", "model.safetensors.index.json" or "*.safetensors".
  const std::string& layout() const { return layout_; }

 private:
  void add_file(std::unique_ptr<SafetensorsFile> f);

  std::string layout_;
  std::string dir_;
  nlohmann::json config_;
  std::vector<std::unique_ptr<SafetensorsFile>> files_;
  std::map<std::string, const StoredTensor*> index_;
};

}  // namespace dsv3
