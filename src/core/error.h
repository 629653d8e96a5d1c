// Error handling: one exception type for every bad input, and a check macro that builds
// its message from any streamable values. Messages name the file, tensor or field at fault.
#pragma once
#include <sstream>
#include <stdexcept>
#include <string>

namespace dsv3 {

// Thrown for any invalid input (files, flags, requests) and for violated invariants.
// The CLI catches it, prints "error: <what>" and exits non-zero.
struct Error : std::runtime_error {
  using std::runtime_error::runtime_error;
};

// Concatenates any streamable values into a string: str("tensor ", name, " has ", n, " dims").
template <typename... Args>
std::string str(const Args&... args) {
  std::ostringstream os;
  (os << ... << args);
  return os.str();
}

template <typename... Args>
[[noreturn]] void fail(const Args&... args) {
  throw Error(str(args...));
}

}  // namespace dsv3

// DSV3_CHECK(cond, "message parts", ...): throws dsv3::Error with the message if cond is false.
#define DSV3_CHECK(cond, ...)                  \
  do {                                         \
    if (!(cond)) ::dsv3::fail(__VA_ARGS__);    \
  } while (0)
