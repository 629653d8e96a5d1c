// `dsv3 perplexity`: perplexity of a token file, in windows of --ctx tokens.
#include <cmath>
#include <cstdio>

#include "command.h"
#include "core/error.h"
#include "core/mapped_file.h"
#include "model_args.h"

namespace dsv3::cli {
namespace {

const char* kHelp =
    "usage: dsv3 perplexity [-m DIR] -f FILE [--ctx N]\n"
    "  -f FILE   token ids (whitespace or comma separated); the text form comes with the tokenizer\n";

int cmd_perplexity(const std::vector<std::string>& argv) {
  auto spec = model_flag_spec();
  for (const char* f : {"-f=", "--help"}) spec.push_back(f);
  Args a(argv, spec);
  if (a.has("--help")) { std::fputs(kHelp, stdout); std::fputs(model_flag_help(), stdout); return 0; }
  DSV3_CHECK(a.has("-f"), "-f FILE is required (see --help)");
  auto toks = parse_token_list(read_text_file(a.get("-f")), a.get("-f"));
  DSV3_CHECK(toks.size() >= 2, a.get("-f"), ": need at least 2 tokens");
  LoadedModel lm = load_model_from_args(a);
  const int64_t V = lm.model->config.vocab_size, W = lm.cache->ctx();
  double nll = 0;
  int64_t count = 0;
  ForwardOptions opt = lm.fwd;
  opt.all_logits = true;
  for (size_t begin = 0; begin + 1 < toks.size(); begin += size_t(W)) {
    const int64_t n = std::min<int64_t>(W, int64_t(toks.size() - begin));
    if (n < 2) break;
    std::vector<float> logits(size_t(n * V));
    lm.cache->set_length(0);
    forward(*lm.model, *lm.cache, toks.data() + begin, n, 0, logits.data(), lm.pool.get(), opt);
    for (int64_t t = 0; t + 1 < n; ++t) {
      const float* l = logits.data() + t * V;
      double mx = l[0];
      for (int64_t v = 1; v < V; ++v) mx = std::max(mx, double(l[v]));
      double s = 0;
      for (int64_t v = 0; v < V; ++v) s += std::exp(double(l[v]) - mx);
      nll += (std::log(s) + mx) - double(l[toks[begin + size_t(t) + 1]]);
      ++count;
    }
  }
  std::printf("perplexity: %.4f over %lld predicted tokens (mean nll %.6f)\n", std::exp(nll / double(count)),
              (long long)count, nll / double(count));
  return 0;
}

const bool registered = register_command({"perplexity", "perplexity of a token file", cmd_perplexity});

}  // namespace
}  // namespace dsv3::cli
