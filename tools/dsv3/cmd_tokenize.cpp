// `dsv3 tokenize -m PATH [TEXT] [-f FILE|-] [--ids]`: prints the ids and pieces of a text.
// -m takes a model folder (tokenizer.json + tokenizer_config.json), a tokenizer.json or a
// vocab GGUF. Default output: one line per token "id<TAB>piece" (piece = the token's text with
// control characters escaped), BOS/EOS added as the tokenizer's post-processor says. --ids:
// only the ids of the text itself (no BOS/EOS), space-separated, on one line.
#include <cstdio>
#include <iostream>
#include <iterator>
#include <sstream>

#include "args.h"
#include "command.h"
#include "core/error.h"
#include "core/mapped_file.h"
#include "text/tokenizer.h"

namespace {

std::string escape_piece(const std::string& s) {
  std::string out;
  for (unsigned char c : s) {
    if (c == '\n')
      out += "\\n";
    else if (c == '\r')
      out += "\\r";
    else if (c == '\t')
      out += "\\t";
    else if (c == '\\')
      out += "\\\\";
    else if (c < 0x20 || c == 0x7f) {
      char buf[8];
      std::snprintf(buf, sizeof buf, "\\x%02x", c);
      out += buf;
    } else {
      out += char(c);
    }
  }
  return out;
}

int cmd_tokenize(const std::vector<std::string>& argv) {
  dsv3::cli::Args args(argv, {"-m=", "-f=", "--ids", "--help"});
  if (args.has("--help")) {
    std::printf(
        "usage: dsv3 tokenize -m PATH [TEXT] [-f FILE|-] [--ids]\n"
        "  -m PATH   model folder, tokenizer.json or vocab GGUF\n"
        "  TEXT      text to tokenize (or -f FILE, '-' for stdin)\n"
        "  --ids     print only the ids of the text (no BOS/EOS), space-separated, one line\n");
    return 0;
  }
  std::string model = args.get("-m");
  DSV3_CHECK(!model.empty(),
             "tokenize: -m PATH is required (model folder, tokenizer.json or GGUF)");
  std::string text;
  if (args.has("-f")) {
    DSV3_CHECK(args.positional().empty(), "tokenize: give either TEXT or -f FILE, not both");
    std::string f = args.get("-f");
    if (f == "-") {
      std::ostringstream ss;
      ss << std::cin.rdbuf();
      text = ss.str();
    } else {
      text = dsv3::read_text_file(f);
    }
  } else {
    DSV3_CHECK(args.positional().size() == 1,
               "tokenize: expected one TEXT argument (quote it) or -f FILE");
    text = args.positional()[0];
  }
  auto tok = dsv3::Tokenizer::from_file(model);
  bool ids_only = args.has("--ids");
  std::vector<int32_t> ids = tok->encode(text, !ids_only);
  if (ids_only) {
    std::string line;
    for (size_t k = 0; k < ids.size(); ++k) {
      if (k) line += ' ';
      line += std::to_string(ids[k]);
    }
    std::printf("%s\n", line.c_str());
    return 0;
  }
  for (int32_t id : ids) {
    std::string piece = tok->decode({id}, false);
    std::printf("%d\t%s\n", id, escape_piece(piece).c_str());
  }
  std::fprintf(stderr, "%zu tokens\n", ids.size());
  return 0;
}

const bool registered = dsv3::cli::register_command(
    {"tokenize", "print the token ids and pieces of a text", cmd_tokenize});
}  // namespace
