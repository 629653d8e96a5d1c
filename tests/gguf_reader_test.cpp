// GGUF reader: a file built byte by byte here (layout from the GGUF spec in ggml's docs) is read
// back field by field; every truncation and a set of corruptions give dsv3::Error, never a crash.
#include <gtest/gtest.h>

#include <cstring>

#include "core/error.h"
#include "io/gguf.h"
#include "test_util.h"
#include "text/tokenizer.h"

using namespace dsv3;

namespace {

struct Builder {
  std::string b;
  template <typename T>
  void put(T v) {
    b.append(reinterpret_cast<const char*>(&v), sizeof v);
  }
  void str(const std::string& s) {
    put<uint64_t>(s.size());
    b += s;
  }
  void kv_str(const std::string& k, const std::string& v) {
    str(k);
    put<uint32_t>(8);
    str(v);
  }
  void kv_u32(const std::string& k, uint32_t v) {
    str(k);
    put<uint32_t>(4);
    put<uint32_t>(v);
  }
  void kv_str_array(const std::string& k, const std::vector<std::string>& v) {
    str(k);
    put<uint32_t>(9);
    put<uint32_t>(8);
    put<uint64_t>(v.size());
    for (const auto& s : v) str(s);
  }
  void kv_i32_array(const std::string& k, const std::vector<int32_t>& v) {
    str(k);
    put<uint32_t>(9);
    put<uint32_t>(5);
    put<uint64_t>(v.size());
    for (int32_t x : v) put(x);
  }
};

// A tiny vocab-only GGUF (byte-level BPE: "a", "b", "ab", "Ġ", "<s>") plus one f32 tensor.
std::string sample(uint32_t version = 3) {
  Builder g;
  g.b = "GGUF";
  g.put<uint32_t>(version);
  g.put<uint64_t>(1);   // tensors
  g.put<uint64_t>(10);  // kv
  g.kv_str("general.architecture", "llama");
  g.kv_u32("general.alignment", 32);
  g.kv_str("tokenizer.ggml.model", "gpt2");
  g.kv_str("tokenizer.ggml.pre", "gpt-2");
  g.kv_str_array("tokenizer.ggml.tokens", {"a", "b", "ab", "\xC4\xA0", "<s>"});
  g.kv_i32_array("tokenizer.ggml.token_type", {1, 1, 1, 1, 3});
  g.kv_str_array("tokenizer.ggml.merges", {"a b"});
  g.kv_u32("tokenizer.ggml.bos_token_id", 4);
  // bool and f64 scalars, nested array.
  g.str("test.flag");
  g.put<uint32_t>(7);
  g.put<uint8_t>(1);
  g.str("test.nested");
  g.put<uint32_t>(9);
  g.put<uint32_t>(9);
  g.put<uint64_t>(2);
  for (int k = 0; k < 2; ++k) {
    g.put<uint32_t>(12);
    g.put<uint64_t>(1);
    g.put<double>(0.5 + k);
  }
  // tensor info: "w", 2 dims [4, 2], f32, offset 0
  g.str("w");
  g.put<uint32_t>(2);
  g.put<int64_t>(4);
  g.put<int64_t>(2);
  g.put<uint32_t>(0);
  g.put<uint64_t>(0);
  while (g.b.size() % 32) g.b += '\0';
  for (int k = 0; k < 8; ++k) g.put<float>(float(k));
  return g.b;
}

std::unique_ptr<GgufFile> parse(const std::string& s) {
  return GgufFile::parse(reinterpret_cast<const uint8_t*>(s.data()), s.size(), "test.gguf");
}

}  // namespace

TEST(GgufReader, ReadsEveryField) {
  std::string s = sample();
  auto g = parse(s);
  EXPECT_EQ(g->version(), 3u);
  EXPECT_EQ(g->metadata().size(), 10u);
  EXPECT_EQ(g->get_string("general.architecture"), "llama");
  EXPECT_EQ(g->get_int("general.alignment"), 32);
  EXPECT_TRUE(g->get_bool("test.flag"));
  const GgufValue* n = g->find("test.nested");
  ASSERT_NE(n, nullptr);
  ASSERT_EQ(n->arrays.size(), 2u);
  EXPECT_EQ(n->arrays[1].float_at(0), 1.5);
  auto toks = g->get_string_array("tokenizer.ggml.tokens");
  ASSERT_EQ(toks.size(), 5u);
  EXPECT_EQ(toks[2], "ab");
  EXPECT_EQ(g->get_int_array("tokenizer.ggml.token_type")[4], 3);
  ASSERT_EQ(g->tensors().size(), 1u);
  const GgufTensorInfo* w = g->find_tensor("w");
  ASSERT_NE(w, nullptr);
  EXPECT_EQ(w->n_elements, 8u);
  EXPECT_EQ(w->n_bytes, 32u);
  EXPECT_EQ(g->data_offset() % 32, 0u);
  float f5;
  std::memcpy(&f5, w->data + 5 * 4, 4);
  EXPECT_EQ(f5, 5.0f);
  EXPECT_EQ(parse(sample(2))->version(), 2u);
  // Typed getters name the key on a type mismatch or absence.
  EXPECT_THROW(g->get_string("general.alignment"), Error);
  EXPECT_THROW(g->get_int("missing.key"), Error);
  EXPECT_EQ(g->get_int("missing.key", 7), 7);
}

TEST(GgufReader, TokenizerFromSyntheticGguf) {
  std::string s = sample();
  auto g = parse(s);
  auto tok = Tokenizer::from_gguf(*g);
  EXPECT_EQ(tok->encode("ab", false), (std::vector<int32_t>{2}));
  EXPECT_EQ(tok->encode("<s>ab", false), (std::vector<int32_t>{4, 2}));
  EXPECT_EQ(tok->bos_id(), 4);
  EXPECT_EQ(tok->decode({2, 2}, false), "abab");
}

TEST(GgufReader, EveryTruncationIsAnError) {
  std::string s = sample();
  size_t data_start = parse(s)->data_offset();
  for (size_t n = 0; n < s.size(); ++n) {
    std::string t = s.substr(0, n);
    // Cutting inside the tensor data must fail too (the tensor would lie outside the file).
    EXPECT_THROW(parse(t), Error) << "prefix of " << n << " bytes (data at " << data_start << ")";
  }
}

TEST(GgufReader, CorruptionsAreErrors) {
  std::string s = sample();
  auto corrupt = [&](size_t off, const std::string& bytes) {
    std::string t = s;
    t.replace(off, bytes.size(), bytes);
    return t;
  };
  EXPECT_THROW(parse(corrupt(0, "GGUX")), Error);                      // magic
  EXPECT_THROW(parse(corrupt(4, std::string("\1\0\0\0", 4))), Error);  // version 1
  EXPECT_THROW(parse(corrupt(4, std::string("\7\0\0\0", 4))), Error);  // version 7
  // Huge tensor / kv counts.
  EXPECT_THROW(parse(corrupt(8, std::string(8, '\xff'))), Error);
  EXPECT_THROW(parse(corrupt(16, std::string(8, '\x7f'))), Error);
  // Huge first key length.
  EXPECT_THROW(parse(corrupt(24, std::string(8, '\x7f'))), Error);
  // Unknown value type of the first kv (type field follows the key "general.architecture").
  size_t type_off = 24 + 8 + std::strlen("general.architecture");
  EXPECT_THROW(parse(corrupt(type_off, std::string("\x63\0\0\0", 4))), Error);
  // Random byte flips never crash (they may or may not be errors).
  uint32_t x = 12345;
  for (int k = 0; k < 3000; ++k) {
    x = x * 1664525u + 1013904223u;
    std::string t = s;
    t[x % t.size()] = char(x >> 24);
    try {
      auto g = parse(t);
      try {
        Tokenizer::from_gguf(*g);
      } catch (const Error&) {
      }
    } catch (const Error&) {
    }
  }
}

TEST(GgufReader, MissingFileAndNotGguf) {
  EXPECT_THROW(GgufFile::open("/nonexistent/file.gguf"), Error);
  EXPECT_THROW(GgufFile::open(test::data_path("tokenizers/corpus.jsonl")), Error);
}
