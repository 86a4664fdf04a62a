// tnrt::Backend for TensorRT: the factory for builders and runtimes. Created by
// tnrt_create_backend (entry.cc) only after the driver, GPU and library checks pass.
#pragma once

#include "backend/backend.h"

namespace tnrt {
namespace trt {

class TrtBackend final : public Backend {
 public:
  BackendInfo info() const override;
  // Both throw BackendError kUnavailable when TensorRT cannot create the object.
  // kInvalidArgument for a device the machine does not have or a plugin library that does not load.
  std::shared_ptr<Builder> createBuilder(std::shared_ptr<LogSink> log, const CreateOptions& options) override;
  std::shared_ptr<Runtime> createRuntime(std::shared_ptr<LogSink> log, const CreateOptions& options) override;
};

// "10.16.0": the version of the libnvinfer loaded at run time (not of the headers).
std::string loadedTensorRtVersion();

}  // namespace trt
}  // namespace tnrt
