// Test helper (header-only): writes a GGUF split the way llama.cpp's gguf-split does, from a
// parsed GgufFile, so the tests can split any GGUF in tests/data at run time (and make broken
// splits on purpose). Shard 0 carries every metadata key of the source followed by split.no
// (u16), split.tensors.count (i32) and split.count (u16), in that order; the other shards carry
// only those three keys. Each shard is a complete GGUF v3: tensor infos with offsets relative to
// its own data section, data padded to the alignment. With the same plan as gguf-split
// (--split-max-tensors N) the bytes are the same as its output (checked in gguf_split_test.cpp).
#pragma once
#include <cstdint>
#include <cstring>
#include <filesystem>
#include <fstream>
#include <functional>
#include <string>
#include <utility>
#include <vector>

#include "io/gguf.h"
#include "test_util.h"

namespace dsv3::test {

// A fresh temporary directory, removed with its contents when this goes out of scope.
struct ScopedTempDir {
  std::string path;
  explicit ScopedTempDir(const std::string& tag) : path(temp_dir(tag)) {}
  ~ScopedTempDir() {
    std::error_code ec;
    std::filesystem::remove_all(path, ec);
  }
  ScopedTempDir(const ScopedTempDir&) = delete;
  ScopedTempDir& operator=(const ScopedTempDir&) = delete;
};

class GgufBytes {
 public:
  std::string b;
  template <typename T>
  void put(T v) {
    char tmp[sizeof(T)];
    std::memcpy(tmp, &v, sizeof(T));
    b.append(tmp, sizeof(T));
  }
  void str(std::string_view s) {
    put<uint64_t>(s.size());
    b.append(s.data(), s.size());
  }
  void pad(uint64_t align) {
    while (b.size() % align) b.push_back('\0');
  }
  // The payload of a value (its type tag written by the caller).
  void value(const GgufValue& v) {
    switch (v.type) {
      case GgufType::U8:
        put<uint8_t>(uint8_t(v.u));
        break;
      case GgufType::I8:
        put<int8_t>(int8_t(v.i));
        break;
      case GgufType::U16:
        put<uint16_t>(uint16_t(v.u));
        break;
      case GgufType::I16:
        put<int16_t>(int16_t(v.i));
        break;
      case GgufType::U32:
        put<uint32_t>(uint32_t(v.u));
        break;
      case GgufType::I32:
        put<int32_t>(int32_t(v.i));
        break;
      case GgufType::U64:
        put<uint64_t>(v.u);
        break;
      case GgufType::I64:
        put<int64_t>(v.i);
        break;
      case GgufType::F32:
        put<float>(float(v.f));
        break;
      case GgufType::F64:
        put<double>(v.f);
        break;
      case GgufType::BOOL:
        put<uint8_t>(v.b ? 1 : 0);
        break;
      case GgufType::STRING:
        str(v.s);
        break;
      case GgufType::ARRAY: {
        put<uint32_t>(uint32_t(v.elem_type));
        put<uint64_t>(v.count);
        if (v.elem_type == GgufType::STRING) {
          for (auto s : v.strs) str(s);
        } else if (v.elem_type == GgufType::ARRAY) {
          for (const GgufValue& a : v.arrays) value(a);
        } else {
          size_t es = 0;
          for (GgufType t : {GgufType::U8, GgufType::I8, GgufType::BOOL})
            es = v.elem_type == t ? 1 : es;
          for (GgufType t : {GgufType::U16, GgufType::I16}) es = v.elem_type == t ? 2 : es;
          for (GgufType t : {GgufType::U32, GgufType::I32, GgufType::F32})
            es = v.elem_type == t ? 4 : es;
          for (GgufType t : {GgufType::U64, GgufType::I64, GgufType::F64})
            es = v.elem_type == t ? 8 : es;
          b.append(reinterpret_cast<const char*>(v.raw), size_t(v.count) * es);
        }
        break;
      }
    }
  }
};

// The three split keys of one shard; a test may change them to make a broken split.
struct SplitKeys {
  int64_t no, count, tensors;
};

struct SplitPlan {
  std::vector<std::vector<size_t>> shards;  // tensor indices (into src.tensors()) per shard
  // Extra string keys for shard 0 (e.g. tokenizer.chat_template); replace a source key of the
  // same name.
  std::vector<std::pair<std::string, std::string>> extra_strings;
  std::function<void(size_t shard, SplitKeys&)> edit;  // optional
};

// gguf-split's plan for --split-max-tensors n (and --no-tensor-first-split: an empty shard 0).
inline SplitPlan plan_max_tensors(const GgufFile& src, size_t n, bool no_tensor_first = false) {
  SplitPlan p;
  if (no_tensor_first) p.shards.emplace_back();
  for (size_t k = 0; k < src.tensors().size(); ++k) {
    if (k % n == 0) p.shards.emplace_back();
    p.shards.back().push_back(k);
  }
  return p;
}

// Writes PREFIX-0000k-of-0000N.gguf for every shard of `plan`; returns the paths.
inline std::vector<std::string> write_split(const GgufFile& src, const std::string& prefix,
                                            const SplitPlan& plan) {
  const size_t n = plan.shards.size();
  size_t total = 0;
  for (auto& s : plan.shards) total += s.size();
  std::vector<std::string> paths;
  for (size_t k = 0; k < n; ++k) {
    SplitKeys keys{int64_t(k), int64_t(n), int64_t(total)};
    if (plan.edit) plan.edit(k, keys);
    std::vector<std::pair<std::string, const GgufValue*>> kvs;
    std::vector<GgufValue> extra;  // owns the extra values (reserved: pointers stay valid)
    extra.reserve(plan.extra_strings.size());
    if (k == 0) {
      for (const GgufKV& kv : src.metadata()) {
        if (kv.key.rfind("split.", 0) == 0) continue;
        bool replaced = false;
        for (auto& [key, s] : plan.extra_strings) replaced = replaced || key == kv.key;
        if (!replaced) kvs.emplace_back(kv.key, &kv.value);
      }
      for (auto& [key, s] : plan.extra_strings) {
        GgufValue v;
        v.type = GgufType::STRING;
        v.s = s;
        extra.push_back(v);
        kvs.emplace_back(key, &extra.back());
      }
    }
    const uint64_t align = k == 0 ? src.alignment() : 32;
    GgufBytes h;
    h.b = "GGUF";
    h.put<uint32_t>(3);
    h.put<uint64_t>(plan.shards[k].size());
    h.put<uint64_t>(kvs.size() + 3);
    for (auto& [key, v] : kvs) {
      h.str(key);
      h.put<uint32_t>(uint32_t(v->type));
      h.value(*v);
    }
    h.str("split.no");
    h.put<uint32_t>(uint32_t(GgufType::U16));
    h.put<uint16_t>(uint16_t(keys.no));
    h.str("split.tensors.count");
    h.put<uint32_t>(uint32_t(GgufType::I32));
    h.put<int32_t>(int32_t(keys.tensors));
    h.str("split.count");  // last: gguf-split sets it again once the shard count is known
    h.put<uint32_t>(uint32_t(GgufType::U16));
    h.put<uint16_t>(uint16_t(keys.count));
    GgufBytes data;
    for (size_t idx : plan.shards[k]) {
      const GgufTensorInfo& t = src.tensors().at(idx);
      h.str(t.name);
      h.put<uint32_t>(uint32_t(t.dims.size()));
      for (int64_t d : t.dims) h.put<int64_t>(d);
      h.put<uint32_t>(t.type);
      h.put<uint64_t>(data.b.size());
      data.b.append(reinterpret_cast<const char*>(t.data), size_t(t.n_bytes));
      data.pad(align);
    }
    h.pad(align);
    paths.push_back(gguf_split_path(prefix, uint32_t(k), uint32_t(n)));
    std::ofstream o(paths.back(), std::ios::binary | std::ios::trunc);
    o.write(h.b.data(), std::streamsize(h.b.size()));
    o.write(data.b.data(), std::streamsize(data.b.size()));
  }
  return paths;
}

}  // namespace dsv3::test
