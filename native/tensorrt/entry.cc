// The adapter library's only exported symbols (see backend.h). The addon opens this library
// with dlopen and calls them; everything else is hidden (-fvisibility=hidden plus a linker
// version script), so two adapters or the addon's own copies of shared code never collide.
#include <NvInferRuntime.h>
#include <NvInferVersion.h>
#include <cuda_runtime_api.h>

#include <exception>
#include <new>
#include <string>

#include "backend/backend.h"
#include "tensorrt/cuda_resources.h"
#include "tensorrt/tensorrt_backend.h"

#ifdef _WIN32
#define TNRT_EXPORT extern "C" __declspec(dllexport)
#else
#define TNRT_EXPORT extern "C" __attribute__((visibility("default")))
#endif

namespace {

std::string cudaVersionText(int v) { return std::to_string(v / 1000) + "." + std::to_string(v % 1000 / 10); }

// Empty when a driver, a GPU and the TensorRT major we were compiled for are all present;
// otherwise what is missing and how to fix it.
std::string unavailableReason() {
  int runtimeVersion = 0;
  (void)cudaRuntimeGetVersion(&runtimeVersion);
  const std::string runtimeText = "CUDA " + cudaVersionText(runtimeVersion);

  int driverVersion = 0;
  const cudaError_t driverErr = cudaDriverGetVersion(&driverVersion);
  if (driverErr != cudaSuccess || driverVersion == 0) {
    return "no NVIDIA driver found (" +
           (driverErr != cudaSuccess ? tnrt::trt::cudaErrorText(driverErr) : std::string("libcuda.so.1 could not be loaded")) +
           "). Install the NVIDIA driver (one that supports " + runtimeText +
           " or newer) and check that `nvidia-smi` works";
  }

  int devices = 0;
  const cudaError_t countErr = cudaGetDeviceCount(&devices);
  if (countErr == cudaErrorInsufficientDriver) {
    return "the NVIDIA driver supports CUDA " + cudaVersionText(driverVersion) + ", older than the " + runtimeText +
           " runtime the adapter was built with. Update the NVIDIA driver";
  }
  if (countErr == cudaErrorNoDevice || (countErr == cudaSuccess && devices == 0)) {
    return "no CUDA-capable GPU (" +
           (countErr != cudaSuccess ? tnrt::trt::cudaErrorText(countErr) : std::string("0 devices")) +
           "). Check `nvidia-smi`, and CUDA_VISIBLE_DEVICES if it is set";
  }
  if (countErr != cudaSuccess) {
    return "CUDA could not initialize (" + tnrt::trt::cudaErrorText(countErr) +
           "). Check `nvidia-smi`; a driver/kernel-module mismatch after an update needs a reboot";
  }

  const int32_t loaded = getInferLibVersion();
  if (loaded / 10000 != NV_TENSORRT_MAJOR) {
    return "the adapter was compiled for TensorRT " + std::to_string(NV_TENSORRT_MAJOR) + ", found TensorRT " +
           tnrt::trt::loadedTensorRtVersion() +
           ". Rebuild it with `npm rebuild tensorrt-node` (set TENSORRT_ROOT to the TensorRT install directory)";
  }
  // Same major, older release: the headers may declare members (vtable slots, enum values) the
  // loaded library lacks, and calling one is a crash, not an error. Newer releases keep the ABI.
  if (loaded < NV_TENSORRT_VERSION) {
    const std::string compiled = std::to_string(NV_TENSORRT_MAJOR) + "." + std::to_string(NV_TENSORRT_MINOR) + "." +
                                 std::to_string(NV_TENSORRT_PATCH);
    return "the adapter was compiled against TensorRT " + compiled + " headers, but the libnvinfer loaded is TensorRT " +
           tnrt::trt::loadedTensorRtVersion() + ", an older release that may lack what the adapter calls. Install TensorRT " +
           compiled + " or newer, or rebuild the adapter against the installed one with `npm rebuild tensorrt-node` (set "
           "TENSORRT_ROOT to its install directory)";
  }
  return {};
}

}  // namespace

TNRT_EXPORT int32_t tnrt_backend_abi_version() { return TNRT_BACKEND_ABI_VERSION; }

TNRT_EXPORT tnrt::Backend* tnrt_create_backend(std::string* error) {
  try {
    std::string reason = unavailableReason();
    if (!reason.empty()) {
      if (error) *error = std::move(reason);
      return nullptr;
    }
    return new tnrt::trt::TrtBackend();
  } catch (const std::exception& e) {
    if (error) *error = std::string("the TensorRT adapter failed to start: ") + e.what();
  } catch (...) {
    if (error) *error = "the TensorRT adapter failed to start";
  }
  return nullptr;
}
