// `dsv3 version`: prints the version and the CPU features the kernels dispatch on.
#include <cstdio>

#include "command.h"

namespace {
int cmd_version(const std::vector<std::string>&) {
  std::printf("dsv3 0.1.0\n");
  std::printf("cpu: avx512f=%d avx2=%d fma=%d f16c=%d\n", !!__builtin_cpu_supports("avx512f"),
              !!__builtin_cpu_supports("avx2"), !!__builtin_cpu_supports("fma"),
              !!__builtin_cpu_supports("f16c"));
  return 0;
}
const bool registered = dsv3::cli::register_command({"version", "print version and CPU features", cmd_version});
}  // namespace
