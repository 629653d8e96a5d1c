// Streaming text post-processing of `dsv3 serve`: reasoning split, stop strings and DeepSeek
// tool-call parsing, checked on every chunking of texts made by others — the built-in model's
// HF greedy output (tests/data/builtin_ref/meta.json, produced with transformers) and tool-call
// blocks rendered by the DeepSeek-R1 chat template itself (the checkpoint's Jinja source).
#include <gtest/gtest.h>

#include <fstream>
#include <nlohmann/json.hpp>

#include "serve/text_stream.h"
#include "test_util.h"
#include "text/chat_template.h"
#include "text/tokenizer.h"

using namespace dsv3;
using namespace dsv3::serve;

namespace {

nlohmann::json builtin_meta() {
  std::ifstream f(test::data_path("builtin_ref/meta.json"));
  return nlohmann::json::parse(f);
}

}  // namespace

TEST(ServeTextStream, ReasoningSplitAtEveryBoundary) {
  const nlohmann::json m = builtin_meta();  // named: the temporary would dangle in the range-for
  for (auto& p : m["prompts"]) {
    const std::string text = p["greedy_text"];  // starts inside <think> (template opened it)
    const size_t close = text.find("</think>");
    ASSERT_NE(close, std::string::npos);
    const std::string want_r = text.substr(0, close);
    std::string want_c = text.substr(close + 8);
    want_c.erase(0, want_c.find_first_not_of('\n'));
    for (size_t a = 0; a <= text.size(); ++a) {
      ReasoningParser rp(true);
      std::string r, c;
      rp.push(text.substr(0, a), r, c);
      rp.push(text.substr(a), r, c);
      rp.flush(r, c);
      ASSERT_EQ(r, want_r) << "split at " << a;
      ASSERT_EQ(c, want_c) << "split at " << a;
    }
    // Same text with the model opening <think> itself, fed one byte at a time.
    ReasoningParser rp(false);
    std::string r, c, full = "<think>\n" + text;
    for (char ch : full) rp.push(std::string(1, ch), r, c);
    rp.flush(r, c);
    EXPECT_EQ(r, "\n" + want_r);
    EXPECT_EQ(c, want_c);
  }
  // No reasoning at all: plain content, and a literal <think> after content stays content.
  ReasoningParser rp(false);
  std::string r, c;
  rp.push("hello <think>x</think>", r, c);
  rp.flush(r, c);
  EXPECT_EQ(r, "");
  EXPECT_EQ(c, "hello <think>x</think>");
}

TEST(ServeTextStream, StopStringsAtEveryBoundary) {
  const std::string text = builtin_meta()["prompts"][0]["greedy_text"];
  const std::string first_bar = text.substr(text.find('|'), 3);
  for (const std::string stop :
       {first_bar, std::string("</think>"), std::string("-0"), std::string("not there")}) {
    const size_t at = text.find(stop);
    const std::string want = at == std::string::npos ? text : text.substr(0, at);
    for (size_t a = 0; a <= text.size(); ++a)
      for (size_t b = a; b <= text.size(); b += 7) {
        StopMatcher sm({"zzz", stop});
        std::string out;
        sm.push(text.substr(0, a), out);
        sm.push(text.substr(a, b - a), out);
        sm.push(text.substr(b), out);
        sm.flush(out);
        ASSERT_EQ(out, want) << stop << " split " << a << "," << b;
        ASSERT_EQ(sm.stopped(), at != std::string::npos);
      }
  }
}

TEST(ServeTextStream, ToolCallsRenderedByTheR1TemplateParseBack) {
  auto tok = Tokenizer::from_file(DSV3_BUILTIN_MODEL_DIR);
  ChatTemplate tmpl(tok->chat_template());
  nlohmann::ordered_json calls = nlohmann::ordered_json::array();
  calls.push_back(
      {{"type", "function"},
       {"function", {{"name", "get_weather"}, {"arguments", "{\"city\": \"Paris\"}"}}}});
  calls.push_back(
      {{"type", "function"},
       {"function", {{"name", "add"}, {"arguments", "{\"a\": 1, \"b\": [2, \"\\u00e9\"]}"}}}});
  nlohmann::ordered_json msgs = nlohmann::ordered_json::array();
  msgs.push_back({{"role", "user"}, {"content", "hi"}});
  msgs.push_back({{"role", "assistant"}, {"content", "Let me check."}, {"tool_calls", calls}});
  ChatTemplateOptions o;
  o.bos_token = tok->bos_token();
  o.eos_token = tok->eos_token();
  const std::string rendered = tmpl.render(msgs, o);
  const std::string marker = "<｜Assistant｜>";
  const std::string reply = rendered.substr(rendered.find(marker) + marker.size());
  for (size_t step : {size_t(1), size_t(3), size_t(1000)}) {
    ToolCallParser tp;
    std::string content;
    for (size_t i = 0; i < reply.size(); i += step) tp.push(reply.substr(i, step), content);
    tp.flush(content);
    EXPECT_EQ(content, "Let me check.");
    const nlohmann::json got = tp.tool_calls();
    ASSERT_EQ(got.size(), 2u) << reply;
    for (size_t k = 0; k < 2; ++k) {
      EXPECT_EQ(got[k]["type"], "function");
      EXPECT_EQ(got[k]["function"]["name"], calls[k]["function"]["name"]);
      EXPECT_EQ(got[k]["function"]["arguments"], calls[k]["function"]["arguments"]);
    }
  }
  ToolCallParser none;
  std::string content;
  none.push("plain answer", content);
  none.flush(content);
  EXPECT_EQ(content, "plain answer");
  EXPECT_TRUE(none.tool_calls().empty());
}
