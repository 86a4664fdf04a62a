// The sim's Builder: parses ONNX into a SimNetwork and "builds" it into a sim engine by
// validating profiles and proving, through shape inference at every profile's min and max,
// that the network runs over the whole range, as TensorRT's builder would.
#pragma once

#include <memory>

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
};

}  // namespace sim
}  // namespace tnrt
