// The C++ mirror of scripts/arith_task.py draws exactly the Python problems (question, answer
// and worked-solution strings from tests/data/arith/problems.json, written by scripts/make_arith_refs.py),
// and `dsv3 eval` runs end to end on the built-in model.
#include <gtest/gtest.h>

#include <fstream>
#include <iterator>
#include <string>
#include <nlohmann/json.hpp>

#include "test_util.h"
#include "train/arith_task.h"

using namespace dsv3;

TEST(ArithTask, MatchesPythonGenerator) {
  nlohmann::json ref = nlohmann::json::parse(std::ifstream(test::data_path("arith/problems.json")));
  for (const auto& [key, eval] : {std::pair<std::string, bool>{"1", true}, {"7", true}, {"train_12345", false}}) {
    const uint64_t seed = key == "train_12345" ? 12345 : std::stoull(key);
    arith::Rng rng(seed);
    for (const auto& row : ref[key]) {
      const arith::Problem p = arith::sample_problem(rng, eval);
      EXPECT_EQ(std::string(1, p.op), row[0].get<std::string>());
      EXPECT_EQ(p.a, row[1].get<int64_t>());
      EXPECT_EQ(p.b, row[2].get<int64_t>());
      EXPECT_EQ(arith::question(p), row[3].get<std::string>());
      EXPECT_EQ(arith::answer(p), row[4].get<std::string>());
      EXPECT_EQ(arith::solution(p), row[5].get<std::string>());
      EXPECT_EQ(arith::is_heldout(p), eval);
    }
  }
  EXPECT_EQ(arith::extract_answer("a</think>x</think>\n\n -12 \n"), "-12");
  EXPECT_EQ(arith::extract_answer("no think"), "no think");
}

TEST(ArithTask, EvalCommandScoresBuiltinModel) {
  auto r = test::run_cli("eval -n 20 --seed 3 -v");
  ASSERT_EQ(r.exit_code, 0) << r.err;
  const auto pos = r.out.find("accuracy: ");
  ASSERT_NE(pos, std::string::npos) << r.out;
  const auto slash = r.out.find('/', pos), paren = r.out.find('(', pos);
  const int correct = std::stoi(r.out.substr(paren + 1, slash - paren - 1));
  // Every printed line is a graded problem; the score must equal the count of "ok" lines.
  int ok_lines = 0;
  for (size_t p = r.out.find("ok  "); p != std::string::npos; p = r.out.find("ok  ", p + 1)) ++ok_lines;
  EXPECT_EQ(correct, ok_lines) << r.out;
  EXPECT_NE(r.out.find("/20)"), std::string::npos) << r.out;
  EXPECT_GE(correct, 10) << "the built-in model should solve most problems:\n" << r.out;
}

namespace {
int eval_correct(const std::string& args) {
  auto r = test::run_cli("eval -n 50 --seed 5 " + args);
  EXPECT_EQ(r.exit_code, 0) << r.err;
  const auto paren = r.out.find('('), slash = r.out.find('/');
  if (paren == std::string::npos || slash == std::string::npos) return -1;
  return std::stoi(r.out.substr(paren + 1, slash - paren - 1));
}
}  // namespace

namespace {
std::string file_bytes(const std::string& path) {
  std::ifstream f(path, std::ios::binary);
  EXPECT_TRUE(f.good()) << "cannot read " << path;
  return std::string(std::istreambuf_iterator<char>(f), {});
}
}  // namespace

TEST(ArithTask, Fp8BuiltinModelKeepsItsAccuracy) {
  // The built-in model quantized to DeepSeek's FP8 layout (128x128 blocks; its 32-wide d_nope
  // makes the absorbed path read kv_b_proj rows inside scale blocks) solves the same problems
  // within a few answers of bf16, with and without MTP.
  const std::string dir = test::temp_dir("fp8") + "/builtin-fp8";
  auto q = test::run_cli(std::string("quantize -m ") + DSV3_BUILTIN_MODEL_DIR + " -o " + dir + " --to fp8");
  ASSERT_EQ(q.exit_code, 0) << q.err;
  // The committed FP8 copy (models/builtin-fp8) is exactly this quantization of the bf16 model.
  const std::string shipped = std::string(DSV3_BUILTIN_MODEL_DIR) + "-fp8";
  for (const char* f : {"model.safetensors", "config.json"})
    EXPECT_TRUE(file_bytes(shipped + "/" + f) == file_bytes(dir + "/" + f)) << f << " differs";
  const int bf16 = eval_correct("");
  const int fp8 = eval_correct("-m " + shipped);
  const int fp8_plain = eval_correct("-m " + shipped + " --no-mtp");
  EXPECT_GE(bf16, 40);
  EXPECT_LE(std::abs(fp8 - bf16), 3) << "bf16 " << bf16 << " fp8 " << fp8;
  EXPECT_EQ(fp8, fp8_plain);  // greedy: MTP never changes the output
}
