// Jinja builtins: globals (range, namespace, dict, raise_exception, strftime_now), Python str/
// list/dict methods, jinja2's filters and tests, %-formatting and slicing — each with the
// semantics of its Python/jinja2 3.1 original (see the function comments for deviations).
#include <algorithm>
#include <cmath>
#include <cstdio>
#include <ctime>
#include <map>
#include <optional>

#include "core/error.h"
#include "text/jinja/interpreter.h"
#include "text/jinja/pystr.h"

namespace dsv3::jinja {

List iterate_value(const Value& v);  // interpreter.cpp

namespace {

// Argument i (or keyword `name`) of a call, else `def`.
Value arg(const CallArgs& a, size_t i, const char* name, Value def = Value()) {
  if (i < a.pos.size()) return a.pos[i];
  for (auto& kv : a.kw)
    if (kv.first == name) return kv.second;
  return def;
}
bool has_arg(const CallArgs& a, size_t i, const char* name) {
  if (i < a.pos.size()) return true;
  for (auto& kv : a.kw)
    if (kv.first == name) return true;
  return false;
}
std::string need_str(const Value& v, const char* what) {
  if (!v.is_string()) fail("TypeError: ", what, " must be str, not ", v.type_name());
  return v.str();
}
int64_t need_int(const Value& v, const char* what) {
  if (!v.is_int()) fail("TypeError: ", what, " must be an integer, not ", v.type_name());
  return v.as_int();
}
std::optional<std::string> opt_str(const Value& v, const char* what) {
  if (v.is_undefined() || v.is_none()) return std::nullopt;
  return need_str(v, what);
}
Value str_list(const std::vector<std::string>& v) {
  List l;
  for (auto& s : v) l.push_back(Value(s));
  return Value::list(std::move(l));
}
size_t length_of(const Value& v) {
  switch (v.kind()) {
    case Value::Kind::Undefined:
      return 0;
    case Value::Kind::String:
      return pystr::length(v.str());
    case Value::Kind::List:
    case Value::Kind::Tuple:
      return v.items().size();
    case Value::Kind::Dict:
      return v.dict().items.size();
    default:
      fail("TypeError: object of type '", v.type_name(), "' has no len()");
  }
}

// ---------------- globals ----------------

Value make_dict_from(const CallArgs& a, bool ns) {
  Dict d;
  if (a.pos.size() > 1) fail("TypeError: dict expected at most 1 argument");
  if (!a.pos.empty()) {
    const Value& src = a.pos[0];
    if (src.is_dict() || src.is_namespace()) {
      d = src.dict();
    } else {
      for (auto& item : iterate_value(src)) {
        if (!item.is_sequence() || item.items().size() != 2)
          fail("TypeError: dict() sequence elements must have length 2");
        d.set(item.items()[0], item.items()[1]);
      }
    }
  }
  for (auto& [k, v] : a.kw) d.set(Value(k), v);
  if (ns) {
    for (auto& kv : d.items)
      if (kv.first.is_string() && !kv.first.str().empty() && kv.first.str()[0] == '_')
        fail(
            "SecurityError: Chat templates cannot store underscore-prefixed attributes on a "
            "namespace, but got ",
            kv.first.repr());
    return Value::name_space(std::move(d));
  }
  return Value::new_dict(std::move(d));
}

}  // namespace

void install_globals(Interpreter& in) {
  in.globals["range"] = Value::function("range", [](Interpreter&, CallArgs& a) {
    int64_t start = 0, stop, step = 1;
    if (a.pos.size() == 1) {
      stop = need_int(a.pos[0], "range() argument");
    } else if (a.pos.size() == 2 || a.pos.size() == 3) {
      start = need_int(a.pos[0], "range() argument");
      stop = need_int(a.pos[1], "range() argument");
      if (a.pos.size() == 3) step = need_int(a.pos[2], "range() argument");
    } else {
      fail("TypeError: range expected 1 to 3 arguments");
    }
    if (step == 0) fail("ValueError: range() arg 3 must not be zero");
    List l;
    for (int64_t i = start; step > 0 ? i < stop : i > stop; i += step) {
      if (l.size() >= 100000)
        fail(
            "OverflowError: Range too big. The sandbox blocks ranges larger than MAX_RANGE "
            "(100000).");
      l.push_back(Value(i));
    }
    return Value::list(std::move(l));
  });
  in.globals["namespace"] = Value::function("namespace", [](Interpreter& in, CallArgs& a) {
    Value ns = make_dict_from(a, true);
    in.namespaces.push_back(ns);
    return ns;
  });
  in.globals["dict"] =
      Value::function("dict", [](Interpreter&, CallArgs& a) { return make_dict_from(a, false); });
  in.globals["raise_exception"] =
      Value::function("raise_exception", [](Interpreter&, CallArgs& a) -> Value {
        fail("raise_exception: ", arg(a, 0, "message").to_str());
      });
  in.globals["strftime_now"] = Value::function("strftime_now", [](Interpreter&, CallArgs& a) {
    std::string fmt = need_str(arg(a, 0, "format"), "strftime format");
    std::time_t t = std::time(nullptr);
    std::tm tm{};
    localtime_r(&t, &tm);
    char buf[512];
    size_t n = std::strftime(buf, sizeof(buf), fmt.c_str(), &tm);
    return Value(std::string(buf, n));
  });
}

// ---------------- %-formatting ----------------

std::string percent_format(const std::string& fmt, const Value& args) {
  List pos;
  const Dict* mapping = nullptr;
  if (args.kind() == Value::Kind::Tuple) {
    pos = args.items();
  } else if (args.is_dict()) {
    mapping = &args.dict();
    pos.push_back(args);
  } else {
    pos.push_back(args);
  }
  size_t next = 0;
  std::string out;
  for (size_t i = 0; i < fmt.size(); ++i) {
    if (fmt[i] != '%') {
      out.push_back(fmt[i]);
      continue;
    }
    if (++i >= fmt.size()) fail("ValueError: incomplete format");
    const Value* val = nullptr;
    Value keyed;
    if (fmt[i] == '(') {
      size_t e = fmt.find(')', i);
      if (e == std::string::npos || !mapping) fail("TypeError: format requires a mapping");
      const Value* v = mapping->find(std::string_view(fmt).substr(i + 1, e - i - 1));
      if (!v) fail("KeyError: ", fmt.substr(i + 1, e - i - 1));
      keyed = *v;
      val = &keyed;
      i = e + 1;
    }
    std::string flags;
    while (i < fmt.size() && std::string("-+ #0").find(fmt[i]) != std::string::npos)
      flags.push_back(fmt[i++]);
    std::string width, prec;
    while (i < fmt.size() && isdigit(static_cast<unsigned char>(fmt[i]))) width.push_back(fmt[i++]);
    if (i < fmt.size() && fmt[i] == '.') {
      ++i;
      prec = "";
      while (i < fmt.size() && isdigit(static_cast<unsigned char>(fmt[i])))
        prec.push_back(fmt[i++]);
      if (prec.empty()) prec = "0";
    }
    if (i >= fmt.size()) fail("ValueError: incomplete format");
    char conv = fmt[i];
    if (conv == '%') {
      out.push_back('%');
      continue;
    }
    if (!val) {
      if (next >= pos.size()) fail("TypeError: not enough arguments for format string");
      val = &pos[next++];
    }
    std::string body;
    std::string spec = "%" + flags + width + (prec.empty() && fmt[i - 1] != '.' ? "" : "." + prec);
    char buf[512];
    switch (conv) {
      case 's':
      case 'r':
      case 'a': {
        body = conv == 's' ? val->to_str() : val->repr();
        if (!prec.empty()) {
          std::u32string u = pystr::decode(body);
          size_t p = std::stoul(prec);
          if (u.size() > p) body = pystr::encode(std::u32string_view(u).substr(0, p));
        }
        size_t w = width.empty() ? 0 : std::stoul(width);
        size_t len = pystr::length(body);
        if (len < w) {
          std::string pad(w - len, ' ');
          body = flags.find('-') != std::string::npos ? body + pad : pad + body;
        }
        break;
      }
      case 'd':
      case 'i':
      case 'u': {
        if (!val->is_number())
          fail("TypeError: %d format: a real number is required, not ", val->type_name());
        long long n =
            val->is_float() ? static_cast<long long>(std::trunc(val->as_double())) : val->as_int();
        snprintf(buf, sizeof(buf), (spec + "lld").c_str(), n);
        body = buf;
        break;
      }
      case 'x':
      case 'X':
      case 'o': {
        if (!val->is_int()) fail("TypeError: %", conv, " format: an integer is required");
        snprintf(buf, sizeof(buf), (spec + "ll" + conv).c_str(),
                 static_cast<long long>(val->as_int()));
        body = buf;
        break;
      }
      case 'f':
      case 'F':
      case 'e':
      case 'E':
      case 'g':
      case 'G': {
        if (!val->is_number()) fail("TypeError: must be real number, not ", val->type_name());
        snprintf(buf, sizeof(buf), (spec + conv).c_str(), val->as_double());
        body = buf;
        break;
      }
      default:
        fail("ValueError: unsupported format character '", conv, "'");
    }
    out += body;
  }
  if (!mapping && next < pos.size())
    fail("TypeError: not all arguments converted during string formatting");
  return out;
}

// ---------------- slicing ----------------

Value slice(const Value& obj, const Value& start, const Value& stop, const Value& step) {
  auto idx = [](const Value& v, const char* what) -> std::optional<int64_t> {
    if (v.is_none() || v.is_undefined()) return std::nullopt;
    if (!v.is_int()) fail("TypeError: slice indices must be integers or None");
    (void)what;
    return v.as_int();
  };
  std::optional<int64_t> a = idx(start, "start"), b = idx(stop, "stop"), c = idx(step, "step");
  int64_t st = c.value_or(1);
  if (st == 0) fail("ValueError: slice step cannot be zero");
  std::u32string u;
  int64_t n;
  if (obj.is_string()) {
    u = pystr::decode(obj.str());
    n = static_cast<int64_t>(u.size());
  } else if (obj.is_sequence()) {
    n = static_cast<int64_t>(obj.items().size());
  } else {
    fail("TypeError: '", obj.type_name(), "' object is not subscriptable");
  }
  auto norm = [&](std::optional<int64_t> v, int64_t def_pos, int64_t def_neg) {
    if (!v) return st > 0 ? def_pos : def_neg;
    int64_t x = *v;
    if (x < 0) x += n;
    if (st > 0) return std::clamp<int64_t>(x, 0, n);
    return std::clamp<int64_t>(x, -1, n - 1);
  };
  int64_t lo = norm(a, 0, n - 1), hi = norm(b, n, -1);
  std::vector<int64_t> ids;
  if (st > 0) {
    for (int64_t i = lo; i < hi; i += st) ids.push_back(i);
  } else {
    for (int64_t i = lo; i > hi; i += st) ids.push_back(i);
  }
  if (obj.is_string()) {
    std::u32string r;
    for (int64_t i : ids) r.push_back(u[i]);
    return Value(pystr::encode(r));
  }
  List l;
  for (int64_t i : ids) l.push_back(obj.items()[i]);
  return obj.is_list() ? Value::list(std::move(l)) : Value::tuple(std::move(l));
}

// ---------------- methods ----------------

namespace {

bool starts_or_ends(const Value& self, const CallArgs& a, bool ends) {
  Value p = arg(a, 0, "prefix");
  std::u32string s = pystr::decode(self.str());
  int64_t n = static_cast<int64_t>(s.size());
  int64_t b = 0, e = n;
  if (has_arg(a, 1, "start") && !arg(a, 1, "start").is_none()) {
    b = need_int(arg(a, 1, "start"), "start");
    if (b < 0) b = std::max<int64_t>(0, b + n);
  }
  if (has_arg(a, 2, "end") && !arg(a, 2, "end").is_none()) {
    e = need_int(arg(a, 2, "end"), "end");
    if (e < 0) e = std::max<int64_t>(0, e + n);
  }
  e = std::min(e, n);
  if (b > n) return false;
  std::string sub = b <= e ? pystr::encode(std::u32string_view(s).substr(b, e - b)) : "";
  if (b > e) return false;
  auto test = [&](const std::string& x) {
    if (x.size() > sub.size()) return false;
    return ends ? sub.compare(sub.size() - x.size(), x.size(), x) == 0
                : sub.compare(0, x.size(), x) == 0;
  };
  if (p.kind() == Value::Kind::Tuple) {
    for (auto& x : p.items())
      if (test(need_str(x, "startswith/endswith tuple item"))) return true;
    return false;
  }
  return test(need_str(p, ends ? "endswith arg" : "startswith arg"));
}

std::string str_format(const std::string& fmt, const CallArgs& a) {
  std::string out;
  size_t auto_idx = 0;
  for (size_t i = 0; i < fmt.size(); ++i) {
    char c = fmt[i];
    if (c == '{') {
      if (i + 1 < fmt.size() && fmt[i + 1] == '{') {
        out.push_back('{');
        ++i;
        continue;
      }
      size_t e = fmt.find('}', i);
      if (e == std::string::npos) fail("ValueError: Single '{' encountered in format string");
      std::string field = fmt.substr(i + 1, e - i - 1);
      std::string conv;
      size_t bang = field.find('!');
      if (field.find(':') != std::string::npos) fail("str.format: format specs are not supported");
      if (bang != std::string::npos) {
        conv = field.substr(bang + 1);
        field = field.substr(0, bang);
      }
      Value v;
      if (field.empty()) {
        if (auto_idx >= a.pos.size()) fail("IndexError: Replacement index out of range");
        v = a.pos[auto_idx++];
      } else if (std::all_of(field.begin(), field.end(), ::isdigit)) {
        size_t k = std::stoul(field);
        if (k >= a.pos.size()) fail("IndexError: Replacement index out of range");
        v = a.pos[k];
      } else {
        bool found = false;
        for (auto& kv : a.kw)
          if (kv.first == field) {
            v = kv.second;
            found = true;
          }
        if (!found) fail("KeyError: '", field, "'");
      }
      out += conv == "r" ? v.repr() : v.to_str();
      i = e;
    } else if (c == '}') {
      if (i + 1 < fmt.size() && fmt[i + 1] == '}')
        ++i;
      else
        fail("ValueError: Single '}' encountered in format string");
      out.push_back('}');
    } else {
      out.push_back(c);
    }
  }
  return out;
}

Value string_method(const Value& self, const std::string& name, CallArgs& a) {
  const std::string& s = self.str();
  if (name == "strip" || name == "lstrip" || name == "rstrip")
    return Value(pystr::strip(s, opt_str(arg(a, 0, "chars"), "strip arg"), name != "rstrip",
                              name != "lstrip"));
  if (name == "split" || name == "rsplit") {
    Value mx = arg(a, 1, "maxsplit", Value(int64_t(-1)));
    return str_list(pystr::split(s, opt_str(arg(a, 0, "sep"), "sep"), need_int(mx, "maxsplit"),
                                 name == "rsplit"));
  }
  if (name == "splitlines")
    return str_list(pystr::splitlines(s, arg(a, 0, "keepends", Value(false)).truthy()));
  if (name == "startswith") return Value(starts_or_ends(self, a, false));
  if (name == "endswith") return Value(starts_or_ends(self, a, true));
  if (name == "replace")
    return Value(pystr::replace(s, need_str(arg(a, 0, "old"), "replace arg"),
                                need_str(arg(a, 1, "new"), "replace arg"),
                                need_int(arg(a, 2, "count", Value(int64_t(-1))), "count")));
  if (name == "upper") return Value(pystr::upper(s));
  if (name == "lower" || name == "casefold") return Value(pystr::lower(s));
  if (name == "title") return Value(pystr::title(s));
  if (name == "capitalize") return Value(pystr::capitalize(s));
  if (name == "find" || name == "rfind" || name == "index" || name == "rindex") {
    int64_t r = pystr::find(s, need_str(arg(a, 0, "sub"), "find arg"), name[0] == 'r');
    if (r < 0 && (name == "index" || name == "rindex")) fail("ValueError: substring not found");
    return Value(r);
  }
  if (name == "count") return Value(pystr::count(s, need_str(arg(a, 0, "sub"), "count arg")));
  if (name == "join") {
    std::string out;
    bool first = true;
    for (auto& v : iterate_value(arg(a, 0, "iterable"))) {
      if (!first) out += s;
      first = false;
      out += need_str(v, "sequence item");
    }
    return Value(out);
  }
  if (name == "isdigit" || name == "isnumeric" || name == "isdecimal" || name == "isalpha" ||
      name == "isalnum" || name == "isspace") {
    std::u32string u = pystr::decode(s);
    if (u.empty()) return Value(false);
    for (char32_t c : u) {
      bool ok = name == "isspace"   ? pystr::is_space(c)
                : name == "isalpha" ? pystr::is_alpha(c)
                : name == "isalnum" ? (pystr::is_alpha(c) || pystr::is_digit(c))
                                    : pystr::is_digit(c);
      if (!ok) return Value(false);
    }
    return Value(true);
  }
  if (name == "isupper" || name == "islower") {
    bool cased = false;
    for (char32_t c : pystr::decode(s)) {
      bool up = pystr::to_lower(c) != c, lo = pystr::to_upper(c) != c;
      if ((name == "isupper" && lo) || (name == "islower" && up)) return Value(false);
      cased |= up || lo;
    }
    return Value(cased);
  }
  if (name == "removeprefix" || name == "removesuffix") {
    std::string x = need_str(arg(a, 0, "prefix"), "removeprefix arg");
    if (name == "removeprefix" && s.compare(0, x.size(), x) == 0) return Value(s.substr(x.size()));
    if (name == "removesuffix" && !x.empty() && s.size() >= x.size() &&
        s.compare(s.size() - x.size(), x.size(), x) == 0)
      return Value(s.substr(0, s.size() - x.size()));
    return Value(s);
  }
  if (name == "partition" || name == "rpartition") {
    std::string sep = need_str(arg(a, 0, "sep"), "sep");
    if (sep.empty()) fail("ValueError: empty separator");
    size_t q = name == "partition" ? s.find(sep) : s.rfind(sep);
    if (q == std::string::npos)
      return name == "partition" ? Value::tuple({Value(s), Value(""), Value("")})
                                 : Value::tuple({Value(""), Value(""), Value(s)});
    return Value::tuple({Value(s.substr(0, q)), Value(sep), Value(s.substr(q + sep.size()))});
  }
  if (name == "zfill" || name == "center" || name == "ljust" || name == "rjust") {
    int64_t w = need_int(arg(a, 0, "width"), "width");
    std::string fill = name == "zfill" ? "0" : arg(a, 1, "fillchar", Value(" ")).to_str();
    int64_t len = static_cast<int64_t>(pystr::length(s));
    if (w <= len) return Value(s);
    int64_t pad = w - len;
    auto rep = [&](int64_t k) {
      std::string o;
      for (int64_t i = 0; i < k; ++i) o += fill;
      return o;
    };
    if (name == "ljust") return Value(s + rep(pad));
    if (name == "rjust") return Value(rep(pad) + s);
    if (name == "zfill") {
      if (!s.empty() && (s[0] == '-' || s[0] == '+'))
        return Value(s.substr(0, 1) + rep(pad) + s.substr(1));
      return Value(rep(pad) + s);
    }
    int64_t left = pad / 2 + (pad & w & 1);
    return Value(rep(left) + s + rep(pad - left));
  }
  if (name == "format") return Value(str_format(s, a));
  fail("AttributeError: 'str' object has no attribute '", name, "'");
}

const char* const kStrMethods[] = {
    "strip",      "lstrip",     "rstrip",  "split",     "rsplit",       "splitlines",
    "startswith", "endswith",   "replace", "upper",     "lower",        "casefold",
    "title",      "capitalize", "find",    "rfind",     "index",        "rindex",
    "count",      "join",       "isdigit", "isnumeric", "isdecimal",    "isalpha",
    "isalnum",    "isspace",    "isupper", "islower",   "removeprefix", "removesuffix",
    "partition",  "rpartition", "zfill",   "center",    "ljust",        "rjust",
    "format"};

}  // namespace

Value bound_method(const Value& obj, const std::string& name) {
  if (obj.is_string()) {
    for (const char* m : kStrMethods)
      if (name == m)
        return Value::function("str." + name, [obj, name](Interpreter&, CallArgs& a) {
          return string_method(obj, name, a);
        });
    return Value::undefined();
  }
  if (obj.is_dict()) {
    if (name == "items" || name == "keys" || name == "values")
      return Value::function("dict." + name, [obj, name](Interpreter&, CallArgs&) {
        List l;
        for (auto& kv : obj.dict().items) {
          if (name == "items")
            l.push_back(Value::tuple({kv.first, kv.second}));
          else
            l.push_back(name == "keys" ? kv.first : kv.second);
        }
        return Value::list(std::move(l));
      });
    if (name == "get")
      return Value::function("dict.get", [obj](Interpreter&, CallArgs& a) {
        const Value* v = obj.dict().find(arg(a, 0, "key"));
        return v ? *v : arg(a, 1, "default", Value::none());
      });
    return Value::undefined();
  }
  if (obj.is_sequence()) {
    if (name == "index" || name == "count")
      return Value::function(obj.type_name() + "." + name, [obj, name](Interpreter&, CallArgs& a) {
        Value x = arg(a, 0, "value");
        int64_t n = 0;
        for (size_t i = 0; i < obj.items().size(); ++i) {
          if (py_equal(obj.items()[i], x)) {
            if (name == "index") return Value(static_cast<int64_t>(i));
            ++n;
          }
        }
        if (name == "index") fail("ValueError: value is not in list");
        return Value(n);
      });
  }
  return Value::undefined();
}

// ---------------- tests ----------------

namespace {
using TestFn = bool (*)(Interpreter&, const Value&, CallArgs&);

bool same_as(const Value& a, const Value& b) {
  if (a.kind() != b.kind()) return false;
  if (a.identity() || b.identity()) return a.identity() == b.identity();
  return py_equal(a, b);
}

const std::map<std::string, TestFn>& tests() {
  static const std::map<std::string, TestFn> t = [] {
    std::map<std::string, TestFn> m;
    m["defined"] = [](Interpreter&, const Value& v, CallArgs&) { return !v.is_undefined(); };
    m["undefined"] = [](Interpreter&, const Value& v, CallArgs&) { return v.is_undefined(); };
    m["none"] = [](Interpreter&, const Value& v, CallArgs&) { return v.is_none(); };
    m["boolean"] = [](Interpreter&, const Value& v, CallArgs&) { return v.is_bool(); };
    m["true"] = [](Interpreter&, const Value& v, CallArgs&) { return v.is_bool() && v.as_bool(); };
    m["false"] = [](Interpreter&, const Value& v, CallArgs&) {
      return v.is_bool() && !v.as_bool();
    };
    m["integer"] = [](Interpreter&, const Value& v, CallArgs&) {
      return v.kind() == Value::Kind::Int;
    };
    m["float"] = [](Interpreter&, const Value& v, CallArgs&) { return v.is_float(); };
    m["number"] = [](Interpreter&, const Value& v, CallArgs&) { return v.is_number(); };
    m["string"] = [](Interpreter&, const Value& v, CallArgs&) { return v.is_string(); };
    m["mapping"] = [](Interpreter&, const Value& v, CallArgs&) { return v.is_dict(); };
    m["iterable"] = [](Interpreter&, const Value& v, CallArgs&) {
      return v.is_undefined() || v.is_string() || v.is_sequence() || v.is_dict();
    };
    m["sequence"] = m["iterable"];
    m["callable"] = [](Interpreter&, const Value& v, CallArgs&) { return v.is_function(); };
    m["escaped"] = [](Interpreter&, const Value&, CallArgs&) { return false; };
    m["lower"] = [](Interpreter&, const Value& v, CallArgs&) {
      std::string s = v.to_str();
      return pystr::lower(s) == s && pystr::upper(s) != s;
    };
    m["upper"] = [](Interpreter&, const Value& v, CallArgs&) {
      std::string s = v.to_str();
      return pystr::upper(s) == s && pystr::lower(s) != s;
    };
    m["odd"] = [](Interpreter&, const Value& v, CallArgs&) {
      return ((need_int(v, "odd test value") % 2) + 2) % 2 == 1;
    };
    m["even"] = [](Interpreter&, const Value& v, CallArgs&) {
      return need_int(v, "even test value") % 2 == 0;
    };
    m["divisibleby"] = [](Interpreter&, const Value& v, CallArgs& a) {
      int64_t d = need_int(arg(a, 0, "num"), "divisibleby arg");
      if (d == 0) fail("ZeroDivisionError: integer modulo by zero");
      return need_int(v, "divisibleby value") % d == 0;
    };
    m["sameas"] = [](Interpreter&, const Value& v, CallArgs& a) {
      return same_as(v, arg(a, 0, "other"));
    };
    m["in"] = [](Interpreter& in, const Value& v, CallArgs& a) {
      Value seq = arg(a, 0, "seq");
      if (seq.is_string()) return v.is_string() && seq.str().find(v.str()) != std::string::npos;
      for (auto& x : iterate_value(seq))
        if (py_equal(x, v)) return true;
      (void)in;
      return false;
    };
    m["eq"] = [](Interpreter&, const Value& v, CallArgs& a) { return py_equal(v, arg(a, 0, "b")); };
    m["=="] = m["equalto"] = m["eq"];
    m["ne"] = [](Interpreter&, const Value& v, CallArgs& a) {
      return !py_equal(v, arg(a, 0, "b"));
    };
    m["!="] = m["ne"];
    m["lt"] = [](Interpreter&, const Value& v, CallArgs& a) {
      return py_compare(v, arg(a, 0, "b")) < 0;
    };
    m["<"] = m["lessthan"] = m["lt"];
    m["le"] = [](Interpreter&, const Value& v, CallArgs& a) {
      return py_compare(v, arg(a, 0, "b")) <= 0;
    };
    m["<="] = m["le"];
    m["gt"] = [](Interpreter&, const Value& v, CallArgs& a) {
      return py_compare(v, arg(a, 0, "b")) > 0;
    };
    m[">"] = m["greaterthan"] = m["gt"];
    m["ge"] = [](Interpreter&, const Value& v, CallArgs& a) {
      return py_compare(v, arg(a, 0, "b")) >= 0;
    };
    m[">="] = m["ge"];
    m["filter"] = [](Interpreter&, const Value& v, CallArgs&) {
      return v.is_string() && has_filter(v.str());
    };
    m["test"] = [](Interpreter&, const Value& v, CallArgs&) {
      return v.is_string() && has_test(v.str());
    };
    return m;
  }();
  return t;
}
}  // namespace

bool has_test(const std::string& name) {
  return tests().count(name) > 0;
}

bool call_test(Interpreter& in, const std::string& name, const Value& v, CallArgs& args) {
  auto it = tests().find(name);
  if (it == tests().end()) fail("TemplateAssertionError: No test named '", name, "'");
  return it->second(in, v, args);
}

// ---------------- filters ----------------

namespace {
using FilterFn = Value (*)(Interpreter&, const Value&, CallArgs&);

// Resolves a dotted attribute path like jinja's make_attrgetter ("a.b", "items.0").
Value attr_path(Interpreter& in, const Value& v, const Value& attr) {
  if (!attr.is_string()) return in.get_item(v, attr);
  Value cur = v;
  for (auto& part : pystr::split(attr.str(), std::string("."), -1, false)) {
    bool digits = !part.empty() && std::all_of(part.begin(), part.end(), ::isdigit);
    cur = in.get_item(cur, digits ? Value(static_cast<int64_t>(std::stoll(part))) : Value(part));
  }
  return cur;
}

Value sort_key(const Value& v, bool case_sensitive) {
  if (!case_sensitive && v.is_string()) return Value(pystr::lower(v.str()));
  return v;
}

List select_impl(Interpreter& in, const Value& v, CallArgs& a, bool attr_mode, bool keep) {
  List out;
  size_t off = 0;
  Value attr;
  if (attr_mode) {
    attr = arg(a, 0, "attr");
    off = 1;
  }
  std::string test_name;
  CallArgs targs;
  if (a.pos.size() > off) {
    test_name = need_str(a.pos[off], "test name");
    targs.pos.assign(a.pos.begin() + off + 1, a.pos.end());
    targs.kw = a.kw;
  }
  for (auto& item : iterate_value(v)) {
    Value x = attr_mode ? attr_path(in, item, attr) : item;
    bool r = test_name.empty() ? x.truthy() : call_test(in, test_name, x, targs);
    if (r == keep) out.push_back(item);
  }
  return out;
}

std::string html_escape(const std::string& s) {
  std::string o;
  for (char c : s) {
    switch (c) {
      case '&':
        o += "&amp;";
        break;
      case '<':
        o += "&lt;";
        break;
      case '>':
        o += "&gt;";
        break;
      case '"':
        o += "&#34;";
        break;
      case '\'':
        o += "&#39;";
        break;
      default:
        o.push_back(c);
    }
  }
  return o;
}

Value minmax(Interpreter& in, const Value& v, CallArgs& a, bool want_max) {
  bool cs = arg(a, 0, "case_sensitive", Value(false)).truthy();
  Value attr = arg(a, 1, "attribute", Value::none());
  List items = iterate_value(v);
  if (items.empty()) return Value::undefined("No aggregated item, sequence was empty.");
  size_t best = 0;
  auto key = [&](const Value& x) {
    return sort_key(attr.is_none() ? x : attr_path(in, x, attr), cs);
  };
  Value bk = key(items[0]);
  for (size_t i = 1; i < items.size(); ++i) {
    Value k = key(items[i]);
    int c = py_compare(k, bk);
    if (want_max ? c > 0 : c < 0) {
      best = i;
      bk = k;
    }
  }
  return items[best];
}

std::string py_round_str(double x, int64_t digits) {
  char buf[512];
  snprintf(buf, sizeof(buf), "%.*f", static_cast<int>(std::clamp<int64_t>(digits, 0, 300)), x);
  return buf;
}

const std::map<std::string, FilterFn>& filters() {
  static const std::map<std::string, FilterFn> f = [] {
    std::map<std::string, FilterFn> m;
    m["tojson"] = [](Interpreter&, const Value& v, CallArgs& a) {
      // transformers: json.dumps(x, ensure_ascii=False, indent=None, separators=None,
      // sort_keys=False)
      if (arg(a, 0, "ensure_ascii", Value(false)).truthy())
        fail("tojson: ensure_ascii=True is not supported");
      Value ind = arg(a, 1, "indent", Value::none());
      std::string indent_str;
      const std::string* indent = nullptr;
      if (ind.is_int()) {
        indent_str.assign(static_cast<size_t>(std::clamp<int64_t>(ind.as_int(), 0, 64)), ' ');
        indent = &indent_str;
      } else if (ind.is_string()) {
        indent_str = ind.str();
        indent = &indent_str;
      } else if (!ind.is_none()) {
        fail("TypeError: tojson indent must be an int, a str or None");
      }
      Value sep = arg(a, 2, "separators", Value::none());
      std::string is, ks;
      const std::string *isp = nullptr, *ksp = nullptr;
      if (!sep.is_none()) {
        if (!sep.is_sequence() || sep.items().size() != 2)
          fail("tojson: separators must be a pair");
        is = need_str(sep.items()[0], "separator");
        ks = need_str(sep.items()[1], "separator");
        isp = &is;
        ksp = &ks;
      }
      return Value(v.to_json(indent, isp, ksp, arg(a, 3, "sort_keys", Value(false)).truthy()));
    };
    m["trim"] = [](Interpreter&, const Value& v, CallArgs& a) {
      return Value(pystr::strip(v.to_str(), opt_str(arg(a, 0, "chars"), "trim chars"), true, true));
    };
    m["length"] = [](Interpreter&, const Value& v, CallArgs&) {
      return Value(static_cast<int64_t>(length_of(v)));
    };
    m["count"] = m["length"];
    m["string"] = [](Interpreter&, const Value& v, CallArgs&) { return Value(v.to_str()); };
    m["default"] = [](Interpreter&, const Value& v, CallArgs& a) {
      Value def = arg(a, 0, "default_value", Value(""));
      bool boolean = arg(a, 1, "boolean", Value(false)).truthy();
      if (v.is_undefined() || (boolean && !v.truthy())) return def;
      return v;
    };
    m["d"] = m["default"];
    m["upper"] = [](Interpreter&, const Value& v, CallArgs&) {
      return Value(pystr::upper(v.to_str()));
    };
    m["lower"] = [](Interpreter&, const Value& v, CallArgs&) {
      return Value(pystr::lower(v.to_str()));
    };
    m["title"] = [](Interpreter&, const Value& v, CallArgs&) {
      return Value(pystr::title(v.to_str()));
    };
    m["capitalize"] = [](Interpreter&, const Value& v, CallArgs&) {
      return Value(pystr::capitalize(v.to_str()));
    };
    m["replace"] = [](Interpreter&, const Value& v, CallArgs& a) {
      Value cnt = arg(a, 2, "count", Value::none());
      return Value(pystr::replace(v.to_str(), arg(a, 0, "old").to_str(), arg(a, 1, "new").to_str(),
                                  cnt.is_none() ? -1 : need_int(cnt, "count")));
    };
    m["first"] = [](Interpreter&, const Value& v, CallArgs&) {
      List l = iterate_value(v);
      return l.empty() ? Value::undefined("No first item, sequence was empty.") : l.front();
    };
    m["last"] = [](Interpreter&, const Value& v, CallArgs&) {
      List l = iterate_value(v);
      return l.empty() ? Value::undefined("No last item, sequence was empty.") : l.back();
    };
    m["join"] = [](Interpreter& in, const Value& v, CallArgs& a) {
      std::string sep = arg(a, 0, "d", Value("")).to_str();
      Value attr = arg(a, 1, "attribute", Value::none());
      std::string out;
      bool first = true;
      for (auto& x : iterate_value(v)) {
        if (!first) out += sep;
        first = false;
        out += (attr.is_none() ? x : attr_path(in, x, attr)).to_str();
      }
      return Value(out);
    };
    m["list"] = [](Interpreter&, const Value& v, CallArgs&) {
      return Value::list(iterate_value(v));
    };
    m["items"] = [](Interpreter&, const Value& v, CallArgs&) {
      if (v.is_undefined()) return Value::list();
      if (!v.is_dict()) fail("TypeError: Can only get item pairs from a mapping.");
      List l;
      for (auto& kv : v.dict().items) l.push_back(Value::tuple({kv.first, kv.second}));
      return Value::list(std::move(l));
    };
    m["dictsort"] = [](Interpreter&, const Value& v, CallArgs& a) {
      if (!v.is_dict()) fail("TypeError: dictsort expects a mapping");
      bool cs = arg(a, 0, "case_sensitive", Value(false)).truthy();
      std::string by = arg(a, 1, "by", Value("key")).to_str();
      bool rev = arg(a, 2, "reverse", Value(false)).truthy();
      size_t pos = by == "key" ? 0 : by == "value" ? 1 : 2;
      if (pos == 2) fail("FilterArgumentError: You can only sort by either \"key\" or \"value\"");
      List l;
      for (auto& kv : v.dict().items) l.push_back(Value::tuple({kv.first, kv.second}));
      std::stable_sort(l.begin(), l.end(), [&](const Value& x, const Value& y) {
        int c = py_compare(sort_key(x.items()[pos], cs), sort_key(y.items()[pos], cs));
        return rev ? c > 0 : c < 0;
      });
      return Value::list(std::move(l));
    };
    m["sort"] = [](Interpreter& in, const Value& v, CallArgs& a) {
      bool rev = arg(a, 0, "reverse", Value(false)).truthy();
      bool cs = arg(a, 1, "case_sensitive", Value(false)).truthy();
      Value attr = arg(a, 2, "attribute", Value::none());
      List l = iterate_value(v);
      std::vector<std::pair<Value, Value>> keyed;
      for (auto& x : l)
        keyed.emplace_back(sort_key(attr.is_none() ? x : attr_path(in, x, attr), cs), x);
      std::stable_sort(keyed.begin(), keyed.end(), [&](const auto& x, const auto& y) {
        int c = py_compare(x.first, y.first);
        return rev ? c > 0 : c < 0;
      });
      List out;
      for (auto& kv : keyed) out.push_back(kv.second);
      return Value::list(std::move(out));
    };
    m["unique"] = [](Interpreter& in, const Value& v, CallArgs& a) {
      bool cs = arg(a, 0, "case_sensitive", Value(false)).truthy();
      Value attr = arg(a, 1, "attribute", Value::none());
      List out, seen;
      for (auto& x : iterate_value(v)) {
        Value k = sort_key(attr.is_none() ? x : attr_path(in, x, attr), cs);
        bool dup = false;
        for (auto& s : seen) dup |= py_equal(s, k);
        if (!dup) {
          seen.push_back(k);
          out.push_back(x);
        }
      }
      return Value::list(std::move(out));
    };
    m["reverse"] = [](Interpreter&, const Value& v, CallArgs&) {
      if (v.is_string()) {
        std::u32string u = pystr::decode(v.str());
        std::reverse(u.begin(), u.end());
        return Value(pystr::encode(u));
      }
      List l = iterate_value(v);
      std::reverse(l.begin(), l.end());
      return Value::list(std::move(l));
    };
    m["map"] = [](Interpreter& in, const Value& v, CallArgs& a) {
      List out;
      Value attr = arg(a, 99, "attribute");
      if (!attr.is_undefined()) {
        Value def = arg(a, 99, "default");
        for (auto& x : iterate_value(v)) {
          Value r = attr_path(in, x, attr);
          out.push_back(r.is_undefined() && !def.is_undefined() ? def : r);
        }
        return Value::list(std::move(out));
      }
      if (a.pos.empty()) fail("map requires a filter argument");
      std::string name = need_str(a.pos[0], "filter name");
      CallArgs fargs;
      fargs.pos.assign(a.pos.begin() + 1, a.pos.end());
      fargs.kw = a.kw;
      for (auto& x : iterate_value(v)) {
        CallArgs c = fargs;
        out.push_back(call_filter(in, name, x, c));
      }
      return Value::list(std::move(out));
    };
    m["select"] = [](Interpreter& in, const Value& v, CallArgs& a) {
      return Value::list(select_impl(in, v, a, false, true));
    };
    m["reject"] = [](Interpreter& in, const Value& v, CallArgs& a) {
      return Value::list(select_impl(in, v, a, false, false));
    };
    m["selectattr"] = [](Interpreter& in, const Value& v, CallArgs& a) {
      return Value::list(select_impl(in, v, a, true, true));
    };
    m["rejectattr"] = [](Interpreter& in, const Value& v, CallArgs& a) {
      return Value::list(select_impl(in, v, a, true, false));
    };
    m["attr"] = [](Interpreter&, const Value& v, CallArgs& a) {
      // jinja's do_attr uses Python getattr only: dict keys are not attributes.
      std::string name = need_str(arg(a, 0, "name"), "attribute name");
      if (v.is_undefined()) undefined_error(v);
      if (!name.empty() && name[0] == '_') return Value::undefined();
      if (v.is_namespace()) {
        const Value* x = v.dict().find(std::string_view(name));
        return x ? *x : Value::undefined();
      }
      return bound_method(v, name);
    };
    m["abs"] = [](Interpreter&, const Value& v, CallArgs&) {
      if (v.is_float()) return Value(std::fabs(v.as_double()));
      if (v.is_int()) return Value(v.as_int() < 0 ? -v.as_int() : v.as_int());
      fail("TypeError: bad operand type for abs(): '", v.type_name(), "'");
    };
    m["int"] = [](Interpreter&, const Value& v, CallArgs& a) {
      Value def = arg(a, 0, "default", Value(int64_t(0)));
      int64_t base = need_int(arg(a, 1, "base", Value(int64_t(10))), "base");
      if (v.is_int()) return Value(v.as_int());
      if (v.is_float())
        return std::isfinite(v.as_double()) ? Value(static_cast<int64_t>(std::trunc(v.as_double())))
                                            : def;
      if (v.is_string()) {
        std::string s = pystr::strip(v.str(), std::nullopt, true, true);
        std::string digits;
        for (char c : s)
          if (c != '_') digits.push_back(c);
        char* end = nullptr;
        errno = 0;
        long long r = std::strtoll(digits.c_str(), &end, static_cast<int>(base));
        if (!digits.empty() && end && *end == 0 && errno == 0)
          return Value(static_cast<int64_t>(r));
        double d = std::strtod(s.c_str(), &end);
        if (!s.empty() && end && *end == 0 && std::isfinite(d))
          return Value(static_cast<int64_t>(std::trunc(d)));
      }
      return def;
    };
    m["float"] = [](Interpreter&, const Value& v, CallArgs& a) {
      Value def = arg(a, 0, "default", Value(0.0));
      if (v.is_number()) return Value(v.as_double());
      if (v.is_string()) {
        std::string s = pystr::strip(v.str(), std::nullopt, true, true);
        char* end = nullptr;
        double d = std::strtod(s.c_str(), &end);
        if (!s.empty() && end && *end == 0) return Value(d);
      }
      return def;
    };
    m["round"] = [](Interpreter&, const Value& v, CallArgs& a) {
      int64_t prec = need_int(arg(a, 0, "precision", Value(int64_t(0))), "precision");
      std::string method = arg(a, 1, "method", Value("common")).to_str();
      if (!v.is_number()) fail("TypeError: round needs a number");
      double x = v.as_double();
      if (method == "common") {
        if (prec == 0) return Value(std::nearbyint(x));
        return Value(std::strtod(py_round_str(x, prec).c_str(), nullptr));
      }
      double p = std::pow(10.0, static_cast<double>(prec));
      if (method == "ceil") return Value(std::ceil(x * p) / p);
      if (method == "floor") return Value(std::floor(x * p) / p);
      fail("FilterArgumentError: method must be common, ceil or floor");
    };
    m["sum"] = [](Interpreter& in, const Value& v, CallArgs& a) {
      Value attr = arg(a, 0, "attribute", Value::none());
      Value acc = arg(a, 1, "start", Value(int64_t(0)));
      for (auto& x : iterate_value(v)) {
        Value y = attr.is_none() ? x : attr_path(in, x, attr);
        if (!acc.is_number() || !y.is_number())
          fail("TypeError: unsupported operand type(s) for +");
        acc = (acc.is_float() || y.is_float()) ? Value(acc.as_double() + y.as_double())
                                               : Value(acc.as_int() + y.as_int());
      }
      return acc;
    };
    m["max"] = [](Interpreter& in, const Value& v, CallArgs& a) { return minmax(in, v, a, true); };
    m["min"] = [](Interpreter& in, const Value& v, CallArgs& a) { return minmax(in, v, a, false); };
    m["safe"] = [](Interpreter&, const Value& v, CallArgs&) { return v; };
    m["escape"] = [](Interpreter&, const Value& v, CallArgs&) {
      return Value(html_escape(v.to_str()));
    };
    m["e"] = m["forceescape"] = m["escape"];
    m["format"] = [](Interpreter&, const Value& v, CallArgs& a) {
      if (!a.kw.empty()) {
        Dict d;
        for (auto& [k, x] : a.kw) d.set(Value(k), x);
        return Value(percent_format(v.to_str(), Value::new_dict(std::move(d))));
      }
      return Value(percent_format(v.to_str(), Value::tuple(a.pos)));
    };
    m["indent"] = [](Interpreter&, const Value& v, CallArgs& a) {
      Value w = arg(a, 0, "width", Value(int64_t(4)));
      std::string ind =
          w.is_string()
              ? w.str()
              : std::string(static_cast<size_t>(std::max<int64_t>(0, need_int(w, "width"))), ' ');
      bool first = arg(a, 1, "first", Value(false)).truthy();
      bool blank = arg(a, 2, "blank", Value(false)).truthy();
      std::string s = v.to_str() + "\n";
      std::vector<std::string> lines = pystr::splitlines(s, false);
      std::string rv;
      if (blank) {
        for (size_t i = 0; i < lines.size(); ++i) rv += (i ? "\n" + ind : "") + lines[i];
      } else {
        rv = lines.empty() ? "" : lines[0];
        for (size_t i = 1; i < lines.size(); ++i)
          rv += "\n" + (lines[i].empty() ? "" : ind) + lines[i];
      }
      if (first) rv = ind + rv;
      return Value(rv);
    };
    m["center"] = [](Interpreter&, const Value& v, CallArgs& a) {
      CallArgs c;
      c.pos.push_back(arg(a, 0, "width", Value(int64_t(80))));
      return string_method(Value(v.to_str()), "center", c);
    };
    m["wordcount"] = [](Interpreter&, const Value& v, CallArgs&) {
      int64_t n = 0;
      bool in_word = false;
      for (char32_t c : pystr::decode(v.to_str())) {
        bool w = pystr::is_alpha(c) || pystr::is_digit(c) || c == '_';
        if (w && !in_word) ++n;
        in_word = w;
      }
      return Value(n);
    };
    return m;
  }();
  return f;
}
}  // namespace

bool has_filter(const std::string& name) {
  return filters().count(name) > 0;
}

Value call_filter(Interpreter& in, const std::string& name, const Value& v, CallArgs& args) {
  auto it = filters().find(name);
  if (it == filters().end()) fail("TemplateAssertionError: No filter named '", name, "'");
  return it->second(in, v, args);
}

}  // namespace dsv3::jinja
