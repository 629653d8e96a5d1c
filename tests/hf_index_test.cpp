// Tests of io/hf_index: the index writer reproduces, byte for byte, the index transformers'
// save_pretrained wrote for a tiny DeepSeek-V3 (tests/data/loader/hf_saved) and Python's json
// formatting of escapes (tests/data/loader/index_escapes.json); both made by
// scripts/make_loader_refs.py. Also: a transformers-written folder loads through Checkpoint, and
// write_sharded splits and writes shards byte-identical to huggingface_hub's save_torch_state_dict
// (tests/data/loader/sharded, sharded_big).
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

namespace {

// Tensors of a hub-written folder in the original state-dict order (the index lists them in
// shard order, insertion-ordered), and the reference weight_map.
struct HubFolder {
  std::unique_ptr<Checkpoint> ck;  // kept alive: the TensorToWrite point into its mmap
  std::vector<TensorToWrite> tensors;
  std::map<std::string, std::string> weight_map;
};

HubFolder read_hub_folder(const std::string& d) {
  if (!fs::exists(d + "/config.json")) {  // Checkpoint needs one; sharded_big has none
    std::string copy = temp_dir("idx") + "/f";
    fs::copy(d, copy);
    write_bytes(copy + "/config.json", "{}");
    return read_hub_folder(copy);
  }
  HubFolder h;
  h.ck = Checkpoint::open(d);
  auto idx = nlohmann::ordered_json::parse(read_bytes(index_path(d)));
  for (auto it = idx["weight_map"].begin(); it != idx["weight_map"].end(); ++it) {
    const StoredTensor* t = h.ck->find(it.key());
    EXPECT_NE(t, nullptr) << it.key();
    h.tensors.push_back({t->name, t->dtype, t->shape, t->data, t->nbytes});
    h.weight_map[it.key()] = it.value().get<std::string>();
  }
  return h;
}

void expect_same_as_hub(const std::string& ref, uint64_t max_shard) {
  HubFolder h = read_hub_folder(ref);
  const std::string out = temp_dir("idx");
  ShardPlan plan = write_sharded(out, h.tensors, max_shard, {{"format", "pt"}});
  std::map<std::string, std::string> ours;
  for (const auto& [file, idx] : plan.shards) {
    EXPECT_EQ(read_bytes(out + "/" + file), read_bytes(ref + "/" + file)) << file;
    for (size_t i : idx) ours[h.tensors[i].name] = file;
  }
  EXPECT_EQ(ours, h.weight_map);
  nlohmann::json ref_idx = read_json_file(index_path(ref));
  EXPECT_EQ(plan.total_size, ref_idx["metadata"]["total_size"].get<uint64_t>());
  nlohmann::json our_idx = read_json_file(index_path(out));
  EXPECT_EQ(our_idx["weight_map"], ref_idx["weight_map"]);
  EXPECT_EQ(our_idx["metadata"]["total_size"], ref_idx["metadata"]["total_size"]);
}

}  // namespace

TEST(HfIndexLoader, ShardsLikeHuggingfaceHub) {
  expect_same_as_hub(data_path("loader/sharded"), 6000);
  // A tensor above the limit gets its own shard, before the shard being filled.
  expect_same_as_hub(data_path("loader/sharded_big"), 1000);
}

TEST(HfIndexLoader, SingleShardIsModelSafetensors) {
  HubFolder h = read_hub_folder(data_path("loader/sharded"));
  const std::string out = temp_dir("idx");
  ShardPlan plan = write_sharded(out, h.tensors, uint64_t(1) << 30);
  ASSERT_EQ(plan.shards.size(), 1u);
  EXPECT_EQ(plan.shards[0].first, "model.safetensors");
  EXPECT_FALSE(fs::exists(index_path(out)));
  write_bytes(out + "/config.json", "{}");
  auto ck = Checkpoint::open(out);
  EXPECT_EQ(ck->layout(), "model.safetensors");
  EXPECT_EQ(ck->tensors().size(), h.tensors.size());
  EXPECT_EQ(ck->total_bytes(), plan.total_size);
  expect_error([&] { plan_shards({}, 10); }, {"no tensors"});
  expect_error([&] { plan_shards(h.tensors, 0); }, {"must be positive"});
}
