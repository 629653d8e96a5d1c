// Jinja parser: tokens -> statement tree, following jinja2/parser.py's grammar and operator
// precedence (condexpr < or < and < not < compare/in < +,- < ~ < *,/,//,% < ** < unary <
// postfix (. [] ()) < filters/tests).
#pragma once
#include <string>
#include <vector>

#include "text/jinja/ast.h"
#include "text/jinja/lexer.h"

namespace dsv3::jinja {

// Throws dsv3::Error("jinja: line N: ...") on a syntax error or an unsupported tag
// (extends/block/include/import/call are not supported).
Body parse(const std::vector<Token>& tokens);

}  // namespace dsv3::jinja
