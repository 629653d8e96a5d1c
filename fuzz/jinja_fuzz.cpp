// libFuzzer target for the Jinja engine and the chat-template loader (run: fuzz/run_jinja_fuzz.sh).
// The input's first byte picks the mode:
//   0: the rest is a Jinja template, parsed and rendered with a fixed chat context;
//   1: the rest is a tokenizer_config.json / raw template for chat_template_from_text, whose
//      result is then parsed and rendered as in mode 0.
// Properties checked beyond "no crash, no sanitizer report": only dsv3::Error escapes; the
// engine's own limits (loop iterations, recursion depth, output size) bound every run.
#include <cstdint>
#include <string>

#include "core/error.h"
#include "text/chat_template.h"

namespace {

const nlohmann::ordered_json& messages() {
  static const nlohmann::ordered_json m = nlohmann::ordered_json::parse(R"([
    {"role": "system", "content": "sys"},
    {"role": "user", "content": "hi <｜User｜> é"},
    {"role": "assistant", "content": "<think>r</think>a", "reasoning_content": "r"},
    {"role": "assistant", "content": null, "tool_calls": [
      {"type": "function", "function": {"name": "f", "arguments": "{\"x\": 1}"}},
      {"type": "function", "function": {"name": "g", "arguments": {"y": [1, 2.5, null]}}}]},
    {"role": "tool", "content": "out", "tool_call_id": "c1"}])");
  return m;
}

void render(const std::string& src) {
  dsv3::ChatTemplateOptions o;
  o.bos_token = "<｜begin▁of▁sentence｜>";
  o.eos_token = "<｜end▁of▁sentence｜>";
  o.add_generation_prompt = true;
  o.tools = nlohmann::ordered_json::parse(R"([{"type": "function", "function": {"name": "f"}}])");
  o.extra["thinking"] = true;
  o.max_loop_iterations = 20000;  // keeps every run fast under ASan
  o.max_output_bytes = 1 << 20;
  dsv3::ChatTemplate t(src);
  (void)t.render(messages(), o);
}

}  // namespace

extern "C" int LLVMFuzzerTestOneInput(const uint8_t* data, size_t size) {
  if (size == 0) return 0;
  std::string text(reinterpret_cast<const char*>(data) + 1, size - 1);
  try {
    if (data[0] % 2 == 1) text = dsv3::chat_template_from_text(text, "fuzz input");
    render(text);
  } catch (const dsv3::Error&) {
  }
  return 0;
}
