#include "histogram_add.h"

#include <algorithm>
#include <thread>

namespace tnrt::binding {

HistogramAdd::HistogramAdd(std::shared_ptr<HistogramState> state, const float* data, size_t count, size_t threads)
    : state_(std::move(state)), data_(data), count_(count), range_(state_->histogram.maxAbs()) {
  // Shared from four slices on, while each binner's 32-bit counts cannot overflow.
  const bool shared = count >= kMinSharedValues && count <= calibration::RangeBinner::kMaxBinnerValues;
  // The first batch sets the range: one part finds it, then hands out the slices (runPart).
  const bool first = range_ == 0.0f;
  parts_ = shared && !first ? std::clamp<size_t>(count / kMinSharedValues, 1, threads) : 1;
  partsLeft_ = parts_;
  if (shared) binners_.resize(parts_ + 1);
  cursor_ = !shared || first ? count : 0;  // nothing to take before the range is known
  outsideRange_ = shared && first;
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
    if (!state.histogram.growRangeFor(data_, count_) || state.histogram.maxAbs() == 0.0f) {
      state.histogram.add(data_, count_);  // NaN or Inf to skip, or all zeros: no bins to speak of
      return;
    }
    for (auto& binner : binners_) binner.clear();
    range_ = state.histogram.maxAbs();
    outsideRange_.store(false, std::memory_order_relaxed);
    // Publishes the above to help(), which reads them only after taking a slice from here.
    cursor_.store(0);
    while (binNextSlice(binners_[part])) {
    }
    waitForHelper();
  }
  state.histogram.addBinned(binners_.data(), binners_.size(), count_);
}

void HistogramAdd::waitForHelper() {
  // Every slice has been taken. The JavaScript thread may still be binning one; a slice is a
  // few microseconds. Once helping_ reads false, help() can take nothing more: it sets
  // helping_ before it takes from the cursor, which no longer has slices to give.
  while (helping_.load()) std::this_thread::yield();
}

bool HistogramAdd::help() {
  if (binners_.empty()) return false;
  helping_.store(true);
  const bool took = binNextSlice(binners_.back());
  helping_.store(false);
  return took;
}

}  // namespace tnrt::binding
