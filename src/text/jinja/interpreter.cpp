// Jinja evaluation: expression and statement semantics (see interpreter.h).
#include "text/jinja/interpreter.h"

#include <cmath>
#include <limits>

#include "core/error.h"
#include "text/jinja/pystr.h"

namespace dsv3::jinja {

Value* Frame::find(const std::string& name) {
  for (auto& kv : vars)
    if (kv.first == name) return &kv.second;
  return nullptr;
}
void Frame::set(const std::string& name, Value v) {
  if (Value* p = find(name)) {
    *p = std::move(v);
  } else {
    vars.emplace_back(name, std::move(v));
  }
}

Interpreter::Interpreter() : frame(std::make_shared<Frame>()) {
  install_globals(*this);
}

Interpreter::~Interpreter() {
  for (auto& ns : namespaces) ns.dict().items.clear();
}

void Interpreter::count_step() {
  if (++steps > max_steps) fail("template exceeded its limit of ", max_steps, " loop iterations");
}

[[noreturn]] void undefined_error(const Value& u) {
  if (u.str().empty()) fail("UndefinedError: value is undefined");
  if (u.str().front() == '\'') fail("UndefinedError: ", u.str());
  fail("UndefinedError: '", u.str(), "' is undefined");
}

Value Interpreter::lookup(const std::string& name) {
  for (Frame* f = frame.get(); f; f = f->parent.get())
    if (Value* v = f->find(name)) return *v;
  auto it = globals.find(name);
  if (it != globals.end()) return it->second;
  return Value::undefined(name);
}

void Interpreter::assign(const Target& t, const Value& v) {
  if (t.is_tuple) {
    if (!v.is_sequence() && !v.is_string() && !v.is_dict())
      fail("cannot unpack non-iterable ", v.type_name(), " object");
    List items;
    if (v.is_sequence()) {
      items = v.items();
    } else if (v.is_dict()) {
      for (auto& kv : v.dict().items) items.push_back(kv.first);
    } else {
      for (char32_t c : pystr::decode(v.str())) items.push_back(Value(pystr::encode({&c, 1})));
    }
    if (items.size() != t.tuple.size())
      fail(items.size() < t.tuple.size() ? "not enough" : "too many",
           " values to unpack (expected ", t.tuple.size(), ", got ", items.size(), ")");
    for (size_t i = 0; i < items.size(); ++i) assign(t.tuple[i], items[i]);
    return;
  }
  if (!t.attr.empty()) {
    Value ns = lookup(t.name);
    if (!ns.is_namespace()) fail("cannot assign attribute on non-namespace object");
    if (t.attr[0] == '_')
      fail(
          "SecurityError: Chat templates cannot store underscore-prefixed attributes on a "
          "namespace");
    ns.dict().set(Value(t.attr), v);
    return;
  }
  frame->set(t.name, v);
}

void Interpreter::exec_body(const Body& body, std::string& out) {
  for (auto& s : body) {
    line = s->line;
    s->exec(*this, out);
    if (flow != Flow::Normal) return;
    if (out.size() > max_output) fail("template output exceeds ", max_output, " bytes");
  }
}

namespace {
bool is_dict_method(const std::string& n) {
  return n == "items" || n == "keys" || n == "values" || n == "get";
}
}  // namespace

Value Interpreter::get_attr(const Value& obj, const std::string& name) {
  if (obj.is_undefined()) undefined_error(obj);
  if (!name.empty() && name[0] == '_')
    return Value::undefined("'access to attribute " + name + " is unsafe'");
  if (obj.is_dict()) {
    if (is_dict_method(name)) return bound_method(obj, name);
    if (const Value* v = obj.dict().find(std::string_view(name))) return *v;
    return Value::undefined("'dict object' has no attribute '" + name + "'");
  }
  if (obj.is_namespace()) {
    if (const Value* v = obj.dict().find(std::string_view(name))) return *v;
    return Value::undefined("'Namespace object' has no attribute '" + name + "'");
  }
  Value m = bound_method(obj, name);
  if (!m.is_undefined()) return m;
  return Value::undefined("'" + obj.type_name() + " object' has no attribute '" + name + "'");
}

Value Interpreter::get_item(const Value& obj, const Value& key) {
  if (obj.is_undefined()) undefined_error(obj);
  auto fallback = [&]() -> Value {
    if (key.is_string()) return get_attr(obj, key.str());
    return Value::undefined("'" + obj.type_name() + " object' has no attribute " + key.repr());
  };
  if (obj.is_dict()) {
    if (const Value* v = obj.dict().find(key)) return *v;
    if (key.is_string() && is_dict_method(key.str())) return bound_method(obj, key.str());
    return Value::undefined(key.is_string() ? "'dict object' has no attribute '" + key.str() + "'"
                                            : "'dict object' has no attribute " + key.repr());
  }
  if ((obj.is_sequence() || obj.is_string()) && key.is_int()) {
    int64_t i = key.as_int();
    if (obj.is_string()) {
      std::u32string u = pystr::decode(obj.str());
      int64_t n = static_cast<int64_t>(u.size());
      if (i < 0) i += n;
      if (i < 0 || i >= n) return Value::undefined("'str object' has no attribute " + key.repr());
      return Value(pystr::encode(std::u32string_view(u).substr(i, 1)));
    }
    int64_t n = static_cast<int64_t>(obj.items().size());
    if (i < 0) i += n;
    if (i < 0 || i >= n)
      return Value::undefined("'" + obj.type_name() + " object' has no attribute " + key.repr());
    return obj.items()[i];
  }
  return fallback();
}

Value Interpreter::call(const Value& fn, CallArgs& args) {
  if (fn.is_undefined()) undefined_error(fn);
  if (!fn.is_function()) fail("'", fn.type_name(), "' object is not callable");
  return fn.fn()(*this, args);
}

Value Interpreter::filter(const std::string& name, const Value& v, CallArgs& args) {
  return call_filter(*this, name, v, args);
}
bool Interpreter::test(const std::string& name, const Value& v, CallArgs& args) {
  return call_test(*this, name, v, args);
}

// ---------------- expressions ----------------

Value ConstExpr::eval(Interpreter&) const {
  return value;
}

Value NameExpr::eval(Interpreter& in) const {
  return in.lookup(name);
}

Value ListExpr::eval(Interpreter& in) const {
  List l;
  for (auto& e : items) l.push_back(e->eval(in));
  return tuple ? Value::tuple(std::move(l)) : Value::list(std::move(l));
}

Value DictExpr::eval(Interpreter& in) const {
  Dict d;
  for (auto& kv : items) {
    Value k = kv.first->eval(in);
    if (k.is_list() || k.is_dict() || k.is_namespace()) {
      fail("TypeError: unhashable type: '", k.type_name(), "'");
    }
    d.set(k, kv.second->eval(in));
  }
  return Value::new_dict(std::move(d));
}

Value AttrExpr::eval(Interpreter& in) const {
  Value o = obj->eval(in);
  in.line = line;
  return in.get_attr(o, name);
}

Value SliceExpr::eval(Interpreter&) const {
  fail("slice used outside of a subscript");
}

Value ItemExpr::eval(Interpreter& in) const {
  Value o = obj->eval(in);
  if (auto* s = dynamic_cast<const SliceExpr*>(key.get())) {
    Value a = s->start ? s->start->eval(in) : Value::none();
    Value b = s->stop ? s->stop->eval(in) : Value::none();
    Value c = s->step ? s->step->eval(in) : Value::none();
    in.line = line;
    if (o.is_undefined()) undefined_error(o);
    return slice(o, a, b, c);
  }
  Value k = key->eval(in);
  in.line = line;
  return in.get_item(o, k);
}

CallArgs Args::eval(Interpreter& in) const {
  CallArgs a;
  for (auto& e : pos) a.pos.push_back(e->eval(in));
  for (auto& kv : kw) a.kw.emplace_back(kv.first, kv.second->eval(in));
  return a;
}

Value CallExpr::eval(Interpreter& in) const {
  Value f = fn->eval(in);
  CallArgs a = args.eval(in);
  in.line = line;
  return in.call(f, a);
}

Value FilterExpr::apply(Interpreter& in, Value v) const {
  if (value) {
    auto* inner = dynamic_cast<const FilterExpr*>(value.get());
    if (!inner) fail("bad filter chain");
    v = inner->apply(in, std::move(v));
  }
  CallArgs a = args.eval(in);
  in.line = line;
  return in.filter(name, v, a);
}

Value FilterExpr::eval(Interpreter& in) const {
  Value v = value->eval(in);
  CallArgs a = args.eval(in);
  in.line = line;
  return in.filter(name, v, a);
}

Value TestExpr::eval(Interpreter& in) const {
  Value v = value->eval(in);
  CallArgs a = args.eval(in);
  in.line = line;
  bool r = in.test(name, v, a);
  return Value(negated ? !r : r);
}

Value UnaryExpr::eval(Interpreter& in) const {
  Value v = operand->eval(in);
  in.line = line;
  if (op == "not") return Value(!v.truthy());
  if (v.is_undefined()) undefined_error(v);
  if (!v.is_number()) fail("TypeError: bad operand type for unary ", op, ": '", v.type_name(), "'");
  if (op == "+") return v.is_float() ? v : Value(v.as_int());
  if (v.is_float()) return Value(-v.as_double());
  if (v.as_int() == std::numeric_limits<int64_t>::min()) fail("integer overflow");
  return Value(-v.as_int());
}

namespace {

[[noreturn]] void bad_operands(const std::string& op, const Value& a, const Value& b) {
  if (op == "+" && a.is_string())
    fail("TypeError: can only concatenate str (not \"", b.type_name(), "\") to str");
  if (op == "+" && a.is_list())
    fail("TypeError: can only concatenate list (not \"", b.type_name(), "\") to list");
  fail("TypeError: unsupported operand type(s) for ", op, ": '", a.type_name(), "' and '",
       b.type_name(), "'");
}

Value repeat(const Value& seq, int64_t n) {
  if (seq.is_string()) {
    std::string out;
    if (n > 0 && seq.str().size() * static_cast<size_t>(n) > (size_t(256) << 20))
      fail("string repetition too large");
    for (int64_t i = 0; i < n; ++i) out += seq.str();
    return Value(std::move(out));
  }
  List l;
  if (n > 0 && seq.items().size() * static_cast<size_t>(n) > (size_t(16) << 20))
    fail("list repetition too large");
  for (int64_t i = 0; i < n; ++i) l.insert(l.end(), seq.items().begin(), seq.items().end());
  return seq.kind() == Value::Kind::Tuple ? Value::tuple(std::move(l)) : Value::list(std::move(l));
}

Value arith(const std::string& op, const Value& a, const Value& b) {
  if (a.is_undefined()) undefined_error(a);
  if (b.is_undefined()) undefined_error(b);
  if (op == "%" && a.is_string()) return Value(percent_format(a.str(), b));
  if (a.is_number() && b.is_number()) {
    bool fl = a.is_float() || b.is_float();
    if (op == "/") {
      double y = b.as_double();
      if (y == 0) fail("ZeroDivisionError: division by zero");
      return Value(a.as_double() / y);
    }
    if (op == "**") {
      if (!fl && b.as_int() >= 0) {
        int64_t r = 1, base = a.as_int();
        for (int64_t e = b.as_int(); e > 0; --e)
          if (__builtin_mul_overflow(r, base, &r)) fail("integer overflow in **");
        return Value(r);
      }
      return Value(std::pow(a.as_double(), b.as_double()));
    }
    if (fl) {
      double x = a.as_double(), y = b.as_double();
      if (op == "+") return Value(x + y);
      if (op == "-") return Value(x - y);
      if (op == "*") return Value(x * y);
      if (y == 0) fail("ZeroDivisionError: float division by zero");
      if (op == "//") return Value(std::floor(x / y));
      double m = std::fmod(x, y);
      if (m != 0 && ((m < 0) != (y < 0))) m += y;
      return Value(m);
    }
    int64_t x = a.as_int(), y = b.as_int(), r = 0;
    if (op == "+") {
      if (__builtin_add_overflow(x, y, &r)) fail("integer overflow");
      return Value(r);
    }
    if (op == "-") {
      if (__builtin_sub_overflow(x, y, &r)) fail("integer overflow");
      return Value(r);
    }
    if (op == "*") {
      if (__builtin_mul_overflow(x, y, &r)) fail("integer overflow");
      return Value(r);
    }
    if (y == 0) fail("ZeroDivisionError: integer division or modulo by zero");
    if (x == std::numeric_limits<int64_t>::min() && y == -1) fail("integer overflow");
    int64_t q = x / y, m = x % y;
    if (m != 0 && ((m < 0) != (y < 0))) {
      q -= 1;
      m += y;
    }
    return Value(op == "//" ? q : m);
  }
  if (op == "+") {
    if (a.is_string() && b.is_string()) return Value(a.str() + b.str());
    if (a.kind() == b.kind() && a.is_sequence()) {
      List l = a.items();
      l.insert(l.end(), b.items().begin(), b.items().end());
      return a.is_list() ? Value::list(std::move(l)) : Value::tuple(std::move(l));
    }
  }
  if (op == "*") {
    if ((a.is_string() || a.is_sequence()) && b.is_int() && !b.is_float())
      return repeat(a, b.as_int());
    if ((b.is_string() || b.is_sequence()) && a.is_int() && !a.is_float())
      return repeat(b, a.as_int());
  }
  bad_operands(op, a, b);
}

bool contains(const Value& container, const Value& item) {
  if (container.is_undefined()) return false;
  if (container.is_string()) {
    if (item.is_undefined()) undefined_error(item);
    if (!item.is_string())
      fail("TypeError: 'in <string>' requires string as left operand, not ", item.type_name());
    return container.str().find(item.str()) != std::string::npos;
  }
  if (container.is_sequence()) {
    for (auto& v : container.items())
      if (py_equal(v, item)) return true;
    return false;
  }
  if (container.is_dict()) return container.dict().find(item) != nullptr;
  fail("TypeError: argument of type '", container.type_name(), "' is not iterable");
}

}  // namespace

Value BinaryExpr::eval(Interpreter& in) const {
  if (op == "and") {
    Value l = left->eval(in);
    return l.truthy() ? right->eval(in) : l;
  }
  if (op == "or") {
    Value l = left->eval(in);
    return l.truthy() ? l : right->eval(in);
  }
  Value l = left->eval(in);
  Value r = right->eval(in);
  in.line = line;
  if (op == "~") return Value(l.to_str() + r.to_str());
  return arith(op, l, r);
}

Value CompareExpr::eval(Interpreter& in) const {
  Value l = first->eval(in);
  for (auto& [op, e] : rest) {
    Value r = e->eval(in);
    in.line = line;
    bool ok;
    if (op == "==") {
      ok = py_equal(l, r);
    } else if (op == "!=") {
      ok = !py_equal(l, r);
    } else if (op == "in") {
      ok = contains(r, l);
    } else if (op == "notin") {
      ok = !contains(r, l);
    } else {
      if (l.is_undefined()) undefined_error(l);
      if (r.is_undefined()) undefined_error(r);
      int c = py_compare(l, r);
      bool nan = (l.is_float() && std::isnan(l.as_double())) ||
                 (r.is_float() && std::isnan(r.as_double()));
      if (nan)
        ok = false;
      else if (op == "<")
        ok = c < 0;
      else if (op == "<=")
        ok = c <= 0;
      else if (op == ">")
        ok = c > 0;
      else
        ok = c >= 0;
    }
    if (!ok) return Value(false);
    l = std::move(r);
  }
  return Value(true);
}

Value CondExpr::eval(Interpreter& in) const {
  if (cond->eval(in).truthy()) return then->eval(in);
  if (otherwise) return otherwise->eval(in);
  return Value::undefined("the inline if-expression on line " + std::to_string(line) +
                          " evaluated to false and no else section was defined.");
}

// ---------------- statements ----------------

void DataStmt::exec(Interpreter&, std::string& out) const {
  out += text;
}

void PrintStmt::exec(Interpreter& in, std::string& out) const {
  out += expr->eval(in).to_str();
}

void IfStmt::exec(Interpreter& in, std::string& out) const {
  for (auto& [cond, body] : branches) {
    if (cond->eval(in).truthy()) {
      in.exec_body(body, out);
      return;
    }
  }
  in.exec_body(otherwise, out);
}

namespace {
List iterate(const Value& v) {
  switch (v.kind()) {
    case Value::Kind::Undefined:
      return {};
    case Value::Kind::List:
    case Value::Kind::Tuple:
      return v.items();
    case Value::Kind::Dict: {
      List l;
      for (auto& kv : v.dict().items) l.push_back(kv.first);
      return l;
    }
    case Value::Kind::String: {
      List l;
      for (char32_t c : pystr::decode(v.str())) l.push_back(Value(pystr::encode({&c, 1})));
      return l;
    }
    default:
      fail("TypeError: '", v.type_name(), "' object is not iterable");
  }
}

struct FrameGuard {
  Interpreter& in;
  std::shared_ptr<Frame> saved;
  FrameGuard(Interpreter& i, std::shared_ptr<Frame> parent) : in(i), saved(i.frame) {
    auto f = std::make_shared<Frame>();
    f->parent = std::move(parent);
    in.frame = f;
  }
  ~FrameGuard() { in.frame = saved; }
};
}  // namespace

List iterate_value(const Value& v) {
  return iterate(v);
}

void ForStmt::exec(Interpreter& in, std::string& out) const {
  if (recursive) fail("recursive for loops are not supported");
  Value it = iter->eval(in);
  in.line = line;
  run(in, out, it, 1);
}

void ForStmt::run(Interpreter& in, std::string& out, const Value& iterable, int depth) const {
  List items = iterate(iterable);
  if (filter) {
    List kept;
    for (auto& v : items) {
      FrameGuard g(in, in.frame);
      in.assign(target, v);
      if (filter->eval(in).truthy()) kept.push_back(v);
    }
    items = std::move(kept);
  }
  if (items.empty()) {
    FrameGuard g(in, in.frame);
    in.exec_body(otherwise, out);
    return;
  }
  // One loop object per loop, updated in place each iteration (as jinja's LoopContext is).
  int64_t n = static_cast<int64_t>(items.size());
  auto index = std::make_shared<int64_t>(0);
  Dict loop;
  const char* const keys[] = {"index",  "index0", "revindex", "revindex0", "first",    "last",
                              "length", "depth",  "depth0",   "previtem",  "nextitem", "cycle"};
  for (const char* k : keys) loop.items.emplace_back(Value(k), Value());
  loop.items[6].second = Value(n);
  loop.items[7].second = Value(static_cast<int64_t>(depth));
  loop.items[8].second = Value(static_cast<int64_t>(depth - 1));
  loop.items[11].second = Value::function("loop.cycle", [index](Interpreter&, CallArgs& a) {
    if (a.pos.empty()) fail("no items for cycling given");
    return a.pos[*index % static_cast<int64_t>(a.pos.size())];
  });
  Value loop_value = Value::new_dict(std::move(loop));
  auto& li = loop_value.dict().items;
  for (int64_t i = 0; i < n; ++i) {
    in.count_step();
    FrameGuard g(in, in.frame);
    *index = i;
    li[0].second = Value(i + 1);
    li[1].second = Value(i);
    li[2].second = Value(n - i);
    li[3].second = Value(n - i - 1);
    li[4].second = Value(i == 0);
    li[5].second = Value(i == n - 1);
    li[9].second = i > 0 ? items[i - 1] : Value();
    li[10].second = i + 1 < n ? items[i + 1] : Value();
    in.frame->set("loop", loop_value);
    in.assign(target, items[i]);
    in.exec_body(body, out);
    if (in.flow == Interpreter::Flow::Break) {
      in.flow = Interpreter::Flow::Normal;
      break;
    }
    in.flow = Interpreter::Flow::Normal;
  }
}

void SetStmt::exec(Interpreter& in, std::string& out) const {
  if (value) {
    Value v = value->eval(in);
    in.line = line;
    in.assign(target, v);
    return;
  }
  std::string captured;
  in.exec_body(body, captured);
  Value v(std::move(captured));
  if (filter) v = filter->apply(in, std::move(v));
  in.line = line;
  in.assign(target, v);
}

void MacroStmt::exec(Interpreter& in, std::string&) const {
  in.macro_frames.push_back(in.frame);
  std::weak_ptr<Frame> closure = in.frame;
  const MacroStmt* self = this;
  in.frame->set(
      name, Value::function(name, [closure, self](Interpreter& in, CallArgs& a) {
        if (in.call_depth > 100) fail("macro recursion too deep");
        std::shared_ptr<Frame> parent = closure.lock();
        if (!parent) fail("macro '", self->name, "' called after its template render ended");
        FrameGuard g(in, parent);
        ++in.call_depth;
        struct DepthGuard {
          int& d;
          ~DepthGuard() { --d; }
        } dg{in.call_depth};
        const auto& params = self->params;
        size_t first_default = params.size() - self->defaults.size();
        List varargs;
        for (size_t i = 0; i < a.pos.size(); ++i) {
          if (i < params.size()) {
            in.frame->set(params[i], a.pos[i]);
          } else {
            varargs.push_back(a.pos[i]);
          }
        }
        Dict kwargs;
        for (auto& [k, v] : a.kw) {
          bool is_param = false;
          for (size_t i = 0; i < params.size(); ++i) {
            if (params[i] == k) {
              if (i < a.pos.size())
                fail("macro '", self->name, "' got multiple values for argument '", k, "'");
              is_param = true;
            }
          }
          if (is_param) {
            in.frame->set(k, v);
          } else {
            kwargs.set(Value(k), v);
          }
        }
        for (size_t i = 0; i < params.size(); ++i) {
          if (in.frame->find(params[i])) continue;
          if (i >= first_default) {
            in.frame->set(params[i], self->defaults[i - first_default]->eval(in));
          } else {
            in.frame->set(params[i],
                          Value::undefined("parameter '" + params[i] + "' was not provided"));
          }
        }
        in.frame->set("varargs", Value::tuple(std::move(varargs)));
        in.frame->set("kwargs", Value::new_dict(std::move(kwargs)));
        std::string out;
        in.exec_body(self->body, out);
        in.flow = Interpreter::Flow::Normal;
        return Value(std::move(out));
      }));
}

void LoopControlStmt::exec(Interpreter& in, std::string&) const {
  in.flow = is_break ? Interpreter::Flow::Break : Interpreter::Flow::Continue;
}

void FilterBlockStmt::exec(Interpreter& in, std::string& out) const {
  std::string captured;
  in.exec_body(body, captured);
  out += filter->apply(in, Value(std::move(captured))).to_str();
}

void WithStmt::exec(Interpreter& in, std::string& out) const {
  std::vector<Value> vals;
  for (auto& a : assigns) vals.push_back(a.second->eval(in));
  FrameGuard g(in, in.frame);
  for (size_t i = 0; i < assigns.size(); ++i) in.assign(assigns[i].first, vals[i]);
  in.exec_body(body, out);
}

void BodyStmt::exec(Interpreter& in, std::string& out) const {
  in.exec_body(body, out);
}

}  // namespace dsv3::jinja
