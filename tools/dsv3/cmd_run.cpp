// `dsv3 run`: generate a continuation of a prompt (text or token ids), streaming as it goes,
// with MTP self-speculative decoding when the checkpoint has the module.

#include <algorithm>
#include <cstdio>
#include <filesystem>

#include "command.h"
#include "core/error.h"
#include "model_args.h"
#include "runtime/generator.h"
#include "runtime/memory_report.h"
#include "text_io.h"

namespace dsv3::cli {
namespace {

const char* kHelp =
    "usage: dsv3 run [-m DIR] (-p TEXT | --tokens 1,2,3) [-n N] [--temp T] [--top-k K] [--top-p P]\n"
    "                [--seed S] [--chat] [--mtp N | --no-mtp]\n"
    "  -p TEXT         prompt text (encoded with the model's tokenizer, BOS added)\n"
    "  --chat          render -p as a user message through the chat template\n"
    "  --tokens LIST   prompt token ids instead of text (output is then ids too)\n"
    "  -n N            tokens to generate (default 64)\n"
    ;

int cmd_run(const std::vector<std::string>& argv) {
  auto spec = model_flag_spec();
  for (auto& f : text_flag_spec()) spec.push_back(f);
  for (auto& f : generate_flag_spec()) spec.push_back(f);
  for (const char* f : {"--tokens=", "-p=", "-n=", "--chat", "--help"})
    spec.push_back(f);
  Args a(argv, spec);
  if (a.has("--help")) {
    std::fputs(kHelp, stdout);
    std::fputs(generate_flag_help(), stdout);
    std::fputs(model_flag_help(), stdout);
    std::fputs(text_flag_help(), stdout);
    return 0;
  }
  DSV3_CHECK(a.has("-p") != a.has("--tokens"), "give exactly one of -p TEXT or --tokens LIST (see --help)");
  const int64_t n_gen = a.get_int("-n", 64);
  DSV3_CHECK(n_gen >= 0, "-n must be >= 0");
  LoadedModel lm = load_model_from_args(a);
  const GenerateOptions go = parse_generate_options(a, *lm.model);

  std::unique_ptr<Tokenizer> tok;
  std::vector<int32_t> prompt;
  if (a.has("-p")) {
    tok = load_tokenizer(a, lm.dir);
    DSV3_CHECK(tok, lm.dir, " has no tokenizer.json: give --tokenizer PATH or use --tokens");
    if (a.has("--chat")) {
      ChatTemplate tmpl(chat_template_source(a, *tok));
      nlohmann::json msgs = nlohmann::json::array({{{"role", "user"}, {"content", a.get("-p")}}});
      const std::string rendered = tmpl.render(msgs, chat_options(*tok, true));
      prompt = tok->encode(rendered, false);
      // R1-style templates open the reasoning block in the prompt; show it with the reply.
      std::fputs(opened_reasoning(rendered).c_str(), stdout);
    } else {
      prompt = tok->encode(a.get("-p"), true);
    }
  } else {
    DSV3_CHECK(!a.has("--chat"), "--chat needs -p TEXT");
    prompt = parse_token_list(a.get("--tokens"), "--tokens");
  }
  DSV3_CHECK(!prompt.empty(), "the prompt is empty");
  DSV3_CHECK(int64_t(prompt.size()) + n_gen <= lm.cache->ctx(), "prompt (", prompt.size(), " tokens) + -n (",
             n_gen, ") exceeds --ctx ", lm.cache->ctx());
  std::fprintf(stderr, "buffers: ~%.1f MiB (estimate: activations, attention, FFN, logits, scratch for a %zu-token prompt)\n",
               double(forward_buffer_bytes(lm.model->config, int64_t(prompt.size()), int64_t(prompt.size()) + n_gen,
                                           false, go.mtp_depth > 0, lm.pool->size())) / 1048576.0,
               prompt.size());
  auto generator = make_generator(lm, go);
  Generator& gen = *generator;
  std::unique_ptr<StreamDecoder> sd;
  if (tok) sd = std::make_unique<StreamDecoder>(*tok, true);  // special tokens (EOS) not shown
  bool first = true;
  gen.generate(prompt, n_gen, [&](int32_t t) {
    if (sd) std::fputs(sd->push(t).c_str(), stdout);
    else std::printf(first ? "%d" : " %d", t);
    first = false;
    std::fflush(stdout);
    return true;
  });
  if (sd) std::fputs(sd->flush().c_str(), stdout);
  std::printf("\n");
  const GenerateStats& st = gen.stats();
  std::fprintf(stderr, "prompt: %lld tokens in %.3f s (%.1f tok/s); generated %lld tokens in %.3f s (%.1f tok/s)\n",
               (long long)st.prompt_tokens, st.prompt_seconds, double(st.prompt_tokens) / st.prompt_seconds,
               (long long)st.generated, st.prompt_seconds + st.decode_seconds,
               st.decode_seconds > 0 ? double(st.generated - 1) / st.decode_seconds : 0.0);
  if (go.mtp_depth > 0 && st.drafted > 0)
    std::fprintf(stderr, "mtp: acceptance %.1f%%, %.2f tokens/forward (depth %lld)\n",
                 100.0 * double(st.accepted) / double(st.drafted),
                 double(st.generated - 1) / double(std::max<int64_t>(1, st.decode_forwards)),
                 (long long)go.mtp_depth);
  // Resident memory = touched pages of the mmap'd weights + KV caches + activation buffers.
  const double mib = 1048576.0;
  const double cache_mib = double(gen.cache().bytes() + (gen.mtp_cache() ? gen.mtp_cache()->bytes() : 0)) / mib;
  const double weights_mib = double(lm.model->weight_bytes()) / mib;
  std::error_code ec;
  const std::string wdir = std::filesystem::canonical(lm.dir, ec).string();
  const double resident_mib = ec ? 0.0 : double(resident_mapped_bytes(wdir)) / mib;
  const int64_t used = int64_t(prompt.size()) + n_gen;
  const double buf_mib =
      double(forward_buffer_bytes(lm.model->config, std::max<int64_t>(int64_t(prompt.size()), go.mtp_depth + 1),
                                  used, false, go.mtp_depth > 0, lm.pool->size())) / mib;
  const double rss_mib = double(peak_rss_bytes()) / mib;
  const double sum_mib = resident_mib + cache_mib + buf_mib;
  std::fprintf(stderr,
               "memory: peak RSS %.1f MiB; weights %.1f MiB mapped, %.1f MiB of them resident (MoE "
               "layers read K of E experts per token, embeddings one row per token), kv cache %.1f "
               "MiB, buffers ~%.1f MiB (estimate); resident weights + cache + buffers = %.1f MiB, "
               "peak RSS is %.1f%% of that\n",
               rss_mib, weights_mib, resident_mib, cache_mib, buf_mib, sum_mib,
               sum_mib > 0 ? 100.0 * rss_mib / sum_mib : 0.0);
  return 0;
}

const bool registered = register_command({"run", "generate a continuation of a prompt", cmd_run});

}  // namespace
}  // namespace dsv3::cli
