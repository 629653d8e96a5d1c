// Tests of io/checkpoint: a sharded folder written by huggingface_hub (tests/data/loader/sharded,
// made by scripts/make_loader_refs.py) loads with correct values, and every folder-level error
// (missing/malformed config, bad index, path traversal, missing shard, index/shard mismatch,
// tensor in two files) is reported with the file and tensor named.
#include <gtest/gtest.h>

#include <cmath>
#include <cstring>
#include <filesystem>
#include <fstream>

#include "io/checkpoint.h"
#include "io/json_util.h"
#include "loader_test_util.h"
#include "test_util.h"

using namespace dsv3;
using namespace dsv3::test;
namespace fs = std::filesystem;

namespace {

const char* kShard1 = "model-00001-of-00004.safetensors";
const char* kShard2 = "model-00002-of-00004.safetensors";

// A private copy of the reference sharded folder that a test may damage.
std::string copy_sharded() {
  std::string d = temp_dir("ck") + "/m";
  fs::copy(data_path("loader/sharded"), d, fs::copy_options::recursive);
  return d;
}

nlohmann::json read_index(const std::string& d) {
  return read_json_file(d + "/model.safetensors.index.json");
}

void write_index_json(const std::string& d, const nlohmann::json& j) {
  write_bytes(d + "/model.safetensors.index.json", j.dump(2));
}

void write_f32(const std::string& path, const std::vector<std::pair<std::string, float>>& ts) {
  std::vector<TensorToWrite> w;
  for (const auto& [n, v] : ts) w.push_back({n, DType::F32, {1}, &v, 4});
  write_safetensors(path, w);
}

}  // namespace

TEST(CheckpointLoader, LoadsHubShardedFolder) {
  const std::string d = data_path("loader/sharded");
  auto ck = Checkpoint::open(d);
  EXPECT_EQ(ck->layout(), "model.safetensors.index.json");
  EXPECT_EQ(ck->config().at("model_type"), "deepseek_v3");
  EXPECT_EQ(ck->files().size(), 4u);
  ASSERT_EQ(ck->tensors().size(), 7u);

  // The index written by huggingface_hub is the reference for placement and total size.
  nlohmann::json idx = read_index(d);
  EXPECT_EQ(ck->total_bytes(), idx["metadata"]["total_size"].get<size_t>());
  for (auto it = idx["weight_map"].begin(); it != idx["weight_map"].end(); ++it) {
    const StoredTensor* t = ck->find(it.key());
    ASSERT_NE(t, nullptr) << it.key();
    EXPECT_EQ(fs::path(t->file).filename().string(), it.value().get<std::string>());
  }
  EXPECT_EQ(ck->find("no.such.tensor"), nullptr);

  // Values (closed formulas of scripts/make_loader_refs.py), read through the mmap'd pointers.
  for (int layer = 0; layer < 3; ++layer) {
    const StoredTensor* w = ck->find("model.layers." + std::to_string(layer) + ".mlp.weight");
    ASSERT_NE(w, nullptr);
    EXPECT_EQ(w->dtype, DType::BF16);
    EXPECT_EQ(w->shape, (std::vector<int64_t>{48, 40}));
    for (size_t i = 0; i < 48 * 40; ++i) {
      uint16_t b;
      std::memcpy(&b, w->data + 2 * i, 2);
      ASSERT_EQ(bf16_to_f32(b), float(i % 17) * 0.125f - 1 + float(layer)) << i;
    }
    const StoredTensor* n = ck->find("model.layers." + std::to_string(layer) + ".norm.weight");
    ASSERT_NE(n, nullptr);
    TensorView v = n->view();
    for (int i = 0; i < 40; ++i) EXPECT_EQ(v.as<float>()[i], 1.0f + float(layer));
  }
  TensorView e = ck->find("model.embed_tokens.weight")->view();
  EXPECT_EQ(e.rows(), 30);
  EXPECT_EQ(e.cols(), 40);
  for (int64_t i = 0; i < 30 * 40; ++i) ASSERT_EQ(e.as<float>()[i], float(i % 9 - 4)) << i;

  size_t file_sizes = 0;
  for (const auto& f : fs::directory_iterator(d))
    if (f.path().extension() == ".safetensors") file_sizes += fs::file_size(f.path());
  EXPECT_EQ(ck->mapped_bytes(), file_sizes);
  EXPECT_EQ(ck->copied_bytes(), 0u);
  EXPECT_NE(ck->memory_summary().find("4 files"), std::string::npos) << ck->memory_summary();
  EXPECT_NE(ck->memory_summary().find("7 tensors (16.4 KiB)"), std::string::npos)
      << ck->memory_summary();
}

TEST(CheckpointLoader, RejectsMissingOrNonDirectory) {
  const std::string d = temp_dir("ck");
  expect_error([&] { Checkpoint::open(d + "/absent"); }, {d + "/absent", "does not exist"});
  write_bytes(d + "/file", "x");
  expect_error([&] { Checkpoint::open(d + "/file"); }, {d + "/file", "not a directory"});
}

TEST(CheckpointLoader, RejectsMissingOrMalformedConfig) {
  std::string d = copy_sharded();
  fs::remove(d + "/config.json");
  expect_error([&] { Checkpoint::open(d); }, {d + "/config.json", "not found"});
  write_bytes(d + "/config.json", "{\"model_type\": \"deepseek_v3\",}");
  expect_error([&] { Checkpoint::open(d); }, {d + "/config.json", "malformed JSON"});
  write_bytes(d + "/config.json", "{\"a\": 1, \"a\": 2}");
  expect_error([&] { Checkpoint::open(d); }, {d + "/config.json", "duplicate key 'a'"});
  write_bytes(d + "/config.json", "[]");
  expect_error([&] { Checkpoint::open(d); }, {d + "/config.json", "expected a JSON object"});
}

TEST(CheckpointLoader, RejectsMalformedIndex) {
  std::string d = copy_sharded();
  const std::string ip = d + "/model.safetensors.index.json";
  write_bytes(ip, "{\"weight_map\": {\"a\": ");
  expect_error([&] { Checkpoint::open(d); }, {ip, "malformed JSON"});
  write_bytes(ip, "{\"metadata\": {}}");
  expect_error([&] { Checkpoint::open(d); }, {ip, "missing \"weight_map\""});
  write_bytes(ip, "{\"weight_map\": []}");
  expect_error([&] { Checkpoint::open(d); }, {ip, "\"weight_map\" must be an object"});
  write_bytes(ip, "{\"weight_map\": {}}");
  expect_error([&] { Checkpoint::open(d); }, {ip, "empty"});
  write_bytes(ip, "{\"weight_map\": {\"t.weight\": 3}}");
  expect_error([&] { Checkpoint::open(d); }, {ip, "tensor 't.weight'", "must be a string"});
}

TEST(CheckpointLoader, RejectsShardPathsOutsideFolder) {
  std::string d = copy_sharded();
  const std::string ip = d + "/model.safetensors.index.json";
  // A real file outside the folder that traversal would reach.
  write_f32(d + "/../outside.safetensors", {{"model.layers.0.norm.weight", 1.0f}});
  for (const std::string bad : {"../outside.safetensors", "/etc/passwd", "sub/x.safetensors", "..",
                                ".", "", "a\\b.safetensors"}) {
    nlohmann::json idx = read_index(d);
    idx["weight_map"]["model.layers.0.norm.weight"] = bad;
    write_index_json(d, idx);
    expect_error([&] { Checkpoint::open(d); }, {ip, "tensor 'model.layers.0.norm.weight'",
                                                "'" + bad + "'", "not a plain file name"});
  }
}

TEST(CheckpointLoader, RejectsMissingShard) {
  std::string d = copy_sharded();
  fs::remove(d + "/" + kShard2);
  expect_error([&] { Checkpoint::open(d); },
               {d + "/model.safetensors.index.json", std::string("shard '") + kShard2 + "'",
                "model.layers.1.", "not found"});
}

TEST(CheckpointLoader, RejectsIndexedTensorMissingFromShard) {
  std::string d = copy_sharded();
  nlohmann::json idx = read_index(d);
  idx["weight_map"]["model.layers.0.extra.weight"] = kShard1;
  write_index_json(d, idx);
  expect_error([&] { Checkpoint::open(d); },
               {d + "/model.safetensors.index.json", "tensor 'model.layers.0.extra.weight'",
                "is missing from", kShard1});
}

TEST(CheckpointLoader, RejectsShardTensorNotInIndexOrInWrongShard) {
  std::string d = copy_sharded();
  nlohmann::json idx = read_index(d);
  idx["weight_map"].erase("model.layers.1.norm.weight");
  write_index_json(d, idx);
  expect_error([&] { Checkpoint::open(d); },
               {kShard2, "tensor 'model.layers.1.norm.weight'", "not listed in"});
  idx["weight_map"]["model.layers.1.norm.weight"] = kShard1;
  write_index_json(d, idx);
  expect_error([&] { Checkpoint::open(d); }, {kShard2, "tensor 'model.layers.1.norm.weight'",
                                              std::string("for shard '") + kShard1});
}

TEST(CheckpointLoader, RejectsTensorInTwoShards) {
  std::string d = copy_sharded();
  write_f32(d + "/model-extra.safetensors",
            {{"extra.x", 0.f}, {"model.layers.0.norm.weight", 2.f}});
  nlohmann::json idx = read_index(d);
  idx["weight_map"]["extra.x"] = "model-extra.safetensors";
  write_index_json(d, idx);
  expect_error([&] { Checkpoint::open(d); },
               {"tensor 'model.layers.0.norm.weight'", "present in two files", kShard1,
                "model-extra.safetensors"});
}

TEST(CheckpointLoader, RejectsCorruptShard) {
  std::string d = copy_sharded();
  const std::string p = d + "/" + kShard2;
  std::string bytes = read_bytes(p);
  write_bytes(p, bytes.substr(0, bytes.size() - 3));
  expect_error([&] { Checkpoint::open(d); }, {p, "tensor 'model.layers.1.", "past end of file"});
}

TEST(CheckpointLoader, SingleFileWinsOverIndexLikeTransformers) {
  std::string d = copy_sharded();
  write_f32(d + "/model.safetensors", {{"only.weight", 5.f}});
  auto ck = Checkpoint::open(d);
  EXPECT_EQ(ck->layout(), "model.safetensors");
  ASSERT_EQ(ck->tensors().size(), 1u);
  EXPECT_EQ(ck->find("only.weight")->view().as<float>()[0], 5.f);
}

TEST(CheckpointLoader, GlobsSafetensorsFilesWhenNoIndex) {
  std::string d = temp_dir("ck");
  write_bytes(d + "/config.json", "{}");
  expect_error([&] { Checkpoint::open(d); }, {d, "no weights"});
  write_f32(d + "/b.safetensors", {{"b.w", 2.f}});
  write_f32(d + "/a.safetensors", {{"a.w", 1.f}});
  write_bytes(d + "/notes.txt", "ignored");
  auto ck = Checkpoint::open(d);
  EXPECT_EQ(ck->layout(), "*.safetensors");
  ASSERT_EQ(ck->files().size(), 2u);
  EXPECT_EQ(fs::path(ck->files()[0]->path()).filename(), "a.safetensors");
  EXPECT_EQ(ck->find("b.w")->view().as<float>()[0], 2.f);
  write_f32(d + "/c.safetensors", {{"a.w", 3.f}});
  expect_error([&] { Checkpoint::open(d); },
               {"tensor 'a.w'", "present in two files", "a.safetensors", "c.safetensors"});
}

TEST(CheckpointLoader, FollowsHubCacheSymlinks) {
  // The HF hub cache stores snapshots/<rev>/<file> as symlinks to ../../blobs/<hash>.
  std::string root = temp_dir("ck");
  fs::create_directories(root + "/blobs");
  fs::create_directories(root + "/snapshots/rev");
  for (const auto& f : fs::directory_iterator(data_path("loader/sharded"))) {
    const std::string name = f.path().filename().string();
    fs::copy_file(f.path(), root + "/blobs/" + name + ".blob");
    fs::create_symlink("../../blobs/" + name + ".blob", root + "/snapshots/rev/" + name);
  }
  auto ck = Checkpoint::open(root + "/snapshots/rev");
  EXPECT_EQ(ck->tensors().size(), 7u);
}
