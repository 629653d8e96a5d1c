// AVX-512 prefill matmul (M >= 8) in outer-product form: x is packed once per call into
// row blocks transposed to [K][32] ("xT"), and each 16- or 32-row block is multiplied by 12
// weight rows at a time, broadcasting one weight value per (row, k) and accumulating 16 rows
// of y per register: 24 accumulators, no horizontal sums, weights read in their stored dtype
// (a bf16 pair is broadcast as one 32-bit word and split into two fp32 values by a shift and
// a mask, exactly). Every y[m, n] is the sequential sum over k = 0..K-1 of fma(x[m,k],
// w[n,k], acc), independent of the block, the tile and the thread split.
#pragma GCC optimize("fp-contract=off")

#include <immintrin.h>

// GCC 12 warns about the deliberately undefined registers inside some AVX-512 intrinsics.
#pragma GCC diagnostic ignored "-Wuninitialized"
#pragma GCC diagnostic ignored "-Wmaybe-uninitialized"

#include <cstring>

#include "kernels/kernel_table.h"

namespace dsv3::kernels::detail {
namespace {

constexpr int kNr = 12;     // weight rows per tile
constexpr int64_t kB = 32;  // rows of x per packed block

struct WF32 {
  using T = float;
};
struct WBF16 {
  using T = uint16_t;
};
struct WF16 {
  using T = uint16_t;
};

inline __m512 bcast_one(const float* p) {
  return _mm512_set1_ps(*p);
}
inline __m512 bcast_one_bf16(const uint16_t* p) {
  return _mm512_castsi512_ps(_mm512_set1_epi32(int32_t(uint32_t(*p) << 16)));
}
inline __m512 bcast_one_f16(const uint16_t* p) {
  return _mm512_set1_ps(_cvtsh_ss(*p));
}

// acc[v][j] (16 rows of block v, weight row j) over all K.
template <int MV, class WB>
inline void tile_op(const float* xt, int64_t K, const typename WB::T* const* wr, float* y,
                    int64_t ldy, int64_t mrows, int64_t ncols) {
  __m512 acc[MV][kNr];
#pragma GCC unroll 12
  for (int v = 0; v < MV; ++v)
#pragma GCC unroll 12
    for (int j = 0; j < kNr; ++j) acc[v][j] = _mm512_setzero_ps();
  int64_t k = 0;
  if constexpr (sizeof(typename WB::T) == 2 && !__is_same(WB, WF16)) {
    const __m512i hi = _mm512_set1_epi32(int32_t(0xffff0000u));
    for (; k + 2 <= K; k += 2) {
      __m512 x0[MV], x1[MV];
#pragma GCC unroll 2
      for (int v = 0; v < MV; ++v) {
        x0[v] = _mm512_loadu_ps(xt + k * kB + 16 * v);
        x1[v] = _mm512_loadu_ps(xt + (k + 1) * kB + 16 * v);
      }
#pragma GCC unroll 12
      for (int j = 0; j < kNr; ++j) {
        int32_t pair;
        std::memcpy(&pair, wr[j] + k, 4);
        const __m512i b = _mm512_set1_epi32(pair);
        const __m512 w0 = _mm512_castsi512_ps(_mm512_slli_epi32(b, 16));
#pragma GCC unroll 2
        for (int v = 0; v < MV; ++v) acc[v][j] = _mm512_fmadd_ps(x0[v], w0, acc[v][j]);
        const __m512 w1 = _mm512_castsi512_ps(_mm512_and_si512(b, hi));
#pragma GCC unroll 2
        for (int v = 0; v < MV; ++v) acc[v][j] = _mm512_fmadd_ps(x1[v], w1, acc[v][j]);
      }
    }
  }
  for (; k < K; ++k) {
    __m512 x0[MV];
#pragma GCC unroll 2
    for (int v = 0; v < MV; ++v) x0[v] = _mm512_loadu_ps(xt + k * kB + 16 * v);
#pragma GCC unroll 12
    for (int j = 0; j < kNr; ++j) {
      __m512 w;
      if constexpr (__is_same(WB, WF32))
        w = bcast_one(wr[j] + k);
      else if constexpr (__is_same(WB, WBF16))
        w = bcast_one_bf16(wr[j] + k);
      else
        w = bcast_one_f16(wr[j] + k);
#pragma GCC unroll 2
      for (int v = 0; v < MV; ++v) acc[v][j] = _mm512_fmadd_ps(x0[v], w, acc[v][j]);
    }
  }
  alignas(64) float buf[16];
  for (int v = 0; v < MV; ++v)
    for (int j = 0; j < kNr; ++j) {
      if (j >= ncols) break;
      _mm512_store_ps(buf, acc[v][j]);
      for (int l = 0; l < 16 && 16 * v + l < mrows; ++l) y[(16 * v + l) * ldy + j] = buf[l];
    }
}

template <class WB>
void packed_rows_t(const float* xT, int64_t M, const typename WB::T* W, int64_t N, int64_t K,
                   float* y, int64_t n0, int64_t n1) {
  const int64_t nblocks = (M + kB - 1) / kB;
  for (int64_t nb = n0; nb < n1; nb += kNr) {
    const int64_t ncols = n1 - nb < kNr ? n1 - nb : kNr;
    const typename WB::T* wr[kNr];
    for (int j = 0; j < kNr; ++j) wr[j] = W + (nb + (j < ncols ? j : ncols - 1)) * K;
    for (int64_t b = 0; b < nblocks; ++b) {
      const int64_t rows = M - b * kB < kB ? M - b * kB : kB;
      const float* xt = xT + b * kB * K;
      float* yb = y + b * kB * N + nb;
      if (rows > 16)
        tile_op<2, WB>(xt, K, wr, yb, N, rows, ncols);
      else
        tile_op<1, WB>(xt, K, wr, yb, N, rows, ncols);
    }
  }
}

void matmul_packed_rows(const float* xT, int64_t M, const void* W, DType wt, int64_t N, int64_t K,
                        float* y, int64_t n0, int64_t n1) {
  switch (wt) {
    case DType::F32:
      return packed_rows_t<WF32>(xT, M, static_cast<const float*>(W), N, K, y, n0, n1);
    case DType::BF16:
      return packed_rows_t<WBF16>(xT, M, static_cast<const uint16_t*>(W), N, K, y, n0, n1);
    case DType::F16:
      return packed_rows_t<WF16>(xT, M, static_cast<const uint16_t*>(W), N, K, y, n0, n1);
    default:
      return;
  }
}

// FP8 weights (e4m3 codes, block scales bs [ceil(N/128), ceil(K/128)]): bands of weight rows
// are widened into `scratch` as fp32 e4m3(w) * s (one rounding per weight: the product of a
// 4-bit and a 24-bit significand), then multiplied like F32 weights. Every y[m, n] is the
// sequential fma chain over k of x[m, k] * fl(w[n, k] * s), independent of M and the split.
int64_t fp8_band_rows(int64_t K) {
  int64_t b = (int64_t(64) * 1024 / (K > 0 ? K : 1)) / kNr * kNr;
  return b < kNr ? kNr : b;
}

void matmul_packed_fp8_rows(const float* xT, int64_t M, const uint8_t* W, const float* bs,
                            int64_t N, int64_t K, float* y, int64_t n0, int64_t n1,
                            float* scratch) {
  const int64_t KB = (K + 127) / 128, band = fp8_band_rows(K);
  const __m256i mag = _mm256_set1_epi16(short(0xbf80));
  for (int64_t nb = n0; nb < n1; nb += band) {
    const int64_t ne = n1 - nb < band ? n1 : nb + band;
    for (int64_t n = nb; n < ne; ++n) {
      const uint8_t* src = W + n * K;
      const float* srow = bs + (n / 128) * KB;
      float* dst = scratch + (n - nb) * K;
      for (int64_t kb = 0; kb < KB; ++kb) {
        // codes -> half bits of w * 2^-8 (exact), times s * 256 (exact): one rounding.
        const __m512 sc = _mm512_set1_ps(srow[kb] * 256.0f);
        const int64_t k1 = K < kb * 128 + 128 ? K : kb * 128 + 128;
        for (int64_t k = kb * 128; k < k1; k += 16) {
          const int c = k1 - k < 16 ? int(k1 - k) : 16;
          const __mmask16 mk = __mmask16((1u << c) - 1u);
          const __m256i h =
              _mm256_and_si256(_mm256_slli_epi16(_mm256_cvtepi8_epi16(_mm_maskz_loadu_epi8(mk, src + k)), 7), mag);
          _mm512_mask_storeu_ps(dst + k, mk, _mm512_mul_ps(_mm512_cvtph_ps(h), sc));
        }
      }
    }
    packed_rows_t<WF32>(xT, M, scratch, N, K, y + nb, 0, ne - nb);
  }
}

// Blocks [b0, b1) of xT: xT[b][k][r] = x[32 b + r][k], zero for rows >= M.
void pack_xt(const float* x, int64_t M, int64_t K, int64_t b0, int64_t b1, float* xT) {
  for (int64_t b = b0; b < b1; ++b) {
    float* dst = xT + b * kB * K;
    const int64_t rows = M - b * kB < kB ? M - b * kB : kB;
    for (int64_t k = 0; k < K; ++k) {
      float* d = dst + k * kB;
      int64_t r = 0;
      for (; r < rows; ++r) d[r] = x[(b * kB + r) * K + k];
      for (; r < kB; ++r) d[r] = 0.0f;
    }
  }
}

}  // namespace

void add_packed_avx512(KernelTable* t) {
  t->packed_min_m = 8;
  t->packed_block_rows = kB;
  t->pack_xt = &pack_xt;
  t->matmul_packed_rows = &matmul_packed_rows;
  t->matmul_packed_fp8_rows = &matmul_packed_fp8_rows;
  t->packed_fp8_scratch_rows = &fp8_band_rows;
}

}  // namespace dsv3::kernels::detail
