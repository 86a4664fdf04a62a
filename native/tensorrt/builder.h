// tnrt::Builder over nvinfer1::IBuilder: parses ONNX into a TrtNetwork and builds serialized
// engines. IBuilder may be used by one thread at a time, so every TensorRT call on it (and on
// the networks it made) runs under mutex_; builds on one builder therefore queue, while
// separate builders build in parallel. Dropping a network never waits for mutex_ (see
// retire()), so the JavaScript thread can dispose one while another builds.
#pragma once

#include <NvInfer.h>
#include <NvOnnxParser.h>

#include <memory>
#include <mutex>
#include <vector>

#include "backend/backend.h"
#include "tensorrt/cuda_resources.h"
#include "tensorrt/logger.h"

namespace tnrt {
namespace trt {

class TrtBuilder final : public Builder, public std::enable_shared_from_this<TrtBuilder> {
 public:
  // Throws BackendError kUnavailable when TensorRT cannot create a builder, kInvalidArgument for
  // a device the machine does not have or a plugin library that does not load.
  static std::shared_ptr<TrtBuilder> create(std::shared_ptr<LogSink> sink, const CreateOptions& options);
  TrtBuilder(std::shared_ptr<TrtLogger> logger, std::unique_ptr<nvinfer1::IBuilder> builder, int device);
  ~TrtBuilder() override;
  TrtBuilder(const TrtBuilder&) = delete;
  TrtBuilder& operator=(const TrtBuilder&) = delete;

  // [async]
  std::unique_ptr<Network> parseOnnx(const uint8_t* data, size_t size, const std::string& modelDir,
                                     const ParseOptions& options, std::vector<ParserError>* errors) override;
  // [async]
  BuildResult buildSerializedNetwork(const Network& network, const BuildOptions& options) override;

  // [sync] Destroys a network and the parser that filled it (parser first), now if the builder
  // is idle, else by whichever parse or build holds the builder, before it lets go of it.
  // Never waits: it runs on the JavaScript thread, which must not wait for a build.
  void retire(std::unique_ptr<nvonnxparser::IParser> parser, std::unique_ptr<nvinfer1::INetworkDefinition> network);

 private:
  // Holds mutex_, with the builder's device current and its logger active on this thread; on
  // release, first destroys what retire() handed over meanwhile.
  class Lock {
   public:
    explicit Lock(TrtBuilder& builder)
        : builder_(builder), lock_(builder.mutex_), device_(builder.device_), active_(*builder.logger_) {}
    ~Lock() { builder_.destroyRetired(); }

   private:
    TrtBuilder& builder_;
    std::lock_guard<std::mutex> lock_;
    DeviceScope device_;
    ActiveLoggerScope active_;
  };
  struct Retired {
    // Member order: the parser is destroyed before the network it points at.
    std::unique_ptr<nvinfer1::INetworkDefinition> network;
    std::unique_ptr<nvonnxparser::IParser> parser;
  };
  void destroyRetired();  // with mutex_ held

  // Destruction runs bottom-up: anything still retired, then the IBuilder, then the logger it
  // was created with (the first two in the destructor, on the builder's device).
  std::shared_ptr<TrtLogger> logger_;
  std::unique_ptr<nvinfer1::IBuilder> builder_;
  int device_;  // the CUDA device every call on builder_ and its networks runs on
  mutable std::mutex mutex_;
  std::mutex retiredMutex_;
  std::vector<Retired> retired_;  // handed over by retire() while mutex_ was held
};

}  // namespace trt
}  // namespace tnrt
