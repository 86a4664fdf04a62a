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
    out += "}";
  }
  return out + "]";
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
    out += ",\"Inputs\":" + tensorsJson(engine, node.inputs, options) + ",\"Outputs\":" + tensorsJson(engine, node.outputs, options) + "}";
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
