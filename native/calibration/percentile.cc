#include "percentile.h"

namespace tnrt::calibration {

double percentileThreshold(const AbsHistogram::Counts& counts, double binWidth, double percent) {
  double total = 0.0;
  for (uint64_t c : counts) total += static_cast<double>(c);
  if (total <= 0.0) return 0.0;
  const double target = total * percent / 100.0;
  double below = 0.0;  // count in bins before k
  for (int k = 0; k < kHistogramBins; ++k) {
    const double c = static_cast<double>(counts[k]);
    if (c > 0.0 && below + c >= target) {
      const double within = (target - below) / c;
      return (k + (within > 0.0 ? within : 0.0)) * binWidth;
    }
    below += c;
  }
  // Only reached through rounding of `target` when percent is 100: the last non-empty bin's edge.
  for (int k = kHistogramBins - 1; k >= 0; --k) {
    if (counts[k] > 0) return (k + 1) * binWidth;
  }
  return 0.0;
}

}  // namespace tnrt::calibration
