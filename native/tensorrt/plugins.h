// TensorRT's plugin libraries: the standard plugins of libnvinfer_plugin, registered once per
// process before anything is parsed or deserialized, and the extra libraries that Builder and
// Runtime options name (trtexec's --dynamicPlugins). Models with plugin layers (EfficientNMS_TRT,
// and ops such as RoiAlign that the ONNX parser maps to plugins) parse and load only once the
// plugins they need are registered.
#pragma once

#include <string>
#include <vector>

#include "tensorrt/logger.h"

namespace tnrt {
namespace trt {

// The file TensorRT's standard plugins live in, for the major the adapter was compiled for
// ("libnvinfer_plugin.so.10"; Windows: "nvinfer_plugin_10.dll"). The one place that spells it.
std::string standardPluginLibraryName();

// Opens libnvinfer_plugin (from libnvinfer's directory, else by name on the loader's search
// path) and calls initLibNvInferPlugins once per process, with a logger that
// lives as long as the process (the plugins keep it) and forwards to the calling object's logger
// (ActiveLoggerScope). A missing library is not an error here, since most models need no
// plugin: the first object to try says so to `logger` as a warning, and pluginSearchReport()
// names the reason in every plugin-not-found error.
void registerStandardPlugins(TrtLogger& logger);

// Loads each library (an absolute path) into TensorRT's plugin registry, once per process per
// path; they are never unloaded, since engines may use their plugins at any time. Throws
// BackendError kInvalidArgument naming the library and what TensorRT reported when one cannot
// be loaded.
void loadPluginLibraries(const std::vector<std::string>& paths, TrtLogger& logger);

// "TensorRT's plugin registry holds the standard plugins of libnvinfer_plugin.so.10
// (registered) and the plugin libraries loaded in this process: /a.so, /b.so", for errors about
// a plugin TensorRT could not find; with how to add a library.
std::string pluginSearchReport();

// Whether a TensorRT or ONNX parser message is about a plugin.
bool mentionsPlugin(const std::string& text);

}  // namespace trt
}  // namespace tnrt
