// model.safetensors.index.json writer (transformers' formatting) and huggingface_hub-style
// sharding.
#include "io/hf_index.h"

#include <cerrno>
#include <cstdio>
#include <cstring>
#include <filesystem>
#include <fstream>

#include "core/error.h"

namespace dsv3 {

std::string index_path(const std::string& dir) {
  return (std::filesystem::path(dir) / "model.safetensors.index.json").string();
}

bool is_plain_file_name(const std::string& name) {
  return !name.empty() && name != "." && name != ".." && name.find('/') == std::string::npos &&
         name.find('\\') == std::string::npos && name.find('\0') == std::string::npos;
}

void write_index(const std::string& dir, const std::map<std::string, std::string>& weight_map,
                 uint64_t total_size, const nlohmann::json& extra_metadata) {
  const std::string path = index_path(dir);
  DSV3_CHECK(!weight_map.empty(), path, ": weight_map is empty");
  DSV3_CHECK(extra_metadata.is_null() || extra_metadata.is_object(), path,
             ": extra metadata must be a JSON object");
  nlohmann::json meta = extra_metadata.is_null() ? nlohmann::json::object() : extra_metadata;
  meta["total_size"] = total_size;
  nlohmann::json wm = nlohmann::json::object();
  for (const auto& [tensor, shard] : weight_map) {
    DSV3_CHECK(is_plain_file_name(shard), path, ": tensor '", tensor, "': shard name '", shard,
               "' is not a plain file name");
    wm[tensor] = shard;
  }
  nlohmann::json idx = {{"metadata", std::move(meta)}, {"weight_map", std::move(wm)}};
  std::string text;
  try {
    text = idx.dump(2, ' ', /*ensure_ascii=*/true) + "\n";
  } catch (const nlohmann::json::exception& e) {
    fail(path, ": cannot serialise (names must be valid UTF-8): ", e.what());
  }
  const std::string tmp = path + ".tmp";
  {
    std::ofstream f(tmp, std::ios::binary | std::ios::trunc);
    DSV3_CHECK(f, tmp, ": cannot create: ", std::strerror(errno));
    f << text;
    f.close();
    if (!f) {
      std::remove(tmp.c_str());
      fail(tmp, ": write failed");
    }
  }
  std::error_code ec;
  std::filesystem::rename(tmp, path, ec);
  if (ec) {
    std::remove(tmp.c_str());
    fail(path, ": cannot rename ", tmp, ": ", ec.message());
  }
}

ShardPlan plan_shards(const std::vector<TensorToWrite>& tensors, uint64_t max_shard_bytes) {
  DSV3_CHECK(max_shard_bytes > 0, "plan_shards: max shard size must be positive");
  DSV3_CHECK(!tensors.empty(), "plan_shards: no tensors to write");
  ShardPlan plan;
  std::vector<std::vector<size_t>> groups;
  std::vector<size_t> current;
  uint64_t current_size = 0;
  for (size_t i = 0; i < tensors.size(); ++i) {
    const uint64_t n = tensors[i].nbytes;
    plan.total_size += n;
    if (n > max_shard_bytes) {
      groups.push_back({i});
      continue;
    }
    if (current_size + n > max_shard_bytes) {
      groups.push_back(std::move(current));
      current.clear();
      current_size = 0;
    }
    current.push_back(i);
    current_size += n;
  }
  if (!current.empty()) groups.push_back(std::move(current));
  const size_t k = groups.size();
  for (size_t g = 0; g < k; ++g) {
    char name[64];
    std::snprintf(name, sizeof name, "model-%05zu-of-%05zu.safetensors", g + 1, k);
    plan.shards.emplace_back(k == 1 ? std::string("model.safetensors") : std::string(name),
                             std::move(groups[g]));
  }
  return plan;
}

ShardPlan write_sharded(const std::string& dir, const std::vector<TensorToWrite>& tensors,
                        uint64_t max_shard_bytes,
                        const std::map<std::string, std::string>& metadata,
                        const nlohmann::json& extra_index_metadata) {
  ShardPlan plan = plan_shards(tensors, max_shard_bytes);
  std::map<std::string, std::string> weight_map;
  for (const auto& [file, idx] : plan.shards) {
    std::vector<TensorToWrite> part;
    for (size_t i : idx) {
      part.push_back(tensors[i]);
      DSV3_CHECK(weight_map.emplace(tensors[i].name, file).second, dir, ": tensor '",
                 tensors[i].name, "' given twice");
    }
    write_safetensors((std::filesystem::path(dir) / file).string(), part, metadata);
  }
  if (plan.shards.size() > 1) write_index(dir, weight_map, plan.total_size, extra_index_metadata);
  return plan;
}

}  // namespace dsv3
