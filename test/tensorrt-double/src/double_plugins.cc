#include "double_plugins.h"

#include <dlfcn.h>

#include <algorithm>

#include <cstdio>
#include <sstream>

#include "sim/op_registry.h"
#include "sim/wire_reader.h"

#define DOUBLE_EXPORT extern "C" __attribute__((visibility("default")))

namespace tnrt_double {

namespace {

// A few of the plugins TensorRT's libnvinfer_plugin registers, by their creator names.
const char* const kStandardPlugins[] = {"EfficientNMS_TRT", "BatchedNMSDynamic_TRT", "ROIAlign_TRT",
                                        "ScatterElements", "MultiscaleDeformableAttnPlugin_TRT"};

// A registry message: through the plugin library's logger once there is one, as TensorRT's.
void report(nvinfer1::ILogger* logger, nvinfer1::ILogger::Severity severity, const std::string& text) {
  if (logger) {
    logger->log(severity, text.c_str());
  } else if (severity <= nvinfer1::ILogger::Severity::kERROR) {
    std::fprintf(stderr, "TensorRT double (plugin registry, no logger): %s\n", text.c_str());
  }
}

void putVarint(std::vector<uint8_t>& out, uint64_t v) {
  while (v >= 0x80) {
    out.push_back(static_cast<uint8_t>(v | 0x80));
    v >>= 7;
  }
  out.push_back(static_cast<uint8_t>(v));
}

void putField(std::vector<uint8_t>& out, uint32_t field, const uint8_t* data, size_t size) {
  putVarint(out, (static_cast<uint64_t>(field) << 3) | tnrt::sim::kLengthDelimited);
  putVarint(out, size);
  out.insert(out.end(), data, data + size);
}

void putField(std::vector<uint8_t>& out, uint32_t field, const std::string& text) {
  putField(out, field, reinterpret_cast<const uint8_t*>(text.data()), text.size());
}

struct NodeSummary {
  std::string name, opType;
  std::vector<std::string> inputs;
  size_t outputs = 0;
};

NodeSummary summarize(tnrt::sim::WireReader r) {
  NodeSummary n;
  uint32_t field, wt;
  while (r.next(&field, &wt)) {
    if (wt != tnrt::sim::kLengthDelimited) {
      r.skip(wt);
      continue;
    }
    switch (field) {
      case 1: n.inputs.push_back(r.string()); break;
      case 2:
        r.skip(wt);
        ++n.outputs;
        break;
      case 3: n.name = r.string(); break;
      case 4: n.opType = r.string(); break;
      default: r.skip(wt); break;
    }
  }
  return n;
}

}  // namespace

DoublePluginRegistry::Import DoublePluginRegistry::importPluginNodes(const uint8_t* data, size_t size,
                                                                     const Logger& logger) const {
  using tnrt::sim::WireReader;
  Import result;
  result.model.assign(data, data + size);
  std::vector<uint8_t> model;
  bool changed = false;
  try {
    WireReader r(data, size);
    uint32_t field, wt;
    for (const uint8_t* start = r.data(); r.next(&field, &wt); start = r.data()) {
      if (field != 7 || wt != tnrt::sim::kLengthDelimited) {  // ModelProto.graph
        r.skip(wt);
        model.insert(model.end(), start, r.data());
        continue;
      }
      WireReader g = r.bytes();
      std::vector<uint8_t> graph;
      int32_t index = 0;
      for (const uint8_t* gstart = g.data(); g.next(&field, &wt); gstart = g.data()) {
        if (field != 1 || wt != tnrt::sim::kLengthDelimited) {  // GraphProto.node
          g.skip(wt);
          graph.insert(graph.end(), gstart, g.data());
          continue;
        }
        WireReader node = g.bytes();
        const NodeSummary n = summarize(node);
        const int32_t nodeIndex = index++;
        if (n.opType.empty() || tnrt::sim::OpRegistry::instance().findAnyOpset(n.opType)) {
          graph.insert(graph.end(), gstart, g.data());
          continue;
        }
        const std::string name = n.name.empty() ? n.opType + "_" + std::to_string(nodeIndex) : n.name;
        logger.info("No importer registered for op: " + n.opType + ". Attempting to import as plugin.");
        if (!has(n.opType)) {
          result.errors.push_back({name, nodeIndex, n.opType,
                                   "Plugin not found, are the plugin name, version, and namespace correct?"});
          continue;
        }
        if (n.inputs.empty() || n.inputs[0].empty() || n.outputs != 1) {
          result.errors.push_back({name, nodeIndex, n.opType,
                                   "the TensorRT double runs plugin layers as Identity: it needs one input and one "
                                   "output"});
          continue;
        }
        // The plugin layer, as the double computes it: Identity of the first input.
        std::vector<uint8_t> rewritten;
        putField(rewritten, 1, n.inputs[0]);
        WireReader again = node;
        uint32_t f, w;
        while (again.next(&f, &w)) {
          if (f == 2 && w == tnrt::sim::kLengthDelimited) putField(rewritten, 2, again.string());
          else again.skip(w);
        }
        putField(rewritten, 3, name);
        putField(rewritten, 4, std::string("Identity"));
        putField(graph, 1, rewritten.data(), rewritten.size());
        if (std::find(result.plugins.begin(), result.plugins.end(), n.opType) == result.plugins.end())
          result.plugins.push_back(n.opType);
        changed = true;
      }
      putField(model, 7, graph.data(), graph.size());
    }
  } catch (const tnrt::sim::WireError&) {
    // Not a readable model: the sim's parser reports why.
    result.errors.clear();
    result.plugins.clear();
    return result;
  }
  if (changed) result.model = std::move(model);
  return result;
}

DoublePluginRegistry& DoublePluginRegistry::instance() {
  // Never destroyed: engines may look plugins up until the process ends.
  static DoublePluginRegistry* registry = new DoublePluginRegistry();
  return *registry;
}

DoublePluginRegistry::PluginLibraryHandle DoublePluginRegistry::loadLibrary(nvinfer1::AsciiChar const* pluginPath) noexcept {
  nvinfer1::ILogger* log = logger();
  if (!pluginPath) {
    report(log, nvinfer1::ILogger::Severity::kERROR, "IPluginRegistry::loadLibrary: Error Code 3: API Usage Error (null path)");
    return nullptr;
  }
  (void)dlerror();
  void* handle = dlopen(pluginPath, RTLD_NOW | RTLD_LOCAL);
  if (!handle) {
    const char* why = dlerror();
    report(log, nvinfer1::ILogger::Severity::kERROR,
           std::string("IPluginRegistry::loadLibrary: Error Code 3: API Usage Error (could not load plugin library ") +
               pluginPath + ": " + (why ? why : "unknown reason") + ")");
    return nullptr;
  }
  // What makes a shared library a TensorRT plugin library: the entry points TensorRT calls.
  if (!dlsym(handle, "getCreators") && !dlsym(handle, "getPluginCreators")) {
    report(log, nvinfer1::ILogger::Severity::kERROR,
           std::string("IPluginRegistry::loadLibrary: Error Code 3: API Usage Error (") + pluginPath +
               " exports neither getCreators nor getPluginCreators: not a TensorRT plugin library)");
    dlclose(handle);
    return nullptr;
  }
  // The double cannot ask real creators for their names; its test libraries list them here.
  using NamesFn = const char* (*)();
  std::vector<std::string> names;
  if (auto list = reinterpret_cast<NamesFn>(dlsym(handle, "tnrt_double_plugin_names"))) {
    std::istringstream in(list() ? list() : "");
    for (std::string name; std::getline(in, name, ',');)
      if (!name.empty()) names.push_back(name);
  }
  std::lock_guard<std::mutex> lock(mutex_);
  creators_.insert(names.begin(), names.end());
  libraries_.push_back(handle);
  return handle;
}

void DoublePluginRegistry::deregisterLibrary(PluginLibraryHandle) noexcept {
  // Nothing the adapter may call: engines can use a library's plugins until the process ends.
  unimplemented("nvinfer1::IPluginRegistry::deregisterLibrary");
}

bool DoublePluginRegistry::registerStandard(nvinfer1::ILogger* logger) {
  std::lock_guard<std::mutex> lock(mutex_);
  logger_ = logger;
  for (const char* name : kStandardPlugins) creators_.insert(name);
  return true;
}

bool DoublePluginRegistry::has(const std::string& name) const {
  std::lock_guard<std::mutex> lock(mutex_);
  return creators_.count(name) != 0;
}

nvinfer1::ILogger* DoublePluginRegistry::logger() const {
  std::lock_guard<std::mutex> lock(mutex_);
  return logger_;
}

}  // namespace tnrt_double

using tnrt_double::DoublePluginRegistry;

DOUBLE_EXPORT nvinfer1::IPluginRegistry* getPluginRegistry() noexcept { return &DoublePluginRegistry::instance(); }

// Called by the double's libnvinfer_plugin (initLibNvInferPlugins).
DOUBLE_EXPORT bool tnrt_double_register_standard_plugins(void* logger, const char* libNamespace) noexcept {
  if (libNamespace && *libNamespace) {
    tnrt_double::violation("initLibNvInferPlugins registers the standard plugins in the default namespace \"\"",
                           std::string("namespace \"") + libNamespace + "\" given; TensorRT's parser would not find them");
  }
  return DoublePluginRegistry::instance().registerStandard(static_cast<nvinfer1::ILogger*>(logger));
}
