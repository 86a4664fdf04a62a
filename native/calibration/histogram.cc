#include "histogram.h"

#include <algorithm>
#include <cmath>
#include <cstring>

namespace tnrt::calibration {

namespace {

constexpr size_t kLanes = 4;
// Values binned per chunk: the index buffer (4 KiB) and the sub-histograms (32 KiB) stay in L1.
constexpr size_t kChunk = 1024;
// Flush the 32-bit sub-histograms into the 64-bit counts before any of them could overflow.
constexpr size_t kFlushEvery = size_t{1} << 30;
constexpr size_t kScanWidth = 16;

}  // namespace

AbsHistogram::AbsHistogram() : lanes_(kLanes * kHistogramBins, 0), indices_(kChunk, 0) {}

float AbsHistogram::scanMaxAbs(const float* data, size_t count, bool& anyNonFinite) {
  // Works on the bit patterns: with the sign bit cleared, a float's bits order like its value
  // (+0 < finite < +Inf < NaN), so one integer maximum gives both max|x| and whether any value
  // is non-finite. Independent per-lane maxima vectorize with plain SSE2; a float max
  // reduction would not without -ffast-math (reordering it changes NaN semantics).
  int32_t maxima[kScanWidth] = {};
  size_t i = 0;
  for (; i + kScanWidth <= count; i += kScanWidth) {
    for (size_t j = 0; j < kScanWidth; ++j) {
      int32_t bits;
      std::memcpy(&bits, data + i + j, sizeof bits);
      bits &= 0x7fffffff;
      maxima[j] = bits > maxima[j] ? bits : maxima[j];
    }
  }
  int32_t m = 0;
  for (size_t j = 0; j < kScanWidth; ++j) m = std::max(m, maxima[j]);
  for (; i < count; ++i) {
    int32_t bits;
    std::memcpy(&bits, data + i, sizeof bits);
    m = std::max(m, bits & 0x7fffffff);
  }
  constexpr int32_t kInfinityBits = 0x7f800000;
  anyNonFinite = m >= kInfinityBits;
  float result;
  std::memcpy(&result, &m, sizeof result);
  return result;
}

void AbsHistogram::add(const float* data, size_t count) {
  if (count == 0) return;
  bool anyNonFinite = false;
  float batchMax = scanMaxAbs(data, count, anyNonFinite);
  if (anyNonFinite) {
    // Inf may have won the vectorized maximum; recompute over finite values only.
    batchMax = 0.0f;
    for (size_t i = 0; i < count; ++i) {
      float a = std::fabs(data[i]);
      if (std::isfinite(a)) batchMax = std::max(batchMax, a);
    }
  }
  if (batchMax > range_) growRange(batchMax);
  for (size_t start = 0; start < count; start += kFlushEvery) {
    size_t n = std::min(kFlushEvery, count - start);
    if (anyNonFinite) {
      binFiniteOnly(data + start, n);
    } else {
      binAll(data + start, n);
    }
    flushLanes();
  }
}

void AbsHistogram::binAll(const float* data, size_t count) {
  if (range_ == 0.0f) {
    // Every value is 0 (the range is the max); they all belong in the first bin.
    lanes_[0] += static_cast<uint32_t>(count);
    total_ += count;
    return;
  }
  // Index = floor(|x| * 2048 / range) in float, clamped so that |x| == range lands in the
  // last bin. float32 rounding can move a value sitting within an ulp of a bin edge into the
  // neighbouring bin, far below the histogram's own resolution.
  const float scale = static_cast<float>(kHistogramBins / static_cast<double>(range_));
  const float last = static_cast<float>(kHistogramBins - 1);
  uint32_t* h0 = lanes_.data();
  uint32_t* h1 = h0 + kHistogramBins;
  uint32_t* h2 = h1 + kHistogramBins;
  uint32_t* h3 = h2 + kHistogramBins;
  int32_t* idx = indices_.data();
  for (size_t base = 0; base < count; base += kChunk) {
    const size_t n = std::min(kChunk, count - base);
    const float* x = data + base;
    for (size_t i = 0; i < n; ++i) {  // vectorizes: and-mask, mul, min, truncating convert
      float t = std::fabs(x[i]) * scale;
      t = t < last ? t : last;
      idx[i] = static_cast<int32_t>(t);
    }
    size_t i = 0;
    for (; i + kLanes <= n; i += kLanes) {
      ++h0[idx[i]];
      ++h1[idx[i + 1]];
      ++h2[idx[i + 2]];
      ++h3[idx[i + 3]];
    }
    for (; i < n; ++i) ++h0[idx[i]];
  }
  total_ += count;
}

void AbsHistogram::binFiniteOnly(const float* data, size_t count) {
  const double scale = range_ == 0.0f ? 0.0 : kHistogramBins / static_cast<double>(range_);
  const float scalef = static_cast<float>(scale);
  uint64_t binned = 0;
  for (size_t i = 0; i < count; ++i) {
    float a = std::fabs(data[i]);
    if (!std::isfinite(a)) continue;
    float t = a * scalef;
    t = t < static_cast<float>(kHistogramBins - 1) ? t : static_cast<float>(kHistogramBins - 1);
    ++lanes_[static_cast<size_t>(t)];
    ++binned;
  }
  total_ += binned;
  skipped_ += count - binned;
}

void AbsHistogram::flushLanes() {
  for (size_t lane = 0; lane < kLanes; ++lane) {
    uint32_t* h = lanes_.data() + lane * kHistogramBins;
    for (int b = 0; b < kHistogramBins; ++b) counts_[b] += h[b];
  }
  std::fill(lanes_.begin(), lanes_.end(), 0u);
}

void AbsHistogram::growRange(float newRange) {
  if (range_ == 0.0f || total_ == 0) {
    // Everything seen so far was exactly 0 (or nothing was seen): it stays in the first bin.
    range_ = newRange;
    return;
  }
  // Old bin b spans [b, b+1) * oldWidth, i.e. [b*r, (b+1)*r) in new-bin units, r < 1.
  const double r = static_cast<double>(range_) / static_cast<double>(newRange);
  scratch_.fill(0);
  for (int b = 0; b < kHistogramBins; ++b) {
    const uint64_t c = counts_[b];
    if (c == 0) continue;
    const double lo = b * r;
    const double hi = (b + 1) * r;
    const int j = std::min(static_cast<int>(lo), kHistogramBins - 1);
    if (hi <= j + 1 || j == kHistogramBins - 1) {
      scratch_[j] += c;
      continue;
    }
    const double share = (j + 1 - lo) / (hi - lo);
    const uint64_t first = static_cast<uint64_t>(std::llround(static_cast<double>(c) * share));
    scratch_[j] += first;
    scratch_[j + 1] += c - first;
  }
  counts_ = scratch_;
  range_ = newRange;
}

void AbsHistogram::assign(const Counts& counts, float range) {
  counts_ = counts;
  range_ = range;
  total_ = 0;
  for (uint64_t c : counts_) total_ += c;
  skipped_ = 0;
}

}  // namespace tnrt::calibration
