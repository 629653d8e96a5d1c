// Chat template rendering with transformers' apply_chat_template pre-processing (see the header).
#include "text/chat_template.h"

#include <fstream>
#include <sstream>

#include "core/error.h"
#include "text/jinja/pystr.h"
#include "text/jinja/template.h"

namespace dsv3 {

using jinja::Value;

nlohmann::ordered_json ChatMessage::to_json() const {
  nlohmann::ordered_json m = nlohmann::ordered_json::object();
  m["role"] = role;
  m["content"] = content ? nlohmann::ordered_json(*content) : nlohmann::ordered_json(nullptr);
  if (reasoning_content) m["reasoning_content"] = *reasoning_content;
  if (!tool_calls.is_null()) m["tool_calls"] = tool_calls;
  if (tool_call_id) m["tool_call_id"] = *tool_call_id;
  if (name) m["name"] = *name;
  return m;
}

namespace {

std::string prefix_error(const std::string& what) {
  return what.rfind("chat template: ", 0) == 0 ? what : "chat template: " + what;
}

// Applies transformers' message normalisation (drop null keys, alias reasoning fields).
Value prepare_messages(const nlohmann::ordered_json& messages) {
  if (!messages.is_array()) fail("chat template: messages must be a JSON array");
  if (messages.empty())
    fail(
        "chat template: Cannot apply chat template to an empty conversation. Provide at least "
        "one message.");
  jinja::List out;
  for (size_t i = 0; i < messages.size(); ++i) {
    const auto& m = messages[i];
    if (!m.is_object()) fail("chat template: message ", i, " is not a JSON object");
    jinja::Dict d;
    for (auto it = m.begin(); it != m.end(); ++it) {
      if (it.value().is_null()) continue;
      d.items.emplace_back(Value(it.key()), Value::from_json(it.value()));
    }
    // _alias_reasoning_fields: {"thinking": r, **message, "reasoning_content": r}
    const Value* reasoning = nullptr;
    for (const char* key : {"reasoning_content", "thinking", "reasoning"}) {
      if ((reasoning = d.find(std::string_view(key)))) break;
    }
    if (reasoning) {
      Value r = *reasoning;
      jinja::Dict a;
      a.items.emplace_back(Value("thinking"), r);
      for (auto& kv : d.items) a.set(kv.first, kv.second);
      a.set(Value("reasoning_content"), r);
      d = std::move(a);
    }
    out.push_back(Value::new_dict(std::move(d)));
  }
  return Value::list(std::move(out));
}

}  // namespace

ChatTemplate::ChatTemplate(const std::string& source) : source_(source) {
  try {
    tmpl_ = std::make_unique<jinja::Template>(source);
  } catch (const Error& e) {
    fail(prefix_error(e.what()));
  }
}
ChatTemplate::~ChatTemplate() = default;
ChatTemplate::ChatTemplate(ChatTemplate&&) noexcept = default;
ChatTemplate& ChatTemplate::operator=(ChatTemplate&&) noexcept = default;

std::string ChatTemplate::render(const nlohmann::json& messages,
                                 const ChatTemplateOptions& opt) const {
  return render(nlohmann::ordered_json(messages), opt);
}

std::string ChatTemplate::render(const nlohmann::ordered_json& messages,
                                 const ChatTemplateOptions& opt) const {
  jinja::Dict ctx;
  // special_tokens_map first; kwargs override it.
  if (opt.bos_token) ctx.set(Value("bos_token"), Value(*opt.bos_token));
  if (opt.eos_token) ctx.set(Value("eos_token"), Value(*opt.eos_token));
  if (opt.unk_token) ctx.set(Value("unk_token"), Value(*opt.unk_token));
  if (opt.pad_token) ctx.set(Value("pad_token"), Value(*opt.pad_token));
  if (!opt.extra.is_null()) {
    if (!opt.extra.is_object()) fail("chat template: extra template kwargs must be a JSON object");
    for (auto it = opt.extra.begin(); it != opt.extra.end(); ++it)
      ctx.set(Value(it.key()), Value::from_json(it.value()));
  }
  Value msgs = prepare_messages(messages);
  // transformers' continue_final_message: tag the final content, render, cut at the tag.
  static const std::string kTag = "CONTINUE_FINAL_MESSAGE_TAG ";
  std::string final_text;
  if (opt.continue_final_message) {
    if (opt.add_generation_prompt)
      fail("chat template: continue_final_message and add_generation_prompt are not compatible");
    jinja::Dict& last = msgs.items().back().dict();
    Value* content = last.find(Value("content"));
    if (!content)
      fail(
          "chat template: continue_final_message is set but the final message has no "
          "\"content\" to continue");
    if (source_.find("content") == std::string::npos)
      fail(
          "chat template: continue_final_message is set to \"content\" but this is not an "
          "accepted field in the chat_template");
    if (content->is_sequence()) {
      bool found = false;
      auto& blocks = content->items();
      for (auto it = blocks.rbegin(); it != blocks.rend() && !found; ++it) {
        if (!it->is_dict()) continue;
        Value* text = it->dict().find(Value("text"));
        if (!text) continue;
        if (!text->is_string()) fail("chat template: final content block text is not a string");
        final_text = text->str();
        *text = Value(text->str() + kTag);
        found = true;
      }
      if (!found)
        fail(
            "chat template: continue_final_message is set but we could not find any text to "
            "continue in the final message!");
    } else {
      if (!content->is_string())
        fail("chat template: continue_final_message: final message content must be a string");
      final_text = content->str();
      *content = Value(content->str() + kTag);
    }
  }
  ctx.set(Value("messages"), msgs);
  ctx.set(Value("tools"), Value::from_json(opt.tools));
  ctx.set(Value("documents"), Value::none());
  ctx.set(Value("add_generation_prompt"), Value(opt.add_generation_prompt));
  try {
    jinja::RenderLimits limits;
    limits.max_loop_iterations = opt.max_loop_iterations;
    limits.max_output_bytes = opt.max_output_bytes;
    std::string out = tmpl_->render(Value::new_dict(std::move(ctx)), limits);
    if (!opt.continue_final_message) return out;
    const std::optional<std::string> ws;
    std::string final_stripped = jinja::pystr::strip(final_text, ws, true, true);
    std::string tag_stripped = jinja::pystr::strip(kTag, ws, true, true);
    if (out.find(final_stripped) == std::string::npos ||
        out.find(tag_stripped) == std::string::npos)
      fail(
          "chat template: continue_final_message is set but the final message does not appear "
          "in the chat after applying the chat template!");
    size_t loc = out.rfind(tag_stripped);
    if (out.compare(loc, kTag.size(), kTag) == 0) return out.substr(0, loc);
    return jinja::pystr::strip(out.substr(0, loc), ws, false, true);
  } catch (const Error& e) {
    fail(prefix_error(e.what()));
  }
}

std::string ChatTemplate::render(const std::vector<ChatMessage>& messages,
                                 const ChatTemplateOptions& opt) const {
  nlohmann::ordered_json j = nlohmann::ordered_json::array();
  for (auto& m : messages) j.push_back(m.to_json());
  return render(j, opt);
}

std::string render_chat_template(const std::string& template_src,
                                 const nlohmann::ordered_json& messages,
                                 const ChatTemplateOptions& opt) {
  return ChatTemplate(template_src).render(messages, opt);
}
std::string render_chat_template(const std::string& template_src,
                                 const std::vector<ChatMessage>& messages,
                                 const ChatTemplateOptions& opt) {
  return ChatTemplate(template_src).render(messages, opt);
}

std::string chat_template_from_text(const std::string& text, const std::string& origin,
                                    const std::string& name) {
  // A tokenizer_config.json is a JSON object; anything else is taken as raw Jinja text.
  size_t first = text.find_first_not_of(" \t\r\n");
  if (first == std::string::npos || text[first] != '{' ||
      (first + 1 < text.size() &&
       (text[first + 1] == '{' || text[first + 1] == '%' || text[first + 1] == '#'))) {
    return text;
  }
  nlohmann::json cfg = nlohmann::json::parse(text, nullptr, /*allow_exceptions=*/false);
  if (cfg.is_discarded() || !cfg.is_object()) return text;  // not JSON: a Jinja template
  if (!cfg.contains("chat_template"))
    fail(origin, ": tokenizer config has no \"chat_template\" field");
  const auto& ct = cfg["chat_template"];
  if (ct.is_string()) return ct.get<std::string>();
  if (ct.is_array()) {
    std::string want = name.empty() ? "default" : name;
    std::string names;
    for (const auto& e : ct) {
      if (!e.is_object() || !e.contains("name") || !e.contains("template") ||
          !e["name"].is_string() || !e["template"].is_string())
        fail(origin, ": \"chat_template\" list entries must be {\"name\": str, \"template\": str}");
      if (e["name"] == want) return e["template"].get<std::string>();
      names += (names.empty() ? "" : ", ") + e["name"].get<std::string>();
    }
    fail(origin, ": no chat template named '", want, "' (available: ", names, ")");
  }
  fail(origin, ": \"chat_template\" must be a string or a list of {name, template}");
}

std::string load_chat_template_file(const std::string& path, const std::string& name) {
  std::ifstream f(path, std::ios::binary);
  if (!f) fail(path, ": cannot open chat template file");
  std::ostringstream ss;
  ss << f.rdbuf();
  return chat_template_from_text(ss.str(), path, name);
}

}  // namespace dsv3
