// AVX-512 BF16 kernels of the bf16-activation matmuls (matmul_bf16act.h): vdpbf16ps on x rounded
// to bf16 (vcvtne2ps2bf16) and BF16 weights as stored or F8_E4M3 codes turned into their exact
// bf16 values by byte tables (VBMI two-source byte permutes, 64 codes at a time). Prefill: 16- or
// 32-row blocks of packed x against 12 weight rows, one broadcast weight pair per (row, pair), 24
// accumulators, one chain per output. Decode: 32 k per instruction, 16 lane chains per output
// and a fixed reduction tree; one x row streams the weight rows one at a time.
// Orders and bits: exactly those of the portable emulation (bf16act_impl.h).
// Needs AVX-512 BF16 and VBMI (matmul_bf16act.cpp checks both before using this table).
#pragma GCC optimize("fp-contract=off")
#pragma GCC target("avx512vbmi")

#include <immintrin.h>

// GCC 12 warns about the deliberately undefined registers inside some AVX-512 intrinsics.
#pragma GCC diagnostic ignored "-Wuninitialized"
#pragma GCC diagnostic ignored "-Wmaybe-uninitialized"

#include "kernels/bf16act_impl.h"

namespace dsv3::kernels::detail {
namespace {

constexpr int kNr = 12;     // weight rows per prefill tile
constexpr int64_t kB = 32;  // rows of x per packed block

inline int64_t pairs(int64_t K) {
  return (K + 1) / 2;
}

inline __mmask32 mask_first(int64_t n) {
  return n >= 32 ? __mmask32(0xffffffffu) : n <= 0 ? __mmask32(0) : __mmask32((1u << n) - 1u);
}

// 32 fp32 -> 32 bf16 (first n valid, rest zero).
inline __m512i round32(const float* x, int64_t n) {
  const __mmask16 lo = __mmask16(mask_first(n) & 0xffffu);
  const __mmask16 hi = __mmask16(n > 16 ? mask_first(n - 16) & 0xffffu : 0u);
  const __m512 a = _mm512_maskz_loadu_ps(lo, x), b = _mm512_maskz_loadu_ps(hi, x + 16);
  return __m512i(_mm512_cvtne2ps_pbh(b, a));  // low half from the second operand
}

void pack(const float* x, int64_t M, int64_t K, int64_t b0, int64_t b1, uint16_t* xp) {
  const int64_t P = pairs(K);
  alignas(64) uint32_t row[4096];  // one row's pairs, a chunk of 4096 at a time
  for (int64_t b = b0; b < b1; ++b) {
    uint32_t* dst = reinterpret_cast<uint32_t*>(xp + b * P * 2 * kB);
    for (int64_t r = 0; r < kB; ++r) {
      const int64_t m = b * kB + r;
      for (int64_t p0 = 0; p0 < P; p0 += 4096) {
        const int64_t pn = P - p0 < 4096 ? P - p0 : 4096;
        if (m < M) {
          for (int64_t q = 0; q < pn; q += 16) {
            const int64_t k = 2 * (p0 + q);
            _mm512_store_si512(row + q, round32(x + m * K + k, K - k));
          }
        } else {
          for (int64_t q = 0; q < pn; ++q) row[q] = 0;
        }
        for (int64_t q = 0; q < pn; ++q) dst[(p0 + q) * kB + r] = row[q];
      }
    }
  }
}

void round_rows(const float* x, int64_t M, int64_t K, uint16_t* xr) {
  const int64_t Kp = 2 * pairs(K);
  for (int64_t m = 0; m < M; ++m)
    for (int64_t k = 0; k < Kp; k += 32)
      _mm512_mask_storeu_epi16(xr + m * Kp + k, mask_first(Kp - k), round32(x + m * K + k, K - k));
}

// acc[v][j] += pair steps over [p0, p1) (K odd: the last pair's high weight is zero).
template <int MV>
inline void chain(__m512 (&acc)[MV][kNr], const uint16_t* xt, int64_t p0, int64_t p1, int64_t K,
                  const uint16_t* const* wr) {
  const int64_t pfull = p1 < K / 2 ? p1 : K / 2;
  int64_t p = p0;
  for (; p < pfull; ++p) {
    __m512bh xv[MV];
#pragma GCC unroll 2
    for (int v = 0; v < MV; ++v) xv[v] = __m512bh(_mm512_loadu_si512(xt + p * 2 * kB + 32 * v));
#pragma GCC unroll 12
    for (int j = 0; j < kNr; ++j) {
      int32_t w2;
      __builtin_memcpy(&w2, wr[j] + 2 * p, 4);
      const __m512bh wb = __m512bh(_mm512_set1_epi32(w2));
#pragma GCC unroll 2
      for (int v = 0; v < MV; ++v) acc[v][j] = _mm512_dpbf16_ps(acc[v][j], xv[v], wb);
    }
  }
  if (p < p1) {  // the odd last k
    __m512bh xv[MV];
    for (int v = 0; v < MV; ++v) xv[v] = __m512bh(_mm512_loadu_si512(xt + p * 2 * kB + 32 * v));
    for (int j = 0; j < kNr; ++j) {
      const __m512bh wb = __m512bh(_mm512_set1_epi32(int32_t(wr[j][2 * p])));
      for (int v = 0; v < MV; ++v) acc[v][j] = _mm512_dpbf16_ps(acc[v][j], xv[v], wb);
    }
  }
}

template <int MV>
inline void store_tile(const float* acc, float* y, int64_t ldy, int64_t mrows, int64_t ncols) {
  for (int v = 0; v < MV; ++v)
    for (int j = 0; j < ncols; ++j)
      for (int l = 0; l < 16 && 16 * v + l < mrows; ++l)
        y[(16 * v + l) * ldy + j] = acc[(v * kNr + j) * 16 + l];
}

template <int MV>
void tile_bf16(const uint16_t* xt, int64_t K, const uint16_t* const* wr, float* y, int64_t ldy,
               int64_t mrows, int64_t ncols) {
  __m512 acc[MV][kNr];
  for (int v = 0; v < MV; ++v)
    for (int j = 0; j < kNr; ++j) acc[v][j] = _mm512_setzero_ps();
  chain<MV>(acc, xt, 0, pairs(K), K, wr);
  alignas(64) float buf[MV * kNr * 16];
  for (int v = 0; v < MV; ++v)
    for (int j = 0; j < kNr; ++j) _mm512_store_ps(buf + (v * kNr + j) * 16, acc[v][j]);
  store_tile<MV>(buf, y, ldy, mrows, ncols);
}

// FP8: chains per 128-block of K, folded as accm = fma(blk, s[row, kb], accm).
template <int MV>
void tile_fp8(const uint16_t* xt, int64_t K, const uint16_t* const* wr, const float* const* srow,
              float* y, int64_t ldy, int64_t mrows, int64_t ncols) {
  alignas(64) float accm[MV * kNr * 16];
  for (int i = 0; i < MV * kNr * 16; ++i) accm[i] = 0.0f;
  const int64_t P = pairs(K), KB = (K + 127) / 128;
  for (int64_t kb = 0; kb < KB; ++kb) {
    __m512 blk[MV][kNr];
    for (int v = 0; v < MV; ++v)
      for (int j = 0; j < kNr; ++j) blk[v][j] = _mm512_setzero_ps();
    const int64_t p0 = kb * 64, p1 = P < p0 + 64 ? P : p0 + 64;
    chain<MV>(blk, xt, p0, p1, 2 * P, wr);  // rows are padded to 2P: every pair is full
    for (int j = 0; j < kNr; ++j) {
      const __m512 s = _mm512_set1_ps(srow[j][kb]);
      for (int v = 0; v < MV; ++v) {
        float* a = accm + (v * kNr + j) * 16;
        _mm512_store_ps(a, _mm512_fmadd_ps(blk[v][j], s, _mm512_load_ps(a)));
      }
    }
  }
  store_tile<MV>(accm, y, ldy, mrows, ncols);
}

void packed_bf16(const uint16_t* xp, int64_t M, const uint16_t* W, int64_t N, int64_t K, float* y,
                 int64_t n0, int64_t n1) {
  const int64_t nblocks = (M + kB - 1) / kB, P = pairs(K);
  for (int64_t nb = n0; nb < n1; nb += kNr) {
    const int64_t ncols = n1 - nb < kNr ? n1 - nb : kNr;
    const uint16_t* wr[kNr];
    for (int j = 0; j < kNr; ++j) wr[j] = W + (nb + (j < ncols ? j : ncols - 1)) * K;
    for (int64_t b = 0; b < nblocks; ++b) {
      const int64_t rows = M - b * kB < kB ? M - b * kB : kB;
      const uint16_t* xt = xp + b * P * 2 * kB;
      float* yb = y + b * kB * N + nb;
      if (rows > 16)
        tile_bf16<2>(xt, K, wr, yb, N, rows, ncols);
      else
        tile_bf16<1>(xt, K, wr, yb, N, rows, ncols);
    }
  }
}

// e4m3 -> bf16, 64 codes at a time, by byte tables (AVX-512 VBMI): the high and the low byte of
// the bf16 value of each magnitude (7 bits) by one 128-entry two-source byte permute each, the
// sign ORed into the high byte, then two two-source byte permutes interleave the bytes into the
// words of codes 0..31 and 32..63: 5 shuffles + 1 logic op per 64 codes (the 16-bit arithmetic
// form with a subnormal fix-up took 2 shuffles + 7 ops per 32, and bound the decode rate).
// Values: e4m3_bf16_table (exact; NaN codes +-480 like the other FP8 kernels).
struct Fp8LutBytes {
  alignas(64) uint8_t hi[128], lo[128];  // bytes of the bf16 magnitude of codes 0..127
  alignas(64) uint8_t il[128];           // interleave indices for words 0..31, then 32..63
};

const Fp8LutBytes& fp8_lut_bytes() {
  static const Fp8LutBytes b = [] {
    Fp8LutBytes v;
    const uint16_t* t = e4m3_bf16_table();
    for (int c = 0; c < 128; ++c) {
      v.hi[c] = uint8_t(t[c] >> 8);
      v.lo[c] = uint8_t(t[c] & 0xff);
    }
    for (int h = 0; h < 2; ++h)
      for (int i = 0; i < 32; ++i) {  // word i of half h: lo[32h + i] | hi[32h + i] << 8
        v.il[64 * h + 2 * i] = uint8_t(32 * h + i);
        v.il[64 * h + 2 * i + 1] = uint8_t(64 + 32 * h + i);
      }
    return v;
  }();
  return b;
}

struct Fp8Lut {
  __m512i hi0, hi1, lo0, lo1, il0, il1;  // Fp8LutBytes in registers
  Fp8Lut() {
    const Fp8LutBytes& b = fp8_lut_bytes();
    hi0 = _mm512_load_si512(b.hi);
    hi1 = _mm512_load_si512(b.hi + 64);
    lo0 = _mm512_load_si512(b.lo);
    lo1 = _mm512_load_si512(b.lo + 64);
    il0 = _mm512_load_si512(b.il);
    il1 = _mm512_load_si512(b.il + 64);
  }
  // Codes c[0, 64) (only the first n if n < 64, the rest read as zero) -> bf16 words w0 (codes
  // 0..31) and w1 (32..63). Full loads are two 32-byte halves: a 64-byte load that splits cache
  // lines (weights are not 64-byte aligned in general) ran ~40% slower from DRAM.
  inline void decode(const uint8_t* c, int64_t n, __m512i& w0, __m512i& w1) const {
    const __m256i* h = reinterpret_cast<const __m256i*>(c);
    const __m512i code = n >= 64
                             ? _mm512_inserti64x4(_mm512_castsi256_si512(_mm256_loadu_si256(h)),
                                                  _mm256_loadu_si256(h + 1), 1)
                             : _mm512_maskz_loadu_epi8(n <= 0 ? 0 : ~__mmask64(0) >> (64 - n), c);
    __m512i hi = _mm512_permutex2var_epi8(hi0, code, hi1);  // index bits 0..6: the magnitude
    const __m512i lo = _mm512_permutex2var_epi8(lo0, code, lo1);
    hi = _mm512_ternarylogic_epi32(hi, code, _mm512_set1_epi8(char(0x80)), 0xf8);  // hi | c & 0x80
    w0 = _mm512_permutex2var_epi8(lo, il0, hi);
    w1 = _mm512_permutex2var_epi8(lo, il1, hi);
  }
};

void packed_fp8(const uint16_t* xp, int64_t M, const uint8_t* W, const float* bs, int64_t N,
                int64_t K, float* y, int64_t n0, int64_t n1, uint16_t* scratch) {
  const int64_t nblocks = (M + kB - 1) / kB, P = pairs(K), Kp = 2 * P, KB = (K + 127) / 128;
  const int64_t band = bf16act_fp8_band(K);
  const Fp8Lut t;
  for (int64_t n_b = n0; n_b < n1; n_b += band) {
    const int64_t ne = n1 - n_b < band ? n1 : n_b + band;
    for (int64_t n = n_b; n < ne; ++n) {
      uint16_t* dst = scratch + (n - n_b) * Kp;
      for (int64_t k = 0; k < Kp; k += 64) {
        __m512i w0, w1;
        t.decode(W + n * K + k, K - k, w0, w1);
        _mm512_mask_storeu_epi16(dst + k, mask_first(Kp - k), w0);
        _mm512_mask_storeu_epi16(dst + k + 32, mask_first(Kp - k - 32), w1);
      }
    }
    for (int64_t nb = n_b; nb < ne; nb += kNr) {
      const int64_t ncols = ne - nb < kNr ? ne - nb : kNr;
      const uint16_t* wr[kNr];
      const float* srow[kNr];
      for (int j = 0; j < kNr; ++j) {
        const int64_t n = nb + (j < ncols ? j : ncols - 1);
        wr[j] = scratch + (n - n_b) * Kp;
        srow[j] = bs + (n / 128) * KB;
      }
      for (int64_t b = 0; b < nblocks; ++b) {
        const int64_t rows = M - b * kB < kB ? M - b * kB : kB;
        const uint16_t* xt = xp + b * P * 2 * kB;
        float* yb = y + b * kB * N + nb;
        if (rows > 16)
          tile_fp8<2>(xt, K, wr, srow, yb, N, rows, ncols);
        else
          tile_fp8<1>(xt, K, wr, srow, yb, N, rows, ncols);
      }
    }
  }
}

// ((l + l+8) + (l+4 ..)) + (l+2 ..) + (l+1 ..), as ba_hsum16.
inline float hsum16(__m512 v) {
  const __m256 a = _mm256_add_ps(_mm512_castps512_ps256(v), _mm512_extractf32x8_ps(v, 1));
  const __m128 b = _mm_add_ps(_mm256_castps256_ps128(a), _mm256_extractf128_ps(a, 1));
  const __m128 c = _mm_add_ps(b, _mm_movehl_ps(b, b));
  return _mm_cvtss_f32(_mm_add_ss(c, _mm_movehdup_ps(c)));
}

// Decode: MR rows of xr (stride Kp) against NR weight rows; BF16 weights. Hardware prefetchers
// stop at 4 KiB pages, so the weights are prefetched: NR = 1 (M = 1) reads the rows one after
// another as one stream, prefetched 8 KiB ahead (rows side by side, 4 KiB apart, share L1 sets:
// kernels/matvec_stream.h measured the same); NR > 1 prefetches the same columns of the next
// NR rows. Prefetches past the matrix are harmless. FP8 (vec_step_fp8) does the same.
template <int MR, int NR>
inline void vec_step_bf16(__m512 (&acc)[MR][NR], const uint16_t* xr, int64_t Kp, const uint16_t* w,
                          int64_t K, int64_t k, __mmask32 mk) {
  __m512bh wv[NR];
  if constexpr (NR == 1) {
    __builtin_prefetch(w + k + 4096, 0, 0);  // one stream: 8 KiB ahead, into the next rows
  } else {
#pragma GCC unroll 8
    for (int j = 0; j < NR; ++j) __builtin_prefetch(w + (j + NR) * K + k, 0, 0);
  }
#pragma GCC unroll 8
  for (int j = 0; j < NR; ++j) wv[j] = __m512bh(_mm512_maskz_loadu_epi16(mk, w + j * K + k));
#pragma GCC unroll 4
  for (int i = 0; i < MR; ++i) {
    const __m512bh xv = __m512bh(_mm512_maskz_loadu_epi16(mk, xr + i * Kp + k));
#pragma GCC unroll 8
    for (int j = 0; j < NR; ++j) acc[i][j] = _mm512_dpbf16_ps(acc[i][j], xv, wv[j]);
  }
}

template <int MR, int NR>
inline void vec_tile_bf16(const uint16_t* xr, int64_t Kp, const uint16_t* w, int64_t K, float* y,
                          int64_t ldy) {
  __m512 acc[MR][NR];
  for (int i = 0; i < MR; ++i)
    for (int j = 0; j < NR; ++j) acc[i][j] = _mm512_setzero_ps();
  int64_t k = 0;
  for (; k + 32 <= K; k += 32) vec_step_bf16<MR, NR>(acc, xr, Kp, w, K, k, __mmask32(0xffffffffu));
  if (k < K) vec_step_bf16<MR, NR>(acc, xr, Kp, w, K, k, mask_first(K - k));
  for (int i = 0; i < MR; ++i)
    for (int j = 0; j < NR; ++j) y[i * ldy + j] = hsum16(acc[i][j]);
}

// blk[i][j] += the pair steps of 64 codes from w + j * K + k (the first nv < 64 if `Tail`;
// x rows are zero-padded to Kp, so the x loads of a partial 32 are masked only to stay in Kp).
template <int MR, int NR, bool Tail>
inline void vec_step_fp8(__m512 (&blk)[MR][NR], const uint16_t* xr, int64_t Kp, const uint8_t* w,
                         int64_t K, int64_t k, int64_t nv, const Fp8Lut& t) {
  if constexpr (NR == 1) {
    __builtin_prefetch(w + k + 8192, 0, 0);  // one stream, 8 KiB ahead, into the next rows
  } else {
#pragma GCC unroll 8
    for (int j = 0; j < NR; ++j) __builtin_prefetch(w + (j + NR) * K + k, 0, 0);
  }
  const bool two = !Tail || nv > 32;  // the second 32 codes are in the block
  __m512bh xv[2][MR];
#pragma GCC unroll 4
  for (int i = 0; i < MR; ++i) {
    const uint16_t* xi = xr + i * Kp + k;
    if constexpr (Tail) {
      xv[0][i] = __m512bh(_mm512_maskz_loadu_epi16(mask_first(nv), xi));
      if (two) xv[1][i] = __m512bh(_mm512_maskz_loadu_epi16(mask_first(nv - 32), xi + 32));
    } else {
      xv[0][i] = __m512bh(_mm512_loadu_si512(xi));
      xv[1][i] = __m512bh(_mm512_loadu_si512(xi + 32));
    }
  }
#pragma GCC unroll 8
  for (int j = 0; j < NR; ++j) {
    __m512i a, b;
    t.decode(w + j * K + k, Tail ? nv : 64, a, b);
#pragma GCC unroll 4
    for (int i = 0; i < MR; ++i) blk[i][j] = _mm512_dpbf16_ps(blk[i][j], xv[0][i], __m512bh(a));
    if (two) {
#pragma GCC unroll 4
      for (int i = 0; i < MR; ++i) blk[i][j] = _mm512_dpbf16_ps(blk[i][j], xv[1][i], __m512bh(b));
    }
  }
}

template <int MR, int NR>
inline void vec_tile_fp8(const uint16_t* xr, int64_t Kp, const uint8_t* w, const float* bs,
                         int64_t K, int64_t n, const Fp8Lut& t, float* y, int64_t ldy) {
  const int64_t KB = (K + 127) / 128;
  const float* srow[NR];
  for (int j = 0; j < NR; ++j) srow[j] = bs + ((n + j) / 128) * KB;
  __m512 acc[MR][NR];
  for (int i = 0; i < MR; ++i)
    for (int j = 0; j < NR; ++j) acc[i][j] = _mm512_setzero_ps();
  for (int64_t kb = 0; kb < KB; ++kb) {
    __m512 blk[MR][NR];
    for (int i = 0; i < MR; ++i)
      for (int j = 0; j < NR; ++j) blk[i][j] = _mm512_setzero_ps();
    const int64_t k0 = kb * 128;
    if (k0 + 128 <= K) {
      vec_step_fp8<MR, NR, false>(blk, xr, Kp, w, K, k0, 64, t);
      vec_step_fp8<MR, NR, false>(blk, xr, Kp, w, K, k0 + 64, 64, t);
    } else {
      for (int64_t k = k0; k < K; k += 64)
        vec_step_fp8<MR, NR, true>(blk, xr, Kp, w, K, k, K - k, t);
    }
    for (int j = 0; j < NR; ++j) {
      const __m512 s = _mm512_set1_ps(srow[j][kb]);
      for (int i = 0; i < MR; ++i) acc[i][j] = _mm512_fmadd_ps(blk[i][j], s, acc[i][j]);
    }
  }
  for (int i = 0; i < MR; ++i)
    for (int j = 0; j < NR; ++j) y[i * ldy + j] = hsum16(acc[i][j]);
}

// Tile<MR, NR> for the run-time row count 1 <= mr <= 4.
template <int NR, class Tile>
inline void vec_run(int mr, const Tile& tile, int64_t m, int64_t n) {
  switch (mr) {
    case 1:
      return tile.template run<1, NR>(m, n);
    case 2:
      return tile.template run<2, NR>(m, n);
    case 3:
      return tile.template run<3, NR>(m, n);
    default:
      return tile.template run<4, NR>(m, n);
  }
}

// Rows [n0, n1) for x rows [0, M) in groups of up to 4: one x row takes the weight rows one at a
// time (one prefetched stream), more take 4 weight rows at a time, then the rest one by one.
template <class Tile>
inline void vec_drive(int64_t M, int64_t n0, int64_t n1, const Tile& tile) {
  for (int64_t m = 0; m < M; m += 4) {
    const int mr = M - m < 4 ? int(M - m) : 4;
    int64_t n = n0;
    if (mr > 1)
      for (; n + 4 <= n1; n += 4) vec_run<4>(mr, tile, m, n);
    for (; n < n1; ++n) vec_run<1>(mr, tile, m, n);
  }
}

struct VecBf16 {
  const uint16_t* xr;
  const uint16_t* W;
  int64_t K, Kp;
  float* y;
  int64_t ldy;
  template <int MR, int NR>
  void run(int64_t m, int64_t n) const {
    vec_tile_bf16<MR, NR>(xr + m * Kp, Kp, W + n * K, K, y + m * ldy + n, ldy);
  }
};

struct VecFp8 {
  const uint16_t* xr;
  const uint8_t* W;
  const float* bs;
  int64_t K, Kp;
  const Fp8Lut& t;
  float* y;
  int64_t ldy;
  template <int MR, int NR>
  void run(int64_t m, int64_t n) const {
    vec_tile_fp8<MR, NR>(xr + m * Kp, Kp, W + n * K, bs, K, n, t, y + m * ldy + n, ldy);
  }
};

void vec_bf16(const uint16_t* xr, int64_t M, const uint16_t* W, int64_t K, float* y, int64_t ldy,
              int64_t n0, int64_t n1) {
  vec_drive(M, n0, n1, VecBf16{xr, W, K, 2 * pairs(K), y, ldy});
}

void vec_fp8(const uint16_t* xr, int64_t M, const uint8_t* W, const float* bs, int64_t, int64_t K,
             float* y, int64_t ldy, int64_t n0, int64_t n1) {
  const Fp8Lut t;
  vec_drive(M, n0, n1, VecFp8{xr, W, bs, K, 2 * pairs(K), t, y, ldy});
}

}  // namespace

const Bf16ActTable& bf16act_table_avx512() {
  static const Bf16ActTable t{&pack, &round_rows, &packed_bf16, &packed_fp8, &vec_bf16, &vec_fp8};
  return t;
}

}  // namespace dsv3::kernels::detail
