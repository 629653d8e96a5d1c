// model.safetensors.index.json writer (transformers' formatting).
#include "io/hf_index.h"

#include <cerrno>
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

}  // namespace dsv3
