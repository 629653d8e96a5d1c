// The CLI on dense models loaded from llama.cpp-converted GGUF files (tests/data/tiny-qwen2,
// tiny-llama; see dense_model_test.cpp): `logits`, greedy `run`, `perplexity` against the HF
// reference, and the GGUF's own tokenizer against the folder's tokenizer.json.
#include <gtest/gtest.h>

#include <cmath>
#include <fstream>
#include <nlohmann/json.hpp>

#include "io/npy.h"
#include "test_util.h"

using namespace dsv3;

namespace {

const char* kNames[] = {"tiny-qwen2", "tiny-llama"};

std::vector<int32_t> prompt(const std::string& name, int i) {
  nlohmann::json j = nlohmann::json::parse(std::ifstream(test::data_path(name + "/ref/prompts.json")));
  return j["prompts"][size_t(i)].get<std::vector<int32_t>>();
}

std::string join(const std::vector<int32_t>& v, const char* sep) {
  std::string s;
  for (size_t i = 0; i < v.size(); ++i) s += (i ? sep : "") + std::to_string(v[i]);
  return s;
}

std::string gguf(const std::string& name) { return test::data_path(name + "/" + name + "-f32.gguf"); }

}  // namespace

TEST(DenseCli, LogitsFromGgufMatchHf) {
  const std::string out = test::temp_dir("dense_cli") + "/l.npy";
  for (const char* name : kNames) {
    for (const char* mode : {"", " --decode", " --kv-type bf16 -t 2"}) {
      auto r = test::run_cli("logits -m " + gguf(name) + " --tokens " + join(prompt(name, 2), ",") + " -o " + out + mode);
      ASSERT_EQ(r.exit_code, 0) << r.err;
      auto got = read_npy(out).as_f32();
      auto ref = read_npy(test::data_path(std::string(name) + "/ref/logits_2.npy")).as_f32();
      ASSERT_EQ(got.size(), ref.size());
      double mx = 1, d = 0;
      for (size_t i = 0; i < ref.size(); ++i) {
        mx = std::max(mx, double(std::fabs(ref[i])));
        d = std::max(d, double(std::fabs(ref[i] - got[i])));
      }
      // fp32 bound as in dense_model_test.cpp; a bf16 K/V cache (2^-9 relative) is looser.
      EXPECT_LE(d, (std::string(mode).find("bf16") != std::string::npos ? 3e-2 : 1e-4) * mx) << name << mode;
    }
  }
}

TEST(DenseCli, GreedyRunFromGgufMatchesHfGenerate) {
  for (const char* name : kNames) {
    auto ref = read_npy(test::data_path(std::string(name) + "/ref/greedy_2.npy")).as_i64();
    std::vector<int32_t> want(ref.begin(), ref.end());
    auto r = test::run_cli("run -m " + gguf(name) + " --tokens " + join(prompt(name, 2), ",") + " -n 16 --ignore-eos");
    ASSERT_EQ(r.exit_code, 0) << r.err;
    EXPECT_EQ(r.out, join(want, " ") + "\n") << name;
  }
}

TEST(DenseCli, PerplexityFromGgufMatchesHf) {
  for (const char* name : kNames) {
    auto p = prompt(name, 2);
    const std::string f = test::temp_dir("dense_cli") + "/ids.txt";
    std::ofstream(f) << join(p, " ");
    auto r = test::run_cli("perplexity -m " + gguf(name) + " --tokens-file " + f);
    ASSERT_EQ(r.exit_code, 0) << r.err;
    auto ref = read_npy(test::data_path(std::string(name) + "/ref/logits_2.npy")).as_f32();
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
    EXPECT_NEAR(std::stod(r.out.substr(pos + 9)), nll, 1e-4) << name << r.out;
  }
}

// llama.cpp's converter copies the tokenizer into the GGUF; dsv3 reading it back must encode
// like the folder's tokenizer.json, and `run -p` must work with the GGUF alone.
TEST(DenseCli, GgufTokenizerMatchesFolderAndRunsText) {
  const std::string text = "The quick brown fox, 1234 times: here we go!";
  for (const char* name : kNames) {
    auto a = test::run_cli("tokenize -m " + test::data_path(name) + " --ids '" + text + "'");
    auto b = test::run_cli("tokenize -m " + gguf(name) + " --ids '" + text + "'");
    ASSERT_EQ(a.exit_code, 0) << a.err;
    ASSERT_EQ(b.exit_code, 0) << b.err;
    EXPECT_EQ(a.out, b.out) << name;
    EXPECT_GT(a.out.size(), 10u);
    auto r = test::run_cli("run -m " + gguf(name) + " -p 'Hello there' -n 4 --ignore-eos");
    EXPECT_EQ(r.exit_code, 0) << r.err;
  }
}
