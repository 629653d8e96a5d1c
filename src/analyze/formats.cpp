// Number-format names -> bits per element; list parsing for the analyze flags.
#include "analyze/formats.h"

#include <cerrno>
#include <cmath>
#include <cstdlib>
#include <sstream>

#include "core/error.h"

namespace dsv3::analyze {

namespace {
std::vector<std::string> split(const std::string& s) {
  std::vector<std::string> out;
  std::stringstream ss(s);
  std::string item;
  while (std::getline(ss, item, ',')) out.push_back(item);
  return out;
}

bool parse_positive(const std::string& s, double* v) {
  if (s.empty()) return false;
  char* end = nullptr;
  errno = 0;
  *v = std::strtod(s.c_str(), &end);
  return errno == 0 && *end == '\0' && std::isfinite(*v) && *v > 0;
}
}  // namespace

NumberFormat parse_format(const std::string& name) {
  struct Known {
    const char* name;
    double bits;
  };
  static const Known kKnown[] = {
      {"f32", 32}, {"fp32", 32},  {"bf16", 16},     {"f16", 16},   {"fp16", 16},
      {"fp8", 8},  {"e4m3", 8},   {"e5m2", 8},      {"int8", 8},   {"int4", 4},
      {"fp4", 4},  {"q8_0", 8.5}, {"q6_k", 6.5625}, {"q4_k", 4.5}, {"q4_k_m", 4.5},
  };
  for (const auto& k : kKnown)
    if (name == k.name) return {name, k.bits};
  if (name.size() > 3 && name.compare(name.size() - 3, 3, "bit") == 0) {
    double b;
    if (parse_positive(name.substr(0, name.size() - 3), &b) && b <= 64) return {name, b};
  }
  fail("unknown number format '", name,
       "' (known: f32, bf16, f16, fp8, e4m3, e5m2, int8, int4, fp4, q8_0, q6_k, q4_k, <N>bit)");
}

std::vector<NumberFormat> parse_format_list(const std::string& list, const std::string& flag) {
  std::vector<NumberFormat> out;
  for (const auto& s : split(list)) {
    try {
      out.push_back(parse_format(s));
    } catch (const Error& e) {
      fail("flag ", flag, ": ", e.what());
    }
  }
  DSV3_CHECK(!out.empty(), "flag ", flag, ": empty list");
  return out;
}

std::vector<double> parse_number_list(const std::string& list, const std::string& flag) {
  std::vector<double> out;
  for (const auto& s : split(list)) {
    double v;
    DSV3_CHECK(parse_positive(s, &v), "flag ", flag, ": '", s, "' is not a positive number");
    out.push_back(v);
  }
  DSV3_CHECK(!out.empty(), "flag ", flag, ": empty list");
  return out;
}

}  // namespace dsv3::analyze
