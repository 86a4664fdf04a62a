// A parsed ONNX model: TensorRT's network definition together with the ONNX parser that
// filled it. They live and die together because the network refers to weights the parser
// owns until the engine is built.
#pragma once

#include <NvInfer.h>
#include <NvOnnxParser.h>

#include <memory>

#include "backend/backend.h"

namespace tnrt {
namespace trt {

class TrtBuilder;

class TrtNetwork final : public Network {
 public:
  // Throws BackendError kUnsupported if an input or output has a type we cannot name.
  TrtNetwork(std::shared_ptr<TrtBuilder> owner, std::unique_ptr<nvinfer1::INetworkDefinition> network,
             std::unique_ptr<nvonnxparser::IParser> parser);
  ~TrtNetwork() override;
  TrtNetwork(const TrtNetwork&) = delete;
  TrtNetwork& operator=(const TrtNetwork&) = delete;

  // Computed once at parse time, so it never races with a build of this network.
  NetworkInfo info() const override { return info_; }

  const TrtBuilder* owner() const { return owner_.get(); }
  // TensorRT takes the definition by non-const reference even though building does not
  // change it; only the owning builder calls this, under its lock.
  nvinfer1::INetworkDefinition& definition() const { return *network_; }

 private:
  // Declaration order is destruction order reversed: the parser goes first (it points at the
  // network), then the network, and the builder that created both outlives them.
  std::shared_ptr<TrtBuilder> owner_;
  std::unique_ptr<nvinfer1::INetworkDefinition> network_;
  std::unique_ptr<nvonnxparser::IParser> parser_;
  NetworkInfo info_;
};

}  // namespace trt
}  // namespace tnrt
