#include "runtime.h"

#include <string>

#include "addon_data.h"
#include "convert.h"
#include "engine.h"
#include "errors.h"
#include "promise_worker.h"

namespace tnrt::binding {

void Runtime::Init(Napi::Env env, Napi::Object exports) {
  Napi::Function ctor = DefineClass(env, "Runtime",
                                    {InstanceMethod("deserializeEngine", &Runtime::DeserializeEngine),
                                     InstanceMethod("backendInfo", &Runtime::GetBackendInfo),
                                     InstanceMethod("dispose", &Runtime::Dispose)});
  exports.Set("Runtime", ctor);
}

Runtime::Runtime(const Napi::CallbackInfo& info) : Napi::ObjectWrap<Runtime>(info) {
  BackendArgs args = backendArgsFromJs(info);
  runtime_ = createFromBackend(info.Env(), args, [&] { return args.backend->createRuntime(args.log, args.options); });
  log_ = std::move(args.log);
  backend_ = std::move(args.backend);
}

Napi::Value Runtime::DeserializeEngine(const Napi::CallbackInfo& info) {
  Napi::Env env = info.Env();
  if (!runtime_) throwDisposed(env, "Runtime");
  // A copy, read by the worker: JavaScript may transfer the caller's buffer while the engine
  // loads (see convert.h). The copy lives only until the worker ends.
  std::shared_ptr<const std::vector<uint8_t>> bytes = copyBytesFromJs(env, info[0], "engine");
  // options: { maxTensorBytes?: number } (lib/runtime.ts validated it; this is the cheap guard).
  DeserializeOptions options;
  if (info.Length() > 1 && info[1].IsObject()) {
    Napi::Value limit = info[1].As<Napi::Object>().Get("maxTensorBytes");
    if (limit.IsNumber()) {
      const double v = limit.As<Napi::Number>().DoubleValue();
      if (!(v >= 1) || v > 9007199254740991.0) throwInvalid(env, "maxTensorBytes must be a positive safe integer");
      options.maxTensorBytes = static_cast<uint64_t>(v);
    }
  }
  auto runtime = runtime_;
  auto log = log_;
  const uint64_t logMark = log->mark();
  return PromiseWorker<std::shared_ptr<tnrt::Engine>>::Start(
      env, "tensorrt-node deserialize",
      [runtime, bytes, options]() { return runtime->deserializeEngine(bytes->data(), bytes->size(), options); },
      [log, logMark](Napi::Env env, std::shared_ptr<tnrt::Engine>& engine) -> Napi::Value {
        if (!engine) throw makeError(env, ErrorCode::kEngineInvalid, "the backend returned no engine", log->errorsSince(logMark));
        return Engine::create(env, std::move(engine), log);
      },
      {info.This().As<Napi::Object>()}, log_);
}

Napi::Value Runtime::GetBackendInfo(const Napi::CallbackInfo& info) {
  Napi::Env env = info.Env();
  if (!backend_) throwDisposed(env, "Runtime");
  return backendInfoToJs(env, backend_->info());
}

Napi::Value Runtime::Dispose(const Napi::CallbackInfo& info) {
  // Engines hold the runtime they came from, so this only drops the JS handle's share.
  runtime_.reset();
  backend_.reset();
  return info.Env().Undefined();
}

}  // namespace tnrt::binding
