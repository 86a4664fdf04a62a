// Runtime: deserializes engines. JS: new Runtime(logger, backendName, adapterPath,
// { device, plugins, engineHostCodeAllowed })
#pragma once

#include <napi.h>

#include <memory>

#include "backend/backend.h"
#include "log_sink.h"

namespace tnrt::binding {

class Runtime : public Napi::ObjectWrap<Runtime> {
 public:
  static void Init(Napi::Env env, Napi::Object exports);
  explicit Runtime(const Napi::CallbackInfo& info);

 private:
  // [async] deserializeEngine(bytes) -> Promise<Engine>; rejects ERR_TENSORRT_ENGINE_INVALID.
  Napi::Value DeserializeEngine(const Napi::CallbackInfo& info);
  Napi::Value GetBackendInfo(const Napi::CallbackInfo& info);  // [sync]
  Napi::Value Dispose(const Napi::CallbackInfo& info);         // [sync]

  std::shared_ptr<Backend> backend_;
  std::shared_ptr<JsLogSink> log_;
  std::shared_ptr<tnrt::Runtime> runtime_;
};

}  // namespace tnrt::binding
