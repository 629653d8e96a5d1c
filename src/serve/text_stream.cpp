// Stop strings, reasoning split and tool-call parsing on streamed text (see text_stream.h).
#include "serve/text_stream.h"

#include <algorithm>

namespace dsv3::serve {

namespace {
const std::string kThinkOpen = "<think>", kThinkClose = "</think>";
const std::string kCallsBegin = "<｜tool▁calls▁begin｜>", kCallsEnd = "<｜tool▁calls▁end｜>";
const std::string kCallBegin = "<｜tool▁call▁begin｜>", kCallEnd = "<｜tool▁call▁end｜>";
const std::string kSep = "<｜tool▁sep｜>";

bool blank(std::string_view s) {
  return std::all_of(s.begin(), s.end(),
                     [](char c) { return c == ' ' || c == '\n' || c == '\t' || c == '\r'; });
}
std::string_view trim(std::string_view s) {
  while (!s.empty() && blank(s.substr(0, 1))) s.remove_prefix(1);
  while (!s.empty() && blank(s.substr(s.size() - 1))) s.remove_suffix(1);
  return s;
}
}  // namespace

size_t partial_suffix(std::string_view s, std::string_view tag) {
  for (size_t k = std::min(s.size(), tag.size() - 1); k > 0; --k)
    if (s.substr(s.size() - k) == tag.substr(0, k)) return k;
  return 0;
}

StopMatcher::StopMatcher(std::vector<std::string> stops) {
  for (auto& s : stops)
    if (!s.empty()) stops_.push_back(std::move(s));
}

bool StopMatcher::push(std::string_view text, std::string& out) {
  if (stopped_) return true;
  hold_.append(text);
  size_t first = std::string::npos;
  for (auto& s : stops_) first = std::min(first, hold_.find(s));
  if (first != std::string::npos) {
    out.append(hold_, 0, first);
    hold_.clear();
    stopped_ = true;
    return true;
  }
  size_t keep = 0;
  for (auto& s : stops_) keep = std::max(keep, partial_suffix(hold_, s));
  out.append(hold_, 0, hold_.size() - keep);
  hold_.erase(0, hold_.size() - keep);
  return false;
}

void StopMatcher::flush(std::string& out) {
  if (!stopped_) out += hold_;
  hold_.clear();
}

void ReasoningParser::emit_content(std::string_view s, std::string& content) {
  if (!content_started_) {
    while (!s.empty() && (s[0] == '\n' || s[0] == ' ' || s[0] == '\r')) s.remove_prefix(1);
    if (s.empty()) return;
    content_started_ = true;
  }
  content.append(s);
}

void ReasoningParser::push(std::string_view text, std::string& reasoning, std::string& content) {
  hold_.append(text);
  for (;;) {
    if (closed_ || (!in_think_ && content_started_)) {  // no tag can follow any more
      emit_content(hold_, content);
      hold_.clear();
      return;
    }
    const std::string& tag = in_think_ ? kThinkClose : kThinkOpen;
    const size_t pos = hold_.find(tag);
    if (pos != std::string::npos) {
      const std::string before = hold_.substr(0, pos);
      if (in_think_) {
        reasoning += before;
        in_think_ = false;
        closed_ = true;
      } else if (blank(before)) {
        in_think_ = true;
      } else {
        emit_content(hold_, content);  // literal "<think>" inside content
        hold_.clear();
        return;
      }
      hold_.erase(0, pos + tag.size());
      continue;
    }
    const size_t keep = partial_suffix(hold_, tag);
    const std::string out = hold_.substr(0, hold_.size() - keep);
    hold_.erase(0, hold_.size() - keep);
    if (in_think_)
      reasoning += out;
    else if (!blank(out)) {
      emit_content(out, content);
    } else {
      hold_ = out + hold_;  // only blanks so far: <think> may still open
      return;
    }
    return;
  }
}

void ReasoningParser::flush(std::string& reasoning, std::string& content) {
  if (in_think_)
    reasoning += hold_;
  else
    emit_content(hold_, content);
  hold_.clear();
}

void ToolCallParser::push(std::string_view text, std::string& content) {
  if (in_calls_) {
    calls_.append(text);
    return;
  }
  hold_.append(text);
  const size_t pos = hold_.find(kCallsBegin);
  if (pos != std::string::npos) {
    content.append(hold_, 0, pos);
    calls_ = hold_.substr(pos + kCallsBegin.size());
    hold_.clear();
    in_calls_ = true;
    return;
  }
  const size_t keep = partial_suffix(hold_, kCallsBegin);
  content.append(hold_, 0, hold_.size() - keep);
  hold_.erase(0, hold_.size() - keep);
}

void ToolCallParser::flush(std::string& content) {
  content += hold_;
  hold_.clear();
}

nlohmann::json ToolCallParser::tool_calls() const {
  return in_calls_ ? parse_deepseek_tool_calls(calls_) : nlohmann::json::array();
}

nlohmann::json parse_deepseek_tool_calls(std::string_view s) {
  nlohmann::json out = nlohmann::json::array();
  size_t i = 0;
  for (;;) {
    const size_t b = s.find(kCallBegin, i);
    if (b == std::string_view::npos) break;
    const size_t start = b + kCallBegin.size();
    size_t e = s.find(kCallEnd, start);
    const bool complete = e != std::string_view::npos;
    if (!complete) e = std::min(s.size(), s.find(kCallsEnd, start));
    std::string_view body = s.substr(start, e - start);
    i = complete ? e + kCallEnd.size() : s.size();
    const size_t sep = body.find(kSep);
    if (sep == std::string_view::npos) continue;
    std::string_view type = trim(body.substr(0, sep));
    std::string_view rest = body.substr(sep + kSep.size());
    const size_t nl = rest.find('\n');
    std::string_view name = trim(rest.substr(0, nl));
    std::string_view args = nl == std::string_view::npos ? std::string_view() : rest.substr(nl + 1);
    args = trim(args);
    if (args.substr(0, 7) == "```json")
      args.remove_prefix(7);
    else if (args.substr(0, 3) == "```")
      args.remove_prefix(3);
    if (args.size() >= 3 && args.substr(args.size() - 3) == "```") args.remove_suffix(3);
    args = trim(args);
    if (name.empty()) continue;
    nlohmann::json call = {
        {"id", "call_" + std::to_string(out.size())},
        {"type", type.empty() ? "function" : std::string(type)},
        {"function", {{"name", std::string(name)}, {"arguments", std::string(args)}}}};
    out.push_back(std::move(call));
  }
  return out;
}

}  // namespace dsv3::serve
