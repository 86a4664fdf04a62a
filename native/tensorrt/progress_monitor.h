// The nvinfer1::IProgressMonitor attached to a build: forwards phases and steps to the
// binding's ProgressSink. A sink that returns false from stepComplete cancels the build;
// TensorRT then returns a null plan, and the builder asks cancelled() to tell the two apart.
#pragma once

#include <NvInfer.h>

#include <atomic>
#include <exception>
#include <mutex>

#include "backend/backend.h"

namespace tnrt {
namespace trt {

class TrtProgressMonitor final : public nvinfer1::IProgressMonitor {
 public:
  explicit TrtProgressMonitor(ProgressSink& sink);

  void phaseStart(char const* phaseName, char const* parentPhase, int32_t nbSteps) noexcept override;
  bool stepComplete(char const* phaseName, int32_t step) noexcept override;
  void phaseFinish(char const* phaseName) noexcept override;

  bool cancelled() const { return cancelled_.load(); }
  // Rethrows an exception the sink threw (it could not cross TensorRT's noexcept frames, so it
  // was kept and the build cancelled).
  void rethrowSinkError() const;

 private:
  void fail(std::exception_ptr error) noexcept;

  ProgressSink& sink_;
  std::atomic<bool> cancelled_{false};
  mutable std::mutex mutex_;
  std::exception_ptr sinkError_;
};

}  // namespace trt
}  // namespace tnrt
