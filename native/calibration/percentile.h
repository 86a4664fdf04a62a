// Percentile thresholds from the |x| histogram: the |x| below which `percent` percent of the
// values fall, interpolated linearly within the bin where the cumulative count crosses it
// (values assumed uniform within a bin), so it is exact to within one bin width.
#pragma once

#include "histogram.h"

namespace tnrt::calibration {

// [sync] `percent` in (0, 100]; 0 for an empty histogram. 100 gives the upper edge of the
// last non-empty bin (use AbsHistogram::maxAbs() for the exact maximum).
double percentileThreshold(const AbsHistogram::Counts& counts, double binWidth, double percent);

}  // namespace tnrt::calibration
