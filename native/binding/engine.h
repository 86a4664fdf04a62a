// Engine: a deserialized engine's metadata, serialization and context factory. Made only by
// Runtime.deserializeEngine.
#pragma once

#include <napi.h>

#include <memory>

#include "addon_data.h"
#include "backend/backend.h"
#include "external_memory.h"
#include "log_sink.h"

namespace tnrt::binding {

class Engine : public Napi::ObjectWrap<Engine> {
 public:
  static void Init(Napi::Env env, Napi::Object exports, AddonData* data);
  explicit Engine(const Napi::CallbackInfo& info);
  // GC backstop: drops the engine and its external-memory report when dispose() was not called.
  void Finalize(Napi::Env env) override;

  // The engine's memory (Engine::memoryUsage) is reported to V8 as external memory until
  // dispose() or the finalizer.
  static Napi::Object create(Napi::Env env, std::shared_ptr<tnrt::Engine> engine, std::shared_ptr<JsLogSink> log);

 private:
  Napi::Value IoTensors(const Napi::CallbackInfo& info);               // [sync]
  Napi::Value NumOptimizationProfiles(const Napi::CallbackInfo& info); // [sync]
  Napi::Value ProfileShapes(const Napi::CallbackInfo& info);           // [sync] (profile, input)
  Napi::Value DeviceMemorySize(const Napi::CallbackInfo& info);        // [sync]
  Napi::Value NumLayers(const Napi::CallbackInfo& info);               // [sync]
  Napi::Value GetProfilingVerbosity(const Napi::CallbackInfo& info);   // [sync]
  Napi::Value Serialize(const Napi::CallbackInfo& info);               // [async] -> Promise<Uint8Array>
  Napi::Value EngineInformation(const Napi::CallbackInfo& info);       // [async] -> Promise<string> (JSON)
  Napi::Value CreateExecutionContext(const Napi::CallbackInfo& info);  // [sync]
  Napi::Value Dispose(const Napi::CallbackInfo& info);                 // [sync]

  tnrt::Engine& live(Napi::Env env);
  void release(Napi::Env env);

  std::shared_ptr<JsLogSink> log_;
  std::shared_ptr<tnrt::Engine> engine_;
  ExternalMemoryReport memory_;
};

}  // namespace tnrt::binding
