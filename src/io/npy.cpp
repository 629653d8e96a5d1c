// .npy reader/writer (header dict parsed just enough: descr, fortran_order, shape).
#include "io/npy.h"

#include <cstring>
#include <fstream>

#include "core/error.h"
#include "core/mapped_file.h"

namespace dsv3 {

int64_t NpyArray::numel() const {
  int64_t n = 1;
  for (auto s : shape) n *= s;
  return n;
}

std::vector<float> NpyArray::as_f32() const {
  std::vector<float> out(static_cast<size_t>(numel()));
  for (size_t i = 0; i < out.size(); ++i) {
    if (descr == "<f4") { float v; std::memcpy(&v, &bytes[i * 4], 4); out[i] = v; }
    else if (descr == "<f8") { double v; std::memcpy(&v, &bytes[i * 8], 8); out[i] = float(v); }
    else if (descr == "<i4") { int32_t v; std::memcpy(&v, &bytes[i * 4], 4); out[i] = float(v); }
    else if (descr == "<i8") { int64_t v; std::memcpy(&v, &bytes[i * 8], 8); out[i] = float(v); }
    else fail("npy: unsupported dtype ", descr);
  }
  return out;
}

std::vector<int64_t> NpyArray::as_i64() const {
  std::vector<int64_t> out(static_cast<size_t>(numel()));
  for (size_t i = 0; i < out.size(); ++i) {
    if (descr == "<i4") { int32_t v; std::memcpy(&v, &bytes[i * 4], 4); out[i] = v; }
    else if (descr == "<i8") { int64_t v; std::memcpy(&v, &bytes[i * 8], 8); out[i] = v; }
    else if (descr == "<f4") { float v; std::memcpy(&v, &bytes[i * 4], 4); out[i] = int64_t(v); }
    else fail("npy: unsupported dtype ", descr);
  }
  return out;
}

NpyArray read_npy(const std::string& path) {
  std::string s = read_text_file(path);
  DSV3_CHECK(s.size() >= 10 && std::memcmp(s.data(), "\x93NUMPY", 6) == 0, path, ": not a .npy file");
  const int major = uint8_t(s[6]);
  size_t hlen, hstart;
  if (major == 1) {
    hlen = uint8_t(s[8]) | (size_t(uint8_t(s[9])) << 8);
    hstart = 10;
  } else {
    DSV3_CHECK(s.size() >= 12, path, ": truncated .npy header");
    hlen = uint8_t(s[8]) | (size_t(uint8_t(s[9])) << 8) | (size_t(uint8_t(s[10])) << 16) |
           (size_t(uint8_t(s[11])) << 24);
    hstart = 12;
  }
  DSV3_CHECK(hstart + hlen <= s.size(), path, ": truncated .npy header");
  std::string h = s.substr(hstart, hlen);
  NpyArray a;
  auto field = [&](const std::string& key) -> std::string {
    size_t p = h.find("'" + key + "'");
    DSV3_CHECK(p != std::string::npos, path, ": .npy header lacks ", key);
    p = h.find(':', p);
    DSV3_CHECK(p != std::string::npos, path, ": bad .npy header");
    return h.substr(p + 1);
  };
  std::string d = field("descr");
  size_t q1 = d.find('\''), q2 = d.find('\'', q1 + 1);
  DSV3_CHECK(q1 != std::string::npos && q2 != std::string::npos, path, ": bad descr");
  a.descr = d.substr(q1 + 1, q2 - q1 - 1);
  if (a.descr == "|b1" || a.descr == "|u1") a.descr = "<i1";
  DSV3_CHECK(field("fortran_order").find("False") < 3, path, ": fortran_order arrays unsupported");
  std::string sh = field("shape");
  size_t o = sh.find('('), c = sh.find(')');
  DSV3_CHECK(o != std::string::npos && c != std::string::npos, path, ": bad shape");
  std::string inner = sh.substr(o + 1, c - o - 1);
  size_t pos = 0;
  while (pos < inner.size()) {
    while (pos < inner.size() && (inner[pos] == ' ' || inner[pos] == ',')) ++pos;
    if (pos >= inner.size()) break;
    a.shape.push_back(std::stoll(inner.substr(pos)));
    while (pos < inner.size() && inner[pos] != ',') ++pos;
  }
  size_t esize = a.descr == "<f8" || a.descr == "<i8" ? 8 : a.descr == "<i1" ? 1 : 4;
  size_t nbytes = size_t(a.numel()) * esize;
  DSV3_CHECK(hstart + hlen + nbytes <= s.size(), path, ": truncated .npy data");
  a.bytes.assign(s.begin() + hstart + hlen, s.begin() + hstart + hlen + nbytes);
  return a;
}

static void write_npy_raw(const std::string& path, const char* descr, const void* data,
                          size_t esize, const std::vector<int64_t>& shape) {
  std::string sh = "(";
  size_t n = 1;
  for (size_t i = 0; i < shape.size(); ++i) {
    sh += std::to_string(shape[i]) + (shape.size() == 1 || i + 1 < shape.size() ? "," : "");
    n *= size_t(shape[i]);
  }
  sh += ")";
  std::string h = std::string("{'descr': '") + descr + "', 'fortran_order': False, 'shape': " + sh + ", }";
  size_t total = 10 + h.size() + 1;
  h.append((64 - total % 64) % 64, ' ');
  h += '\n';
  std::ofstream f(path, std::ios::binary);
  DSV3_CHECK(f.good(), path, ": cannot write");
  f.write("\x93NUMPY\x01\x00", 8);
  uint16_t hl = uint16_t(h.size());
  f.put(char(hl & 0xff));
  f.put(char(hl >> 8));
  f << h;
  f.write(static_cast<const char*>(data), std::streamsize(n * esize));
  DSV3_CHECK(f.good(), path, ": write failed");
}

void write_npy(const std::string& path, const float* data, const std::vector<int64_t>& shape) {
  write_npy_raw(path, "<f4", data, 4, shape);
}
void write_npy_i32(const std::string& path, const int32_t* data, const std::vector<int64_t>& shape) {
  write_npy_raw(path, "<i4", data, 4, shape);
}

}  // namespace dsv3
