// Tests of io/hf_index: the index writer reproduces, byte for byte, the index transformers'
// save_pretrained wrote for a tiny DeepSeek-V3 (tests/data/loader/hf_saved) and Python's json
// formatting of escapes (tests/data/loader/index_escapes.json); both made by
// scripts/make_loader_refs.py. Also: a transformers-written folder loads through Checkpoint.
#include <gtest/gtest.h>

#include <filesystem>

#include "io/checkpoint.h"
#include "io/hf_index.h"
#include "io/json_util.h"
#include "loader_test_util.h"
#include "test_util.h"

using namespace dsv3;
using namespace dsv3::test;
namespace fs = std::filesystem;

TEST(HfIndexLoader, TransformersFolderLoadsAndIndexIsReproduced) {
  const std::string d = data_path("loader/hf_saved");
  auto ck = Checkpoint::open(d);
  EXPECT_EQ(ck->layout(), "model.safetensors.index.json");
  EXPECT_EQ(ck->config().at("model_type"), "deepseek_v3");
  nlohmann::json ref = read_json_file(index_path(d));
  EXPECT_EQ(ck->tensors().size(), ref["weight_map"].size());
  EXPECT_EQ(ck->total_bytes(), ref["metadata"]["total_size"].get<uint64_t>());
  for (const auto& [name, t] : ck->tensors()) EXPECT_EQ(t->dtype, DType::BF16) << name;
  ASSERT_NE(ck->find("model.layers.1.mlp.experts.3.down_proj.weight"), nullptr);

  std::map<std::string, std::string> wm;
  for (const auto& [name, t] : ck->tensors()) wm[name] = fs::path(t->file).filename().string();
  const std::string out = temp_dir("idx");
  write_index(out, wm, ck->total_bytes(),
              {{"total_parameters", ref["metadata"]["total_parameters"]}});
  EXPECT_EQ(read_bytes(index_path(out)), read_bytes(index_path(d)));
  EXPECT_FALSE(fs::exists(index_path(out) + ".tmp"));
}

TEST(HfIndexLoader, EscapesLikePythonJson) {
  const std::string out = temp_dir("idx");
  write_index(out,
              {{"\xc3\xbc"
                "n\xc3\xaf.w",
                "a.safetensors"},
               {"b\"q\\.w", "a.safetensors"},
               {"Z.w", "b.safetensors"},
               {"\xf0\x9f\x98\x80.w", "b.safetensors"}},
              10);
  EXPECT_EQ(read_bytes(index_path(out)), read_bytes(data_path("loader/index_escapes.json")));
}

TEST(HfIndexLoader, WrittenIndexRoundTripsThroughCheckpoint) {
  const std::string d = temp_dir("idx");
  write_bytes(d + "/config.json", "{\"model_type\": \"deepseek_v3\"}");
  float a = 1.f, b = 2.f, c = 3.f;
  write_safetensors(d + "/s1.safetensors",
                    {{"a", DType::F32, {1}, &a, 4}, {"b", DType::F32, {1}, &b, 4}});
  write_safetensors(d + "/s2.safetensors", {{"c", DType::F32, {1}, &c, 4}});
  write_index(d, {{"a", "s1.safetensors"}, {"b", "s1.safetensors"}, {"c", "s2.safetensors"}}, 12);
  auto ck = Checkpoint::open(d);
  EXPECT_EQ(ck->layout(), "model.safetensors.index.json");
  EXPECT_EQ(ck->find("c")->view().as<float>()[0], 3.f);
  EXPECT_EQ(ck->total_bytes(), 12u);
}

TEST(HfIndexLoader, WriterRejectsBadInput) {
  const std::string d = temp_dir("idx");
  expect_error([&] { write_index(d, {}, 0); }, {index_path(d), "empty"});
  for (const std::string bad : {"../x.safetensors", "/abs.safetensors", "a/b", "..", ""})
    expect_error(
        [&] {
          write_index(d, {{"t.w", bad}}, 0);
        },
        {index_path(d), "tensor 't.w'", "not a plain file name"});
  expect_error(
      [&] {
        write_index(d, {{"t.w", "a.safetensors"}}, 0, nlohmann::json::array());
      },
      {"must be a JSON object"});
  expect_error([&] { write_index(d, {{"bad\xff", "a.safetensors"}}, 0); }, {"UTF-8"});
  EXPECT_FALSE(fs::exists(index_path(d)));
  expect_error(
      [&] {
        write_index(d + "/missing", {{"t", "a.safetensors"}}, 0);
      },
      {"cannot create"});
}
