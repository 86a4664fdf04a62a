#include "tensorrt/network.h"

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
  // Reliable once the network is complete, which it is after the parse.
  desc.isShapeTensor = isInput && tensor.isShapeTensor();
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
  // IBuilder and the objects it made are used by one thread at a time, so these must not be
  // torn down while the same builder parses or builds on another thread; but this may run on
  // the JavaScript thread, which must not wait for a build. The builder destroys them now if
  // it is idle, else as soon as it is. (The binding also runs this on the builder's own
  // queue, after the job in progress, so the builder is normally idle by then.)
  owner_->retire(std::move(parser_), std::move(network_));
}

}  // namespace trt
}  // namespace tnrt
