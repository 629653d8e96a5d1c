// Small flag parser shared by the subcommands: every flag is declared with its help text,
// unknown flags and missing or malformed values are errors (dsv3::Error) that name the flag.
#pragma once
#include <cstdint>
#include <map>
#include <string>
#include <vector>

namespace dsv3::cli {

class Args {
 public:
  // `spec` lists accepted flags; a flag ending in '=' takes a value ("-m=", "--ctx="),
  // others are switches ("--json"). Positional arguments are kept in order.
  Args(const std::vector<std::string>& argv, const std::vector<std::string>& spec);

  bool has(const std::string& flag) const;
  std::string get(const std::string& flag, const std::string& def = "") const;
  int64_t get_int(const std::string& flag, int64_t def) const;
  double get_double(const std::string& flag, double def) const;
  const std::vector<std::string>& positional() const { return positional_; }

 private:
  std::map<std::string, std::string> values_;
  std::vector<std::string> positional_;
};

}  // namespace dsv3::cli
