// libnvinfer's C entry points, and the one the double's libnvonnxparser forwards to.
#include <NvInfer.h>
#include <NvInferVersion.h>

#include <cstdlib>
#include <string>

#include "double_builder.h"

#define DOUBLE_EXPORT extern "C" __attribute__((visibility("default")))

using namespace tnrt_double;

namespace {

// TensorRT refuses callers compiled against another major.
bool versionMatches(int32_t version, nvinfer1::ILogger* logger, const char* what) {
  // NV_TENSORRT_VERSION is MAJOR * 10000 + MINOR * 100 + PATCH from 10.0 on.
  if (version / 10000 == NV_TENSORRT_MAJOR) return true;
  Logger(logger).error(std::string(what) + ": the application was compiled against TensorRT version " +
                       std::to_string(version) + ", this library is " + std::to_string(NV_TENSORRT_VERSION));
  return false;
}

}  // namespace

DOUBLE_EXPORT int32_t getInferLibVersion() noexcept {
  // TNRT_DOUBLE_LIB_VERSION pretends to be another release (a mismatch test).
  if (const char* v = std::getenv("TNRT_DOUBLE_LIB_VERSION")) return static_cast<int32_t>(std::atoi(v));
  return NV_TENSORRT_VERSION;
}

DOUBLE_EXPORT void* createInferBuilder_INTERNAL(void* logger, int32_t version) noexcept {
  auto* log = static_cast<nvinfer1::ILogger*>(logger);
  if (!versionMatches(version, log, "createInferBuilder")) return nullptr;
  if (fault("createBuilder")) {
    Logger(log).error("createInferBuilder: injected fault: createBuilder");
    return nullptr;
  }
  try {
    return static_cast<nvinfer1::IBuilder*>(new DoubleBuilder(log));
  } catch (...) {
    return nullptr;
  }
}

DOUBLE_EXPORT void* createInferRuntime_INTERNAL(void* logger, int32_t version) noexcept {
  auto* log = static_cast<nvinfer1::ILogger*>(logger);
  if (!versionMatches(version, log, "createInferRuntime")) return nullptr;
  if (fault("createRuntime")) {
    Logger(log).error("createInferRuntime: injected fault: createRuntime");
    return nullptr;
  }
  try {
    return static_cast<nvinfer1::IRuntime*>(new DoubleRuntime(log));
  } catch (...) {
    return nullptr;
  }
}

// Called by the double's libnvonnxparser (createNvOnnxParser_INTERNAL).
DOUBLE_EXPORT void* tnrt_double_create_onnx_parser(void* network, void* logger, int /*version*/) noexcept {
  auto* net = static_cast<nvinfer1::INetworkDefinition*>(network);
  if (!net) return nullptr;
  try {
    return static_cast<nvonnxparser::IParser*>(new DoubleParser(*static_cast<DoubleNetwork*>(net),
                                                                 static_cast<nvinfer1::ILogger*>(logger)));
  } catch (...) {
    return nullptr;
  }
}
