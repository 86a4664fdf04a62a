// The threshold search of TensorRT's entropy calibrator (IInt8EntropyCalibrator2), as NVIDIA
// described it in "8-bit Inference with TensorRT" (GTC 2017): for every candidate width i of
// 128..2048 bins, P is the first i bins with the counts beyond them (outliers) folded into
// bin i-1, Q is the first i bins (without the outliers) merged into 128 levels and spread
// back evenly over the bins that are non-zero, and the candidate with the least KL(P||Q)
// wins; threshold = (i + 0.5) * binWidth, scale = threshold / 127.
//
// Details the talk leaves open, decided here and in the reference test alike:
// - bin k of a candidate of width i belongs to level floor(k * 128 / i), so the levels
//   differ in size by at most one bin when 128 does not divide i;
// - a candidate whose last bin is empty while outliers exist has P > 0 where Q = 0, an
//   infinite divergence: it is never chosen (i = 2048 has no outliers, so one always stays);
// - ties go to the smallest i.
#pragma once

#include "histogram.h"

namespace tnrt::calibration {

constexpr int kQuantizationLevels = 128;

struct EntropyResult {
  // Clipping threshold in the data's units; 0 when the histogram is empty or all zero.
  double threshold = 0.0;
  // The winning number of bins i (0 when threshold is 0).
  int bins = 0;
  // KL(P||Q) of the winner (natural log).
  double divergence = 0.0;
};

// [sync] O(bins * 128) work: about 250k logarithms for 2048 bins, a few milliseconds.
EntropyResult entropyThreshold(const AbsHistogram::Counts& counts, double binWidth);

}  // namespace tnrt::calibration
