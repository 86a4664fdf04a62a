#include "tensorrt/cuda_graph.h"

#include "tensorrt/cuda_resources.h"

namespace tnrt {
namespace trt {

namespace {

std::string cudaFailure(const char* call, cudaError_t err) {
  (void)cudaGetLastError();  // the failure is reported here; the next call must not see it
  return std::string(call) + " failed: " + cudaGetErrorName(err) + " (" + cudaGetErrorString(err) + ")";
}

}  // namespace

CudaGraphReplay::~CudaGraphReplay() { reset(); }

void CudaGraphReplay::reset() noexcept {
  if (exec_) (void)cudaGraphExecDestroy(exec_);
  if (graph_) (void)cudaGraphDestroy(graph_);
  exec_ = nullptr;
  graph_ = nullptr;
  key_.clear();
}

bool CudaGraphReplay::capture(cudaStream_t stream, const std::string& key, const std::function<bool()>& enqueue,
                              std::string* why) {
  reset();
  // Thread-local: another context capturing on another thread at the same time is fine, and
  // an unsafe CUDA call from this thread during the capture fails it instead of hanging.
  cudaError_t err = cudaStreamBeginCapture(stream, cudaStreamCaptureModeThreadLocal);
  if (err != cudaSuccess) {
    *why = cudaFailure("cudaStreamBeginCapture", err);
    return false;
  }
  const bool enqueued = enqueue();
  cudaGraph_t graph = nullptr;
  err = cudaStreamEndCapture(stream, &graph);
  if (!enqueued || err != cudaSuccess || !graph) {
    if (graph) (void)cudaGraphDestroy(graph);
    *why = !enqueued ? "enqueueV3 failed while capturing" : cudaFailure("cudaStreamEndCapture", err);
    (void)cudaGetLastError();
    return false;
  }
  err = cudaGraphInstantiate(&exec_, graph, 0);
  if (err != cudaSuccess) {
    exec_ = nullptr;
    (void)cudaGraphDestroy(graph);
    *why = cudaFailure("cudaGraphInstantiate", err);
    return false;
  }
  graph_ = graph;
  key_ = key;
  return true;
}

void CudaGraphReplay::launch(cudaStream_t stream) const { checkCuda(cudaGraphLaunch(exec_, stream), "cudaGraphLaunch"); }

}  // namespace trt
}  // namespace tnrt
