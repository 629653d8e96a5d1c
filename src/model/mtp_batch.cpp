// mtp_forward_batch: the MTP module over several sequences' chunks in one pass.
#include "model/mtp_batch.h"

#include "core/error.h"
#include "kernels/ops.h"
#include "model/mla.h"

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
  std::vector<float> eh(static_cast<size_t>(R * 2 * D));  // rows: [enorm(emb) | hnorm(h)]
  std::vector<float> row(static_cast<size_t>(D));
  for (size_t i = 0; i < chunks.size(); ++i)
    for (int64_t s = 0; s < chunks[i].n; ++s) {
      const int32_t t = chunks[i].next_tokens[s];
      DSV3_CHECK(t >= 0 && t < c.vocab_size, "token id ", t, " outside the vocabulary");
      float* dst = eh.data() + (seqs[i].row0 + s) * 2 * D;
      kernels::weight_row(w.embed_tokens, t, row.data());
      kernels::rmsnorm(row.data(), 1, D, w.enorm, eps, dst);
      kernels::rmsnorm(chunks[i].hidden + s * D, 1, D, w.hnorm, eps, dst + D);
    }
  std::vector<float> x(static_cast<size_t>(R * D));
  kernels::matmul(eh.data(), R, w.eh_proj, x.data(), pool);
  ForwardOptions lopt = opt;
  lopt.dump_dir.clear();
  decoder_layer_forward_batch(m, w.layer, k, x.data(), R, seqs, pool, lopt, nullptr);
  for (const MtpChunk& ch : chunks) ch.cache->set_length(ch.start + ch.n);
  // Shared head over each chunk's last row only.
  std::vector<float> hn(chunks.size() * size_t(D)), lg(chunks.size() * size_t(c.vocab_size));
  for (size_t i = 0; i < chunks.size(); ++i)
    kernels::rmsnorm(x.data() + (seqs[i].row0 + chunks[i].n - 1) * D, 1, D, w.shared_head_norm, eps,
                     hn.data() + i * size_t(D));
  kernels::matmul(hn.data(), int64_t(chunks.size()), w.head, lg.data(), pool);
  for (size_t i = 0; i < chunks.size(); ++i)
    std::copy(lg.begin() + int64_t(i) * c.vocab_size, lg.begin() + int64_t(i + 1) * c.vocab_size,
              chunks[i].logits);
}

}  // namespace dsv3
