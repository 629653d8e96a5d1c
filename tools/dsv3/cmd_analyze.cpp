// `dsv3 analyze`: the hardware co-design calculator (parameters, KV cache, training FLOPs,
// EP decode TPOT, decode roofline, fat-tree sizing, training cost) for a config.json, a model
// folder or a built-in preset. Every model parameter is a flag whose default is the paper's.
//
// Exit status: 0 all requested figures computed; 1 bad flags / unreadable config (nothing
// printed); 3 some figures skipped because the config lacks fields (the others are printed,
// and stderr names the missing config keys).
#include <cstdio>
#include <string>
#include <vector>

#include "analyze/analysis.h"
#include "analyze/presets.h"
#include "args.h"
#include "command.h"
#include "core/error.h"

namespace {

using namespace dsv3;
using namespace dsv3::analyze;

const char* kHelp = R"(usage: dsv3 analyze (-m DIR | --config FILE | --preset NAME) [flags]

Co-design figures of "Insights into DeepSeek-V3" (ISCA 2025) for any model config.
Defaults are the paper's values. Units: decimal GB (1e9 B), GB/s, GFLOP, ms.

model:
  -m DIR                   model folder (reads DIR/config.json)
  --config FILE            a Hugging Face config.json
  --preset NAME            built-in published config (--list-presets)
  --list-presets           list presets and exit
output:
  --json                   one JSON document (bytes as integers, FLOPs in GFLOP, times in ms)
  --only LIST              sections: model,params,kv_cache,flops,ep_decode,roofline,network,training
KV cache (Table 1):
  --ctx N                  context length for per-sequence size (131072)
  --kv-format LIST         formats: bf16,fp8,f32,int8,int4,<N>bit ... (bf16,fp8)
  --kv-baseline NAME       preset to compare bytes/token with, "none" to skip (deepseek-v3)
training FLOPs (Table 2):
  --seq-len N              sequence length of the attention term (4096)
  --non-causal             count full (unmasked) attention instead of causal /2
EP decode TPOT (2.3.2):
  --bandwidth LIST         per-device link GB/s (50,900 = 400G IB, GB200 NVL72)
  --tokens-per-device N    tokens per device per step (32)
  --dispatch-bytes X       bytes per element dispatched (1 = FP8; 1.03125 adds FP32 scales)
  --combine-bytes X        bytes per element combined (2 = BF16)
  --micro-batches N        overlapped micro-batches per layer (2)
  --ep-layers all|moe|N    layers that do the all-to-alls (all = the paper's 61)
  --ep-hidden N            hidden size moved (model's hidden_size; the paper used 7000)
  --ep-experts N           experts per token (model's top-k + shared; V3: 9)
  --latency-us X           latency per all-to-all crossing, 4 per layer (0: paper ignores it)
decode roofline:
  --mem-bw LIST            memory bandwidth GB/s (3350 = H800 HBM3)
  --weight-format LIST     weight formats: bf16,fp8,q8_0,q4_k,int4,<N>bit ... (bf16,fp8)
  --decode-ctx N           tokens already in the KV cache (4096)
  --decode-kv-format F     KV format read during decode (bf16)
  --mtp-acceptance P       MTP draft acceptance rate (0.85; V3 report: 0.85-0.9)
network (Table 3):
  --switch-radix K         switch ports (64)
  --planes N               planes of the multi-plane fat-tree (8)
  --switch-cost USD        price per switch (unset: no costs)
  --link-cost USD          price per link (unset: no costs)
training cost:
  --train-tokens X         pre-training tokens (14.8e12)
  --achieved-tflops X      achieved TFLOPS per GPU, causal (385, Table 4)
  --gpus N                 GPUs (2048)
  --pretrain-gpu-hours X   use a reported figure instead of computing it (V3: 2664000)
  --context-ext-gpu-hours X  (119000)
  --post-train-gpu-hours X   (5000)
  --gpu-hour-price USD     (2)
  --tokens-per-day X       measured throughput for the FLOPs/token back-out (272.8e9)

Exit status: 0 ok; 1 bad flags or config; 3 some figures skipped for missing config fields.
)";

std::vector<std::string> split_list(const std::string& s) {
  std::vector<std::string> out;
  size_t b = 0;
  while (b <= s.size()) {
    size_t e = s.find(',', b);
    if (e == std::string::npos) e = s.size();
    if (e > b) out.push_back(s.substr(b, e - b));
    b = e + 1;
  }
  return out;
}

int64_t positive_int(const cli::Args& a, const std::string& flag, int64_t def) {
  int64_t v = a.get_int(flag, def);
  DSV3_CHECK(v > 0, "flag ", flag, ": must be > 0, got ", v);
  return v;
}

double nonneg_double(const cli::Args& a, const std::string& flag, double def) {
  double v = a.get_double(flag, def);
  DSV3_CHECK(v >= 0 && v < 1e300, "flag ", flag, ": must be a number >= 0, got ", v);
  return v;
}

double positive_double(const cli::Args& a, const std::string& flag, double def) {
  double v = nonneg_double(a, flag, def);
  DSV3_CHECK(v > 0, "flag ", flag, ": must be > 0");
  return v;
}

int cmd_analyze(const std::vector<std::string>& argv) {
  const cli::Args a(argv, {"-m=",
                           "--config=",
                           "--preset=",
                           "--list-presets",
                           "--json",
                           "--only=",
                           "--help",
                           "-h",
                           "--ctx=",
                           "--kv-format=",
                           "--kv-baseline=",
                           "--seq-len=",
                           "--non-causal",
                           "--bandwidth=",
                           "--tokens-per-device=",
                           "--dispatch-bytes=",
                           "--combine-bytes=",
                           "--micro-batches=",
                           "--ep-layers=",
                           "--ep-hidden=",
                           "--ep-experts=",
                           "--latency-us=",
                           "--mem-bw=",
                           "--weight-format=",
                           "--decode-ctx=",
                           "--decode-kv-format=",
                           "--mtp-acceptance=",
                           "--switch-radix=",
                           "--planes=",
                           "--switch-cost=",
                           "--link-cost=",
                           "--train-tokens=",
                           "--achieved-tflops=",
                           "--gpus=",
                           "--pretrain-gpu-hours=",
                           "--context-ext-gpu-hours=",
                           "--post-train-gpu-hours=",
                           "--gpu-hour-price=",
                           "--tokens-per-day="});
  if (a.has("--help") || a.has("-h")) {
    std::fputs(kHelp, stdout);
    return 0;
  }
  if (a.has("--list-presets")) {
    for (const auto& p : presets()) std::printf("%-18s %s\n", p.name, p.source);
    return 0;
  }
  DSV3_CHECK(a.positional().empty(), "unexpected argument '",
             a.positional().empty() ? "" : a.positional()[0], "' (see --help)");
  const int sources = int(a.has("-m")) + int(a.has("--config")) + int(a.has("--preset"));
  DSV3_CHECK(sources <= 1, "give only one of -m, --config, --preset");

  AnalyzeOptions o;
  if (a.has("--only")) {
    o.only = split_list(a.get("--only"));
    DSV3_CHECK(!o.only.empty(), "flag --only: empty list");
  }
  o.ctx = a.get_int("--ctx", o.ctx);
  DSV3_CHECK(o.ctx >= 0, "flag --ctx: must be >= 0");
  if (a.has("--kv-format")) o.kv_formats = parse_format_list(a.get("--kv-format"), "--kv-format");
  o.kv_baseline = a.get("--kv-baseline", o.kv_baseline);
  if (o.kv_baseline == "none") o.kv_baseline.clear();
  o.flops.seq_len = positive_int(a, "--seq-len", o.flops.seq_len);
  o.flops.causal = !a.has("--non-causal");
  if (a.has("--bandwidth")) o.bandwidths = parse_number_list(a.get("--bandwidth"), "--bandwidth");
  o.ep.tokens_per_device = positive_int(a, "--tokens-per-device", o.ep.tokens_per_device);
  o.ep.dispatch_bytes = nonneg_double(a, "--dispatch-bytes", o.ep.dispatch_bytes);
  o.ep.combine_bytes = nonneg_double(a, "--combine-bytes", o.ep.combine_bytes);
  o.ep.micro_batches = positive_int(a, "--micro-batches", o.ep.micro_batches);
  o.ep.latency_us = nonneg_double(a, "--latency-us", o.ep.latency_us);
  o.ep_layers = a.get("--ep-layers", o.ep_layers);
  if (a.has("--ep-hidden")) o.ep_hidden = positive_int(a, "--ep-hidden", 0);
  if (a.has("--ep-experts")) o.ep_experts = positive_int(a, "--ep-experts", 0);
  if (a.has("--mem-bw")) o.mem_bws = parse_number_list(a.get("--mem-bw"), "--mem-bw");
  if (a.has("--weight-format"))
    o.weight_formats = parse_format_list(a.get("--weight-format"), "--weight-format");
  o.roofline.ctx = a.get_int("--decode-ctx", o.roofline.ctx);
  DSV3_CHECK(o.roofline.ctx >= 0, "flag --decode-ctx: must be >= 0");
  if (a.has("--decode-kv-format"))
    o.roofline.kv = parse_format_list(a.get("--decode-kv-format"), "--decode-kv-format").at(0);
  o.roofline.mtp_acceptance = nonneg_double(a, "--mtp-acceptance", o.roofline.mtp_acceptance);
  DSV3_CHECK(o.roofline.mtp_acceptance <= 1, "flag --mtp-acceptance: must be in [0, 1]");
  o.network.radix = a.get_int("--switch-radix", o.network.radix);
  o.network.planes = a.get_int("--planes", o.network.planes);
  o.network.switch_cost = nonneg_double(a, "--switch-cost", 0);
  o.network.link_cost = nonneg_double(a, "--link-cost", 0);
  o.training.train_tokens = positive_double(a, "--train-tokens", o.training.train_tokens);
  o.training.achieved_tflops = positive_double(a, "--achieved-tflops", o.training.achieved_tflops);
  o.training.gpus = positive_int(a, "--gpus", o.training.gpus);
  if (a.has("--pretrain-gpu-hours"))
    o.training.pretrain_gpu_hours = nonneg_double(a, "--pretrain-gpu-hours", 0);
  o.training.context_ext_gpu_hours =
      nonneg_double(a, "--context-ext-gpu-hours", o.training.context_ext_gpu_hours);
  o.training.post_train_gpu_hours =
      nonneg_double(a, "--post-train-gpu-hours", o.training.post_train_gpu_hours);
  o.training.gpu_hour_price = nonneg_double(a, "--gpu-hour-price", o.training.gpu_hour_price);
  o.tokens_per_day = positive_double(a, "--tokens-per-day", o.tokens_per_day);

  ArchSpec spec;
  bool have_spec = true;
  if (a.has("-m"))
    spec = load_arch_spec_dir(a.get("-m"));
  else if (a.has("--config"))
    spec = load_arch_spec_file(a.get("--config"));
  else if (a.has("--preset"))
    spec = load_preset(a.get("--preset"));
  else
    have_spec = false;
  if (!have_spec) {
    const bool model_free = !o.only.empty() && [&] {
      for (const auto& k : o.only)
        if (k != "network" && !(k == "training" && o.training.pretrain_gpu_hours)) return false;
      return true;
    }();
    DSV3_CHECK(model_free, "no model: give -m DIR, --config FILE or --preset NAME (see --help)");
  }

  const Report rep = analyze_model(have_spec ? &spec : nullptr, o);
  if (a.has("--json")) {
    std::printf("%s\n", render_json(rep).dump(2).c_str());
  } else {
    std::fputs(render_table(rep).c_str(), stdout);
  }
  int rc = 0;
  for (const auto& s : rep.sections) {
    if (s.skipped.empty()) continue;
    std::fprintf(stderr, "error: %s: %s skipped: %s\n", spec.name.c_str(), s.key.c_str(),
                 s.skipped.c_str());
    rc = 3;
  }
  return rc;
}

const bool registered = dsv3::cli::register_command(
    {"analyze", "co-design calculator: params, KV cache, FLOPs, EP TPOT, roofline, network",
     cmd_analyze});

}  // namespace
