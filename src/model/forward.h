// The transformer forward pass on CPU: embedding -> L x (MLA + dense FFN or MoE) -> norm ->
// lm_head, over a chunk of S tokens at positions [start, start + S) that extends the latent
// KV cache. Prompts are processed as one chunk (matrix-matrix), decode as S = 1.
// All activations are fp32; weights are read in their stored dtype.
#pragma once
#include <cstdint>
#include <string>
#include <vector>

#include "core/thread_pool.h"
#include "model/model.h"
#include "runtime/kv_cache.h"

namespace dsv3 {

enum class MlaMode {
  kAuto,      // absorbed for chunks of <= 64 rows (decode, MTP verify, small prompt chunks;
              // <= 2 under emulated FP8 GEMM), naive (decompressed K/V) for larger chunks
  kNaive,     // always decompress k_nope / v from the latent cache (architecture.md §7.2)
  kAbsorbed,  // always score against the latent cache directly (§7.3)
};

struct ForwardOptions {
  MlaMode mla = MlaMode::kAuto;
  bool all_logits = false;  // logits for every position of the chunk, else the last only
  std::string dump_dir;     // if set, every named intermediate is written as DIR/L<l>.<name>.npy
  // (The KV cache's storage dtype, e.g. --kv-type f16 as llama.cpp's default cache, is the
  // KvCache's own: see runtime/kv_cache.h.)
};

// Optional outputs for tests and tools.
struct ForwardTrace {
  // Per MoE layer (in layer order): the S*K chosen experts, each token's K sorted ascending.
  std::vector<std::vector<int32_t>> experts;
  std::vector<int64_t> moe_layers;  // layer index of each entry above
};

// Runs tokens[0..S) at positions [start, start + S). The cache must hold exactly `start`
// tokens; afterwards it holds start + S. logits: [S, V] if opt.all_logits else [V].
// final_hidden (optional): [S, D] hidden states after the final norm (MTP input).
void forward(const Model& m, KvCache& cache, const int32_t* tokens, int64_t S, int64_t start,
             float* logits, ThreadPool* pool, const ForwardOptions& opt = {},
             ForwardTrace* trace = nullptr, float* final_hidden = nullptr);

// One sequence's chunk in a batched forward: tokens[0..n) at positions [start, start + n) of
// its own cache. logits: [n, V] if all_logits else [V]; final_hidden optional [n, D].
struct SeqChunk {
  KvCache* cache;
  const int32_t* tokens;
  int64_t n, start;
  float* logits;
  bool all_logits = false;
  float* final_hidden = nullptr;
};

// Runs several sequences' chunks through the model in one pass: every projection, expert
// and the lm_head see all rows of all sequences at once (matrix-matrix); attention runs per
// sequence against its own latent cache. Results equal separate forward() calls up to fp32
// summation order. opt.all_logits is ignored (per-chunk flag instead).
void forward_batch(const Model& m, const std::vector<SeqChunk>& chunks, ThreadPool* pool,
                   const ForwardOptions& opt = {}, ForwardTrace* trace = nullptr);

// One decoder layer over S rows of the residual stream x [S, D] (updated in place); `layer`
// indexes the cache. Used by forward() and by the MTP module.
void decoder_layer_forward(const Model& m, const LayerWeights& w, int64_t layer, float* x,
                           int64_t S, int64_t start, KvCache& cache, ThreadPool* pool,
                           const ForwardOptions& opt, ForwardTrace* trace);

// Batched form: x holds R rows of several sequences (see SeqRows in model/mla.h).
struct SeqRows;
void decoder_layer_forward_batch(const Model& m, const LayerWeights& w, int64_t layer, float* x,
                                 int64_t R, const std::vector<SeqRows>& seqs, ThreadPool* pool,
                                 const ForwardOptions& opt, ForwardTrace* trace);

}  // namespace dsv3
