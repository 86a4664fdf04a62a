#include "engine.h"

#include "convert.h"
#include "errors.h"
#include "execution_context.h"
#include "promise_worker.h"
#include "type_tags.h"

namespace tnrt::binding {

void Engine::Init(Napi::Env env, Napi::Object exports, AddonData* data) {
  Napi::Function ctor =
      DefineClass(env, "Engine",
                  {InstanceMethod("ioTensors", &Engine::IoTensors),
                   InstanceMethod("numOptimizationProfiles", &Engine::NumOptimizationProfiles),
                   InstanceMethod("profileShapes", &Engine::ProfileShapes),
                   InstanceMethod("deviceMemorySize", &Engine::DeviceMemorySize),
                   InstanceMethod("numLayers", &Engine::NumLayers), InstanceMethod("serialize", &Engine::Serialize),
                   InstanceMethod("engineInformation", &Engine::EngineInformation),
                   InstanceMethod("profilingVerbosity", &Engine::GetProfilingVerbosity),
                   InstanceMethod("createExecutionContext", &Engine::CreateExecutionContext),
                   InstanceMethod("dispose", &Engine::Dispose)});
  data->engineConstructor = Napi::Persistent(ctor);
  exports.Set("Engine", ctor);
}

Engine::Engine(const Napi::CallbackInfo& info) : Napi::ObjectWrap<Engine>(info) {
  info.This().As<Napi::Object>().TypeTag(&kEngineTag);
}

void Engine::Finalize(Napi::Env env) { release(env); }

Napi::Object Engine::create(Napi::Env env, std::shared_ptr<tnrt::Engine> engine, std::shared_ptr<JsLogSink> log) {
  Napi::Object object = addonData(env).engineConstructor.New({});
  Engine* self = Unwrap(object);
  self->engine_ = std::move(engine);
  self->log_ = std::move(log);
  self->memory_.set(env, self->engine_->memoryUsage());
  return object;
}

tnrt::Engine& Engine::live(Napi::Env env) {
  if (!engine_) throwDisposed(env, "Engine");
  return *engine_;
}

void Engine::release(Napi::Env env) {
  // Contexts hold the engine, so the memory may outlive this handle; the report goes with the
  // handle all the same (each context reports its own share), exactly once.
  engine_.reset();
  memory_.withdraw(env);
}

Napi::Value Engine::IoTensors(const Napi::CallbackInfo& info) {
  return tensorDescsToJs(info.Env(), live(info.Env()).ioTensors());
}

Napi::Value Engine::NumOptimizationProfiles(const Napi::CallbackInfo& info) {
  return Napi::Number::New(info.Env(), live(info.Env()).numOptimizationProfiles());
}

Napi::Value Engine::ProfileShapes(const Napi::CallbackInfo& info) {
  Napi::Env env = info.Env();
  tnrt::Engine& engine = live(env);
  if (!info[0].IsNumber()) throwInvalid(env, "profileShapes(profile: number, input: string)");
  std::string input = stringFromJs(env, info[1], "input name");
  try {
    InputProfile p = engine.profileShapes(info[0].As<Napi::Number>().Int32Value(), input);
    Napi::Object out = Napi::Object::New(env);
    out.Set("min", dimsToJs(env, p.min));
    out.Set("opt", dimsToJs(env, p.opt));
    out.Set("max", dimsToJs(env, p.max));
    if (!p.minValues.empty()) {
      out.Set("minValues", dimsToJs(env, p.minValues));
      out.Set("optValues", dimsToJs(env, p.optValues));
      out.Set("maxValues", dimsToJs(env, p.maxValues));
    }
    return out;
  } catch (const BackendError& e) {
    throw makeError(env, e.code(), e.what());
  }
}

Napi::Value Engine::DeviceMemorySize(const Napi::CallbackInfo& info) {
  return Napi::Number::New(info.Env(), static_cast<double>(live(info.Env()).deviceMemorySize()));
}

Napi::Value Engine::NumLayers(const Napi::CallbackInfo& info) {
  return Napi::Number::New(info.Env(), live(info.Env()).numLayers());
}

Napi::Value Engine::GetProfilingVerbosity(const Napi::CallbackInfo& info) {
  Napi::Env env = info.Env();
  tnrt::ProfilingVerbosity verbosity;
  try {
    verbosity = live(env).profilingVerbosity();
  } catch (const BackendError& e) {
    throw makeError(env, e.code(), e.what(), {});
  }
  // The names BuilderConfig.profilingVerbosity takes.
  switch (verbosity) {
    case tnrt::ProfilingVerbosity::kLayerNamesOnly: return Napi::String::New(env, "layerNamesOnly");
    case tnrt::ProfilingVerbosity::kNone: return Napi::String::New(env, "none");
    case tnrt::ProfilingVerbosity::kDetailed: break;
  }
  return Napi::String::New(env, "detailed");
}

Napi::Value Engine::Serialize(const Napi::CallbackInfo& info) {
  Napi::Env env = info.Env();
  std::shared_ptr<tnrt::Engine> engine = engine_;
  if (!engine) throwDisposed(env, "Engine");
  return PromiseWorker<std::vector<uint8_t>>::Start(
      env, "tensorrt-node serialize", [engine]() { return engine->serialize(); },
      [](Napi::Env env, std::vector<uint8_t>& bytes) -> Napi::Value { return bytesToJs(env, bytes); }, {}, log_);
}

Napi::Value Engine::EngineInformation(const Napi::CallbackInfo& info) {
  Napi::Env env = info.Env();
  std::shared_ptr<tnrt::Engine> engine = engine_;
  if (!engine) throwDisposed(env, "Engine");
  return PromiseWorker<std::string>::Start(
      env, "tensorrt-node engineInformation", [engine]() { return engine->engineInformation(); },
      [](Napi::Env env, std::string& json) -> Napi::Value { return Napi::String::New(env, json); }, {}, log_);
}

Napi::Value Engine::CreateExecutionContext(const Napi::CallbackInfo& info) {
  Napi::Env env = info.Env();
  live(env);
  const uint64_t logMark = log_ ? log_->mark() : 0;
  try {
    return ExecutionContext::create(env, engine_->createExecutionContext(), log_);
  } catch (const BackendError& e) {
    throw makeError(env, e.code(), e.what(), log_ ? log_->errorsSince(logMark) : std::vector<std::string>{});
  }
}

Napi::Value Engine::Dispose(const Napi::CallbackInfo& info) {
  // Contexts made from this engine hold it (TensorRT requires the engine to outlive them);
  // lib/engine.ts disposes them first, so by now this is normally the last reference.
  release(info.Env());
  return info.Env().Undefined();
}

}  // namespace tnrt::binding
