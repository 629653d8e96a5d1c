// Report rendering (text table, JSON) and number formatting.
#include "analyze/report.h"

#include <algorithm>
#include <cinttypes>
#include <cmath>
#include <cstdio>

namespace dsv3::analyze {

bool Report::any_skipped() const {
  return std::any_of(sections.begin(), sections.end(),
                     [](const Section& s) { return !s.skipped.empty(); });
}

std::string with_commas(int64_t v) {
  const uint64_t mag = v < 0 ? uint64_t(0) - uint64_t(v) : uint64_t(v);
  const std::string digits = std::to_string(mag);
  std::string out;
  int n = 0;
  for (auto it = digits.rbegin(); it != digits.rend(); ++it, ++n) {
    if (n && n % 3 == 0) out.push_back(',');
    out.push_back(*it);
  }
  if (v < 0) out.push_back('-');
  std::reverse(out.begin(), out.end());
  return out;
}

std::string fixed(double v, int digits) {
  char buf[64];
  std::snprintf(buf, sizeof buf, "%.*f", digits, v);
  return buf;
}

std::string billions(int64_t v) {
  return fixed(double(v) / 1e9, 2) + " B";
}

std::string human_bytes(double b) {
  const char* units[] = {"B", "KB", "MB", "GB", "TB", "PB"};
  int u = 0;
  while (std::fabs(b) >= 1000 && u < 5) {
    b /= 1000;
    ++u;
  }
  return u == 0 ? fixed(b, 0) + " B" : fixed(b, 2) + " " + units[u];
}

std::string render_table(const Report& r) {
  std::string out;
  for (const auto& s : r.sections) {
    out += "== " + s.title + " ==\n";
    if (!s.skipped.empty()) {
      out += "  skipped: " + s.skipped + "\n\n";
      continue;
    }
    size_t wl = 0, wv = 0;
    for (const auto& row : s.rows) {
      wl = std::max(wl, row.label.size());
      wv = std::max(wv, row.value.size());
    }
    for (const auto& row : s.rows) {
      std::string line = "  " + row.label + std::string(wl - row.label.size() + 2, ' ');
      const std::string pad(wv - row.value.size(), ' ');
      line += s.left_align ? row.value + pad : pad + row.value;
      if (!row.note.empty()) line += "   " + row.note;
      line.erase(line.find_last_not_of(' ') + 1);
      out += line + "\n";
    }
    out += "\n";
  }
  return out;
}

nlohmann::json render_json(const Report& r) {
  nlohmann::json j = nlohmann::json::object();
  nlohmann::json skipped = nlohmann::json::array();
  for (const auto& s : r.sections) {
    if (!s.skipped.empty()) {
      skipped.push_back(
          {{"figure", s.key}, {"message", s.skipped}, {"missing_fields", s.missing_fields}});
      continue;
    }
    j[s.key] = s.json;
  }
  j["skipped"] = skipped;
  return j;
}

}  // namespace dsv3::analyze
