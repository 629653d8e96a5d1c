// Sampler::distribution (which sorts only the truncated head of the vocabulary) against a
// plain reference that sorts everything: softmax(logits / T) in double, truncated by top-k
// then top-p in (descending logit, lower id first) order, renormalised. Same support, same
// probabilities to float rounding (the sums differ only in summation order: <= 1e-6 relative).
#include <gtest/gtest.h>

#include <algorithm>
#include <cmath>
#include <limits>
#include <random>
#include <utility>
#include <vector>

#include "runtime/sampler.h"

using namespace dsv3;

namespace {

std::vector<double> reference_distribution(const std::vector<float>& logits, const SamplerParams& sp) {
  const size_t V = logits.size();
  std::vector<std::pair<float, int32_t>> buf(V);
  for (size_t i = 0; i < V; ++i) buf[i] = {logits[i] / sp.temperature, int32_t(i)};
  std::sort(buf.begin(), buf.end(), [](const auto& a, const auto& b) {
    return a.first != b.first ? a.first > b.first : a.second < b.second;
  });
  size_t n = (sp.top_k > 0 && size_t(sp.top_k) < V) ? size_t(sp.top_k) : V;
  std::vector<double> prob(n);
  double sum = 0;
  for (size_t i = 0; i < n; ++i) sum += (prob[i] = std::exp(double(buf[i].first - buf[0].first)));
  for (auto& q : prob) q /= sum;
  if (sp.top_p < 1.f) {
    double cum = 0;
    size_t keep = n;
    for (size_t i = 0; i < n; ++i) {
      cum += prob[i];
      if (cum >= sp.top_p) { keep = i + 1; break; }
    }
    double s2 = 0;
    for (size_t i = 0; i < keep; ++i) s2 += prob[i];
    for (size_t i = 0; i < keep; ++i) prob[i] /= s2;
    n = keep;
  }
  std::vector<double> p(V, 0.0);
  for (size_t i = 0; i < n; ++i) p[size_t(buf[i].second)] = prob[i];
  return p;
}

}  // namespace

TEST(Sampler, DistributionMatchesFullSortReference) {
  std::mt19937 rng(3);
  for (int64_t V : {1, 7, 1000, 129280})
    for (float scale : {0.3f, 3.f, 12.f})  // flat to peaked: nucleus of many or few tokens
      for (float temp : {0.7f, 1.f})
        for (int64_t top_k : {int64_t(0), int64_t(5), int64_t(40), V})
          for (float top_p : {1.f, 0.95f, 0.5f}) {
            std::normal_distribution<float> nd(0.f, scale);
            std::vector<float> lg(static_cast<size_t>(V));
            for (auto& x : lg) x = nd(rng);
            if (V > 10) lg[3] = lg[9] = *std::max_element(lg.begin(), lg.end());  // a tie at the top
            SamplerParams sp;
            sp.temperature = temp;
            sp.top_k = top_k;
            sp.top_p = top_p;
            Sampler s(sp);
            std::vector<float> got;
            s.distribution(lg.data(), V, got);
            const auto want = reference_distribution(lg, sp);
            ASSERT_EQ(got.size(), want.size());
            // Compared as floats (what distribution() returns); subnormal results carry an
            // absolute error of up to one subnormal step from the different summation order.
            int64_t support_got = 0, support_want = 0;
            double max_rel = 0;
            for (size_t i = 0; i < want.size(); ++i) {
              const float w = float(want[i]);
              const double tiny = 2 * double(std::numeric_limits<float>::denorm_min());
              support_got += got[i] > 0;
              support_want += w > 0;
              if (std::fabs(double(w)) <= tiny) continue;
              ASSERT_GT(got[i], 0.f) << "support differs at token " << i << ": V " << V << " top_k "
                                     << top_k << " top_p " << top_p;
              if (w >= std::numeric_limits<float>::min())
                max_rel = std::max(max_rel, std::fabs(double(got[i]) - w) / w);
              else
                EXPECT_LE(std::fabs(double(got[i]) - w), tiny);
            }
            EXPECT_LE(std::abs(support_got - support_want), 2) << "V " << V << " top_p " << top_p;
            EXPECT_LE(max_rel, 1e-6) << "V " << V << " scale " << scale << " top_k " << top_k
                                     << " top_p " << top_p;
          }
}

TEST(Sampler, GreedyIsOneHotAtLowestArgmax) {
  const std::vector<float> lg = {0.f, 2.f, 1.f, 2.f};
  Sampler s(SamplerParams{});
  std::vector<float> p;
  s.distribution(lg.data(), 4, p);
  EXPECT_EQ(p, (std::vector<float>{0.f, 1.f, 0.f, 0.f}));
  EXPECT_EQ(s.sample(lg.data(), 4), 1);
}
