#include "entropy.h"

#include <algorithm>
#include <cmath>
#include <limits>
#include <vector>

namespace tnrt::calibration {

namespace {

double xlogx(double x) { return x > 0.0 ? x * std::log(x) : 0.0; }

// Divergences this close count as equal: the prefix-sum form differs from a bin-by-bin sum
// by rounding of this order for 2048 bins of counts up to 2^53.
constexpr double kTieTolerance = 1e-12;

}  // namespace

// KL(P||Q) is evaluated per candidate from prefix sums instead of bin by bin. With c_k the
// counts, T the total, o = T - sum_{k<i} c_k the outliers, c'_k = c_k except c'_{i-1} = c_{i-1} + o,
// S = sum_{k<i} c_k, and level j holding G_j counts in n_j non-zero bins (Q_k = G_j / (n_j S)):
//   sum_k P_k log P_k = (sum_k c'_k log c'_k) / T - log T
//   sum_k P_k log Q_k = (sum_j G_j log(G_j / n_j) + o log(G_J / n_J)) / T - log S
// where J is the level of bin i-1. The first needs a prefix sum of c log c, the second 128
// terms, so each candidate costs O(128) instead of O(i).
EntropyResult entropyThreshold(const AbsHistogram::Counts& counts, double binWidth) {
  constexpr int n = kHistogramBins;
  constexpr int levels = kQuantizationLevels;
  // Prefix sums in double: exact for counts below 2^53.
  std::vector<double> prefixCount(n + 1, 0.0);
  std::vector<double> prefixNonZero(n + 1, 0.0);
  std::vector<double> prefixXlogx(n + 1, 0.0);
  // Bin 0 weighs as bin 1 (see entropy.h).
  const auto count = [&counts](int k) { return static_cast<double>(counts[k == 0 ? 1 : k]); };
  for (int k = 0; k < n; ++k) {
    const double c = count(k);
    prefixCount[k + 1] = prefixCount[k] + c;
    prefixNonZero[k + 1] = prefixNonZero[k] + (c > 0.0 ? 1.0 : 0.0);
    prefixXlogx[k + 1] = prefixXlogx[k] + xlogx(c);
  }
  const double total = prefixCount[n];
  EntropyResult best;
  if (total <= 0.0 || !(binWidth > 0.0)) return best;
  const double logTotal = std::log(total);
  double minDivergence = std::numeric_limits<double>::infinity();
  for (int i = levels; i <= n; ++i) {
    const double inside = prefixCount[i];
    const double outliers = total - inside;
    const double last = count(i - 1);
    if (inside <= 0.0 || (outliers > 0.0 && last == 0.0)) continue;  // infinite divergence
    const double pTerm = (prefixXlogx[i - 1] + xlogx(last + outliers)) / total - logTotal;
    double qSum = 0.0;
    const int lastLevel = static_cast<int>((static_cast<int64_t>(i - 1) * levels) / i);
    for (int j = 0; j < levels; ++j) {
      // Level j holds bins k with floor(k*levels/i) == j, i.e. k in [ceil(j*i/levels), ceil((j+1)*i/levels)).
      const int begin = static_cast<int>((static_cast<int64_t>(j) * i + levels - 1) / levels);
      const int end = static_cast<int>((static_cast<int64_t>(j + 1) * i + levels - 1) / levels);
      const double g = prefixCount[end] - prefixCount[begin];
      if (g <= 0.0) continue;
      const double logMean = std::log(g / (prefixNonZero[end] - prefixNonZero[begin]));
      qSum += g * logMean;
      if (j == lastLevel) qSum += outliers * logMean;
    }
    const double qTerm = qSum / total - std::log(inside);
    const double divergence = pTerm - qTerm;
    if (divergence <= minDivergence + kTieTolerance) {
      minDivergence = std::min(minDivergence, divergence);
      best.bins = i;
      best.divergence = divergence;
    }
  }
  best.threshold = (best.bins + 0.5) * binWidth;
  return best;
}

}  // namespace tnrt::calibration
