// The double's plugin registry: what getPluginRegistry() returns. It holds plugin creators by
// name only: those the double's libnvinfer_plugin registers (initLibNvInferPlugins) and those
// of libraries loaded with loadLibrary. The ONNX parser turns a node whose operator the sim
// does not know into a plugin layer when a creator of that name is registered (and fails as
// TensorRT's parser does when none is); a plan records the plugins its layers use, and a
// runtime refuses it unless they are registered.
#pragma once

#include <NvInferRuntime.h>

#include <mutex>
#include <set>
#include <string>
#include <vector>

#include "double_common.h"

namespace tnrt_double {

class DoublePluginRegistry final : public nvinfer1::StubIPluginRegistry {
 public:
  static DoublePluginRegistry& instance();

  PluginLibraryHandle loadLibrary(nvinfer1::AsciiChar const* pluginPath) noexcept override;
  void deregisterLibrary(PluginLibraryHandle handle) noexcept override;

  // initLibNvInferPlugins (the double's libnvinfer_plugin): registers the standard plugins and
  // keeps `logger`, which TensorRT's plugin library uses for the life of the process.
  bool registerStandard(nvinfer1::ILogger* logger);
  bool has(const std::string& name) const;
  // The logger initLibNvInferPlugins kept (null before it was called).
  nvinfer1::ILogger* logger() const;

  // What the ONNX parser does with the top-level nodes of `model` whose operator the sim does not
  // know, as TensorRT's parser does with operators it has no importer for: look a plugin creator
  // of that name up. Found, the node becomes a plugin layer, which the double computes as
  // Identity (its first input to its one output; other arities are an error), so the model
  // handed to the sim has Identity there. Not found: a parser error naming the node.
  struct Import {
    std::vector<uint8_t> model;           // rewritten (or a copy) for the sim
    std::vector<std::string> plugins;     // creator names the network's layers use
    std::vector<tnrt::ParserError> errors;
  };
  Import importPluginNodes(const uint8_t* data, size_t size, const Logger& logger) const;

 private:
  mutable std::mutex mutex_;
  std::set<std::string> creators_;
  std::vector<void*> libraries_;
  nvinfer1::ILogger* logger_ = nullptr;
};

}  // namespace tnrt_double
