// Strict JSON parsing for untrusted files (safetensors headers, config.json, index files):
// nlohmann::json plus the checks it does not make itself.
#pragma once
#include <string>
#include <string_view>

#include <nlohmann/json.hpp>

namespace dsv3 {

// Maximum nesting of objects/arrays accepted by parse_json_strict. Real files nest at most ~4
// deep; the limit stops pathological inputs ("[[[[...") from costing deep recursion on destruction.
inline constexpr int kMaxJsonDepth = 64;

// Parses `text` as one JSON value (trailing whitespace allowed, nothing else). Throws dsv3::Error
// "<what>: malformed JSON: <reason>" on a syntax error or invalid UTF-8, a repeated key within one
// object ("<what>: duplicate key 'k' in JSON object"), or nesting deeper than kMaxJsonDepth.
// `what` is the file name (or "file: header") used as the message prefix.
nlohmann::json parse_json_strict(std::string_view text, const std::string& what);

// Reads and parses a JSON file with parse_json_strict; the message prefix is the path.
nlohmann::json read_json_file(const std::string& path);

// "object", "array", "string", "number", ... for messages.
const char* json_type_name(const nlohmann::json& j);

// Serialises a string as a JSON string literal the way serde_json (the safetensors library) and
// Python's json.dumps(ensure_ascii=False) do: escapes " \ and control characters, keeps UTF-8.
// Throws dsv3::Error naming `what` if `s` is not valid UTF-8.
std::string json_quote(const std::string& s, const std::string& what);

}  // namespace dsv3
