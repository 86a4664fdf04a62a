// The sim's Builder: parses ONNX into a SimNetwork and "builds" it into a sim engine by
// validating profiles and proving, through shape inference at every profile's min and max,
// that the network runs over the whole range, as TensorRT's builder would.
#pragma once

#include <memory>
#include <mutex>

#include "../backend/backend.h"

namespace tnrt {
namespace sim {

class SimBuilder : public Builder {
 public:
  explicit SimBuilder(std::shared_ptr<LogSink> log) : log_(std::move(log)) {}

  // [async] Never throws for a bad model: every problem is a ParserError.
  std::unique_ptr<Network> parseOnnx(const uint8_t* data, size_t size, const std::string& modelDir,
                                     const ParseOptions& options, std::vector<ParserError>* errors) override;
  // [async]
  BuildResult buildSerializedNetwork(const Network& network, const BuildOptions& options) override;

 private:
  std::shared_ptr<LogSink> log_;
  // TensorRT's IBuilder, and the networks it made, may be used by one thread at a time; the
  // adapter (native/tensorrt/builder.h) holds a lock for every parse and build and for a
  // network's teardown. The sim has no such need of its own, but takes the same lock at the
  // same places, so that the binding's threading is exercised, on machines without TensorRT,
  // against the locking it meets on TensorRT: a thread that tears down a network while a
  // build of the same builder runs waits for that build, here as there.
  std::shared_ptr<std::mutex> lock_ = std::make_shared<std::mutex>();
};

}  // namespace sim
}  // namespace tnrt
