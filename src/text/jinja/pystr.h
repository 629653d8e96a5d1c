// Python str semantics on UTF-8 strings: code-point decoding, Unicode whitespace as str.isspace()
// and re's \s see it, and the str methods chat templates call (strip, split, replace, ...).
#pragma once
#include <cstdint>
#include <optional>
#include <string>
#include <string_view>
#include <vector>

namespace dsv3::jinja::pystr {

// Decodes UTF-8 into code points; invalid bytes become U+FFFD (inputs come from nlohmann::json,
// which already rejects invalid UTF-8, so this is only a safety net).
std::u32string decode(std::string_view s);
std::string encode(std::u32string_view s);
void append_utf8(std::string& out, char32_t c);
size_t length(std::string_view s);  // number of code points

bool is_space(char32_t c);  // Python str.isspace() (== re \s for str patterns)
bool is_space_at(std::string_view s, size_t byte_pos, size_t* len);
char32_t to_upper(char32_t c);
char32_t to_lower(char32_t c);
bool is_alpha(char32_t c);
bool is_digit(char32_t c);

std::string upper(std::string_view s);
std::string lower(std::string_view s);
std::string title(std::string_view s);       // Python str.title()
std::string capitalize(std::string_view s);  // Python str.capitalize()

// strip/lstrip/rstrip: chars == nullopt strips Unicode whitespace, else any code point in chars.
std::string strip(std::string_view s, const std::optional<std::string>& chars, bool left,
                  bool right);
// Python str.split(sep, maxsplit) / rsplit; sep == nullopt splits on whitespace runs.
std::vector<std::string> split(std::string_view s, const std::optional<std::string>& sep,
                               int64_t maxsplit, bool from_right);
std::vector<std::string> splitlines(std::string_view s, bool keepends);
std::string replace(std::string_view s, std::string_view old, std::string_view repl, int64_t count);
int64_t count(std::string_view s, std::string_view sub);
// Python str.find / rfind in code-point units (-1 when absent).
int64_t find(std::string_view s, std::string_view sub, bool from_right);

}  // namespace dsv3::jinja::pystr
