// The double's libnvinfer_plugin: initLibNvInferPlugins registers a few of TensorRT's standard
// plugin creators (by name) in the double's registry, inside its libnvinfer.
#include <NvInfer.h>

#include <cstdlib>

#define DOUBLE_EXPORT extern "C" __attribute__((visibility("default")))

extern "C" bool tnrt_double_register_standard_plugins(void* logger, const char* libNamespace) noexcept;

namespace {

// TensorRT's plugin library keeps the logger it was given and logs through it for the life of
// the process; so does the double, once more at exit, so that a logger destroyed earlier is a
// use after free AddressSanitizer reports.
nvinfer1::ILogger* gLogger = nullptr;

void logAtExit() {
  if (gLogger) gLogger->log(nvinfer1::ILogger::Severity::kVERBOSE, "TensorRT double: libnvinfer_plugin unloading");
}

}  // namespace

DOUBLE_EXPORT bool initLibNvInferPlugins(void* logger, const char* libNamespace) {
  if (!tnrt_double_register_standard_plugins(logger, libNamespace)) return false;
  if (!gLogger) std::atexit(logAtExit);
  gLogger = static_cast<nvinfer1::ILogger*>(logger);
  return true;
}
