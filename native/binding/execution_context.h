// ExecutionContext: runs an engine. Made only by Engine.createExecutionContext.
//
// One call at a time per context: lib/execution-context.ts queues calls, and this class also
// refuses a second concurrent execute() rather than let two threads share a backend context.
// Separate contexts run in parallel on the libuv pool.
#pragma once

#include <napi.h>

#include <atomic>
#include <memory>
#include <vector>

#include "addon_data.h"
#include "backend/backend.h"
#include "external_memory.h"
#include "log_sink.h"

namespace tnrt::binding {

class ExecutionContext : public Napi::ObjectWrap<ExecutionContext> {
 public:
  static void Init(Napi::Env env, Napi::Object exports, AddonData* data);
  explicit ExecutionContext(const Napi::CallbackInfo& info);

  static Napi::Object create(Napi::Env env, std::unique_ptr<tnrt::ExecutionContext> context,
                             std::shared_ptr<JsLogSink> log);

 private:
  Napi::Value SetOptimizationProfile(const Napi::CallbackInfo& info);  // [sync]
  Napi::Value GetOptimizationProfile(const Napi::CallbackInfo& info);  // [sync]
  // [async] execute([{ name, dtype, shape, data }]) -> Promise<[{ name, dtype, shape, data }]>
  Napi::Value Execute(const Napi::CallbackInfo& info);
  Napi::Value Dispose(const Napi::CallbackInfo& info);  // [sync]
  void Finalize(Napi::Env env) override;
  void release(Napi::Env env);

  std::shared_ptr<JsLogSink> log_;
  // Shared with the worker of a call in flight, so dispose() mid-call frees it afterwards.
  std::shared_ptr<tnrt::ExecutionContext> context_;
  std::shared_ptr<std::atomic<bool>> busy_ = std::make_shared<std::atomic<bool>>(false);
  // Copies of the inputs of the call in flight, one per input, reused by the next call (busy_
  // keeps calls apart). The worker reads these, never JavaScript's buffers; shared with it so
  // that dispose() mid-call frees them afterwards. Reported to V8 as external memory.
  std::shared_ptr<std::vector<std::vector<uint8_t>>> staging_ = std::make_shared<std::vector<std::vector<uint8_t>>>();
  int64_t stagingBytes_ = 0;
  // The backend context's own memory (ExecutionContext::memoryUsage: activations, I/O and
  // staging buffers), reported to V8 at creation and again after each call, as buffers grow
  // with the shapes run. Shared with the completion of a call in flight, which does the
  // update; withdrawn by dispose() or the finalizer, after which updates do nothing.
  std::shared_ptr<ExternalMemoryReport> memory_ = std::make_shared<ExternalMemoryReport>();
};

}  // namespace tnrt::binding
