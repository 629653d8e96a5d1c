// forward(): embedding, decoder layers, final norm and lm_head over one chunk of tokens.
#include "model/forward.h"

#include <vector>

#include "core/error.h"
#include "io/npy.h"
#include "kernels/ops.h"
#include "model/ffn.h"
#include "model/mla.h"
#include "model/rope.h"

namespace dsv3 {

void decoder_layer_forward(const Model& m, const LayerWeights& w, int64_t layer, float* x,
                           int64_t S, int64_t start, KvCache& cache, ThreadPool* pool,
                           const ForwardOptions& opt, ForwardTrace* trace) {
  const ModelConfig& c = m.config;
  const int64_t D = c.hidden_size;
  const float eps = float(c.rms_norm_eps);
  const std::string prefix =
      opt.dump_dir.empty() ? "" : opt.dump_dir + "/L" + std::to_string(layer) + ".";
  std::vector<float> h(size_t(S * D)), y(size_t(S * D));
  kernels::rmsnorm(x, S, D, w.input_layernorm, eps, h.data());
  if (!prefix.empty()) write_npy(prefix + "attn_input.npy", h.data(), {S, D});
  const bool absorbed = opt.mla == MlaMode::kAbsorbed || (opt.mla == MlaMode::kAuto && S == 1);
  mla_forward(c, w.attn, *m.rope, layer, h.data(), S, start, cache, absorbed, y.data(), pool, prefix);
  if (!prefix.empty()) write_npy(prefix + "attn_output.npy", y.data(), {S, D});
  for (int64_t i = 0; i < S * D; ++i) x[i] += y[size_t(i)];
  kernels::rmsnorm(x, S, D, w.post_attention_layernorm, eps, h.data());
  if (w.is_moe) {
    std::vector<int32_t> chosen;
    moe_forward(c, w.moe, h.data(), S, y.data(), pool, trace ? &chosen : nullptr, prefix);
    if (trace) {
      trace->experts.push_back(std::move(chosen));
      trace->moe_layers.push_back(layer);
    }
    if (!prefix.empty()) write_npy(prefix + "moe_output.npy", y.data(), {S, D});
  } else {
    swiglu_forward(w.mlp, h.data(), S, y.data(), pool);
    if (!prefix.empty()) write_npy(prefix + "ffn_output.npy", y.data(), {S, D});
  }
  for (int64_t i = 0; i < S * D; ++i) x[i] += y[size_t(i)];
  if (!prefix.empty()) write_npy(prefix + "hidden.npy", x, {S, D});
}

void forward(const Model& m, KvCache& cache, const int32_t* tokens, int64_t S, int64_t start,
             float* logits, ThreadPool* pool, const ForwardOptions& opt, ForwardTrace* trace,
             float* final_hidden) {
  const ModelConfig& c = m.config;
  const int64_t D = c.hidden_size, V = c.vocab_size;
  DSV3_CHECK(S > 0, "forward: empty token chunk");
  DSV3_CHECK(start == cache.length(), "forward: chunk starts at ", start, " but the cache holds ",
             cache.length(), " tokens");
  DSV3_CHECK(start + S <= cache.ctx(), "context full: ", start + S, " tokens exceed --ctx ", cache.ctx());
  for (int64_t s = 0; s < S; ++s)
    DSV3_CHECK(tokens[s] >= 0 && tokens[s] < V, "token id ", tokens[s], " outside the vocabulary [0, ", V, ")");

  std::vector<float> x(size_t(S * D));
  for (int64_t s = 0; s < S; ++s) kernels::weight_row(m.embed_tokens, tokens[s], x.data() + s * D);
  for (int64_t l = 0; l < c.num_hidden_layers; ++l)
    decoder_layer_forward(m, m.layers[size_t(l)], l, x.data(), S, start, cache, pool, opt, trace);
  cache.set_length(start + S);

  std::vector<float> hn(size_t(S * D));
  kernels::rmsnorm(x.data(), S, D, m.norm, float(c.rms_norm_eps), hn.data());
  if (final_hidden) std::copy(hn.begin(), hn.end(), final_hidden);
  if (!opt.dump_dir.empty()) write_npy(opt.dump_dir + "/final_norm.npy", hn.data(), {S, D});
  if (opt.all_logits)
    kernels::matmul(hn.data(), S, m.lm_head, logits, pool);
  else
    kernels::matmul(hn.data() + (S - 1) * D, 1, m.lm_head, logits, pool);
}

}  // namespace dsv3
