// Checkpoint folder: config.json + model.safetensors / index + shards / *.safetensors, all mmap'd
// and cross-checked (index against shard contents, no tensor in two files).
#include "io/checkpoint.h"

#include <algorithm>
#include <cstdio>
#include <filesystem>
#include <set>

#include "core/error.h"
#include "io/hf_index.h"
#include "io/json_util.h"

namespace dsv3 {

namespace fs = std::filesystem;

namespace {

std::string join(const std::string& dir, const std::string& name) {
  return (fs::path(dir) / name).string();
}

bool is_file(const std::string& p) {
  std::error_code ec;
  return fs::is_regular_file(p, ec);  // follows symlinks (HF cache snapshots are symlinks)
}

// A shard name from the index must be a plain file name inside the folder.
void check_shard_name(const std::string& index_path, const std::string& tensor,
                      const std::string& shard) {
  DSV3_CHECK(is_plain_file_name(shard), index_path, ": tensor '", tensor, "': shard name '", shard,
             "' is not a plain file name in the checkpoint folder (paths are not allowed)");
}

std::string format_bytes(uint64_t n) {
  const char* units[] = {"B", "KiB", "MiB", "GiB", "TiB"};
  double v = double(n);
  int u = 0;
  while (v >= 1024 && u < 4) {
    v /= 1024;
    ++u;
  }
  char buf[32];
  std::snprintf(buf, sizeof buf, u ? "%.1f %s" : "%.0f %s", v, units[u]);
  return buf;
}

}  // namespace

void Checkpoint::add_file(std::unique_ptr<SafetensorsFile> f) {
  for (const auto& [name, t] : f->tensors()) {
    auto [it, inserted] = index_.emplace(name, &t);
    DSV3_CHECK(inserted, dir_, ": tensor '", name, "' present in two files: ", it->second->file,
               " and ", f->path());
  }
  files_.push_back(std::move(f));
}

std::unique_ptr<Checkpoint> Checkpoint::open(const std::string& dir) {
  std::error_code ec;
  auto st = fs::status(dir, ec);
  DSV3_CHECK(fs::exists(st), dir, ": checkpoint directory does not exist");
  DSV3_CHECK(fs::is_directory(st), dir, ": not a directory (expected a checkpoint folder)");

  auto ck = std::unique_ptr<Checkpoint>(new Checkpoint());
  ck->dir_ = dir;
  const std::string config_path = join(dir, "config.json");
  DSV3_CHECK(is_file(config_path), config_path,
             ": not found (a Hugging Face checkpoint folder needs config.json)");
  ck->config_ = read_json_file(config_path);
  DSV3_CHECK(ck->config_.is_object(), config_path, ": expected a JSON object, got ",
             json_type_name(ck->config_));

  const std::string single = join(dir, "model.safetensors");
  const std::string index_path = join(dir, "model.safetensors.index.json");
  if (is_file(single)) {
    ck->layout_ = "model.safetensors";
    ck->add_file(SafetensorsFile::open(single));
  } else if (is_file(index_path)) {
    ck->layout_ = "model.safetensors.index.json";
    nlohmann::json idx = read_json_file(index_path);
    DSV3_CHECK(idx.is_object(), index_path, ": expected a JSON object, got ", json_type_name(idx));
    auto wm = idx.find("weight_map");
    DSV3_CHECK(wm != idx.end(), index_path, ": missing \"weight_map\"");
    DSV3_CHECK(wm->is_object(), index_path, ": \"weight_map\" must be an object, got ",
               json_type_name(*wm));
    std::map<std::string, std::string> shard_of;   // tensor -> shard
    std::map<std::string, std::string> first_use;  // shard -> first tensor naming it
    for (auto it = wm->begin(); it != wm->end(); ++it) {
      DSV3_CHECK(it.value().is_string(), index_path, ": tensor '", it.key(),
                 "': shard must be a string, got ", json_type_name(it.value()));
      const std::string shard = it.value().get<std::string>();
      check_shard_name(index_path, it.key(), shard);
      shard_of[it.key()] = shard;
      first_use.emplace(shard, it.key());
    }
    DSV3_CHECK(!shard_of.empty(), index_path, ": \"weight_map\" is empty");
    for (const auto& [shard, tensor] : first_use) {
      const std::string p = join(dir, shard);
      DSV3_CHECK(is_file(p), index_path, ": shard '", shard, "' (listed for tensor '", tensor,
                 "' and others) not found: ", p);
    }
    // Open every shard first so that a tensor stored twice is reported as such (add_file),
    // whichever shard the index names for it.
    for (const auto& [shard, tensor] : first_use)
      ck->add_file(SafetensorsFile::open(join(dir, shard)));
    for (const auto& f : ck->files_) {
      const std::string shard = fs::path(f->path()).filename().string();
      for (const auto& [name, t] : f->tensors()) {
        auto s = shard_of.find(name);
        DSV3_CHECK(s != shard_of.end(), f->path(), ": tensor '", name, "' is not listed in ",
                   index_path);
        DSV3_CHECK(s->second == shard, f->path(), ": tensor '", name, "' is listed in ", index_path,
                   " for shard '", s->second, "', not this one");
      }
    }
    for (const auto& [name, shard] : shard_of)
      DSV3_CHECK(ck->index_.count(name), index_path, ": tensor '", name, "' listed for shard '",
                 shard, "' is missing from ", join(dir, shard));
  } else {
    ck->layout_ = "*.safetensors";
    std::vector<std::string> found;
    for (fs::directory_iterator it(dir, ec), end; !ec && it != end; it.increment(ec)) {
      const std::string p = it->path().string();
      if (it->path().extension() == ".safetensors" && is_file(p)) found.push_back(p);
    }
    DSV3_CHECK(!ec, dir, ": cannot list directory: ", ec.message());
    DSV3_CHECK(!found.empty(), dir,
               ": no weights (no model.safetensors, model.safetensors.index.json or "
               "*.safetensors file)");
    std::sort(found.begin(), found.end());
    for (const auto& p : found) ck->add_file(SafetensorsFile::open(p));
  }
  return ck;
}

const StoredTensor* Checkpoint::find(const std::string& name) const {
  auto it = index_.find(name);
  return it == index_.end() ? nullptr : it->second;
}

size_t Checkpoint::total_bytes() const {
  size_t n = 0;
  for (const auto& [name, t] : index_) n += t->nbytes;
  return n;
}

size_t Checkpoint::mapped_bytes() const {
  size_t n = 0;
  for (const auto& f : files_) n += f->mapped_bytes();
  return n;
}

size_t Checkpoint::copied_bytes() const {
  size_t n = 0;
  for (const auto& f : files_) n += f->copied_bytes();
  return n;
}

std::string Checkpoint::memory_summary() const {
  std::string s =
      str(files_.size(), files_.size() == 1 ? " file, " : " files, ", format_bytes(mapped_bytes()),
          " mapped, ", index_.size(), " tensors (", format_bytes(total_bytes()), ")");
  if (copied_bytes()) s += str(", ", format_bytes(copied_bytes()), " copied for alignment");
  return s;
}

}  // namespace dsv3
