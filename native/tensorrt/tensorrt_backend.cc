#include "tensorrt/tensorrt_backend.h"

#include <NvInferRuntime.h>

#include <utility>

#include "tensorrt/builder.h"
#include "tensorrt/runtime.h"
#include "tensorrt/trt_version.h"

namespace tnrt {
namespace trt {

std::string loadedTensorRtVersion() {
  // Encoded as (MAJOR * 100 + MINOR) * 100 + PATCH.
  const int32_t v = getInferLibVersion();
  return std::to_string(v / 10000) + "." + std::to_string(v / 100 % 100) + "." + std::to_string(v % 100);
}

BackendInfo TrtBackend::info() const {
  BackendInfo info;
  info.name = "tensorrt";
  info.version = loadedTensorRtVersion();
  info.available = true;  // tnrt_create_backend returns no backend otherwise
  // BuilderFlag::kFP16/kINT8 and IInt8Calibrator exist through 10.x; 11.0 removed them.
  info.implicitPrecision = NV_TENSORRT_MAJOR < 11;
  return info;
}

std::shared_ptr<Builder> TrtBackend::createBuilder(std::shared_ptr<LogSink> log, const CreateOptions& options) {
  return TrtBuilder::create(std::move(log), options);
}

std::shared_ptr<Runtime> TrtBackend::createRuntime(std::shared_ptr<LogSink> log, const CreateOptions& options) {
  return TrtRuntime::create(std::move(log), options);
}

}  // namespace trt
}  // namespace tnrt
