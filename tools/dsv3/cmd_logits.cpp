// `dsv3 logits`: fp32 logits of every position of a token sequence, as a .npy file
// (for comparisons with reference implementations). Optionally the chosen experts.
#include <cstdio>

#include "command.h"
#include "core/error.h"
#include "io/npy.h"
#include "model_args.h"

namespace dsv3::cli {
namespace {

const char* kHelp =
    "usage: dsv3 logits -m DIR --tokens 1,2,3 -o out.npy [--decode] [--experts-out E.npy]\n"
    "  --tokens LIST       token ids (comma or space separated)\n"
    "  -o FILE             output .npy, float32 [T, vocab]\n"
    "  --decode            feed the tokens one at a time (decode path) instead of one chunk\n"
    "  --experts-out FILE  int32 [moe_layers, T, K] routed experts per token\n";

int cmd_logits(const std::vector<std::string>& argv) {
  auto spec = model_flag_spec();
  for (const char* f : {"--tokens=", "-o=", "--decode", "--experts-out=", "--help"}) spec.push_back(f);
  Args a(argv, spec);
  if (a.has("--help")) { std::fputs(kHelp, stdout); std::fputs(model_flag_help(), stdout); return 0; }
  DSV3_CHECK(a.has("--tokens"), "--tokens is required (see --help)");
  DSV3_CHECK(a.has("-o"), "-o FILE is required (see --help)");
  auto toks = parse_token_list(a.get("--tokens"), "--tokens");
  DSV3_CHECK(!toks.empty(), "--tokens is empty");
  LoadedModel lm = load_model_from_args(a, true);
  const int64_t T = int64_t(toks.size()), V = lm.model->config.vocab_size;
  std::vector<float> logits(size_t(T * V));
  ForwardTrace trace;
  ForwardOptions opt = lm.fwd;
  if (a.has("--decode")) {
    std::vector<ForwardTrace> steps(static_cast<size_t>(T));
    for (int64_t t = 0; t < T; ++t)
      forward(*lm.model, *lm.cache, &toks[size_t(t)], 1, t, logits.data() + t * V, lm.pool.get(), opt,
              &steps[size_t(t)]);
    trace.moe_layers = steps[0].moe_layers;
    trace.experts.resize(steps[0].experts.size());
    for (size_t l = 0; l < trace.experts.size(); ++l)
      for (auto& st : steps) trace.experts[l].insert(trace.experts[l].end(), st.experts[l].begin(), st.experts[l].end());
  } else {
    opt.all_logits = true;
    forward(*lm.model, *lm.cache, toks.data(), T, 0, logits.data(), lm.pool.get(), opt, &trace);
  }
  write_npy(a.get("-o"), logits.data(), {T, V});
  if (a.has("--experts-out")) {
    const int64_t K = lm.model->config.num_experts_per_tok;
    std::vector<int32_t> all;
    for (auto& e : trace.experts) all.insert(all.end(), e.begin(), e.end());
    write_npy_i32(a.get("--experts-out"), all.data(), {int64_t(trace.experts.size()), T, K});
  }
  return 0;
}

const bool registered = register_command({"logits", "write fp32 logits of every position to .npy", cmd_logits});

}  // namespace
}  // namespace dsv3::cli
