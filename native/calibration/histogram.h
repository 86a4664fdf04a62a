// The histogram of |x| that TensorRT's entropy calibrator collects for one tensor: 2048 bins
// over [0, max|x| seen so far]. Plain C++ (no N-API) so the sim, the binding and a future
// adapter-side calibrator can share it.
//
// Range policy. Calibration fills histograms in two passes over the data: the first pass finds each
// tensor's max |x| (scanMaxAbs) and the second bins every value into 2048 bins over exactly
// [0, that max] (assign() an empty histogram over the range, then add()). The bin width is then
// max|x| / 2048, the width the GTC 2017 description of the algorithm assumes, and the counts,
// and every threshold searched on them, depend on the values alone, not on how they were split
// into batches or ordered. quantizeInt8 (lib/calibration/collect-statistics.ts) and the sim's
// implicit calibration (sim/int8_calibration.cc) both work this way.
//
// Why not one pass, as TensorRT does. TensorRT's developer guide describes one pass: when a
// batch holds a value beyond the current histogram max, the range grows by a power of two, so
// the result depends on the batches' order and a growth at the last batch leaves half the bins
// empty (the guide's advice is one large, well shuffled batch). We read the data twice instead,
// which removes that dependence at the cost of a second run of the float model. A histogram
// can also grow as it goes, and add() still does for a batch
// whose |x| exceeds the range: the range becomes that batch's max|x| and the existing counts are
// re-binned into the wider bins, each old bin's count split between the (at most two) new bins
// it overlaps in proportion to the overlap, the total preserved exactly. That displaces earlier
// data by less than a new bin: below the resolution of minmax and percentile, but not of the
// entropy search, whose KL(P||Q) compares counts bin by bin and whose minimum is often shallow.
// Measured on openWakeWord's embedding model, 20 windows as 20 batches against one batch of
// all 20: 12 of 25 entropy thresholds equal, one the median bin apart, the largest 289 bins;
// with two passes all 25 are equal. Growth remains for what cannot be read twice: the public
// CalibrationHistogram, which takes batches as they come, and calibration data read once and
// too large to keep for the second pass (with a warning).
//
// Non-finite values (NaN, ±Inf) are not binned; they are counted in skipped().
#pragma once

#include <array>
#include <cstddef>
#include <cstdint>
#include <vector>

namespace tnrt::calibration {

constexpr int kHistogramBins = 2048;

using HistogramCounts = std::array<uint64_t, kHistogramBins>;

// Bins values against a fixed range into sub-histograms of its own: the part of
// AbsHistogram::add that several threads can run at once, each over a slice of one batch.
// Sub-histograms (two): consecutive values hitting the same bin then increment different
// memory words, which keeps the increments from waiting on each other. Their 32-bit counts are
// only ever moved into 64-bit ones by flushInto(), so at most kMaxBinnerValues values may be
// binned between flushes.
class RangeBinner {
 public:
  static constexpr size_t kMaxBinnerValues = size_t{1} << 30;

  RangeBinner();

  // Bins `count` values when every one is finite and within [0, range] (range > 0) and returns
  // true. Otherwise returns false at the first chunk holding a value outside, with `checked`
  // set to where that chunk starts; the sub-histograms then hold a partial result for clear().
  bool binWithinRange(const float* data, size_t count, float range, size_t& checked);
  // Bins `count` finite values; a value beyond the range lands in the last bin. range >= 0.
  void binAll(const float* data, size_t count, float range);
  // Bins the finite values among `count` and returns how many there were.
  size_t binFiniteOnly(const float* data, size_t count, float range);

  void flushInto(HistogramCounts& counts);
  void clear();

 private:
  void scatterIndices(const int32_t* idx, size_t n);

  std::vector<uint32_t> lanes_;
  std::vector<int32_t> indices_;  // bin indices of one chunk, computed with SIMD
};

class AbsHistogram {
 public:
  using Counts = HistogramCounts;

  // Adds |x| of every finite value. Allocates nothing: it works in buffers made by the
  // constructor. Not thread-safe; callers serialize calls on one histogram.
  void add(const float* data, size_t count);

  // Adds a batch of `count` values that the caller binned in slices, each with its own
  // RangeBinner whose binWithinRange(slice, maxAbs()) returned true; flushes the binners.
  // This is add() split across threads: the result is the same.
  void addBinned(RangeBinner* binners, size_t binnerCount, size_t count);

  // Prepares a batch to be binned in slices with addBinned(): grows the range to the batch's
  // max|x| where that is larger. Returns false, changing nothing, if the batch holds NaN or
  // ±Inf (add() is the way for those: it skips them).
  bool growRangeFor(const float* data, size_t count);
  // The same for a batch whose max|x| the caller found with scanMaxAbs() (over slices, say).
  void growRangeTo(float batchMax) {
    if (batchMax > range_) growRange(batchMax);
  }

  // Replaces the state with `counts` over [0, range] (range > 0 unless all counts are zero);
  // used to restore a histogram, to start the second pass of calibration over the range the
  // first found (all counts zero), and to test the searches on known histograms.
  void assign(const Counts& counts, float range);

  const Counts& counts() const { return counts_; }
  // The upper end of the binned range: max|x| over all finite values added.
  float maxAbs() const { return range_; }
  double binWidth() const { return static_cast<double>(range_) / kHistogramBins; }
  uint64_t total() const { return total_; }
  uint64_t skipped() const { return skipped_; }

  // Max of |x| over `count` values; sets `anyNonFinite` when a NaN or ±Inf is among them
  // (the result is then not to be used).
  static float scanMaxAbs(const float* data, size_t count, bool& anyNonFinite);
  // Max of |x| over the finite values among `count` (0 if none); sets `anyNonFinite` as above.
  static float scanFiniteMaxAbs(const float* data, size_t count, bool& anyNonFinite);

 private:
  void growRange(float newRange);

  Counts counts_{};
  Counts scratch_{};  // re-binning target, kept to avoid allocating in add()
  RangeBinner binner_;
  float range_ = 0.0f;
  uint64_t total_ = 0;
  uint64_t skipped_ = 0;
};

}  // namespace tnrt::calibration
