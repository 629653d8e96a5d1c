// route_token: softmax/sigmoid scoring, group-limited selection, normalisation and scaling.
#include "model/moe_router.h"

#include <algorithm>
#include <cmath>
#include <vector>

#include "core/error.h"

namespace dsv3 {

namespace {

// Indices of the k largest values of v[0..n), ties to the lower index, in selection order.
void top_k(const float* v, int64_t n, int64_t k, int32_t* out) {
  thread_local std::vector<int32_t> order;  // per-thread buffers: decode does not allocate
  order.resize(static_cast<size_t>(n));
  for (int64_t i = 0; i < n; ++i) order[size_t(i)] = int32_t(i);
  std::partial_sort(order.begin(), order.begin() + k, order.end(), [&](int32_t a, int32_t b) {
    if (v[a] != v[b]) return v[a] > v[b];
    return a < b;
  });
  std::copy(order.begin(), order.begin() + k, out);
}

}  // namespace

void route_token(const ModelConfig& c, const float* logits, const float* bias, int32_t* experts,
                 float* weights) {
  const int64_t E = c.n_routed_experts, K = c.num_experts_per_tok;
  thread_local std::vector<float> s, choice;  // per-thread, fully rewritten below
  s.resize(static_cast<size_t>(E));
  choice.resize(static_cast<size_t>(E));
  if (c.scoring_func == ScoringFunc::kSoftmax) {
    float mx = -INFINITY;
    for (int64_t e = 0; e < E; ++e) mx = std::max(mx, logits[e]);
    float sum = 0.f;
    for (int64_t e = 0; e < E; ++e) sum += (s[size_t(e)] = std::exp(logits[e] - mx));
    for (int64_t e = 0; e < E; ++e) s[size_t(e)] /= sum;
  } else {
    for (int64_t e = 0; e < E; ++e) s[size_t(e)] = 1.0f / (1.0f + std::exp(-logits[e]));
  }
  for (int64_t e = 0; e < E; ++e)
    choice[size_t(e)] = s[size_t(e)] + (c.topk_method == TopkMethod::kNoauxTc && bias ? bias[e] : 0.f);

  if (c.topk_method != TopkMethod::kGreedy && c.n_group > 1) {
    const int64_t G = c.n_group, per = E / G;
    thread_local std::vector<float> gscore;
    gscore.resize(static_cast<size_t>(G));
    for (int64_t g = 0; g < G; ++g) {
      const float* v = choice.data() + g * per;
      if (c.topk_method == TopkMethod::kNoauxTc) {  // sum of the top-2 in the group
        float a = -INFINITY, b = -INFINITY;
        for (int64_t i = 0; i < per; ++i) {
          if (v[i] > a) { b = a; a = v[i]; }
          else if (v[i] > b) b = v[i];
        }
        gscore[size_t(g)] = a + b;
      } else {  // max of the group
        float a = -INFINITY;
        for (int64_t i = 0; i < per; ++i) a = std::max(a, v[i]);
        gscore[size_t(g)] = a;
      }
    }
    thread_local std::vector<int32_t> keep;
    keep.resize(static_cast<size_t>(c.topk_group));
    top_k(gscore.data(), G, c.topk_group, keep.data());
    thread_local std::vector<char> kept;
    kept.assign(static_cast<size_t>(G), 0);
    for (int32_t g : keep) kept[size_t(g)] = 1;
    for (int64_t e = 0; e < E; ++e)
      if (!kept[size_t(e / per)]) choice[size_t(e)] = -INFINITY;
  }
  thread_local std::vector<int32_t> idx;
  idx.resize(static_cast<size_t>(K));
  top_k(choice.data(), E, K, idx.data());
  std::sort(idx.begin(), idx.end());
  float sum = 0.f;
  for (int64_t k = 0; k < K; ++k) {
    experts[k] = idx[size_t(k)];
    weights[k] = s[size_t(idx[size_t(k)])];
    sum += weights[k];
  }
  const bool normalise = c.norm_topk_prob && K > 1;
  if (c.scoring_func == ScoringFunc::kSigmoid) {
    for (int64_t k = 0; k < K; ++k) {
      if (normalise) weights[k] /= (sum + 1e-20f);
      weights[k] *= float(c.routed_scaling_factor);
    }
  } else {
    for (int64_t k = 0; k < K; ++k)
      weights[k] = normalise ? weights[k] / (sum + 1e-20f) : weights[k] * float(c.routed_scaling_factor);
  }
}

}  // namespace dsv3
