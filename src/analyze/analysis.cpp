// Builds the `dsv3 analyze` report: one section per figure, each as text rows and as JSON
// (byte counts as integers, FLOPs in GFLOP, times in ms, bandwidths in decimal GB/s).
#include "analyze/analysis.h"

#include <algorithm>
#include <cerrno>
#include <cmath>
#include <cstdlib>
#include <functional>

#include "analyze/kv_cache.h"
#include "analyze/params.h"
#include "analyze/presets.h"

namespace dsv3::analyze {

using nlohmann::json;

const std::vector<std::string>& section_keys() {
  static const std::vector<std::string> k = {"model",     "params",   "kv_cache", "flops",
                                             "ep_decode", "roofline", "network",  "training"};
  return k;
}

namespace {

// Published figures for the paper's rows, to print beside ours (presets only).
struct PaperRef {
  const char* preset;
  int64_t kv_bf16_bytes;  // Table 1 (0 = not in the table)
  double gflops;          // Table 2 (0 = not in the table)
  const char* size;       // published total / activated parameters
};
const PaperRef kPaperRefs[] = {
    {"deepseek-v3", 70272, 250, "671B total, 37B activated"},
    {"deepseek-v2", 0, 155, "236B total, 21B activated"},
    {"deepseek-v2-lite", 0, 0, "15.7B total, 2.4B activated"},
    {"qwen2.5-72b", 327680, 394, "72.7B"},
    {"qwen-72b", 0, 394, "72B"},
    {"llama-3.1-405b", 516096, 2448, "405B"},
    {"deepseek-llm-67b", 0, 0, "67B"},
};
const PaperRef* paper_ref(const std::string& name) {
  for (const auto& r : kPaperRefs)
    if (name == r.preset) return &r;
  return nullptr;
}

// Rounded integer text for a double that may exceed int64.
std::string int_text(double v) {
  return std::fabs(v) < 9e18 ? with_commas(int64_t(std::llround(v))) : fixed(v, 0);
}

std::string pct_diff(double ours, double paper) {
  const double d = (ours / paper - 1.0) * 100.0;
  return (d >= 0 ? "+" : "") + fixed(d, 2) + " %";
}

void model_section(const ArchSpec& s, Section& sec) {
  auto opt = [](const Field& f) { return f.value ? json(*f.value) : json(nullptr); };
  auto txt = [](const Field& f) { return f.value ? with_commas(*f.value) : "(absent)"; };
  sec.left_align = true;
  json& j = sec.json;
  j["name"] = s.name;
  j["model_type"] = s.model_type;
  j["attention"] = attention_kind_name(s.attention);
  j["num_hidden_layers"] = opt(s.num_layers);
  j["hidden_size"] = opt(s.hidden_size);
  j["num_attention_heads"] = opt(s.num_heads);
  j["vocab_size"] = opt(s.vocab_size);
  j["moe"] = s.is_moe;
  j["num_mtp_layers"] = s.num_mtp_layers;
  j["notes"] = s.notes;
  sec.rows.push_back({"name", s.name, s.model_type});
  std::string attn = attention_kind_name(s.attention);
  if (s.attention == AttentionKind::kMLA) {
    j["kv_lora_rank"] = opt(s.kv_lora_rank);
    j["qk_rope_head_dim"] = opt(s.qk_rope_head_dim);
    attn += " (latent " + txt(s.kv_lora_rank) + " + rope " + txt(s.qk_rope_head_dim) + ")";
  } else {
    j["num_key_value_heads"] = opt(s.num_kv_heads);
    j["head_dim"] = opt(s.head_dim);
    attn += " (" + txt(s.num_kv_heads) + " KV heads x " + txt(s.head_dim) + ")";
  }
  sec.rows.push_back({"attention", attn, ""});
  sec.rows.push_back({"layers x hidden", txt(s.num_layers) + " x " + txt(s.hidden_size), ""});
  sec.rows.push_back({"heads / vocab", txt(s.num_heads) + " / " + txt(s.vocab_size), ""});
  if (s.is_moe) {
    j["n_routed_experts"] = opt(s.n_routed_experts);
    j["n_shared_experts"] = opt(s.n_shared_experts);
    j["num_experts_per_tok"] = opt(s.experts_per_token);
    j["moe_layers"] = s.moe_layer_count();
    sec.rows.push_back({"experts",
                        txt(s.n_routed_experts) + " routed (top " + txt(s.experts_per_token) +
                            ") + " + txt(s.n_shared_experts) + " shared",
                        with_commas(s.moe_layer_count()) + " MoE layers"});
  } else {
    sec.rows.push_back({"FFN", "dense", ""});
  }
  if (s.num_mtp_layers) sec.rows.push_back({"MTP modules", with_commas(s.num_mtp_layers), ""});
  for (const auto& n : s.notes) sec.rows.push_back({"note", n, ""});
}

void params_section(const ArchSpec& s, Section& sec) {
  const ParamCounts p = count_params(s);
  const int64_t active_no_emb = p.active() - p.embedding;
  sec.json = {{"embedding", p.embedding},
              {"attention", p.attention},
              {"dense_ffn", p.dense_ffn},
              {"routed_experts", p.routed_experts},
              {"routed_experts_active", p.routed_active},
              {"shared_experts", p.shared_experts},
              {"router", p.router},
              {"norms", p.norms},
              {"head", p.head},
              {"mtp", p.mtp},
              {"mtp_active", p.mtp_active},
              {"total", p.total()},
              {"active", p.active()},
              {"active_excl_input_embedding", active_no_emb},
              {"moe_layers", p.moe_layers},
              {"dense_layers", p.dense_layers}};
  auto row = [&](const std::string& label, int64_t v, const std::string& note = "") {
    sec.rows.push_back({label, with_commas(v), billions(v) + (note.empty() ? "" : "  " + note)});
  };
  row("embedding", p.embedding);
  row("attention", p.attention,
      with_commas(p.attention / std::max<int64_t>(1, *s.num_layers.value)) + " per layer");
  row("dense FFN", p.dense_ffn, with_commas(p.dense_layers) + " layers");
  if (s.is_moe) {
    row("routed experts", p.routed_experts, with_commas(p.moe_layers) + " MoE layers");
    row("routed experts (active)", p.routed_active);
    row("shared experts", p.shared_experts);
    row("router", p.router);
  }
  row("norms", p.norms);
  row("head", p.head, s.tie_embeddings ? "tied to embedding" : "");
  const PaperRef* ref = paper_ref(s.name);
  row("total", p.total(), ref ? std::string("published: ") + ref->size : "");
  row("activated / token", p.active(), "incl. both embeddings");
  row("activated excl. input emb.", active_no_emb);
  if (s.num_mtp_layers) {
    row("MTP modules (unique)", p.mtp, "not in total");
    row("MTP activated / token", p.mtp_active);
  }
}

void kv_section(const ArchSpec& s, const AnalyzeOptions& o, Section& sec) {
  const int64_t elems = kv_elements_per_token(s);
  json& j = sec.json;
  j["attention"] = attention_kind_name(s.attention);
  j["elements_per_token"] = elems;
  j["context"] = o.ctx;
  j["bytes_per_token"] = json::object();
  j["bytes_for_context"] = json::object();
  sec.rows.push_back({"attention", attention_kind_name(s.attention),
                      with_commas(elems) + " cached elements per token"});
  const PaperRef* ref = paper_ref(s.name);
  for (const auto& f : o.kv_formats) {
    const int64_t b = kv_bytes_per_token(s, f);
    j["bytes_per_token"][f.name] = b;
    std::string note = human_bytes(double(b));
    if (ref && ref->kv_bf16_bytes && f.bits == 16)
      note += "  paper Table 1: " + with_commas(ref->kv_bf16_bytes);
    sec.rows.push_back({"bytes/token (" + f.name + ")", with_commas(b), note});
  }
  for (const auto& f : o.kv_formats) {
    const int64_t b = kv_bytes_for_context(s, f, o.ctx);
    j["bytes_for_context"][f.name] = b;
    sec.rows.push_back({"bytes @ " + with_commas(o.ctx) + " tokens (" + f.name + ")",
                        with_commas(b), human_bytes(double(b)) + " per sequence"});
  }
  if (!o.kv_baseline.empty()) {
    const ArchSpec base = load_preset(o.kv_baseline);
    const double ratio = double(elems) / double(kv_elements_per_token(base));
    j["baseline"] = {{"preset", o.kv_baseline}, {"ratio", ratio}};
    std::string note;
    if (o.kv_baseline == "deepseek-v3" && s.name == "llama-3.1-405b")
      note = "paper prints 7.28x, a typo: 516,096 / 70,272 = 7.344";
    if (o.kv_baseline == "deepseek-v3" && s.name == "qwen2.5-72b") note = "paper: 4.66x";
    sec.rows.push_back(
        {"ratio vs " + o.kv_baseline + " (same format)", fixed(ratio, 3) + "x", note});
  }
}

void flops_section(const ArchSpec& s, const AnalyzeOptions& o, Section& sec) {
  const TrainingFlops f = training_flops(s, o.flops);
  sec.json = {{"seq_len", o.flops.seq_len},       {"causal", o.flops.causal},
              {"matmul_gflops", f.matmul_gflops}, {"attention_gflops", f.attention_gflops},
              {"exact_gflops", f.exact_gflops},   {"paper_gflops", f.paper_gflops},
              {"paper_method", f.paper_method},   {"mtp_gflops", f.mtp_gflops}};
  const PaperRef* ref = paper_ref(s.name);
  const bool paper_inputs = o.flops.seq_len == 4096 && o.flops.causal;
  std::string paper_note;
  if (ref && ref->gflops > 0 && paper_inputs) {
    sec.json["paper_table2_gflops"] = ref->gflops;
    paper_note = "paper Table 2: " + fixed(ref->gflops, 0) + " (" +
                 pct_diff(f.paper_gflops, ref->gflops) + ")";
  }
  sec.rows.push_back({"sequence length", with_commas(o.flops.seq_len),
                      o.flops.causal ? "causal attention" : "non-causal attention"});
  sec.rows.push_back({"6 x (activated body + head)", fixed(f.matmul_gflops, 2), "GFLOP/token"});
  sec.rows.push_back({"attention scores", fixed(f.attention_gflops, 2), "GFLOP/token"});
  sec.rows.push_back({"exact", fixed(f.exact_gflops, 2), "GFLOP/token"});
  sec.rows.push_back(
      {"paper-compatible (" + f.paper_method + ")", fixed(f.paper_gflops, 2), paper_note});
  if (s.num_mtp_layers)
    sec.rows.push_back({"MTP modules (extra)", fixed(f.mtp_gflops, 2), "not in either figure"});
}

int64_t parse_ep_layers(const ArchSpec& s, const std::string& v) {
  if (v == "all") return *s.num_layers.value;
  if (v == "moe") return s.moe_layer_count();
  char* end = nullptr;
  errno = 0;
  long long n = std::strtoll(v.c_str(), &end, 10);
  DSV3_CHECK(errno == 0 && end != v.c_str() && *end == '\0' && n > 0,
             "flag --ep-layers: expected all, moe or a positive integer, got '", v, "'");
  return n;
}

void ep_section(const ArchSpec& s, const AnalyzeOptions& o, Section& sec) {
  if (!s.is_moe && !o.ep_experts) {
    sec.json = {{"applicable", false}, {"reason", "dense model: no expert parallelism"}};
    sec.rows.push_back({"n/a", "dense model", "no expert parallelism (set --ep-experts to force)"});
    return;
  }
  Need need("EP decode TPOT");
  const int64_t H = o.ep_hidden ? *o.ep_hidden : need(s.hidden_size);
  const int64_t k =
      o.ep_experts ? *o.ep_experts : need(s.experts_per_token) + need(s.n_shared_experts);
  need(s.num_layers);
  need.done();
  EpDecodeParams p = o.ep;
  p.hidden = H;
  p.experts_per_token = k;
  p.layers = parse_ep_layers(s, o.ep_layers);
  json& j = sec.json;
  j = {{"applicable", true},
       {"hidden", H},
       {"experts_per_token", k},
       {"layers", p.layers},
       {"tokens_per_device", p.tokens_per_device},
       {"dispatch_bytes", p.dispatch_bytes},
       {"combine_bytes", p.combine_bytes},
       {"micro_batches", p.micro_batches},
       {"latency_ms", p.latency_us / 1e3}};
  j["by_bandwidth"] = json::array();
  sec.rows.push_back(
      {"H x k x T",
       with_commas(H) + " x " + with_commas(k) + " x " + with_commas(p.tokens_per_device),
       "hidden, experts/token, tokens/device"});
  sec.rows.push_back({"bytes/element",
                      fixed(p.dispatch_bytes, 3) + " + " + fixed(p.combine_bytes, 3),
                      "dispatch + combine"});
  sec.rows.push_back(
      {"layers x micro-batches", with_commas(p.layers) + " x " + with_commas(p.micro_batches), ""});
  for (double bw : o.bandwidths) {
    p.bandwidth_gbps = bw;
    const EpDecodeResult r = ep_decode(p);
    j["bytes_per_microbatch"] = std::llround(r.bytes_per_microbatch);
    j["by_bandwidth"].push_back({{"bandwidth_gbps", bw},
                                 {"comm_ms", r.comm_us / 1e3},
                                 {"layer_ms", r.layer_us / 1e3},
                                 {"tpot_ms", r.tpot_ms},
                                 {"tokens_per_s", r.tokens_per_s}});
    sec.rows.push_back({"@ " + fixed(bw, bw == int64_t(bw) ? 0 : 1) + " GB/s: TPOT",
                        fixed(r.tpot_ms, 3) + " ms",
                        fixed(r.tokens_per_s, 1) + " tok/s; comm " + fixed(r.comm_us, 3) +
                            " us, layer " + fixed(r.layer_us, 3) + " us"});
  }
  if (!o.ep_hidden && H == 7168)
    sec.rows.push_back({"note", "paper used H = 7000 ('7K')",
                        "--ep-hidden 7000 reproduces its 14.76 ms (50 GB/s) / 0.82 ms (900 GB/s)"});
}

void roofline_section(const ArchSpec& s, const AnalyzeOptions& o, Section& sec) {
  json& j = sec.json;
  j = {{"ctx", o.roofline.ctx},
       {"kv_format", o.roofline.kv.name},
       {"mtp_acceptance", o.roofline.mtp_acceptance},
       {"has_mtp", s.num_mtp_layers > 0}};
  j["results"] = json::array();
  sec.rows.push_back({"context / KV format",
                      with_commas(o.roofline.ctx) + " / " + o.roofline.kv.name,
                      "batch 1, weights and KV read once per step"});
  for (double bw : o.mem_bws) {
    for (const auto& wf : o.weight_formats) {
      RooflineParams rp = o.roofline;
      rp.mem_bw_gbps = bw;
      rp.weights = wf;
      const RooflineResult r = decode_roofline(s, rp);
      json e = {{"mem_bw_gbps", bw},
                {"weight_format", wf.name},
                {"weight_bytes", r.weight_bytes},
                {"kv_bytes", r.kv_bytes},
                {"tokens_per_s", r.tokens_per_s}};
      const std::string at = fixed(bw, 0) + " GB/s, " + wf.name;
      sec.rows.push_back({at, fixed(r.tokens_per_s, 1) + " tok/s",
                          human_bytes(double(r.weight_bytes)) + " weights + " +
                              human_bytes(double(r.kv_bytes)) + " KV per token"});
      if (r.has_mtp) {
        e["mtp_tokens_per_step"] = r.mtp_tokens_per_step;
        e["mtp_tokens_per_s_upper"] = r.mtp_tokens_per_s_upper;
        e["mtp_tokens_per_s_lower"] = r.mtp_tokens_per_s_lower;
        sec.rows.push_back({at + ", MTP p=" + fixed(o.roofline.mtp_acceptance, 2),
                            fixed(r.mtp_tokens_per_s_lower, 1) + " .. " +
                                fixed(r.mtp_tokens_per_s_upper, 1) + " tok/s",
                            "verify 2 tokens: different .. same routed experts"});
      }
      j["results"].push_back(e);
    }
  }
  if (s.num_mtp_layers == 0)
    sec.rows.push_back({"MTP", "n/a", "config has no MTP module (num_nextn_predict_layers)"});
}

void network_section(const AnalyzeOptions& o, Section& sec) {
  const auto topo = fat_trees(o.network);
  const bool priced = o.network.switch_cost > 0 || o.network.link_cost > 0;
  sec.json = {{"radix", o.network.radix}, {"planes", o.network.planes}, {"priced", priced}};
  sec.json["topologies"] = json::array();
  for (const auto& t : topo) {
    json e = {
        {"name", t.name}, {"endpoints", t.endpoints}, {"switches", t.switches}, {"links", t.links}};
    std::string note = with_commas(t.switches) + " switches, " + with_commas(t.links) + " links";
    if (priced) {
      e["cost_usd"] = t.cost_usd;
      e["cost_per_endpoint_usd"] = t.cost_per_endpoint;
      note += ", $" + fixed(t.cost_usd / 1e6, 1) + " M, $" + fixed(t.cost_per_endpoint / 1e3, 2) +
              " k/endpoint";
    }
    sec.json["topologies"].push_back(e);
    sec.rows.push_back({t.name + " endpoints", with_commas(t.endpoints), note});
  }
  if (!priced)
    sec.rows.push_back(
        {"cost", "not priced", "--switch-cost / --link-cost (USD; Table 3 fits ~82,400 / ~528)"});
}

void training_section(const ArchSpec* s, const AnalyzeOptions& o, Section& sec) {
  double gflops = 0;
  if (!o.training.pretrain_gpu_hours) {
    DSV3_CHECK(s != nullptr, "training cost needs a model (or --pretrain-gpu-hours)");
    gflops = training_flops(*s, o.flops).exact_gflops;
  }
  const TrainingCost c = training_cost(gflops, o.training);
  const double backout =
      backout_gflops_per_token(o.training.achieved_tflops, o.training.gpus, o.tokens_per_day);
  sec.json = {{"train_tokens", o.training.train_tokens},
              {"gflops_per_token", gflops},
              {"achieved_tflops", o.training.achieved_tflops},
              {"gpus", o.training.gpus},
              {"pretrain_gpu_hours", c.pretrain_gpu_hours},
              {"pretrain_computed", c.pretrain_computed},
              {"pretrain_days", c.pretrain_days},
              {"gpu_hours_per_trillion_tokens", c.gpu_hours_per_trillion},
              {"context_ext_gpu_hours", o.training.context_ext_gpu_hours},
              {"post_train_gpu_hours", o.training.post_train_gpu_hours},
              {"total_gpu_hours", c.total_gpu_hours},
              {"gpu_hour_price_usd", o.training.gpu_hour_price},
              {"cost_usd", c.cost_usd},
              {"tokens_per_day", o.tokens_per_day},
              {"backout_gflops_per_token", backout}};
  sec.rows.push_back({"pre-training GPU-hours", int_text(c.pretrain_gpu_hours),
                      c.pretrain_computed ? fixed(o.training.train_tokens / 1e12, 2) +
                                                " T tokens x " + fixed(gflops, 2) + " GFLOP / " +
                                                fixed(o.training.achieved_tflops, 0) +
                                                " TFLOPS (V3 report: 2,664,000)"
                                          : "given"});
  sec.rows.push_back({"days on " + with_commas(o.training.gpus) + " GPUs",
                      fixed(c.pretrain_days, 2),
                      fixed(c.gpu_hours_per_trillion / 1e3, 1) + " K GPU-h per T tokens"});
  sec.rows.push_back({"+ context ext. + post-training",
                      int_text(o.training.context_ext_gpu_hours) + " + " +
                          int_text(o.training.post_train_gpu_hours),
                      "GPU-hours"});
  sec.rows.push_back({"total GPU-hours", int_text(c.total_gpu_hours),
                      "$" + fixed(c.cost_usd / 1e6, 3) + " M at $" +
                          fixed(o.training.gpu_hour_price, 2) + "/GPU-h"});
  sec.rows.push_back({"GFLOP/token from throughput", fixed(backout, 2),
                      fixed(o.training.achieved_tflops, 0) + " TFLOPS x " +
                          with_commas(o.training.gpus) + " GPUs / " +
                          fixed(o.tokens_per_day / 1e9, 2) + " B tokens/day (Table 4)"});
}

}  // namespace

Report analyze_model(const ArchSpec* spec, const AnalyzeOptions& o) {
  for (const auto& k : o.only)
    DSV3_CHECK(std::find(section_keys().begin(), section_keys().end(), k) != section_keys().end(),
               "unknown section '", k,
               "' (known: model, params, kv_cache, flops, ep_decode, roofline, network, training)");
  if (!o.kv_baseline.empty()) load_preset(o.kv_baseline);  // validate early
  auto wanted = [&](const std::string& k) {
    return o.only.empty() || std::find(o.only.begin(), o.only.end(), k) != o.only.end();
  };
  const std::vector<std::pair<std::string, std::string>> titles = {
      {"model", "Model"},
      {"params", "Parameters"},
      {"kv_cache", "KV cache per token (paper Table 1)"},
      {"flops", "Training compute per token (paper Table 2)"},
      {"ep_decode", "EP decode speed limit (paper 2.3.2)"},
      {"roofline", "Decode memory roofline"},
      {"network", "Fat-tree sizing (paper Table 3)"},
      {"training", "Training GPU-hours and cost"}};
  Report rep;
  for (const auto& [key, title] : titles) {
    if (!wanted(key)) continue;
    Section sec;
    sec.key = key;
    sec.title = title + (spec ? " - " + spec->name : "");
    if (key == "network") {
      sec.title = title;
      network_section(o, sec);
      rep.sections.push_back(std::move(sec));
      continue;
    }
    const bool needs_model = !(key == "training" && o.training.pretrain_gpu_hours);
    DSV3_CHECK(spec != nullptr || !needs_model, "section ", key,
               " needs a model: give -m DIR, --config FILE or --preset NAME");
    try {
      if (key == "model")
        model_section(*spec, sec);
      else if (key == "params")
        params_section(*spec, sec);
      else if (key == "kv_cache")
        kv_section(*spec, o, sec);
      else if (key == "flops")
        flops_section(*spec, o, sec);
      else if (key == "ep_decode")
        ep_section(*spec, o, sec);
      else if (key == "roofline")
        roofline_section(*spec, o, sec);
      else if (key == "training")
        training_section(spec, o, sec);
    } catch (const MissingFields& e) {
      sec.rows.clear();
      sec.json = json::object();
      sec.skipped = e.what();
      sec.missing_fields = e.fields;
    }
    rep.sections.push_back(std::move(sec));
  }
  return rep;
}

}  // namespace dsv3::analyze
