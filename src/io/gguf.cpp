// GGUF reader: a bounds-checked cursor over the mapping; every failure names file and field.
#include "io/gguf.h"

#include <cstring>
#include <unordered_set>

#include "core/error.h"

namespace dsv3 {

namespace {

constexpr int kMaxArrayDepth = 8;
constexpr uint32_t kMaxDims = 4;  // GGML_MAX_DIMS

size_t scalar_size(GgufType t) {
  switch (t) {
    case GgufType::U8:
    case GgufType::I8:
    case GgufType::BOOL:
      return 1;
    case GgufType::U16:
    case GgufType::I16:
      return 2;
    case GgufType::U32:
    case GgufType::I32:
    case GgufType::F32:
      return 4;
    case GgufType::U64:
    case GgufType::I64:
    case GgufType::F64:
      return 8;
    default:
      return 0;
  }
}

// Reads little-endian values with bounds checks; `what` names the field being read.
class Cursor {
 public:
  Cursor(const uint8_t* p, size_t n, const std::string& file) : p_(p), n_(n), file_(file) {}
  size_t pos() const { return pos_; }
  size_t left() const { return n_ - pos_; }
  const uint8_t* here() const { return p_ + pos_; }

  void need(size_t k, const std::string& what) const {
    if (k > left())
      fail(file_, ": truncated GGUF while reading ", what, " at byte ", pos_, " (need ", k,
           " bytes, ", left(), " left)");
  }
  template <typename T>
  T get(const std::string& what) {
    need(sizeof(T), what);
    T v;
    std::memcpy(&v, p_ + pos_, sizeof(T));
    pos_ += sizeof(T);
    return v;
  }
  std::string_view str(const std::string& what) {
    uint64_t len = get<uint64_t>(what + " (string length)");
    need(len, what + " (string bytes)");
    std::string_view s(reinterpret_cast<const char*>(p_ + pos_), size_t(len));
    pos_ += size_t(len);
    return s;
  }
  void skip(size_t k, const std::string& what) {
    need(k, what);
    pos_ += k;
  }

 private:
  const uint8_t* p_;
  size_t n_;
  size_t pos_ = 0;
  const std::string& file_;
};

template <typename T>
T load(const uint8_t* p) {
  T v;
  std::memcpy(&v, p, sizeof(T));
  return v;
}

void read_scalar(Cursor& c, GgufType t, GgufValue& v, const std::string& what) {
  switch (t) {
    case GgufType::U8:
      v.u = c.get<uint8_t>(what);
      v.i = int64_t(v.u);
      break;
    case GgufType::I8:
      v.i = c.get<int8_t>(what);
      v.u = uint64_t(v.i);
      break;
    case GgufType::U16:
      v.u = c.get<uint16_t>(what);
      v.i = int64_t(v.u);
      break;
    case GgufType::I16:
      v.i = c.get<int16_t>(what);
      v.u = uint64_t(v.i);
      break;
    case GgufType::U32:
      v.u = c.get<uint32_t>(what);
      v.i = int64_t(v.u);
      break;
    case GgufType::I32:
      v.i = c.get<int32_t>(what);
      v.u = uint64_t(v.i);
      break;
    case GgufType::U64:
      v.u = c.get<uint64_t>(what);
      v.i = int64_t(v.u);
      break;
    case GgufType::I64:
      v.i = c.get<int64_t>(what);
      v.u = uint64_t(v.i);
      break;
    case GgufType::F32:
      v.f = c.get<float>(what);
      break;
    case GgufType::F64:
      v.f = c.get<double>(what);
      break;
    case GgufType::BOOL: {
      uint8_t b = c.get<uint8_t>(what);
      v.b = b != 0;
      v.i = v.b;
      v.u = v.b;
      break;
    }
    default:
      break;
  }
}

void read_value(Cursor& c, GgufType t, GgufValue& v, const std::string& file,
                const std::string& what, int depth) {
  v.type = t;
  if (scalar_size(t) > 0) {
    read_scalar(c, t, v, what);
    return;
  }
  if (t == GgufType::STRING) {
    v.s = c.str(what);
    return;
  }
  if (t != GgufType::ARRAY) fail(file, ": ", what, ": unknown GGUF value type ", uint32_t(t));
  if (depth >= kMaxArrayDepth)
    fail(file, ": ", what, ": arrays nested deeper than ", kMaxArrayDepth);
  uint32_t et = c.get<uint32_t>(what + " (array element type)");
  v.elem_type = GgufType(et);
  v.count = c.get<uint64_t>(what + " (array length)");
  size_t es = scalar_size(v.elem_type);
  if (es > 0) {
    if (v.count > c.left() / es)
      fail(file, ": truncated GGUF: ", what, " has ", v.count, " elements of ", es,
           " bytes but only ", c.left(), " bytes are left");
    v.raw = c.here();
    c.skip(size_t(v.count) * es, what);
  } else if (v.elem_type == GgufType::STRING) {
    if (v.count > c.left() / 8)
      fail(file, ": truncated GGUF: ", what, " claims ", v.count, " strings but only ", c.left(),
           " bytes are left");
    v.strs.reserve(size_t(v.count));
    for (uint64_t k = 0; k < v.count; ++k) v.strs.push_back(c.str(what));
  } else if (v.elem_type == GgufType::ARRAY) {
    if (v.count > c.left() / 12)
      fail(file, ": truncated GGUF: ", what, " claims ", v.count, " arrays but only ", c.left(),
           " bytes are left");
    v.arrays.resize(size_t(v.count));
    for (uint64_t k = 0; k < v.count; ++k)
      read_value(c, GgufType::ARRAY, v.arrays[k], file, what, depth + 1);
  } else {
    fail(file, ": ", what, ": unknown GGUF array element type ", et);
  }
}

}  // namespace

const char* gguf_type_name(GgufType t) {
  static const char* names[] = {"u8",   "i8",     "u16",   "i16", "u32", "i32", "f32",
                                "bool", "string", "array", "u64", "i64", "f64"};
  uint32_t k = uint32_t(t);
  return k < 13 ? names[k] : "unknown";
}

bool GgufValue::is_integer() const {
  switch (type) {
    case GgufType::U8:
    case GgufType::I8:
    case GgufType::U16:
    case GgufType::I16:
    case GgufType::U32:
    case GgufType::I32:
    case GgufType::U64:
    case GgufType::I64:
    case GgufType::BOOL:
      return true;
    default:
      return false;
  }
}

int64_t GgufValue::int_at(uint64_t k) const {
  DSV3_CHECK(type == GgufType::ARRAY && raw && k < count, "GGUF array index ", k, " out of range");
  size_t es = scalar_size(elem_type);
  const uint8_t* p = raw + k * es;
  switch (elem_type) {
    case GgufType::U8:
      return load<uint8_t>(p);
    case GgufType::I8:
      return load<int8_t>(p);
    case GgufType::BOOL:
      return load<uint8_t>(p) != 0;
    case GgufType::U16:
      return load<uint16_t>(p);
    case GgufType::I16:
      return load<int16_t>(p);
    case GgufType::U32:
      return load<uint32_t>(p);
    case GgufType::I32:
      return load<int32_t>(p);
    case GgufType::U64:
      return int64_t(load<uint64_t>(p));
    case GgufType::I64:
      return load<int64_t>(p);
    case GgufType::F32:
      return int64_t(load<float>(p));
    case GgufType::F64:
      return int64_t(load<double>(p));
    default:
      fail("GGUF array of ", gguf_type_name(elem_type), " is not numeric");
  }
}

double GgufValue::float_at(uint64_t k) const {
  DSV3_CHECK(type == GgufType::ARRAY && raw && k < count, "GGUF array index ", k, " out of range");
  if (elem_type == GgufType::F32) return load<float>(raw + k * 4);
  if (elem_type == GgufType::F64) return load<double>(raw + k * 8);
  return double(int_at(k));
}

GgmlTypeInfo ggml_type_info(uint32_t t) {
  switch (t) {
    case 0:
      return {"f32", 1, 4};
    case 1:
      return {"f16", 1, 2};
    case 2:
      return {"q4_0", 32, 18};
    case 3:
      return {"q4_1", 32, 20};
    case 6:
      return {"q5_0", 32, 22};
    case 7:
      return {"q5_1", 32, 24};
    case 8:
      return {"q8_0", 32, 34};
    case 9:
      return {"q8_1", 32, 36};
    case 10:
      return {"q2_K", 256, 84};
    case 11:
      return {"q3_K", 256, 110};
    case 12:
      return {"q4_K", 256, 144};
    case 13:
      return {"q5_K", 256, 176};
    case 14:
      return {"q6_K", 256, 210};
    case 15:
      return {"q8_K", 256, 292};
    case 16:
      return {"iq2_xxs", 256, 66};
    case 17:
      return {"iq2_xs", 256, 74};
    case 18:
      return {"iq3_xxs", 256, 98};
    case 19:
      return {"iq1_s", 256, 50};
    case 20:
      return {"iq4_nl", 32, 18};
    case 21:
      return {"iq3_s", 256, 110};
    case 22:
      return {"iq2_s", 256, 82};
    case 23:
      return {"iq4_xs", 256, 136};
    case 24:
      return {"i8", 1, 1};
    case 25:
      return {"i16", 1, 2};
    case 26:
      return {"i32", 1, 4};
    case 27:
      return {"i64", 1, 8};
    case 28:
      return {"f64", 1, 8};
    case 29:
      return {"iq1_m", 256, 56};
    case 30:
      return {"bf16", 1, 2};
    case 34:
      return {"tq1_0", 256, 54};
    case 35:
      return {"tq2_0", 256, 66};
    case 39:
      return {"mxfp4", 32, 17};
    default:
      return {"unknown", 0, 0};
  }
}

std::unique_ptr<GgufFile> GgufFile::open_one(const std::string& path) {
  std::unique_ptr<GgufFile> g(new GgufFile());
  g->name_ = path;
  g->file_ = MappedFile(path);
  g->parse_all(g->file_.data(), g->file_.size());
  return g;
}

std::unique_ptr<GgufFile> GgufFile::parse(const uint8_t* data, size_t size,
                                          const std::string& name) {
  std::unique_ptr<GgufFile> g(new GgufFile());
  g->name_ = name;
  g->parse_all(data, size);
  return g;
}

void GgufFile::parse_all(const uint8_t* data, size_t size) {
  const std::string& f = name_;
  Cursor c(data, size, f);
  c.need(4, "magic");
  if (std::memcmp(data, "GGUF", 4) != 0) fail(f, ": not a GGUF file (bad magic)");
  c.skip(4, "magic");
  version_ = c.get<uint32_t>("version");
  if (version_ == 1) fail(f, ": GGUF version 1 is not supported (only 2 and 3)");
  if (version_ != 2 && version_ != 3) fail(f, ": unsupported GGUF version ", version_);
  uint64_t n_tensors = c.get<uint64_t>("tensor count");
  uint64_t n_kv = c.get<uint64_t>("metadata count");
  // Each KV needs >= 8 (key length) + 4 (type) + 1 bytes; each tensor info >= 8+4+8+4+8.
  if (n_kv > c.left() / 13) fail(f, ": truncated GGUF: header claims ", n_kv, " metadata entries");
  kv_.reserve(size_t(n_kv));
  std::unordered_set<std::string_view> keys;
  for (uint64_t k = 0; k < n_kv; ++k) {
    GgufKV kv;
    kv.key = std::string(c.str(str("metadata key #", k)));
    std::string what = str("metadata '", kv.key, "'");
    uint32_t t = c.get<uint32_t>(what + " (type)");
    read_value(c, GgufType(t), kv.value, f, what, 0);
    kv_.push_back(std::move(kv));
  }
  for (const auto& kv : kv_)
    if (!keys.insert(kv.key).second) fail(f, ": duplicate metadata key '", kv.key, "'");
  if (const GgufValue* a = find("general.alignment")) {
    if (a->type != GgufType::U32)
      fail(f, ": general.alignment must be u32, got ", gguf_type_name(a->type));
    if (a->u == 0 || (a->u & (a->u - 1)) != 0)
      fail(f, ": general.alignment ", a->u, " is not a power of two");
    alignment_ = a->u;
  }

  if (n_tensors > c.left() / 32) fail(f, ": truncated GGUF: header claims ", n_tensors, " tensors");
  tensors_.reserve(size_t(n_tensors));
  std::unordered_set<std::string> names;
  for (uint64_t k = 0; k < n_tensors; ++k) {
    GgufTensorInfo t;
    t.name = std::string(c.str(str("tensor #", k, " name")));
    std::string what = str("tensor '", t.name, "'");
    if (!names.insert(t.name).second) fail(f, ": duplicate tensor name '", t.name, "'");
    uint32_t nd = c.get<uint32_t>(what + " n_dims");
    if (nd > kMaxDims) fail(f, ": ", what, " has ", nd, " dims (max ", kMaxDims, ")");
    uint64_t ne = 1;
    for (uint32_t d = 0; d < nd; ++d) {
      int64_t v = c.get<int64_t>(what + " dims");
      if (v < 0) fail(f, ": ", what, " has negative dimension ", v);
      if (v != 0 && ne > uint64_t(INT64_MAX) / uint64_t(v))
        fail(f, ": ", what, " element count overflows");
      ne *= uint64_t(v);
      t.dims.push_back(v);
    }
    t.n_elements = ne;
    t.type = c.get<uint32_t>(what + " type");
    GgmlTypeInfo ti = ggml_type_info(t.type);
    if (ti.block_elems == 0) fail(f, ": ", what, " has unknown ggml type ", t.type);
    if (nd > 0 && t.dims[0] % ti.block_elems != 0)
      fail(f, ": ", what, " row length ", t.dims[0], " is not a multiple of the ", ti.name,
           " block size ", ti.block_elems);
    t.n_bytes = ne / ti.block_elems * ti.block_bytes;
    t.offset = c.get<uint64_t>(what + " offset");
    if (t.offset % alignment_ != 0)
      fail(f, ": ", what, " offset ", t.offset, " is not a multiple of the alignment ", alignment_);
    tensors_.push_back(std::move(t));
  }
  data_offset_ = (uint64_t(c.pos()) + alignment_ - 1) / alignment_ * alignment_;
  for (auto& t : tensors_) {
    uint64_t avail = data_offset_ <= size ? size - data_offset_ : 0;
    if (t.offset > avail || t.n_bytes > avail - t.offset)
      fail(f, ": tensor '", t.name, "' data [", t.offset, ", +", t.n_bytes,
           ") lies outside the file (data section has ", avail, " bytes)");
    t.data = data + data_offset_ + t.offset;
  }
  shards_ = {GgufShard{name_, uint64_t(size), data_offset_, uint64_t(tensors_.size())}};
}

const GgufValue* GgufFile::find(std::string_view key) const {
  for (const auto& kv : kv_)
    if (kv.key == key) return &kv.value;
  return nullptr;
}

const GgufValue& GgufFile::require(std::string_view key) const {
  const GgufValue* v = find(key);
  if (!v) fail(name_, ": missing GGUF key '", key, "'");
  return *v;
}

std::string GgufFile::get_string(std::string_view key) const {
  const GgufValue& v = require(key);
  if (v.type != GgufType::STRING)
    fail(name_, ": GGUF key '", key, "' is ", gguf_type_name(v.type), ", expected string");
  return std::string(v.s);
}

int64_t GgufFile::get_int(std::string_view key) const {
  const GgufValue& v = require(key);
  if (!v.is_integer())
    fail(name_, ": GGUF key '", key, "' is ", gguf_type_name(v.type), ", expected an integer");
  return v.i;
}

double GgufFile::get_float(std::string_view key) const {
  const GgufValue& v = require(key);
  if (v.is_float()) return v.f;
  if (v.is_integer()) return double(v.i);
  fail(name_, ": GGUF key '", key, "' is ", gguf_type_name(v.type), ", expected a number");
}

bool GgufFile::get_bool(std::string_view key) const {
  const GgufValue& v = require(key);
  if (!v.is_integer())
    fail(name_, ": GGUF key '", key, "' is ", gguf_type_name(v.type), ", expected bool");
  return v.i != 0;
}

std::vector<std::string_view> GgufFile::get_string_array(std::string_view key) const {
  const GgufValue& v = require(key);
  if (v.type != GgufType::ARRAY || v.elem_type != GgufType::STRING)
    fail(name_, ": GGUF key '", key, "' is not an array of strings");
  return v.strs;
}

std::vector<int64_t> GgufFile::get_int_array(std::string_view key) const {
  const GgufValue& v = require(key);
  if (v.type != GgufType::ARRAY || scalar_size(v.elem_type) == 0 || v.elem_type == GgufType::F32 ||
      v.elem_type == GgufType::F64)
    fail(name_, ": GGUF key '", key, "' is not an array of integers");
  std::vector<int64_t> out(size_t(v.count));
  for (uint64_t k = 0; k < v.count; ++k) out[k] = v.int_at(k);
  return out;
}

std::vector<double> GgufFile::get_float_array(std::string_view key) const {
  const GgufValue& v = require(key);
  if (v.type != GgufType::ARRAY || scalar_size(v.elem_type) == 0)
    fail(name_, ": GGUF key '", key, "' is not a numeric array");
  std::vector<double> out(size_t(v.count));
  for (uint64_t k = 0; k < v.count; ++k) out[k] = v.float_at(k);
  return out;
}

std::string GgufFile::get_string(std::string_view key, const std::string& def) const {
  return find(key) ? get_string(key) : def;
}
int64_t GgufFile::get_int(std::string_view key, int64_t def) const {
  return find(key) ? get_int(key) : def;
}
bool GgufFile::get_bool(std::string_view key, bool def) const {
  return find(key) ? get_bool(key) : def;
}

const GgufTensorInfo* GgufFile::find_tensor(std::string_view name) const {
  for (const auto& t : tensors_)
    if (t.name == name) return &t;
  return nullptr;
}

}  // namespace dsv3
