// Tokenizer / chat template resolution for the CLI.
#include "text_io.h"

#include <filesystem>

#include "core/error.h"
#include "model/gguf_model.h"

namespace dsv3::cli {

std::vector<std::string> text_flag_spec() { return {"--tokenizer=", "--chat-template-file="}; }

const char* text_flag_help() {
  return "  --tokenizer PATH          tokenizer.json, a folder holding it, or a vocab GGUF (default: the model's)\n"
         "  --chat-template-file F    Jinja chat template, or a tokenizer_config.json to take it from\n";
}

std::unique_ptr<Tokenizer> load_tokenizer(const Args& a, const std::string& model_dir) {
  if (a.has("--tokenizer")) return Tokenizer::from_file(a.get("--tokenizer"));
  if (std::filesystem::exists(model_dir + "/tokenizer.json")) return Tokenizer::from_file(model_dir);
  if (is_gguf_path(model_dir) && std::filesystem::is_regular_file(model_dir))
    return Tokenizer::from_file(model_dir);  // the tokenizer stored in the model's GGUF
  return nullptr;
}

std::string chat_template_source(const Args& a, const Tokenizer& tok) {
  if (a.has("--chat-template-file")) return load_chat_template_file(a.get("--chat-template-file"));
  DSV3_CHECK(!tok.chat_template().empty(),
             "the tokenizer has no chat_template; give one with --chat-template-file");
  return tok.chat_template();
}

ChatTemplateOptions chat_options(const Tokenizer& tok, bool add_generation_prompt) {
  ChatTemplateOptions o;
  o.add_generation_prompt = add_generation_prompt;
  if (!tok.bos_token().empty()) o.bos_token = tok.bos_token();
  if (!tok.eos_token().empty()) o.eos_token = tok.eos_token();
  return o;
}

std::string opened_reasoning(const std::string& rendered) {
  const std::string open = "<think>\n";
  const bool opened = rendered.size() >= open.size() &&
                      rendered.compare(rendered.size() - open.size(), open.size(), open) == 0;
  return opened ? open : "";
}

}  // namespace dsv3::cli
