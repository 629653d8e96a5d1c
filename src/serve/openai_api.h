// OpenAI API request parsing and validation for `dsv3 serve`: turns the JSON body of
// /v1/chat/completions or /v1/completions into a GenRequest (prompt tokens, sampling, stop
// strings, streaming and logprob options) or an ApiError carrying the HTTP status and the
// OpenAI error object {"error":{"message","type","param","code"}}.
#pragma once
#include <cstdint>
#include <stdexcept>
#include <string>
#include <vector>

#include <nlohmann/json.hpp>

#include "runtime/sampler.h"
#include "text/chat_template.h"
#include "text/tokenizer.h"

namespace dsv3::serve {

// A client-visible error. type: "invalid_request_error" (400/404/413/422), "rate_limit_error"
// (429), "server_error" (500/503).
struct ApiError : std::runtime_error {
  int status;
  std::string type, param, code;
  ApiError(int status, std::string message, std::string param = "", std::string code = "",
           std::string type = "");
  nlohmann::json to_json() const;
};

// OpenAI error body for a status and message (type derived from the status).
nlohmann::json error_json(int status, const std::string& message, const std::string& param = "",
                          const std::string& code = "");
std::string default_error_type(int status);

// What the server needs to know about the loaded model to validate requests.
struct ApiContext {
  std::string model_name;
  int64_t ctx = 0;  // tokens per sequence (prompt + completion)
  int64_t vocab_size = 0;
  const Tokenizer* tok = nullptr;      // nullptr: token-id prompts only
  const ChatTemplate* tmpl = nullptr;  // nullptr: no chat endpoint
  ChatTemplateOptions tmpl_opts;       // special tokens
};

struct GenRequest {
  bool chat = false;
  std::vector<int32_t> prompt;
  bool start_in_reasoning = false;  // the rendered prompt ends with an opened <think>
  bool tools = false;               // the request declared tools: parse tool-call tokens
  int64_t max_tokens = 0;
  SamplerParams sampling;
  std::vector<std::string> stop;
  bool stream = false, include_usage = false;
  int top_logprobs = -1;    // -1: no logprobs
  bool echo = false;        // completions: echo the prompt
  bool ignore_eos = false;  // extension (as vLLM): keep generating past end-of-sequence
};

// Parses a request body (raw bytes): invalid UTF-8, malformed JSON, wrong types and values,
// unknown model, prompts that do not fit the context all throw ApiError.
GenRequest parse_chat_request(const std::string& body, const ApiContext& c);
GenRequest parse_completion_request(const std::string& body, const ApiContext& c);

}  // namespace dsv3::serve
