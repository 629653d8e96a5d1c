// Split GGUF models (llama.cpp's gguf-split): finding the sibling shards by their names and
// merging the shards' tensor tables into one GgufFile. Each shard is a complete GGUF (its own
// header, tensor infos and data section); shard 0 holds the model's metadata and every shard
// carries split.no (0-based, u16), split.count (u16) and split.tensors.count (i32, the total).
#include <cstdio>
#include <filesystem>
#include <unordered_map>

#include "core/error.h"
#include "io/gguf.h"

namespace dsv3 {

namespace {

constexpr int64_t kMaxShards = 65535;  // split.count is a u16

// The integer split.* key `key` of shard `g`, checked to lie in [lo, hi].
int64_t split_key(const GgufFile& g, const char* key, int64_t lo, int64_t hi) {
  const GgufValue* v = g.find(key);
  if (!v)
    fail(g.name(), ": split GGUF shard without '", key,
         "' (not a gguf-split shard, or from another tool)");
  if (!v->is_integer() || v->type == GgufType::BOOL)
    fail(g.name(), ": GGUF key '", key, "' is ", gguf_type_name(v->type), ", expected an integer");
  if (v->i < lo || v->i > hi)
    fail(g.name(), ": GGUF key '", key, "' = ", v->i, " is out of range [", lo, ", ", hi, "]");
  return v->i;
}

}  // namespace

std::string gguf_split_path(const std::string& prefix, uint32_t no, uint32_t count) {
  char tail[48];
  std::snprintf(tail, sizeof tail, "-%05u-of-%05u.gguf", no + 1, count);
  return prefix + tail;
}

bool gguf_split_prefix(const std::string& path, uint32_t no, uint32_t count, std::string* prefix) {
  const std::string tail = gguf_split_path("", no, count);
  if (path.size() <= tail.size() || path.compare(path.size() - tail.size(), tail.size(), tail) != 0)
    return false;
  *prefix = path.substr(0, path.size() - tail.size());
  return true;
}

std::unique_ptr<GgufFile> GgufFile::open(const std::string& path) {
  std::unique_ptr<GgufFile> g = open_one(path);
  if (!g->find("split.count")) return g;
  const int64_t count = split_key(*g, "split.count", 1, kMaxShards);
  const int64_t no = split_key(*g, "split.no", 0, count - 1);
  std::vector<std::unique_ptr<GgufFile>> shards(static_cast<size_t>(count));
  if (count == 1) {  // a "split" of one file: any name will do
    shards[0] = std::move(g);
    return merge_shards(std::move(shards));
  }
  std::string prefix;
  if (!gguf_split_prefix(path, uint32_t(no), uint32_t(count), &prefix))
    fail(path, ": shard ", no + 1, " of a ", count,
         "-file split GGUF, but its name does not end in '",
         gguf_split_path("", uint32_t(no), uint32_t(count)),
         "' (llama.cpp's gguf-split naming), so the other shards cannot be found");
  shards[size_t(no)] = std::move(g);
  for (int64_t k = 0; k < count; ++k) {
    if (shards[size_t(k)]) continue;
    const std::string p = gguf_split_path(prefix, uint32_t(k), uint32_t(count));
    std::error_code ec;
    if (!std::filesystem::exists(p, ec))
      fail(path, ": shard ", k + 1, " of ", count, " of this split GGUF is missing (expected ", p,
           ")");
    shards[size_t(k)] = open_one(p);
  }
  return merge_shards(std::move(shards));
}

std::unique_ptr<GgufFile> GgufFile::merge_shards(std::vector<std::unique_ptr<GgufFile>> shards) {
  DSV3_CHECK(!shards.empty() && shards[0], "split GGUF: no shards to merge");
  const GgufFile& first = *shards[0];
  const int64_t count = split_key(first, "split.count", 1, kMaxShards);
  const int64_t total = split_key(first, "split.tensors.count", 0, INT32_MAX);
  if (int64_t(shards.size()) != count)
    fail(first.name(), ": split.count = ", count, " but ", shards.size(), " shard(s) were given");
  for (size_t k = 0; k < shards.size(); ++k) {
    DSV3_CHECK(shards[k], "split GGUF: shard ", k + 1, " is null");
    const GgufFile& s = *shards[k];
    const int64_t c = split_key(s, "split.count", 1, kMaxShards);
    if (c != count)
      fail(s.name(), ": split.count = ", c, " but shard 1 (", first.name(), ") says ", count,
           " (a shard of another split or model?)");
    const int64_t no = split_key(s, "split.no", 0, count - 1);
    if (no != int64_t(k))
      fail(s.name(), ": split.no = ", no, " (shard ", no + 1, "), expected ", k, " (shard ", k + 1,
           " of ", count, ")");
    const int64_t t = split_key(s, "split.tensors.count", 0, INT32_MAX);
    if (t != total)
      fail(s.name(), ": split.tensors.count = ", t, " but shard 1 (", first.name(), ") says ",
           total, " (a shard of another model?)");
  }
  std::unique_ptr<GgufFile> g = std::move(shards[0]);
  std::unordered_map<std::string, uint32_t> where;  // tensor name -> shard
  for (const GgufTensorInfo& t : g->tensors_) where.emplace(t.name, 0);
  for (size_t k = 1; k < shards.size(); ++k) {
    std::unique_ptr<GgufFile>& s = shards[k];
    for (GgufTensorInfo& t : s->tensors_) {
      auto [it, fresh] = where.emplace(t.name, uint32_t(k));
      if (!fresh)
        fail(s->name(), ": tensor '", t.name, "' is also in shard ", it->second + 1, " (",
             it->second == 0 ? g->name() : g->parts_[it->second - 1]->name(), ")");
      t.shard = uint32_t(k);
      g->tensors_.push_back(t);
    }
    g->shards_.push_back(s->shards_.at(0));
    g->parts_.push_back(std::move(s));
  }
  if (int64_t(g->tensors_.size()) != total)
    fail(g->name(), ": split.tensors.count = ", total, " but the ", count, " shard(s) hold ",
         g->tensors_.size(), " tensors");
  return g;
}

}  // namespace dsv3
