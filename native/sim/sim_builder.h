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
  // TensorRT's IBuilder, and the networks it made, may be used by one thread at a time, so a
  // backend may lock its builder for each parse and build, and a network's teardown may need
  // that lock too. The sim has no such need of its own, but behaves as the strictest backend
  // would: it holds this lock for every parse and build and takes it to tear a network down
  // (the TensorRT adapter did so until it learned to defer the teardown, see its retire()).
  // The binding's promise, that it never tears a network down on the event loop nor while a
  // job of the same builder runs (native/binding/builder_queue.h), is thereby tested on
  // machines without TensorRT: breaking it makes the build-threads tests hang.
  std::shared_ptr<std::mutex> lock_ = std::make_shared<std::mutex>();
};

}  // namespace sim
}  // namespace tnrt
