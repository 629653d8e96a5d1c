// Jinja lexer (see lexer.h). Each step mirrors one regex rule of jinja2/lexer.py.
#include "text/jinja/lexer.h"

#include <cstring>

#include "core/error.h"
#include "text/jinja/pystr.h"

namespace dsv3::jinja {
namespace {

bool is_digit(char c) {
  return c >= '0' && c <= '9';
}
bool is_name_start(char c) {
  return (c >= 'a' && c <= 'z') || (c >= 'A' && c <= 'Z') || c == '_';
}
bool is_name_char(char c) {
  return is_name_start(c) || is_digit(c);
}

// Python `str.rstrip()` on a UTF-8 byte string.
std::string rstrip_ws(const std::string& s) {
  std::u32string u = pystr::decode(s);
  size_t e = u.size();
  while (e > 0 && pystr::is_space(u[e - 1])) --e;
  return pystr::encode(std::u32string_view(u).substr(0, e));
}

// Length of the run of Python whitespace starting at pos.
size_t ws_run(const std::string& s, size_t pos) {
  size_t p = pos, len = 0;
  while (p < s.size() && pystr::is_space_at(s, p, &len)) p += len;
  return p - pos;
}

bool all_ws(const std::string& s, size_t from) {
  return from < s.size() && ws_run(s, from) == s.size() - from;
}

int count_nl(const std::string& s, size_t b, size_t e) {
  int n = 0;
  for (size_t i = b; i < e; ++i) n += s[i] == '\n';
  return n;
}

// Decodes a string literal body the way jinja does:
// .encode("ascii", "backslashreplace").decode("unicode-escape").
std::string unescape(const std::string& body, int line) {
  std::string out;
  for (size_t i = 0; i < body.size(); ++i) {
    char c = body[i];
    if (c != '\\' || i + 1 >= body.size()) {
      out.push_back(c);
      continue;
    }
    char e = body[++i];
    auto hex = [&](int n) -> char32_t {
      char32_t v = 0;
      for (int k = 0; k < n; ++k) {
        if (i + 1 >= body.size()) fail("jinja: line ", line, ": truncated escape in string");
        char h = body[++i];
        int d = (h >= '0' && h <= '9')   ? h - '0'
                : (h >= 'a' && h <= 'f') ? h - 'a' + 10
                : (h >= 'A' && h <= 'F') ? h - 'A' + 10
                                         : -1;
        if (d < 0) fail("jinja: line ", line, ": bad escape in string literal");
        v = v * 16 + d;
      }
      return v;
    };
    switch (e) {
      case '\n':
        break;  // line continuation
      case '\\':
        out.push_back('\\');
        break;
      case '\'':
        out.push_back('\'');
        break;
      case '"':
        out.push_back('"');
        break;
      case 'a':
        out.push_back('\a');
        break;
      case 'b':
        out.push_back('\b');
        break;
      case 'f':
        out.push_back('\f');
        break;
      case 'n':
        out.push_back('\n');
        break;
      case 'r':
        out.push_back('\r');
        break;
      case 't':
        out.push_back('\t');
        break;
      case 'v':
        out.push_back('\v');
        break;
      case 'x':
        pystr::append_utf8(out, hex(2));
        break;
      case 'u':
        pystr::append_utf8(out, hex(4));
        break;
      case 'U': {
        char32_t v = hex(8);
        if (v > 0x10FFFF) fail("jinja: line ", line, ": bad \\U escape");
        pystr::append_utf8(out, v);
        break;
      }
      default:
        if (e >= '0' && e <= '7') {
          int v = e - '0';
          for (int k = 0; k < 2 && i + 1 < body.size() && body[i + 1] >= '0' && body[i + 1] <= '7';
               ++k)
            v = v * 8 + (body[++i] - '0');
          pystr::append_utf8(out, static_cast<char32_t>(v));
        } else if (e == 'N') {
          fail("jinja: line ", line, ": \\N{...} escapes are not supported");
        } else {
          out.push_back('\\');
          out.push_back(e);
        }
    }
  }
  return out;
}

// Matches `(\d+_)*\d+` at p; returns end or npos.
size_t digits_us(const std::string& s, size_t p) {
  if (p >= s.size() || !is_digit(s[p])) return std::string::npos;
  size_t q = p;
  while (true) {
    while (q < s.size() && is_digit(s[q])) ++q;
    if (q + 1 < s.size() && s[q] == '_' && is_digit(s[q + 1])) {
      ++q;
      continue;
    }
    return q;
  }
}

// jinja float_re at p (the `(?<!\.)` look-behind is checked by the caller).
size_t match_float(const std::string& s, size_t p) {
  size_t q = digits_us(s, p);
  if (q == std::string::npos) return q;
  // Alternative 1: optional fraction then exponent.
  size_t r = q;
  if (r < s.size() && s[r] == '.') {
    size_t f = digits_us(s, r + 1);
    if (f != std::string::npos) r = f;
  }
  if (r < s.size() && (s[r] == 'e' || s[r] == 'E')) {
    size_t t = r + 1;
    if (t < s.size() && (s[t] == '+' || s[t] == '-')) ++t;
    size_t x = digits_us(s, t);
    if (x != std::string::npos) return x;
  }
  // Alternative 2: required fraction.
  if (q < s.size() && s[q] == '.') {
    size_t f = digits_us(s, q + 1);
    if (f != std::string::npos) return f;
  }
  return std::string::npos;
}

// jinja integer_re at p: 0b.., 0o.., 0x.., [1-9](_?\d)*, 0(_?0)*.
size_t match_int(const std::string& s, size_t p) {
  if (p >= s.size() || !is_digit(s[p])) return std::string::npos;
  auto run = [&](size_t q, auto ok) {
    // (_?[class])+ ; returns end or npos if none
    size_t start = q;
    while (true) {
      if (q < s.size() && ok(s[q])) {
        ++q;
      } else if (q + 1 < s.size() && s[q] == '_' && ok(s[q + 1])) {
        q += 2;
      } else {
        break;
      }
    }
    return q == start ? std::string::npos : q;
  };
  if (s[p] == '0' && p + 1 < s.size()) {
    char t = s[p + 1] | 0x20;
    size_t r = std::string::npos;
    if (t == 'b') r = run(p + 2, [](char c) { return c == '0' || c == '1'; });
    if (t == 'o') r = run(p + 2, [](char c) { return c >= '0' && c <= '7'; });
    if (t == 'x')
      r = run(p + 2, [](char c) {
        char l = c | 0x20;
        return is_digit(c) || (l >= 'a' && l <= 'f');
      });
    if (r != std::string::npos) return r;
  }
  if (s[p] == '0') {
    size_t r = run(p + 1, [](char c) { return c == '0'; });
    return r == std::string::npos ? p + 1 : r;
  }
  size_t r = run(p + 1, [](char c) { return is_digit(c); });
  return r == std::string::npos ? p + 1 : r;
}

const char* const kOps[] = {"**", "//", "==", "!=", ">=", "<=", "+", "-", "*", "/", "%", "~", "[",
                            "]",  "(",  ")",  "{",  "}",  "<",  ">", "=", ".", ":", "|", ",", ";"};

class Lexer {
 public:
  Lexer(const std::string& src, const LexOptions& opt) : opt_(opt) {
    // newline_re.split(source)[::2] joined by "\n"; drop one trailing newline.
    std::string s;
    s.reserve(src.size());
    for (size_t i = 0; i < src.size(); ++i) {
      if (src[i] == '\r') {
        if (i + 1 < src.size() && src[i + 1] == '\n') ++i;
        s.push_back('\n');
      } else {
        s.push_back(src[i]);
      }
    }
    if (!opt_.keep_trailing_newline && !s.empty() && s.back() == '\n') s.pop_back();
    s_ = std::move(s);
  }

  std::vector<Token> run() {
    size_t pos = 0;
    bool line_starting = true;
    while (pos < s_.size()) {
      // Root state: find the first "{%", "{{" or "{#".
      size_t p = pos;
      char kind = 0;
      while (true) {
        p = s_.find('{', p);
        if (p == std::string::npos || p + 1 >= s_.size()) {
          p = std::string::npos;
          break;
        }
        char n = s_[p + 1];
        if (n == '%' || n == '{' || n == '#') {
          kind = n;
          break;
        }
        ++p;
      }
      if (p == std::string::npos) {
        emit(Tok::Data, s_.substr(pos), count_nl(s_, pos, s_.size()));
        break;
      }
      std::string text = s_.substr(pos, p - pos);
      size_t q = p + 2;
      char sign = 0;
      if (q < s_.size() && (s_[q] == '-' || s_[q] == '+')) sign = s_[q++];
      // raw_begin: {%(-|+|)\s*raw\s*(-%}\s*|%})
      size_t raw_end = kind == '%' ? match_raw_begin(q) : std::string::npos;
      int nl_text = count_nl(text, 0, text.size());
      if (sign == '-') {
        text = rstrip_ws(text);
      } else if (sign != '+' && opt_.lstrip_blocks && kind != '{') {
        size_t l_pos = text.rfind('\n');
        l_pos = l_pos == std::string::npos ? 0 : l_pos + 1;
        if ((l_pos > 0 || line_starting) && all_ws(text, l_pos)) text.resize(l_pos);
      }
      emit(Tok::Data, text, nl_text);
      if (raw_end != std::string::npos) {
        pos = lex_raw(raw_end);
        line_starting = pos > 0 && s_[pos - 1] == '\n';
        continue;
      }
      if (kind == '#') {
        pos = lex_comment(q);
      } else {
        emit(kind == '%' ? Tok::BlockBegin : Tok::VarBegin, "", 0);
        pos = lex_tag(q, kind == '%');
      }
      line_starting = pos > 0 && s_[pos - 1] == '\n';
    }
    out_.push_back({Tok::Eof, "", line_});
    return std::move(out_);
  }

 private:
  [[noreturn]] void error(const std::string& msg) { fail("jinja: line ", line_, ": ", msg); }

  void emit(Tok t, std::string v, int newlines) {
    if (t != Tok::Data || !v.empty()) out_.push_back({t, std::move(v), line_});
    line_ += newlines;
  }

  // After "{%" and its sign: returns the end of "\s*raw\s*(-%}\s*|%})" or npos.
  size_t match_raw_begin(size_t q) {
    q += ws_run(s_, q);
    if (s_.compare(q, 3, "raw") != 0) return std::string::npos;
    q += 3;
    q += ws_run(s_, q);
    if (s_.compare(q, 3, "-%}") == 0) return q + 3 + ws_run(s_, q + 3);
    if (s_.compare(q, 2, "%}") == 0) return q + 2;
    return std::string::npos;
  }

  // End of a tag close at q ("+%}", "-%}\s*", "%}\n?"); npos if none. For variables: "-}}\s*",
  // "}}".
  size_t match_close(size_t q, bool block) {
    if (block) {
      if (s_.compare(q, 3, "+%}") == 0) return q + 3;
      if (s_.compare(q, 3, "-%}") == 0) return q + 3 + ws_run(s_, q + 3);
      if (s_.compare(q, 2, "%}") == 0) {
        size_t e = q + 2;
        if (opt_.trim_blocks && e < s_.size() && s_[e] == '\n') ++e;
        return e;
      }
      return std::string::npos;
    }
    if (s_.compare(q, 3, "-}}") == 0) return q + 3 + ws_run(s_, q + 3);
    if (s_.compare(q, 2, "}}") == 0) return q + 2;
    return std::string::npos;
  }

  size_t lex_raw(size_t q) {
    // (.*?)({%(-|+|)\s*endraw\s*(+%}|-%}\s*|%}\n?))
    size_t p = q;
    while (true) {
      p = s_.find("{%", p);
      if (p == std::string::npos) error("Missing end of raw directive");
      size_t r = p + 2;
      char sign = 0;
      if (r < s_.size() && (s_[r] == '-' || s_[r] == '+')) sign = s_[r++];
      r += ws_run(s_, r);
      if (s_.compare(r, 6, "endraw") == 0) {
        size_t t = r + 6;
        t += ws_run(s_, t);
        size_t e = match_close(t, true);
        if (e != std::string::npos) {
          std::string text = s_.substr(q, p - q);
          int nl = count_nl(text, 0, text.size());
          if (sign == '-') {
            text = rstrip_ws(text);
          } else if (sign != '+' && opt_.lstrip_blocks) {
            size_t l_pos = text.rfind('\n');
            l_pos = l_pos == std::string::npos ? 0 : l_pos + 1;
            // line_starting here is false: the previous match (raw_begin) never ends the text.
            bool ls = q > 0 && s_[q - 1] == '\n';
            if ((l_pos > 0 || ls) && all_ws(text, l_pos)) text.resize(l_pos);
          }
          emit(Tok::Data, text, nl);
          line_ += count_nl(s_, p, e);
          return e;
        }
      }
      p += 2;
    }
  }

  size_t lex_comment(size_t q) {
    size_t r = s_.find("#}", q);
    if (r == std::string::npos) error("Missing end of comment tag");
    size_t e;
    if (r > q && s_[r - 1] == '+') {
      e = r + 2;
    } else if (r > q && s_[r - 1] == '-') {
      e = r + 2 + ws_run(s_, r + 2);
    } else {
      e = r + 2;
      if (opt_.trim_blocks && e < s_.size() && s_[e] == '\n') ++e;
    }
    line_ += count_nl(s_, q, e);
    return e;
  }

  size_t lex_tag(size_t q, bool block) {
    std::vector<char> balance;
    while (true) {
      if (q >= s_.size())
        error(block ? "unexpected end of template inside a block tag"
                    : "unexpected end of template inside '{{ }}'");
      if (balance.empty()) {
        size_t e = match_close(q, block);
        if (e != std::string::npos) {
          emit(block ? Tok::BlockEnd : Tok::VarEnd, "", 0);
          line_ += count_nl(s_, q, e);
          return e;
        }
      }
      size_t w = ws_run(s_, q);
      if (w) {
        line_ += count_nl(s_, q, q + w);
        q += w;
        continue;
      }
      char c = s_[q];
      bool after_dot = q > 0 && s_[q - 1] == '.';
      if (is_digit(c)) {
        size_t e = after_dot ? std::string::npos : match_float(s_, q);
        if (e != std::string::npos) {
          emit(Tok::Float, strip_us(s_.substr(q, e - q)), 0);
          q = e;
          continue;
        }
        e = match_int(s_, q);
        emit(Tok::Integer, strip_us(s_.substr(q, e - q)), 0);
        q = e;
        continue;
      }
      if (is_name_start(c)) {
        size_t e = q + 1;
        while (e < s_.size() && is_name_char(s_[e])) ++e;
        emit(Tok::Name, s_.substr(q, e - q), 0);
        q = e;
        continue;
      }
      if (c == '\'' || c == '"') {
        size_t e = q + 1;
        while (e < s_.size() && s_[e] != c) {
          if (s_[e] == '\\') ++e;
          ++e;
        }
        if (e >= s_.size()) error("unterminated string literal");
        int line = line_;
        emit(Tok::String, unescape(s_.substr(q + 1, e - q - 1), line), count_nl(s_, q, e));
        q = e + 1;
        continue;
      }
      bool matched = false;
      for (const char* op : kOps) {
        size_t n = strlen(op);
        if (s_.compare(q, n, op) == 0) {
          if (n == 1) {
            if (c == '{') balance.push_back('}');
            if (c == '(') balance.push_back(')');
            if (c == '[') balance.push_back(']');
            if (c == '}' || c == ')' || c == ']') {
              if (balance.empty()) error(std::string("unexpected '") + c + "'");
              if (balance.back() != c)
                error(std::string("unexpected '") + c + "', expected '" + balance.back() + "'");
              balance.pop_back();
            }
          }
          emit(Tok::Op, op, 0);
          q += n;
          matched = true;
          break;
        }
      }
      if (!matched) error(std::string("unexpected char '") + c + "'");
    }
  }

  static std::string strip_us(std::string s) {
    std::string o;
    for (char c : s)
      if (c != '_') o.push_back(c);
    return o;
  }

  LexOptions opt_;
  std::string s_;
  std::vector<Token> out_;
  int line_ = 1;
};

}  // namespace

std::vector<Token> lex(const std::string& source, const LexOptions& opt) {
  return Lexer(source, opt).run();
}

}  // namespace dsv3::jinja
