#include "tensorrt/runtime.h"

#include <NvInferVersion.h>

#include <utility>

#include "tensorrt/engine.h"

namespace tnrt {
namespace trt {

std::shared_ptr<TrtRuntime> TrtRuntime::create(std::shared_ptr<LogSink> sink) {
  auto logger = std::make_shared<TrtLogger>(std::move(sink));
  const uint64_t mark = logger->mark();
  std::unique_ptr<nvinfer1::IRuntime> runtime(nvinfer1::createInferRuntime(*logger));
  if (!runtime) {
    throw BackendError(ErrorCode::kUnavailable, logger->describeFailure("TensorRT could not create a runtime", mark));
  }
  return std::make_shared<TrtRuntime>(std::move(logger), std::move(runtime));
}

TrtRuntime::TrtRuntime(std::shared_ptr<TrtLogger> logger, std::unique_ptr<nvinfer1::IRuntime> runtime)
    : logger_(std::move(logger)), runtime_(std::move(runtime)) {}

std::shared_ptr<Engine> TrtRuntime::deserializeEngine(const uint8_t* data, size_t size, const DeserializeOptions&) {
  if (!data || size == 0) throw BackendError(ErrorCode::kEngineInvalid, "the engine is empty");

  std::unique_ptr<nvinfer1::ICudaEngine> engine;
  uint64_t mark = 0;
  {
    std::lock_guard<std::mutex> lock(mutex_);
    mark = logger_->mark();
    engine.reset(runtime_->deserializeCudaEngine(data, size));
  }
  if (!engine) {
    // TensorRT's own message (logged just now) is precise but assumes the reader knows that
    // plans are tied to one TensorRT version and one GPU model; say so.
    const std::string what =
        "TensorRT " + std::to_string(NV_TENSORRT_MAJOR) + ".x could not deserialize the engine. Likely causes: "
        "it was built by another TensorRT version or for another GPU (rebuild it here), it is truncated or "
        "corrupt, or it is not a TensorRT plan at all (a tensorrt-node sim engine must be loaded with backend "
        "'sim')";
    throw BackendError(ErrorCode::kEngineInvalid, logger_->describeFailure(what, mark));
  }
  return std::make_shared<TrtEngine>(shared_from_this(), std::move(engine), size);
}

}  // namespace trt
}  // namespace tnrt
