// The work of one CalibrationHistogram.add(): binning a batch of activations into the
// histogram, on the calibration threads (short_job_pool.h) and, for a large batch, also on the
// JavaScript thread while it waits.
//
// A large batch is cut into 64 KB slices that binners take from a shared cursor: each pool
// part has a binner, and so has the JavaScript thread, which bins up to two slices per
// event-loop turn through help() (lib/calibration/histogram.ts calls it while adds are in
// flight, instead of leaving the loop idle): about 10 us, so the loop keeps turning. Whoever
// is faster takes more slices. The last pool part to finish waits for a slice the JavaScript thread is still
// binning, then merges the binners into the histogram. If a slice held a value beyond the
// histogram's range, that part first grows the range to the batch's maximum and has the batch
// binned again, by itself and the JavaScript thread. Merging runs on a pool thread.
//
// On the loop. When handing work to a calibration thread is slow (the machine is
// oversubscribed, so a thread woken for an add waits milliseconds for a core; see
// ShortJobPool::handoffsSlow), an add runs on the JavaScript thread alone, still two slices per
// help() call: binning, and for a batch beyond the range a max scan over slices, the range's
// growth and binning again, then the merge. No thread waits for another, so the add costs
// what its binning costs, however busy the machine. The result is the same histogram.
#pragma once

#include <atomic>
#include <cstddef>
#include <functional>
#include <memory>
#include <vector>

#include "calibration/histogram.h"

namespace tnrt::binding {

// A histogram and the flag that keeps its calls from overlapping. Shared with running work,
// so that dispose() or GC during an add() cannot free it.
struct HistogramState {
  calibration::AbsHistogram histogram;
  std::atomic<bool> busy{false};
  // addNow()'s binners (histogram_add_now.h), kept from one call to the next: making them
  // costs more than binning a slice. Used only inside addNow(), on an idle histogram.
  std::vector<calibration::RangeBinner> binners;
};

// Clears the busy flag when the work that holds it returns or throws.
struct BusyGuard {
  std::atomic<bool>& flag;
  ~BusyGuard() { flag.store(false); }
};

class HistogramAdd {
 public:
  // Slices of this many values (64 KB): short enough for the JavaScript thread to bin one
  // between event-loop turns.
  static constexpr size_t kSliceValues = size_t{1} << 14;
  // Slices the JavaScript thread bins per help() call: about 10 us, a pause of the event loop
  // shorter than a typical callback, and measured 5-25% faster per add() than one slice, as
  // each event-loop turn around a slice costs a few microseconds of its own.
  static constexpr size_t kHelpSlices = 2;
  // Batches below four slices are binned by one pool thread: handing out slices and merging
  // binners would cost more than sharing saves.
  static constexpr size_t kMinSharedValues = 4 * kSliceValues;

  // Plans an add of `count` values at `data` to `state`, which the caller has marked busy;
  // `threads` is the pool's size. The range is read here: the histogram is idle. With
  // `onLoop`, the add has no pool parts and help() does all of it (count <=
  // RangeBinner::kMaxBinnerValues).
  HistogramAdd(std::shared_ptr<HistogramState> state, const float* data, size_t count, size_t threads, bool onLoop = false);

  // The jobs for the pool: each runs one part; the busy flag is cleared when the last ends.
  std::vector<std::function<void()>> poolParts(const std::shared_ptr<HistogramAdd>& self);

  // JavaScript thread: bins up to kHelpSlices slices if any is free to take, and says whether
  // it did. None is free while the range is being grown between the two rounds; see finished().
  // An add on the loop is finished by the help() call that takes its last slice.
  bool help();

  // Whether the add is merged into the histogram (or was never shared): help() has nothing
  // more to do, ever, and the binners are freed.
  bool finished() const { return done_.load(); }

 private:
  void runPart(size_t part);
  // help() for an add on the loop: a step of the scan or of the binning, and the end.
  bool helpOnLoop();
  void finishOnLoop();
  // Takes the next slice and bins it with `binner`; false when no slice is left.
  bool binNextSlice(calibration::RangeBinner& binner);
  // Spins until the JavaScript thread is not binning a slice.
  void waitForHelper();
  // The end of the last part: marks the add finished and frees the binners once help() can no
  // longer touch them.
  void finish();

  std::shared_ptr<HistogramState> state_;
  const float* data_;
  size_t count_;
  float range_;   // written by the last part before it hands out slices again; see runPart
  size_t parts_;  // pool parts; 1 and no binners: not shared

  std::vector<calibration::RangeBinner> binners_;  // one per pool part, then the JS thread's
  std::atomic<size_t> cursor_{0};
  std::atomic<bool> outsideRange_{false};
  std::atomic<size_t> partsLeft_;
  std::atomic<bool> helping_{false};  // the JS thread is binning a slice
  std::atomic<bool> done_{false};

  // An add on the loop (JavaScript thread only).
  bool onLoop_ = false;
  bool scanning_ = false;   // finding the batch's max|x| before the range grows
  float scanMax_ = 0.0f;
  bool nonFinite_ = false;  // the scan met NaN or ±Inf
};

}  // namespace tnrt::binding
