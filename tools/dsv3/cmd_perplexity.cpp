// `dsv3 perplexity`: perplexity of a token file, in windows of --ctx tokens.
#include <cmath>
#include <cstdio>
#include <iostream>
#include <iterator>

#include "command.h"
#include "core/error.h"
#include "core/mapped_file.h"
#include "model_args.h"
#include "runtime/sampler.h"
#include "text_io.h"

namespace dsv3::cli {
namespace {

const char* kHelp =
    "usage: dsv3 perplexity [-m DIR] (-f FILE | --tokens-file FILE) [--ctx N]\n"
    "  -f FILE             text ('-' for stdin), encoded with the model's tokenizer (BOS added)\n"
    "  --tokens-file FILE  token ids instead (whitespace or comma separated)\n"
    "  windows of --ctx tokens are scored independently\n"
    "  --top1-out FILE     also write 'pos<TAB>token<TAB>top1<TAB>nll_next' per position\n"
    "                      (argmax of the logits; nll empty at a window's last position)\n";

int cmd_perplexity(const std::vector<std::string>& argv) {
  auto spec = model_flag_spec();
  for (auto& f : text_flag_spec()) spec.push_back(f);
  for (const char* f : {"-f=", "--tokens-file=", "--top1-out=", "--help"}) spec.push_back(f);
  Args a(argv, spec);
  if (a.has("--help")) { std::fputs(kHelp, stdout); std::fputs(model_flag_help(), stdout); return 0; }
  DSV3_CHECK(a.has("-f") != a.has("--tokens-file"), "give exactly one of -f FILE or --tokens-file FILE");
  LoadedModel lm = load_model_from_args(a);
  std::vector<int32_t> toks;
  if (a.has("--tokens-file")) {
    toks = parse_token_list(read_text_file(a.get("--tokens-file")), a.get("--tokens-file"));
  } else {
    auto tok = load_tokenizer(a, lm.dir);
    DSV3_CHECK(tok, lm.dir, " has no tokenizer.json: give --tokenizer PATH or use --tokens-file");
    std::string text;
    if (a.get("-f") == "-") {
      text.assign(std::istreambuf_iterator<char>(std::cin), std::istreambuf_iterator<char>());
    } else {
      text = read_text_file(a.get("-f"));
    }
    toks = tok->encode(text, true);
  }
  DSV3_CHECK(toks.size() >= 2, "need at least 2 tokens to score, got ", toks.size());
  const int64_t V = lm.model->config.vocab_size, W = lm.cache->ctx();
  double nll = 0;
  int64_t count = 0;
  ForwardOptions opt = lm.fwd;
  opt.all_logits = true;
  std::FILE* top1 = nullptr;
  if (a.has("--top1-out")) {
    top1 = std::fopen(a.get("--top1-out").c_str(), "w");
    DSV3_CHECK(top1, "cannot write ", a.get("--top1-out"));
    std::fputs("pos\ttoken\ttop1\tnll_next\n", top1);
  }
  for (size_t begin = 0; begin + 1 < toks.size(); begin += size_t(W)) {
    const int64_t n = std::min<int64_t>(W, int64_t(toks.size() - begin));
    if (n < 2) break;
    std::vector<float> logits(size_t(n * V));
    lm.cache->set_length(0);
    forward(*lm.model, *lm.cache, toks.data() + begin, n, 0, logits.data(), lm.pool.get(), opt);
    for (int64_t t = 0; t < n; ++t) {
      const float* l = logits.data() + t * V;
      const double x = t + 1 < n ? log_sum_exp(l, V) - double(l[toks[begin + size_t(t) + 1]]) : 0.0;
      if (top1) {
        std::fprintf(top1, "%lld\t%d\t%d\t", (long long)(begin + size_t(t)), toks[begin + size_t(t)], argmax(l, V));
        if (t + 1 < n) std::fprintf(top1, "%.6f", x);
        std::fputc('\n', top1);
      }
      if (t + 1 == n) break;
      nll += x;
      ++count;
    }
  }
  if (top1) std::fclose(top1);
  std::printf("perplexity: %.4f over %lld predicted tokens (mean nll %.6f)\n", std::exp(nll / double(count)),
              (long long)count, nll / double(count));
  return 0;
}

const bool registered = register_command({"perplexity", "perplexity of a token file", cmd_perplexity});

}  // namespace
}  // namespace dsv3::cli
