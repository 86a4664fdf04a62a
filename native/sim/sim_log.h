// Logging helper: the LogSink handed to createBuilder/createRuntime may be null.
#pragma once

#include <memory>
#include <string>

#include "../backend/backend.h"

namespace tnrt {
namespace sim {

inline void logTo(const std::shared_ptr<LogSink>& sink, Severity severity, const std::string& message) {
  if (sink) sink->log(severity, message);
}

}  // namespace sim
}  // namespace tnrt
