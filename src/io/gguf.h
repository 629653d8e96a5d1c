// GGUF (v2/v3) reader: header, metadata key/values of every type (nested arrays included),
// tensor infos with ggml type sizes, alignment and the mmap'd data section. Every read is
// bounds-checked; a malformed file throws dsv3::Error naming the file and the field at fault.
// Used for vocab-only GGUF tokenizers (tokenizer.ggml.*) and for GGUF weights.
// Split GGUFs (llama.cpp's gguf-split: NAME-00001-of-0000N.gguf, ...) open as one GgufFile whose
// tensor table spans every shard (gguf_split.cpp).
#pragma once
#include <cstdint>
#include <memory>
#include <string>
#include <string_view>
#include <vector>

#include "core/mapped_file.h"

namespace dsv3 {

// GGUF metadata value types (gguf_type in ggml).
enum class GgufType : uint32_t {
  U8 = 0,
  I8 = 1,
  U16 = 2,
  I16 = 3,
  U32 = 4,
  I32 = 5,
  F32 = 6,
  BOOL = 7,
  STRING = 8,
  ARRAY = 9,
  U64 = 10,
  I64 = 11,
  F64 = 12,
};
const char* gguf_type_name(GgufType t);

// One metadata value. Scalars are widened (integers to int64/uint64, floats to double).
// Strings are raw bytes (not validated as UTF-8). String arrays and numeric arrays point into
// the file mapping, so a value is valid only while its GgufFile lives.
struct GgufValue {
  GgufType type = GgufType::U8;
  // Scalars (integer types also set both `i` and `u`; bool sets `b`, `i` and `u`).
  int64_t i = 0;
  uint64_t u = 0;
  double f = 0;
  bool b = false;
  std::string_view s;  // STRING
  // ARRAY: element type and count; STRING elements in `strs`, nested arrays in `arrays`,
  // numeric elements are read on demand from `raw` (little-endian, packed).
  GgufType elem_type = GgufType::U8;
  uint64_t count = 0;
  const uint8_t* raw = nullptr;
  std::vector<std::string_view> strs;
  std::vector<GgufValue> arrays;

  bool is_integer() const;  // any of U8..I64 (scalar) or BOOL
  bool is_float() const { return type == GgufType::F32 || type == GgufType::F64; }
  // Element k of a numeric array as int64 / double (k < count; elem_type numeric or bool).
  int64_t int_at(uint64_t k) const;
  double float_at(uint64_t k) const;
};

struct GgufKV {
  std::string key;
  GgufValue value;
};

// ggml tensor element types with their block layout (elements per block, bytes per block).
struct GgmlTypeInfo {
  const char* name;
  uint32_t block_elems;  // 0: unknown type
  uint32_t block_bytes;
};
// Layout of ggml type `t`; block_elems == 0 for an unknown or removed type.
GgmlTypeInfo ggml_type_info(uint32_t t);

struct GgufTensorInfo {
  std::string name;
  std::vector<int64_t> dims;  // ggml order: dims[0] is the fastest-varying (innermost)
  uint32_t type = 0;          // ggml type id
  uint64_t offset = 0;        // relative to the data section of its shard
  uint32_t shard = 0;         // index of the file holding the data (0 unless split)
  uint64_t n_elements = 0;
  uint64_t n_bytes = 0;
  const uint8_t* data = nullptr;  // into the mapping (or the caller's buffer)
};

// One file of a GGUF model: for an unsplit file the file itself, for a split one each shard in
// split.no order.
struct GgufShard {
  std::string name;          // path (or the name given to parse())
  uint64_t size = 0;         // bytes
  uint64_t data_offset = 0;  // start of its data section
  uint64_t n_tensors = 0;    // tensors whose data it holds
};

// llama.cpp's split naming: shard `no` (0-based) of `count` is PREFIX-%05d-of-%05d.gguf with
// no + 1. gguf_split_prefix returns false when `path` does not end that way.
std::string gguf_split_path(const std::string& prefix, uint32_t no, uint32_t count);
bool gguf_split_prefix(const std::string& path, uint32_t no, uint32_t count, std::string* prefix);

class GgufFile {
 public:
  // Maps and parses `path`. Throws Error for anything malformed (bad magic, version 1,
  // truncated data, bad types, out-of-range tensor data, duplicate keys or tensor names).
  // A file with split.count > 1 is one shard of a split model (any shard may be given): the
  // others are found by gguf_split_path, mapped (no copy) and merged by merge_shards; a
  // missing shard is an error naming the expected path.
  static std::unique_ptr<GgufFile> open(const std::string& path);
  // Parses a buffer the caller keeps alive (fuzzing, tests); `name` is used in messages.
  // No split handling: a shard parsed this way is just that shard (see merge_shards).
  static std::unique_ptr<GgufFile> parse(const uint8_t* data, size_t size, const std::string& name);
  // Merges parsed shards (shards[k] must be split.no k) into one GgufFile: metadata is shard 0's
  // (llama.cpp writes the model's keys there only), tensors are every shard's in shard order,
  // each keeping its data pointer and its shard index. Throws Error naming the file at fault
  // when a shard lacks split.no/split.count/split.tensors.count, has another split.no, another
  // split.count or split.tensors.count than shard 0 (a shard of another model or another
  // split), when a tensor name occurs twice, when the count of shards differs from
  // split.count, or when the tensors found differ from split.tensors.count.
  static std::unique_ptr<GgufFile> merge_shards(std::vector<std::unique_ptr<GgufFile>> shards);

  const std::string& name() const { return name_; }
  uint32_t version() const { return version_; }
  uint64_t alignment() const { return alignment_; }
  uint64_t data_offset() const { return data_offset_; }

  const std::vector<GgufKV>& metadata() const { return kv_; }
  const GgufValue* find(std::string_view key) const;  // nullptr if absent

  // Typed getters: throw Error naming the key if absent or of the wrong type.
  std::string get_string(std::string_view key) const;
  int64_t get_int(std::string_view key) const;   // any integer type or bool
  double get_float(std::string_view key) const;  // F32/F64 or any integer
  bool get_bool(std::string_view key) const;     // BOOL or integer
  std::vector<std::string_view> get_string_array(std::string_view key) const;
  std::vector<int64_t> get_int_array(std::string_view key) const;
  std::vector<double> get_float_array(std::string_view key) const;
  // Same with a default when the key is absent (a present key of the wrong type still throws).
  std::string get_string(std::string_view key, const std::string& def) const;
  int64_t get_int(std::string_view key, int64_t def) const;
  bool get_bool(std::string_view key, bool def) const;

  const std::vector<GgufTensorInfo>& tensors() const { return tensors_; }
  const GgufTensorInfo* find_tensor(std::string_view name) const;

  // The files this model's data lies in (one entry unless split); tensor.shard indexes it.
  const std::vector<GgufShard>& shards() const { return shards_; }

 private:
  GgufFile() = default;
  static std::unique_ptr<GgufFile> open_one(const std::string& path);
  void parse_all(const uint8_t* data, size_t size);
  const GgufValue& require(std::string_view key) const;

  std::string name_;
  MappedFile file_;
  uint32_t version_ = 0;
  uint64_t alignment_ = 32;
  uint64_t data_offset_ = 0;
  std::vector<GgufKV> kv_;
  std::vector<GgufTensorInfo> tensors_;
  std::vector<GgufShard> shards_;
  std::vector<std::unique_ptr<GgufFile>> parts_;  // shards 1.. of a split model (own the mappings)
};

}  // namespace dsv3
