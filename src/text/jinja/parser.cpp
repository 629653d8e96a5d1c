// Jinja parser (see parser.h). Method names follow jinja2/parser.py.
#include "text/jinja/parser.h"

#include <cerrno>
#include <cstdlib>

#include "core/error.h"
#include "text/jinja/interpreter.h"

namespace dsv3::jinja {
namespace {

template <typename T>
std::unique_ptr<T> node(int line) {
  auto n = std::make_unique<T>();
  n->line = line;
  return n;
}

class Parser {
 public:
  explicit Parser(const std::vector<Token>& t) : t_(t) {}

  Body parse_template() {
    Body b = subparse({});
    if (cur().type != Tok::Eof) error("unexpected tag");
    // jinja2 resolves filter and test names at compile time: an unknown one is an error even in
    // code that never runs, except inside an if statement or a conditional expression ("soft"
    // frames, where the error is deferred to runtime); for/macro/filter/with/set bodies start a
    // new, non-soft frame.
    for (auto& n : names_) {
      if (n.soft) continue;
      if (n.is_filter ? !has_filter(n.name) : !has_test(n.name))
        fail("jinja: line ", n.line, ": TemplateAssertionError: No ",
             n.is_filter ? "filter" : "test", " named '", n.name, "'");
    }
    return b;
  }

 private:
  const Token& cur() const { return t_[pos_]; }
  const Token& look() const { return t_[pos_ + 1 < t_.size() ? pos_ + 1 : pos_]; }
  void next() {
    if (pos_ + 1 < t_.size()) ++pos_;
  }
  [[noreturn]] void error(const std::string& msg) const {
    fail("jinja: line ", cur().line, ": ", msg, " (at ", describe(cur()), ")");
  }
  static std::string describe(const Token& t) {
    switch (t.type) {
      case Tok::Data:
        return "template data";
      case Tok::VarBegin:
        return "'{{'";
      case Tok::VarEnd:
        return "'}}'";
      case Tok::BlockBegin:
        return "'{%'";
      case Tok::BlockEnd:
        return "'%}'";
      case Tok::Eof:
        return "end of template";
      default:
        return "'" + t.value + "'";
    }
  }
  bool is_name(const char* v) const { return cur().type == Tok::Name && cur().value == v; }
  bool is_op(const char* v) const { return cur().type == Tok::Op && cur().value == v; }
  bool skip_name(const char* v) {
    if (!is_name(v)) return false;
    next();
    return true;
  }
  bool skip_op(const char* v) {
    if (!is_op(v)) return false;
    next();
    return true;
  }
  void expect_op(const char* v) {
    if (!skip_op(v)) error(std::string("expected '") + v + "'");
  }
  void expect(Tok t, const char* what) {
    if (cur().type != t) error(std::string("expected ") + what);
    next();
  }
  std::string expect_name() {
    if (cur().type != Tok::Name) error("expected a name");
    std::string v = cur().value;
    next();
    return v;
  }

  // Parses statements until a block tag whose first name is in `ends` (left unconsumed,
  // positioned at that name).
  Body subparse(const std::vector<std::string>& ends) {
    Body body;
    while (cur().type != Tok::Eof) {
      const Token& tk = cur();
      if (tk.type == Tok::Data) {
        auto d = node<DataStmt>(tk.line);
        d->text = tk.value;
        body.push_back(std::move(d));
        next();
      } else if (tk.type == Tok::VarBegin) {
        next();
        auto p = node<PrintStmt>(tk.line);
        p->expr = parse_tuple(false, true, {}, false);
        expect(Tok::VarEnd, "'}}'");
        body.push_back(std::move(p));
      } else if (tk.type == Tok::BlockBegin) {
        next();
        if (cur().type == Tok::Name) {
          for (auto& e : ends)
            if (cur().value == e) return body;
        }
        body.push_back(parse_statement());
        expect(Tok::BlockEnd, "'%}'");
      } else {
        error("unexpected token");
      }
    }
    if (!ends.empty()) {
      std::string list;
      for (auto& e : ends) list += (list.empty() ? "'" : " or '") + e + "'";
      error("unexpected end of template, expected " + list);
    }
    return body;
  }

  // Parses a body up to one of `ends`; consumes the end name if drop_needle.
  Body parse_statements(const std::vector<std::string>& ends, bool drop_needle) {
    expect(Tok::BlockEnd, "'%}'");
    Body b = subparse(ends);
    if (cur().type == Tok::Eof) error("unexpected end of template");
    if (drop_needle) next();
    return b;
  }

  StmtPtr parse_statement() {
    if (cur().type != Tok::Name) error("tag name expected");
    const std::string kw = cur().value;
    int line = cur().line;
    if (kw == "for") return parse_for();
    if (kw == "if") return parse_if();
    if (kw == "set") return parse_set();
    if (kw == "macro") return parse_macro();
    if (kw == "filter") return parse_filter_block();
    if (kw == "with") return parse_with();
    if (kw == "break" || kw == "continue") {
      next();
      auto s = node<LoopControlStmt>(line);
      s->is_break = kw == "break";
      return s;
    }
    if (kw == "generation") {
      next();
      auto s = node<BodyStmt>(line);
      s->body = parse_statements({"endgeneration"}, true);
      return s;
    }
    if (kw == "print") {
      next();
      auto p = node<PrintStmt>(line);
      p->expr = parse_tuple(false, true, {}, false);
      return p;
    }
    error("unsupported or unknown tag '" + kw + "'");
  }

  StmtPtr parse_for() {
    auto s = node<ForStmt>(cur().line);
    next();
    s->target = parse_assign_target(true, {"in"});
    if (!skip_name("in")) error("expected 'in'");
    s->iter = parse_tuple(false, false, {"recursive"}, false);
    Soft inner(soft_, false);
    if (skip_name("if")) s->filter = parse_expression(true);
    if (skip_name("recursive")) s->recursive = true;
    s->body = parse_statements({"endfor", "else"}, false);
    if (cur().value == "endfor") {
      next();
    } else {
      next();
      s->otherwise = parse_statements({"endfor"}, true);
    }
    return s;
  }

  StmtPtr parse_if() {
    auto s = node<IfStmt>(cur().line);
    next();
    Soft soft(soft_, true);
    while (true) {
      ExprPtr cond = parse_tuple(false, false, {}, false);
      Body body = parse_statements({"elif", "else", "endif"}, false);
      s->branches.emplace_back(std::move(cond), std::move(body));
      std::string tok = cur().value;
      next();
      if (tok == "elif") continue;
      if (tok == "else") s->otherwise = parse_statements({"endif"}, true);
      break;
    }
    return s;
  }

  StmtPtr parse_set() {
    auto s = node<SetStmt>(cur().line);
    next();
    s->target = parse_assign_target(true, {}, true);
    if (skip_op("=")) {
      s->value = parse_tuple(false, true, {}, false);
      return s;
    }
    Soft inner(soft_, false);
    if (is_op("|")) s->filter = parse_filter_chain(nullptr, true);
    s->body = parse_statements({"endset"}, true);
    return s;
  }

  StmtPtr parse_macro() {
    auto s = node<MacroStmt>(cur().line);
    next();
    s->name = expect_name();
    expect_op("(");
    while (!is_op(")")) {
      if (!s->params.empty()) expect_op(",");
      if (is_op(")")) break;
      s->params.push_back(expect_name());
      if (skip_op("=")) {
        s->defaults.push_back(parse_expression(true));
      } else if (!s->defaults.empty()) {
        error("non-default argument follows default argument");
      }
    }
    next();
    Soft inner(soft_, false);
    s->body = parse_statements({"endmacro"}, true);
    return s;
  }

  StmtPtr parse_filter_block() {
    auto s = node<FilterBlockStmt>(cur().line);
    next();
    Soft inner(soft_, false);
    s->filter = parse_filter_chain(nullptr, false);
    s->body = parse_statements({"endfilter"}, true);
    return s;
  }

  StmtPtr parse_with() {
    auto s = node<WithStmt>(cur().line);
    next();
    while (cur().type != Tok::BlockEnd) {
      if (!s->assigns.empty()) expect_op(",");
      Target t = parse_assign_target(false, {});
      expect_op("=");
      s->assigns.emplace_back(std::move(t), parse_expression(true));
    }
    Soft inner(soft_, false);
    s->body = parse_statements({"endwith"}, true);
    return s;
  }

  // name | name.attr (with_namespace) | name, name (with_tuple)
  Target parse_assign_target(bool with_tuple, const std::vector<std::string>& extra_end,
                             bool with_namespace = false) {
    Target t;
    if (with_namespace && cur().type == Tok::Name && look().type == Tok::Op &&
        look().value == ".") {
      t.name = cur().value;
      next();
      next();
      t.attr = expect_name();
      return t;
    }
    auto one = [&]() {
      Target x;
      if (skip_op("(")) {
        x = parse_assign_target(true, {});
        expect_op(")");
        return x;
      }
      x.name = expect_name();
      return x;
    };
    if (!with_tuple) return one();
    std::vector<Target> items;
    bool is_tuple = false;
    while (true) {
      if (!items.empty()) expect_op(",");
      if (cur().type == Tok::BlockEnd || is_op(")") || is_op("=")) break;
      bool end = false;
      for (auto& e : extra_end) end |= is_name(e.c_str());
      if (end) break;
      items.push_back(one());
      if (is_op(",")) {
        is_tuple = true;
      } else {
        break;
      }
    }
    if (items.empty()) error("expected an assignment target");
    if (!is_tuple) return std::move(items[0]);
    t.is_tuple = true;
    t.tuple = std::move(items);
    return t;
  }

  bool is_tuple_end(const std::vector<std::string>& extra) const {
    if (cur().type == Tok::VarEnd || cur().type == Tok::BlockEnd || is_op(")")) return true;
    for (auto& e : extra)
      if (is_name(e.c_str())) return true;
    return false;
  }

  ExprPtr parse_tuple(bool simplified, bool with_condexpr, const std::vector<std::string>& extra,
                      bool explicit_parens) {
    int line = cur().line;
    std::vector<ExprPtr> args;
    bool is_tuple = false;
    while (true) {
      if (!args.empty()) expect_op(",");
      if (is_tuple_end(extra)) break;
      args.push_back(simplified ? parse_primary() : parse_expression(with_condexpr));
      if (is_op(",")) {
        is_tuple = true;
      } else {
        break;
      }
      line = cur().line;
    }
    if (!is_tuple) {
      if (!args.empty()) return std::move(args[0]);
      if (!explicit_parens) error("expected an expression");
    }
    auto l = node<ListExpr>(line);
    l->tuple = true;
    l->items = std::move(args);
    return l;
  }

  ExprPtr parse_expression(bool with_condexpr) {
    return with_condexpr ? parse_condexpr() : parse_or();
  }

  ExprPtr parse_condexpr() {
    int line = cur().line;
    size_t first_name = names_.size();
    ExprPtr e = parse_or();
    while (skip_name("if")) {
      for (size_t i = first_name; i < names_.size(); ++i) names_[i].soft = true;
      Soft soft(soft_, true);
      auto c = node<CondExpr>(line);
      c->cond = parse_or();
      if (skip_name("else")) c->otherwise = parse_condexpr();
      c->then = std::move(e);
      e = std::move(c);
    }
    return e;
  }

  ExprPtr binary(const char* op, ExprPtr l, ExprPtr r, int line) {
    auto b = node<BinaryExpr>(line);
    b->op = op;
    b->left = std::move(l);
    b->right = std::move(r);
    return b;
  }

  ExprPtr parse_or() {
    int line = cur().line;
    ExprPtr l = parse_and();
    while (skip_name("or")) l = binary("or", std::move(l), parse_and(), line);
    return l;
  }
  ExprPtr parse_and() {
    int line = cur().line;
    ExprPtr l = parse_not();
    while (skip_name("and")) l = binary("and", std::move(l), parse_not(), line);
    return l;
  }
  ExprPtr parse_not() {
    if (is_name("not")) {
      auto u = node<UnaryExpr>(cur().line);
      next();
      u->op = "not";
      u->operand = parse_not();
      return u;
    }
    return parse_compare();
  }
  ExprPtr parse_compare() {
    int line = cur().line;
    ExprPtr e = parse_math1();
    std::vector<std::pair<std::string, ExprPtr>> ops;
    while (true) {
      if (cur().type == Tok::Op &&
          (is_op("==") || is_op("!=") || is_op("<") || is_op("<=") || is_op(">") || is_op(">="))) {
        std::string op = cur().value;
        next();
        ops.emplace_back(op, parse_math1());
      } else if (skip_name("in")) {
        ops.emplace_back("in", parse_math1());
      } else if (is_name("not") && look().type == Tok::Name && look().value == "in") {
        next();
        next();
        ops.emplace_back("notin", parse_math1());
      } else {
        break;
      }
    }
    if (ops.empty()) return e;
    auto c = node<CompareExpr>(line);
    c->first = std::move(e);
    c->rest = std::move(ops);
    return c;
  }
  ExprPtr parse_math1() {
    int line = cur().line;
    ExprPtr l = parse_concat();
    while (is_op("+") || is_op("-")) {
      std::string op = cur().value;
      next();
      l = binary(op == "+" ? "+" : "-", std::move(l), parse_concat(), line);
    }
    return l;
  }
  ExprPtr parse_concat() {
    int line = cur().line;
    ExprPtr l = parse_math2();
    while (skip_op("~")) l = binary("~", std::move(l), parse_math2(), line);
    return l;
  }
  ExprPtr parse_math2() {
    int line = cur().line;
    ExprPtr l = parse_pow();
    while (is_op("*") || is_op("/") || is_op("//") || is_op("%")) {
      std::string op = cur().value;
      next();
      static const char* kOpsTab[] = {"*", "/", "//", "%"};
      const char* o = kOpsTab[0];
      for (const char* k : kOpsTab)
        if (op == k) o = k;
      l = binary(o, std::move(l), parse_pow(), line);
    }
    return l;
  }
  ExprPtr parse_pow() {
    int line = cur().line;
    ExprPtr l = parse_unary(true);
    while (skip_op("**")) l = binary("**", std::move(l), parse_unary(true), line);
    return l;
  }
  ExprPtr parse_unary(bool with_filter) {
    int line = cur().line;
    ExprPtr n;
    if (is_op("-") || is_op("+")) {
      auto u = node<UnaryExpr>(line);
      u->op = cur().value;
      next();
      u->operand = parse_unary(false);
      n = std::move(u);
    } else {
      n = parse_primary();
    }
    n = parse_postfix(std::move(n));
    if (with_filter) n = parse_filter_expr(std::move(n));
    return n;
  }

  ExprPtr parse_primary() {
    const Token& tk = cur();
    int line = tk.line;
    if (tk.type == Tok::Name) {
      const std::string& v = tk.value;
      auto c = node<ConstExpr>(line);
      if (v == "true" || v == "True") {
        c->value = Value(true);
      } else if (v == "false" || v == "False") {
        c->value = Value(false);
      } else if (v == "none" || v == "None") {
        c->value = Value::none();
      } else {
        auto n = node<NameExpr>(line);
        n->name = v;
        next();
        return n;
      }
      next();
      return c;
    }
    if (tk.type == Tok::String) {
      std::string s;
      while (cur().type == Tok::String) {
        s += cur().value;
        next();
      }
      auto c = node<ConstExpr>(line);
      c->value = Value(std::move(s));
      return c;
    }
    if (tk.type == Tok::Integer || tk.type == Tok::Float) {
      auto c = node<ConstExpr>(line);
      errno = 0;
      if (tk.type == Tok::Float) {
        c->value = Value(std::strtod(tk.value.c_str(), nullptr));
      } else {
        int base = 10;
        std::string digits = tk.value;
        if (digits.size() > 2 && digits[0] == '0') {
          char b = digits[1] | 0x20;
          base = b == 'x' ? 16 : b == 'o' ? 8 : b == 'b' ? 2 : 10;
          if (base != 10) digits = digits.substr(2);
        }
        long long v = std::strtoll(digits.c_str(), nullptr, base);
        if (errno == ERANGE) error("integer literal too large");
        c->value = Value(static_cast<int64_t>(v));
      }
      next();
      return c;
    }
    if (skip_op("(")) {
      ExprPtr e = parse_tuple(false, true, {}, true);
      expect_op(")");
      return e;
    }
    if (is_op("[")) {
      next();
      auto l = node<ListExpr>(line);
      while (!is_op("]")) {
        if (!l->items.empty()) expect_op(",");
        if (is_op("]")) break;
        l->items.push_back(parse_expression(true));
      }
      next();
      return l;
    }
    if (is_op("{")) {
      next();
      auto d = node<DictExpr>(line);
      while (!is_op("}")) {
        if (!d->items.empty()) expect_op(",");
        if (is_op("}")) break;
        ExprPtr k = parse_expression(true);
        expect_op(":");
        d->items.emplace_back(std::move(k), parse_expression(true));
      }
      next();
      return d;
    }
    error("unexpected token in expression");
  }

  ExprPtr parse_postfix(ExprPtr n) {
    while (true) {
      if (is_op(".") || is_op("[")) {
        n = parse_subscript(std::move(n));
      } else if (is_op("(")) {
        n = parse_call(std::move(n));
      } else {
        return n;
      }
    }
  }

  ExprPtr parse_filter_expr(ExprPtr n) {
    while (true) {
      if (is_op("|")) {
        n = parse_filter_chain(std::move(n), false);
      } else if (is_name("is")) {
        n = parse_test(std::move(n));
      } else if (is_op("(")) {
        n = parse_call(std::move(n));
      } else {
        return n;
      }
    }
  }

  ExprPtr parse_subscript(ExprPtr n) {
    int line = cur().line;
    if (skip_op(".")) {
      if (cur().type == Tok::Name) {
        auto a = node<AttrExpr>(line);
        a->obj = std::move(n);
        a->name = cur().value;
        next();
        return a;
      }
      if (cur().type == Tok::Integer) {
        auto it = node<ItemExpr>(line);
        it->obj = std::move(n);
        auto c = node<ConstExpr>(line);
        c->value = Value(static_cast<int64_t>(std::strtoll(cur().value.c_str(), nullptr, 10)));
        it->key = std::move(c);
        next();
        return it;
      }
      error("expected name or number after '.'");
    }
    expect_op("[");
    std::vector<ExprPtr> args;
    while (!is_op("]")) {
      if (!args.empty()) {
        expect_op(",");
        if (is_op("]")) break;
      }
      args.push_back(parse_subscribed());
    }
    next();
    auto it = node<ItemExpr>(line);
    it->obj = std::move(n);
    if (args.size() == 1) {
      it->key = std::move(args[0]);
    } else {
      auto t = node<ListExpr>(line);
      t->tuple = true;
      t->items = std::move(args);
      it->key = std::move(t);
    }
    return it;
  }

  ExprPtr parse_subscribed() {
    int line = cur().line;
    ExprPtr first;
    if (is_op(":")) {
      next();
    } else {
      first = parse_expression(true);
      if (!is_op(":")) return first;
      next();
    }
    auto s = node<SliceExpr>(line);
    s->start = std::move(first);
    if (!is_op("]") && !is_op(",") && !is_op(":")) s->stop = parse_expression(true);
    if (skip_op(":")) {
      if (!is_op("]") && !is_op(",")) s->step = parse_expression(true);
    }
    return s;
  }

  Args parse_call_args() {
    expect_op("(");
    Args a;
    bool first = true;
    while (!is_op(")")) {
      if (!first) {
        expect_op(",");
        if (is_op(")")) break;
      }
      first = false;
      if (is_op("*") || is_op("**")) error("*args / **kwargs in calls are not supported");
      if (cur().type == Tok::Name && look().type == Tok::Op && look().value == "=") {
        std::string key = cur().value;
        next();
        next();
        a.kw.emplace_back(key, parse_expression(true));
      } else {
        if (!a.kw.empty()) error("positional argument after keyword argument");
        a.pos.push_back(parse_expression(true));
      }
    }
    next();
    return a;
  }

  ExprPtr parse_call(ExprPtr n) {
    auto c = node<CallExpr>(cur().line);
    c->fn = std::move(n);
    c->args = parse_call_args();
    return c;
  }

  // Parses "| name(args) | name ..." (start_inline: the first filter has no leading '|').
  std::unique_ptr<FilterExpr> parse_filter_chain(ExprPtr n, bool leading_pipe_required) {
    std::unique_ptr<FilterExpr> f;
    bool first = true;
    while (is_op("|") || (first && !leading_pipe_required && cur().type == Tok::Name)) {
      if (is_op("|")) next();
      first = false;
      auto x = node<FilterExpr>(cur().line);
      std::string name = expect_name();
      while (is_op(".")) {
        next();
        name += "." + expect_name();
      }
      x->name = name;
      names_.push_back({name, x->line, true, soft_});
      if (is_op("(")) x->args = parse_call_args();
      x->value = f ? ExprPtr(std::move(f)) : std::move(n);
      f = std::move(x);
    }
    return f;
  }

  ExprPtr parse_test(ExprPtr n) {
    auto t = node<TestExpr>(cur().line);
    next();  // 'is'
    if (skip_name("not")) t->negated = true;
    t->name = expect_name();
    while (is_op(".")) {
      next();
      t->name += "." + expect_name();
    }
    t->value = std::move(n);
    names_.push_back({t->name, t->line, false, soft_});
    if (is_op("(")) {
      t->args = parse_call_args();
    } else if ((cur().type == Tok::Name || cur().type == Tok::String ||
                cur().type == Tok::Integer || cur().type == Tok::Float || is_op("(") ||
                is_op("[") || is_op("{")) &&
               !is_name("else") && !is_name("or") && !is_name("and")) {
      if (is_name("is")) error("You cannot chain multiple tests with is");
      ExprPtr arg = parse_postfix(parse_primary());
      t->args.pos.push_back(std::move(arg));
    }
    return t;
  }

  const std::vector<Token>& t_;
  size_t pos_ = 0;
  struct NameUse {
    std::string name;
    int line;
    bool is_filter;
    bool soft;
  };
  std::vector<NameUse> names_;  // every filter/test name used, for the compile-time check
  bool soft_ = false;           // inside an if statement / conditional expression
  // Sets soft_ for the lifetime of the guard.
  struct Soft {
    bool& flag;
    bool saved;
    Soft(bool& f, bool v) : flag(f), saved(f) { flag = v; }
    ~Soft() { flag = saved; }
  };
};

}  // namespace

Body parse(const std::vector<Token>& tokens) {
  return Parser(tokens).parse_template();
}

}  // namespace dsv3::jinja
