// Regex engine of the pre-tokenizer: PCRE2 (UTF + UCP, JIT) running patterns written for
// Oniguruma, the engine HF tokenizers uses for Split/ByteLevel regexes. onig_to_pcre2()
// rewrites the constructs whose meaning differs: \s and \S (Oniguruma: U+0009..U+000D, U+0085,
// Zs, Zl, Zp; written as that explicit set), \p{L} \p{N} \p{M} \p{P} \p{S} (PCRE2 10.42 has
// Unicode 14 tables, HF's Oniguruma a newer Unicode: the code points assigned since are added
// from the generated unicode_classes.cpp) and ^/$ (Ruby syntax: always multi-line).
#pragma once
#include <cstddef>
#include <string>
#include <string_view>
#include <utility>
#include <vector>

struct pcre2_real_code_8;

namespace dsv3 {

// Oniguruma (Ruby syntax) pattern -> equivalent PCRE2 pattern.
std::string onig_to_pcre2(std::string_view pattern);
// Escapes every regex metacharacter so the pattern matches `literal` exactly.
std::string regex_escape(std::string_view literal);

class Regex {
 public:
  // Compiles an Oniguruma-syntax pattern; throws Error naming the pattern if PCRE2 rejects it.
  explicit Regex(std::string_view onig_pattern);
  ~Regex();
  Regex(const Regex&) = delete;
  Regex& operator=(const Regex&) = delete;

  // Appends [start, end) of every non-overlapping match in `s` (valid UTF-8), left to right, as
  // find_iter does: after an empty match the search resumes one character later.
  // Throws Error if PCRE2 fails (e.g. match limit exceeded).
  void find_all(std::string_view s, std::vector<std::pair<size_t, size_t>>& out) const;
  const std::string& pattern() const { return pattern_; }

 private:
  std::string pattern_;
  pcre2_real_code_8* code_ = nullptr;
  bool jit_ = false;
};

}  // namespace dsv3
