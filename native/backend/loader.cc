#include "loader.h"

#include <filesystem>
#include <map>
#include <mutex>
#include <system_error>

#include "../sim/sim_backend.h"
#include "shared_library.h"

namespace tnrt {

namespace {

#ifdef _WIN32
// TensorRT's DLLs are named after their major: nvinfer_10.dll, nvonnxparser_10.dll (11 alike).
constexpr const char* kLibrarySearchPath = "PATH";
constexpr const char* kTensorRtLibraries = "nvinfer_10.dll / nvinfer_11.dll and nvonnxparser_10.dll / nvonnxparser_11.dll";
#else
constexpr const char* kLibrarySearchPath = "LD_LIBRARY_PATH";
constexpr const char* kTensorRtLibraries = "libnvinfer and libnvonnxparser";
#endif

// dlerror() and FormatMessage() text is precise but cryptic; add what a user should do about
// the usual causes.
std::string explainLoadFailure(const std::string& path, const std::string& err, bool dependencyMissing) {
  std::string msg = "could not load the TensorRT adapter " + path + ": " + err + "\nPossible solutions:\n";
  const bool names = [&] {
    for (const char* name : {"libnvinfer", "libnvonnxparser", "nvinfer_", "nvonnxparser_"})
      if (err.find(name) != std::string::npos) return true;
    return false;
  }();
  if (names || dependencyMissing) {
    msg += std::string("- Install TensorRT (") + kTensorRtLibraries + ") and add its lib directory to " +
           kLibrarySearchPath +
           "\n"
           "- Make sure the installed TensorRT major version is the one the adapter was built for, or run "
           "`npm rebuild tensorrt-node` with TENSORRT_ROOT pointing at the installed TensorRT\n";
    if (dependencyMissing) {
      msg += std::string("- Install the NVIDIA driver and the CUDA runtime (cudart64_*.dll), and add them to ") +
             kLibrarySearchPath + "\n";
    }
  } else if (err.find("libcuda") != std::string::npos || err.find("libcudart") != std::string::npos) {
    msg += std::string("- Install the NVIDIA driver and the CUDA runtime, and add them to ") + kLibrarySearchPath + "\n";
  } else if (err.find("GLIBC") != std::string::npos) {
    msg += "- The adapter was built against a newer glibc than this system has: rebuild it here with `npm rebuild`\n";
  } else if (err.find("No such file") != std::string::npos || err.find("cannot find the file") != std::string::npos) {
    msg +=
        "- Build the adapter: install TensorRT, set TENSORRT_ROOT, run `npm rebuild tensorrt-node`\n"
        "- Or point TENSORRT_NODE_ADAPTER at an existing adapter library (libtensorrt_node_trtN.so, "
        "tensorrt_node_trtN.dll)\n";
  }
  msg += "- Or use the CPU simulator: backend 'sim' (or TENSORRT_NODE_BACKEND=sim)";
  return msg;
}

std::mutex gMutex;
std::map<std::string, std::shared_ptr<Backend>> gAdapters;  // by path; libraries are never closed

}  // namespace

std::shared_ptr<Backend> loadSimBackend() {
  static std::shared_ptr<Backend> sim = sim::createSimBackend();
  return sim;
}

std::shared_ptr<Backend> loadAdapterBackend(const std::string& path) {
  std::lock_guard<std::mutex> lock(gMutex);
  auto found = gAdapters.find(path);
  if (found != gAdapters.end()) return found->second;

  // The library stays open for the life of the process because backend objects' code lives in it.
  // lib/ passes an absolute UTF-8 path, so that on Windows the adapter's own directory is
  // searched for the TensorRT DLLs beside it.
  const std::filesystem::path file = std::filesystem::u8path(path);
  OpenedLibrary opened = openLibraryForever(file);
  if (!opened.handle) {
#ifdef _WIN32
    if (opened.dependencyMissing) opened.error += ": a DLL the adapter depends on was not found";
    std::error_code ec;
    if (!std::filesystem::exists(file, ec)) opened.error = "No such file (" + opened.error + ")";
#endif
    throw BackendError(ErrorCode::kUnavailable, explainLoadFailure(path, opened.error, opened.dependencyMissing));
  }
  auto abi = reinterpret_cast<BackendAbiVersionFn>(librarySymbol(opened.handle, TNRT_BACKEND_ABI_SYMBOL));
  auto create = reinterpret_cast<CreateBackendFn>(librarySymbol(opened.handle, TNRT_CREATE_BACKEND_SYMBOL));
  if (!abi || !create) {
    throw BackendError(ErrorCode::kUnavailable, path + " is not a tensorrt-node adapter (missing entry points); rebuild it with `npm rebuild tensorrt-node`");
  }
  if (abi() != TNRT_BACKEND_ABI_VERSION) {
    throw BackendError(ErrorCode::kUnavailable,
                       path + " was built for adapter ABI " + std::to_string(abi()) + " but this addon speaks " +
                           std::to_string(TNRT_BACKEND_ABI_VERSION) + "; rebuild it with `npm rebuild tensorrt-node`");
  }
  std::string error;
  Backend* backend = create(&error);
  if (!backend) {
    throw BackendError(ErrorCode::kUnavailable,
                       "the TensorRT adapter loaded but cannot run here: " + error +
                           "\nOr use the CPU simulator: backend 'sim' (or TENSORRT_NODE_BACKEND=sim)");
  }
  std::shared_ptr<Backend> shared(backend);
  gAdapters[path] = shared;
  return shared;
}

}  // namespace tnrt
