// Jinja lexer: splits template source into data and tag tokens exactly as jinja2 3.1's Lexer does
// for the environment transformers uses (trim_blocks=True, lstrip_blocks=True,
// keep_trailing_newline=False, default delimiters): newline normalisation, `-`/`+` whitespace
// control, lstrip of block/comment tags that start a line, removal of the first newline after
// a block or comment tag, and the raw block.
#pragma once
#include <string>
#include <vector>

namespace dsv3::jinja {

enum class Tok {
  Data,      // literal template text
  VarBegin,  // {{
  VarEnd,    // }}
  BlockBegin,
  BlockEnd,
  Name,
  String,  // value holds the decoded string
  Integer,
  Float,
  Op,  // value holds the operator text
  Eof,
};

struct Token {
  Tok type;
  std::string value;
  int line;
};

struct LexOptions {
  bool trim_blocks = true;
  bool lstrip_blocks = true;
  bool keep_trailing_newline = false;
};

// Throws dsv3::Error("jinja: line N: ...") on a lexical error (unterminated tag or comment,
// unexpected character, unbalanced brackets).
std::vector<Token> lex(const std::string& source, const LexOptions& opt = {});

}  // namespace dsv3::jinja
