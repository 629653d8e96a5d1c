// Reference data for tests/gguf_vs_ggml_test.cpp: ggml's own CPU dot products of block-quantised
// weight rows with an fp32 activation row, through ggml's public CPU type traits (the
// activation quantised by from_float of the weight type's vec_dot_type: q8_0, q8_1 or q8_K,
// then vec_dot), i.e. what llama.cpp's CPU backend computes per output of a matvec.
//
//   g++ -O2 -std=c++17 -I$LLAMA/ggml/include bench/ggml_vec_dot_ref.cpp \
//     $BUILD/ggml/src/libggml.a $BUILD/ggml/src/libggml-cpu.a $BUILD/ggml/src/libggml-base.a \
//     -fopenmp -lpthread -ldl -o ggml_vec_dot_ref && ./ggml_vec_dot_ref tests/data/ggml_vec_dot
// (LLAMA = llama-cpp-python 0.3.36's vendored llama.cpp, BUILD its build; see
// bench/r1_distill_vs_llamacpp.sh). Writes OUT_DIR/<type>.bin per type: int32 N, int32 K,
// N rows of ggml blocks (ggml_quantize_chunk of N(0, 0.05) weights), float x[K] (N(0,1), a few
// 8x outliers, one all-zero 32-block), float y[N] (ggml's vec_dot results).
#include <cmath>
#include <cstdio>
#include <random>
#include <string>
#include <vector>

#include "ggml-cpu.h"
#include "ggml.h"

int main(int argc, char** argv) {
  if (argc < 2) {
    std::fprintf(stderr, "usage: %s OUT_DIR\n", argv[0]);
    return 1;
  }
  ggml_cpu_init();
  std::mt19937 rng(2026);
  std::normal_distribution<float> nd(0.0f, 1.0f);
  const int N = 12, K = 768;
  for (ggml_type t : {GGML_TYPE_Q8_0, GGML_TYPE_Q4_0, GGML_TYPE_Q4_1, GGML_TYPE_Q4_K,
                      GGML_TYPE_Q5_K, GGML_TYPE_Q6_K}) {
    std::vector<float> wf(size_t(N) * K), x(K);
    for (auto& v : wf) v = 0.05f * nd(rng);
    for (int k = 0; k < K; ++k) x[size_t(k)] = nd(rng) * (k % 97 == 0 ? 8.0f : 1.0f);
    for (int k = 64; k < 96; ++k) x[size_t(k)] = 0.0f;
    const size_t rb = ggml_row_size(t, K);
    std::vector<uint8_t> wq(rb * N);
    ggml_quantize_chunk(t, wf.data(), wq.data(), 0, N, K, nullptr);
    const auto* tr = ggml_get_type_traits_cpu(t);
    std::vector<uint8_t> xq(ggml_row_size(tr->vec_dot_type, K));
    ggml_get_type_traits_cpu(tr->vec_dot_type)->from_float(x.data(), xq.data(), K);
    std::vector<float> y(N);
    for (int n = 0; n < N; ++n) tr->vec_dot(K, &y[size_t(n)], 0, wq.data() + rb * n, 0, xq.data(), 0, 1);
    const std::string path = std::string(argv[1]) + "/" + ggml_type_name(t) + ".bin";
    FILE* f = std::fopen(path.c_str(), "wb");
    if (!f) {
      std::fprintf(stderr, "cannot write %s\n", path.c_str());
      return 1;
    }
    const int32_t hdr[2] = {N, K};
    std::fwrite(hdr, sizeof hdr, 1, f);
    std::fwrite(wq.data(), 1, wq.size(), f);
    std::fwrite(x.data(), sizeof(float), x.size(), f);
    std::fwrite(y.data(), sizeof(float), y.size(), f);
    std::fclose(f);
    std::printf("%s: %d x %d, y[0] = %.9g\n", path.c_str(), N, K, double(y[0]));
  }
  return 0;
}
