// Model loading for the CLI: flags, defaults, load report.
#include "model_args.h"

#include <cstdio>
#include <filesystem>

#include "core/error.h"
#include "kernels/matmul_bf16act.h"
#include "model/gguf_model.h"

namespace dsv3::cli {

std::vector<std::string> model_flag_spec() {
  return {"-m=", "--model=", "--threads=", "-t=", "--ctx=", "--kv-type=", "--mla=", "--dump=", "--numerics=",
          "--act-precision="};
}

const char* model_flag_help() {
  return "  -m, --model PATH    Hugging Face checkpoint folder or .gguf file (default: the built-in model)\n"
         "  -t, --threads N     threads (default: one per physical core)\n"
         "  --ctx N             context length in tokens (default: min(4096, max_position_embeddings))\n"
         "  --kv-type T         KV cache storage: f32 (default, exact), bf16 (bf16 storage) or f16\n"
         "                      (llama.cpp's default cache type); bf16 and f16 halve its memory\n"
         "  --numerics N        GGUF files: torch (default; f32/bf16 GGUFs = their HF folder bit for\n"
         "                      bit) or ggml (llama.cpp's fp32 ops and activation roundings)\n"
         "  --mla MODE          auto (absorbed for chunks of <= 64 rows, naive above), naive or absorbed\n"
         "  --act-precision P   activations entering BF16/FP8-weight matmuls: fp32 (default, exact)\n"
         "                      or bf16 (rounded once per matmul, vdpbf16ps: llama.cpp's BF16 contract;\n"
         "                      no-op for F32/F16 and GGUF weights)\n"
         "  --dump DIR          write every named intermediate as DIR/L<layer>.<name>.npy\n";
}

LoadedModel load_model_from_args(const Args& a, bool quiet) {
  LoadedModel lm;
  std::string dir = a.get("-m", a.get("--model", ""));
  if (dir.empty()) {
    dir = DSV3_BUILTIN_MODEL_DIR;
    DSV3_CHECK(std::filesystem::exists(dir + "/config.json"),
               "no model given (-m DIR) and the built-in model is missing at ", dir);
  }
  lm.dir = dir;
  const std::string numerics = a.get("--numerics", "torch");
  DSV3_CHECK(numerics == "torch" || numerics == "ggml", "--numerics must be torch or ggml, got '", numerics, "'");
  set_gguf_ggml_numerics(numerics == "ggml");
  lm.model = Model::load(dir);
  const ModelConfig& c = lm.model->config;
  DSV3_CHECK(numerics == "torch" || c.ggml_numerics, "--numerics ggml applies to GGUF files only; ", dir,
             " is a Hugging Face checkpoint (its reference is transformers: --numerics torch)");
  const int64_t threads = a.get_int("--threads", a.get_int("-t", 0));
  DSV3_CHECK(threads >= 0 && threads <= 1024, "--threads must be in [0, 1024], got ", threads);
  lm.pool = std::make_unique<ThreadPool>(int(threads));
  const int64_t ctx = a.get_int("--ctx", std::min<int64_t>(4096, c.max_position_embeddings));
  DSV3_CHECK(ctx > 0, "--ctx must be > 0, got ", ctx);
  const std::string kvt = a.get("--kv-type", "f32");
  DSV3_CHECK(kvt == "f32" || kvt == "bf16" || kvt == "f16", "--kv-type must be f32, bf16 or f16, got '",
             kvt, "'");
  const DType kv_dtype = kvt == "bf16" ? DType::BF16 : kvt == "f16" ? DType::F16 : DType::F32;
  lm.cache = std::make_unique<KvCache>(c, c.num_hidden_layers, ctx, kv_dtype);
  DSV3_CHECK(!(a.has("--mla") && c.is_gqa()), "--mla applies to DeepSeek (MLA) models only; ", dir,
             " is a ", c.model_type, " model with GQA attention");
  const std::string mla = a.get("--mla", "auto");
  if (mla == "auto") lm.fwd.mla = MlaMode::kAuto;
  else if (mla == "naive") lm.fwd.mla = MlaMode::kNaive;
  else if (mla == "absorbed") lm.fwd.mla = MlaMode::kAbsorbed;
  else fail("--mla must be auto, naive or absorbed, got '", mla, "'");
  kernels::ActPrecision prec = kernels::ActPrecision::kFp32;
  const std::string ap = a.get("--act-precision", "fp32");
  DSV3_CHECK(kernels::parse_act_precision(ap, &prec), "--act-precision must be fp32 or bf16, got '",
             ap, "'");
  kernels::set_act_precision(prec);  // process-wide, like the FP8 GEMM mode
  lm.fwd.dump_dir = a.get("--dump", "");
  if (!lm.fwd.dump_dir.empty()) std::filesystem::create_directories(lm.fwd.dump_dir);
  if (!quiet) {
    std::fprintf(stderr,
                 "model: %s (%s), %lld layers, hidden %lld, %lld heads, %lld routed experts (top-%lld), vocab %lld\n",
                 dir.c_str(), c.model_type.c_str(), (long long)c.num_hidden_layers,
                 (long long)c.hidden_size, (long long)c.num_attention_heads,
                 (long long)c.n_routed_experts, (long long)c.num_experts_per_tok, (long long)c.vocab_size);
    std::fprintf(stderr, "weights: %.1f MiB (memory-mapped)\n", double(lm.model->weight_bytes()) / 1048576.0);
    if (c.is_gqa())
      std::fprintf(stderr, "attention: GQA, %lld kv heads of dim %lld (%s RoPE, theta %g%s)\n",
                   (long long)c.num_key_value_heads, (long long)c.head_dim,
                   c.rope_style == RopeStyle::kHalf ? "rotate-half" : "interleaved", c.rope_theta,
                   c.rope.llama3 ? ", llama3 scaling" : "");
    std::fprintf(stderr,
                 "kv cache: %lld values/token/layer (%s %lld + %lld), %zu bytes/token in bf16/f16, "
                 "%zu in f32; ctx %lld as %s = %.1f MiB\n",
                 (long long)c.latent_cache_width(), c.is_gqa() ? "K/V" : "latent + rope",
                 (long long)(c.is_gqa() ? c.latent_cache_width() / 2 : c.kv_lora_rank),
                 (long long)(c.is_gqa() ? c.latent_cache_width() / 2 : c.qk_rope_head_dim),
                 KvCache::bytes_per_token(c, c.num_hidden_layers, DType::BF16),
                 KvCache::bytes_per_token(c, c.num_hidden_layers, DType::F32), (long long)ctx,
                 kvt.c_str(), double(lm.cache->bytes()) / 1048576.0);
    if (prec == kernels::ActPrecision::kBf16)
      std::fprintf(stderr, "activations: bf16 into BF16/FP8-weight matmuls (%s)\n",
                   kernels::bf16act_native() ? "vdpbf16ps" : "scalar emulation: slow");
    std::fprintf(stderr, "threads: %d\n", lm.pool->size());
  }
  return lm;
}

std::vector<std::string> generate_flag_spec() {
  return {"--temp=", "--top-k=", "--top-p=", "--seed=", "--mtp=", "--no-mtp", "--ignore-eos"};
}

const char* generate_flag_help() {
  return "  --temp T            temperature, 0 = greedy (default 0)\n"
         "  --top-k K           keep the K most likely tokens (0 = off)\n"
         "  --top-p P           nucleus sampling threshold (1 = off)\n"
         "  --seed S            random seed (default 0)\n"
         "  --mtp N             draft N tokens per step with the MTP module (default 1 when present)\n"
         "  --no-mtp            plain decoding\n"
         "  --ignore-eos        keep generating after the end-of-sequence token\n";
}

GenerateOptions parse_generate_options(const Args& a, const Model& m) {
  GenerateOptions go;
  go.sampling.temperature = float(a.get_double("--temp", 0.0));
  go.sampling.top_k = a.get_int("--top-k", 0);
  go.sampling.top_p = float(a.get_double("--top-p", 1.0));
  const int64_t seed = a.get_int("--seed", 0);
  DSV3_CHECK(seed >= 0, "--seed must be >= 0");
  go.sampling.seed = uint64_t(seed);
  go.ignore_eos = a.has("--ignore-eos");
  Sampler check(go.sampling);  // validates
  DSV3_CHECK(!(a.has("--mtp") && a.has("--no-mtp")), "--mtp and --no-mtp contradict each other");
  go.mtp_depth = a.has("--no-mtp") ? 0 : a.get_int("--mtp", m.mtp.empty() ? 0 : 1);
  return go;
}

std::unique_ptr<Generator> make_generator(LoadedModel& lm, const GenerateOptions& go) {
  const int64_t ctx = lm.cache->ctx();
  const DType kv = lm.cache->dtype();
  lm.cache.reset();
  return std::make_unique<Generator>(*lm.model, lm.pool.get(), ctx, kv, lm.fwd, go);
}

std::vector<int32_t> parse_token_list(const std::string& s, const std::string& what) {
  std::vector<int32_t> out;
  size_t i = 0;
  while (i < s.size()) {
    while (i < s.size() && (s[i] == ',' || s[i] == ' ' || s[i] == '\n' || s[i] == '\t' || s[i] == '\r')) ++i;
    if (i >= s.size()) break;
    size_t j = i;
    while (j < s.size() && s[j] != ',' && s[j] != ' ' && s[j] != '\n' && s[j] != '\t' && s[j] != '\r') ++j;
    const std::string tok = s.substr(i, j - i);
    char* end = nullptr;
    long long v = std::strtoll(tok.c_str(), &end, 10);
    DSV3_CHECK(end && *end == '\0' && v >= 0 && v <= 0x7fffffff, what, ": '", tok, "' is not a token id");
    out.push_back(int32_t(v));
    i = j;
  }
  return out;
}

}  // namespace dsv3::cli
