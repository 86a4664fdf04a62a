// CalibrationHistogram: one tensor's |x| histogram for INT8 calibration (native/calibration/).
// JS: new CalibrationHistogram() or new CalibrationHistogram(counts: Float64Array, maxAbs).
//
// Calls on one histogram must not overlap: lib/calibration/histogram.ts queues them, and this
// class refuses (ERR_TENSORRT_INVALID_ARGUMENT) any call made while an [async] one is running.
#pragma once

#include <napi.h>

#include <atomic>
#include <functional>
#include <memory>
#include <vector>

#include "calibration/histogram.h"

namespace tnrt::binding {

class CalibrationHistogram : public Napi::ObjectWrap<CalibrationHistogram> {
 public:
  static void Init(Napi::Env env, Napi::Object exports);
  explicit CalibrationHistogram(const Napi::CallbackInfo& info);

 private:
  // State shared with a running worker, so dispose() or GC during add() cannot free it.
  struct Shared {
    calibration::AbsHistogram histogram;
    std::atomic<bool> busy{false};
  };

  // [async] add(values: Float32Array) -> Promise<void>; the array is referenced until it settles.
  Napi::Value Add(const Napi::CallbackInfo& info);
  // [async] entropyThreshold() -> Promise<{ threshold, bins, divergence }>.
  Napi::Value EntropyThreshold(const Napi::CallbackInfo& info);
  Napi::Value PercentileThreshold(const Napi::CallbackInfo& info);  // [sync] (percent) -> number
  Napi::Value MaxAbs(const Napi::CallbackInfo& info);               // [sync] getter
  Napi::Value BinWidth(const Napi::CallbackInfo& info);             // [sync] getter
  Napi::Value Total(const Napi::CallbackInfo& info);                // [sync] getter
  Napi::Value Skipped(const Napi::CallbackInfo& info);              // [sync] getter
  Napi::Value Counts(const Napi::CallbackInfo& info);               // [sync] getter, a copy
  Napi::Value Dispose(const Napi::CallbackInfo& info);              // [sync]
  static Napi::Value Threads(const Napi::CallbackInfo& info);       // [sync] static, the pool's size

  // The work of one add(): a single job, or, for a large batch on a histogram whose range is
  // set, up to `threads` parts that bin it together (see the .cc).
  static std::vector<std::function<void()>> addParts(std::shared_ptr<Shared> shared, const float* data, size_t count,
                                                     size_t threads);
  // A batch is split in parts only from this size (512 KB) on: below, handing out the parts
  // and merging them costs more than the threads save.
  static constexpr size_t kMinValuesPerPart = size_t{1} << 17;
  // What a part takes from the batch at a time (128 KB).
  static constexpr size_t kValuesPerSlice = size_t{1} << 15;

  // The live state, idle; throws the disposed or the busy error otherwise.
  Shared& idle(Napi::Env env);
  // Marks the state busy for the worker that is about to start.
  std::shared_ptr<Shared> claim(Napi::Env env);

  std::shared_ptr<Shared> shared_;
};

}  // namespace tnrt::binding
