#include "calibration_histogram.h"

#include <cmath>
#include <functional>
#include <vector>

#include "calibration/entropy.h"
#include "calibration/percentile.h"
#include "errors.h"
#include "histogram_add_now.h"
#include "promise_worker.h"
#include "short_job_pool.h"

namespace tnrt::binding {

void CalibrationHistogram::Init(Napi::Env env, Napi::Object exports) {
  Napi::Function ctor = DefineClass(
      env, "CalibrationHistogram",
      {InstanceMethod("add", &CalibrationHistogram::Add),
       InstanceMethod("addNow", &CalibrationHistogram::AddNow),
       InstanceMethod("help", &CalibrationHistogram::Help),
       InstanceMethod("entropyThreshold", &CalibrationHistogram::EntropyThreshold),
       InstanceMethod("percentileThreshold", &CalibrationHistogram::PercentileThreshold),
       InstanceAccessor("maxAbs", &CalibrationHistogram::MaxAbs, nullptr),
       InstanceAccessor("binWidth", &CalibrationHistogram::BinWidth, nullptr),
       InstanceAccessor("total", &CalibrationHistogram::Total, nullptr),
       InstanceAccessor("skipped", &CalibrationHistogram::Skipped, nullptr),
       InstanceAccessor("counts", &CalibrationHistogram::Counts, nullptr),
       InstanceMethod("dispose", &CalibrationHistogram::Dispose),
       StaticMethod("threads", &CalibrationHistogram::Threads),
       StaticValue("bins", Napi::Number::New(env, calibration::kHistogramBins))});
  exports.Set("CalibrationHistogram", ctor);
}

CalibrationHistogram::CalibrationHistogram(const Napi::CallbackInfo& info)
    : Napi::ObjectWrap<CalibrationHistogram>(info), shared_(std::make_shared<HistogramState>()) {
  Napi::Env env = info.Env();
  if (info.Length() == 0 || info[0].IsUndefined()) return;
  // Restoring known counts: cheap guards only, lib/ has validated them.
  if (!info[0].IsTypedArray() || info[0].As<Napi::TypedArray>().TypedArrayType() != napi_float64_array ||
      info[0].As<Napi::TypedArray>().ElementLength() != calibration::kHistogramBins || !info[1].IsNumber()) {
    throwInvalid(env, "CalibrationHistogram(counts: Float64Array of 2048 counts, maxAbs: number)");
  }
  Napi::Float64Array values = info[0].As<Napi::Float64Array>();
  const double maxAbs = info[1].As<Napi::Number>().DoubleValue();
  calibration::AbsHistogram::Counts counts{};
  bool anyCount = false;
  for (size_t k = 0; k < counts.size(); ++k) {
    const double c = values[k];
    if (!(c >= 0.0 && c <= 9007199254740992.0) || c != std::floor(c)) throwInvalid(env, "counts must be integers >= 0");
    counts[k] = static_cast<uint64_t>(c);
    anyCount = anyCount || c > 0.0;
  }
  if (!(maxAbs >= 0.0 && std::isfinite(static_cast<float>(maxAbs))) || (anyCount && maxAbs == 0.0)) {
    throwInvalid(env, "maxAbs must be a finite float32 > 0 when any count is non-zero");
  }
  shared_->histogram.assign(counts, static_cast<float>(maxAbs));
}

HistogramState& CalibrationHistogram::idle(Napi::Env env) {
  if (!shared_) throwDisposed(env, "CalibrationHistogram");
  if (shared_->busy.load()) throwInvalid(env, "CalibrationHistogram is busy: await the previous add() first");
  return *shared_;
}

std::shared_ptr<HistogramState> CalibrationHistogram::claim(Napi::Env env) {
  idle(env);
  shared_->busy.store(true);
  return shared_;
}

Napi::Value CalibrationHistogram::Add(const Napi::CallbackInfo& info) {
  Napi::Env env = info.Env();
  idle(env);
  if (!info[0].IsTypedArray() || info[0].As<Napi::TypedArray>().TypedArrayType() != napi_float32_array) {
    throwInvalid(env, "add(values: Float32Array)");
  }
  // Binned in place and referenced until the promise settles: lib/ passes only arrays it made
  // and hands to no one (its copies of callers' batches over 1 MB, and engine outputs of its
  // own), so nothing can transfer (detach) them meanwhile. A caller's array cannot be passed
  // here: JavaScript may transfer its buffer, and the collector then frees the memory under
  // the calibration threads, which a reference cannot prevent (see convert.h). Callers'
  // batches of up to 1 MB go through addNow(), which needs no copy.
  Napi::Float32Array values = info[0].As<Napi::Float32Array>();
  const size_t count = values.ElementLength();
  // On the short-job pool rather than the libuv one: adds come back to back, and there the
  // next one starts without waiting for a thread to wake up (see short_job_pool.h). Unless
  // the machine is oversubscribed and handing work to a thread costs more than the work:
  // then the add runs on this thread, in slices between event-loop turns (histogram_add.h).
  ShortJobPool& pool = ShortJobPool::of(env);
  if (count <= calibration::RangeBinner::kMaxBinnerValues && pool.handoffsSlow()) return AddOnLoop(info, values);
  auto shared = claim(env);
  try {
    auto add = std::make_shared<HistogramAdd>(shared, values.Data(), count, pool.threadCount());
    Napi::Promise promise = pool.run(env, add->poolParts(add), {info.This().As<Napi::Object>(), values});
    inFlight_ = std::move(add);
    return promise;
  } catch (...) {
    shared->busy.store(false);  // nothing was queued
    throw;
  }
}

Napi::Value CalibrationHistogram::AddNow(const Napi::CallbackInfo& info) {
  Napi::Env env = info.Env();
  HistogramState& state = idle(env);
  if (!info[0].IsTypedArray() || info[0].As<Napi::TypedArray>().TypedArrayType() != napi_float32_array ||
      info[0].As<Napi::TypedArray>().ElementLength() > kAddNowMaxValues) {
    throwInvalid(env, "addNow(values: Float32Array of at most 262144 values)");
  }
  Napi::Float32Array values = info[0].As<Napi::Float32Array>();
  // In place, the caller's array included: addNow() returns only once no thread reads it.
  BusyGuard guard{state.busy};
  state.busy.store(true);
  addNow(state, values.Data(), values.ElementLength(), ShortJobPool::of(env));
  return env.Undefined();
}

Napi::Value CalibrationHistogram::AddOnLoop(const Napi::CallbackInfo& info, Napi::Float32Array values) {
  Napi::Env env = info.Env();
  auto shared = claim(env);
  Napi::Promise::Deferred deferred = Napi::Promise::Deferred::New(env);
  try {
    inFlight_ = std::make_shared<HistogramAdd>(shared, values.Data(), values.ElementLength(), 0, true);
  } catch (...) {
    shared->busy.store(false);
    throw;
  }
  onLoop_ = deferred;
  onLoopValues_ = Napi::Persistent(values.As<Napi::Object>());
  return deferred.Promise();
}

Napi::Value CalibrationHistogram::Help(const Napi::CallbackInfo& info) {
  const bool took = inFlight_ && inFlight_->help();
  if (onLoop_ && inFlight_ && inFlight_->finished()) {
    // This call binned the last slice of an add on the loop: settle it here.
    Napi::Promise::Deferred deferred = *onLoop_;
    onLoop_.reset();
    onLoopValues_.Reset();
    inFlight_.reset();
    deferred.Resolve(info.Env().Undefined());
  } else if (!took && inFlight_ && inFlight_->finished()) {
    inFlight_.reset();
  }
  return Napi::Boolean::New(info.Env(), took);
}

Napi::Value CalibrationHistogram::EntropyThreshold(const Napi::CallbackInfo& info) {
  auto shared = claim(info.Env());
  return PromiseWorker<calibration::EntropyResult>::Start(
      info.Env(), "tensorrt-node entropy threshold",
      [shared] {
        BusyGuard guard{shared->busy};
        return calibration::entropyThreshold(shared->histogram.counts(), shared->histogram.binWidth());
      },
      [](Napi::Env env, calibration::EntropyResult& result) -> Napi::Value {
        Napi::Object out = Napi::Object::New(env);
        out.Set("threshold", result.threshold);
        out.Set("bins", result.bins);
        out.Set("divergence", result.divergence);
        return out;
      },
      {info.This().As<Napi::Object>()}, nullptr);
}

Napi::Value CalibrationHistogram::PercentileThreshold(const Napi::CallbackInfo& info) {
  Napi::Env env = info.Env();
  HistogramState& shared = idle(env);
  const double percent = info[0].IsNumber() ? info[0].As<Napi::Number>().DoubleValue() : NAN;
  if (!(percent > 0.0 && percent <= 100.0)) throwInvalid(env, "percentileThreshold(percent in (0, 100])");
  return Napi::Number::New(env, calibration::percentileThreshold(shared.histogram.counts(), shared.histogram.binWidth(), percent));
}

Napi::Value CalibrationHistogram::MaxAbs(const Napi::CallbackInfo& info) {
  return Napi::Number::New(info.Env(), idle(info.Env()).histogram.maxAbs());
}

Napi::Value CalibrationHistogram::BinWidth(const Napi::CallbackInfo& info) {
  return Napi::Number::New(info.Env(), idle(info.Env()).histogram.binWidth());
}

Napi::Value CalibrationHistogram::Total(const Napi::CallbackInfo& info) {
  return Napi::Number::New(info.Env(), static_cast<double>(idle(info.Env()).histogram.total()));
}

Napi::Value CalibrationHistogram::Skipped(const Napi::CallbackInfo& info) {
  return Napi::Number::New(info.Env(), static_cast<double>(idle(info.Env()).histogram.skipped()));
}

Napi::Value CalibrationHistogram::Counts(const Napi::CallbackInfo& info) {
  Napi::Env env = info.Env();
  const auto& counts = idle(env).histogram.counts();
  Napi::Float64Array out = Napi::Float64Array::New(env, counts.size());
  for (size_t k = 0; k < counts.size(); ++k) out[k] = static_cast<double>(counts[k]);
  return out;
}

Napi::Value CalibrationHistogram::Threads(const Napi::CallbackInfo& info) {
  return Napi::Number::New(info.Env(), static_cast<double>(ShortJobPool::of(info.Env()).threadCount()));
}

Napi::Value CalibrationHistogram::Dispose(const Napi::CallbackInfo& info) {
  // A running worker holds its own reference to the state; it is freed when that finishes.
  shared_.reset();
  return info.Env().Undefined();
}

}  // namespace tnrt::binding
