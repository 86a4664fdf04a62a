// The sim's answer to TensorRT's IEngineInspector: an engine's layers (the steps its contexts
// run, folded nodes gone as TensorRT's fused layers are) as the JSON document
// getEngineInformation(kJSON) returns for a plan built with ProfilingVerbosity::kDETAILED.
#pragma once

#include <string>

namespace tnrt {
namespace sim {

class ShapeInference;
class SimEngine;
struct Node;

// How the layers are written, for a reader that sees the engine as TensorRT shows it.
struct LayerJsonOptions {
  // The tensors' shapes: the engine's own inference at its declared I/O shapes when null.
  const ShapeInference* shapes = nullptr;
  // Whether tensors carry their "Format/Datatype" (TensorRT knows them only for known shapes).
  bool formats = true;
  // Without formats: what "Format/Datatype" says instead (TensorRT: "N/A due to dynamic
  // shapes"); null leaves the key out.
  const char* unknownFormat = nullptr;
  // Whether layers carry the sim's own "Precision" key.
  bool precision = true;
  // Every tensor's "Location".
  const char* location = "Host";
  // Appended to every layer and tensor name (TensorRT's " [profile N]" copies).
  std::string suffix;
};

// The layer objects of "Layers", comma-separated, without the brackets.
std::string layersJson(const SimEngine& engine, const LayerJsonOptions& options);

// {"Layers": [{"Name", "LayerType", "Precision", "Inputs", "Outputs"}...], "Bindings": [...]};
// a convolution with constant weights adds "ParameterType", "Weights", "Bias" and "HasBias",
// and its weights are not among its "Inputs", as in TensorRT's report.
// Tensor shapes are those the engine infers at its declared I/O shapes (-1 where dynamic).
// "Precision" is the sim's own addition: the arithmetic the step runs in ("FP32", "FP16" for
// rounded weights, "Int8" for calibrated activations), which TensorRT conveys only through
// the tensors' formats.
std::string engineInformationJson(const SimEngine& engine);

// A step's layer name: its node's, else its operator's.
std::string layerName(const Node& node);

// `text` as a JSON string literal, quotes included.
std::string jsonString(const std::string& text);

}  // namespace sim
}  // namespace tnrt
