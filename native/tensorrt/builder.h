// tnrt::Builder over nvinfer1::IBuilder: parses ONNX into a TrtNetwork and builds serialized
// engines. IBuilder may be used by one thread at a time, so every TensorRT call on it (and on
// the networks it made) runs under mutex_; builds on one builder therefore queue, while
// separate builders build in parallel.
#pragma once

#include <NvInfer.h>

#include <memory>
#include <mutex>

#include "backend/backend.h"
#include "tensorrt/logger.h"

namespace tnrt {
namespace trt {

class TrtBuilder final : public Builder, public std::enable_shared_from_this<TrtBuilder> {
 public:
  // Throws BackendError kUnavailable when TensorRT cannot create a builder.
  static std::shared_ptr<TrtBuilder> create(std::shared_ptr<LogSink> sink);
  TrtBuilder(std::shared_ptr<TrtLogger> logger, std::unique_ptr<nvinfer1::IBuilder> builder);
  TrtBuilder(const TrtBuilder&) = delete;
  TrtBuilder& operator=(const TrtBuilder&) = delete;

  // [async]
  std::unique_ptr<Network> parseOnnx(const uint8_t* data, size_t size, const std::string& modelDir,
                                     const ParseOptions& options, std::vector<ParserError>* errors) override;
  // [async]
  BuildResult buildSerializedNetwork(const Network& network, const BuildOptions& options) override;

  std::mutex& mutex() const { return mutex_; }

 private:
  // Destruction runs bottom-up: the IBuilder before the logger it was created with.
  std::shared_ptr<TrtLogger> logger_;
  std::unique_ptr<nvinfer1::IBuilder> builder_;
  mutable std::mutex mutex_;
};

}  // namespace trt
}  // namespace tnrt
