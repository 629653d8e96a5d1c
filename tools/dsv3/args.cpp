// Args: strict flag parsing for the CLI.
#include "args.h"

#include <cerrno>
#include <cstdlib>

#include "core/error.h"

namespace dsv3::cli {

Args::Args(const std::vector<std::string>& argv, const std::vector<std::string>& spec) {
  auto takes_value = [&](const std::string& f, bool* known) {
    for (const auto& s : spec) {
      if (s == f) { *known = true; return false; }
      if (s == f + "=") { *known = true; return true; }
    }
    *known = false;
    return false;
  };
  for (size_t i = 0; i < argv.size(); ++i) {
    const std::string& a = argv[i];
    if (a.size() > 1 && a[0] == '-' && a != "-") {
      std::string flag = a, value;
      bool inline_value = false;
      if (auto eq = a.find('='); eq != std::string::npos && a.rfind("--", 0) == 0) {
        flag = a.substr(0, eq);
        value = a.substr(eq + 1);
        inline_value = true;
      }
      bool known;
      bool tv = takes_value(flag, &known);
      if (!known) fail("unknown flag ", flag, " (see --help)");
      if (tv) {
        if (!inline_value) {
          if (i + 1 >= argv.size()) fail("flag ", flag, " needs a value");
          value = argv[++i];
        }
        values_[flag] = value;
      } else {
        if (inline_value) fail("flag ", flag, " takes no value");
        values_[flag] = "1";
      }
    } else {
      positional_.push_back(a);
    }
  }
}

bool Args::has(const std::string& flag) const { return values_.count(flag) > 0; }

std::string Args::get(const std::string& flag, const std::string& def) const {
  auto it = values_.find(flag);
  return it == values_.end() ? def : it->second;
}

int64_t Args::get_int(const std::string& flag, int64_t def) const {
  auto it = values_.find(flag);
  if (it == values_.end()) return def;
  const char* s = it->second.c_str();
  char* end = nullptr;
  errno = 0;
  long long v = std::strtoll(s, &end, 10);
  if (errno != 0 || end == s || *end != '\0') fail("flag ", flag, ": '", it->second, "' is not an integer");
  return v;
}

double Args::get_double(const std::string& flag, double def) const {
  auto it = values_.find(flag);
  if (it == values_.end()) return def;
  const char* s = it->second.c_str();
  char* end = nullptr;
  errno = 0;
  double v = std::strtod(s, &end);
  if (errno != 0 || end == s || *end != '\0') fail("flag ", flag, ": '", it->second, "' is not a number");
  return v;
}

}  // namespace dsv3::cli
