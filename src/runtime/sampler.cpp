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

int32_t Sampler::sample(const float* logits, int64_t V) {
  if (p_.temperature == 0.f) return argmax(logits, V);
  buf_.resize(static_cast<size_t>(V));
  for (int64_t i = 0; i < V; ++i) buf_[size_t(i)] = {logits[i] / p_.temperature, int32_t(i)};
  // Sort descending by logit, ties to the lower id: defines the truncation order.
  auto cmp = [](const auto& a, const auto& b) { return a.first != b.first ? a.first > b.first : a.second < b.second; };
  int64_t n = V;
  if (p_.top_k > 0 && p_.top_k < V) {
    std::partial_sort(buf_.begin(), buf_.begin() + p_.top_k, buf_.end(), cmp);
    n = p_.top_k;
  } else {
    std::sort(buf_.begin(), buf_.end(), cmp);
  }
  const float mx = buf_[0].first;
  double sum = 0;
  std::vector<double> prob(static_cast<size_t>(n));
  for (int64_t i = 0; i < n; ++i) sum += (prob[size_t(i)] = std::exp(double(buf_[size_t(i)].first - mx)));
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
  const double u = uniform();
  double cum = 0;
  for (int64_t i = 0; i < n; ++i) {
    cum += prob[size_t(i)];
    if (u < cum) return buf_[size_t(i)].second;
  }
  return buf_[size_t(n - 1)].second;
}

}  // namespace dsv3
