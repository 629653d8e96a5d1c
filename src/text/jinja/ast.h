// Jinja syntax tree: expression nodes evaluate to a Value, statement nodes append to the output.
// Every node keeps its template line so runtime errors can name it.
#pragma once
#include <memory>
#include <string>
#include <utility>
#include <vector>

#include "text/jinja/value.h"

namespace dsv3::jinja {

class Interpreter;

struct Expr {
  int line = 0;
  virtual ~Expr() = default;
  virtual Value eval(Interpreter& in) const = 0;
};
using ExprPtr = std::unique_ptr<Expr>;

struct Stmt {
  int line = 0;
  virtual ~Stmt() = default;
  virtual void exec(Interpreter& in, std::string& out) const = 0;
};
using StmtPtr = std::unique_ptr<Stmt>;
using Body = std::vector<StmtPtr>;

// ---- expressions ----
struct ConstExpr : Expr {
  Value value;
  Value eval(Interpreter& in) const override;
};
struct NameExpr : Expr {
  std::string name;
  Value eval(Interpreter& in) const override;
};
struct ListExpr : Expr {
  std::vector<ExprPtr> items;
  bool tuple = false;
  Value eval(Interpreter& in) const override;
};
struct DictExpr : Expr {
  std::vector<std::pair<ExprPtr, ExprPtr>> items;
  Value eval(Interpreter& in) const override;
};
struct AttrExpr : Expr {  // obj.name
  ExprPtr obj;
  std::string name;
  Value eval(Interpreter& in) const override;
};
struct SliceExpr : Expr {  // only as ItemExpr key: [start:stop:step]
  ExprPtr start, stop, step;
  Value eval(Interpreter& in) const override;
};
struct ItemExpr : Expr {  // obj[key]
  ExprPtr obj, key;
  Value eval(Interpreter& in) const override;
};
struct Args {
  std::vector<ExprPtr> pos;
  std::vector<std::pair<std::string, ExprPtr>> kw;
  CallArgs eval(Interpreter& in) const;
};
struct CallExpr : Expr {
  ExprPtr fn;
  Args args;
  Value eval(Interpreter& in) const override;
};
struct FilterExpr : Expr {  // value | name(args); value null inside {% filter %} blocks
  ExprPtr value;
  std::string name;
  Args args;
  Value eval(Interpreter& in) const override;
  Value apply(Interpreter& in, Value v) const;
};
struct TestExpr : Expr {  // value is [not] name(args)
  ExprPtr value;
  std::string name;
  Args args;
  bool negated = false;
  Value eval(Interpreter& in) const override;
};
struct UnaryExpr : Expr {  // "not", "-", "+"
  std::string op;
  ExprPtr operand;
  Value eval(Interpreter& in) const override;
};
struct BinaryExpr : Expr {  // + - * / // % ** ~ and or
  std::string op;
  ExprPtr left, right;
  Value eval(Interpreter& in) const override;
};
struct CompareExpr : Expr {  // a op b op c ... (== != < <= > >= in notin)
  ExprPtr first;
  std::vector<std::pair<std::string, ExprPtr>> rest;
  Value eval(Interpreter& in) const override;
};
struct CondExpr : Expr {  // a if cond else b (b may be null -> undefined)
  ExprPtr cond, then, otherwise;
  Value eval(Interpreter& in) const override;
};

// Assignment target of set/for/with: a name, ns.attr, or a tuple of targets.
struct Target {
  std::string name;
  std::string attr;  // non-empty: namespace attribute assignment name.attr
  std::vector<Target> tuple;
  bool is_tuple = false;
};

// ---- statements ----
struct DataStmt : Stmt {
  std::string text;
  void exec(Interpreter& in, std::string& out) const override;
};
struct PrintStmt : Stmt {
  ExprPtr expr;
  void exec(Interpreter& in, std::string& out) const override;
};
struct IfStmt : Stmt {
  std::vector<std::pair<ExprPtr, Body>> branches;
  Body otherwise;
  void exec(Interpreter& in, std::string& out) const override;
};
struct ForStmt : Stmt {
  Target target;
  ExprPtr iter, filter;
  Body body, otherwise;
  bool recursive = false;
  void exec(Interpreter& in, std::string& out) const override;
  void run(Interpreter& in, std::string& out, const Value& iterable, int depth) const;
};
struct SetStmt : Stmt {
  Target target;
  ExprPtr value;                       // {% set t = value %}
  Body body;                           // {% set t %}body{% endset %}
  std::unique_ptr<FilterExpr> filter;  // optional chain for block set: {% set t | f %}
  void exec(Interpreter& in, std::string& out) const override;
};
struct MacroStmt : Stmt {
  std::string name;
  std::vector<std::string> params;
  std::vector<ExprPtr> defaults;  // aligned with the last defaults.size() params
  Body body;
  void exec(Interpreter& in, std::string& out) const override;
};
struct LoopControlStmt : Stmt {
  bool is_break = true;
  void exec(Interpreter& in, std::string& out) const override;
};
struct FilterBlockStmt : Stmt {
  std::unique_ptr<FilterExpr> filter;  // chain: innermost value is null
  Body body;
  void exec(Interpreter& in, std::string& out) const override;
};
struct WithStmt : Stmt {
  std::vector<std::pair<Target, ExprPtr>> assigns;
  Body body;
  void exec(Interpreter& in, std::string& out) const override;
};
struct BodyStmt : Stmt {  // {% generation %}...{% endgeneration %}: renders its body unchanged
  Body body;
  void exec(Interpreter& in, std::string& out) const override;
};

}  // namespace dsv3::jinja
