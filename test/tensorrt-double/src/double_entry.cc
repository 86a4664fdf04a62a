// libnvinfer's C entry points, and the one the double's libnvonnxparser forwards to.
#include <NvInfer.h>
#include <NvInferVersion.h>

#include <dlfcn.h>

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

// As the real libnvinfer does: the builder resource library of this very release, opened by
// bare name. The double's libnvinfer, like the real one since 8.4, has no RUNPATH, so the name
// is found only on the process's search path (LD_LIBRARY_PATH, an executable's DT_RPATH,
// ld.so.cache) or because the application already loaded that soname.
bool loadBuilderResource(nvinfer1::ILogger* logger);

}  // namespace

DOUBLE_EXPORT int32_t getInferLibVersion() noexcept {
  // TNRT_DOUBLE_LIB_VERSION pretends to be another release (a mismatch test).
  if (const char* v = std::getenv("TNRT_DOUBLE_LIB_VERSION")) return static_cast<int32_t>(std::atoi(v));
  return NV_TENSORRT_VERSION;
}

namespace {

bool loadBuilderResource(nvinfer1::ILogger* logger) {
  const int32_t v = getInferLibVersion();
  const std::string name = "libnvinfer_builder_resource.so." + std::to_string(v / 10000) + "." +
                           std::to_string(v / 100 % 100) + "." + std::to_string(v % 100);
  // Never closed, as TensorRT keeps it; a second dlopen only counts a reference.
  void* handle = dlopen(name.c_str(), RTLD_NOW | RTLD_LOCAL);
  const char* why = handle ? nullptr : dlerror();
  if (handle && !dlsym(handle, "tnrt_double_builder_resource")) why = "not the double's builder resource library";
  if (!why) return true;
  // Real TensorRT's words (libLoader): "Error Code 6: API Usage Error (Unable to load library: ...)".
  Logger(logger).error("createInferBuilder: Error Code 6: API Usage Error (Unable to load library: " + name + ": " +
                       why + ")");
  return false;
}

}  // namespace

DOUBLE_EXPORT void* createInferBuilder_INTERNAL(void* logger, int32_t version) noexcept {
  auto* log = static_cast<nvinfer1::ILogger*>(logger);
  if (!versionMatches(version, log, "createInferBuilder")) return nullptr;
  if (!loadBuilderResource(log)) return nullptr;
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
