// Per-environment state. The addon is context-aware: each main thread, worker_thread and
// Electron process that loads it gets its own constructors, so no JS handle ever crosses
// environments. Backends themselves hold no JS state and are shared process-wide.
#pragma once

#include <napi.h>

#include <memory>
#include <string>

#include "backend/backend.h"
#include "errors.h"
#include "log_sink.h"

namespace tnrt::binding {

class ShortJobPool;
class BuildThreads;

struct AddonData {
  Napi::FunctionReference networkConstructor;
  Napi::FunctionReference engineConstructor;
  Napi::FunctionReference executionContextConstructor;
  std::shared_ptr<ShortJobPool> shortJobs;  // created on first use (short_job_pool.h)
  std::shared_ptr<BuildThreads> buildThreads;  // created on first use (builder_queue.h)
};

inline AddonData& addonData(Napi::Env env) { return *env.GetInstanceData<AddonData>(); }

// Opens a backend by name: "sim", or "tensorrt" from the adapter library at `adapterPath`.
// Throws a JS error (ERR_TENSORRT_BACKEND_UNAVAILABLE) saying why and what to do.
std::shared_ptr<Backend> openBackend(Napi::Env env, const std::string& name, const std::string& adapterPath);

// The (logger, backendName, adapterPath) arguments that Builder and Runtime are constructed
// with, resolved to the logger's sink and the opened backend.
struct BackendArgs {
  std::shared_ptr<JsLogSink> log;
  std::shared_ptr<Backend> backend;
  CreateOptions options;  // info[3]: { device?, plugins?, engineHostCodeAllowed? }
};
BackendArgs backendArgsFromJs(const Napi::CallbackInfo& info);

// Calls a backend factory (createBuilder, createRuntime), turning its failure into a JS error
// that carries the logger's recent errors.
template <typename Factory>
auto createFromBackend(Napi::Env env, const BackendArgs& args, Factory&& factory) -> decltype(factory()) {
  const uint64_t logMark = args.log->mark();
  try {
    return factory();
  } catch (const BackendError& e) {
    throw makeError(env, e.code(), e.what(), args.log->errorsSince(logMark));
  }
}

}  // namespace tnrt::binding
