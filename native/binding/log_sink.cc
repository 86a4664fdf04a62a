#include "log_sink.h"

namespace tnrt::binding {

namespace {
struct Message {
  Severity severity;
  std::string text;
};
}  // namespace

JsLogSink::JsLogSink(Napi::Env env, Napi::Function callback, Severity minSeverity) : minSeverity_(minSeverity) {
  if (callback.IsEmpty()) return;
  tsfn_ = Napi::ThreadSafeFunction::New(env, callback, "tensorrt-node logger", 0, 1);
  // A logger must never keep the process alive on its own.
  tsfn_.Unref(env);
  open_ = true;
}

JsLogSink::~JsLogSink() { close(); }

void JsLogSink::close() {
  std::lock_guard<std::mutex> lock(mutex_);
  if (!open_) return;
  open_ = false;
  tsfn_.Release();
}

void JsLogSink::log(Severity severity, const std::string& message) {
  std::lock_guard<std::mutex> lock(mutex_);
  if (severity <= Severity::kError) {
    recentErrors_.push_back(message);
    if (recentErrors_.size() > kMaxRecent) recentErrors_.pop_front();
  }
  if (!open_ || severity > minSeverity_) return;
  auto* payload = new Message{severity, message};
  napi_status status = tsfn_.NonBlockingCall(payload, [](Napi::Env env, Napi::Function fn, Message* msg) {
    if (env != nullptr && !fn.IsEmpty()) {
      // A throwing user callback must not take the process down with it; the error is
      // reported through process 'uncaughtException' like any callback error would be.
      fn.Call({Napi::Number::New(env, static_cast<int32_t>(msg->severity)), Napi::String::New(env, msg->text)});
    }
    delete msg;
  });
  if (status != napi_ok) {
    delete payload;
    // The environment is going away; stop trying.
    if (status == napi_closing) open_ = false;
  }
}

std::vector<std::string> JsLogSink::takeRecentErrors() {
  std::lock_guard<std::mutex> lock(mutex_);
  std::vector<std::string> out(recentErrors_.begin(), recentErrors_.end());
  recentErrors_.clear();
  return out;
}

}  // namespace tnrt::binding
