#include "histogram_add.h"

#include <algorithm>
#include <thread>

namespace tnrt::binding {

HistogramAdd::HistogramAdd(std::shared_ptr<HistogramState> state, const float* data, size_t count, size_t threads, bool onLoop)
    : state_(std::move(state)), data_(data), count_(count), range_(state_->histogram.maxAbs()) {
  if (onLoop) {
    onLoop_ = true;
    parts_ = 0;
    partsLeft_ = 0;
    binners_.resize(1);
    cursor_ = 0;
    // The first batch sets the range: scan it before binning.
    scanning_ = range_ == 0.0f;
    return;
  }
  // Shared from four slices on, while each binner's 32-bit counts cannot overflow.
  const bool shared = count >= kMinSharedValues && count <= calibration::RangeBinner::kMaxBinnerValues;
  // The first batch sets the range: one part finds it, then hands out the slices (runPart).
  const bool first = range_ == 0.0f;
  parts_ = shared && !first ? std::clamp<size_t>(count / kMinSharedValues, 1, threads) : 1;
  partsLeft_ = parts_;
  if (shared) binners_.resize(parts_ + 1);
  cursor_ = !shared || first ? count : 0;  // nothing to take before the range is known
  outsideRange_ = shared && first;
  done_ = !shared;
}

std::vector<std::function<void()>> HistogramAdd::poolParts(const std::shared_ptr<HistogramAdd>& self) {
  std::vector<std::function<void()>> jobs;
  for (size_t p = 0; p < parts_; ++p) jobs.emplace_back([self, p] { self->runPart(p); });
  return jobs;
}

bool HistogramAdd::binNextSlice(calibration::RangeBinner& binner) {
  const size_t begin = cursor_.fetch_add(kSliceValues);
  if (begin >= count_) return false;
  // After a slice outside the range the batch is binned again from scratch: skip the rest.
  if (outsideRange_.load(std::memory_order_relaxed)) return true;
  size_t checked = 0;
  if (!binner.binWithinRange(data_ + begin, std::min(kSliceValues, count_ - begin), range_, checked)) {
    outsideRange_.store(true, std::memory_order_relaxed);
  }
  return true;
}

void HistogramAdd::runPart(size_t part) {
  if (binners_.empty()) {
    BusyGuard guard{state_->busy};
    state_->histogram.add(data_, count_);
    return;
  }
  while (binNextSlice(binners_[part])) {
  }
  if (partsLeft_.fetch_sub(1, std::memory_order_acq_rel) != 1) return;
  waitForHelper();
  HistogramState& state = *state_;
  BusyGuard guard{state.busy};
  if (outsideRange_.load(std::memory_order_relaxed)) {
    // The batch holds a value beyond the range (the range grows with the data, so this is the
    // first batch or one of a few early ones). With the range grown to the batch's maximum,
    // bin it again in slices: this thread alone from here, and the JavaScript thread, which is
    // still polling. A batch with NaN or Inf goes the serial way, which skips them.
    if (state.histogram.growRangeFor(data_, count_) && state.histogram.maxAbs() > 0.0f) {
      for (auto& binner : binners_) binner.clear();
      range_ = state.histogram.maxAbs();
      outsideRange_.store(false, std::memory_order_relaxed);
      // Publishes the above to help(), which reads them only after taking a slice from here.
      cursor_.store(0);
      while (binNextSlice(binners_[part])) {
      }
      waitForHelper();
    }
  }
  // Still outside the range after round two only if the data changed under us (add() forbids
  // it): the serial way keeps the counts consistent with the total even then.
  if (outsideRange_.load(std::memory_order_relaxed)) {
    state.histogram.add(data_, count_);
  } else {
    state.histogram.addBinned(binners_.data(), binners_.size(), count_);
  }
  finish();
}

void HistogramAdd::finish() {
  // Dekker with help(): it sets helping_ and then reads done_; this sets done_ and then waits
  // for helping_ to clear. One of the two sees the other's store, so help() never touches a
  // binner freed here.
  done_.store(true);
  waitForHelper();
  std::vector<calibration::RangeBinner>().swap(binners_);
}

void HistogramAdd::waitForHelper() {
  // Every slice has been taken. The JavaScript thread may still be binning one; a slice is a
  // few microseconds. Once helping_ reads false, help() can take nothing more: it sets
  // helping_ before it takes from the cursor, which no longer has slices to give.
  while (helping_.load()) std::this_thread::yield();
}

bool HistogramAdd::help() {
  if (onLoop_) return helpOnLoop();
  helping_.store(true);
  size_t taken = 0;
  if (!done_.load()) {
    while (taken < kHelpSlices && binNextSlice(binners_.back())) ++taken;
  }
  helping_.store(false);
  return taken > 0;
}

bool HistogramAdd::helpOnLoop() {
  if (done_.load(std::memory_order_relaxed)) return false;
  // No other thread touches this add: plain reads of the cursor are enough.
  for (size_t taken = 0; taken < kHelpSlices; ++taken) {
    const size_t begin = cursor_.load(std::memory_order_relaxed);
    if (begin >= count_) break;
    const size_t length = std::min(kSliceValues, count_ - begin);
    cursor_.store(begin + length, std::memory_order_relaxed);
    if (scanning_) {
      bool nonFinite = false;
      const float max = calibration::AbsHistogram::scanMaxAbs(data_ + begin, length, nonFinite);
      if (nonFinite) {
        nonFinite_ = true;
      } else {
        scanMax_ = std::max(scanMax_, max);
      }
      continue;
    }
    size_t checked = 0;
    if (!binners_[0].binWithinRange(data_ + begin, length, range_, checked)) {
      // A value beyond the range. Everything before this slice was within it, so the batch's
      // max|x| is the max from here on: scan the rest, grow, then bin the batch again.
      binners_[0].clear();
      if (outsideRange_.load(std::memory_order_relaxed)) {
        // Beyond the range grown to this batch's max: the data changed under the add (add()
        // forbids it). The serial way keeps counts and total consistent even then.
        nonFinite_ = true;
        cursor_.store(count_, std::memory_order_relaxed);
        scanning_ = true;
        break;
      }
      outsideRange_.store(true, std::memory_order_relaxed);
      scanning_ = true;
      cursor_.store(begin, std::memory_order_relaxed);
      break;
    }
  }
  if (cursor_.load(std::memory_order_relaxed) >= count_) finishOnLoop();
  return true;
}

void HistogramAdd::finishOnLoop() {
  calibration::AbsHistogram& histogram = state_->histogram;
  if (scanning_) {
    // A NaN or ±Inf, or only zeros in the histogram's first batch: AbsHistogram::add is the
    // way for those (it skips non-finite values). It bins the whole batch at once, a pause of
    // the loop that only such batches pay.
    histogram.growRangeTo(nonFinite_ ? 0.0f : scanMax_);
    if (nonFinite_ || histogram.maxAbs() == 0.0f) {
      histogram.add(data_, count_);
    } else {
      // Round two: bin the batch against the grown range.
      range_ = histogram.maxAbs();
      scanning_ = false;
      cursor_.store(0, std::memory_order_relaxed);
      return;
    }
  } else {
    histogram.addBinned(binners_.data(), binners_.size(), count_);
  }
  done_.store(true);
  std::vector<calibration::RangeBinner>().swap(binners_);
  state_->busy.store(false);
}

}  // namespace tnrt::binding
