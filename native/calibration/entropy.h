// The threshold search of TensorRT's entropy calibrator (IInt8EntropyCalibrator2), as NVIDIA
// described it in "8-bit Inference with TensorRT" (GTC 2017): for every candidate width i of
// 128..2048 bins, P is the first i bins with the counts beyond them (outliers) folded into
// bin i-1, Q is the first i bins (without the outliers) merged into 128 levels and spread
// back evenly over the bins that are non-zero, and the candidate with the least KL(P||Q)
// wins; threshold = (i + 0.5) * binWidth, scale = threshold / 127.
//
// Details the talk leaves open, decided here and in the reference test alike, after NVIDIA's
// public reimplementation of the calibrator (pytorch-quantization's entropy calibration):
// - the search sees bin 0 with the count of bin 1. Zero quantizes to zero at every scale, so
//   the exact zeros that ReLU-like layers produce (often most of a tensor) say nothing about
//   the threshold; left in, that spike dominates KL(P||Q) as soon as a level merges bin 0
//   with its neighbours, and the search then prefers the narrowest candidates (on a
//   half-normal with 50% zeros: 896 bins instead of 1924; with more zeros, 128);
// - bin k of a candidate of width i belongs to level floor(k * 128 / i), so the levels
//   differ in size by at most one bin when 128 does not divide i;
// - a candidate whose last bin is empty while outliers exist has P > 0 where Q = 0, an
//   infinite divergence: it is never chosen (i = 2048 has no outliers, so one always stays);
// - ties (divergences within kTieTolerance, rounding of the prefix sums) go to the largest i.
//
// A limitation of the algorithm itself, kept: KL(P||Q) compares shapes, not values, so a
// candidate that clips nearly everything into its last bin (P and Q then both one spike) has
// a divergence of about 0. Tensors whose |x| starts well above 0 (an input with an offset,
// say all in [3.8, 12]) get a threshold at their lowest populated bin. Method 'auto' (see
// lib/calibration/histogram.ts) weighs such a threshold by its quantization error instead.
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
