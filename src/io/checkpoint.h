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
  static std::unique_ptr<Checkpoint> open(const std::string& dir);

  const std::string& dir() const { return dir_; }
  const nlohmann::json& config() const { return config_; }  // parsed config.json
  // nullptr if absent.
  const StoredTensor* find(const std::string& name) const;
  const std::map<std::string, const StoredTensor*>& tensors() const { return index_; }
  // Total bytes of all tensors (for the memory report).
  size_t total_bytes() const;

 private:
  std::string dir_;
  nlohmann::json config_;
  std::vector<std::unique_ptr<SafetensorsFile>> files_;
  std::map<std::string, const StoredTensor*> index_;
};

}  // namespace dsv3
