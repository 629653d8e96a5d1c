// Pre-tokenizer: the HF `pre_tokenizer` pipeline (a Sequence of Split and ByteLevel steps, or a
// single one). Each step re-splits every piece produced by the previous step; pieces never
// cross a boundary made earlier. Matches HF tokenizers' semantics for the five split behaviours
// and `invert`, and ByteLevel's add_prefix_space / use_regex (the GPT-2 regex). The byte->char
// mapping of ByteLevel is applied later, by the tokenizer, to each final piece.
#pragma once
#include <deque>
#include <memory>
#include <string>
#include <string_view>
#include <vector>

#include "text/pretokenizer_regex.h"

namespace dsv3 {

enum class SplitBehavior { kRemoved, kIsolated, kMergedWithPrevious, kMergedWithNext, kContiguous };
// "Removed", "Isolated", ... as written in tokenizer.json; throws Error for anything else.
SplitBehavior parse_split_behavior(std::string_view name);

// The regex HF's ByteLevel pre-tokenizer uses when use_regex is true (GPT-2's, plus "|\s+").
extern const char* const kGpt2Pattern;

class PreTokenizer {
 public:
  void add_split(std::string_view pattern, bool is_regex, SplitBehavior behavior, bool invert);
  void add_byte_level(bool add_prefix_space, bool use_regex);
  // True if a ByteLevel step is present (it must be the last step).
  bool byte_level() const { return byte_level_; }
  bool empty() const { return steps_.empty(); }

  // Splits `text` into pieces (views into `text` or into strings kept in `arena`), appended to
  // `out`. Empty pieces are dropped.
  void split(std::string_view text, std::vector<std::string_view>& out,
             std::deque<std::string>& arena) const;

 private:
  struct Step {
    bool is_byte_level = false;
    std::shared_ptr<Regex> re;
    SplitBehavior behavior = SplitBehavior::kIsolated;
    bool invert = false;
    bool add_prefix_space = false;
  };
  void apply_split(const Step& st, std::string_view piece, std::vector<std::string_view>& out,
                   std::vector<std::pair<size_t, size_t>>& matches) const;
  std::vector<Step> steps_;
  bool byte_level_ = false;
};

}  // namespace dsv3

namespace dsv3 {
// Regexes of the pre-tokenizers known by name (llama.cpp's tokenizer.ggml.pre values, which map
// to the HF pre_tokenizer of the same model).
extern const char* const kLlama3Pattern;
extern const char* const kQwen2Pattern;
extern const char* const kDeepSeekV3Patterns[3];
extern const char* const kDeepSeekLlmPatterns[6];
extern const char* const kDeepSeekCoderPatterns[5];
// Fills `pre` with the pipeline llama.cpp uses for GGUF `tokenizer.ggml.pre` = name:
// "default"/"gpt-2", "deepseek-llm", "deepseek-coder", "deepseek-v3", "llama3"/"llama-bpe",
// "qwen2". Returns false for an unknown name.
bool add_named_pretokenizer(std::string_view name, PreTokenizer& pre);
}  // namespace dsv3
