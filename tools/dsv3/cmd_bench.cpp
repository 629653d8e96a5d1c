// `dsv3 bench`: llama-bench-style speed test of a checkpoint: prefill (pp<P>) and decode
// (tg<N>) tokens/s at several context depths and thread counts, beside this machine's roofline
// measured in the same run (read bandwidth before and after, fp32 FMA peak). Markdown or JSON
// on stdout, a progress line on stderr. Only the measured part is timed: the cache is filled
// to the depth first (synthetic latent rows by default, or a real chunked prefill).
#include <algorithm>
#include <chrono>
#include <cmath>
#include <cstdio>
#include <filesystem>
#include <memory>
#include <numeric>
#include <random>
#include <sstream>

#include <time.h>

#include <nlohmann/json.hpp>

#include "command.h"
#include "core/error.h"
#include "kernels/matmul_bf16act.h"
#include "model_args.h"
#include "runtime/bench_cost.h"
#include "runtime/bench_probe.h"
#include "runtime/memory_report.h"

namespace dsv3::cli {
namespace {

const char* kHelp =
    "usage: dsv3 bench -m DIR [-p 512] [-n 128] [--depths 0,4096,16384] [--threads 2]\n"
    "                  [--reps 3] [--json|--md] [--fill synthetic|prefill]\n"
    "  -p LIST          prompt lengths to time as prefill (pp<P>), comma-separated; 0 = none\n"
    "  -n LIST          tokens to time as decode (tg<N>), comma-separated; 0 = none\n"
    "  -d, --depths L   context depths: tokens already in the cache when timing starts\n"
    "  -t, --threads L  thread counts, comma-separated (default: one per physical core)\n"
    "  -r, --reps R     timed repetitions of each test (default 3); median and mean +- sd\n"
    "  --fill MODE      how the cache is filled to a depth: synthetic (random latent rows\n"
    "                   written directly: fast; decode/prefill cost does not depend on the\n"
    "                   values) or prefill (real chunked prefill of random tokens)\n"
    "  --no-probe       skip the bandwidth / FLOP/s probes\n"
    "  --probe-mib M    bandwidth probe buffer in MiB (default 1024)\n"
    "  --json           JSON on stdout;  --md: markdown table (default)\n"
    "  --seed S         seed of the random tokens (default 1)\n"
    "  --kv-type T      latent cache dtype f32 (default), bf16 or f16; --mla auto|naive|absorbed\n"
    "  --act-precision P  fp32 (default) or bf16 activations into BF16/FP8-weight matmuls;\n"
    "                   with bf16 the prefill % of peak is against the bf16 dot-product peak\n"
    "  --ctx N          cache size (default: max depth + max(P, N))\n";

using Clock = std::chrono::steady_clock;

// CPU seconds used by this process (all threads): with wall time it shows how much of the
// requested cores the run actually got on a shared machine.
double process_cpu_seconds() {
  timespec ts{};
  clock_gettime(CLOCK_PROCESS_CPUTIME_ID, &ts);
  return double(ts.tv_sec) + 1e-9 * double(ts.tv_nsec);
}

std::vector<int64_t> parse_list(const Args& a, const std::string& f1, const std::string& f2,
                                const std::string& def) {
  std::string s = a.get(f1, f2.empty() ? def : a.get(f2, def));
  std::vector<int64_t> out;
  std::stringstream ss(s);
  std::string item;
  while (std::getline(ss, item, ',')) {
    if (item.empty()) continue;
    char* end = nullptr;
    const long long v = std::strtoll(item.c_str(), &end, 10);
    DSV3_CHECK(end && *end == '\0' && v >= 0 && v <= (1LL << 24), f1, ": '", item,
               "' is not a count in [0, 16777216]");
    out.push_back(v);
  }
  DSV3_CHECK(!out.empty(), f1, " is empty");
  return out;
}

struct Stats {
  double median = 0, mean = 0, sd = 0;
};
Stats stats(std::vector<double> v) {
  Stats s;
  if (v.empty()) return s;
  s.mean = std::accumulate(v.begin(), v.end(), 0.0) / double(v.size());
  double q = 0;
  for (double x : v) q += (x - s.mean) * (x - s.mean);
  s.sd = v.size() > 1 ? std::sqrt(q / double(v.size() - 1)) : 0.0;
  std::sort(v.begin(), v.end());
  const size_t n = v.size();
  s.median = n % 2 ? v[n / 2] : 0.5 * (v[n / 2 - 1] + v[n / 2]);
  return s;
}

struct Result {
  std::string test;  // "pp512" / "tg128"
  int64_t n_prompt = 0, n_gen = 0, depth = 0;
  int threads = 0;
  std::vector<double> tps;  // tokens/s of each rep
  double cpu_util = 0;      // CPU seconds / (wall seconds * threads) over the timed reps
  double gbs = 0, bw_share = 0;       // decode: median effective GB/s, share of probe
  double gflops = 0, flops_share = 0;  // prefill: median GFLOP/s, share of peak
  double bytes_per_tok = 0, kv_bytes_per_tok = 0, flops = 0;
};

// Fills layers' latent rows [0, depth) with N(0,1)-like values (the scale of c_kv after its
// RMSNorm and of k_pe after RoPE), without running the model.
void synthetic_fill(KvCache& cache, int64_t depth, uint64_t seed) {
  std::mt19937_64 rng(seed);
  std::vector<float> row(size_t(cache.width()));
  for (int64_t l = 0; l < cache.n_layers(); ++l)
    for (int64_t p = 0; p < depth; ++p) {
      for (float& v : row) v = float(int64_t(rng() >> 40) - (int64_t(1) << 23)) * (1.7f / 8388608.0f);
      cache.write(l, p, row.data());
    }
  cache.set_length(depth);
}

std::string human_bytes(double b) {
  char buf[64];
  if (b >= 1073741824.0) std::snprintf(buf, sizeof buf, "%.2f GiB", b / 1073741824.0);
  else std::snprintf(buf, sizeof buf, "%.1f MiB", b / 1048576.0);
  return buf;
}

int cmd_bench(const std::vector<std::string>& argv) {
  auto spec = model_flag_spec();
  for (const char* f : {"-p=", "-n=", "--depths=", "-d=", "--reps=", "-r=", "--json", "--md",
                        "--fill=", "--no-probe", "--probe-mib=", "--seed=", "--help"})
    spec.push_back(f);
  Args a(argv, spec);
  if (a.has("--help")) {
    std::fputs(kHelp, stdout);
    std::fputs(model_flag_help(), stdout);
    return 0;
  }
  DSV3_CHECK(!a.has("--dump"), "--dump is not available in bench");
  const auto P = parse_list(a, "-p", "", "512");
  const auto N = parse_list(a, "-n", "", "128");
  const auto depths = parse_list(a, "--depths", "-d", "0");
  std::vector<int64_t> threads;
  if (a.has("--threads") || a.has("-t")) threads = parse_list(a, "--threads", "-t", "0");
  else threads = {default_thread_count()};
  for (int64_t t : threads) DSV3_CHECK(t >= 1 && t <= 1024, "--threads: ", t, " not in [1, 1024]");
  const int64_t reps = a.get_int("--reps", a.get_int("-r", 3));
  DSV3_CHECK(reps >= 1 && reps <= 1000, "--reps must be in [1, 1000], got ", reps);
  const std::string fill = a.get("--fill", "synthetic");
  DSV3_CHECK(fill == "synthetic" || fill == "prefill", "--fill must be synthetic or prefill, got '",
             fill, "'");
  const bool json_out = a.has("--json");
  const bool probe = !a.has("--no-probe");
  const int64_t probe_mib = a.get_int("--probe-mib", 1024);
  DSV3_CHECK(probe_mib >= 64 && probe_mib <= (1 << 20), "--probe-mib must be in [64, 1048576]");
  const uint64_t seed = uint64_t(a.get_int("--seed", 1));

  const int64_t max_depth = *std::max_element(depths.begin(), depths.end());
  const int64_t max_step = std::max(*std::max_element(P.begin(), P.end()),
                                    *std::max_element(N.begin(), N.end()));
  DSV3_CHECK(max_step > 0, "nothing to time: -p and -n are both 0");
  const int64_t need_ctx = max_depth + max_step;
  const int64_t ctx = a.get_int("--ctx", need_ctx);
  DSV3_CHECK(ctx >= need_ctx, "--ctx ", ctx, " is smaller than max depth ", max_depth,
             " + max(P, N) ", max_step);

  // Load through the shared model flags, with the cache sized here and the first thread count.
  std::vector<std::string> largv;
  for (const char* f : {"-m", "--model", "--kv-type", "--mla", "--act-precision"})
    if (a.has(f)) { largv.push_back(f); largv.push_back(a.get(f)); }
  largv.push_back("--ctx");
  largv.push_back(std::to_string(ctx));
  largv.push_back("--threads");
  largv.push_back(std::to_string(threads[0]));
  LoadedModel lm = load_model_from_args(Args(largv, model_flag_spec()), /*quiet=*/json_out);
  const Model& m = *lm.model;
  const ModelConfig& c = m.config;
  KvCache& cache = *lm.cache;
  for (int64_t d : depths)
    DSV3_CHECK(d + max_step <= c.max_position_embeddings, "depth ", d, " + ", max_step,
               " exceeds max_position_embeddings ", c.max_position_embeddings);

  // One pool per thread count (the loaded one serves threads[0]).
  std::vector<std::unique_ptr<ThreadPool>> pools;
  for (size_t i = 0; i < threads.size(); ++i)
    pools.push_back(i == 0 ? std::move(lm.pool) : std::make_unique<ThreadPool>(int(threads[i])));

  std::mt19937_64 rng(seed);
  auto random_tokens = [&](int64_t n) {
    std::vector<int32_t> t(static_cast<size_t>(n));
    for (auto& x : t) x = int32_t(rng() % uint64_t(c.vocab_size));
    return t;
  };
  std::vector<float> logits(size_t(c.vocab_size));
  ForwardOptions fwd = lm.fwd;
  fwd.all_logits = false;

  nlohmann::json probes = nlohmann::json::object();
  std::vector<bench::BandwidthResult> bw_before(threads.size()), bw_after(threads.size());
  std::vector<bench::FlopsResult> peak(threads.size()), peak_dot(threads.size());
  auto run_probes = [&](std::vector<bench::BandwidthResult>& out, bool with_flops) {
    for (size_t i = 0; i < threads.size(); ++i) {
      std::fprintf(stderr, "\rbench: probing memory bandwidth with %lld thread(s)...   ",
                   (long long)threads[i]);
      out[i] = bench::measure_read_bandwidth(pools[i].get(), size_t(probe_mib) << 20);
      if (with_flops) {
        peak[i] = bench::measure_peak_flops(pools[i].get());
        peak_dot[i] = bench::measure_peak_bf16dot(pools[i].get());
      }
    }
  };
  if (probe) run_probes(bw_before, true);

  // Warm-up: touch every weight page once (a short prefill and one decode step), untimed.
  std::fprintf(stderr, "\rbench: warm-up (pages in %s of weights)...                 ",
               human_bytes(double(m.weight_bytes())).c_str());
  {
    cache.set_length(0);
    auto t = random_tokens(std::min<int64_t>(16, ctx - 1));
    forward(m, cache, t.data(), int64_t(t.size()), 0, logits.data(), pools[0].get(), fwd);
    forward(m, cache, t.data(), 1, cache.length(), logits.data(), pools[0].get(), fwd);
  }

  // Fill the cache to the largest depth once; smaller depths reuse its first rows.
  if (max_depth > 0) {
    const auto t0 = Clock::now();
    if (fill == "synthetic") {
      synthetic_fill(cache, max_depth, seed);
    } else {
      cache.set_length(0);
      const int64_t chunk = 512;
      for (int64_t pos = 0; pos < max_depth; pos += chunk) {
        const int64_t s = std::min(chunk, max_depth - pos);
        auto t = random_tokens(s);
        std::fprintf(stderr, "\rbench: filling the cache by prefill: %lld / %lld tokens   ",
                     (long long)pos, (long long)max_depth);
        forward(m, cache, t.data(), s, pos, logits.data(), pools[0].get(), fwd);
      }
    }
    std::fprintf(stderr, "\rbench: cache filled to %lld tokens (%s) in %.1f s            \n",
                 (long long)max_depth, fill.c_str(),
                 std::chrono::duration<double>(Clock::now() - t0).count());
  }

  std::vector<Result> results;
  const DType kv_dtype = cache.dtype();
  for (size_t ti = 0; ti < threads.size(); ++ti) {
    ThreadPool* pool = pools[ti].get();
    for (int64_t d : depths) {
      auto run_test = [&](bool prefill, int64_t n) {
        Result r;
        r.test = (prefill ? "pp" : "tg") + std::to_string(n);
        r.n_prompt = prefill ? n : 0;
        r.n_gen = prefill ? 0 : n;
        r.depth = d;
        r.threads = int(threads[ti]);
        double cpu_s = 0, wall_s = 0;
        for (int64_t rep = 0; rep < reps; ++rep) {
          std::fprintf(stderr, "\rbench: %s @ d%lld, %d thread(s), rep %lld/%lld ...          ",
                       r.test.c_str(), (long long)d, r.threads, (long long)rep + 1,
                       (long long)reps);
          auto toks = random_tokens(n);
          cache.set_length(d);
          double dt;
          const double c0 = process_cpu_seconds();
          if (prefill) {
            const auto t0 = Clock::now();
            forward(m, cache, toks.data(), n, d, logits.data(), pool, fwd);
            dt = std::chrono::duration<double>(Clock::now() - t0).count();
          } else {
            const auto t0 = Clock::now();
            for (int64_t i = 0; i < n; ++i)
              forward(m, cache, &toks[size_t(i)], 1, d + i, logits.data(), pool, fwd);
            dt = std::chrono::duration<double>(Clock::now() - t0).count();
          }
          cpu_s += process_cpu_seconds() - c0;
          wall_s += dt;
          r.tps.push_back(double(n) / dt);
          std::fprintf(stderr, "\rbench: %s @ d%lld, %d thread(s), rep %lld/%lld: %.2f tok/s   ",
                       r.test.c_str(), (long long)d, r.threads, (long long)rep + 1,
                       (long long)reps, r.tps.back());
        }
        r.cpu_util = cpu_s / (wall_s * double(r.threads));
        const double med = stats(r.tps).median;
        if (prefill) {
          const bench::StepCost sc = bench::prefill_cost(m, d, n);
          r.flops = sc.flops;
          r.gflops = sc.flops * med / double(n) / 1e9;
        } else {
          const bench::StepCost sc = bench::decode_cost_per_token(m, d, n, kv_dtype);
          r.bytes_per_tok = sc.weight_bytes + sc.kv_bytes;
          r.kv_bytes_per_tok = sc.kv_bytes;
          r.gbs = r.bytes_per_tok * med / 1e9;
        }
        results.push_back(r);
      };
      for (int64_t p : P)
        if (p > 0) run_test(true, p);
      for (int64_t n : N)
        if (n > 0) run_test(false, n);
    }
  }
  if (probe) run_probes(bw_after, false);
  std::fprintf(stderr, "\rbench: done.%60s\n", "");

  // Prefill shares are against the peak of the instruction the matmuls use: vdpbf16ps under
  // --act-precision bf16 with BF16/FP8 weights (judged by o_proj of layer 0), else fp32 FMA.
  const std::string act = std::string(kernels::act_precision_name(kernels::act_precision()));
  const bool dot_peak = kernels::act_precision() == kernels::ActPrecision::kBf16 &&
                        !m.layers.empty() && kernels::bf16act_applies(m.layers[0].attn.o_proj.dtype) &&
                        kernels::bf16act_native();
  const char* peak_name = dot_peak ? "bf16 dot (vdpbf16ps)" : "fp32 FMA";
  auto prefill_peak = [&](size_t i) { return dot_peak ? peak_dot[i].gflops : peak[i].gflops; };

  // Roofline shares: bandwidth = the better of the best passes before and after the run.
  auto thread_index = [&](int t) {
    for (size_t i = 0; i < threads.size(); ++i)
      if (threads[i] == t) return i;
    return size_t(0);
  };
  for (Result& r : results) {
    if (!probe) break;
    const size_t i = thread_index(r.threads);
    const double bw = std::max(bw_before[i].best_gbs, bw_after[i].best_gbs);
    if (r.n_gen) r.bw_share = r.gbs / bw;
    if (r.n_prompt) r.flops_share = r.gflops / prefill_peak(i);
  }

  // Memory: resident part of the mapped weights, cache, estimated buffers vs peak RSS.
  std::error_code fs_ec;
  const std::string wdir = std::filesystem::canonical(lm.dir, fs_ec).string();
  const size_t resident_now = fs_ec ? 0 : resident_mapped_bytes(wdir);
  int64_t max_chunk = 1, max_ctx = 1;
  for (const Result& r : results) {
    max_chunk = std::max<int64_t>(max_chunk, r.n_prompt);
    max_ctx = std::max<int64_t>(max_ctx, r.depth + r.n_prompt + r.n_gen);
  }
  const size_t buffers_est =
      forward_buffer_bytes(c, max_chunk, max_ctx, false, false,
                           int(*std::max_element(threads.begin(), threads.end())));
  size_t probe_bytes = 0;  // the bandwidth probe's array is resident while it runs
  for (size_t i = 0; probe && i < threads.size(); ++i)
    probe_bytes = std::max(probe_bytes, size_t(bw_before[i].bytes));
  const double wbytes = double(m.weight_bytes());
  const double dec_bytes = bench::decode_weight_bytes(m);
  const std::string kvt = kv_type_name(kv_dtype);
  if (json_out) {
    nlohmann::json j;
    j["engine"] = "dsv3";
    j["cpu"] = bench::cpu_model_name();
    j["model"] = {{"dir", lm.dir},
                  {"model_type", c.model_type},
                  {"layers", c.num_hidden_layers},
                  {"fp8", c.fp8},
                  {"weight_bytes", wbytes},
                  {"params", bench::total_params(m)},
                  {"active_params", bench::active_params(m)},
                  {"decode_weight_bytes_per_token", dec_bytes}};
    j["kv_type"] = kvt;
    j["act_precision"] = act;
    j["peak_kind"] = dot_peak ? "bf16dot" : "fp32fma";
    j["fill"] = fill;
    j["probes"] = nlohmann::json::array();
    for (size_t i = 0; probe && i < threads.size(); ++i)
      j["probes"].push_back({{"threads", threads[i]},
                             {"read_gbs_before_best", bw_before[i].best_gbs},
                             {"read_gbs_before_median", bw_before[i].median_gbs},
                             {"read_gbs_after_best", bw_after[i].best_gbs},
                             {"read_gbs_after_median", bw_after[i].median_gbs},
                             {"probe_bytes", bw_before[i].bytes},
                             {"peak_gflops_fp32", peak[i].gflops},
                             {"peak_isa", peak[i].isa},
                             {"peak_gflops_bf16dot", peak_dot[i].gflops}});
    j["results"] = nlohmann::json::array();
    for (const Result& r : results) {
      const Stats s = stats(r.tps);
      nlohmann::json e = {{"test", r.test},     {"n_prompt", r.n_prompt}, {"n_gen", r.n_gen},
                          {"depth", r.depth},   {"threads", r.threads},   {"reps", reps},
                          {"samples_ts", r.tps}, {"median_ts", s.median}, {"avg_ts", s.mean},
                          {"stddev_ts", s.sd},   {"cpu_util", r.cpu_util}};
      if (r.n_gen) {
        e["bytes_per_token"] = r.bytes_per_tok;
        e["kv_bytes_per_token"] = r.kv_bytes_per_tok;
        e["effective_gbs"] = r.gbs;
        if (probe) e["bandwidth_share"] = r.bw_share;
      } else {
        e["flops"] = r.flops;
        e["gflops"] = r.gflops;
        if (probe) e["peak_share"] = r.flops_share;
      }
      j["results"].push_back(e);
    }
    j["peak_rss_bytes"] = peak_rss_bytes();
    j["weights_resident_bytes"] = resident_now;
    j["kv_cache_bytes"] = lm.cache->bytes();
    j["buffers_bytes_estimate"] = buffers_est;
    j["probe_bytes"] = probe_bytes;
    std::printf("%s\n", j.dump(1).c_str());
    return 0;
  }

  std::printf("model: %s (%s, %lld layers%s), %s, %.2f B params (%.2f B active)\n",
              lm.dir.c_str(), c.model_type.c_str(), (long long)c.num_hidden_layers,
              c.fp8 ? ", fp8" : "", human_bytes(wbytes).c_str(), bench::total_params(m) / 1e9,
              bench::active_params(m) / 1e9);
  std::printf("decode reads %s of weights per token (+ latent cache: %lld B/token/layer as %s)\n",
              human_bytes(dec_bytes).c_str(),
              (long long)(c.latent_cache_width() * int64_t(dtype_size(kv_dtype))), kvt.c_str());
  std::printf("cpu: %s; cache fill: %s; activations into matmuls: %s\n",
              bench::cpu_model_name().c_str(), fill.c_str(), act.c_str());
  std::printf("memory: peak RSS %s; weights %s resident of %s mapped, kv cache %s, buffers ~%s "
              "(estimate), bandwidth-probe array %s; peak RSS = %.1f%% of their sum\n",
              human_bytes(double(peak_rss_bytes())).c_str(), human_bytes(double(resident_now)).c_str(),
              human_bytes(wbytes).c_str(), human_bytes(double(lm.cache->bytes())).c_str(),
              human_bytes(double(buffers_est)).c_str(), human_bytes(double(probe_bytes)).c_str(),
              100.0 * double(peak_rss_bytes()) /
                  std::max(1.0, double(resident_now + lm.cache->bytes() + buffers_est + probe_bytes)));
  for (size_t i = 0; probe && i < threads.size(); ++i)
    std::printf("roofline, %lld thread(s): read bandwidth %.1f GB/s before, %.1f after (best of "
                "%d passes over %s; medians %.1f / %.1f); fp32 FMA peak %.0f GFLOP/s (%s), bf16 dot "
                "peak %.0f GFLOP/s; %% of peak below is of the %s peak\n",
                (long long)threads[i], bw_before[i].best_gbs, bw_after[i].best_gbs,
                bw_before[i].passes, human_bytes(double(bw_before[i].bytes)).c_str(),
                bw_before[i].median_gbs, bw_after[i].median_gbs, peak[i].gflops,
                peak[i].isa.c_str(), peak_dot[i].gflops, peak_name);
  std::printf("\n| test | depth | threads | t/s (median) | t/s (mean ± sd) | GB/s | %% of BW | "
              "GFLOP/s | %% of peak | CPU util |\n");
  std::printf("| --- | ---: | ---: | ---: | ---: | ---: | ---: | ---: | ---: | ---: |\n");
  for (const Result& r : results) {
    const Stats s = stats(r.tps);
    char bw[64] = "", share[32] = "", gf[32] = "", pk[32] = "";
    if (r.n_gen) {
      std::snprintf(bw, sizeof bw, "%.1f", r.gbs);
      if (probe) std::snprintf(share, sizeof share, "%.0f%%", 100 * r.bw_share);
    } else {
      std::snprintf(gf, sizeof gf, "%.1f", r.gflops);
      if (probe) std::snprintf(pk, sizeof pk, "%.1f%%", 100 * r.flops_share);
    }
    std::printf("| %s | %lld | %d | %.2f | %.2f ± %.2f | %s | %s | %s | %s | %.0f%% |\n",
                r.test.c_str(), (long long)r.depth, r.threads, s.median, s.mean, s.sd, bw, share,
                gf, pk, 100 * r.cpu_util);
  }
  return 0;
}

const bool registered = register_command(
    {"bench", "prefill/decode tokens/s at context depths, vs measured bandwidth and FLOP/s",
     cmd_bench});

}  // namespace
}  // namespace dsv3::cli
