// Streaming post-processing of generated text for the OpenAI server: stop strings, the R1-style
// <think>…</think> split into reasoning vs content, and DeepSeek tool-call blocks
// (<｜tool▁calls▁begin｜><｜tool▁call▁begin｜>type<｜tool▁sep｜>name\n```json\nARGS\n```<｜tool▁call▁end｜>…)
// turned into OpenAI tool_calls. Every stage takes valid UTF-8 pieces and emits valid UTF-8
// pieces: text is only held back at positions where a marker could start, which are character
// boundaries because markers are valid UTF-8.
#pragma once
#include <string>
#include <string_view>
#include <vector>

#include <nlohmann/json.hpp>

namespace dsv3::serve {

// Length of the longest suffix of `s` that is a proper prefix of `tag` (0 if none).
size_t partial_suffix(std::string_view s, std::string_view tag);

// Finds the first of several stop strings in the stream; text after it is dropped.
class StopMatcher {
 public:
  explicit StopMatcher(std::vector<std::string> stops);
  // Appends to `out` the text that is certain not to be part of a stop string. Returns true once
  // a stop string was found (out then ends right before it; later pushes emit nothing).
  bool push(std::string_view text, std::string& out);
  void flush(std::string& out);  // end of stream: releases held-back text
  bool stopped() const { return stopped_; }

 private:
  std::vector<std::string> stops_;
  std::string hold_;
  bool stopped_ = false;
};

// Splits R1-style output into reasoning and content. The opening <think> is recognised only
// before any non-blank content; `start_in_reasoning` when the prompt already opened it. Text
// after </think> is content (leading newlines of the content are dropped).
class ReasoningParser {
 public:
  explicit ReasoningParser(bool start_in_reasoning) : in_think_(start_in_reasoning) {}
  void push(std::string_view text, std::string& reasoning, std::string& content);
  void flush(std::string& reasoning, std::string& content);

 private:
  void emit_content(std::string_view s, std::string& content);
  bool in_think_;
  bool closed_ = false;           // </think> seen: no more tags recognised
  bool content_started_ = false;  // non-blank content emitted
  std::string hold_;
};

// Passes content through until <｜tool▁calls▁begin｜>; the rest is collected and parsed into
// OpenAI tool_calls at the end.
class ToolCallParser {
 public:
  void push(std::string_view text, std::string& content);
  void flush(std::string& content);
  bool in_tool_calls() const { return in_calls_; }
  // [{"id","type":"function","function":{"name","arguments"}}]; empty array when none/unparseable.
  nlohmann::json tool_calls() const;

 private:
  bool in_calls_ = false;
  std::string hold_, calls_;
};

// Parses the text after <｜tool▁calls▁begin｜> (exposed for tests).
nlohmann::json parse_deepseek_tool_calls(std::string_view s);

}  // namespace dsv3::serve
