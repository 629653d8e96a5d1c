// OpenAI request validation (see openai_api.h).
#include "serve/openai_api.h"

#include <cmath>

#include "core/error.h"
#include "text/utf8.h"

namespace dsv3::serve {

using json = nlohmann::json;
using ojson = nlohmann::ordered_json;

std::string default_error_type(int status) {
  if (status == 429) return "rate_limit_error";
  if (status >= 500) return "server_error";
  return "invalid_request_error";
}

ApiError::ApiError(int st, std::string message, std::string p, std::string c, std::string t)
    : std::runtime_error(std::move(message)),
      status(st),
      type(t.empty() ? default_error_type(st) : t),
      param(std::move(p)),
      code(std::move(c)) {}

json ApiError::to_json() const {
  return {{"error",
           {{"message", what()},
            {"type", type},
            {"param", param.empty() ? json(nullptr) : json(param)},
            {"code", code.empty() ? json(nullptr) : json(code)}}}};
}

json error_json(int status, const std::string& message, const std::string& param,
                const std::string& code) {
  return ApiError(status, message, param, code).to_json();
}

namespace {

[[noreturn]] void bad(const std::string& msg, const std::string& param = "",
                      const std::string& code = "") {
  throw ApiError(400, msg, param, code);
}

ojson parse_body(const std::string& body) {
  if (!utf8::is_valid(body)) bad("request body is not valid UTF-8", "", "invalid_utf8");
  ojson j;
  try {
    j = ojson::parse(body);
  } catch (const std::exception& e) {
    bad(std::string("malformed JSON: ") + e.what(), "", "invalid_json");
  }
  if (!j.is_object()) bad("request body must be a JSON object", "", "invalid_json");
  return j;
}

bool present(const ojson& j, const char* k) {
  return j.contains(k) && !j[k].is_null();
}

double get_number(const ojson& j, const char* k, double def, double lo, double hi) {
  if (!present(j, k)) return def;
  if (!j[k].is_number()) bad(str("'", k, "' must be a number"), k, "invalid_type");
  const double v = j[k].get<double>();
  if (!(v >= lo && v <= hi))
    bad(str("'", k, "' must be in [", lo, ", ", hi, "], got ", v), k, "invalid_value");
  return v;
}

int64_t get_int(const ojson& j, const char* k, int64_t def, int64_t lo, int64_t hi) {
  if (!present(j, k)) return def;
  if (!j[k].is_number_integer()) bad(str("'", k, "' must be an integer"), k, "invalid_type");
  const int64_t v = j[k].get<int64_t>();
  if (v < lo || v > hi)
    bad(str("'", k, "' must be in [", lo, ", ", hi, "], got ", v), k, "invalid_value");
  return v;
}

bool get_bool(const ojson& j, const char* k, bool def) {
  if (!present(j, k)) return def;
  if (!j[k].is_boolean()) bad(str("'", k, "' must be a boolean"), k, "invalid_type");
  return j[k].get<bool>();
}

// Fields shared by both endpoints; `max_default` is the room left in the context.
void parse_common(const ojson& j, const ApiContext& c, GenRequest& r, bool chat) {
  if (!present(j, "model")) bad("'model' is required", "model", "missing_required_parameter");
  if (!j["model"].is_string()) bad("'model' must be a string", "model", "invalid_type");
  const std::string model = j["model"].get<std::string>();
  if (model != c.model_name)
    throw ApiError(
        404, str("The model '", model, "' does not exist; this server serves '", c.model_name, "'"),
        "model", "model_not_found");
  r.sampling.temperature = float(get_number(j, "temperature", 1.0, 0.0, 2.0));
  r.sampling.top_p = float(get_number(j, "top_p", 1.0, 0.0, 1.0));
  if (r.sampling.top_p <= 0.f) bad("'top_p' must be > 0", "top_p", "invalid_value");
  r.sampling.top_k = get_int(j, "top_k", 0, 0, 1 << 20);
  r.sampling.seed = uint64_t(get_int(j, "seed", 0, INT64_MIN, INT64_MAX));
  if (get_int(j, "n", 1, 1, 1) != 1) bad("only n = 1 is supported", "n");
  r.stream = get_bool(j, "stream", false);
  r.ignore_eos = get_bool(j, "ignore_eos", false);
  if (present(j, "stream_options")) {
    const ojson& so = j["stream_options"];
    if (!so.is_object())
      bad("'stream_options' must be an object", "stream_options", "invalid_type");
    if (!r.stream) bad("'stream_options' is only allowed when 'stream' is true", "stream_options");
    r.include_usage = get_bool(so, "include_usage", false);
  }
  if (present(j, "stop")) {
    const ojson& s = j["stop"];
    if (s.is_string())
      r.stop.push_back(s.get<std::string>());
    else if (s.is_array() && s.size() <= 4) {
      for (auto& e : s) {
        if (!e.is_string()) bad("'stop' entries must be strings", "stop", "invalid_type");
        r.stop.push_back(e.get<std::string>());
      }
    } else
      bad("'stop' must be a string or an array of at most 4 strings", "stop", "invalid_type");
  }
  if (chat) {
    if (get_bool(j, "logprobs", false))
      r.top_logprobs = int(get_int(j, "top_logprobs", 0, 0, 20));
    else if (present(j, "top_logprobs"))
      bad("'top_logprobs' requires 'logprobs': true", "top_logprobs");
    if (present(j, "response_format")) {
      const ojson& rf = j["response_format"];
      if (!rf.is_object() || !rf.contains("type") || !rf["type"].is_string())
        bad("'response_format' must be an object with a string 'type'", "response_format",
            "invalid_type");
      if (rf["type"] != "text")
        bad("only response_format type 'text' is supported", "response_format", "invalid_value");
    }
  } else {
    if (present(j, "logprobs")) r.top_logprobs = int(get_int(j, "logprobs", 0, 0, 5));
    r.echo = get_bool(j, "echo", false);
  }
  // max_tokens: completion budget; defaults to what the context leaves.
  const int64_t prompt_len = int64_t(r.prompt.size());
  if (prompt_len >= c.ctx)
    bad(str("the prompt has ", prompt_len, " tokens; this model's context is ", c.ctx, " tokens"),
        chat ? "messages" : "prompt", "context_length_exceeded");
  const int64_t room = c.ctx - prompt_len;
  const char* key =
      chat && present(j, "max_completion_tokens") ? "max_completion_tokens" : "max_tokens";
  r.max_tokens = get_int(j, key, chat ? room : std::min<int64_t>(16, room), 1, INT64_MAX);
  if (r.max_tokens > room)
    bad(str("'", key, "' (", r.max_tokens, ") + prompt (", prompt_len,
            " tokens) exceeds the context of ", c.ctx, " tokens"),
        key, "context_length_exceeded");
}

}  // namespace

GenRequest parse_chat_request(const std::string& body, const ApiContext& c) {
  const ojson j = parse_body(body);
  GenRequest r;
  r.chat = true;
  if (!c.tok || !c.tmpl)
    bad("this model has no tokenizer or chat template: use /v1/completions with token ids");
  if (!present(j, "messages"))
    bad("'messages' is required", "messages", "missing_required_parameter");
  const ojson& msgs = j["messages"];
  if (!msgs.is_array()) bad("'messages' must be an array", "messages", "invalid_type");
  if (msgs.empty()) bad("'messages' must not be empty", "messages", "invalid_value");
  ojson norm = ojson::array();
  for (size_t i = 0; i < msgs.size(); ++i) {
    const ojson& m = msgs[i];
    const std::string p = str("messages[", i, "]");
    if (!m.is_object()) bad(p + " must be an object", p, "invalid_type");
    if (!m.contains("role") || !m["role"].is_string())
      bad(p + ".role must be a string", p + ".role", "invalid_type");
    const std::string role = m["role"];
    if (role != "system" && role != "user" && role != "assistant" && role != "tool" &&
        role != "developer")
      bad(str(p, ".role '", role, "' is not one of system, developer, user, assistant, tool"),
          p + ".role", "invalid_value");
    ojson n = m;
    if (role == "developer") n["role"] = "system";
    if (present(m, "content")) {
      const ojson& ct = m["content"];
      if (ct.is_array()) {  // content parts: only text parts
        std::string text;
        for (auto& part : ct) {
          if (!part.is_object() || part.value("type", "") != "text" || !part.contains("text") ||
              !part["text"].is_string())
            bad(p + ".content parts must be {\"type\":\"text\",\"text\":...}", p + ".content",
                "invalid_type");
          text += part["text"].get<std::string>();
        }
        n["content"] = text;
      } else if (!ct.is_string())
        bad(p + ".content must be a string or an array of text parts", p + ".content",
            "invalid_type");
    } else if (role != "assistant") {
      bad(p + ".content is required", p + ".content", "missing_required_parameter");
    }
    norm.push_back(std::move(n));
  }
  ChatTemplateOptions o = c.tmpl_opts;
  o.add_generation_prompt = true;
  if (present(j, "tools")) {
    if (!j["tools"].is_array()) bad("'tools' must be an array", "tools", "invalid_type");
    o.tools = j["tools"];
    r.tools = !j["tools"].empty();
  }
  std::string text;
  try {
    text = c.tmpl->render(norm, o);
  } catch (const std::exception& e) {
    throw ApiError(422, str("the chat template rejected the messages: ", e.what()), "messages",
                   "template_error");
  }
  r.prompt = c.tok->encode(text, false);
  if (r.prompt.empty()) bad("the rendered prompt is empty", "messages");
  // R1 templates end the generation prompt with "<think>\n": the reply starts inside reasoning.
  const size_t last = text.find_last_not_of(" \n\r\t");
  r.start_in_reasoning =
      last != std::string::npos && last + 1 >= 7 && text.compare(last + 1 - 7, 7, "<think>") == 0;
  parse_common(j, c, r, true);
  return r;
}

GenRequest parse_completion_request(const std::string& body, const ApiContext& c) {
  const ojson j = parse_body(body);
  GenRequest r;
  if (!present(j, "prompt")) bad("'prompt' is required", "prompt", "missing_required_parameter");
  ojson p = j["prompt"];
  if (p.is_array() && p.size() == 1 && (p[0].is_string() || p[0].is_array())) p = ojson(p[0]);
  if (p.is_string()) {
    if (!c.tok)
      bad("this model has no tokenizer: give the prompt as a list of token ids", "prompt");
    r.prompt = c.tok->encode(p.get<std::string>(), true);
  } else if (p.is_array()) {
    for (auto& t : p) {
      if (!t.is_number_integer())
        bad("'prompt' must be a string, or an array of token ids", "prompt", "invalid_type");
      const int64_t id = t.get<int64_t>();
      if (id < 0 || id >= c.vocab_size)
        bad(str("token id ", id, " in 'prompt' is outside the vocabulary [0, ", c.vocab_size, ")"),
            "prompt", "invalid_value");
      r.prompt.push_back(int32_t(id));
    }
  } else {
    bad("'prompt' must be a string, or an array of token ids", "prompt", "invalid_type");
  }
  if (r.prompt.empty()) bad("'prompt' must not be empty", "prompt", "invalid_value");
  parse_common(j, c, r, false);
  return r;
}

}  // namespace dsv3::serve
