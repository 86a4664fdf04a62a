#include "tensorrt/companion_libraries.h"

#include <NvInferRuntime.h>

#include <algorithm>
#include <exception>
#include <filesystem>
#include <mutex>
#include <system_error>
#include <vector>

#ifdef _WIN32
#include <windows.h>
#else
#include <dlfcn.h>
#endif

#include "backend/shared_library.h"

namespace tnrt {
namespace trt {

namespace {

namespace fs = std::filesystem;

// File names as each platform's TensorRT packages spell them. Linux: libnvinfer.so.10,
// libnvinfer_builder_resource.so.10.3.0 (10.16 also ships _sm<NN> and _ptx variants of it, one
// per GPU architecture), libnvinfer_lean.so.10. Windows: nvinfer_10.dll,
// nvinfer_builder_resource_10.dll (or _sm<NN>_10.dll, _ptx_10.dll), nvinfer_lean_10.dll.
struct Names {
  std::string resourcePrefix;  // every builder resource file starts with this...
  std::string resourceSuffix;  // ...and ends with this
  std::string resourceExample;
  std::string lean;
  std::string searchPath;  // the variable a user would extend instead
};

Names namesFor(int32_t version) {
  const std::string major = std::to_string(version / 10000);
  const std::string full = major + "." + std::to_string(version / 100 % 100) + "." + std::to_string(version % 100);
#ifdef _WIN32
  return {"nvinfer_builder_resource", "_" + major + ".dll", "nvinfer_builder_resource_" + major + ".dll",
          "nvinfer_lean_" + major + ".dll", "PATH"};
#else
  // The builder resource carries the full version: libnvinfer opens exactly its own release's.
  return {"libnvinfer_builder_resource", ".so." + full, "libnvinfer_builder_resource.so." + full,
          "libnvinfer_lean.so." + major, "LD_LIBRARY_PATH"};
#endif
}

bool startsWith(const std::string& s, const std::string& prefix) { return s.compare(0, prefix.size(), prefix) == 0; }
bool endsWith(const std::string& s, const std::string& suffix) {
  return s.size() >= suffix.size() && s.compare(s.size() - suffix.size(), suffix.size(), suffix) == 0;
}

// Where the libnvinfer this process uses lives; empty (with *error set) if that cannot be told.
fs::path libnvinferPath(std::string* error) {
#ifdef _WIN32
  const std::wstring name = L"nvinfer_" + std::to_wstring(NV_TENSORRT_MAJOR) + L".dll";
  HMODULE module = GetModuleHandleW(name.c_str());
  if (!module) {
    *error = "nvinfer_" + std::to_string(NV_TENSORRT_MAJOR) + ".dll is not loaded: " + windowsErrorText(GetLastError());
    return {};
  }
  std::wstring buffer(32768, L'\0');
  const DWORD n = GetModuleFileNameW(module, buffer.data(), static_cast<DWORD>(buffer.size()));
  if (n == 0) {
    *error = "GetModuleFileName failed: " + windowsErrorText(GetLastError());
    return {};
  }
  buffer.resize(n);
  return fs::path(buffer);
#else
  // Any libnvinfer symbol will do: dladdr names the object that defines it.
  Dl_info info{};
  if (!dladdr(reinterpret_cast<void*>(&getInferLibVersion), &info) || !info.dli_fname || !*info.dli_fname) {
    *error = "dladdr could not tell which file getInferLibVersion came from";
    return {};
  }
  return fs::path(info.dli_fname);
#endif
}

// Builder resource files in `dir` for this release, sorted (every variant: TensorRT picks the
// one for the GPU with a mapping we cannot see, e.g. sm_87 takes sm86 on Jetson Orin; loading
// maps the files, it reads only their headers).
std::vector<fs::path> builderResources(const fs::path& dir, const Names& names) {
  std::vector<fs::path> found;
  std::error_code ec;
  for (fs::directory_iterator it(dir, ec), end; !ec && it != end; it.increment(ec)) {
    const std::string name = it->path().filename().string();
    if (startsWith(name, names.resourcePrefix) && endsWith(name, names.resourceSuffix)) found.push_back(it->path());
  }
  std::sort(found.begin(), found.end());
  return found;
}

// The directory the loader found libnvinfer in, then the one a symlinked libnvinfer really
// lives in.
std::vector<fs::path> directoriesOf(const fs::path& nvinfer) {
  std::vector<fs::path> dirs{nvinfer.parent_path()};
  std::error_code ec;
  const fs::path real = fs::canonical(nvinfer, ec);
  if (!ec && real.parent_path() != dirs[0]) dirs.push_back(real.parent_path());
  return dirs;
}

std::string preload() {
  const int32_t version = getInferLibVersion();
  const Names names = namesFor(version);
  std::string error;
  const fs::path nvinfer = libnvinferPath(&error);
  if (nvinfer.empty()) {
    return "tensorrt-node could not find libnvinfer's directory to load " + names.resourceExample + " from (" + error +
           "); add the directory holding it to " + names.searchPath;
  }
  const std::vector<fs::path> dirs = directoriesOf(nvinfer);
  for (const fs::path& dir : dirs) {
    const std::vector<fs::path> resources = builderResources(dir, names);
    if (resources.empty()) continue;
    std::string failures;
    for (const fs::path& file : resources) {
      const OpenedLibrary opened = openLibraryForever(file);
      if (!opened.handle) failures += "\n- loading " + file.string() + " failed: " + opened.error;
    }
    // Optional: a version-compatible build embeds the lean runtime. Absent from some installs.
    const fs::path lean = findInDirectories({dir}, names.lean);
    if (!lean.empty()) (void)openLibraryForever(lean);
    if (failures.empty()) return {};
    return "TensorRT's builder resource libraries in " + dir.string() + " did not load:" + failures +
           "\nPossible solutions:\n- Reinstall TensorRT: a truncated or mismatched file is the usual cause\n"
           "- On Linux, a resource library that asks for an executable stack fails on kernels that forbid it; use a "
           "newer TensorRT release";
  }
  return "TensorRT's builder needs " + names.resourceExample + " (or its per-GPU variants " + names.resourcePrefix +
         "_sm<NN>" + names.resourceSuffix + "), and none is in " + describeDirectories(dirs) + ", beside the libnvinfer in use (" +
         nvinfer.string() +
         ").\nPossible solutions:\n"
         "- Install the complete TensorRT release: its lib directory holds the builder resource libraries beside "
         "libnvinfer\n"
         "- Or add the directory that holds them to " +
         names.searchPath + "\nEngines built elsewhere still deserialize and run without them.";
}

}  // namespace

std::vector<fs::path> libnvinferDirectories(std::string* error) {
  try {
    const fs::path nvinfer = libnvinferPath(error);
    if (nvinfer.empty()) return {};
    return directoriesOf(nvinfer);
  } catch (const std::exception& e) {  // std::bad_alloc
    *error = e.what();
    return {};
  }
}

const std::string& preloadBuilderLibraries() {
  static std::once_flag once;
  static std::string problem;
  std::call_once(once, [] {
    try {
      problem = preload();
    } catch (const std::exception& e) {  // std::bad_alloc, filesystem errors
      problem = std::string("tensorrt-node could not preload TensorRT's builder resource libraries: ") + e.what();
    }
  });
  return problem;
}

}  // namespace trt
}  // namespace tnrt
