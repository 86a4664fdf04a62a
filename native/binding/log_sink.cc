#include "log_sink.h"

namespace tnrt::binding {

namespace {
struct Message {
  Severity severity;
  std::string text;
};
}  // namespace

JsLogSink::JsLogSink(Napi::Env env, Napi::Function callback, Severity minSeverity) : minSeverity_(minSeverity) {
  // A logger must never keep the process alive on its own.
  if (!callback.IsEmpty()) tsfn_.open(env, callback, "tensorrt-node logger", false);
}

JsLogSink::~JsLogSink() { close(); }

void JsLogSink::close() { tsfn_.release(); }

void JsLogSink::log(Severity severity, const std::string& message) {
  if (severity <= Severity::kError) {
    std::lock_guard<std::mutex> lock(mutex_);
    recentErrors_.emplace_back(nextSequence_++, message);
    if (recentErrors_.size() > kMaxRecent) recentErrors_.pop_front();
  }
  if (severity > minSeverity_) return;
  auto* payload = new Message{severity, message};
  bool queued = tsfn_.call(payload, [](Napi::Env env, Napi::Function fn, Message* msg) {
    // lib/logger.ts wraps the user's callback so that it never throws.
    if (env != nullptr && !fn.IsEmpty()) {
      fn.Call({Napi::Number::New(env, static_cast<int32_t>(msg->severity)), Napi::String::New(env, msg->text)});
    }
    delete msg;
  });
  if (!queued) delete payload;
}

uint64_t JsLogSink::mark() {
  std::lock_guard<std::mutex> lock(mutex_);
  return nextSequence_;
}

std::vector<std::string> JsLogSink::errorsSince(uint64_t mark) {
  std::lock_guard<std::mutex> lock(mutex_);
  std::vector<std::string> out;
  for (const auto& [sequence, message] : recentErrors_) {
    if (sequence >= mark) out.push_back(message);
  }
  return out;
}

}  // namespace tnrt::binding
