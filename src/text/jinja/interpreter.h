// Jinja interpreter state: variable frames with jinja's scoping (a for-loop iteration and a macro
// call get their own frame; if/else do not), globals, loop control, and the lookup, call, filter
// and test dispatch that the syntax tree nodes use. Semantics follow jinja2 3.1's
// ImmutableSandboxedEnvironment as transformers configures it (default Undefined, no
// autoescape, transformers' tojson/raise_exception/strftime_now/namespace/dict globals).
#pragma once
#include <memory>
#include <string>
#include <unordered_map>
#include <utility>
#include <vector>

#include "text/jinja/ast.h"
#include "text/jinja/value.h"

namespace dsv3::jinja {

struct Frame {
  std::vector<std::pair<std::string, Value>> vars;
  std::shared_ptr<Frame> parent;
  Value* find(const std::string& name);
  void set(const std::string& name, Value v);
};

class Interpreter {
 public:
  Interpreter();

  enum class Flow { Normal, Break, Continue };

  std::shared_ptr<Frame> frame;  // innermost frame
  std::unordered_map<std::string, Value> globals;
  Flow flow = Flow::Normal;
  int line = 0;        // line of the node being evaluated (for error messages)
  int call_depth = 0;  // macro recursion guard
  int64_t steps = 0;   // loop iterations so far (runaway guard)
  int64_t max_steps = 1'000'000;
  size_t max_output = size_t(64) << 20;
  // Frames that define macros: kept alive for the whole render. Macros hold only a weak_ptr to
  // their defining frame (a strong one would form a frame -> macro -> frame reference cycle).
  std::vector<std::shared_ptr<Frame>> macro_frames;
  // Namespaces created by namespace(): emptied when the render ends, since `set ns.a = ns`
  // can make a namespace reference itself.
  std::vector<Value> namespaces;
  ~Interpreter();

  Value lookup(const std::string& name);
  void assign(const Target& t, const Value& v);
  void exec_body(const Body& body, std::string& out);

  // jinja environment.getattr (x.name) and getitem (x[key]); missing -> Undefined with a hint.
  Value get_attr(const Value& obj, const std::string& name);
  Value get_item(const Value& obj, const Value& key);
  Value call(const Value& fn, CallArgs& args);
  Value filter(const std::string& name, const Value& v, CallArgs& args);
  bool test(const std::string& name, const Value& v, CallArgs& args);
  void count_step();
};

// ---- builtins (builtins.cpp) ----
void install_globals(Interpreter& in);
// Method of a str/list/dict (Python name), bound to obj; Undefined if there is none.
Value bound_method(const Value& obj, const std::string& name);
bool has_filter(const std::string& name);
bool has_test(const std::string& name);
Value call_filter(Interpreter& in, const std::string& name, const Value& v, CallArgs& args);
bool call_test(Interpreter& in, const std::string& name, const Value& v, CallArgs& args);
// Python `value % args` string formatting (the % operator on a str, and the format filter).
std::string percent_format(const std::string& fmt, const Value& args);
[[noreturn]] void undefined_error(const Value& u);
Value slice(const Value& obj, const Value& start, const Value& stop, const Value& step);

}  // namespace dsv3::jinja
