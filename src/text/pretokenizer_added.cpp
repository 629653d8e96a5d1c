// Added-token matcher: a byte trie scanned at each position (leftmost, then longest).
#include "text/pretokenizer_added.h"

#include <memory>

#include "text/pretokenizer_regex.h"
#include "text/utf8.h"

namespace dsv3 {

bool is_white_space(uint32_t c) {
  return (c >= 0x09 && c <= 0x0D) || c == 0x20 || c == 0x85 || c == 0xA0 || c == 0x1680 ||
         (c >= 0x2000 && c <= 0x200A) || c == 0x2028 || c == 0x2029 || c == 0x202F || c == 0x205F ||
         c == 0x3000;
}

bool is_word_char(uint32_t cp) {
  if (cp < 0x80)
    return (cp >= '0' && cp <= '9') || (cp >= 'a' && cp <= 'z') || (cp >= 'A' && cp <= 'Z') ||
           cp == '_';
  static const Regex re("^[\\p{Alphabetic}\\p{M}\\p{Nd}\\p{Pc}\\x{200C}\\x{200D}]");
  std::string s;
  utf8::append(s, cp);
  std::vector<std::pair<size_t, size_t>> m;
  re.find_all(s, m);
  return !m.empty();
}

namespace {
// Last / first code point of a valid UTF-8 string.
uint32_t last_cp(std::string_view s) {
  size_t i = s.size() - 1;
  while (i > 0 && (static_cast<uint8_t>(s[i]) & 0xC0) == 0x80) --i;
  return utf8::next(s, i);
}
uint32_t first_cp(std::string_view s) {
  size_t i = 0;
  return utf8::next(s, i);
}
}  // namespace

AddedTokenMatcher::AddedTokenMatcher(const std::vector<AddedToken>& tokens) {
  children_.emplace_back();
  terminal_.push_back(-1);
  for (const AddedToken& t : tokens) {
    if (t.content.empty()) continue;
    int32_t node = 0;
    for (unsigned char c : t.content) {
      auto it = children_[node].find(c);
      if (it == children_[node].end()) {
        int32_t n = int32_t(children_.size());
        children_[node].emplace(c, n);
        children_.emplace_back();
        terminal_.push_back(-1);
        node = n;
      } else {
        node = it->second;
      }
    }
    if (terminal_[node] < 0) {  // first occurrence of a content wins
      terminal_[node] = int32_t(tokens_.size());
      tokens_.push_back(t);
    }
    first_byte_[static_cast<uint8_t>(t.content[0])] = true;
  }
}

int AddedTokenMatcher::longest_at(std::string_view s, size_t i, size_t& len) const {
  int32_t node = 0, best = -1;
  for (size_t k = i; k < s.size(); ++k) {
    auto it = children_[node].find(static_cast<uint8_t>(s[k]));
    if (it == children_[node].end()) break;
    node = it->second;
    if (terminal_[node] >= 0) best = terminal_[node], len = k + 1 - i;
  }
  return best;
}

void AddedTokenMatcher::split(std::string_view s, std::vector<Segment>& out) const {
  if (tokens_.empty()) {
    if (!s.empty()) out.push_back({0, s.size(), -1});
    return;
  }
  size_t start_offset = 0;  // end of the previous emitted match
  size_t i = 0;
  while (i < s.size()) {
    if (!first_byte_[static_cast<uint8_t>(s[i])]) {
      ++i;
      continue;
    }
    size_t len = 0;
    int t = longest_at(s, i, len);
    if (t < 0) {
      ++i;
      continue;
    }
    const AddedToken& tok = tokens_[t];
    size_t start = i, stop = i + len;
    i = stop;  // the scan continues after this match even if it is discarded below
    if (tok.single_word) {
      bool start_ok = start == 0 || !is_word_char(last_cp(s.substr(0, start)));
      bool stop_ok = stop == s.size() || !is_word_char(first_cp(s.substr(stop)));
      if (!start_ok || !stop_ok) continue;
    }
    if (tok.lstrip) {
      size_t ns = start;
      while (ns > 0) {
        size_t k = ns - 1;
        while (k > 0 && (static_cast<uint8_t>(s[k]) & 0xC0) == 0x80) --k;
        size_t kk = k;
        if (!is_white_space(utf8::next(s, kk))) break;
        ns = k;
      }
      start = std::max(ns, start_offset);
    }
    if (tok.rstrip) {
      while (stop < s.size()) {
        size_t k = stop;
        if (!is_white_space(utf8::next(s, k))) break;
        stop = k;
      }
    }
    if (start_offset < start) out.push_back({start_offset, start, -1});
    out.push_back({start, stop, tok.id});
    start_offset = stop;
    i = std::max(i, stop);
  }
  if (start_offset < s.size()) out.push_back({start_offset, s.size(), -1});
}

}  // namespace dsv3
