// Arithmetic task: SplitMix64 draws, held-out hash, question/answer strings.
#include "train/arith_task.h"

namespace dsv3::arith {

namespace {
constexpr int kMulBDigits = 1;  // scripts/arith_task.py MUL_B_DIGITS
const char kOps[] = "+-*";

int64_t number(Rng& rng, int digits) {
  if (digits == 1) return int64_t(rng.uniform(10));
  int64_t p = 1;
  for (int i = 1; i < digits; ++i) p *= 10;
  return p + int64_t(rng.uniform(uint64_t(9 * p)));
}
}  // namespace

uint64_t Rng::next() {
  state_ += 0x9E3779B97F4A7C15ull;
  uint64_t z = state_;
  z = (z ^ (z >> 30)) * 0xBF58476D1CE4E5B9ull;
  z = (z ^ (z >> 27)) * 0x94D049BB133111EBull;
  return z ^ (z >> 31);
}

bool is_heldout(const Problem& p) {
  const uint64_t op_index = p.op == '+' ? 0 : p.op == '-' ? 1 : 2;
  Rng r(op_index * 1000000 + uint64_t(p.a) * 1000 + uint64_t(p.b));
  return r.next() % 10 == 0;
}

Problem sample_problem(Rng& rng, bool eval_split) {
  for (;;) {
    Problem p;
    p.op = kOps[rng.uniform(3)];
    p.a = number(rng, 1 + int(rng.uniform(3)));
    p.b = number(rng, 1 + int(rng.uniform(p.op != '*' ? 3 : kMulBDigits)));
    if (is_heldout(p) == eval_split) return p;
  }
}

std::string question(const Problem& p) {
  return "What is " + std::to_string(p.a) + p.op + std::to_string(p.b) + "?";
}

std::string answer(const Problem& p) {
  const int64_t v = p.op == '+' ? p.a + p.b : p.op == '-' ? p.a - p.b : p.a * p.b;
  return std::to_string(v);
}

std::string extract_answer(const std::string& completion) {
  const size_t k = completion.rfind("</think>");
  std::string s = k == std::string::npos ? completion : completion.substr(k + 8);
  const char* ws = " \t\n\r\f\v";
  const size_t b = s.find_first_not_of(ws);
  if (b == std::string::npos) return "";
  return s.substr(b, s.find_last_not_of(ws) - b + 1);
}

}  // namespace dsv3::arith
