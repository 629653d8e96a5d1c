// forward(): embedding, decoder layers, final norm and lm_head over one chunk of tokens.
#include "model/forward.h"

#include <vector>

#include "core/error.h"
#include "io/npy.h"
#include "kernels/matmul_fp8.h"
#include "kernels/ops.h"
#include "model/ggml_act_round.h"
#include "model/ffn.h"
#include "model/gqa.h"
#include "model/mla.h"
#include "model/rope.h"
#include "model/scratch.h"

namespace dsv3 {

void decoder_layer_forward(const Model& m, const LayerWeights& w, int64_t layer, float* x,
                           int64_t S, int64_t start, KvCache& cache, ThreadPool* pool,
                           const ForwardOptions& opt, ForwardTrace* trace) {
  thread_local std::vector<SeqRows> one(1);  // reused: the MTP decode step allocates nothing
  one[0] = SeqRows{&cache, 0, S, start};
  decoder_layer_forward_batch(m, w, layer, x, S, one, pool, opt, trace);
}

void decoder_layer_forward_batch(const Model& m, const LayerWeights& w, int64_t layer, float* x,
                                 int64_t S, const std::vector<SeqRows>& seqs, ThreadPool* pool,
                                 const ForwardOptions& opt, ForwardTrace* trace) {
  const ModelConfig& c = m.config;
  const int64_t D = c.hidden_size;
  const float eps = float(c.rms_norm_eps);
  const std::string prefix =
      opt.dump_dir.empty() ? "" : opt.dump_dir + "/L" + std::to_string(layer) + ".";
  float* h = scratch_floats(Scratch::kLayerH, size_t(S * D));
  float* y = scratch_floats(Scratch::kLayerY, size_t(S * D));
  kernels::rmsnorm_as(c.ggml_numerics, x, S, D, w.input_layernorm, eps, h);
  if (!prefix.empty()) write_npy(prefix + "attn_input.npy", h, {S, D});
  // Auto: absorbed when every sequence brings at most kAbsorbedMaxRows rows (decode, MTP
  // verify, small prompt chunks), naive for larger prompt chunks. Naive decompresses K/V of
  // every cached token once per chunk, which only pays off for large chunks: per layer at any
  // depth it costs fewer FLOPs than absorbed above ~170 rows (V2-Lite widths), and measured at
  // 16k context absorbed is 3.3x faster at 16 rows, 1.5x at 64, naive 1.28x faster at 256
  // (bench/RESULTS.md, "Prefill at depth"). Under emulated FP8 GEMM only decode steps (<= 2
  // rows) go absorbed: DeepSeek's emulation quantises c_kv for kv_b_proj in prompt chunks,
  // which the absorbed form never computes.
  const bool emulated_fp8 = kernels::fp8_gemm_mode() != kernels::Fp8GemmMode::kExact;
  const int64_t max_rows = emulated_fp8 ? 2 : 64;
  bool all_small = true;
  for (const SeqRows& sq : seqs) all_small = all_small && sq.n <= max_rows;
  // MLA-split deepseek2 GGUFs (ggml_numerics) go absorbed in auto mode at any chunk size:
  // llama.cpp's graph for them is the absorbed form, and the same form rounds the same way.
  const bool ggml_absorbed = c.ggml_numerics && !c.ggml_k_b_type.empty();
  const bool absorbed =
      opt.mla == MlaMode::kAbsorbed || (opt.mla == MlaMode::kAuto && (all_small || ggml_absorbed));
  if (c.is_gqa())
    gqa_forward_batch(c, w.attn, *m.rope, layer, h, S, seqs, y, pool, prefix);
  else
    mla_forward_batch(c, w.attn, *m.rope, layer, h, S, seqs, absorbed, y, pool, prefix);
  if (!prefix.empty()) write_npy(prefix + "attn_output.npy", y, {S, D});
  for (int64_t i = 0; i < S * D; ++i) x[i] += y[i];
  kernels::rmsnorm_as(c.ggml_numerics, x, S, D, w.post_attention_layernorm, eps, h);
  if (w.is_moe) {
    std::vector<int32_t> chosen;
    moe_forward(c, w.moe, h, S, y, pool, trace ? &chosen : nullptr, prefix);
    if (trace) {
      trace->experts.push_back(std::move(chosen));
      trace->moe_layers.push_back(layer);
    }
    if (!prefix.empty()) write_npy(prefix + "moe_output.npy", y, {S, D});
  } else {
    swiglu_forward(w.mlp, h, S, y, pool, c.ggml_numerics);
    if (!prefix.empty()) write_npy(prefix + "ffn_output.npy", y, {S, D});
  }
  for (int64_t i = 0; i < S * D; ++i) x[i] += y[i];
  if (!prefix.empty()) write_npy(prefix + "hidden.npy", x, {S, D});
}

void forward_batch(const Model& m, const std::vector<SeqChunk>& chunks, ThreadPool* pool,
                   const ForwardOptions& opt, ForwardTrace* trace) {
  const ModelConfig& c = m.config;
  const int64_t D = c.hidden_size, V = c.vocab_size;
  DSV3_CHECK(!chunks.empty(), "forward: no sequences");
  thread_local std::vector<SeqRows> seqs;  // per-thread, reused: no allocation when warm
  seqs.clear();
  int64_t R = 0;
  for (const SeqChunk& ch : chunks) {
    DSV3_CHECK(ch.n > 0, "forward: empty token chunk");
    DSV3_CHECK(ch.start == ch.cache->length(), "forward: chunk starts at ", ch.start,
               " but the cache holds ", ch.cache->length(), " tokens");
    DSV3_CHECK(ch.start + ch.n <= ch.cache->ctx(), "context full: ", ch.start + ch.n,
               " tokens exceed --ctx ", ch.cache->ctx());
    for (int64_t s = 0; s < ch.n; ++s)
      DSV3_CHECK(ch.tokens[s] >= 0 && ch.tokens[s] < V, "token id ", ch.tokens[s],
                 " outside the vocabulary [0, ", V, ")");
    seqs.push_back({ch.cache, R, ch.n, ch.start});
    R += ch.n;
  }
  float* x = scratch_floats(Scratch::kFwdX, size_t(R * D));
  for (size_t i = 0; i < chunks.size(); ++i)
    for (int64_t s = 0; s < chunks[i].n; ++s)
      kernels::weight_row(m.embed_tokens, chunks[i].tokens[s], x + (seqs[i].row0 + s) * D);
  for (int64_t l = 0; l < c.num_hidden_layers; ++l)
    decoder_layer_forward_batch(m, m.layers[size_t(l)], l, x, R, seqs, pool, opt, trace);
  for (const SeqChunk& ch : chunks) ch.cache->set_length(ch.start + ch.n);

  float* hn = scratch_floats(Scratch::kFwdHn, size_t(R * D));
  kernels::rmsnorm_as(c.ggml_numerics, x, R, D, m.norm, float(c.rms_norm_eps), hn);
  if (!opt.dump_dir.empty()) write_npy(opt.dump_dir + "/final_norm.npy", hn, {R, D});
  // lm_head over the rows whose logits are wanted, in one matrix-matrix product.
  thread_local std::vector<int64_t> rows;
  rows.clear();
  for (size_t i = 0; i < chunks.size(); ++i) {
    const SeqChunk& ch = chunks[i];
    if (ch.final_hidden) std::copy(hn + seqs[i].row0 * D, hn + (seqs[i].row0 + ch.n) * D, ch.final_hidden);
    if (ch.all_logits)
      for (int64_t s = 0; s < ch.n; ++s) rows.push_back(seqs[i].row0 + s);
    else
      rows.push_back(seqs[i].row0 + ch.n - 1);
  }
  float* hsel = scratch_floats(Scratch::kFwdHsel, rows.size() * size_t(D));
  float* lg = scratch_floats(Scratch::kFwdLogits, rows.size() * size_t(V));
  for (size_t j = 0; j < rows.size(); ++j) std::copy(hn + rows[j] * D, hn + (rows[j] + 1) * D, hsel + int64_t(j) * D);
  matmul_as(c.ggml_numerics, hsel, int64_t(rows.size()), m.lm_head, lg, pool);
  size_t j = 0;
  for (const SeqChunk& ch : chunks) {
    const int64_t n_out = ch.all_logits ? ch.n : 1;
    std::copy(lg + int64_t(j) * V, lg + int64_t(j + size_t(n_out)) * V, ch.logits);
    j += size_t(n_out);
  }
  scratch_trim();  // a long prompt's activations are not kept for the thread's life
}

void forward(const Model& m, KvCache& cache, const int32_t* tokens, int64_t S, int64_t start,
             float* logits, ThreadPool* pool, const ForwardOptions& opt, ForwardTrace* trace,
             float* final_hidden) {
  thread_local std::vector<SeqChunk> one(1);  // reused: a decode step allocates nothing
  one.assign(1, SeqChunk{&cache, tokens, S, start, logits, opt.all_logits, final_hidden});
  forward_batch(m, one, pool, opt, trace);
}

}  // namespace dsv3
