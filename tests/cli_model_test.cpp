// The model subcommands driven as a user would (the built dsv3 binary), checked against the
// HF reference data of tests/data/tiny-v3: logits files, greedy runs with and without MTP,
// perplexity, and clear errors for bad flags.
#include <gtest/gtest.h>

#include <cmath>
#include <fstream>
#include <nlohmann/json.hpp>
#include <sstream>

#include "io/npy.h"
#include "test_util.h"

using namespace dsv3;

namespace {

std::vector<int32_t> prompt(int i) {
  nlohmann::json j = nlohmann::json::parse(std::ifstream(test::data_path("tiny-v3/ref/prompts.json")));
  return j["prompts"][size_t(i)].get<std::vector<int32_t>>();
}

std::string join(const std::vector<int32_t>& v, const char* sep) {
  std::string s;
  for (size_t i = 0; i < v.size(); ++i) s += (i ? sep : "") + std::to_string(v[i]);
  return s;
}

const std::string kModel = "-m " + test::data_path("tiny-v3");

}  // namespace

TEST(CliModel, LogitsFileMatchesHf) {
  const std::string out = test::temp_dir("cli") + "/l.npy";
  for (const char* mode : {"", " --decode"}) {
    auto r = test::run_cli("logits " + kModel + " --tokens " + join(prompt(2), ",") + " -o " + out + mode);
    ASSERT_EQ(r.exit_code, 0) << r.err;
    auto got = read_npy(out).as_f32();
    auto ref = read_npy(test::data_path("tiny-v3/ref/logits_2.npy")).as_f32();
    ASSERT_EQ(got.size(), ref.size());
    double mx = 1, d = 0;
    for (size_t i = 0; i < ref.size(); ++i) {
      mx = std::max(mx, double(std::fabs(ref[i])));
      d = std::max(d, double(std::fabs(ref[i] - got[i])));
    }
    EXPECT_LE(d, 1e-4 * mx) << mode;
  }
}

TEST(CliModel, GreedyRunMatchesHfGenerateWithAndWithoutMtp) {
  auto ref = read_npy(test::data_path("tiny-v3/ref/greedy_2.npy")).as_i64();
  std::vector<int32_t> want(ref.begin(), ref.end());
  for (const char* mtp : {" --no-mtp", " --mtp 1", " --mtp 3"}) {
    auto r = test::run_cli("run " + kModel + " --tokens " + join(prompt(2), ",") + " -n 32 --ignore-eos" + mtp);
    ASSERT_EQ(r.exit_code, 0) << r.err;
    EXPECT_EQ(r.out, join(want, " ") + "\n") << mtp;
    if (std::string(mtp) != " --no-mtp") EXPECT_NE(r.err.find("mtp: acceptance"), std::string::npos) << r.err;
  }
}

TEST(CliModel, PerplexityMatchesHfLogits) {
  auto p = prompt(3);
  const std::string f = test::temp_dir("cli") + "/ids.txt";
  std::ofstream(f) << join(p, " ");
  auto r = test::run_cli("perplexity " + kModel + " --tokens-file " + f);
  ASSERT_EQ(r.exit_code, 0) << r.err;
  // Reference: mean negative log-likelihood from HF's logits.
  auto ref = read_npy(test::data_path("tiny-v3/ref/logits_3.npy")).as_f32();
  const size_t V = ref.size() / p.size();
  double nll = 0;
  for (size_t t = 0; t + 1 < p.size(); ++t) {
    const float* l = ref.data() + t * V;
    double mx = l[0], s = 0;
    for (size_t v = 1; v < V; ++v) mx = std::max(mx, double(l[v]));
    for (size_t v = 0; v < V; ++v) s += std::exp(double(l[v]) - mx);
    nll += std::log(s) + mx - double(l[p[t + 1]]);
  }
  nll /= double(p.size() - 1);
  const auto pos = r.out.find("mean nll ");
  ASSERT_NE(pos, std::string::npos) << r.out;
  EXPECT_NEAR(std::stod(r.out.substr(pos + 9)), nll, 1e-4) << r.out;
}

TEST(CliModel, BadFlagsGiveClearErrors) {
  struct Case {
    std::string args, expect;
  } cases[] = {
      {"run " + kModel + " --tokens 1,2 --temp -1", "--temp must be >= 0"},
      {"run " + kModel + " --tokens 1,x", "'x' is not a token id"},
      {"run " + kModel + " --tokens 1,2 --bogus", "unknown flag --bogus"},
      {"run " + kModel + " --tokens 1,2 -n", "flag -n needs a value"},
      {"run " + kModel + " --tokens 1,2 --mtp 1 --no-mtp", "contradict"},
      {"run " + kModel + " --tokens 1,99999", "outside the vocabulary"},
      {"run " + kModel + " --tokens 1,2 --ctx 4 -n 8", "exceeds --ctx"},
      {"run " + kModel + " --tokens 1,2 --ctx 100000000000", "--ctx"},
      {"run " + kModel + " --tokens 1,2 --kv-type f8", "--kv-type must be f32, bf16 or f16"},
      {"run " + kModel + " --tokens 1,2 --numerics ggml", "--numerics ggml applies to GGUF files only"},
      {"run " + kModel + " --tokens 1,2 --numerics fast", "--numerics must be torch or ggml"},
      {"run " + kModel + " --tokens 1,2 --act-precision fp16", "--act-precision must be fp32 or bf16"},
      {"run -m /nonexistent --tokens 1", "/nonexistent"},
      {"run " + kModel + " -p hello", "no tokenizer.json"},
      {"run -m " + test::data_path("tiny-v2") + " --tokens 1 --mtp 1", "no MTP module"},
      {"logits " + kModel + " --tokens 1", "-o FILE is required"},
      {"frobnicate", "unknown command"},
  };
  for (auto& c : cases) {
    auto r = test::run_cli(c.args);
    EXPECT_NE(r.exit_code, 0) << c.args;
    EXPECT_NE(r.err.find(c.expect), std::string::npos) << c.args << "\n" << r.err;
  }
}

TEST(CliModel, ChatKeepsHistoryAndClears) {
  // The built-in model through its own R1 chat template; one problem per turn.
  auto r = test::run_cli("chat -n 96", "What is 21+34?\n/clear\nWhat is 52*3?\n/exit\nWhat is 1+1?\n");
  ASSERT_EQ(r.exit_code, 0) << r.err;
  EXPECT_NE(r.out.find("<think>\n"), std::string::npos) << r.out;
  EXPECT_NE(r.out.find("</think>\n\n55\n"), std::string::npos) << r.out;
  EXPECT_NE(r.out.find("(conversation cleared)"), std::string::npos) << r.out;
  EXPECT_NE(r.out.find("</think>\n\n156\n"), std::string::npos) << r.out;
  EXPECT_EQ(r.out.find("</think>\n\n2\n"), std::string::npos) << "input after /exit was answered";
}

TEST(CliModel, RunChatAnswersWithReasoning) {
  auto r = test::run_cli("run --chat -p \"What is 347+589?\" -n 96");
  ASSERT_EQ(r.exit_code, 0) << r.err;
  EXPECT_NE(r.out.find("3+5+1=9|936\n</think>\n\n936"), std::string::npos) << r.out;
}
