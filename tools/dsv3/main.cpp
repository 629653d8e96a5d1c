// Entry point of the `dsv3` CLI: dispatches to the registered subcommand and turns any
// dsv3::Error into "error: ..." on stderr with exit code 1 (2 for usage errors).
#include <cstdio>
#include <exception>
#include <string>
#include <vector>

#include "command.h"
#include "core/error.h"

namespace dsv3::cli {

static std::vector<Command>& registry() {
  static std::vector<Command> r;
  return r;
}
bool register_command(Command c) {
  registry().push_back(std::move(c));
  return true;
}
const std::vector<Command>& commands() { return registry(); }

}  // namespace dsv3::cli

static void usage() {
  std::fprintf(stderr, "usage: dsv3 <command> [flags]   (dsv3 <command> --help for flags)\n\ncommands:\n");
  for (const auto& c : dsv3::cli::commands())
    std::fprintf(stderr, "  %-12s %s\n", c.name.c_str(), c.summary.c_str());
}

int main(int argc, char** argv) {
  if (argc < 2 || std::string(argv[1]) == "--help" || std::string(argv[1]) == "-h") {
    usage();
    return argc < 2 ? 2 : 0;
  }
  const std::string name = argv[1];
  std::vector<std::string> args(argv + 2, argv + argc);
  for (const auto& c : dsv3::cli::commands()) {
    if (c.name != name) continue;
    try {
      return c.run(args);
    } catch (const dsv3::Error& e) {
      std::fprintf(stderr, "error: %s\n", e.what());
      return 1;
    } catch (const std::bad_alloc&) {
      std::fprintf(stderr, "error: out of memory\n");
      return 1;
    } catch (const std::exception& e) {
      std::fprintf(stderr, "error: %s\n", e.what());
      return 1;
    }
  }
  std::fprintf(stderr, "error: unknown command '%s'\n", name.c_str());
  usage();
  return 2;
}
