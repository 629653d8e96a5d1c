// PCRE2 wrapper: pattern translation, JIT compile, per-thread match data/context/JIT stack.
#define PCRE2_CODE_UNIT_WIDTH 8
#include "text/pretokenizer_regex.h"

#include <pcre2.h>

#include "core/error.h"
#include "text/unicode_classes.h"

namespace dsv3 {

namespace {

// Oniguruma's Unicode \s: U+0009..U+000D, U+0085 and General_Category Z (Zs, Zl, Zp).
constexpr const char* kSpaceSet = "\\t\\n\\x{0B}\\f\\r\\x{85}\\p{Z}";

// The generated correction of Unicode class X, or nullptr.
const UnicodeClassFix* class_fix(char x) {
  for (size_t k = 0; k < kUnicodeClassFixCount; ++k) {
    const UnicodeClassFix& f = kUnicodeClassFixes[k];
    // Only additions can be expressed inside a PCRE2 class; the generator reports removals
    // (there are none for PCRE2 10.42 vs tokenizers 0.23.3), and \s must need no fix.
    if (*f.remove || (f.name == 's' && *f.add))
      fail("unicode_classes.cpp: unsupported correction for class ", f.name, "; regenerate");
    if (f.name == x && x != 's') return &f;
  }
  return nullptr;
}

std::string pcre2_message(int code) {
  PCRE2_UCHAR buf[256];
  pcre2_get_error_message(code, buf, sizeof buf);
  return reinterpret_cast<const char*>(buf);
}

// Per-thread match state shared by all patterns (ovector of one pair is enough: group 0).
struct MatchState {
  pcre2_match_data* md = nullptr;
  pcre2_match_context* mc = nullptr;
  pcre2_jit_stack* js = nullptr;
  MatchState() {
    md = pcre2_match_data_create(1, nullptr);
    mc = pcre2_match_context_create(nullptr);
    js = pcre2_jit_stack_create(32 * 1024, 4 * 1024 * 1024, nullptr);
    if (!md || !mc || !js) fail("PCRE2: out of memory");
    pcre2_jit_stack_assign(mc, nullptr, js);
    pcre2_set_match_limit(mc, 100000000);
    pcre2_set_depth_limit(mc, 10000000);
  }
  ~MatchState() {
    pcre2_match_data_free(md);
    pcre2_match_context_free(mc);
    pcre2_jit_stack_free(js);
  }
};
MatchState& state() {
  thread_local MatchState s;
  return s;
}

}  // namespace

std::string onig_to_pcre2(std::string_view p) {
  std::string out;
  bool in_class = false;
  bool class_start = false;  // just after '[' or '[^' (a ']' there is literal)
  for (size_t i = 0; i < p.size(); ++i) {
    char c = p[i];
    if (c == '\\' && i + 1 < p.size()) {
      char e = p[i + 1];
      ++i;
      class_start = false;
      if (e == 's') {
        if (in_class)
          out += kSpaceSet;
        else
          out += std::string("[") + kSpaceSet + "]";
      } else if (e == 'S' && !in_class) {
        out += std::string("[^") + kSpaceSet + "]";
      } else if (e == 'S') {
        fail("regex '", std::string(p), "': \\S inside a character class is not supported");
      } else if ((e == 'p' || e == 'P') && i + 3 < p.size() && p[i + 1] == '{' && p[i + 3] == '}' &&
                 class_fix(p[i + 2])) {
        // \p{X} for a one-letter class: add the code points newer Unicode assigned to X.
        const UnicodeClassFix* fix = class_fix(p[i + 2]);
        std::string body = std::string("\\p{") + fix->name + "}" + fix->add;
        if (e == 'P' && in_class)
          fail("regex '", std::string(p), "': \\P{...} inside a character class is not supported");
        if (in_class)
          out += body;
        else
          out += (e == 'P' ? "[^" : "[") + body + "]";
        i += 3;
      } else {
        out += '\\';
        out += e;
      }
      continue;
    }
    if (in_class) {
      if (c == ']' && !class_start)
        in_class = false;
      else if (c == '^' && class_start && out.back() == '[') {
        out += c;
        continue;  // still at class start
      }
      class_start = false;
      out += c;
      continue;
    }
    if (c == '[') {
      in_class = true;
      class_start = true;
    }
    out += c;
  }
  return out;
}

std::string regex_escape(std::string_view s) {
  std::string out;
  for (char c : s) {
    if (std::string_view("\\^$.|?*+()[]{}-#&~ ").find(c) != std::string_view::npos) {
      if (c == ' ') {
        out += "\\x20";
        continue;
      }
      out += '\\';
    }
    out += c;
  }
  return out;
}

Regex::Regex(std::string_view onig_pattern) : pattern_(onig_pattern) {
  std::string pat = onig_to_pcre2(onig_pattern);
  int err = 0;
  PCRE2_SIZE off = 0;
  code_ = pcre2_compile(reinterpret_cast<PCRE2_SPTR>(pat.data()), pat.size(),
                        PCRE2_UTF | PCRE2_UCP | PCRE2_MULTILINE, &err, &off, nullptr);
  if (!code_)
    fail("cannot compile regex '", pattern_, "': ", pcre2_message(err), " at offset ", off);
  jit_ = pcre2_jit_compile(code_, PCRE2_JIT_COMPLETE) == 0;
}

Regex::~Regex() {
  pcre2_code_free(code_);
}

void Regex::find_all(std::string_view s, std::vector<std::pair<size_t, size_t>>& out) const {
  MatchState& st = state();
  auto subj = reinterpret_cast<PCRE2_SPTR>(s.data());
  size_t pos = 0;
  while (pos <= s.size()) {
    int rc = jit_ ? pcre2_jit_match(code_, subj, s.size(), pos, 0, st.md, st.mc)
                  : pcre2_match(code_, subj, s.size(), pos, PCRE2_NO_UTF_CHECK, st.md, st.mc);
    if (rc == PCRE2_ERROR_NOMATCH) break;
    if (rc < 0) fail("regex '", pattern_, "' failed: ", pcre2_message(rc));
    PCRE2_SIZE* ov = pcre2_get_ovector_pointer(st.md);
    size_t b = ov[0], e = ov[1];
    out.emplace_back(b, e);
    if (e > b) {
      pos = e;
    } else {  // empty match: resume after the next character
      if (e >= s.size()) break;
      size_t k = e + 1;
      while (k < s.size() && (static_cast<uint8_t>(s[k]) & 0xC0) == 0x80) ++k;
      pos = k;
    }
  }
}

}  // namespace dsv3
