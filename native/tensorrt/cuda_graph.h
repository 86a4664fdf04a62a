// The compute of a call (enqueueV3) captured once into a CUDA graph and replayed with
// cudaGraphLaunch, as trtexec's --useCudaGraph does: one launch instead of TensorRT's many
// kernel launches. A graph bakes in the tensor addresses and shapes it was captured with, so
// it is kept under a key naming them and captured again when the key changes.
#pragma once

#include <cuda_runtime_api.h>

#include <functional>
#include <string>

namespace tnrt {
namespace trt {

class CudaGraphReplay {
 public:
  CudaGraphReplay() = default;
  ~CudaGraphReplay();
  CudaGraphReplay(const CudaGraphReplay&) = delete;
  CudaGraphReplay& operator=(const CudaGraphReplay&) = delete;

  // Whether a graph captured under `key` is ready to launch.
  bool holds(const std::string& key) const { return exec_ != nullptr && key == key_; }
  // Drops the graph held, then captures what `enqueue` queues on `stream` and instantiates
  // it. On failure returns false with the reason in `why`; nothing was queued, the stream is
  // out of capture mode and the error is cleared, so the caller can enqueue as usual.
  bool capture(cudaStream_t stream, const std::string& key, const std::function<bool()>& enqueue, std::string* why);
  // Queues the graph on `stream`.
  void launch(cudaStream_t stream) const;
  void reset() noexcept;

 private:
  std::string key_;
  cudaGraph_t graph_ = nullptr;
  cudaGraphExec_t exec_ = nullptr;
};

}  // namespace trt
}  // namespace tnrt
