#include "loader.h"

#include <dlfcn.h>

#include <map>
#include <mutex>

#include "../sim/sim_backend.h"

namespace tnrt {

namespace {

// dlerror() text is precise but cryptic; add what a user should do about the usual causes.
std::string explainDlopenFailure(const std::string& path, const std::string& dlerr) {
  std::string msg = "could not load the TensorRT adapter " + path + ": " + dlerr + "\nPossible solutions:\n";
  if (dlerr.find("libnvinfer") != std::string::npos || dlerr.find("libnvonnxparser") != std::string::npos) {
    msg +=
        "- Install TensorRT (libnvinfer and libnvonnxparser) and add its lib directory to LD_LIBRARY_PATH\n"
        "- Make sure the installed TensorRT major version is the one the adapter was built for, or run "
        "`npm rebuild tensorrt-node` with TENSORRT_ROOT pointing at the installed TensorRT\n";
  } else if (dlerr.find("libcuda") != std::string::npos || dlerr.find("libcudart") != std::string::npos) {
    msg += "- Install the NVIDIA driver and the CUDA runtime, and add them to LD_LIBRARY_PATH\n";
  } else if (dlerr.find("GLIBC") != std::string::npos) {
    msg += "- The adapter was built against a newer glibc than this system has: rebuild it here with `npm rebuild`\n";
  } else if (dlerr.find("No such file") != std::string::npos) {
    msg +=
        "- Build the adapter: install TensorRT, set TENSORRT_ROOT, run `npm rebuild tensorrt-node`\n"
        "- Or point TENSORRT_NODE_ADAPTER at an existing libtensorrt_node_trtN.so\n";
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

  // RTLD_LOCAL keeps TensorRT's symbols out of the global namespace; the library stays open
  // for the life of the process because backend objects' code lives in it.
  void* handle = dlopen(path.c_str(), RTLD_NOW | RTLD_LOCAL);
  if (!handle) {
    const char* err = dlerror();
    throw BackendError(ErrorCode::kUnavailable, explainDlopenFailure(path, err ? err : "unknown error"));
  }
  auto abi = reinterpret_cast<BackendAbiVersionFn>(dlsym(handle, TNRT_BACKEND_ABI_SYMBOL));
  auto create = reinterpret_cast<CreateBackendFn>(dlsym(handle, TNRT_CREATE_BACKEND_SYMBOL));
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
