// tnrt::ExecutionContext over nvinfer1::IExecutionContext. Owns a CUDA stream and, per I/O
// tensor, a device buffer and a pinned host staging buffer that are reused across calls and
// only grow, so steady-state inference allocates nothing. Used by one thread at a time (the
// binding queues calls); each execute() ends with the stream idle.
#pragma once

#include <NvInferRuntime.h>

#include <memory>
#include <string>
#include <unordered_map>
#include <vector>

#include "backend/backend.h"
#include "tensorrt/cuda_graph.h"
#include "tensorrt/cuda_resources.h"
#include "tensorrt/engine.h"
#include "tensorrt/output_allocator.h"

namespace tnrt {
namespace trt {

class TrtExecutionContext final : public ExecutionContext {
 public:
  // Throws BackendError when TensorRT cannot create the context (usually: not enough device
  // memory for the engine's activations).
  explicit TrtExecutionContext(std::shared_ptr<TrtEngine> engine);
  ~TrtExecutionContext() override;
  TrtExecutionContext(const TrtExecutionContext&) = delete;
  TrtExecutionContext& operator=(const TrtExecutionContext&) = delete;

  // [sync]
  void setOptimizationProfile(int32_t profile) override;
  int32_t optimizationProfile() const override { return profile_; }
  // [async]
  std::vector<HostTensor> execute(const std::vector<HostTensorView>& inputs) override;
  // [async] Events around the uploads, the compute and the downloads; see TimedExecuteOptions.
  std::vector<HostTensor> executeTimed(const std::vector<HostTensorView>& inputs, const TimedExecuteOptions& options,
                                       CallTiming* timing) override;
  // Device: the engine's activation memory, which TensorRT allocated for this context, and
  // the I/O buffers (output allocators' included). Host: the pinned staging buffers.
  MemoryUsage memoryUsage() const override;

 private:
  struct IoSlot {
    TensorDesc desc;      // as the engine declares it; -1 marks a dynamic dimension
    bool onHost = false;  // TensorLocation::kHOST: a shape tensor TensorRT reads on the CPU
    DeviceBuffer device;
    PinnedHostBuffer host;                       // staging for copies, or the tensor itself when onHost
    std::unique_ptr<OutputAllocator> allocator;  // only for outputs with data-dependent shapes
    bool usesAllocator = false;                  // in the current call
    Dims shape;                                  // in the current call
    bool uploaded = false;                       // the device buffer holds the input of `shape`
  };
  // The parts of a call timed with events on the stream, when the caller asks.
  struct CallEvents {
    CudaEvent start, uploaded, computed, downloaded;
  };

  IoSlot& slotFor(const std::string& name);
  void validateInput(const IoSlot& slot, const HostTensorView& view) const;
  // kShape unless every value of a shape-tensor input lies in the active profile's range.
  void checkShapeValues(const IoSlot& slot, const HostTensorView& view) const;
  std::vector<HostTensor> run(const std::vector<HostTensorView>& inputs, const TimedExecuteOptions& options,
                              CallTiming* timing);
  void bindInput(IoSlot& slot, const HostTensorView& view, bool upload, uint64_t mark);
  // enqueueV3, or the CUDA graph of it for this call's shapes and addresses (capturing it on
  // the second call with them); false where enqueueV3 failed.
  bool enqueueCompute(bool cudaGraph);
  std::string graphKey() const;
  void bindOutput(IoSlot& slot, uint64_t mark);
  // Queues the download of an output unless `download` is false; learns allocator shapes.
  void copyOutputBack(IoSlot& slot, bool download);

  // Declaration order is destruction order reversed: the TensorRT context goes first, then
  // the buffers and allocators it pointed at, then the stream, and the engine last.
  std::shared_ptr<TrtEngine> engine_;
  int device_;
  CudaStream stream_;
  std::vector<IoSlot> slots_;  // inputs first, then outputs, as engine_->ioTensors()
  std::unordered_map<std::string, size_t> slotIndex_;
  std::unique_ptr<nvinfer1::IExecutionContext> context_;
  int32_t profile_ = 0;
  // --useCudaGraph: the graph (it points at the buffers above, so goes before them), the key
  // of the previous call's shapes and addresses, and keys whose capture failed (warned once).
  CudaGraphReplay graph_;
  std::string previousGraphKey_;
  std::string failedGraphKey_;
  std::unique_ptr<CallEvents> events_;  // made on the first timed call
};

}  // namespace trt
}  // namespace tnrt
