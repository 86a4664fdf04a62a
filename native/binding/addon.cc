// Module entry: registers the classes and the free functions, and sets up per-environment
// instance data.
#include <napi.h>

#include "addon_data.h"
#include "backend/loader.h"
#include "builder.h"
#include "builder_queue.h"
#include "calibration_histogram.h"
#include "convert.h"
#include "engine.h"
#include "errors.h"
#include "execution_context.h"
#include "logger.h"
#include "network.h"
#include "promise_worker.h"
#include "runtime.h"
#include "sim/engine_format.h"

namespace tnrt::binding {

std::shared_ptr<Backend> openBackend(Napi::Env env, const std::string& name, const std::string& adapterPath) {
  try {
    if (name == "sim") return loadSimBackend();
    if (name == "tensorrt") return loadAdapterBackend(adapterPath);
  } catch (const BackendError& e) {
    throw makeError(env, e.code(), e.what());
  }
  throwInvalid(env, "unknown backend '" + name + "'; expected 'sim' or 'tensorrt'");
}

BackendArgs backendArgsFromJs(const Napi::CallbackInfo& info) {
  Napi::Env env = info.Env();
  BackendArgs args;
  args.log = Logger::sinkOf(env, info[0]);
  std::string name = stringFromJs(env, info[1], "backend name");
  std::string path = info[2].IsString() ? info[2].As<Napi::String>().Utf8Value() : "";
  args.backend = openBackend(env, name, path);
  // lib/ validated these (device an integer >= 0, plugins existing files); cheap guards only.
  if (info.Length() > 3 && info[3].IsObject()) {
    Napi::Object o = info[3].As<Napi::Object>();
    Napi::Value device = o.Get("device");
    if (device.IsNumber()) {
      const double d = device.As<Napi::Number>().DoubleValue();
      if (!(d >= 0) || d > 1e6 || d != static_cast<double>(static_cast<int32_t>(d))) throwInvalid(env, "device must be an integer >= 0");
      args.options.device = static_cast<int32_t>(d);
    }
    Napi::Value plugins = o.Get("plugins");
    if (plugins.IsArray()) {
      Napi::Array list = plugins.As<Napi::Array>();
      for (uint32_t i = 0; i < list.Length(); ++i) args.options.plugins.push_back(stringFromJs(env, list.Get(i), "plugin library"));
    }
    args.options.engineHostCodeAllowed = o.Get("engineHostCodeAllowed").ToBoolean().Value();
    Napi::Value threads = o.Get("threads");
    if (threads.IsNumber()) {
      const double t = threads.As<Napi::Number>().DoubleValue();
      if (!(t >= 1) || t > 256 || t != static_cast<double>(static_cast<int32_t>(t))) throwInvalid(env, "threads must be an integer from 1 to 256");
      args.options.threads = static_cast<int32_t>(t);
    }
  }
  return args;
}

namespace {

// probeBackend(name, adapterPath) -> { name, version, available, reason? }. Never throws for an
// unavailable backend: reporting why is its purpose.
Napi::Value ProbeBackend(const Napi::CallbackInfo& info) {
  Napi::Env env = info.Env();
  std::string name = stringFromJs(env, info[0], "backend name");
  std::string path = info[1].IsString() ? info[1].As<Napi::String>().Utf8Value() : "";
  try {
    return backendInfoToJs(env, openBackend(env, name, path)->info());
  } catch (const Napi::Error& e) {
    if (e.Get("code").ToString().Utf8Value() != errorCodeName(ErrorCode::kUnavailable)) throw;
    BackendInfo unavailable;
    unavailable.name = name;
    unavailable.available = false;
    unavailable.reason = e.Message();
    return backendInfoToJs(env, unavailable);
  }
}

// noop() -> Promise<undefined>: a bare AsyncWorker round trip, the floor that `npm run bench`
// compares execute() against.
Napi::Value Noop(const Napi::CallbackInfo& info) {
  return PromiseWorker<bool>::Start(
      info.Env(), "tensorrt-node noop", [] { return true; },
      [](Napi::Env env, bool&) -> Napi::Value { return env.Undefined(); }, {}, nullptr);
}

// stopBuilds(): cancels this environment's builds and waits for their threads to return. For
// process.exit(), which ends the process without running the environment's cleanup hooks
// (they would do the same); lib/native.ts calls it from process 'exit'.
Napi::Value StopBuilds(const Napi::CallbackInfo& info) {
  Napi::Env env = info.Env();
  if (addonData(env).buildThreads) addonData(env).buildThreads->stop();
  return env.Undefined();
}

}  // namespace

Napi::Object Init(Napi::Env env, Napi::Object exports) {
  auto* data = new AddonData();
  env.SetInstanceData<AddonData>(data);  // deleted by N-API when the environment goes away
  Logger::Init(env, exports);
  Builder::Init(env, exports);
  Network::Init(env, exports, data);
  Runtime::Init(env, exports);
  Engine::Init(env, exports, data);
  ExecutionContext::Init(env, exports, data);
  CalibrationHistogram::Init(env, exports);
  exports.Set("probeBackend", Napi::Function::New(env, ProbeBackend, "probeBackend"));
  exports.Set("noop", Napi::Function::New(env, Noop, "noop"));
  exports.Set("stopBuilds", Napi::Function::New(env, StopBuilds, "stopBuilds"));
  // So that lib/ can route an engine to the sim by its first bytes without a native call.
  Napi::Uint8Array magic = Napi::Uint8Array::New(env, sizeof(sim::kEngineMagic));
  std::copy(std::begin(sim::kEngineMagic), std::end(sim::kEngineMagic), magic.Data());
  exports.Set("simEngineMagic", magic);
  return exports;
}

}  // namespace tnrt::binding

static Napi::Object InitTensorrtNode(Napi::Env env, Napi::Object exports) { return tnrt::binding::Init(env, exports); }

NODE_API_MODULE(tensorrt_node, InitTensorrtNode)
