// Template: lex + parse once, render many times (see template.h).
#include "text/jinja/template.h"

#include "core/error.h"
#include "text/jinja/interpreter.h"
#include "text/jinja/lexer.h"
#include "text/jinja/parser.h"

namespace dsv3::jinja {

Template::Template(const std::string& source)
    : body_(std::make_shared<const Body>(parse(lex(source)))) {}

std::string Template::render(const Value& context, const RenderLimits& limits) const {
  Interpreter in;
  in.max_steps = limits.max_loop_iterations;
  in.max_output = limits.max_output_bytes;
  if (!context.is_undefined()) {
    if (!context.is_dict()) fail("jinja: render context must be a dict");
    for (auto& kv : context.dict().items) {
      if (!kv.first.is_string()) fail("jinja: render context keys must be strings");
      in.frame->set(kv.first.str(), kv.second);
    }
  }
  std::string out;
  try {
    in.exec_body(*body_, out);
  } catch (const Error& e) {
    std::string msg = e.what();
    if (msg.rfind("jinja: line ", 0) == 0) throw;
    if (msg.rfind("jinja: ", 0) == 0) msg = msg.substr(7);
    fail("jinja: line ", in.line, ": ", msg);
  }
  return out;
}

}  // namespace dsv3::jinja
