// Vocab-only GGUF tokenizers from llama.cpp (shared/data/tokenizers): every .inp text must give
// exactly the ids in .out (made by the Hugging Face tokenizer of the same model, no BOS).
#include <gtest/gtest.h>

#include <algorithm>
#include <fstream>
#include <sstream>

#include "core/error.h"
#include "io/gguf.h"
#include "test_util.h"
#include "text/tokenizer.h"

using namespace dsv3;

namespace {

std::string slurp(const std::string& p) {
  std::ifstream f(p, std::ios::binary);
  std::stringstream ss;
  ss << f.rdbuf();
  return ss.str();
}

std::vector<std::string> split_on(const std::string& s, const std::string& sep) {
  std::vector<std::string> out;
  size_t pos = 0;
  while (true) {
    size_t k = s.find(sep, pos);
    if (k == std::string::npos) {
      out.push_back(s.substr(pos));
      return out;
    }
    out.push_back(s.substr(pos, k - pos));
    pos = k + sep.size();
  }
}

void check_vectors(const std::string& name) {
  std::string base = test::shared_path("data/tokenizers/ggml-vocab-" + name + ".gguf");
  auto tok = Tokenizer::from_file(base);
  std::vector<std::string> inputs = split_on(slurp(base + ".inp"), "\n__ggml_vocab_test__\n");
  std::vector<std::string> outputs = split_on(slurp(base + ".out"), "\n");
  ASSERT_EQ(inputs.size(), outputs.size());
  ASSERT_GT(inputs.size(), 40u);
  // Both files end with a separator, leaving one empty trailing entry.
  ASSERT_EQ(inputs.back(), "");
  size_t n = inputs.size() - 1, failures = 0;
  for (size_t k = 0; k < n; ++k) {
    std::vector<int32_t> want;
    std::istringstream ss(outputs[k]);
    for (int32_t v; ss >> v;) want.push_back(v);
    std::vector<int32_t> got = tok->encode(inputs[k], false);
    EXPECT_EQ(got, want) << name << " case " << k << ": '" << inputs[k] << "'";
    failures += got != want;
    // decode(encode(x)) == x unless an added token is involved: HF passes added tokens such as
    // DeepSeek LLM's "ü" (id 100014) through the ByteLevel decoder, which maps "ü" to byte 0xFC.
    bool has_added = false;
    for (const auto& a : tok->added_tokens())
      has_added = has_added || std::count(got.begin(), got.end(), a.id);
    if (!has_added) EXPECT_EQ(tok->decode(got, false), inputs[k]) << name << " case " << k;
  }
  EXPECT_EQ(failures, 0u) << name << ": " << failures << " of " << n << " cases differ";
}

}  // namespace

TEST(TokenizerGguf, DeepSeekLlmVectors) {
  check_vectors("deepseek-llm");
}
TEST(TokenizerGguf, DeepSeekCoderVectors) {
  check_vectors("deepseek-coder");
}
TEST(TokenizerGguf, Gpt2Vectors) {
  check_vectors("gpt-2");
}

TEST(TokenizerGguf, MetadataOfDeepSeekLlm) {
  auto g = GgufFile::open(test::shared_path("data/tokenizers/ggml-vocab-deepseek-llm.gguf"));
  EXPECT_EQ(g->get_string("tokenizer.ggml.model"), "gpt2");
  EXPECT_EQ(g->get_string("tokenizer.ggml.pre"), "deepseek-llm");
  auto tok = Tokenizer::from_gguf(*g);
  // DeepSeek LLM: BOS 100000 <｜begin▁of▁sentence｜>, EOS 100001 (architecture.md §14.4).
  EXPECT_EQ(tok->bos_id(), 100000);
  EXPECT_EQ(tok->eos_id(), 100001);
  EXPECT_EQ(tok->token_text(100000), "<｜begin▁of▁sentence｜>");
  EXPECT_TRUE(tok->is_special(100000));
  // Special tokens written in the text are recognised.
  auto ids = tok->encode("a<｜end▁of▁sentence｜>b", false);
  ASSERT_EQ(ids.size(), 3u);
  EXPECT_EQ(ids[1], 100001);
  EXPECT_EQ(tok->decode(ids, true), "ab");
}
