#include "logger.h"

#include "errors.h"
#include "type_tags.h"

namespace tnrt::binding {

void Logger::Init(Napi::Env env, Napi::Object exports) {
  Napi::Function ctor = DefineClass(env, "Logger",
                                    {InstanceMethod("log", &Logger::Log), InstanceMethod("dispose", &Logger::Dispose),
                                     InstanceAccessor("disposed", &Logger::IsDisposed, nullptr)});
  exports.Set("Logger", ctor);
}

Logger::Logger(const Napi::CallbackInfo& info) : Napi::ObjectWrap<Logger>(info) {
  Napi::Env env = info.Env();
  if (!info[0].IsNumber()) throwInvalid(env, "Logger: minSeverity must be a number 0-4");
  int32_t severity = info[0].As<Napi::Number>().Int32Value();
  if (severity < 0 || severity > 4) throwInvalid(env, "Logger: minSeverity must be a number 0-4");
  Napi::Function callback = info[1].IsFunction() ? info[1].As<Napi::Function>() : Napi::Function();
  sink_ = std::make_shared<JsLogSink>(env, callback, static_cast<Severity>(severity));
  info.This().As<Napi::Object>().TypeTag(&kLoggerTag);
}

Logger::~Logger() {
  if (sink_) sink_->close();
}

std::shared_ptr<JsLogSink> Logger::sinkOf(Napi::Env env, Napi::Value value) {
  Logger* logger = unwrapTagged<Logger>(env, value, kLoggerTag, "Logger");
  if (!logger->sink_) throwDisposed(env, "Logger");
  return logger->sink_;
}

Napi::Value Logger::Log(const Napi::CallbackInfo& info) {
  Napi::Env env = info.Env();
  if (!sink_) throwDisposed(env, "Logger");
  int32_t severity = info[0].IsNumber() ? info[0].As<Napi::Number>().Int32Value() : -1;
  if (severity < 0 || severity > 4 || !info[1].IsString()) throwInvalid(env, "Logger.log(severity 0-4, message)");
  sink_->log(static_cast<Severity>(severity), info[1].As<Napi::String>().Utf8Value());
  return env.Undefined();
}

Napi::Value Logger::Dispose(const Napi::CallbackInfo& info) {
  if (sink_) {
    sink_->close();
    sink_.reset();
  }
  return info.Env().Undefined();
}

Napi::Value Logger::IsDisposed(const Napi::CallbackInfo& info) { return Napi::Boolean::New(info.Env(), !sink_); }

}  // namespace tnrt::binding
