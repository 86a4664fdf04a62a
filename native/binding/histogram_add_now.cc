#include "histogram_add_now.h"

#include <algorithm>
#include <atomic>
#include <cstdint>
#include <thread>
#include <vector>

#include "short_job_pool.h"

namespace tnrt::binding {

namespace {

// One round of binning a batch against a fixed range, shared by the JavaScript thread and the
// helpers it lent the pool. Helpers hold it by shared_ptr: one that starts late, after the
// round is over, still finds it alive, finds the gate closed, and returns.
struct Round {
  const float* data;
  size_t count;
  float range;
  calibration::RangeBinner* binners;  // one per helper, then the JavaScript thread's
  std::atomic<size_t> cursor{0};
  std::atomic<bool> outsideRange{false};
  // Bit kClosed: no helper may start reading; the rest: helpers reading now.
  std::atomic<uint32_t> gate{0};
  static constexpr uint32_t kClosed = 1u << 31;

  Round(const float* d, size_t n, float r, calibration::RangeBinner* b) : data(d), count(n), range(r), binners(b) {}

  // Bins slices with `binner` until none is left or one holds a value outside the range.
  void binSlices(calibration::RangeBinner& binner) {
    for (;;) {
      const size_t begin = cursor.fetch_add(HistogramAdd::kSliceValues);
      if (begin >= count || outsideRange.load(std::memory_order_relaxed)) return;
      size_t checked = 0;
      if (!binner.binWithinRange(data + begin, std::min(HistogramAdd::kSliceValues, count - begin), range, checked)) {
        outsideRange.store(true, std::memory_order_relaxed);
        return;
      }
    }
  }

  // A helper: enters unless the gate is closed, bins, leaves.
  void help(size_t helper) {
    uint32_t seen = gate.load();
    do {
      if (seen & kClosed) return;
    } while (!gate.compare_exchange_weak(seen, seen + 1));
    binSlices(binners[helper]);
    gate.fetch_sub(1);
  }

  // JavaScript thread: closes the gate and waits for the helpers inside (each on its last
  // slice, since the cursor is spent or the round given up). After this nothing reads `data`.
  void close() {
    gate.fetch_or(kClosed);
    while ((gate.load() & ~kClosed) != 0) std::this_thread::yield();
  }
};

// Bins the whole batch against `range` with `helpers` pool threads and this one; false if a
// value lies outside the range (the binners then hold a partial result).
bool binShared(const float* data, size_t count, float range, std::vector<calibration::RangeBinner>& binners,
               size_t helpers, ShortJobPool& pool) {
  auto round = std::make_shared<Round>(data, count, range, binners.data());
  std::vector<std::function<void()>> parts;
  for (size_t h = 0; h < helpers; ++h) parts.emplace_back([round, h] { round->help(h); });
  pool.lend(std::move(parts));
  round->binSlices(binners[helpers]);
  round->close();
  return !round->outsideRange.load();
}

}  // namespace

void addNow(HistogramState& state, const float* data, size_t count, ShortJobPool& pool) {
  calibration::AbsHistogram& histogram = state.histogram;
  // Worth sharing from four slices on, and only while the pool's threads come quickly.
  const size_t helpers = count < HistogramAdd::kMinSharedValues || pool.threadCount() == 0 || pool.handoffsSlow()
                             ? 0
                             : std::min(pool.threadCount(), count / HistogramAdd::kMinSharedValues);
  if (helpers == 0) {
    histogram.add(data, count);
    return;
  }
  std::vector<calibration::RangeBinner>& binners = state.binners;
  if (binners.size() < helpers + 1) binners.resize(helpers + 1);
  const auto clearAll = [&] {
    for (size_t b = 0; b <= helpers; ++b) binners[b].clear();
  };
  // The first batch of a histogram has no range yet: find it (serially; one batch per
  // histogram), then bin. A later batch beyond the range is noticed while binning.
  if (histogram.maxAbs() == 0.0f && !histogram.growRangeFor(data, count)) {
    histogram.add(data, count);  // NaN or ±Inf: the serial path skips them
    return;
  }
  if (histogram.maxAbs() == 0.0f) {
    histogram.add(data, count);  // all zeros so far: they all go in the first bin
    return;
  }
  if (!binShared(data, count, histogram.maxAbs(), binners, helpers, pool)) {
    clearAll();
    if (!histogram.growRangeFor(data, count)) {
      histogram.add(data, count);
      return;
    }
    // A SharedArrayBuffer can change under us even now (another thread writes it); if the
    // batch is still beyond the grown range, the serial path keeps counts and total consistent.
    if (!binShared(data, count, histogram.maxAbs(), binners, helpers, pool)) {
      clearAll();
      histogram.add(data, count);
      return;
    }
  }
  histogram.addBinned(binners.data(), helpers + 1, count);
}

}  // namespace tnrt::binding
