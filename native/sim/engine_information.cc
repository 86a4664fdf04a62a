#include "engine_information.h"

#include <cstdio>

#include "sim_engine.h"

namespace tnrt {
namespace sim {

std::string jsonString(const std::string& text) {
  std::string out = "\"";
  for (const char c : text) {
    switch (c) {
      case '"': out += "\\\""; break;
      case '\\': out += "\\\\"; break;
      case '\n': out += "\\n"; break;
      case '\r': out += "\\r"; break;
      case '\t': out += "\\t"; break;
      default:
        if (static_cast<unsigned char>(c) < 0x20) {
          char escaped[8];
          std::snprintf(escaped, sizeof escaped, "\\u%04x", static_cast<unsigned>(static_cast<unsigned char>(c)));
          out += escaped;
        } else {
          out += c;
        }
    }
  }
  return out + "\"";
}

std::string layerName(const Node& node) { return node.name.empty() ? node.opType : node.name; }

namespace {

// TensorRT's spelling of a type in a format string ("Row major linear FP32").
const char* formatTypeName(DataType t) {
  switch (t) {
    case DataType::kFloat32: return "FP32";
    case DataType::kFloat16: return "FP16";
    case DataType::kBFloat16: return "BF16";
    case DataType::kInt8: return "Int8";
    case DataType::kUInt8: return "UInt8";
    case DataType::kInt32: return "Int32";
    case DataType::kInt64: return "Int64";
    case DataType::kBool: return "Bool";
    case DataType::kFP8: return "FP8";
    case DataType::kInt4: return "Int4";
    case DataType::kFP4: return "FP4";
    case DataType::kE8M0: return "E8M0";
  }
  return "Unknown";
}

std::string dimsJson(const Dims& dims) {
  std::string out = "[";
  for (size_t i = 0; i < dims.size(); ++i) out += (i ? "," : "") + std::to_string(dims[i]);
  return out + "]";
}

std::string tensorsJson(const SimEngine& engine, const std::vector<int32_t>& ids, const LayerJsonOptions& options) {
  const Graph& graph = engine.graph();
  const ShapeInference& shapes = options.shapes ? *options.shapes : engine.constants();
  std::string out = "[";
  bool first = true;
  for (const int32_t id : ids) {
    if (id < 0) continue;  // an omitted optional input or output
    const ValueState& state = shapes.value(id);
    out += first ? "" : ",";
    first = false;
    out += "{\"Name\":" + jsonString(graph.values[static_cast<size_t>(id)].name + options.suffix) +
           ",\"Location\":" + jsonString(options.location) + ",\"Dimensions\":" + dimsJson(state.shape);
    if (options.formats) out += ",\"Format/Datatype\":\"Row major linear " + std::string(formatTypeName(state.dtype)) + "\"";
    else if (options.unknownFormat) out += ",\"Format/Datatype\":" + jsonString(options.unknownFormat);
    out += "}";
  }
  return out + "]";
}

// TensorRT's spelling of a weights type ("Weights": {"Type": "Float", ...}): Float, Half and
// Int8 as its inspector writes them; other types as in format strings.
const char* weightsTypeName(DataType t) {
  switch (t) {
    case DataType::kFloat32: return "Float";
    case DataType::kFloat16: return "Half";
    case DataType::kInt8: return "Int8";
    default: return formatTypeName(t);
  }
}

// A convolution's kernel (input 1) and bias (input 2), when known at build time: TensorRT's
// ONNX parser gives them to IConvolutionLayer as Weights, layer parameters that the inspector
// lists as "Weights" and "Bias" ({"Type", "Count"}) beside "ParameterType": "Convolution",
// not among the layer's input tensors. Other layers read constants as the outputs of
// IConstantLayers, which stay inputs. -1 where a role has no constant.
struct LayerWeights {
  int32_t kernel = -1;
  int32_t bias = -1;
};

LayerWeights layerWeights(const SimEngine& engine, const Node& node) {
  LayerWeights w;
  if (node.opType != "Conv" || !(node.domain.empty() || node.domain == "ai.onnx")) return w;
  const auto constant = [&](size_t k) {
    const int32_t id = k < node.inputs.size() ? node.inputs[k] : -1;
    return id >= 0 && engine.constants().value(id).data ? id : -1;
  };
  w.kernel = constant(1);
  if (w.kernel >= 0) w.bias = constant(2);
  return w;
}

std::string weightsJson(const SimEngine& engine, int32_t id) {
  const ValueState& state = engine.constants().value(id);
  // Weights the engine rounded to float16 or quantized to int8 are stored as such.
  const char* type = engine.reducedWeights().count(id) ? (engine.int8() ? "Int8" : "Half") : weightsTypeName(state.dtype);
  return std::string("{\"Type\":\"") + type + "\",\"Count\":" + std::to_string(volume(state.shape)) + "}";
}

// The arithmetic a step runs in: int8 where calibration gave its activations a scale (or the
// engine quantized its weights), float16 where the engine rounded its weights, else the type
// of its first output.
std::string stepPrecision(const SimEngine& engine, const SimEngine::Step& step) {
  for (const auto& a : step.activations)
    if (a.scale >= 0.0f) return "Int8";
  for (const int32_t id : step.node->inputs) {
    if (id >= 0 && engine.reducedWeights().count(id)) return engine.int8() ? "Int8" : "FP16";
  }
  for (const int32_t id : step.node->outputs)
    if (id >= 0) return formatTypeName(engine.constants().value(id).dtype);
  return "FP32";
}

}  // namespace

std::string layersJson(const SimEngine& engine, const LayerJsonOptions& options) {
  std::string out;
  for (const SimEngine::Step& step : engine.steps()) {
    const Node& node = *step.node;
    out += out.empty() ? "" : ",";
    const std::string type = node.domain.empty() || node.domain == "ai.onnx" ? node.opType : node.domain + "." + node.opType;
    out += "{\"Name\":" + jsonString(layerName(node) + options.suffix) + ",\"LayerType\":" + jsonString(type);
    if (options.precision) out += ",\"Precision\":" + jsonString(stepPrecision(engine, step));
    const LayerWeights weights = layerWeights(engine, node);
    std::vector<int32_t> inputs;
    for (const int32_t id : node.inputs)
      if (id < 0 || (id != weights.kernel && id != weights.bias)) inputs.push_back(id);
    out += ",\"Inputs\":" + tensorsJson(engine, inputs, options) + ",\"Outputs\":" + tensorsJson(engine, node.outputs, options);
    if (weights.kernel >= 0) {
      out += ",\"ParameterType\":\"Convolution\",\"Weights\":" + weightsJson(engine, weights.kernel);
      if (weights.bias >= 0) out += ",\"Bias\":" + weightsJson(engine, weights.bias);
      out += std::string(",\"HasBias\":") + (weights.bias >= 0 ? "1" : "0");
    }
    out += "}";
  }
  return out;
}

std::string engineInformationJson(const SimEngine& engine) {
  std::string out = "{\"Layers\":[" + layersJson(engine, LayerJsonOptions()) + "],\"Bindings\":[";
  const auto& io = engine.tensors();
  for (size_t i = 0; i < io.size(); ++i) out += (i ? "," : "") + jsonString(io[i].name);
  return out + "]}";
}

}  // namespace sim
}  // namespace tnrt
