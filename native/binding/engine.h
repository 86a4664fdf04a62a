// Engine: a deserialized engine's metadata, serialization and context factory. Made only by
// Runtime.deserializeEngine.
#pragma once

#include <napi.h>

#include <memory>

#include "addon_data.h"
#include "backend/backend.h"
#include "log_sink.h"

namespace tnrt::binding {

class Engine : public Napi::ObjectWrap<Engine> {
 public:
  static void Init(Napi::Env env, Napi::Object exports, AddonData* data);
  explicit Engine(const Napi::CallbackInfo& info);
  // GC backstop: drops the engine and its external-memory report when dispose() was not called.
  void Finalize(Napi::Env env) override;

  // `planBytes` is reported to V8 as external memory for as long as the engine lives.
  static Napi::Object create(Napi::Env env, std::shared_ptr<tnrt::Engine> engine, std::shared_ptr<JsLogSink> log,
                             int64_t planBytes);

 private:
  Napi::Value IoTensors(const Napi::CallbackInfo& info);               // [sync]
  Napi::Value NumOptimizationProfiles(const Napi::CallbackInfo& info); // [sync]
  Napi::Value ProfileShapes(const Napi::CallbackInfo& info);           // [sync] (profile, input)
  Napi::Value DeviceMemorySize(const Napi::CallbackInfo& info);        // [sync]
  Napi::Value NumLayers(const Napi::CallbackInfo& info);               // [sync]
  Napi::Value Serialize(const Napi::CallbackInfo& info);               // [async] -> Promise<Uint8Array>
  Napi::Value CreateExecutionContext(const Napi::CallbackInfo& info);  // [sync]
  Napi::Value Dispose(const Napi::CallbackInfo& info);                 // [sync]

  tnrt::Engine& live(Napi::Env env);
  void release(Napi::Env env);

  std::shared_ptr<JsLogSink> log_;
  std::shared_ptr<tnrt::Engine> engine_;
  int64_t externalBytes_ = 0;
};

}  // namespace tnrt::binding
