// The INT8 calibrator of a build, implemented in JavaScript.
//
// The backend calls getBatch/readCache/writeCache on the build thread (the builder's own
// thread, builder_queue.h, never a libuv pool thread) and needs the answer before it can go
// on, while the answer comes from JavaScript, which may await I/O for it, I/O that may need the
// libuv pool. So each call is a request queued to the event loop through a thread-safe
// function, and the build thread blocks until the answer arrives. That cannot deadlock: the
// event loop never waits for a build thread, no pool thread waits for a build, and the
// JavaScript side settles every request, with a value or an error.
//
// The wait also ends, with BackendError kCancelled, when the build is cancelled (AbortSignal ->
// Builder.cancel() -> cancel(); the environment's end -> BuildThreads::stop() -> cancel()) or
// the thread-safe function is finalized (closing; BlockingCall answers napi_closing). Answers travel in a Request the JavaScript
// callbacks co-own, so one that arrives after the build stopped waiting lands nowhere harmful.
#pragma once

#include <napi.h>

#include <condition_variable>
#include <memory>
#include <mutex>
#include <string>
#include <vector>

#include "backend/backend.h"

namespace tnrt::binding {

class JsCalibrator : public Calibrator {
 public:
  // `request(req)` answers one request, directly or with a promise:
  //   { kind: 'getBatch', inputs: [{ name, dtype, shape, bytes }] } -> Uint8Array[] (one per
  //       input, in that order, each exactly `bytes` long), or null when exhausted;
  //   { kind: 'readCache' } -> Uint8Array | null;   { kind: 'writeCache', cache: Uint8Array } -> void.
  JsCalibrator(Napi::Env env, Napi::Function request, CalibrationAlgorithm algorithm, int32_t batchSize);
  ~JsCalibrator() override;
  JsCalibrator(const JsCalibrator&) = delete;
  JsCalibrator& operator=(const JsCalibrator&) = delete;

  CalibrationAlgorithm algorithm() const override { return algorithm_; }
  int32_t batchSize() const override { return batchSize_; }
  // [build thread] each blocks until JavaScript answers, the build is cancelled, or the
  // environment shuts down.
  bool getBatch(std::vector<CalibrationInput>& inputs) override;
  std::vector<uint8_t> readCache() override;
  void writeCache(const std::vector<uint8_t>& cache) override;

  // [any thread] Wakes a waiting call, which then throws kCancelled, and refuses later ones.
  void cancel();

  struct Request;
  struct Shared;

 private:
  // Queues `request` to JavaScript and waits for its answer; throws on error, cancel, closing.
  void call(const std::shared_ptr<Request>& request);

  CalibrationAlgorithm algorithm_;
  int32_t batchSize_;
  std::shared_ptr<Shared> shared_;
  Napi::ThreadSafeFunction tsfn_;
};

}  // namespace tnrt::binding
