// mtp_forward_batch: the MTP module over several sequences' chunks in one pass.
#include "model/mtp_batch.h"

#include <algorithm>

#include "core/error.h"
#include "kernels/ops.h"
#include "model/mla.h"
#include "model/scratch.h"

namespace dsv3 {

void mtp_forward_batch(const Model& m, int64_t k, const std::vector<MtpChunk>& chunks,
                       ThreadPool* pool, const ForwardOptions& opt) {
  const ModelConfig& c = m.config;
  DSV3_CHECK(k >= 0 && k < int64_t(m.mtp.size()), "MTP module ", k, " not present in the checkpoint (it has ",
             m.mtp.size(), ")");
  if (chunks.empty()) return;
  const MtpWeights& w = m.mtp[size_t(k)];
  const int64_t D = c.hidden_size;
  const float eps = float(c.rms_norm_eps);
  std::vector<SeqRows> seqs;
  int64_t R = 0;
  for (const MtpChunk& ch : chunks) {
    DSV3_CHECK(ch.n > 0, "mtp_forward_batch: empty chunk");
    DSV3_CHECK(ch.start == ch.cache->length(), "mtp_forward_batch: chunk starts at ", ch.start,
               " but the MTP cache holds ", ch.cache->length());
    DSV3_CHECK(ch.start + ch.n <= ch.cache->ctx(), "context full: ", ch.start + ch.n,
               " tokens exceed --ctx ", ch.cache->ctx());
    seqs.push_back({ch.cache, R, ch.n, ch.start});
    R += ch.n;
  }
  float* eh = scratch_floats(Scratch::kMtpEh, size_t(R * 2 * D));  // rows: [enorm(emb) | hnorm(h)]
  float* row = scratch_floats(Scratch::kMtpRow, size_t(D));
  for (size_t i = 0; i < chunks.size(); ++i)
    for (int64_t s = 0; s < chunks[i].n; ++s) {
      const int32_t t = chunks[i].next_tokens[s];
      DSV3_CHECK(t >= 0 && t < c.vocab_size, "token id ", t, " outside the vocabulary");
      float* dst = eh + (seqs[i].row0 + s) * 2 * D;
      kernels::weight_row(w.embed_tokens, t, row);
      kernels::rmsnorm(row, 1, D, w.enorm, eps, dst);
      kernels::rmsnorm(chunks[i].hidden + s * D, 1, D, w.hnorm, eps, dst + D);
    }
  float* x = scratch_floats(Scratch::kMtpX, size_t(R * D));
  kernels::matmul(eh, R, w.eh_proj, x, pool);
  ForwardOptions lopt = opt;
  lopt.dump_dir.clear();
  decoder_layer_forward_batch(m, w.layer, k, x, R, seqs, pool, lopt, nullptr);
  for (const MtpChunk& ch : chunks) ch.cache->set_length(ch.start + ch.n);
  // Shared head over each chunk's last row only.
  const size_t n = chunks.size();
  float* hn = scratch_floats(Scratch::kMtpHn, n * size_t(D));
  float* lg = scratch_floats(Scratch::kMtpLogits, n * size_t(c.vocab_size));
  for (size_t i = 0; i < n; ++i)
    kernels::rmsnorm(x + (seqs[i].row0 + chunks[i].n - 1) * D, 1, D, w.shared_head_norm, eps,
                     hn + i * size_t(D));
  kernels::matmul(hn, int64_t(n), w.head, lg, pool);
  for (size_t i = 0; i < n; ++i)
    std::copy(lg + int64_t(i) * c.vocab_size, lg + int64_t(i + 1) * c.vocab_size, chunks[i].logits);
}

}  // namespace dsv3
