// Jinja value model: the Python-like dynamic values a chat template computes with (undefined,
// none, bool, int, float, str, list, tuple, dict, namespace, callable), with Python's semantics
// for truthiness, equality, ordering, str()/repr() and json.dumps() formatting.
#pragma once
#include <cstdint>
#include <functional>
#include <memory>
#include <string>
#include <string_view>
#include <utility>
#include <vector>

#include <nlohmann/json.hpp>

namespace dsv3::jinja {

class Value;
class Interpreter;

// Arguments of a call: positional values then keyword values, in source order.
struct CallArgs {
  std::vector<Value> pos;
  std::vector<std::pair<std::string, Value>> kw;
};

using List = std::vector<Value>;
// Insertion-ordered dict (Python 3.7+ order). Keys are scalar Values compared with Python ==.
struct Dict {
  std::vector<std::pair<Value, Value>> items;
  const Value* find(const Value& key) const;
  Value* find(const Value& key);
  const Value* find(std::string_view key) const;
  void set(const Value& key, Value v);  // replaces in place or appends
};
using Function = std::function<Value(Interpreter&, CallArgs&)>;

// A value with Python reference semantics for containers (lists, dicts, namespaces are shared
// by copies, as Python objects are). Strings are UTF-8; indexing/length use code points.
class Value {
 public:
  enum class Kind : uint8_t {
    Undefined,
    None,
    Bool,
    Int,
    Float,
    String,
    List,
    Tuple,
    Dict,
    Namespace,
    Function
  };

  Value() = default;  // Undefined
  static Value undefined(std::string hint = {});
  static Value none();
  Value(bool b);
  Value(int v) : Value(static_cast<int64_t>(v)) {}
  Value(int64_t v);
  Value(double v);
  Value(std::string s);
  Value(const char* s) : Value(std::string(s)) {}
  static Value list(List items = {});
  static Value tuple(List items);
  static Value new_dict(Dict d = {});
  static Value name_space(Dict d = {});
  static Value function(std::string name, Function f);
  // From JSON; use ordered_json to keep object key order (Python dicts keep insertion order,
  // and tojson / items() output depends on it). nlohmann::json sorts keys alphabetically.
  static Value from_json(const nlohmann::ordered_json& j);
  static Value from_json(const nlohmann::json& j);

  Kind kind() const { return kind_; }
  bool is_undefined() const { return kind_ == Kind::Undefined; }
  bool is_none() const { return kind_ == Kind::None; }
  bool is_bool() const { return kind_ == Kind::Bool; }
  bool is_int() const { return kind_ == Kind::Int || kind_ == Kind::Bool; }  // bool is an int
  bool is_float() const { return kind_ == Kind::Float; }
  bool is_number() const { return is_int() || is_float(); }
  bool is_string() const { return kind_ == Kind::String; }
  bool is_list() const { return kind_ == Kind::List; }
  bool is_sequence() const { return kind_ == Kind::List || kind_ == Kind::Tuple; }
  bool is_dict() const { return kind_ == Kind::Dict; }
  bool is_namespace() const { return kind_ == Kind::Namespace; }
  bool is_function() const { return kind_ == Kind::Function; }

  bool as_bool() const { return b_; }
  int64_t as_int() const { return kind_ == Kind::Bool ? (b_ ? 1 : 0) : i_; }
  double as_double() const { return kind_ == Kind::Float ? f_ : static_cast<double>(as_int()); }
  const std::string& str() const { return s_; }  // String payload; Undefined: its hint
  List& items() const { return *list_; }         // List/Tuple payload
  Dict& dict() const { return *dict_; }          // Dict/Namespace payload
  const Function& fn() const { return *fn_; }
  const std::string& fn_name() const { return s_; }
  const void* identity() const;  // for `is sameas` and function equality

  bool truthy() const;            // Python bool()
  std::string to_str() const;     // Python str(); Undefined -> ""
  std::string repr() const;       // Python repr()
  std::string type_name() const;  // Python type name ("str", "dict", ...)
  // Python json.dumps(x, ensure_ascii=False, indent, separators, sort_keys), as transformers'
  // tojson filter calls it. indent == nullptr means None (one line); otherwise each nesting level
  // is indented by that string. Throws for undefined/callables.
  std::string to_json(const std::string* indent = nullptr, const std::string* item_sep = nullptr,
                      const std::string* key_sep = nullptr, bool sort_keys = false) const;

 private:
  Kind kind_ = Kind::Undefined;
  bool b_ = false;
  int64_t i_ = 0;
  double f_ = 0;
  std::string s_;
  std::shared_ptr<List> list_;
  std::shared_ptr<Dict> dict_;
  std::shared_ptr<Function> fn_;
};

bool py_equal(const Value& a, const Value& b);   // Python ==
int py_compare(const Value& a, const Value& b);  // Python <,>: -1/0/1; throws on mixed types
std::string py_float_repr(double v);             // Python repr(float)
std::string py_str_repr(std::string_view s);     // Python repr(str)

}  // namespace dsv3::jinja
