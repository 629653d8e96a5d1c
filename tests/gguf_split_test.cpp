// Split GGUF models (llama.cpp's gguf-split: NAME-00001-of-0000N.gguf, ...):
//   * tests/data/gguf-split holds tiny-qwen2-q8_0.gguf split by llama.cpp's own
//     llama-gguf-split (--split-max-tensors 10: 3 shards); opened from any shard it is one
//     tensor table equal to the unsplit file's (same bytes), and the test writer
//     (gguf_split_writer.h) reproduces those shards byte for byte;
//   * split models (that file, and writer-made splits of the dense llama and the deepseek2
//     GGUFs, with and without tensors in shard 1) give logits bit-identical to the unsplit file;
//   * every broken split is a clear dsv3::Error: a missing shard, a renamed shard, a wrong
//     split.count or split.no, a shard of another model, a tensor in two shards, a wrong
//     split.tensors.count; truncated and corrupted shards fail cleanly (never crash; the ASan
//     build runs this too);
//   * `dsv3 gguf-info` lists the shards.
#include <gtest/gtest.h>

#include <cstdio>
#include <cstring>
#include <filesystem>
#include <fstream>

#include "core/error.h"
#include "gguf_split_writer.h"
#include "io/gguf.h"
#include "model/forward.h"
#include "model/model.h"
#include "runtime/kv_cache.h"
#include "test_util.h"

using namespace dsv3;
namespace fs = std::filesystem;

namespace {

const char* kQwenSplit = "gguf-split/tiny-qwen2-q8_0-00001-of-00003.gguf";

std::string read_bytes(const std::string& p) {
  std::ifstream f(p, std::ios::binary);
  return std::string((std::istreambuf_iterator<char>(f)), std::istreambuf_iterator<char>());
}
void write_bytes(const std::string& p, const std::string& b) {
  std::ofstream(p, std::ios::binary | std::ios::trunc).write(b.data(), std::streamsize(b.size()));
}

std::vector<float> logits_of(const Model& m, const std::vector<int32_t>& toks) {
  KvCache cache(m.config, m.config.num_hidden_layers, int64_t(toks.size()) + 1, DType::F32);
  std::vector<float> out(toks.size() * size_t(m.config.vocab_size));
  ForwardOptions opt;
  opt.all_logits = true;
  forward(m, cache, toks.data(), int64_t(toks.size()), 0, out.data(), nullptr, opt);
  return out;
}

// The error message of loading `path` as a model ("" when it loads).
std::string load_error(const std::string& path) {
  try {
    (void)Model::load(path);
  } catch (const Error& e) {
    return e.what();
  }
  return "";
}

TEST(GgufSplit, NamingFollowsLlamaCpp) {
  EXPECT_EQ(gguf_split_path("d/m", 0, 3), "d/m-00001-of-00003.gguf");
  EXPECT_EQ(gguf_split_path("m", 11, 12), "m-00012-of-00012.gguf");
  std::string p;
  EXPECT_TRUE(gguf_split_prefix("d/m-00002-of-00003.gguf", 1, 3, &p));
  EXPECT_EQ(p, "d/m");
  EXPECT_FALSE(gguf_split_prefix("d/m-00002-of-00003.gguf", 0, 3, &p));
  EXPECT_FALSE(gguf_split_prefix("d/m-00002-of-00004.gguf", 1, 3, &p));
  EXPECT_FALSE(gguf_split_prefix("-00002-of-00003.gguf", 1, 3, &p));
  EXPECT_FALSE(gguf_split_prefix("m.gguf", 0, 1, &p));
}

TEST(GgufSplit, LlamaCppShardsFormOneTableFromAnyShard) {
  auto whole = GgufFile::open(test::data_path("tiny-qwen2/tiny-qwen2-q8_0.gguf"));
  for (int k = 1; k <= 3; ++k) {
    const std::string p =
        test::data_path("gguf-split/tiny-qwen2-q8_0-0000" + std::to_string(k) + "-of-00003.gguf");
    auto g = GgufFile::open(p);
    ASSERT_EQ(g->shards().size(), 3u) << p;
    EXPECT_EQ(g->shards()[0].n_tensors + g->shards()[1].n_tensors + g->shards()[2].n_tensors, 26u);
    EXPECT_NE(g->name().find("-00001-of-00003.gguf"), std::string::npos) << "metadata is shard 1's";
    EXPECT_EQ(g->get_string("general.architecture"), "qwen2");
    EXPECT_EQ(g->get_int("split.count"), 3);
    EXPECT_EQ(g->metadata().size(), whole->metadata().size() + 3);
    ASSERT_EQ(g->tensors().size(), whole->tensors().size());
    for (size_t i = 0; i < whole->tensors().size(); ++i) {
      const GgufTensorInfo& a = whole->tensors()[i];
      const GgufTensorInfo* b = g->find_tensor(a.name);
      ASSERT_TRUE(b) << a.name;
      EXPECT_EQ(b->type, a.type) << a.name;
      EXPECT_EQ(b->dims, a.dims) << a.name;
      ASSERT_EQ(b->n_bytes, a.n_bytes) << a.name;
      EXPECT_EQ(0, std::memcmp(a.data, b->data, size_t(a.n_bytes))) << a.name;
      EXPECT_EQ(b->shard, uint32_t(i / 10)) << a.name;  // --split-max-tensors 10
    }
  }
}

TEST(GgufSplit, WriterReproducesLlamaCppGgufSplitBytes) {
  auto whole = GgufFile::open(test::data_path("tiny-qwen2/tiny-qwen2-q8_0.gguf"));
  const test::ScopedTempDir tmp("gguf_split_writer");
  const std::string& dir = tmp.path;
  auto paths =
      test::write_split(*whole, dir + "/tiny-qwen2-q8_0", test::plan_max_tensors(*whole, 10));
  ASSERT_EQ(paths.size(), 3u);
  for (int k = 0; k < 3; ++k) {
    const std::string ref =
        test::data_path("gguf-split/" + fs::path(paths[size_t(k)]).filename().string());
    EXPECT_EQ(read_bytes(paths[size_t(k)]), read_bytes(ref)) << ref;
  }
}

struct SplitCase {
  const char* gguf;      // under tests/data
  size_t max_tensors;    // 0: the committed llama-gguf-split shards of tiny-qwen2
  bool no_tensor_first;  // shard 1 holds metadata only (gguf-split --no-tensor-first-split)
  std::vector<int32_t> prompt;
};
const SplitCase kSplitCases[] = {
    {"tiny-qwen2/tiny-qwen2-q8_0.gguf", 0, false, {382, 5, 17, 40, 99, 3, 250, 7}},
    {"tiny-llama/tiny-llama-q8_0.gguf", 7, true, {1, 5, 17, 40, 99, 3, 250, 7}},
    {"gguf-deepseek2/builtin-q8_0.gguf", 16, false, {0, 5, 17, 40, 99, 3, 250, 7}},
    {"gguf-deepseek2/tiny-v2-lite-bf16.gguf", 9, true, {1, 5, 17, 40, 99, 3, 250, 7}},
};

class GgufSplitModel : public ::testing::TestWithParam<SplitCase> {};

TEST_P(GgufSplitModel, LogitsBitIdenticalToUnsplitFile) {
  const SplitCase& c = GetParam();
  const std::string whole_path = test::data_path(c.gguf);
  const test::ScopedTempDir tmp("gguf_split_model");
  std::vector<std::string> shards;
  if (c.max_tensors == 0) {
    for (int k = 1; k <= 3; ++k)
      shards.push_back(test::data_path("gguf-split/tiny-qwen2-q8_0-0000" + std::to_string(k) +
                                       "-of-00003.gguf"));
  } else {
    auto whole = GgufFile::open(whole_path);
    shards = test::write_split(*whole, tmp.path + "/m",
                               test::plan_max_tensors(*whole, c.max_tensors, c.no_tensor_first));
  }
  ASSERT_GE(shards.size(), 3u);
  auto mw = Model::load(whole_path);
  const std::vector<float> want = logits_of(*mw, c.prompt);
  for (const std::string& s : {shards.front(), shards.back()}) {
    auto ms = Model::load(s);
    ASSERT_EQ(ms->gguf->shards().size(), shards.size());
    const std::vector<float> got = logits_of(*ms, c.prompt);
    ASSERT_EQ(got.size(), want.size());
    EXPECT_EQ(0, std::memcmp(got.data(), want.data(), want.size() * sizeof(float))) << s;
  }
}

INSTANTIATE_TEST_SUITE_P(Files, GgufSplitModel, ::testing::ValuesIn(kSplitCases),
                         [](const ::testing::TestParamInfo<SplitCase>& i) {
                           return "case" + std::to_string(i.index);
                         });

// Broken splits of tiny-qwen2 (26 tensors, 3 shards of 10/10/6) made by the writer; each load
// must fail with a message naming the problem (and, where it helps, the file).
TEST(GgufSplit, BrokenSplitsAreClearErrors) {
  auto whole = GgufFile::open(test::data_path("tiny-qwen2/tiny-qwen2-q8_0.gguf"));
  auto other = GgufFile::open(test::data_path("tiny-llama/tiny-llama-q8_0.gguf"));
  const test::SplitPlan good = test::plan_max_tensors(*whole, 10);
  int n = 0;
  auto check = [&](const test::SplitPlan& plan,
                   const std::function<void(std::vector<std::string>&)>& damage, int open_shard,
                   std::vector<std::string> expect) {
    const test::ScopedTempDir tmp("gguf_split_bad");
    const std::string& dir = tmp.path;
    std::vector<std::string> paths = test::write_split(*whole, dir + "/m", plan);
    if (damage) damage(paths);
    const std::string e = load_error(paths.at(size_t(open_shard)));
    ++n;
    ASSERT_NE(e, "") << "case " << n << " loaded";
    for (const std::string& x : expect)
      EXPECT_NE(e.find(x), std::string::npos) << "case " << n << ": " << e;
  };
  // 1. A missing shard: named with the path expected.
  check(good, [](auto& p) { fs::remove(p[1]); }, 0,
        {"shard 2 of 3", "missing", "m-00002-of-00003.gguf"});
  check(good, [](auto& p) { fs::remove(p[0]); }, 2,
        {"shard 1 of 3", "missing", "m-00001-of-00003.gguf"});
  // 2. A shard renamed: its siblings cannot be found.
  check(good,
        [](auto& p) {
          fs::rename(p[0], p[0] + ".renamed.gguf");
          p[0] += ".renamed.gguf";
        },
        0, {"cannot be found", "-00001-of-00003.gguf"});
  // 3. Wrong count: shard 2 says split.count 4 (file names say 3).
  test::SplitPlan bad = good;
  bad.edit = [](size_t k, test::SplitKeys& s) {
    if (k == 1) s.count = 4;
  };
  check(bad, nullptr, 0, {"split.count = 4", "m-00002-of-00003.gguf"});
  // 4. Wrong split.no: shard 2 claims to be shard 3.
  bad.edit = [](size_t k, test::SplitKeys& s) {
    if (k == 1) s.no = 2;
  };
  check(bad, nullptr, 0, {"split.no = 2", "expected 1"});
  bad.edit = [](size_t k, test::SplitKeys& s) {
    if (k == 1) s.no = 7;
  };
  check(bad, nullptr, 0, {"split.no", "out of range"});
  // 5. A shard of another model (tiny-llama split the same way, 3 shards): other tensor count.
  {
    const test::ScopedTempDir otmp("gguf_split_other");
    const std::string& odir = otmp.path;
    auto op = test::write_split(*other, odir + "/o", test::plan_max_tensors(*other, 8));
    ASSERT_EQ(op.size(), 3u);
    check(good, [&](auto& p) { fs::copy_file(op[2], p[2], fs::copy_options::overwrite_existing); },
          0, {"split.tensors.count", "m-00003-of-00003.gguf", "another model"});
  }
  // 6. The same tensor in two shards.
  bad = good;
  bad.edit = nullptr;
  bad.shards[1].insert(bad.shards[1].begin(), bad.shards[0].back());
  check(bad, nullptr, 0, {"tensor '", "also in shard 1"});
  // 7. split.tensors.count disagreeing with the tensors found (a tensor dropped everywhere).
  bad = good;
  bad.shards[2].pop_back();
  bad.edit = [](size_t, test::SplitKeys& s) { s.tensors = 26; };
  check(bad, nullptr, 0, {"split.tensors.count = 26", "hold 25 tensors"});
  // 8. Shard 1 without the split keys of the others (shard 2 opened): a shard of no split.
  check(good,
        [&](auto& p) {
          fs::copy_file(test::data_path("tiny-qwen2/tiny-qwen2-q8_0.gguf"), p[0],
                        fs::copy_options::overwrite_existing);
        },
        1, {"without 'split.count'"});
  // 9. Fewer shards handed to merge_shards than split.count says.
  std::vector<std::unique_ptr<GgufFile>> two;
  two.push_back(GgufFile::open(test::data_path("gguf-split/tiny-qwen2-q8_0-00001-of-00003.gguf")));
  two.push_back(GgufFile::open(test::data_path("gguf-split/tiny-qwen2-q8_0-00002-of-00003.gguf")));
  try {
    (void)GgufFile::merge_shards(std::move(two));
    ADD_FAILURE() << "2 of 3 shards merged";
  } catch (const Error& e) {
    EXPECT_NE(std::string(e.what()).find("split.count = 3 but 2 shard(s)"), std::string::npos)
        << e.what();
  }
}

// Truncated and corrupted copies of each shard: an Error (or, for a flip that leaves a valid
// file, a model that loads and runs), never a crash. Every truncation must be refused.
TEST(GgufSplitFuzz, TruncatedAndCorruptedShardsFailCleanly) {
  const test::ScopedTempDir tmp("gguf_split_fuzz");
  const std::string& dir = tmp.path;
  std::vector<std::string> orig, paths;
  for (int k = 1; k <= 3; ++k) {
    const std::string name = "tiny-qwen2-q8_0-0000" + std::to_string(k) + "-of-00003.gguf";
    orig.push_back(read_bytes(test::data_path("gguf-split/" + name)));
    paths.push_back(dir + "/" + name);
    write_bytes(paths.back(), orig.back());
  }
  int errors = 0, loads = 0;
  auto try_load = [&](const std::string& what, bool must_fail) {
    try {
      auto m = Model::load(paths[0]);
      (void)logits_of(*m, {382, 5, 17});
      ++loads;
      EXPECT_FALSE(must_fail) << what << " loaded";
    } catch (const Error& e) {
      EXPECT_NE(std::string(e.what()), "") << what;
      ++errors;
    }
  };
  uint32_t x = 777;
  auto rnd = [&] {
    x = x * 1664525u + 1013904223u;
    return x;
  };
  for (size_t s = 0; s < 3; ++s) {
    const std::string& b = orig[s];
    const size_t n = b.size();
    for (size_t len :
         {size_t(0), size_t(4), size_t(23), size_t(100), size_t(700), n / 3, n / 2, n - 32}) {
      write_bytes(paths[s], b.substr(0, len));
      try_load("shard " + std::to_string(s + 1) + " truncated to " + std::to_string(len), true);
    }
    for (int k = 0; k < 60; ++k) {
      std::string v = b;
      const size_t header_end = std::min<size_t>(n, s == 0 ? 10000 : 1200);
      const size_t pos = k < 50 ? rnd() % header_end : rnd() % n;
      const uint8_t pat[] = {0xff, 0x00, 0x7f, 0x80};
      v[pos] = char(pat[k % 4]);
      if (k % 3 == 0 && pos + 1 < n) v[pos + 1] = char(0xff);
      write_bytes(paths[s], v);
      try_load("shard " + std::to_string(s + 1) + " byte " + std::to_string(pos), false);
    }
    write_bytes(paths[s], b);
  }
  std::fprintf(stderr, "split fuzz: %d copies refused with dsv3::Error, %d loaded and ran\n",
               errors, loads);
  EXPECT_GE(errors, 24);
}

TEST(GgufSplitCli, GgufInfoListsShards) {
  auto r = test::run_cli("gguf-info " +
                         test::data_path("gguf-split/tiny-qwen2-q8_0-00002-of-00003.gguf") +
                         " --tensors");
  ASSERT_EQ(r.exit_code, 0) << r.err;
  EXPECT_NE(r.out.find("shards: 3\n"), std::string::npos) << r.out;
  EXPECT_NE(r.out.find("tiny-qwen2-q8_0-00003-of-00003.gguf ("), std::string::npos) << r.out;
  EXPECT_NE(r.out.find("tensors: 26,"), std::string::npos) << r.out;
  EXPECT_NE(r.out.find("split.count (u16) = 3"), std::string::npos) << r.out;
  EXPECT_NE(r.out.find(" shard 3\n"), std::string::npos) << r.out;
  const test::ScopedTempDir tmp("gguf_split_cli");
  const std::string& dir = tmp.path;
  fs::copy_file(test::data_path("gguf-split/tiny-qwen2-q8_0-00001-of-00003.gguf"),
                dir + "/tiny-qwen2-q8_0-00001-of-00003.gguf");
  r = test::run_cli("gguf-info " + dir + "/tiny-qwen2-q8_0-00001-of-00003.gguf");
  EXPECT_EQ(r.exit_code, 1);
  EXPECT_NE(r.err.find("shard 2 of 3"), std::string::npos) << r.err;
}

}  // namespace
