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
  // Candidates as (logit / T, id). Truncation order: descending by scaled logit, ties to the
  // lower id. Only the truncated head is ever sorted: a full sort of a 129k vocabulary costs
  // ~15 ms per token, more than a decode step.
  std::vector<std::pair<float, int32_t>>& buf = sorted_;
  buf.resize(static_cast<size_t>(V));
  for (int64_t i = 0; i < V; ++i) buf[size_t(i)] = {logits[i] / p_.temperature, int32_t(i)};
  auto cmp = [](const auto& a, const auto& b) { return a.first != b.first ? a.first > b.first : a.second < b.second; };
  std::vector<double>& prob = prob_;  // prob[i] belongs to buf[i]
  int64_t n = V;                      // candidates kept: buf[0, n)
  if (p_.top_k > 0 && p_.top_k < V) {
    std::partial_sort(buf.begin(), buf.begin() + p_.top_k, buf.end(), cmp);
    n = p_.top_k;
  } else {
    // Max first, so exp never overflows; buf stays in id order.
    size_t imax = 0;
    for (size_t i = 1; i < buf.size(); ++i)
      if (buf[i].first > buf[imax].first) imax = i;
    std::swap(buf[0], buf[imax]);
  }
  const float mx = buf[0].first;
  prob.resize(static_cast<size_t>(n));
  double sum = 0;
  for (int64_t i = 0; i < n; ++i) sum += (prob[size_t(i)] = std::exp(double(buf[size_t(i)].first - mx)));
  for (auto& q : prob) q /= sum;
  if (p_.top_p < 1.f) {
    // Smallest head (in truncation order) whose probability reaches top_p, gathered into
    // head_ (order within it does not matter once chosen).
    auto ccmp = [&](const Cand& a, const Cand& b) { return cmp(std::pair(a.z, a.id), std::pair(b.z, b.id)); };
    std::vector<Cand>& head = head_;
    std::vector<Cand>& edge = cands_;  // sorted candidates the head ends among
    head.clear();
    edge.clear();
    head.reserve(static_cast<size_t>(n));  // once: later steps never grow them
    edge.reserve(static_cast<size_t>(n));
    double need = p_.top_p;
    if (n < V) {
      // Top-k left them sorted.
      for (int64_t i = 0; i < n; ++i) edge.push_back({buf[size_t(i)].first, buf[size_t(i)].second, prob[size_t(i)]});
    } else {
      // Unsorted: bucket by distance below the max (monotone in z, so buckets respect the
      // truncation order), add bucket masses from the top until one reaches what is still
      // needed; candidates above that bucket are all kept, only the boundary bucket is sorted.
      constexpr int kBuckets = 1024;
      float zmin = mx;
      for (int64_t i = 0; i < n; ++i) zmin = std::min(zmin, buf[size_t(i)].first);
      const float scale = mx > zmin ? float(kBuckets) / (mx - zmin) : 0.f;
      auto bucket = [&](float z) { return std::min(kBuckets - 1, int((mx - z) * scale)); };
      std::vector<double>& mass = bucket_mass_;
      mass.assign(kBuckets, 0.0);
      for (int64_t i = 0; i < n; ++i) mass[size_t(bucket(buf[size_t(i)].first))] += prob[size_t(i)];
      int boundary = kBuckets - 1;
      for (int bi = 0; bi < kBuckets; ++bi) {
        if (mass[size_t(bi)] >= need) { boundary = bi; break; }
        if (bi < kBuckets - 1) need -= mass[size_t(bi)];
      }
      for (int64_t i = 0; i < n; ++i) {
        const int bi = bucket(buf[size_t(i)].first);
        if (bi > boundary) continue;
        const Cand c{buf[size_t(i)].first, buf[size_t(i)].second, prob[size_t(i)]};
        (bi < boundary ? head : edge).push_back(c);
      }
      std::sort(edge.begin(), edge.end(), ccmp);
    }
    size_t take = edge.size();  // rounding: if need is never reached, take them all
    double cum = 0;
    for (size_t i = 0; i < edge.size(); ++i)
      if ((cum += edge[i].p) >= need) { take = i + 1; break; }
    head.insert(head.end(), edge.begin(), edge.begin() + int64_t(take));
    double s2 = 0;
    for (const Cand& c : head) s2 += c.p;
    for (const Cand& c : head) p[size_t(c.id)] = float(c.p / s2);
    return;
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
