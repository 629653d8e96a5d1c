// Chat templates: renders a checkpoint's own Jinja `chat_template` exactly as Hugging Face
// transformers' tokenizer.apply_chat_template(messages, tokenize=False, ...) does
// (transformers 5.23 / jinja2 3.1.6 semantics, checked byte-for-byte by
// tests/chat_template_test.cpp).
//
// What apply_chat_template does before rendering, reproduced here:
//   - an empty conversation is an error;
//   - keys whose value is null are dropped from each message (so `content: null` becomes an
//     *undefined* content: templates that test `message['content'] is none` then see false —
//     the DeepSeek R1/V3 templates fail on such tool-call messages exactly as transformers does);
//   - a message's reasoning under "reasoning_content", "thinking" or "reasoning" is copied to
//     both "thinking" and "reasoning_content";
//   - the template sees: messages, tools (None when not given), documents (None),
//     add_generation_prompt, the special tokens (bos_token, eos_token, ...) and extra kwargs
//     (which override the special tokens).
// The result is a string; tokenize it WITHOUT adding BOS (the template already wrote it).
#pragma once
#include <memory>
#include <optional>
#include <string>
#include <vector>

#include <nlohmann/json.hpp>

namespace dsv3 {

namespace jinja {
class Template;
}

// One chat message (OpenAI-style). Unset optionals are omitted from the JSON the template sees.
struct ChatMessage {
  std::string role;                              // "system" | "user" | "assistant" | "tool"
  std::optional<std::string> content;            // nullopt -> null (dropped, see above)
  std::optional<std::string> reasoning_content;  // assistant reasoning (R1-style)
  nlohmann::ordered_json tool_calls;             // null, or [{"type":"function","function":{...}}]
  std::optional<std::string> tool_call_id;
  std::optional<std::string> name;
  nlohmann::ordered_json to_json() const;
};

struct ChatTemplateOptions {
  bool add_generation_prompt = false;
  // Render the final message open-ended (no end-of-turn tokens) so the model continues it, as
  // transformers' continue_final_message=True does (incompatible with add_generation_prompt).
  bool continue_final_message = false;
  // Special tokens as the tokenizer_config.json declares them; unset ones are undefined in the
  // template (transformers' special_tokens_map omits unset tokens).
  std::optional<std::string> bos_token;
  std::optional<std::string> eos_token;
  std::optional<std::string> pad_token;
  std::optional<std::string> unk_token;
  nlohmann::ordered_json tools;  // null: not given (template sees None)
  nlohmann::ordered_json extra = nlohmann::ordered_json::object();  // extra template variables
  // Limits of one render (templates may come from untrusted --chat-template-file / configs).
  int64_t max_loop_iterations = 1'000'000;
  size_t max_output_bytes = size_t(64) << 20;
};

// A parsed chat template; parse once, render per request. Thread-safe for concurrent render().
class ChatTemplate {
 public:
  // Throws dsv3::Error("chat template: jinja: line N: ...") on a syntax error.
  explicit ChatTemplate(const std::string& source);
  ~ChatTemplate();
  ChatTemplate(ChatTemplate&&) noexcept;
  ChatTemplate& operator=(ChatTemplate&&) noexcept;

  // messages: JSON array of message objects. Throws dsv3::Error naming the template line on
  // raise_exception(...) or any runtime error (undefined attribute, type error, ...).
  // Pass ordered_json to keep key order as the client sent it (it shows in tojson output);
  // a nlohmann::json has its keys sorted alphabetically.
  std::string render(const nlohmann::ordered_json& messages, const ChatTemplateOptions& opt) const;
  std::string render(const nlohmann::json& messages, const ChatTemplateOptions& opt) const;
  std::string render(const std::vector<ChatMessage>& messages,
                     const ChatTemplateOptions& opt) const;
  const std::string& source() const { return source_; }

 private:
  std::string source_;
  std::unique_ptr<jinja::Template> tmpl_;
};

// One-shot helpers (parse + render).
std::string render_chat_template(const std::string& template_src,
                                 const nlohmann::ordered_json& messages,
                                 const ChatTemplateOptions& opt);
std::string render_chat_template(const std::string& template_src,
                                 const std::vector<ChatMessage>& messages,
                                 const ChatTemplateOptions& opt);

// Reads a chat template for --chat-template-file: a raw Jinja file, or a tokenizer_config.json
// (its "chat_template" field, either a string or the list-of-named-templates form
// [{"name": ..., "template": ...}], from which `name` is taken — "default" when empty, as
// transformers does when no tools are passed). Throws dsv3::Error naming the file on failure.
std::string load_chat_template_file(const std::string& path, const std::string& name = "");
// Same, from in-memory text; `origin` names the source in error messages.
std::string chat_template_from_text(const std::string& text, const std::string& origin,
                                    const std::string& name = "");

}  // namespace dsv3
