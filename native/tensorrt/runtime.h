// tnrt::Runtime over nvinfer1::IRuntime: turns plans back into engines. Each engine keeps
// its runtime (and through it the logger) alive, as TensorRT requires.
#pragma once

#include <NvInferRuntime.h>

#include <memory>
#include <mutex>

#include "backend/backend.h"
#include "tensorrt/logger.h"

namespace tnrt {
namespace trt {

class TrtRuntime final : public Runtime, public std::enable_shared_from_this<TrtRuntime> {
 public:
  // Throws BackendError kUnavailable when TensorRT cannot create a runtime, kInvalidArgument for a
  // device the machine does not have or a plugin library that does not load.
  static std::shared_ptr<TrtRuntime> create(std::shared_ptr<LogSink> sink, const CreateOptions& options);
  TrtRuntime(std::shared_ptr<TrtLogger> logger, std::unique_ptr<nvinfer1::IRuntime> runtime, int device,
             bool engineHostCodeAllowed);
  ~TrtRuntime() override;
  TrtRuntime(const TrtRuntime&) = delete;
  TrtRuntime& operator=(const TrtRuntime&) = delete;

  // [async] Throws kEngineInvalid when TensorRT refuses the plan.
  // options.maxTensorBytes is the sim's host-memory rule; TensorRT allocates device memory
  // for the sizes its plan was built for and checks them itself, so the adapter ignores it.
  std::shared_ptr<Engine> deserializeEngine(const uint8_t* data, size_t size, const DeserializeOptions& options) override;

  TrtLogger& logger() const { return *logger_; }
  // The CUDA device its engines and their contexts live on.
  int device() const { return device_; }

 private:
  // Destruction runs bottom-up: the IRuntime before its logger (on the runtime's device, in
  // the destructor).
  std::shared_ptr<TrtLogger> logger_;
  std::unique_ptr<nvinfer1::IRuntime> runtime_;
  int device_;
  bool engineHostCodeAllowed_;
  // TensorRT does not promise that one IRuntime deserializes on several threads at once.
  std::mutex mutex_;
};

}  // namespace trt
}  // namespace tnrt
