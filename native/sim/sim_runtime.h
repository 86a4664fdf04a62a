// The sim's Runtime: turns a serialized sim engine back into an Engine.
#pragma once

#include <memory>

#include "../backend/backend.h"

namespace tnrt {
namespace sim {

class SimRuntime : public Runtime, public std::enable_shared_from_this<SimRuntime> {
 public:
  // `threads`: intra-op threads of every execution context of the engines loaded here.
  SimRuntime(std::shared_ptr<LogSink> log, bool engineHostCodeAllowed, int threads = 1)
      : log_(std::move(log)), engineHostCodeAllowed_(engineHostCodeAllowed), threads_(threads) {}
  // [async] Throws BackendError kEngineInvalid for anything but an intact sim engine of this
  // format version, and for a version-compatible engine unless engineHostCodeAllowed. The
  // engine keeps this runtime alive.
  std::shared_ptr<Engine> deserializeEngine(const uint8_t* data, size_t size, const DeserializeOptions& options) override;

 private:
  std::shared_ptr<LogSink> log_;
  bool engineHostCodeAllowed_;
  int threads_;
};

}  // namespace sim
}  // namespace tnrt
