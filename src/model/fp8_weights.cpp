// FP8 checkpoint support: quantization_config, scale binding, block (de)quantization.
#include "model/fp8_weights.h"

#include <algorithm>
#include <cmath>

#include "core/error.h"
#include "core/fp8.h"

namespace dsv3 {

namespace {

int64_t cdiv(int64_t a, int64_t b) {
  return (a + b - 1) / b;
}

std::string shape_str(const std::vector<int64_t>& s) {
  std::string r = "[";
  for (size_t i = 0; i < s.size(); ++i) r += (i ? ", " : "") + std::to_string(s[i]);
  return r + "]";
}

const std::string kSuffix = "_scale_inv";

}  // namespace

Fp8Config parse_fp8_config(const nlohmann::json& config, const std::string& path) {
  Fp8Config c;
  if (!config.is_object() || !config.contains("quantization_config")) return c;
  const nlohmann::json& q = config["quantization_config"];
  if (q.is_null()) return c;
  DSV3_CHECK(q.is_object(), path, ": quantization_config is not an object");
  c.present = true;
  const std::string method = q.contains("quant_method") && q["quant_method"].is_string()
                                 ? q["quant_method"].get<std::string>()
                                 : "";
  DSV3_CHECK(method == "fp8", path, ": quantization_config.quant_method '", method,
             "' is not supported (only \"fp8\")");
  if (q.contains("fmt")) {
    DSV3_CHECK(q["fmt"].is_string() && q["fmt"].get<std::string>() == "e4m3", path,
               ": quantization_config.fmt must be \"e4m3\", got ", q["fmt"].dump());
  }
  if (q.contains("weight_block_size")) {
    const auto& b = q["weight_block_size"];
    DSV3_CHECK(b.is_array() && b.size() == 2 && b[0].is_number_integer() &&
                   b[1].is_number_integer() && b[0].get<int64_t>() == 128 &&
                   b[1].get<int64_t>() == 128,
               path, ": quantization_config.weight_block_size must be [128, 128], got ", b.dump());
  }
  if (q.contains("scale_fmt") && !q["scale_fmt"].is_null()) {
    DSV3_CHECK(q["scale_fmt"].is_string(), path, ": quantization_config.scale_fmt is not a string");
    const std::string f = q["scale_fmt"].get<std::string>();
    DSV3_CHECK(f == "ue8m0", path, ": quantization_config.scale_fmt '", f,
               "' is not supported (only \"ue8m0\")");
    c.ue8m0 = true;
  }
  return c;
}

std::string fp8_scale_name(const std::string& name) {
  return name + kSuffix;
}

void attach_fp8_scale(const Checkpoint& ck, const StoredTensor& t, const std::string& name,
                      const Fp8Config& cfg, TensorView* view) {
  DSV3_CHECK(t.shape.size() == 2, t.file, ": F8_E4M3 tensor '", name, "' must be 2-D, got ",
             shape_str(t.shape));
  const std::string sn = fp8_scale_name(name);
  const StoredTensor* s = ck.find(sn);
  DSV3_CHECK(s != nullptr, t.file, ": F8_E4M3 tensor '", name, "' has no block scale tensor '", sn,
             "' (FP8 weights need their weight_scale_inv)");
  const std::vector<int64_t> want = {cdiv(t.shape[0], cfg.block_rows),
                                     cdiv(t.shape[1], cfg.block_cols)};
  DSV3_CHECK(s->dtype == DType::F32, s->file, ": scale tensor '", sn, "' has dtype ",
             dtype_name(s->dtype), ", expected F32");
  DSV3_CHECK(s->shape == want, s->file, ": scale tensor '", sn, "' has shape ", shape_str(s->shape),
             ", expected ", shape_str(want), " (ceil of ", shape_str(t.shape), " / 128) for '",
             name, "'");
  view->block_scale = reinterpret_cast<const float*>(s->data);
}

bool is_fp8_scale_of_weight(const Checkpoint& ck, const std::string& name) {
  if (name.size() <= kSuffix.size() ||
      name.compare(name.size() - kSuffix.size(), kSuffix.size(), kSuffix) != 0)
    return false;
  const StoredTensor* w = ck.find(name.substr(0, name.size() - kSuffix.size()));
  return w && w->dtype == DType::F8_E4M3;
}

void quantize_fp8_blocks(const float* w, int64_t R, int64_t C, uint8_t* q, float* s,
                         const std::string& what) {
  const int64_t RB = cdiv(R, 128), CB = cdiv(C, 128);
  for (int64_t rb = 0; rb < RB; ++rb)
    for (int64_t cb = 0; cb < CB; ++cb) {
      const int64_t r0 = rb * 128, r1 = std::min(R, r0 + 128), c0 = cb * 128,
                    c1 = std::min(C, c0 + 128);
      float amax = 0.f;
      for (int64_t r = r0; r < r1; ++r)
        for (int64_t c = c0; c < c1; ++c) {
          const float v = w[r * C + c];
          DSV3_CHECK(std::isfinite(v), what, ": non-finite value at [", r, ", ", c, "]");
          amax = std::max(amax, std::fabs(v));
        }
      const float sc = amax > 0.f ? amax / kE4m3Max : 1.0f;
      s[rb * CB + cb] = sc;
      for (int64_t r = r0; r < r1; ++r)
        for (int64_t c = c0; c < c1; ++c) q[r * C + c] = f32_to_e4m3_sat(w[r * C + c] / sc);
    }
}

void dequant_fp8_to_bf16(const uint8_t* q, const float* s, int64_t R, int64_t C, uint16_t* out) {
  const int64_t CB = cdiv(C, 128);
  for (int64_t r = 0; r < R; ++r)
    for (int64_t c = 0; c < C; ++c)
      out[r * C + c] = f32_to_bf16(e4m3_to_f32(q[r * C + c]) * s[(r / 128) * CB + c / 128]);
}

}  // namespace dsv3
