// Helpers shared by the tests: paths of test data and of the CLI, running the CLI.
#pragma once
#include <string>

namespace dsv3::test {

// tests/data/<rel>
std::string data_path(const std::string& rel);
// ../shared/<rel> (the shared folder beside the repository)
std::string shared_path(const std::string& rel);

struct CliResult {
  int exit_code;
  std::string out;  // stdout
  std::string err;  // stderr
};
// Runs the built `dsv3` binary with the given argument string (shell-quoted by the caller).
CliResult run_cli(const std::string& args, const std::string& stdin_text = "");

// A fresh empty temporary directory (removed at process exit is not guaranteed).
std::string temp_dir(const std::string& tag);

}  // namespace dsv3::test
