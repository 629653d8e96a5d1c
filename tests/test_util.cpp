// Test helpers: data paths, CLI runner (via popen with stdout/stderr sent to temp files).
#include "test_util.h"

#include <unistd.h>

#include <cstdio>
#include <cstdlib>
#include <filesystem>
#include <fstream>
#include <sstream>

namespace dsv3::test {

std::string data_path(const std::string& rel) { return std::string(DSV3_TEST_DATA) + "/" + rel; }
std::string shared_path(const std::string& rel) { return std::string(DSV3_SHARED_DIR) + "/" + rel; }

static std::string slurp(const std::string& p) {
  std::ifstream f(p, std::ios::binary);
  std::stringstream ss;
  ss << f.rdbuf();
  return ss.str();
}

std::string temp_dir(const std::string& tag) {
  namespace fs = std::filesystem;
  static int counter = 0;
  fs::path p = fs::temp_directory_path() /
               ("dsv3_test_" + tag + "_" + std::to_string(::getpid()) + "_" + std::to_string(counter++));
  fs::remove_all(p);
  fs::create_directories(p);
  return p.string();
}

CliResult run_cli(const std::string& args, const std::string& stdin_text) {
  std::string dir = temp_dir("cli");
  std::string in = dir + "/in", out = dir + "/out", err = dir + "/err";
  { std::ofstream f(in, std::ios::binary); f << stdin_text; }
  std::string cmd = std::string(DSV3_CLI) + " " + args + " <" + in + " >" + out + " 2>" + err;
  int rc = std::system(cmd.c_str());
  CliResult r;
  r.exit_code = WIFEXITED(rc) ? WEXITSTATUS(rc) : 128 + WTERMSIG(rc);
  r.out = slurp(out);
  r.err = slurp(err);
  std::filesystem::remove_all(dir);
  return r;
}

}  // namespace dsv3::test
