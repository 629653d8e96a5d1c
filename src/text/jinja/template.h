// A compiled Jinja template: the public entry point of the jinja/ folder.
//
// Supported subset (jinja2 3.1 semantics, as transformers' apply_chat_template configures it:
// ImmutableSandboxedEnvironment, trim_blocks, lstrip_blocks, loopcontrols, no autoescape):
//   tags: if/elif/else, for (tuple targets, `if` filter, else, loop.*, break/continue), set
//   (names, tuples, ns.attr, block set), macro (defaults, kwargs), filter blocks, with,
//   generation, print, raw, comments, {%- -%} / {%+ +%} whitespace control;
//   expressions: literals, list/tuple/dict, . [] slices calls, filters, tests, and/or/not,
//   comparisons (chained), in/not in, + - * / // % ** ~, a if b else c;
//   globals: range, namespace, dict, raise_exception, strftime_now; Python str/dict/list methods.
// Not supported: extends/block/include/import, call blocks, recursive loops, *args in calls.
#pragma once
#include <memory>
#include <string>

#include "text/jinja/ast.h"
#include "text/jinja/value.h"

namespace dsv3::jinja {

// Bounds on one render, so a hostile template cannot hang or exhaust memory.
struct RenderLimits {
  int64_t max_loop_iterations = 1'000'000;  // summed over all loops of the render
  size_t max_output_bytes = size_t(64) << 20;
};

class Template {
 public:
  // Lexes and parses; throws dsv3::Error("jinja: line N: ...") on a syntax error.
  explicit Template(const std::string& source);
  // Renders with the variables of `context` (a Dict value; keys are variable names).
  // Throws dsv3::Error("jinja: line N: ...") on any runtime error, including
  // raise_exception(msg) ("jinja: line N: raise_exception: msg").
  std::string render(const Value& context, const RenderLimits& limits = {}) const;

 private:
  std::shared_ptr<const Body> body_;
};

}  // namespace dsv3::jinja
