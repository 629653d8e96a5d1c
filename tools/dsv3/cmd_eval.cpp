// `dsv3 eval`: exact-answer accuracy of a checkpoint on N held-out problems of the built-in
// model's arithmetic task (the seed picks the problems, as in scripts/arith_task.py), greedy by
// default, with MTP statistics — so bf16 vs FP8 and with vs without MTP can be compared.
#include <cstdio>

#include "command.h"
#include "core/error.h"
#include "model_args.h"
#include "runtime/generator.h"
#include "text_io.h"
#include "train/arith_task.h"

namespace dsv3::cli {
namespace {

const char* kHelp =
    "usage: dsv3 eval [-m DIR] [-n N] [--seed S] [--max-tokens T] [-v] [sampling/MTP flags]\n"
    "  -n N            problems (default 200)\n"
    "  --seed S        picks the held-out problems (default 1, as the trainer's evaluation)\n"
    "  --max-tokens T  generation budget per problem (default 96)\n"
    "  -v              print every problem with the model's answer\n";

int cmd_eval(const std::vector<std::string>& argv) {
  auto spec = model_flag_spec();
  for (auto& f : text_flag_spec()) spec.push_back(f);
  for (auto& f : generate_flag_spec()) spec.push_back(f);
  for (const char* f : {"-n=", "--max-tokens=", "-v", "--help"}) spec.push_back(f);
  Args a(argv, spec);
  if (a.has("--help")) {
    std::fputs(kHelp, stdout);
    std::fputs(generate_flag_help(), stdout);
    std::fputs(model_flag_help(), stdout);
    return 0;
  }
  const int64_t n = a.get_int("-n", 200), max_tokens = a.get_int("--max-tokens", 96);
  DSV3_CHECK(n > 0, "-n must be > 0");
  DSV3_CHECK(max_tokens > 0, "--max-tokens must be > 0");
  const int64_t seed = a.get_int("--seed", 1);
  DSV3_CHECK(seed >= 0, "--seed must be >= 0");
  LoadedModel lm = load_model_from_args(a, true);
  GenerateOptions go = parse_generate_options(a, *lm.model);
  auto tok = load_tokenizer(a, lm.dir);
  DSV3_CHECK(tok, lm.dir, " has no tokenizer.json: give --tokenizer PATH");
  ChatTemplate tmpl(chat_template_source(a, *tok));
  auto generator = make_generator(lm, go);
  Generator& gen = *generator;

  arith::Rng rng{uint64_t(seed)};
  int64_t correct = 0, drafted = 0, accepted = 0, forwards = 0, generated = 0;
  double seconds = 0;
  for (int64_t i = 0; i < n; ++i) {
    const arith::Problem p = arith::sample_problem(rng, true);
    nlohmann::json msgs = nlohmann::json::array({{{"role", "user"}, {"content", arith::question(p)}}});
    std::vector<int32_t> prompt = tok->encode(tmpl.render(msgs, chat_options(*tok, true)), false);
    std::vector<int32_t> out;
    gen.generate(prompt, max_tokens, [&](int32_t t) { out.push_back(t); return true; });
    const std::string text = tok->decode(out, true);
    const std::string got = arith::extract_answer(text);
    const bool ok = got == arith::answer(p);
    correct += ok;
    const GenerateStats& st = gen.stats();
    drafted += st.drafted;
    accepted += st.accepted;
    forwards += st.decode_forwards;
    generated += st.generated;
    seconds += st.prompt_seconds + st.decode_seconds;
    if (a.has("-v"))
      std::printf("%s %s = %s (model: %s)\n", ok ? "ok  " : "FAIL", arith::question(p).c_str(),
                  arith::answer(p).c_str(), got.c_str());
  }
  std::printf("accuracy: %.1f%% (%lld/%lld)\n", 100.0 * double(correct) / double(n), (long long)correct,
              (long long)n);
  std::printf("tokens: %lld generated in %.2f s (%.1f tok/s)\n", (long long)generated, seconds,
              double(generated) / seconds);
  if (go.mtp_depth > 0 && drafted > 0)
    std::printf("mtp: acceptance %.1f%%, %.2f tokens/forward (depth %lld)\n",
                100.0 * double(accepted) / double(drafted),
                double(generated - n) / double(std::max<int64_t>(1, forwards)), (long long)go.mtp_depth);
  return 0;
}

const bool registered = register_command({"eval", "accuracy on the built-in arithmetic task", cmd_eval});

}  // namespace
}  // namespace dsv3::cli
