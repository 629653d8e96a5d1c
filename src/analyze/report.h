// A format-neutral analysis report (sections of labelled rows plus a JSON object per section)
// and its two renderings: an aligned text table and one JSON document.
#pragma once
#include <cstdint>
#include <string>
#include <vector>

#include <nlohmann/json.hpp>

namespace dsv3::analyze {

struct Row {
  std::string label;  // "KV bytes/token (bf16)"
  std::string value;  // "70,272"
  std::string note;   // "paper: 70.272 KB"
};

struct Section {
  std::string key;    // JSON key: "kv_cache"
  std::string title;  // table heading
  std::vector<Row> rows;
  bool left_align = false;  // values are text, not numbers
  nlohmann::json json = nlohmann::json::object();
  // Non-empty when the section could not be computed: the message, and the missing config keys.
  std::string skipped;
  std::vector<std::string> missing_fields;
};

struct Report {
  std::vector<Section> sections;
  bool any_skipped() const;
};

// Text table: one block per section, label / value / note columns.
std::string render_table(const Report& r);
// {"<section key>": {...}, ..., "skipped": [{"figure", "message", "missing_fields"}]}.
nlohmann::json render_json(const Report& r);

// Formatting helpers for the text rows.
std::string with_commas(int64_t v);       // 70272 -> "70,272"
std::string fixed(double v, int digits);  // fixed(14.7571, 3) -> "14.757"
std::string billions(int64_t v);          // 671026419200 -> "671.03 B"
std::string human_bytes(double bytes);    // decimal units: 9.21 GB

}  // namespace dsv3::analyze
