// Tokenizer and chat-template lookup shared by `run` and `chat`: --tokenizer PATH overrides,
// else the model folder's tokenizer.json; --chat-template-file overrides the tokenizer's
// chat_template.
#pragma once
#include <memory>
#include <string>
#include <vector>

#include "args.h"
#include "text/chat_template.h"
#include "text/tokenizer.h"

namespace dsv3::cli {

std::vector<std::string> text_flag_spec();  // --tokenizer=, --chat-template-file=
const char* text_flag_help();

// nullptr if the model folder has no tokenizer and --tokenizer was not given.
std::unique_ptr<Tokenizer> load_tokenizer(const Args& a, const std::string& model_dir);
// The chat template source; throws if there is none.
std::string chat_template_source(const Args& a, const Tokenizer& tok);
// Template options carrying the tokenizer's special tokens.
ChatTemplateOptions chat_options(const Tokenizer& tok, bool add_generation_prompt);

// "<think>\n" when a rendered prompt already opened the reasoning block (R1-style generation
// prompt), so the CLI can show it before the streamed reply; "" otherwise.
std::string opened_reasoning(const std::string& rendered_prompt);

}  // namespace dsv3::cli
