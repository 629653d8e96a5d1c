// Arithmetic task: SplitMix64 draws, held-out hash, question/answer strings.
#include "train/arith_task.h"

#include <algorithm>

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
// Column lines of a op b, least significant digit first (scripts/arith_task.py _columns);
// returns the last partial result (its last column's full value prepended, so it may be
// negative for a-b with a < b).
std::string columns(char op, int64_t a, int64_t b, std::string& out) {
  const std::string sa = std::to_string(a), sb = std::to_string(b);
  const size_t n = op == '*' ? sa.size() : std::max(sa.size(), sb.size());
  auto digit = [](const std::string& s, size_t k) -> int64_t { return k < s.size() ? s[s.size() - 1 - k] - '0' : 0; };
  std::string partial;
  int64_t c = 0;
  for (size_t k = 0; k < n; ++k) {
    const int64_t x = digit(sa, k), y = op == '*' ? b : digit(sb, k);
    const int64_t v = op == '+' ? x + y + c : op == '-' ? x - y - c : x * y + c;
    const std::string expr = std::to_string(x) + op + std::to_string(y) + (op == '*' ? '+' : op) +
                             std::to_string(c) + "=" + std::to_string(v);
    c = op == '-' ? int64_t(v < 0) : v / 10;
    partial = (k + 1 == n ? std::to_string(v) : std::to_string(((v % 10) + 10) % 10)) + partial;
    out += expr + "|" + partial + "\n";
  }
  return partial;
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

std::string solution(const Problem& p) {
  std::string out;
  std::string partial = columns(p.op, p.a, p.b, out);
  std::string sign;
  if (p.op == '-' && p.a < p.b) {  // the last column of a-b came out negative
    out += "<0: -(B-A)\n";
    partial = columns(p.op, p.b, p.a, out);
    sign = "-";
  }
  const size_t nz = std::min(partial.find_first_not_of('0'), partial.size() - 1);  // str(int(partial))
  return out + "</think>\n\n" + sign + partial.substr(nz);
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
