#include "tensorrt/progress_monitor.h"

#include <string>

namespace tnrt {
namespace trt {

namespace {
std::string str(char const* s) { return s ? s : ""; }
}  // namespace

TrtProgressMonitor::TrtProgressMonitor(ProgressSink& sink) : sink_(sink) {}

void TrtProgressMonitor::phaseStart(char const* phaseName, char const* parentPhase, int32_t nbSteps) noexcept {
  try {
    sink_.phaseStart(str(phaseName), str(parentPhase), nbSteps);
  } catch (...) {
    fail(std::current_exception());
  }
}

bool TrtProgressMonitor::stepComplete(char const* phaseName, int32_t step) noexcept {
  // Once cancelled, keep answering false: TensorRT may be unwinding nested phases.
  if (cancelled_.load()) return false;
  try {
    if (!sink_.stepComplete(str(phaseName), step)) cancelled_.store(true);
  } catch (...) {
    fail(std::current_exception());
  }
  return !cancelled_.load();
}

void TrtProgressMonitor::phaseFinish(char const* phaseName) noexcept {
  try {
    sink_.phaseFinish(str(phaseName));
  } catch (...) {
    fail(std::current_exception());
  }
}

void TrtProgressMonitor::rethrowSinkError() const {
  std::exception_ptr error;
  {
    std::lock_guard<std::mutex> lock(mutex_);
    error = sinkError_;
  }
  if (error) std::rethrow_exception(error);
}

void TrtProgressMonitor::fail(std::exception_ptr error) noexcept {
  {
    std::lock_guard<std::mutex> lock(mutex_);
    if (!sinkError_) sinkError_ = error;
  }
  cancelled_.store(true);
}

}  // namespace trt
}  // namespace tnrt
