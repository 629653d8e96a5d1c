// Sampler: argmax, temperature softmax, top-k / top-p truncation, inverse-CDF draw.
#include "runtime/sampler.h"

#include <algorithm>
#include <cmath>

#include "core/error.h"

namespace dsv3 {

namespace {
uint64_t splitmix64(uint64_t& x) {
  uint64_t z = (x += 0x9e3779b97f4a7c15ull);
  z = (z ^ (z >> 30)) * 0xbf58476d1ce4e5b9ull;
  z = (z ^ (z >> 27)) * 0x94d049bb133111ebull;
  return z ^ (z >> 31);
}
uint64_t rotl(uint64_t x, int k) { return (x << k) | (x >> (64 - k)); }
}  // namespace

int32_t argmax(const float* x, int64_t n) {
  int64_t best = 0;
  for (int64_t i = 1; i < n; ++i)
    if (x[i] > x[best]) best = i;
  return int32_t(best);
}

double log_sum_exp(const float* x, int64_t n) {
  double mx = x[0];
  for (int64_t i = 1; i < n; ++i) mx = std::max(mx, double(x[i]));
  double sum = 0;
  for (int64_t i = 0; i < n; ++i) sum += std::exp(double(x[i]) - mx);
  return mx + std::log(sum);
}

Sampler::Sampler(const SamplerParams& p) : p_(p) {
  DSV3_CHECK(p.temperature >= 0 && std::isfinite(p.temperature), "--temp must be >= 0, got ", p.temperature);
  DSV3_CHECK(p.top_k >= 0, "--top-k must be >= 0, got ", p.top_k);
  DSV3_CHECK(p.top_p > 0 && p.top_p <= 1, "--top-p must be in (0, 1], got ", p.top_p);
  uint64_t x = p.seed;
  for (auto& s : s_) s = splitmix64(x);
}

double Sampler::uniform() {
  const uint64_t result = rotl(s_[1] * 5, 7) * 9;
  const uint64_t t = s_[1] << 17;
  s_[2] ^= s_[0];
  s_[3] ^= s_[1];
  s_[1] ^= s_[2];
  s_[0] ^= s_[3];
  s_[2] ^= t;
  s_[3] = rotl(s_[3], 45);
  return double(result >> 11) * 0x1.0p-53;
}

void Sampler::distribution(const float* logits, int64_t V, std::vector<float>& p) const {
  p.assign(static_cast<size_t>(V), 0.f);
  if (p_.temperature == 0.f) {
    p[size_t(argmax(logits, V))] = 1.f;
    return;
  }
  std::vector<std::pair<float, int32_t>>& buf = sorted_;
  buf.resize(static_cast<size_t>(V));
  for (int64_t i = 0; i < V; ++i) buf[size_t(i)] = {logits[i] / p_.temperature, int32_t(i)};
  // Descending by logit, ties to the lower id: defines the truncation order.
  auto cmp = [](const auto& a, const auto& b) { return a.first != b.first ? a.first > b.first : a.second < b.second; };
  int64_t n = V;
  if (p_.top_k > 0 && p_.top_k < V) {
    std::partial_sort(buf.begin(), buf.begin() + p_.top_k, buf.end(), cmp);
    n = p_.top_k;
  } else {
    std::sort(buf.begin(), buf.end(), cmp);
  }
  const float mx = buf[0].first;
  std::vector<double>& prob = prob_;
  prob.resize(static_cast<size_t>(n));
  double sum = 0;
  for (int64_t i = 0; i < n; ++i) sum += (prob[size_t(i)] = std::exp(double(buf[size_t(i)].first - mx)));
  for (auto& q : prob) q /= sum;
  if (p_.top_p < 1.f) {
    double cum = 0;
    int64_t keep = n;
    for (int64_t i = 0; i < n; ++i) {
      cum += prob[size_t(i)];
      if (cum >= p_.top_p) { keep = i + 1; break; }
    }
    n = keep;
    double s2 = 0;
    for (int64_t i = 0; i < n; ++i) s2 += prob[size_t(i)];
    for (int64_t i = 0; i < n; ++i) prob[size_t(i)] /= s2;
  }
  for (int64_t i = 0; i < n; ++i) p[size_t(buf[size_t(i)].second)] = float(prob[size_t(i)]);
}

int32_t Sampler::sample_from(const std::vector<float>& p) {
  double total = 0;
  for (float v : p) total += v;
  const double u = uniform() * total;
  double cum = 0;
  int32_t last = 0;
  for (size_t i = 0; i < p.size(); ++i) {
    if (p[i] <= 0.f) continue;
    cum += p[i];
    last = int32_t(i);
    if (u < cum) return int32_t(i);
  }
  return last;
}

int32_t Sampler::sample(const float* logits, int64_t V) {
  if (p_.temperature == 0.f) return argmax(logits, V);
  distribution(logits, V, tmp_);
  return sample_from(tmp_);
}

int32_t Sampler::speculative_step(const std::vector<float>& p, const std::vector<float>& q,
                                  int32_t draft, bool* accepted) {
  const double pd = p[size_t(draft)], qd = q[size_t(draft)];
  if (qd > 0 && pd >= qd) {
    *accepted = true;
    return draft;
  }
  if (qd > 0 && pd > 0 && uniform() * qd < pd) {
    *accepted = true;
    return draft;
  }
  *accepted = false;
  std::vector<float>& r = tmp_;
  r.resize(p.size());
  double sum = 0;
  for (size_t i = 0; i < p.size(); ++i) sum += (r[i] = std::max(0.f, p[i] - q[i]));
  if (sum <= 0) return sample_from(p);  // p == q: cannot happen after a rejection, but stay safe
  return sample_from(r);
}

}  // namespace dsv3
