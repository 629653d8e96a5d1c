// Absorbed MLA decode attention: ISA dispatch, chunking, the fixed-order merge of chunk
// partials, the double-precision reference twin and the W_UK^T q row accumulation.
#include "kernels/mla_attn.h"

#include <algorithm>
#include <cmath>
#include <limits>
#include <vector>

#include "core/error.h"
#include "core/fp8.h"
#include "kernels/fp8_row.h"
#include "kernels/isa.h"
#include "kernels/matmul_bf16act.h"
#include "kernels/mla_attn_table.h"
#include "kernels/ops.h"

namespace dsv3::kernels {

namespace {

const detail::MlaAttnTable& mla_table() {
  switch (current_isa()) {
    case Isa::Avx512:
      return detail::mla_table_avx512();
    case Isa::Avx2:
      return detail::mla_table_avx2();
    default:
      return detail::mla_table_portable();
  }
}

// Per-thread buffer that grows to the largest request and is then reused (no allocation in the
// decode loop once warm).
float* thread_scratch(size_t n) {
  thread_local std::vector<float> buf;
  if (buf.size() < n) buf.resize(n);
  return buf.data();
}

void check_source(const MlaAttnShape& s, const LatentSource& src) {
  DSV3_CHECK(src.dtype == DType::F32 || src.dtype == DType::BF16 || src.dtype == DType::F16,
             "MLA attention: latent cache dtype must be f32, bf16 or f16, got ", dtype_name(src.dtype));
  DSV3_CHECK(src.width == s.r + s.dr, "MLA attention: cache width ", src.width, " != ", s.r,
             " + ", s.dr);
  DSV3_CHECK(src.page_tokens > 0, "MLA attention: page_tokens must be > 0");
}

}  // namespace

MlaChunks mla_attn_chunks(int64_t T) {
  // >= 256 rows per chunk (a partial's fixed costs stay small), at most 16 chunks (the merge
  // stays small; 16 splits evenly over 1, 2, 4, 8 or 16 threads).
  constexpr int64_t kMinChunk = 256, kMaxChunks = 16;
  if (T <= 0) return {0, 0};
  int64_t n = (T + kMinChunk - 1) / kMinChunk;
  if (n > kMaxChunks) n = kMaxChunks;
  return {n, T};
}

void mla_attn_partial(const MlaAttnShape& s, const float* qcat, const LatentSource& src,
                      int64_t t0, int64_t t1, float* m, float* l, float* acc) {
  check_source(s, src);
  DSV3_CHECK(0 <= t0 && t0 < t1, "MLA attention: empty range [", t0, ", ", t1, ")");
  float* scratch = thread_scratch(size_t(detail::mla_scratch_floats(s.H, s.r + s.dr)));
  const detail::MlaAttnTable& t = mla_table();
  if (src.dtype == DType::BF16 && t.partial_bf16dot && bf16act_native())
    t.partial_bf16dot(s, qcat, src, t0, t1, m, l, acc, scratch);
  else
    t.partial(s, qcat, src, t0, t1, m, l, acc, scratch);
}

void mla_attn_combine(const MlaAttnShape& s, int64_t n_parts, const float* m, const float* l,
                      const float* acc, int64_t h0, int64_t h1, float* out) {
  const int64_t H = s.H, r = s.r;
  for (int64_t h = h0; h < h1; ++h) {
    float mx = -std::numeric_limits<float>::infinity();
    for (int64_t c = 0; c < n_parts; ++c) mx = std::max(mx, m[c * H + h]);
    float* o = out + h * r;
    std::fill(o, o + r, 0.f);
    float sum = 0.f;
    for (int64_t c = 0; c < n_parts; ++c) {
      const float w = std::exp(m[c * H + h] - mx);
      sum += l[c * H + h] * w;
      axpy(w, acc + (c * H + h) * r, o, r);
    }
    const float inv = 1.f / sum;
    for (int64_t j = 0; j < r; ++j) o[j] *= inv;
  }
}

void mla_attn_ref(const MlaAttnShape& s, const float* qcat, const LatentSource& src, int64_t T,
                  float* out) {
  check_source(s, src);
  const int64_t H = s.H, r = s.r, W = s.r + s.dr;
  std::vector<double> row(static_cast<size_t>(W)), p(static_cast<size_t>(T)), o(static_cast<size_t>(r));
  auto read = [&](int64_t t) {
    const void* ptr = src.row_ptr(src.self, t);
    for (int64_t k = 0; k < W; ++k)
      row[size_t(k)] = src.dtype == DType::F32    ? double(static_cast<const float*>(ptr)[k])
                       : src.dtype == DType::F16 ? double(f16_to_f32(static_cast<const uint16_t*>(ptr)[k]))
                                                 : double(bf16_to_f32(static_cast<const uint16_t*>(ptr)[k]));
  };
  std::vector<float> qr(static_cast<size_t>(W));
  for (int64_t h = 0; h < H; ++h) {
    const float* q = qcat + h * W;
    if (src.dtype == DType::BF16) {  // bf16 rows: the query as bf16 (mla_attn.h)
      for (int64_t k = 0; k < W; ++k) qr[size_t(k)] = bf16_to_f32(bf16act_round(q[k]));
      q = qr.data();
    }
    double mx = -std::numeric_limits<double>::infinity();
    for (int64_t t = 0; t < T; ++t) {
      read(t);
      double d = 0;
      for (int64_t k = 0; k < W; ++k) d += double(q[k]) * row[size_t(k)];
      p[size_t(t)] = d * double(s.scale);
      mx = std::max(mx, p[size_t(t)]);
    }
    double sum = 0;
    for (int64_t t = 0; t < T; ++t) sum += (p[size_t(t)] = std::exp(p[size_t(t)] - mx));
    std::fill(o.begin(), o.end(), 0.0);
    for (int64_t t = 0; t < T; ++t) {
      read(t);
      for (int64_t j = 0; j < r; ++j) o[size_t(j)] += p[size_t(t)] / sum * row[size_t(j)];
    }
    for (int64_t j = 0; j < r; ++j) out[h * r + j] = float(o[size_t(j)]);
  }
}

void rows_axpy(const float* a, int64_t n, const TensorView& W, int64_t row0, float* y) {
  DSV3_CHECK(W.ndim == 2 && row0 >= 0 && n >= 0 && row0 + n <= W.rows(),
             "rows_axpy: rows [", row0, ", ", row0 + n, ") outside a weight of ", W.rows(), " rows");
  const int64_t K = W.cols();
  const detail::MlaAttnTable& t = mla_table();
  if (W.dtype == DType::F32 || W.dtype == DType::BF16 || W.dtype == DType::F16) {
    const auto* base = static_cast<const uint8_t*>(W.data) + size_t(row0) * size_t(K) * dtype_size(W.dtype);
    t.rows_axpy(a, n, base, W.dtype, K, K, y);
    return;
  }
  float* row = thread_scratch(size_t(K));  // FP8 / block types: decode one row at a time
  const bool fp8_fast = W.dtype == DType::F8_E4M3 && W.block_scale && current_isa() == Isa::Avx512;
  const int64_t KB = (K + 127) / 128;
  for (int64_t i = 0; i < n; ++i) {
    const int64_t r = row0 + i;
    if (fp8_fast)  // same values as weight_row, vectorised (fp8_row.h)
      fp8_widen_row_avx512(W.as<uint8_t>() + r * K, W.block_scale + (r / 128) * KB, K,
                           e4m3_table(), row);
    else
      weight_row(W, r, row);
    t.rows_axpy(a + i, 1, row, DType::F32, K, K, y);
  }
}

}  // namespace dsv3::kernels
