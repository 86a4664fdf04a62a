#include "tensorrt/logger.h"

#include <utility>

#include "tensorrt/type_mapping.h"

namespace tnrt {
namespace trt {

TrtLogger::TrtLogger(std::shared_ptr<LogSink> sink) : sink_(std::move(sink)) {}

void TrtLogger::log(nvinfer1::ILogger::Severity severity, nvinfer1::AsciiChar const* msg) noexcept {
  try {
    const std::string text = msg ? msg : "";
    const tnrt::Severity ours = fromTrtSeverity(severity);
    if (ours == tnrt::Severity::kError || ours == tnrt::Severity::kInternalError) {
      std::lock_guard<std::mutex> lock(mutex_);
      recentErrors_.emplace_back(nextSequence_++, text);
      if (recentErrors_.size() > kMaxRecentErrors) recentErrors_.pop_front();
    }
    if (sink_) sink_->log(ours, text);
  } catch (...) {
    // TensorRT calls this from noexcept code: an escaping exception would terminate the
    // process. A lost log line is the lesser harm.
  }
}

uint64_t TrtLogger::mark() const {
  std::lock_guard<std::mutex> lock(mutex_);
  return nextSequence_;
}

std::string TrtLogger::errorsSince(uint64_t mark) const {
  std::string errors;
  std::lock_guard<std::mutex> lock(mutex_);
  for (const auto& entry : recentErrors_) {
    if (entry.first >= mark) errors += "\n  " + entry.second;
  }
  return errors;
}

std::string TrtLogger::describeFailure(const std::string& what, uint64_t mark) const {
  const std::string errors = errorsSince(mark);
  if (errors.empty()) return what + " (TensorRT logged no error)";
  return what + "\nTensorRT reported:" + errors;
}

namespace {
thread_local TrtLogger* tActiveLogger = nullptr;
}  // namespace

ActiveLoggerScope::ActiveLoggerScope(TrtLogger& logger) : previous_(tActiveLogger) { tActiveLogger = &logger; }
ActiveLoggerScope::~ActiveLoggerScope() { tActiveLogger = previous_; }
TrtLogger* ActiveLoggerScope::current() { return tActiveLogger; }

}  // namespace trt
}  // namespace tnrt
