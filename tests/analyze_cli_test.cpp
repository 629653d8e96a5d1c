// CLI tests of `dsv3 analyze`: JSON output checked against the paper's figures, table output,
// exit codes for configs lacking fields, unknown presets and bad flags.
#include <gtest/gtest.h>

#include <nlohmann/json.hpp>

#include "test_util.h"

using dsv3::test::data_path;
using dsv3::test::run_cli;
using nlohmann::json;

namespace {
json parse_json(const dsv3::test::CliResult& r) {
  json j = json::parse(r.out, nullptr, false);
  EXPECT_FALSE(j.is_discarded()) << "stdout is not JSON:\n" << r.out << "\nstderr:\n" << r.err;
  return j;
}
}  // namespace

TEST(AnalyzeCli, JsonV3PaperFigures) {
  // --ep-hidden 7000 and --pretrain-gpu-hours 2664000 select the paper's own inputs.
  const auto r = run_cli(
      "analyze --preset deepseek-v3 --json --ep-hidden 7000 "
      "--pretrain-gpu-hours 2664000");
  ASSERT_EQ(r.exit_code, 0) << r.err;
  const json j = parse_json(r);
  ASSERT_TRUE(j.is_object());
  EXPECT_TRUE(j["skipped"].empty());
  // Byte counts are plain integers.
  ASSERT_TRUE(j["kv_cache"]["bytes_per_token"]["bf16"].is_number_integer());
  EXPECT_EQ(j["kv_cache"]["bytes_per_token"]["bf16"].get<int64_t>(), 70272);
  EXPECT_EQ(j["kv_cache"]["bytes_per_token"]["fp8"].get<int64_t>(), 35136);
  EXPECT_EQ(j["kv_cache"]["bytes_for_context"]["bf16"].get<int64_t>(), 70272LL * 131072);
  EXPECT_NEAR(j["flops"]["paper_gflops"].get<double>(), 250.45, 0.01);
  EXPECT_EQ(j["flops"]["paper_table2_gflops"].get<double>(), 250);
  // EP decode: times in ms.
  const json& ep = j["ep_decode"];
  EXPECT_EQ(ep["hidden"].get<int64_t>(), 7000);
  EXPECT_EQ(ep["experts_per_token"].get<int64_t>(), 9);
  EXPECT_EQ(ep["layers"].get<int64_t>(), 61);
  ASSERT_EQ(ep["by_bandwidth"].size(), 2u);
  EXPECT_NEAR(ep["by_bandwidth"][0]["comm_ms"].get<double>(), 0.12096, 1e-12);
  EXPECT_NEAR(ep["by_bandwidth"][0]["tpot_ms"].get<double>(), 14.75712, 1e-9);
  EXPECT_NEAR(ep["by_bandwidth"][1]["tpot_ms"].get<double>(), 0.81984, 1e-9);
  EXPECT_EQ(ep["bytes_per_microbatch"].get<int64_t>(), 6048000);
  // Fat-tree counts.
  const json& t = j["network"]["topologies"];
  ASSERT_EQ(t.size(), 3u);
  EXPECT_EQ(t[0]["endpoints"].get<int64_t>(), 2048);
  EXPECT_EQ(t[1]["endpoints"].get<int64_t>(), 16384);
  EXPECT_EQ(t[2]["endpoints"].get<int64_t>(), 65536);
  EXPECT_EQ(t[0]["switches"].get<int64_t>(), 96);
  EXPECT_EQ(t[1]["switches"].get<int64_t>(), 768);
  EXPECT_EQ(t[2]["switches"].get<int64_t>(), 5120);
  // V3 GPU-hours: 2,788 K and $5.576 M.
  EXPECT_DOUBLE_EQ(j["training"]["total_gpu_hours"].get<double>(), 2788000);
  EXPECT_DOUBLE_EQ(j["training"]["cost_usd"].get<double>(), 5576000);
  EXPECT_NEAR(j["training"]["backout_gflops_per_token"].get<double>(), 249.72, 0.01);
  // Parameters as integers.
  EXPECT_TRUE(j["params"]["total"].is_number_integer());
  EXPECT_NEAR(j["params"]["total"].get<double>() / 1e9, 671.03, 0.005);
}

TEST(AnalyzeCli, FlagsChangeTheModel) {
  const auto r = run_cli(
      "analyze --preset deepseek-v3 --json --only ep_decode,flops,kv_cache "
      "--ep-layers moe --bandwidth 40 --seq-len 8192 --non-causal "
      "--kv-format 6bit --ctx 1000");
  ASSERT_EQ(r.exit_code, 0) << r.err;
  const json j = parse_json(r);
  EXPECT_FALSE(j.contains("network"));
  EXPECT_EQ(j["ep_decode"]["layers"].get<int64_t>(), 58);
  ASSERT_EQ(j["ep_decode"]["by_bandwidth"].size(), 1u);
  // 3 · 32 · 9 · 7168 B / 40 GB/s · 2 · 58
  EXPECT_NEAR(j["ep_decode"]["by_bandwidth"][0]["tpot_ms"].get<double>(),
              3.0 * 32 * 9 * 7168 / 40e9 * 2 * 58 * 1e3, 1e-9);
  EXPECT_EQ(j["flops"]["seq_len"].get<int64_t>(), 8192);
  EXPECT_FALSE(j["flops"]["causal"].get<bool>());
  EXPECT_FALSE(j["flops"].contains("paper_table2_gflops"));  // not the paper's inputs
  EXPECT_EQ(j["kv_cache"]["bytes_per_token"]["6bit"].get<int64_t>(), 576 * 61 * 6 / 8);
  EXPECT_EQ(j["kv_cache"]["bytes_for_context"]["6bit"].get<int64_t>(), 576LL * 61 * 6 / 8 * 1000);
}

TEST(AnalyzeCli, TableOutputAndModelDir) {
  const auto r = run_cli("analyze --preset llama-3.1-405b");
  ASSERT_EQ(r.exit_code, 0) << r.err;
  EXPECT_NE(r.out.find("516,096"), std::string::npos);
  EXPECT_NE(r.out.find("7.344x"), std::string::npos);
  EXPECT_NE(r.out.find("2447.85"), std::string::npos);      // paper-compatible 6N2
  EXPECT_NE(r.out.find("2473.22"), std::string::npos);      // exact
  EXPECT_NE(r.out.find("dense model"), std::string::npos);  // no EP figure for a dense model
  const auto m = run_cli("analyze -m " + data_path("analyze/mixtral-8x7b") + " --json");
  ASSERT_EQ(m.exit_code, 0) << m.err;
  const json j = parse_json(m);
  EXPECT_EQ(j["kv_cache"]["bytes_per_token"]["bf16"].get<int64_t>(), 131072);
  EXPECT_EQ(j["ep_decode"]["experts_per_token"].get<int64_t>(), 2);
}

TEST(AnalyzeCli, ConfigLackingFieldsNamesThemAndExits3) {
  const auto r =
      run_cli("analyze --config " + data_path("analyze/missing_fields.json") + " --json");
  EXPECT_EQ(r.exit_code, 3);
  EXPECT_NE(r.err.find("qk_rope_head_dim"), std::string::npos) << r.err;
  EXPECT_NE(r.err.find("v_head_dim"), std::string::npos) << r.err;
  const json j = parse_json(r);
  // Figures that do not need the absent fields are still computed.
  EXPECT_EQ(j["network"]["topologies"][0]["endpoints"].get<int64_t>(), 2048);
  EXPECT_TRUE(j["ep_decode"]["applicable"].get<bool>());
  EXPECT_FALSE(j.contains("kv_cache"));
  bool kv_skipped = false;
  for (const auto& s : j["skipped"]) {
    if (s["figure"] == "kv_cache") {
      kv_skipped = true;
      EXPECT_EQ(s["missing_fields"], json::array({"qk_rope_head_dim"}));
    }
  }
  EXPECT_TRUE(kv_skipped);
  const auto t = run_cli("analyze --config " + data_path("analyze/missing_fields.json"));
  EXPECT_EQ(t.exit_code, 3);
  EXPECT_NE(t.out.find("skipped: config lacks field(s) needed for KV cache: qk_rope_head_dim"),
            std::string::npos)
      << t.out;
}

TEST(AnalyzeCli, ErrorsExitNonZeroWithMessage) {
  auto r = run_cli("analyze --preset gpt-5");
  EXPECT_EQ(r.exit_code, 1);
  EXPECT_NE(r.err.find("unknown preset 'gpt-5'"), std::string::npos) << r.err;
  EXPECT_NE(r.err.find("deepseek-v3"), std::string::npos) << r.err;
  EXPECT_TRUE(r.out.empty());

  r = run_cli("analyze --preset deepseek-v3 --frobnicate");
  EXPECT_EQ(r.exit_code, 1);
  EXPECT_NE(r.err.find("--frobnicate"), std::string::npos) << r.err;

  r = run_cli("analyze --preset deepseek-v3 --seq-len abc");
  EXPECT_EQ(r.exit_code, 1);
  EXPECT_NE(r.err.find("--seq-len"), std::string::npos) << r.err;

  r = run_cli("analyze --preset deepseek-v3 --seq-len 0");
  EXPECT_EQ(r.exit_code, 1);

  r = run_cli("analyze --preset deepseek-v3 --weight-format bf17");
  EXPECT_EQ(r.exit_code, 1);
  EXPECT_NE(r.err.find("bf17"), std::string::npos) << r.err;

  r = run_cli("analyze --preset deepseek-v3 --only kv,flops");
  EXPECT_EQ(r.exit_code, 1);
  EXPECT_NE(r.err.find("unknown section 'kv'"), std::string::npos) << r.err;

  r = run_cli("analyze --preset deepseek-v3 --ep-layers some");
  EXPECT_EQ(r.exit_code, 1);

  r = run_cli("analyze --preset deepseek-v3 --switch-radix 63");
  EXPECT_EQ(r.exit_code, 1);

  r = run_cli("analyze --preset deepseek-v3 --mtp-acceptance 1.5");
  EXPECT_EQ(r.exit_code, 1);

  r = run_cli("analyze");
  EXPECT_EQ(r.exit_code, 1);
  EXPECT_NE(r.err.find("no model"), std::string::npos) << r.err;

  r = run_cli("analyze --preset deepseek-v3 --config x.json");
  EXPECT_EQ(r.exit_code, 1);

  r = run_cli("analyze --config " + data_path("analyze/not_json.json"));
  EXPECT_EQ(r.exit_code, 1);
  EXPECT_NE(r.err.find("not valid JSON"), std::string::npos) << r.err;

  r = run_cli("analyze -m " + data_path("analyze/no_such_dir"));
  EXPECT_EQ(r.exit_code, 1);
  EXPECT_NE(r.err.find("config.json"), std::string::npos) << r.err;
}

TEST(AnalyzeCli, HelpListsFlagsAndPresets) {
  auto r = run_cli("analyze --help");
  EXPECT_EQ(r.exit_code, 0);
  for (const char* f : {"--seq-len", "--ctx", "--bandwidth", "--tokens-per-device",
                        "--micro-batches", "--mem-bw", "--weight-format", "--mtp-acceptance",
                        "--switch-radix", "--dispatch-bytes", "--combine-bytes", "--json"})
    EXPECT_NE(r.out.find(f), std::string::npos) << f;
  r = run_cli("analyze --list-presets");
  EXPECT_EQ(r.exit_code, 0);
  for (const char* p : {"deepseek-v3", "deepseek-v2", "deepseek-v2-lite", "qwen2.5-72b",
                        "llama-3.1-405b", "qwen-72b"})
    EXPECT_NE(r.out.find(p), std::string::npos) << p;
  // Network alone needs no model.
  r = run_cli("analyze --only network --switch-radix 32 --planes 4 --json");
  ASSERT_EQ(r.exit_code, 0) << r.err;
  const json j = json::parse(r.out);
  EXPECT_EQ(j["network"]["topologies"][0]["endpoints"].get<int64_t>(), 512);
  EXPECT_EQ(j["network"]["topologies"][1]["endpoints"].get<int64_t>(), 2048);
}
