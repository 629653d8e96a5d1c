// The R1-style arithmetic task of the built-in model, mirrored bit for bit from
// scripts/arith_task.py (the Python side trains on it): the same SplitMix64 draws give the same
// problems, so `dsv3 eval --seed S` scores exactly the held-out problems the trainer scores.
#pragma once
#include <cstdint>
#include <string>

namespace dsv3::arith {

// SplitMix64 (Steele et al. 2014), state = seed.
class Rng {
 public:
  explicit Rng(uint64_t seed) : state_(seed) {}
  uint64_t next();
  uint64_t uniform(uint64_t n) { return next() % n; }

 private:
  uint64_t state_;
};

struct Problem {
  char op;  // '+', '-', '*'
  int64_t a, b;
};

// One problem of the split: "train" redraws held-out problems, "eval" keeps only those.
Problem sample_problem(Rng& rng, bool eval_split);
bool is_heldout(const Problem& p);
std::string question(const Problem& p);  // "What is 347+589?"
std::string answer(const Problem& p);    // "936"
// The worked solution the model is trained on (assistant text after "<think>\n"), e.g.
// "7+9+0=16|6\n4+8+1=13|36\n3+5+1=9|936\n</think>\n\n936"; for a-b with a < b the columns
// of a-b (negative last column), then "<0: -(B-A)", the columns of b-a, answer "-...".
std::string solution(const Problem& p);
// Text after the last "</think>", whitespace-stripped.
std::string extract_answer(const std::string& completion);

}  // namespace dsv3::arith
