// Added-token matching, done on the raw (or normalized) text before pre-tokenization, as HF's
// AddedVocabulary::split_with_indices does: leftmost-longest non-overlapping matches (an
// Aho-Corasick LeftmostLongest scan), then the single_word filter (neighbours must not be \w
// characters), lstrip (absorb White_Space on the left, never past the previous match) and
// rstrip (absorb White_Space on the right).
#pragma once
#include <cstdint>
#include <string>
#include <string_view>
#include <unordered_map>
#include <vector>

namespace dsv3 {

struct AddedToken {
  int32_t id = -1;
  std::string content;
  bool special = false;
  bool single_word = false;
  bool lstrip = false;
  bool rstrip = false;
  bool normalized = false;
};

// A piece of the input: either an added token (`token` >= 0) or text to pre-tokenize.
struct Segment {
  size_t begin, end;
  int32_t token;  // -1 for text
};

class AddedTokenMatcher {
 public:
  AddedTokenMatcher() = default;
  explicit AddedTokenMatcher(const std::vector<AddedToken>& tokens);
  bool empty() const { return tokens_.empty(); }
  // Splits s into segments covering it in order (empty text segments are omitted).
  void split(std::string_view s, std::vector<Segment>& out) const;

 private:
  // Longest token starting at s[i], or -1.
  int longest_at(std::string_view s, size_t i, size_t& len) const;
  std::vector<AddedToken> tokens_;
  // Byte trie: node -> (byte -> child); terminal[node] = token index or -1.
  std::vector<std::unordered_map<uint8_t, int32_t>> children_;
  std::vector<int32_t> terminal_;
  bool first_byte_[256] = {};
};

// Rust char::is_whitespace (Unicode White_Space).
bool is_white_space(uint32_t cp);
// Rust regex \w: Alphabetic, M, Nd, Pc, Join_Control.
bool is_word_char(uint32_t cp);

}  // namespace dsv3
