// `dsv3 run`: generate a continuation of a prompt, streaming tokens as they come.
#include <chrono>
#include <cstdio>

#include "command.h"
#include "core/error.h"
#include "model_args.h"
#include "runtime/sampler.h"

namespace dsv3::cli {
namespace {

const char* kHelp =
    "usage: dsv3 run [-m DIR] --tokens 1,2,3 [-n N] [--temp T] [--top-k K] [--top-p P] [--seed S]\n"
    "  --tokens LIST   prompt token ids\n"
    "  -n N            tokens to generate (default 64)\n"
    "  --temp T        temperature, 0 = greedy (default 0)\n"
    "  --top-k K       keep the K most likely tokens (0 = off)\n"
    "  --top-p P       nucleus sampling threshold (1 = off)\n"
    "  --seed S        random seed (default 0)\n"
    "  --ignore-eos    keep generating after the end-of-sequence token\n";

int cmd_run(const std::vector<std::string>& argv) {
  auto spec = model_flag_spec();
  for (const char* f : {"--tokens=", "-p=", "-n=", "--temp=", "--top-k=", "--top-p=", "--seed=",
                        "--ignore-eos", "--help"})
    spec.push_back(f);
  Args a(argv, spec);
  if (a.has("--help")) { std::fputs(kHelp, stdout); std::fputs(model_flag_help(), stdout); return 0; }
  DSV3_CHECK(!a.has("-p"), "-p TEXT needs the tokenizer, which is not wired in yet: use --tokens");
  DSV3_CHECK(a.has("--tokens"), "--tokens is required (see --help)");
  auto prompt = parse_token_list(a.get("--tokens"), "--tokens");
  DSV3_CHECK(!prompt.empty(), "--tokens is empty");
  const int64_t n_gen = a.get_int("-n", 64);
  DSV3_CHECK(n_gen >= 0, "-n must be >= 0");
  SamplerParams sp;
  sp.temperature = float(a.get_double("--temp", 0.0));
  sp.top_k = a.get_int("--top-k", 0);
  sp.top_p = float(a.get_double("--top-p", 1.0));
  sp.seed = uint64_t(a.get_int("--seed", 0));
  Sampler sampler(sp);
  LoadedModel lm = load_model_from_args(a);
  const ModelConfig& c = lm.model->config;
  DSV3_CHECK(int64_t(prompt.size()) + n_gen <= lm.cache->ctx(), "prompt (", prompt.size(), ") + -n (",
             n_gen, ") exceeds --ctx ", lm.cache->ctx());
  std::vector<float> logits(size_t(c.vocab_size));
  auto t0 = std::chrono::steady_clock::now();
  forward(*lm.model, *lm.cache, prompt.data(), int64_t(prompt.size()), 0, logits.data(), lm.pool.get(), lm.fwd);
  auto t1 = std::chrono::steady_clock::now();
  int64_t generated = 0;
  for (int64_t i = 0; i < n_gen; ++i) {
    int32_t tok = sampler.sample(logits.data(), c.vocab_size);
    std::printf(i ? " %d" : "%d", tok);
    std::fflush(stdout);
    ++generated;
    if (!a.has("--ignore-eos") && tok == c.eos_token_id) break;
    if (i + 1 == n_gen) break;
    forward(*lm.model, *lm.cache, &tok, 1, lm.cache->length(), logits.data(), lm.pool.get(), lm.fwd);
  }
  std::printf("\n");
  auto t2 = std::chrono::steady_clock::now();
  const double pp = std::chrono::duration<double>(t1 - t0).count();
  const double tg = std::chrono::duration<double>(t2 - t1).count();
  std::fprintf(stderr, "prompt: %zu tokens in %.3f s (%.1f tok/s); generated %lld tokens in %.3f s (%.1f tok/s)\n",
               prompt.size(), pp, double(prompt.size()) / pp, (long long)generated, tg,
               generated > 1 ? double(generated - 1) / tg : 0.0);
  return 0;
}

const bool registered = register_command({"run", "generate a continuation of a prompt", cmd_run});

}  // namespace
}  // namespace dsv3::cli
