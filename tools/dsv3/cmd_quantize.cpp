// `dsv3 quantize`: converts an HF checkpoint folder to DeepSeek's FP8 layout (--to fp8) or
// dequantizes an FP8 checkpoint to bf16 exactly like DeepSeek's fp8_cast_bf16 (--to bf16).
// See src/model/fp8_convert.h for what is converted and what is copied.
#include <cstdio>

#include "args.h"
#include "command.h"
#include "core/error.h"
#include "model/fp8_convert.h"

namespace dsv3::cli {
namespace {

const char* kHelp =
    "usage: dsv3 quantize -m IN_DIR -o OUT_DIR --to fp8|bf16 [--shard-size BYTES] [--lm-head]\n"
    "  --to fp8     linear projections -> F8_E4M3 + 128x128 weight_scale_inv (amax/448, RNE);\n"
    "               embeddings, lm_head, norms, router, MTP extras unchanged\n"
    "  --to bf16    F8_E4M3 weights -> bf16(w * scale) (DeepSeek fp8_cast_bf16), scales dropped\n"
    "  --shard-size max bytes per output shard (default 5000000000, as transformers)\n"
    "  --lm-head    with --to fp8: quantize lm_head too (not DeepSeek's layout; like llama.cpp's\n"
    "               Q8_0 output.weight: the head is the largest matrix read per token)\n";

int cmd_quantize(const std::vector<std::string>& argv) {
  Args a(argv, {"-m=", "-o=", "--to=", "--shard-size=", "--lm-head", "--help"});
  if (a.has("--help")) {
    std::fputs(kHelp, stdout);
    return 0;
  }
  DSV3_CHECK(a.has("-m"), "-m IN_DIR is required (see --help)");
  DSV3_CHECK(a.has("-o"), "-o OUT_DIR is required (see --help)");
  const std::string to = a.get("--to");
  DSV3_CHECK(to == "fp8" || to == "bf16", "--to must be fp8 or bf16, got '", to, "'");
  const int64_t shard = a.get_int("--shard-size", 5000000000LL);
  DSV3_CHECK(!a.has("--lm-head") || to == "fp8", "--lm-head only applies to --to fp8");
  DSV3_CHECK(shard > 0, "--shard-size must be > 0");
  const ConvertStats s =
      convert_checkpoint(a.get("-m"), a.get("-o"),
                         to == "fp8" ? ConvertTarget::kFp8 : ConvertTarget::kBf16, size_t(shard),
                         a.has("--lm-head"));
  std::printf(
      "%s: %lld tensors %s, %lld copied, %lld scales dropped; %.1f MiB -> %.1f MiB in %lld "
      "file(s)\n",
      a.get("-o").c_str(), (long long)s.converted,
      to == "fp8" ? "quantized to fp8" : "dequantized to bf16", (long long)s.copied,
      (long long)s.dropped, double(s.bytes_in) / 1048576.0, double(s.bytes_out) / 1048576.0,
      (long long)s.shards);
  return 0;
}

const bool registered = register_command(
    {"quantize", "convert a checkpoint to FP8 (DeepSeek layout) or back to bf16", cmd_quantize});

}  // namespace
}  // namespace dsv3::cli
