// CalibrationHistogram: one tensor's |x| histogram for INT8 calibration (native/calibration/).
// JS: new CalibrationHistogram() or new CalibrationHistogram(counts: Float64Array, maxAbs).
//
// Calls on one histogram must not overlap: lib/calibration/histogram.ts queues them, and this
// class refuses (ERR_TENSORRT_INVALID_ARGUMENT) any call made while an [async] one is running.
#pragma once

#include <napi.h>

#include <memory>
#include <optional>
#include <vector>

#include "histogram_add.h"
#include "histogram_add_now.h"

namespace tnrt::binding {

class CalibrationHistogram : public Napi::ObjectWrap<CalibrationHistogram> {
 public:
  static void Init(Napi::Env env, Napi::Object exports);
  explicit CalibrationHistogram(const Napi::CallbackInfo& info);

 private:
  // [async] add(values: Float32Array) -> Promise<void>: binned in place on the calibration
  // threads; the array, one lib/ made and hands to no one, is referenced until it settles.
  Napi::Value Add(const Napi::CallbackInfo& info);
  // [sync] addNow(values: Float32Array) -> undefined: a batch of at most 1 MB binned before
  // the call returns, with the calibration threads' help (histogram_add_now.h).
  Napi::Value AddNow(const Napi::CallbackInfo& info);
  // add() on this thread (histogram_add.h, "On the loop"): by the help() calls, which settle
  // the promise.
  Napi::Value AddOnLoop(const Napi::CallbackInfo& info, Napi::Float32Array values);
  // [sync] help() -> boolean: bins up to two slices of the add() in flight on this thread, if
  // it has any free (histogram_add.h); lib/ calls it between event-loop turns while adds run.
  Napi::Value Help(const Napi::CallbackInfo& info);
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

  // The live state, idle; throws the disposed or the busy error otherwise.
  HistogramState& idle(Napi::Env env);
  // Marks the state busy for the worker that is about to start.
  std::shared_ptr<HistogramState> claim(Napi::Env env);

  std::shared_ptr<HistogramState> shared_;
  std::shared_ptr<HistogramAdd> inFlight_;  // the last add(), for help(); JS thread only
  // The promise of an add() that runs on the loop (histogram_add.h), settled by the help()
  // that finishes it, and the array it reads.
  std::optional<Napi::Promise::Deferred> onLoop_;
  Napi::ObjectReference onLoopValues_;
};

}  // namespace tnrt::binding
