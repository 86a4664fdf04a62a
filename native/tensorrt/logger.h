// The nvinfer1::ILogger handed to TensorRT: forwards every message to the binding's LogSink
// and remembers the recent errors, so a failed TensorRT call (which reports only a null or
// false) can throw an error that says why.
#pragma once

#include <NvInfer.h>

#include <cstdint>
#include <deque>
#include <memory>
#include <mutex>
#include <string>

#include "backend/backend.h"

namespace tnrt {
namespace trt {

class TrtLogger final : public nvinfer1::ILogger {
 public:
  explicit TrtLogger(std::shared_ptr<LogSink> sink);

  // Called by TensorRT from any thread; must not throw.
  void log(nvinfer1::ILogger::Severity severity, nvinfer1::AsciiChar const* msg) noexcept override;

  // A position in the error history. Take one before a TensorRT call; describeFailure(mark)
  // then reports only what that call logged. Objects sharing a logger run concurrently, so
  // errors from a neighbouring call can slip in; that is better than losing our own.
  uint64_t mark() const;
  // "<what>\nTensorRT reported:\n  <error>\n  <error>", or "<what> (TensorRT logged no error)".
  std::string describeFailure(const std::string& what, uint64_t mark) const;
  // The errors logged since `mark`, one per line ("" if none): for telling failures apart.
  std::string errorsSince(uint64_t mark) const;

 private:
  static constexpr size_t kMaxRecentErrors = 32;

  std::shared_ptr<LogSink> sink_;
  mutable std::mutex mutex_;
  std::deque<std::pair<uint64_t, std::string>> recentErrors_;  // (sequence number, message)
  uint64_t nextSequence_ = 0;
};

// Names the logger of the object whose TensorRT call runs on this thread, for as long as the
// scope lives. TensorRT's plugin libraries log through the one logger they were initialized
// with, which lives for the process (plugins.h); it forwards to this one, so a plugin's message
// reaches the application that made the call and the error that call throws.
class ActiveLoggerScope {
 public:
  explicit ActiveLoggerScope(TrtLogger& logger);
  ~ActiveLoggerScope();
  ActiveLoggerScope(const ActiveLoggerScope&) = delete;
  ActiveLoggerScope& operator=(const ActiveLoggerScope&) = delete;
  // The innermost active logger of this thread, or null.
  static TrtLogger* current();

 private:
  TrtLogger* previous_;
};

}  // namespace trt
}  // namespace tnrt
