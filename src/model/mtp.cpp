// mtp_forward: embedding/hidden fusion, one decoder layer, shared head.
#include "model/mtp.h"

#include <algorithm>

#include "core/error.h"
#include "kernels/ops.h"
#include "model/scratch.h"

namespace dsv3 {

void mtp_forward(const Model& m, int64_t k, KvCache& cache, const float* hidden,
                 const int32_t* next_tokens, int64_t S, int64_t start, float* logits,
                 ThreadPool* pool, const ForwardOptions& opt, ForwardTrace* trace,
                 float* out_hidden) {
  const ModelConfig& c = m.config;
  DSV3_CHECK(k >= 0 && k < int64_t(m.mtp.size()), "MTP module ", k, " not present in the checkpoint (it has ",
             m.mtp.size(), ")");
  DSV3_CHECK(start == cache.length(), "mtp_forward: chunk starts at ", start, " but the MTP cache holds ",
             cache.length());
  DSV3_CHECK(start + S <= cache.ctx(), "context full: ", start + S, " tokens exceed --ctx ", cache.ctx());
  const MtpWeights& w = m.mtp[size_t(k)];
  const int64_t D = c.hidden_size;
  const float eps = float(c.rms_norm_eps);
  float* eh = scratch_floats(Scratch::kMtpEh, size_t(S * 2 * D));  // rows: [enorm(emb) | hnorm(h)]
  float* row = scratch_floats(Scratch::kMtpRow, size_t(D));
  for (int64_t s = 0; s < S; ++s) {
    DSV3_CHECK(next_tokens[s] >= 0 && next_tokens[s] < c.vocab_size, "token id ", next_tokens[s],
               " outside the vocabulary");
    kernels::weight_row(w.embed_tokens, next_tokens[s], row);
    kernels::rmsnorm(row, 1, D, w.enorm, eps, eh + s * 2 * D);
    kernels::rmsnorm(hidden + s * D, 1, D, w.hnorm, eps, eh + s * 2 * D + D);
  }
  float* x = scratch_floats(Scratch::kMtpX, size_t(S * D));
  kernels::matmul(eh, S, w.eh_proj, x, pool);
  ForwardOptions lopt = opt;
  lopt.dump_dir.clear();  // MTP layer dumps would collide with main layer 0's names
  decoder_layer_forward(m, w.layer, k, x, S, start, cache, pool, lopt, trace);
  cache.set_length(start + S);
  float* hn = scratch_floats(Scratch::kMtpHn, size_t(S * D));
  kernels::rmsnorm(x, S, D, w.shared_head_norm, eps, hn);
  if (out_hidden) std::copy(hn, hn + S * D, out_hidden);
  if (opt.all_logits)
    kernels::matmul(hn, S, w.head, logits, pool);
  else
    kernels::matmul(hn + (S - 1) * D, 1, w.head, logits, pool);
}

}  // namespace dsv3
