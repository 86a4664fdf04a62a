// Logger: the JS face of a JsLogSink. Builders and runtimes take a Logger and share its sink,
// so messages keep flowing even if the JS Logger object is collected first.
#pragma once

#include <napi.h>

#include <memory>

#include "log_sink.h"

namespace tnrt::binding {

class Logger : public Napi::ObjectWrap<Logger> {
 public:
  static void Init(Napi::Env env, Napi::Object exports);
  // new Logger(minSeverity: number, onMessage?: (severity, message) => void)
  explicit Logger(const Napi::CallbackInfo& info);
  ~Logger() override;

  // Throws if `value` is not a live Logger.
  static std::shared_ptr<JsLogSink> sinkOf(Napi::Env env, Napi::Value value);

 private:
  Napi::Value Log(const Napi::CallbackInfo& info);          // [sync] log(severity, message)
  Napi::Value Dispose(const Napi::CallbackInfo& info);      // [sync]
  Napi::Value IsDisposed(const Napi::CallbackInfo& info);

  std::shared_ptr<JsLogSink> sink_;
};

}  // namespace tnrt::binding
