// Subcommand registry of the `dsv3` CLI. Each cmd_<name>.cpp registers itself:
//   static const bool registered = dsv3::cli::register_command({"run", "generate text", cmd_run});
// main.cpp looks the name up, so adding a subcommand never touches another file.
#pragma once
#include <functional>
#include <string>
#include <vector>

namespace dsv3::cli {

struct Command {
  std::string name;
  std::string summary;  // one line for `dsv3 --help`
  std::function<int(const std::vector<std::string>& args)> run;  // args exclude "dsv3 <name>"
};

bool register_command(Command c);
const std::vector<Command>& commands();

}  // namespace dsv3::cli
