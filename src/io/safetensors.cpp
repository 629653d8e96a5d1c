// Safetensors reader (validating, zero-copy over the mmap) and writer (byte-identical to the
// Python library's output). The format rules checked here follow safetensors 0.8.0.
#include "io/safetensors.h"

#include <algorithm>
#include <cerrno>
#include <cstdio>
#include <cstring>
#include <filesystem>
#include <limits>
#include <numeric>

#include "core/error.h"
#include "io/json_util.h"

namespace dsv3 {

using nlohmann::json;

namespace {

// The reference library refuses headers above this size (MAX_HEADER_SIZE).
constexpr uint64_t kMaxHeaderBytes = 100'000'000;
// More dims than any real tensor has; keeps messages and numel loops bounded.
constexpr size_t kMaxDims = 64;

std::string range_string(uint64_t b, uint64_t e) {
  return str("[", b, ", ", e, "]");
}

std::string dims_string(const std::vector<int64_t>& s) {
  std::string r = "[";
  for (size_t i = 0; i < s.size(); ++i) r += (i ? ", " : "") + std::to_string(s[i]);
  return r + "]";
}

// Reads a JSON number that must be a non-negative integer representable in int64.
bool as_index(const json& j, uint64_t* out) {
  if (!j.is_number_unsigned()) {
    if (j.is_number_integer() && j.get<int64_t>() >= 0) {
      *out = uint64_t(j.get<int64_t>());
      return true;
    }
    return false;
  }
  uint64_t v = j.get<uint64_t>();
  if (v > uint64_t(std::numeric_limits<int64_t>::max())) return false;
  *out = v;
  return true;
}

// Storage-order rank of the safetensors library (its Dtype enum order); larger is stored first.
int storage_rank(DType t) {
  switch (t) {
    case DType::BOOL:
      return 0;
    case DType::U8:
      return 1;
    case DType::I8:
      return 2;
    case DType::F8_E5M2:
      return 3;
    case DType::F8_E4M3:
      return 4;
    case DType::I16:
      return 5;
    case DType::F16:
      return 6;
    case DType::BF16:
      return 7;
    case DType::I32:
      return 8;
    case DType::F32:
      return 9;
    case DType::F64:
      return 10;
    case DType::I64:
      return 11;
    default:  // ggml block types are not safetensors dtypes
      break;
  }
  return -1;
}

// numel * dtype size with overflow detection; false on overflow.
bool byte_size(const std::vector<int64_t>& shape, DType dt, uint64_t* out) {
  uint64_t n = dtype_size(dt);
  for (int64_t d : shape)
    if (__builtin_mul_overflow(n, uint64_t(d), &n)) return false;
  *out = n;
  return true;
}

struct Entry {
  std::string name;
  uint64_t begin, end;
};

}  // namespace

int64_t StoredTensor::numel() const {
  int64_t n = 1;
  for (int64_t d : shape) n *= d;  // bounded: validated against the file size at open
  return n;
}

TensorView StoredTensor::view() const {
  DSV3_CHECK(shape.size() <= 4, file, ": tensor '", name, "': ", shape.size(),
             " dimensions; tensor views support at most 4");
  TensorView v;
  v.dtype = dtype;
  v.data = data;
  if (shape.empty()) {
    v.ndim = 1;
    v.shape[0] = 1;
  } else {
    v.ndim = int(shape.size());
    for (size_t i = 0; i < shape.size(); ++i) v.shape[i] = shape[i];
  }
  return v;
}

size_t SafetensorsFile::tensor_bytes() const {
  size_t n = 0;
  for (const auto& [k, t] : tensors_) n += t.nbytes;
  return n;
}

bool SafetensorsFile::owns(const StoredTensor& t) const {
  auto inside = [&](const uint8_t* lo, size_t n) {
    auto p = reinterpret_cast<uintptr_t>(t.data), l = reinterpret_cast<uintptr_t>(lo);
    return p >= l && p - l <= n && t.nbytes <= n - (p - l);
  };
  if (inside(file_.data() + data_start_, file_.size() - data_start_)) return true;
  for (size_t i = 0; i < copies_.size(); ++i)
    if (inside(reinterpret_cast<const uint8_t*>(copies_[i].get()), copy_sizes_[i])) return true;
  return false;
}

std::unique_ptr<SafetensorsFile> SafetensorsFile::open(const std::string& path) {
  auto sf = std::unique_ptr<SafetensorsFile>(new SafetensorsFile());
  sf->file_ = MappedFile(path);
  const uint8_t* base = sf->file_.data();
  const uint64_t size = sf->file_.size();
  DSV3_CHECK(size >= 8, path, ": file too small for a safetensors header (", size,
             " bytes, need at least 8)");
  uint64_t hlen = 0;
  for (int i = 0; i < 8; ++i) hlen |= uint64_t(base[i]) << (8 * i);
  DSV3_CHECK(hlen <= kMaxHeaderBytes, path, ": header length ", hlen, " exceeds the limit of ",
             kMaxHeaderBytes, " bytes (corrupt or not a safetensors file)");
  DSV3_CHECK(hlen <= size - 8, path, ": header length ", hlen, " past end of file (size ", size,
             ")");
  DSV3_CHECK(hlen >= 2, path, ": header length ", hlen, " too small for a JSON object");
  const std::string what = path + ": header";
  json h = parse_json_strict(
      std::string_view(reinterpret_cast<const char*>(base + 8), size_t(hlen)), what);
  DSV3_CHECK(h.is_object(), what, ": expected a JSON object, got ", json_type_name(h));

  const uint64_t data_start = 8 + hlen;
  sf->data_start_ = size_t(data_start);
  const uint64_t data_size = size - data_start;
  std::vector<Entry> entries;
  entries.reserve(h.size());
  for (auto it = h.begin(); it != h.end(); ++it) {
    const std::string& name = it.key();
    const json& v = it.value();
    if (name == "__metadata__") {
      if (v.is_null()) continue;
      DSV3_CHECK(v.is_object(), path, ": __metadata__ must be an object of strings, got ",
                 json_type_name(v));
      for (auto m = v.begin(); m != v.end(); ++m) {
        DSV3_CHECK(m.value().is_string(), path, ": __metadata__ value of '", m.key(),
                   "' must be a string, got ", json_type_name(m.value()));
        sf->metadata_[m.key()] = m.value().get<std::string>();
      }
      continue;
    }
    const std::string where = str(path, ": tensor '", name, "'");
    DSV3_CHECK(v.is_object(), where, ": entry must be an object, got ", json_type_name(v));
    StoredTensor t;
    t.name = name;
    t.file = path;

    auto dt = v.find("dtype");
    DSV3_CHECK(dt != v.end(), where, ": missing \"dtype\"");
    DSV3_CHECK(dt->is_string(), where, ": \"dtype\" must be a string");
    DSV3_CHECK(parse_dtype(dt->get<std::string>(), &t.dtype), where, ": unknown dtype '",
               dt->get<std::string>(), "'");

    auto sh = v.find("shape");
    DSV3_CHECK(sh != v.end(), where, ": missing \"shape\"");
    DSV3_CHECK(sh->is_array(), where, ": \"shape\" must be an array");
    DSV3_CHECK(sh->size() <= kMaxDims, where, ": shape has ", sh->size(), " dimensions (max ",
               kMaxDims, ")");
    for (const json& d : *sh) {
      uint64_t x;
      DSV3_CHECK(as_index(d, &x), where, ": shape ", sh->dump(),
                 " must hold non-negative integers");
      t.shape.push_back(int64_t(x));
    }
    uint64_t need;
    DSV3_CHECK(byte_size(t.shape, t.dtype, &need), where, ": shape ", dims_string(t.shape), " of ",
               dtype_name(t.dtype), " overflows 64-bit size");

    auto off = v.find("data_offsets");
    DSV3_CHECK(off != v.end(), where, ": missing \"data_offsets\"");
    uint64_t b = 0, e = 0;
    DSV3_CHECK(
        off->is_array() && off->size() == 2 && as_index((*off)[0], &b) && as_index((*off)[1], &e),
        where, ": \"data_offsets\" must be [begin, end] of non-negative integers, got ",
        off->dump());
    DSV3_CHECK(b <= e, where, ": data_offsets ", range_string(b, e), " have begin > end");
    DSV3_CHECK(e <= data_size, where, ": data_offsets ", range_string(b, e),
               " past end of file (data section holds ", data_size, " bytes; file size ", size,
               ")");
    DSV3_CHECK(e - b == need, where, ": shape ", dims_string(t.shape), " of ", dtype_name(t.dtype),
               " needs ", need, " bytes but data_offsets ", range_string(b, e), " span ", e - b);
    t.nbytes = size_t(need);
    t.data = base + data_start + b;
    entries.push_back({name, b, e});
    sf->tensors_.emplace(name, std::move(t));
  }

  // Ranges: sorted by begin they must tile [0, data_size) exactly (no overlap, no hole, no tail).
  std::sort(entries.begin(), entries.end(), [](const Entry& x, const Entry& y) {
    return x.begin != y.begin ? x.begin < y.begin : x.end < y.end;
  });
  uint64_t pos = 0;
  const Entry* prev = nullptr;
  for (const Entry& en : entries) {
    if (en.begin < pos)
      fail(path, ": tensors '", prev->name, "' data_offsets ", range_string(prev->begin, prev->end),
           " and '", en.name, "' data_offsets ", range_string(en.begin, en.end), " overlap");
    if (en.begin > pos)
      fail(path, ": tensor '", en.name, "': data_offsets ", range_string(en.begin, en.end),
           " leave a hole of ", en.begin - pos, " unindexed bytes before it (",
           prev ? str("after tensor '", prev->name, "'") : std::string("at the data start"), ")");
    pos = en.end;
    prev = &en;
  }
  DSV3_CHECK(pos == data_size, path, ": ", data_size - pos,
             " bytes after the last tensor are not covered by any tensor (data section holds ",
             data_size, " bytes)");

  // Alignment: copy the (rare) tensors whose address is not a multiple of their element size.
  for (auto& [name, t] : sf->tensors_) {
    const size_t es = dtype_size(t.dtype);
    if (t.nbytes == 0 || reinterpret_cast<uintptr_t>(t.data) % es == 0) continue;
    auto buf = std::make_unique<uint64_t[]>((t.nbytes + 7) / 8);
    std::memcpy(buf.get(), t.data, t.nbytes);
    t.data = reinterpret_cast<const uint8_t*>(buf.get());
    sf->copied_bytes_ += t.nbytes;
    sf->copies_.push_back(std::move(buf));
    sf->copy_sizes_.push_back(t.nbytes);
  }
  return sf;
}

void write_safetensors(const std::string& path, const std::vector<TensorToWrite>& tensors,
                       const std::map<std::string, std::string>& metadata) {
  std::vector<size_t> order(tensors.size());
  std::iota(order.begin(), order.end(), size_t(0));
  for (const TensorToWrite& t : tensors) {
    const std::string where = str(path, ": tensor '", t.name, "'");
    DSV3_CHECK(t.name != "__metadata__", where, ": reserved name");
    DSV3_CHECK(storage_rank(t.dtype) >= 0, where, ": invalid dtype");
    for (int64_t d : t.shape) DSV3_CHECK(d >= 0, where, ": negative dimension in shape");
    uint64_t need;
    DSV3_CHECK(byte_size(t.shape, t.dtype, &need) && need == t.nbytes, where, ": shape ",
               dims_string(t.shape), " of ", dtype_name(t.dtype), " does not match ", t.nbytes,
               " bytes of data");
    DSV3_CHECK(t.nbytes == 0 || t.data != nullptr, where, ": null data");
  }
  std::sort(order.begin(), order.end(), [&](size_t a, size_t b) {
    int ra = storage_rank(tensors[a].dtype), rb = storage_rank(tensors[b].dtype);
    return ra != rb ? ra > rb : tensors[a].name < tensors[b].name;
  });
  {
    std::vector<std::string> names;
    for (const auto& t : tensors) names.push_back(t.name);
    std::sort(names.begin(), names.end());
    auto d = std::adjacent_find(names.begin(), names.end());
    DSV3_CHECK(d == names.end(), path, ": tensor '", d == names.end() ? "" : *d, "' given twice");
  }

  std::string h = "{";
  if (!metadata.empty()) {
    h += "\"__metadata__\":{";
    bool first = true;
    for (const auto& [k, v] : metadata) {
      if (!first) h += ",";
      first = false;
      h += json_quote(k, path + ": metadata key") + ":" +
           json_quote(v, path + ": metadata '" + k + "'");
    }
    h += "}";
  }
  uint64_t off = 0;
  for (size_t i : order) {
    const TensorToWrite& t = tensors[i];
    if (h.size() > 1) h += ",";
    h += json_quote(t.name, path + ": tensor name");
    h += str(":{\"dtype\":\"", dtype_name(t.dtype), "\",\"shape\":[");
    for (size_t d = 0; d < t.shape.size(); ++d) h += (d ? "," : "") + std::to_string(t.shape[d]);
    h += str("],\"data_offsets\":[", off, ",", off + t.nbytes, "]}");
    off += t.nbytes;
  }
  h += "}";
  h.append((8 - h.size() % 8) % 8, ' ');

  const std::string tmp = path + ".tmp";
  FILE* f = std::fopen(tmp.c_str(), "wb");
  DSV3_CHECK(f, tmp, ": cannot create: ", std::strerror(errno));
  uint8_t len[8];
  for (int i = 0; i < 8; ++i) len[i] = uint8_t(uint64_t(h.size()) >> (8 * i));
  bool ok = std::fwrite(len, 1, 8, f) == 8 && std::fwrite(h.data(), 1, h.size(), f) == h.size();
  for (size_t i : order) {
    if (!ok) break;
    const TensorToWrite& t = tensors[i];
    if (t.nbytes) ok = std::fwrite(t.data, 1, t.nbytes, f) == t.nbytes;
  }
  const int err = ok ? 0 : errno;
  ok = (std::fclose(f) == 0) && ok;
  if (!ok) {
    std::remove(tmp.c_str());
    fail(path, ": write failed: ", std::strerror(err ? err : EIO));
  }
  std::error_code ec;
  std::filesystem::rename(tmp, path, ec);
  if (ec) {
    std::remove(tmp.c_str());
    fail(path, ": cannot rename ", tmp, ": ", ec.message());
  }
}

}  // namespace dsv3
