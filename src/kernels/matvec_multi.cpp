// matvec_multi (matvec_multi.h): several decode matrix-vector products in one thread-pool job,
// through the same per-ISA row kernels that kernels::matmul and matmul_fp8 use for M = 1.
#include "kernels/matvec_multi.h"

#include <algorithm>
#include <vector>

#include "core/error.h"
#include "kernels/fp8_kernel_table.h"
#include "kernels/isa.h"
#include "kernels/kernel_table.h"
#include "kernels/matmul_bf16act.h"
#include "kernels/matmul_fp8.h"
#include "kernels/ops.h"

namespace dsv3::kernels {

namespace {

// Row grains: the ones kernels::matmul (ops.cpp) and matmul_fp8 split rows by, so each thread's
// rows start where they would for the product alone.
constexpr int64_t kGrainF = 48;
constexpr int64_t kGrainFp8 = 16;

const detail::KernelTable& ktable() {
  return detail::table_for(current_isa());
}

const detail::Fp8Table& ftable() {
  return detail::fp8_table_for(current_isa());
}

// One product ready to run on any row range.
struct Prepared {
  const Matvec* p = nullptr;
  bool fp8 = false;
  const float* x = nullptr;  // fp8: the pre-scaled x the kernel reads
  float cs = 256.0f;         // fp8: block-scale multiplier (fp8_prescale_decode)
  float* u = nullptr;        // fp8 gate/up: the up products, [N]
  int64_t N = 0, K = 0, grain = 1;
};

struct Job {
  const detail::KernelTable& kt;
  const detail::Fp8Table& ft;
  Prepared* pr;
  int n;

  void rows(const Prepared& q, int64_t n0, int64_t n1) const {
    const Matvec& p = *q.p;
    if (q.fp8) {
      ft.rows(q.x, nullptr, 1, p.W->as<uint8_t>(), p.W->block_scale, q.N, q.K, &q.cs, p.y, n0, n1,
              nullptr);
      if (p.up) {
        ft.rows(q.x, nullptr, 1, p.up->as<uint8_t>(), p.up->block_scale, q.N, q.K, &q.cs, q.u, n0,
                n1, nullptr);
        kt.silu_mul(p.y + n0, q.u + n0, n1 - n0, p.y + n0);
      }
    } else if (p.up) {
      kt.gate_up_rows(q.x, p.W->data, p.up->data, p.W->dtype, q.K, p.y, n0, n1);
    } else {
      kt.matmul_rows(q.x, 1, p.W->data, p.W->dtype, q.N, q.K, p.y, n0, n1, nullptr);
    }
  }
};

void check_product(const Matvec& p) {
  DSV3_CHECK(p.W && p.x && p.y, "matvec_multi: product without x, W or y");
  DSV3_CHECK(matvec_multi_supported(*p.W), "matvec_multi: weight ", dtype_name(p.W->dtype),
             shape_string(*p.W), " is not supported here");
  if (p.up)
    DSV3_CHECK(p.up->dtype == p.W->dtype && p.up->ndim == 2 && p.up->rows() == p.W->rows() &&
                   p.up->cols() == p.W->cols() &&
                   (p.up->dtype != DType::F8_E4M3 || p.up->block_scale),
               "matvec_multi: gate ", dtype_name(p.W->dtype), shape_string(*p.W), " and up ",
               dtype_name(p.up->dtype), shape_string(*p.up), " differ");
}

// Fills pr[0..n) and returns the total multiply-adds. Scratch (pre-scaled x, fp8 up rows) lives
// in this thread's buffers, grown once and reused: a warm decode loop does not allocate.
int64_t prepare(const Matvec* p, int n, const detail::Fp8Table& ft, Prepared* pr) {
  DSV3_CHECK(n >= 0 && n <= kMatvecMultiMax, "matvec_multi: ", n, " products (at most ",
             kMatvecMultiMax, ")");
  int64_t xs_floats = 0, u_floats = 0, work = 0;
  for (int i = 0; i < n; ++i) {
    check_product(p[i]);
    if (p[i].W->dtype != DType::F8_E4M3) continue;
    if (ft.raw_exp != 0) xs_floats += p[i].W->cols();
    if (p[i].up) u_floats += p[i].W->rows();
  }
  thread_local std::vector<float> xs_buf, u_buf;
  if (int64_t(xs_buf.size()) < xs_floats) xs_buf.resize(size_t(xs_floats));
  if (int64_t(u_buf.size()) < u_floats) u_buf.resize(size_t(u_floats));
  float* xs_next = xs_buf.data();
  float* u_next = u_buf.data();
  for (int i = 0; i < n; ++i) {
    Prepared& q = pr[i];
    q = Prepared{};
    q.p = &p[i];
    q.N = p[i].W->rows();
    q.K = p[i].W->cols();
    q.x = p[i].x;
    q.fp8 = p[i].W->dtype == DType::F8_E4M3;
    q.grain = q.fp8 ? kGrainFp8 : kGrainF;
    work += q.N * q.K * (p[i].up ? 2 : 1);
    if (!q.fp8) continue;
    if (p[i].up) {
      q.u = u_next;
      u_next += q.N;
    }
    int j = 0;  // an earlier FP8 product with the same x and K shares its pre-scaled copy
    while (j < i && !(pr[j].fp8 && p[j].x == p[i].x && pr[j].K == q.K)) ++j;
    if (j < i) {
      q.x = pr[j].x;
      q.cs = pr[j].cs;
    } else {
      q.x = detail::fp8_prescale_decode(p[i].x, 1, q.K, ft.raw_exp, &q.cs, xs_next);
      if (q.x == xs_next) xs_next += q.K;
    }
  }
  return work;
}

}  // namespace

bool matvec_multi_supported(const TensorView& W) {
  if (W.ndim != 2 || (W.data == nullptr && W.numel() != 0)) return false;
  if (W.dtype == DType::F8_E4M3)
    return W.block_scale != nullptr && fp8_gemm_mode() == Fp8GemmMode::kExact &&
           !(act_precision() == ActPrecision::kBf16 && bf16act_applies(W.dtype));
  if (W.dtype != DType::F32 && W.dtype != DType::BF16 && W.dtype != DType::F16) return false;
  return !(act_precision() == ActPrecision::kBf16 && bf16act_applies(W.dtype));
}

void matvec_multi(const Matvec* p, int n, ThreadPool* pool) {
  const detail::Fp8Table& ft = ftable();
  Prepared pr[kMatvecMultiMax];
  const int64_t work = prepare(p, n, ft, pr);
  int64_t off[kMatvecMultiMax + 1];  // product i owns row blocks [off[i], off[i + 1])
  off[0] = 0;
  for (int i = 0; i < n; ++i) off[i + 1] = off[i] + (pr[i].N + pr[i].grain - 1) / pr[i].grain;
  if (work < (int64_t(1) << 16)) pool = nullptr;  // too small to be worth a hand-off
  const Job job{ktable(), ft, pr, n};
  parallel_for(pool, off[n], [&](int64_t u0, int64_t u1) {
    for (int i = 0; i < n; ++i) {
      if (off[i + 1] <= u0 || off[i] >= u1) continue;
      const int64_t g = pr[i].grain;
      const int64_t n0 = (std::max(u0, off[i]) - off[i]) * g;
      const int64_t n1 = std::min(pr[i].N, (std::min(u1, off[i + 1]) - off[i]) * g);
      if (n0 < n1) job.rows(pr[i], n0, n1);
    }
  });
}

void matvec_multi_rows(const Matvec* p, int n, ThreadPool* pool, RangeFn after) {
  const detail::Fp8Table& ft = ftable();
  Prepared pr[kMatvecMultiMax];
  const int64_t work = prepare(p, n, ft, pr);
  if (n == 0) return;
  for (int i = 1; i < n; ++i)
    DSV3_CHECK(pr[i].N == pr[0].N && pr[i].grain == pr[0].grain,
               "matvec_multi_rows: products differ in rows or dtype (", pr[i].N, " vs ", pr[0].N,
               ")");
  if (work < (int64_t(1) << 16)) pool = nullptr;
  const Job job{ktable(), ft, pr, n};
  parallel_for(
      pool, pr[0].N,
      [&](int64_t n0, int64_t n1) {
        for (int i = 0; i < n; ++i) job.rows(pr[i], n0, n1);
        after(n0, n1);
      },
      pr[0].grain);
}

void matvec_multi_ref(const Matvec* p, int n, ThreadPool* pool) {
  for (int i = 0; i < n; ++i) {
    const Matvec& q = p[i];
    if (!q.up)
      matmul(q.x, 1, *q.W, q.y, pool);
    else if (q.W->dtype == DType::F8_E4M3)
      gate_up_silu_fp8(q.x, *q.W, *q.up, q.y, pool);
    else
      gate_up_silu(q.x, *q.W, *q.up, q.y, pool);
  }
}

}  // namespace dsv3::kernels
