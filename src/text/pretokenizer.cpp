// Pre-tokenizer pipeline; split behaviours follow tokenizers' NormalizedString::split.
#include "text/pretokenizer.h"

#include "core/error.h"

namespace dsv3 {

const char* const kGpt2Pattern =
    "'s|'t|'re|'ve|'m|'ll|'d| ?\\p{L}+| ?\\p{N}+| ?[^\\s\\p{L}\\p{N}]+|\\s+(?!\\S)|\\s+";

SplitBehavior parse_split_behavior(std::string_view n) {
  if (n == "Removed") return SplitBehavior::kRemoved;
  if (n == "Isolated") return SplitBehavior::kIsolated;
  if (n == "MergedWithPrevious") return SplitBehavior::kMergedWithPrevious;
  if (n == "MergedWithNext") return SplitBehavior::kMergedWithNext;
  if (n == "Contiguous") return SplitBehavior::kContiguous;
  fail("unknown split behavior '", std::string(n), "'");
}

void PreTokenizer::add_split(std::string_view pattern, bool is_regex, SplitBehavior behavior,
                             bool invert) {
  if (byte_level_) fail("pre_tokenizer: a Split step after ByteLevel is not supported");
  Step s;
  s.re = std::make_shared<Regex>(is_regex ? std::string(pattern) : regex_escape(pattern));
  s.behavior = behavior;
  s.invert = invert;
  steps_.push_back(std::move(s));
}

void PreTokenizer::add_byte_level(bool add_prefix_space, bool use_regex) {
  if (byte_level_) fail("pre_tokenizer: more than one ByteLevel step is not supported");
  Step s;
  s.is_byte_level = true;
  s.add_prefix_space = add_prefix_space;
  if (use_regex) {
    static const std::shared_ptr<Regex> gpt2 = std::make_shared<Regex>(kGpt2Pattern);
    s.re = gpt2;
  }
  steps_.push_back(std::move(s));
  byte_level_ = true;
}

void PreTokenizer::apply_split(const Step& st, std::string_view p,
                               std::vector<std::string_view>& out,
                               std::vector<std::pair<size_t, size_t>>& m) const {
  m.clear();
  st.re->find_all(p, m);
  // (start, end, is_match) covering p, as Pattern::find_matches builds it.
  struct Span {
    size_t b, e;
    bool match;
  };
  thread_local std::vector<Span> spans;
  spans.clear();
  size_t prev = 0;
  for (auto [b, e] : m) {
    if (prev != b) spans.push_back({prev, b, false});
    spans.push_back({b, e, true});
    prev = e;
  }
  if (prev != p.size()) spans.push_back({prev, p.size(), false});
  if (st.invert)
    for (auto& s : spans) s.match = !s.match;

  auto emit = [&](size_t b, size_t e) {
    if (e > b) out.push_back(p.substr(b, e - b));
  };
  switch (st.behavior) {
    case SplitBehavior::kIsolated:
      for (auto& s : spans) emit(s.b, s.e);
      break;
    case SplitBehavior::kRemoved:
      for (auto& s : spans)
        if (!s.match) emit(s.b, s.e);
      break;
    case SplitBehavior::kMergedWithPrevious: {
      thread_local std::vector<std::pair<size_t, size_t>> acc;
      acc.clear();
      bool prev_match = false;
      for (auto& s : spans) {
        if (s.match && !prev_match && !acc.empty())
          acc.back().second = s.e;
        else
          acc.emplace_back(s.b, s.e);
        prev_match = s.match;
      }
      for (auto [b, e] : acc) emit(b, e);
      break;
    }
    case SplitBehavior::kMergedWithNext: {
      thread_local std::vector<std::pair<size_t, size_t>> acc;
      acc.clear();
      bool prev_match = false;
      for (size_t k = spans.size(); k-- > 0;) {
        auto& s = spans[k];
        if (s.match && !prev_match && !acc.empty())
          acc.back().first = s.b;
        else
          acc.emplace_back(s.b, s.e);
        prev_match = s.match;
      }
      for (size_t k = acc.size(); k-- > 0;) emit(acc[k].first, acc[k].second);
      break;
    }
    case SplitBehavior::kContiguous: {
      thread_local std::vector<std::pair<size_t, size_t>> acc;
      acc.clear();
      bool prev_match = false;
      for (auto& s : spans) {
        if (s.match == prev_match && !acc.empty())
          acc.back().second = s.e;
        else
          acc.emplace_back(s.b, s.e);
        prev_match = s.match;
      }
      for (auto [b, e] : acc) emit(b, e);
      break;
    }
  }
}

void PreTokenizer::split(std::string_view text, std::vector<std::string_view>& out,
                         std::deque<std::string>& arena) const {
  if (text.empty()) return;
  thread_local std::vector<std::string_view> cur, next;
  thread_local std::vector<std::pair<size_t, size_t>> matches;
  cur.clear();
  cur.push_back(text);
  for (const Step& st : steps_) {
    next.clear();
    for (std::string_view p : cur) {
      if (st.is_byte_level) {
        if (st.add_prefix_space && p[0] != ' ') {
          arena.push_back(" " + std::string(p));
          p = arena.back();
        }
        if (st.re)
          apply_split(st, p, next, matches);  // Isolated, not inverted
        else
          next.push_back(p);
      } else {
        apply_split(st, p, next, matches);
      }
    }
    std::swap(cur, next);
  }
  out.insert(out.end(), cur.begin(), cur.end());
}

}  // namespace dsv3

namespace dsv3 {

const char* const kLlama3Pattern =
    "(?i:'s|'t|'re|'ve|'m|'ll|'d)|[^\\r\\n\\p{L}\\p{N}]?\\p{L}+|\\p{N}{1,3}| "
    "?[^\\s\\p{L}\\p{N}]+[\\r\\n]*|\\s*[\\r\\n]+|\\s+(?!\\S)|\\s+";
const char* const kQwen2Pattern =
    "(?i:'s|'t|'re|'ve|'m|'ll|'d)|[^\\r\\n\\p{L}\\p{N}]?\\p{L}+|\\p{N}| "
    "?[^\\s\\p{L}\\p{N}]+[\\r\\n]*|\\s*[\\r\\n]+|\\s+(?!\\S)|\\s+";
const char* const kDeepSeekV3Patterns[3] = {
    "\\p{N}{1,3}",
    "[一-龥぀-ゟ゠-ヿ]+",
    "[!\"#$%&'()*+,\\-./"
    ":;<=>?@\\[\\\\\\]^_`{|}~][A-Za-z]+|[^\r\n\\p{L}\\p{P}\\p{S}]?[\\p{L}\\p{M}]+| "
    "?[\\p{P}\\p{S}]+[\r\n]*|\\s*[\r\n]+|\\s+(?!\\S)|\\s+",
};
// Greek/letterlike code points that have singleton canonical decompositions are written as
// \u escapes so that no editor or tool can NFC-normalize them into other characters.
const char* const kDeepSeekLlmPatterns[6] = {
    "[\r\n]",
    "\\s?[A-Za-zµÀ-ÖØ-öø-ƺƼ-ƿǄ-ʓʕ-ʯͰ-ͳͶͷͻ-ͽͿΆΈ-ΊΌΎ-ΡΣ-ϵϷ-ҁҊ-ԯԱ-ՖႠ-ჅᎠ-Ᏽᏸ-ᏽᲐ-ᲺᲽ-Ჿᴀ-"
    "ᴫᵫ-ᵷᵹ-ᶚḀ-ἕἘ-Ἕἠ-ὅὈ-Ὅὐ-"
    "ὗὙὛὝὟ-\u1F7Dᾀ-ᾴᾶ-ᾼ\u1FBEῂ-ῄῆ-ῌῐ-\u1FD3ῖ-\u1FDBῠ-Ῥῲ-ῴῶ-ῼℂℇℊ-ℓℕℙ-ℝℤ\u2126ℨ\u212A-ℭℯ-ℴℹℼ-ℿⅅ-"
    "ⅉⅎↃↄⰀ-ⱻⱾ-ⳤⳫ-ⳮⳲⳳꙀ-ꙭꚀ-ꚛꜢ-ꝯꝱ-ꞇꞋ-ꞎꭰ-ꮿﬀ-ﬆﬓ-"
    "ﬗＡ-Ｚａ-ｚ𐐀-𐑏𐒰-𐓓𐓘-𐓻𐲀-𐲲𐳀-𐳲𑢠-𑣟𞤀-𞥃]+",
    "\\s?[!-/:-~！-／：-～‘-‟　-。]+",
    "\\s+$",
    "[一-龥ࠀ-一가-퟿]+",
    "\\p{N}+",
};
const char* const kDeepSeekCoderPatterns[5] = {
    "[\r\n]", "\\s?\\p{L}+", "\\s?\\p{P}+", "[一-龥ࠀ-一가-퟿]+", "\\p{N}",
};

bool add_named_pretokenizer(std::string_view name, PreTokenizer& pre) {
  auto splits = [&](const char* const* p, size_t n) {
    for (size_t k = 0; k < n; ++k) pre.add_split(p[k], true, SplitBehavior::kIsolated, false);
    pre.add_byte_level(false, false);
  };
  if (name == "default" || name == "gpt-2" || name == "gpt2") {
    pre.add_byte_level(false, true);
  } else if (name == "deepseek-llm") {
    splits(kDeepSeekLlmPatterns, 6);
  } else if (name == "deepseek-coder") {
    splits(kDeepSeekCoderPatterns, 5);
  } else if (name == "deepseek-v3") {
    splits(kDeepSeekV3Patterns, 3);
  } else if (name == "llama3" || name == "llama-bpe") {
    splits(&kLlama3Pattern, 1);
  } else if (name == "qwen2") {
    splits(&kQwen2Pattern, 1);
  } else if (name == "smollm") {
    // SmolLM's tokenizer.json: Digits(individual_digits) then ByteLevel with the GPT-2 regex
    // (llama.cpp's LLAMA_VOCAB_PRE_TYPE_SMOLLM: "\p{N}" then the GPT-2 pattern).
    pre.add_split("\\p{N}", true, SplitBehavior::kIsolated, false);
    pre.add_byte_level(false, true);
  } else {
    return false;
  }
  return true;
}

}  // namespace dsv3
