// Strict JSON parsing (duplicate keys, depth limit, errors naming the file) and string quoting.
#include "io/json_util.h"

#include <set>
#include <vector>

#include "core/error.h"
#include "core/mapped_file.h"

namespace dsv3 {

using nlohmann::json;

nlohmann::json parse_json_strict(std::string_view text, const std::string& what) {
  // One set of seen keys per open object (nullptr-like empty entry for arrays keeps depth).
  std::vector<std::set<std::string>> open;
  int depth = 0;
  auto cb = [&](int /*depth*/, json::parse_event_t ev, json& parsed) -> bool {
    switch (ev) {
      case json::parse_event_t::object_start:
      case json::parse_event_t::array_start:
        if (++depth > kMaxJsonDepth)
          fail(what, ": JSON nested deeper than ", kMaxJsonDepth, " levels");
        open.emplace_back();
        break;
      case json::parse_event_t::object_end:
      case json::parse_event_t::array_end:
        --depth;
        if (!open.empty()) open.pop_back();
        break;
      case json::parse_event_t::key: {
        const std::string& k = parsed.get_ref<const std::string&>();
        if (!open.empty() && !open.back().insert(k).second)
          fail(what, ": duplicate key '", k, "' in JSON object");
        break;
      }
      case json::parse_event_t::value:
        break;
    }
    return true;
  };
  try {
    return json::parse(text.begin(), text.end(), cb, /*allow_exceptions=*/true,
                       /*ignore_comments=*/false);
  } catch (const json::exception& e) {
    fail(what, ": malformed JSON: ", e.what());
  }
}

nlohmann::json read_json_file(const std::string& path) {
  return parse_json_strict(read_text_file(path), path);
}

const char* json_type_name(const nlohmann::json& j) {
  return j.type_name();
}

std::string json_quote(const std::string& s, const std::string& what) {
  try {
    return json(s).dump();
  } catch (const json::exception& e) {
    fail(what, ": string is not valid UTF-8: ", e.what());
  }
}

}  // namespace dsv3
