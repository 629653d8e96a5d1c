// `dsv3 chat`: interactive multi-turn chat through the checkpoint's chat template. History is
// kept (and the KV cache reused for the common prefix); /clear resets it, /exit or Ctrl-D quits.
// For R1-style models the reasoning is printed as it streams; the template strips it from the
// history of later turns.
#include <unistd.h>

#include <cstdio>
#include <iostream>
#include <string>

#include "command.h"
#include "core/error.h"
#include "model_args.h"
#include "runtime/generator.h"
#include "text_io.h"

namespace dsv3::cli {
namespace {

const char* kHelp =
    "usage: dsv3 chat [-m DIR] [--system TEXT] [-n N] [sampling flags]\n"
    "  --system TEXT   system prompt\n"
    "  -n N            maximum tokens per reply (default 1024)\n"
    "  commands: /clear (forget the conversation), /exit (or Ctrl-D)\n";

int cmd_chat(const std::vector<std::string>& argv) {
  auto spec = model_flag_spec();
  for (auto& f : text_flag_spec()) spec.push_back(f);
  for (auto& f : generate_flag_spec()) spec.push_back(f);
  for (const char* f : {"--system=", "-n=", "--help"}) spec.push_back(f);
  Args a(argv, spec);
  if (a.has("--help")) {
    std::fputs(kHelp, stdout);
    std::fputs(generate_flag_help(), stdout);
    std::fputs(model_flag_help(), stdout);
    std::fputs(text_flag_help(), stdout);
    return 0;
  }
  const int64_t n_max = a.get_int("-n", 1024);
  DSV3_CHECK(n_max > 0, "-n must be > 0");
  LoadedModel lm = load_model_from_args(a);
  const GenerateOptions go = parse_generate_options(a, *lm.model);
  auto tok = load_tokenizer(a, lm.dir);
  DSV3_CHECK(tok, lm.dir, " has no tokenizer.json: give --tokenizer PATH");
  ChatTemplate tmpl(chat_template_source(a, *tok));
  const int64_t ctx = lm.cache->ctx();
  auto generator = make_generator(lm, go);
  Generator& gen = *generator;

  nlohmann::json history = nlohmann::json::array();
  if (a.has("--system")) history.push_back({{"role", "system"}, {"content", a.get("--system")}});
  const nlohmann::json base = history;
  const bool tty = isatty(0);
  std::string line;
  while (true) {
    if (tty) std::fputs("> ", stdout), std::fflush(stdout);
    if (!std::getline(std::cin, line)) break;  // Ctrl-D / end of input
    if (line == "/exit" || line == "/quit") break;
    if (line == "/clear") {
      history = base;
      gen.reset();
      std::puts("(conversation cleared)");
      continue;
    }
    if (line.empty()) continue;
    history.push_back({{"role", "user"}, {"content", line}});
    const std::string rendered = tmpl.render(history, chat_options(*tok, true));
    std::vector<int32_t> prompt = tok->encode(rendered, false);
    if (int64_t(prompt.size()) + 1 >= ctx) {
      std::fprintf(stderr, "error: the conversation (%zu tokens) no longer fits --ctx %lld; /clear to start over\n",
                   prompt.size(), (long long)ctx);
      history.erase(history.end() - 1);
      continue;
    }
    const int64_t budget = std::min<int64_t>(n_max, ctx - int64_t(prompt.size()) - 1);
    // A template that opens the reasoning block itself (R1: "<think>\n") hides it from the
    // generated text; show it so the reply reads naturally.
    std::fputs(opened_reasoning(rendered).c_str(), stdout);
    StreamDecoder sd(*tok, true);
    std::vector<int32_t> out;
    gen.generate(prompt, budget, [&](int32_t t) {
      out.push_back(t);
      std::fputs(sd.push(t).c_str(), stdout);
      std::fflush(stdout);
      return true;
    });
    std::fputs(sd.flush().c_str(), stdout);
    std::fputs("\n", stdout);
    history.push_back({{"role", "assistant"}, {"content", tok->decode(out, true)}});
  }
  return 0;
}

const bool registered = register_command({"chat", "interactive multi-turn chat", cmd_chat});

}  // namespace
}  // namespace dsv3::cli
