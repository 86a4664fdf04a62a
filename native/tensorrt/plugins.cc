#include "tensorrt/plugins.h"

#include <NvInferRuntime.h>
#include <NvInferVersion.h>

#include <algorithm>
#include <cctype>
#include <cstdio>
#include <filesystem>
#include <mutex>

#include "backend/backend.h"
#include "backend/shared_library.h"
#include "tensorrt/companion_libraries.h"

namespace tnrt {
namespace trt {

namespace {

// initLibNvInferPlugins, as NvInferPlugin.h declares it. Looked up with dlsym rather than
// linked, so that the adapter loads, and runs plugin-free models, where libnvinfer_plugin is
// not installed.
using InitPluginsFn = bool (*)(void* logger, const char* libNamespace);

// The logger libnvinfer_plugin keeps for the life of the process. Each message goes to the
// logger of the call running on this thread; with none (a plugin logging on a thread of its
// own), errors still go to stderr rather than nowhere.
class ProcessLogger final : public nvinfer1::ILogger {
 public:
  void log(nvinfer1::ILogger::Severity severity, nvinfer1::AsciiChar const* msg) noexcept override {
    if (TrtLogger* active = ActiveLoggerScope::current()) {
      active->log(severity, msg);
      return;
    }
    if (severity <= nvinfer1::ILogger::Severity::kERROR) {
      std::fprintf(stderr, "[tensorrt-node] TensorRT plugin error: %s\n", msg ? msg : "");
    }
  }
};

struct PluginState {
  std::mutex mutex;
  bool standardTried = false;
  std::string standardStatus = "not loaded yet";
  std::vector<std::string> loaded;  // extra libraries, in load order
};

PluginState& state() {
  // Never destroyed: plugins may log, and engines may use loaded libraries, until the process ends.
  static PluginState* s = new PluginState();
  return *s;
}

nvinfer1::ILogger* processLogger() {
  static ProcessLogger* logger = new ProcessLogger();
  return logger;
}

// Opens `file` (a full path, or a bare name for the loader's own search) and keeps it for the
// life of the process; returns initLibNvInferPlugins, or null with *why set.
InitPluginsFn openStandardPlugins(const std::filesystem::path& file, std::string* why) {
  const OpenedLibrary opened = openLibraryForever(file);
  if (!opened.handle) {
    *why = file.string() + " could not be loaded (" + opened.error + ")";
    return nullptr;
  }
  auto init = reinterpret_cast<InitPluginsFn>(librarySymbol(opened.handle, "initLibNvInferPlugins"));
  if (!init) *why = file.string() + " does not export initLibNvInferPlugins";
  return init;
}

// Finds and opens TensorRT's standard plugin library: first beside the libnvinfer in use, by
// full path, as companion_libraries.cc loads the builder resources. A tarball TensorRT found
// through the adapter's RUNPATH needs that: a bare-name dlopen searches the RUNPATH of its
// caller, and when a sanitizer runtime (or any other library) interposes dlopen, the caller is
// that library, not the adapter, so the file beside libnvinfer is not found. Then by bare name,
// for installs that keep libnvinfer_plugin elsewhere on the loader's search path
// (LD_LIBRARY_PATH, ld.so.cache; PATH on Windows).
InitPluginsFn findStandardPlugins(const std::string& name, std::string* why) {
  std::string error;
  const std::vector<std::filesystem::path> dirs = libnvinferDirectories(&error);
  // Present but unloadable (wrong architecture, missing dependency): that is the answer to
  // give, not the bare-name search's "not found".
  const std::filesystem::path beside = findInDirectories(dirs, name);
  if (!beside.empty()) return openStandardPlugins(beside, why);
  InitPluginsFn init = openStandardPlugins(std::filesystem::path(name), why);
  if (!init && !dirs.empty()) {
    *why += "; it is not in " + describeDirectories(dirs) + " beside libnvinfer either";
  } else if (!init) {
    *why += "; libnvinfer's directory could not be searched (" + error + ")";
  }
  return init;
}

}  // namespace

std::string standardPluginLibraryName() {
#ifdef _WIN32
  return "nvinfer_plugin_" + std::to_string(NV_TENSORRT_MAJOR) + ".dll";
#else
  return "libnvinfer_plugin.so." + std::to_string(NV_TENSORRT_MAJOR);
#endif
}

void registerStandardPlugins(TrtLogger& logger) {
  PluginState& s = state();
  std::lock_guard<std::mutex> lock(s.mutex);
  if (s.standardTried) return;
  s.standardTried = true;
  const std::string name = standardPluginLibraryName();
  std::string problem;
  // Kept open for the life of the process: its creators stay in TensorRT's registry.
  if (InitPluginsFn init = findStandardPlugins(name, &problem)) {
    ActiveLoggerScope active(logger);
    if (!init(processLogger(), "")) problem = "initLibNvInferPlugins in " + name + " failed";
  }
  if (problem.empty()) {
    s.standardStatus = "registered";
    return;
  }
  s.standardStatus = "not registered: " + problem;
  logger.log(nvinfer1::ILogger::Severity::kWARNING,
             ("TensorRT's standard plugins are not registered: " + problem +
              ". Models and engines with plugin layers (EfficientNMS_TRT, RoiAlign, ...) will fail to parse and to "
              "load; install TensorRT's plugin library (" + name + ") beside libnvinfer")
                 .c_str());
}

void loadPluginLibraries(const std::vector<std::string>& paths, TrtLogger& logger) {
  PluginState& s = state();
  std::lock_guard<std::mutex> lock(s.mutex);
  for (const std::string& path : paths) {
    if (std::find(s.loaded.begin(), s.loaded.end(), path) != s.loaded.end()) continue;
    const uint64_t mark = logger.mark();
    ActiveLoggerScope active(logger);
    nvinfer1::IPluginRegistry* registry = getPluginRegistry();
    if (!registry || !registry->loadLibrary(path.c_str())) {
      throw BackendError(ErrorCode::kInvalidArgument,
                         logger.describeFailure("TensorRT could not load the plugin library " + path +
                                                    " (it must be a shared library for TensorRT " +
                                                    std::to_string(NV_TENSORRT_MAJOR) +
                                                    " that exports getCreators or getPluginCreators)",
                                                mark));
    }
    s.loaded.push_back(path);
  }
}

std::string pluginSearchReport() {
  PluginState& s = state();
  std::lock_guard<std::mutex> lock(s.mutex);
  std::string libraries;
  for (const std::string& path : s.loaded) libraries += (libraries.empty() ? "" : ", ") + path;
  return "TensorRT's plugin registry holds the standard plugins of " + standardPluginLibraryName() + " (" +
         s.standardStatus + ") and the plugin libraries loaded in this process (" +
         (libraries.empty() ? std::string("none") : libraries) +
         "). If another library provides the plugin, pass it with the plugins option (new Builder({ plugins }), "
         "new Runtime({ plugins }), buildEngine and InferenceSession.create; CLI --plugins)";
}

bool mentionsPlugin(const std::string& text) {
  std::string lower(text);
  std::transform(lower.begin(), lower.end(), lower.begin(), [](unsigned char c) { return std::tolower(c); });
  return lower.find("plugin") != std::string::npos;
}

}  // namespace trt
}  // namespace tnrt
