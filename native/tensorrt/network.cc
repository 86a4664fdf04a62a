#include "tensorrt/network.h"

#include <mutex>
#include <utility>

#include "tensorrt/builder.h"
#include "tensorrt/type_mapping.h"

namespace tnrt {
namespace trt {

namespace {
TensorDesc describe(const nvinfer1::ITensor& tensor, bool isInput) {
  TensorDesc desc;
  desc.name = tensor.getName();
  desc.isInput = isInput;
  desc.shape = fromTrtDims(tensor.getDimensions());
  if (!fromTrtDataType(tensor.getType(), &desc.dtype)) {
    throw BackendError(ErrorCode::kUnsupported, std::string(isInput ? "input '" : "output '") + desc.name +
                                                    "' has element type " + trtDataTypeName(tensor.getType()) +
                                                    ", which tensorrt-node does not support");
  }
  return desc;
}
}  // namespace

TrtNetwork::TrtNetwork(std::shared_ptr<TrtBuilder> owner, std::unique_ptr<nvinfer1::INetworkDefinition> network,
                       std::unique_ptr<nvonnxparser::IParser> parser)
    : owner_(std::move(owner)), network_(std::move(network)), parser_(std::move(parser)) {
  for (int32_t i = 0; i < network_->getNbInputs(); ++i) info_.inputs.push_back(describe(*network_->getInput(i), true));
  for (int32_t i = 0; i < network_->getNbOutputs(); ++i)
    info_.outputs.push_back(describe(*network_->getOutput(i), false));
  info_.numLayers = network_->getNbLayers();
}

TrtNetwork::~TrtNetwork() {
  // IBuilder and the objects it made are not thread-safe: do not tear these down while the
  // same builder is parsing or building on another thread.
  std::lock_guard<std::mutex> lock(owner_->mutex());
  parser_.reset();
  network_.reset();
}

}  // namespace trt
}  // namespace tnrt
