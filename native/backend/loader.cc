#include "loader.h"

#ifdef _WIN32
#ifndef WIN32_LEAN_AND_MEAN
#define WIN32_LEAN_AND_MEAN
#endif
#ifndef NOMINMAX
#define NOMINMAX
#endif
#include <windows.h>
#else
#include <dlfcn.h>
#endif

#include <map>
#include <mutex>

#include "../sim/sim_backend.h"

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

// The platform's dynamic loader, reduced to what the adapter needs: open for the life of the
// process, look up a symbol, say why an open failed.
#ifdef _WIN32
using LibraryHandle = HMODULE;

std::string windowsErrorText(DWORD code) {
  wchar_t* text = nullptr;
  const DWORD n = FormatMessageW(FORMAT_MESSAGE_ALLOCATE_BUFFER | FORMAT_MESSAGE_FROM_SYSTEM | FORMAT_MESSAGE_IGNORE_INSERTS,
                                 nullptr, code, 0, reinterpret_cast<wchar_t*>(&text), 0, nullptr);
  std::string out;
  if (n && text) {
    const int bytes = WideCharToMultiByte(CP_UTF8, 0, text, static_cast<int>(n), nullptr, 0, nullptr, nullptr);
    if (bytes > 0) {
      out.resize(static_cast<size_t>(bytes));
      WideCharToMultiByte(CP_UTF8, 0, text, static_cast<int>(n), &out[0], bytes, nullptr, nullptr);
    }
    while (!out.empty() && (out.back() == '\n' || out.back() == '\r' || out.back() == ' ' || out.back() == '.')) out.pop_back();
  }
  if (text) LocalFree(text);
  return (out.empty() ? std::string("Windows error") : out) + " (error " + std::to_string(code) + ")";
}

std::wstring widen(const std::string& utf8) {
  if (utf8.empty()) return {};
  const int n = MultiByteToWideChar(CP_UTF8, 0, utf8.data(), static_cast<int>(utf8.size()), nullptr, 0);
  std::wstring out(n > 0 ? static_cast<size_t>(n) : 0, L'\0');
  if (n > 0) MultiByteToWideChar(CP_UTF8, 0, utf8.data(), static_cast<int>(utf8.size()), &out[0], n);
  return out;
}

LibraryHandle openLibrary(const std::string& path, std::string* error, bool* dependencyMissing) {
  // The adapter's own directory and the default directories (system, application, those added
  // with AddDllDirectory): TensorRT's DLLs placed beside the adapter are found without PATH.
  // LOAD_LIBRARY_SEARCH_DLL_LOAD_DIR needs an absolute path, which lib/ always passes.
  HMODULE module = LoadLibraryExW(widen(path).c_str(), nullptr,
                                  LOAD_LIBRARY_SEARCH_DLL_LOAD_DIR | LOAD_LIBRARY_SEARCH_DEFAULT_DIRS);
  if (!module) {
    const DWORD code = GetLastError();
    // ERROR_MOD_NOT_FOUND names neither file: the adapter exists (else ERROR_FILE_NOT_FOUND
    // would come first), so a DLL it depends on is missing.
    const bool exists = GetFileAttributesW(widen(path).c_str()) != INVALID_FILE_ATTRIBUTES;
    *dependencyMissing = code == ERROR_MOD_NOT_FOUND && exists;
    *error = windowsErrorText(code);
    if (*dependencyMissing) *error += ": a DLL the adapter depends on was not found";
    if (!exists) *error = "No such file (" + *error + ")";
  }
  return module;
}

void* findSymbol(LibraryHandle handle, const char* name) {
  return reinterpret_cast<void*>(GetProcAddress(handle, name));
}
#else
using LibraryHandle = void*;

LibraryHandle openLibrary(const std::string& path, std::string* error, bool* dependencyMissing) {
  // RTLD_LOCAL keeps TensorRT's symbols out of the global namespace.
  void* handle = dlopen(path.c_str(), RTLD_NOW | RTLD_LOCAL);
  if (!handle) {
    const char* err = dlerror();
    *error = err ? err : "unknown error";
    *dependencyMissing = false;  // dlerror names the missing library itself
  }
  return handle;
}

void* findSymbol(LibraryHandle handle, const char* name) { return dlsym(handle, name); }
#endif

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
  std::string error;
  bool dependencyMissing = false;
  LibraryHandle handle = openLibrary(path, &error, &dependencyMissing);
  if (!handle) throw BackendError(ErrorCode::kUnavailable, explainLoadFailure(path, error, dependencyMissing));
  auto abi = reinterpret_cast<BackendAbiVersionFn>(findSymbol(handle, TNRT_BACKEND_ABI_SYMBOL));
  auto create = reinterpret_cast<CreateBackendFn>(findSymbol(handle, TNRT_CREATE_BACKEND_SYMBOL));
  if (!abi || !create) {
    throw BackendError(ErrorCode::kUnavailable, path + " is not a tensorrt-node adapter (missing entry points); rebuild it with `npm rebuild tensorrt-node`");
  }
  if (abi() != TNRT_BACKEND_ABI_VERSION) {
    throw BackendError(ErrorCode::kUnavailable,
                       path + " was built for adapter ABI " + std::to_string(abi()) + " but this addon speaks " +
                           std::to_string(TNRT_BACKEND_ABI_VERSION) + "; rebuild it with `npm rebuild tensorrt-node`");
  }
  error.clear();
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
