// The LogSink every builder and runtime logs through: forwards messages at or above a
// minimum severity to a JavaScript callback, and keeps the recent errors so that a failed
// call can attach them to the error it rejects with: those logged since the call began (its
// mark), so that an error another call logged earlier (a parse failure reported as a value,
// say) does not reappear in the next failure's message.
//
// TensorRT logs from its own threads, so delivery uses a thread-safe function, never a
// blocking call: a worker thread must not wait on the event loop.
#pragma once

#include <napi.h>

#include <cstdint>
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

  // [sync] Where the error log stands now: a call takes it when it starts.
  uint64_t mark();
  // [sync] Errors logged since `mark` (at most kMaxRecent), oldest first. Calls that overlap
  // in time each get the errors logged while they ran: which call caused one, the log cannot tell.
  std::vector<std::string> errorsSince(uint64_t mark);
  // Stops delivery to JavaScript (idempotent); the sink keeps collecting errors.
  void close();

 private:
  static constexpr size_t kMaxRecent = 16;
  SafeTsfn tsfn_;
  std::mutex mutex_;  // guards recentErrors_
  Severity minSeverity_;
  std::deque<std::pair<uint64_t, std::string>> recentErrors_;  // (sequence number, message)
  uint64_t nextSequence_ = 0;
};

}  // namespace tnrt::binding
