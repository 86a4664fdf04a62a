// The sim's Runtime: turns a serialized sim engine back into an Engine.
#pragma once

#include <memory>

#include "../backend/backend.h"

namespace tnrt {
namespace sim {

class SimRuntime : public Runtime, public std::enable_shared_from_this<SimRuntime> {
 public:
  explicit SimRuntime(std::shared_ptr<LogSink> log) : log_(std::move(log)) {}
  // [async] Throws BackendError kEngineInvalid for anything but an intact sim engine of this
  // format version. The engine keeps this runtime alive.
  std::shared_ptr<Engine> deserializeEngine(const uint8_t* data, size_t size, const DeserializeOptions& options) override;

 private:
  std::shared_ptr<LogSink> log_;
};

}  // namespace sim
}  // namespace tnrt
