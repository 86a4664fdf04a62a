// tnrt::Engine over nvinfer1::ICudaEngine. Holds its runtime (TensorRT requires the runtime
// to outlive its engines) and is held by every context made from it.
#pragma once

#include <NvInferRuntime.h>

#include <memory>
#include <mutex>

#include "backend/backend.h"
#include "tensorrt/runtime.h"

namespace tnrt {
namespace trt {

class TrtEngine final : public Engine, public std::enable_shared_from_this<TrtEngine> {
 public:
  // Throws BackendError kUnsupported if an I/O tensor has a type we cannot name. `planBytes`
  // is the size of the plan it was deserialized from.
  // Runs on its runtime's device, as every call does.
  TrtEngine(std::shared_ptr<TrtRuntime> runtime, std::unique_ptr<nvinfer1::ICudaEngine> engine, uint64_t planBytes);
  ~TrtEngine() override;
  TrtEngine(const TrtEngine&) = delete;
  TrtEngine& operator=(const TrtEngine&) = delete;

  std::vector<TensorDesc> ioTensors() const override { return io_; }
  int32_t numOptimizationProfiles() const override;
  InputProfile profileShapes(int32_t profile, const std::string& input) const override;
  uint64_t deviceMemorySize() const override;
  int32_t numLayers() const override;
  // [async] IEngineInspector's JSON; as detailed as the plan's ProfilingVerbosity allows.
  std::string engineInformation() const override;
  ProfilingVerbosity profilingVerbosity() const override;
  // [async]
  std::vector<uint8_t> serialize() const override;
  // TensorRT loads the weights, which make up nearly all of a plan, into device memory; so the
  // plan's size stands for the engine's device memory. Its host memory is small and not
  // counted. (Activation memory belongs to the contexts.)
  MemoryUsage memoryUsage() const override {
    MemoryUsage usage;
    usage.device = planBytes_;
    return usage;
  }
  std::unique_ptr<ExecutionContext> createExecutionContext() override;

  // For TrtExecutionContext.
  const nvinfer1::ICudaEngine& engine() const { return *engine_; }
  // Creates the TensorRT context (nullptr when TensorRT refuses, e.g. out of device memory).
  std::unique_ptr<nvinfer1::IExecutionContext> newTrtContext();
  TrtLogger& logger() const { return runtime_->logger(); }
  // The CUDA device the engine was deserialized on (its runtime's); its contexts run there.
  int device() const { return device_; }

 private:
  // Destruction runs bottom-up: the ICudaEngine before the runtime that made it.
  std::shared_ptr<TrtRuntime> runtime_;
  std::unique_ptr<nvinfer1::ICudaEngine> engine_;
  std::vector<TensorDesc> io_;  // inputs first, then outputs, each in TensorRT's order
  int device_;
  uint64_t planBytes_ = 0;
  // Serializes the few non-const ICudaEngine calls (context creation, serialization).
  mutable std::mutex mutex_;
};

}  // namespace trt
}  // namespace tnrt
