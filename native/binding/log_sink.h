// The LogSink every builder and runtime logs through: forwards messages at or above a
// minimum severity to a JavaScript callback, and keeps the recent errors so that a failed
// call can attach them to the error it rejects with.
//
// TensorRT logs from its own threads, so delivery uses a thread-safe function, never a
// blocking call: a worker thread must not wait on the event loop.
#pragma once

#include <napi.h>

#include <deque>
#include <mutex>
#include <string>
#include <vector>

#include "backend/backend.h"
#include "safe_tsfn.h"

namespace tnrt::binding {

class JsLogSink : public LogSink {
 public:
  // `callback` may be empty (then messages are only kept for errors).
  JsLogSink(Napi::Env env, Napi::Function callback, Severity minSeverity);
  ~JsLogSink() override;

  void log(Severity severity, const std::string& message) override;

  // [sync] Errors logged since the last call (at most kMaxRecent), oldest first.
  std::vector<std::string> takeRecentErrors();
  // Stops delivery to JavaScript (idempotent); the sink keeps collecting errors.
  void close();

 private:
  static constexpr size_t kMaxRecent = 16;
  SafeTsfn tsfn_;
  std::mutex mutex_;  // guards recentErrors_
  Severity minSeverity_;
  std::deque<std::string> recentErrors_;
};

}  // namespace tnrt::binding
