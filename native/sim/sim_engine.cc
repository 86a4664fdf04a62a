#include "sim_engine.h"

#include <algorithm>
#include <climits>
#include <cmath>

#include "engine_information.h"
#include "half.h"
#include "shape_tensors.h"
#include "sim_execution_context.h"
#include "sim_log.h"

namespace tnrt {
namespace sim {

namespace {

// Load-time folding evaluates whole constant subgraphs once instead of on every call; the
// cap only keeps a pathological engine from doubling its memory.
constexpr size_t kLoadFoldLimitBytes = size_t{64} << 20;

[[noreturn]] void invalid(const std::string& message) {
  throw BackendError(ErrorCode::kEngineInvalid, "the sim engine cannot be used: " + message);
}

}  // namespace

SimEngine::SimEngine(std::shared_ptr<Runtime> runtime, std::shared_ptr<LogSink> log, std::vector<uint8_t> plan,
                     EngineData data, uint64_t maxTensorBytes)
    : runtime_(std::move(runtime)),
      log_(std::move(log)),
      plan_(std::move(plan)),
      data_(std::move(data)),
      maxTensorBytes_(maxTensorBytes) {
  validate();
  uint64_t host = plan_.capacity();
  for (const Tensor& t : data_.graph.initializers) host += t.data.capacity();
  if (constants_) host += constants_->foldedBytes();
  for (const auto& weights : reducedWeights_) host += weights.second.capacity() * sizeof(float);
  memoryUsage_.host = host;
}

void SimEngine::validate() {
  Graph& graph = data_.graph;
  std::vector<ParserError> errors;
  if (!OpRegistry::instance().checkGraph(graph, &errors) || !graph.finalize(&errors))
    invalid(errors.front().description + "; rebuild the engine with this version of tensorrt-node");

  // The io table must describe the graph's inputs then outputs, in order.
  const size_t numInputs = graph.inputs.size();
  if (data_.ioTensors.size() != numInputs + graph.outputs.size()) invalid("its io tensor table does not match its graph");
  for (size_t i = 0; i < data_.ioTensors.size(); ++i) {
    const TensorDesc& t = data_.ioTensors[i];
    int32_t id = i < numInputs ? graph.inputs[i] : graph.outputs[i - numInputs];
    if (t.name != graph.values[static_cast<size_t>(id)].name || t.isInput != (i < numInputs))
      invalid("its io tensor table does not match its graph");
    if (t.isInput && t.dtype != graph.values[static_cast<size_t>(id)].dtype)
      invalid("input '" + t.name + "' has inconsistent element types");
  }
  const std::vector<std::string> shapeUses = findShapeTensorInputs(graph);
  for (size_t i = 0; i < numInputs; ++i) data_.ioTensors[i].isShapeTensor = !shapeUses[i].empty();
  validateShapes();
  const auto& registry = OpRegistry::instance();
  for (size_t n = 0; n < graph.nodes.size(); ++n) {
    if (constants_->folded(n)) continue;
    const Node& node = graph.nodes[n];
    steps_.push_back({&node, registry.find(node.domain, node.opType, node.opset), {}});
  }
  planPrecision();
  logTo(log_, Severity::kVerbose,
        "[sim] engine plan: " + std::to_string(steps_.size()) + " run-time layers, " +
            std::to_string(graph.nodes.size() - steps_.size()) + " folded into constants");
}

namespace {

std::string triple(int64_t lo, int64_t mid, int64_t hi) {
  return std::to_string(lo) + "/" + std::to_string(mid) + "/" + std::to_string(hi);
}

// Ranks equal, and every dim both sides know equal. `declared` may leave dims dynamic (-1).
bool shapeAgrees(const Dims& declared, const Dims& computed) {
  if (declared.size() != computed.size()) return false;
  for (size_t d = 0; d < declared.size(); ++d)
    if (declared[d] >= 0 && computed[d] >= 0 && declared[d] != computed[d]) return false;
  return true;
}

}  // namespace

void SimEngine::validateShapes() {
  const Graph& graph = data_.graph;
  const size_t numInputs = graph.inputs.size();
  if (data_.profiles.empty()) invalid("it has no optimization profile");
  // What the builder checked, checked again: everything below sizes memory from these.
  for (size_t p = 0; p < data_.profiles.size(); ++p) {
    const Profile& profile = data_.profiles[p];
    if (profile.inputs.size() != numInputs) invalid("an optimization profile does not cover every input");
    for (size_t i = 0; i < numInputs; ++i) {
      const InputProfile& ip = profile.inputs[i];
      const TensorDesc& t = data_.ioTensors[i];
      const Dims& shape = t.shape;
      const std::string where = "optimization profile " + std::to_string(p) + ", input '" + t.name + "'";
      if (ip.input != t.name || ip.min.size() != shape.size() || ip.opt.size() != shape.size() ||
          ip.max.size() != shape.size())
        invalid(where + ": its min/opt/max ranks (" + std::to_string(ip.min.size()) + "/" +
                std::to_string(ip.opt.size()) + "/" + std::to_string(ip.max.size()) +
                ") or name do not match the input (rank " + std::to_string(shape.size()) +
                "); the engine is corrupt, rebuild it");
      for (size_t d = 0; d < shape.size(); ++d) {
        const int64_t lo = ip.min[d], mid = ip.opt[d], hi = ip.max[d];
        if (lo < 0 || lo > mid || mid > hi)
          invalid(where + ", dimension " + std::to_string(d) + ": needs 0 <= min <= opt <= max but has min/opt/max " +
                  triple(lo, mid, hi) + "; the engine is corrupt, rebuild it");
        if (shape[d] >= 0 && (lo != shape[d] || mid != shape[d] || hi != shape[d]))
          invalid(where + ", dimension " + std::to_string(d) + ": fixed at " + std::to_string(shape[d]) +
                  " but the profile gives min/opt/max " + triple(lo, mid, hi) + "; the engine is corrupt, rebuild it");
        if (shape[d] < -1)
          invalid("input '" + t.name + "' has dimension " + std::to_string(shape[d]) + "; the engine is corrupt, rebuild it");
      }
      // A shape tensor's values size what the graph computes: as many as it has elements,
      // ordered; any other input has none.
      const size_t values = t.isShapeTensor ? static_cast<size_t>(volume(shape)) : 0;
      if (ip.minValues.size() != values || ip.optValues.size() != values || ip.maxValues.size() != values)
        invalid(where + ": it has " + std::to_string(ip.minValues.size()) + "/" + std::to_string(ip.optValues.size()) +
                "/" + std::to_string(ip.maxValues.size()) + " min/opt/max shape values but needs " +
                std::to_string(values) + "; the engine is corrupt, rebuild it");
      for (size_t k = 0; k < values; ++k) {
        const int64_t lo = ip.minValues[k], mid = ip.optValues[k], hi = ip.maxValues[k];
        const bool int32 = t.dtype == DataType::kInt32;
        if (lo > mid || mid > hi || (int32 && (lo < INT32_MIN || hi > INT32_MAX)))
          invalid(where + ", value " + std::to_string(k) + ": needs min <= opt <= max within the input's type but has " +
                  triple(lo, mid, hi) + "; the engine is corrupt, rebuild it");
      }
    }
  }
  for (size_t i = numInputs; i < data_.ioTensors.size(); ++i)
    for (int64_t d : data_.ioTensors[i].shape)
      if (d < -1)
        invalid("output '" + data_.ioTensors[i].name + "' has dimension " + std::to_string(d) +
                "; the engine is corrupt, rebuild it");

  // Run the graph at each profile's min and max shapes: the io table must agree with what the
  // graph computes there (a forged table would make execute size buffers for shapes the
  // kernels never produce), and no tensor may exceed maxTensorBytes. The fold limit is the
  // parser's, so this evaluates only tiny shape subgraphs.
  constexpr size_t kCheckFoldLimitBytes = 64 * 1024;
  ShapeInference check(graph, kCheckFoldLimitBytes, maxTensorBytes_);
  for (size_t p = 0; p < data_.profiles.size(); ++p) {
    for (int end = 0; end < 2; ++end) {
      std::vector<Dims> shapes;
      std::vector<std::vector<int64_t>> values;
      for (const InputProfile& ip : data_.profiles[p].inputs) {
        shapes.push_back(end ? ip.max : ip.min);
        values.push_back(end ? ip.maxValues : ip.minValues);
      }
      const std::string at = "optimization profile " + std::to_string(p) + " (" + (end ? "max" : "min") + " shapes)";
      try {
        check.run(shapes, &values);
      } catch (const TensorLimitError& e) {
        // Too large for this process's limit is the user's call (raise it), not a corrupt file.
        throw BackendError(ErrorCode::kShape, "the sim engine needs, at " + at + ", " + e.what());
      } catch (const BackendError& e) {
        invalid(at + ": " + e.what() + "; rebuild the engine");
      }
      // What execute will allocate is bounded by what the engine declares: a forged profile
      // with larger max shapes, or a graph edited to compute more, would otherwise make a
      // few-hundred-byte engine allocate and compute gigabytes at run time.
      const uint64_t needed = check.executionBytes();
      if (end && needed > data_.deviceMemorySize)
        invalid("its graph needs " + (needed == UINT64_MAX ? std::string("more than 2^64") : std::to_string(needed)) +
                " bytes of execution memory at " + at + " but the engine declares " +
                std::to_string(data_.deviceMemorySize) + "; the engine is corrupt or forged, rebuild it");
      for (size_t o = 0; o < graph.outputs.size(); ++o) {
        const TensorDesc& t = data_.ioTensors[numInputs + o];
        const ValueState& s = check.value(graph.outputs[o]);
        if (!shapeAgrees(t.shape, s.shape))
          invalid("output '" + t.name + "' is declared " + dimsToString(t.shape) + " but its graph computes " +
                  dimsToString(s.shape) + " at " + at + "; the engine is corrupt or forged, rebuild it");
        if (s.dtype != t.dtype)
          invalid("output '" + t.name + "' is declared " + dataTypeName(t.dtype) + " but its graph computes " +
                  dataTypeName(s.dtype) + "; the engine is corrupt or forged, rebuild it");
      }
    }
  }

  std::vector<Dims> shapes;
  for (size_t i = 0; i < numInputs; ++i) shapes.push_back(data_.ioTensors[i].shape);
  constants_ = std::make_unique<ShapeInference>(graph, kLoadFoldLimitBytes, maxTensorBytes_);
  try {
    constants_->run(shapes);
  } catch (const BackendError& e) {
    invalid(std::string(e.what()) + "; rebuild the engine");
  }
  for (size_t o = 0; o < graph.outputs.size(); ++o) {
    const TensorDesc& t = data_.ioTensors[numInputs + o];
    const Dims& computed = constants_->value(graph.outputs[o]).shape;
    if (!shapeAgrees(t.shape, computed))
      invalid("output '" + t.name + "' is declared " + dimsToString(t.shape) + " but its graph computes " +
              dimsToString(computed) + "; the engine is corrupt or forged, rebuild it");
  }
}

InputProfile SimEngine::profileShapes(int32_t profile, const std::string& input) const {
  if (profile < 0 || profile >= numOptimizationProfiles())
    throw BackendError(ErrorCode::kInvalidArgument, "optimization profile " + std::to_string(profile) +
                                                        " does not exist; the engine has " +
                                                        std::to_string(numOptimizationProfiles()));
  for (const InputProfile& ip : data_.profiles[static_cast<size_t>(profile)].inputs)
    if (ip.input == input) return ip;
  throw BackendError(ErrorCode::kInvalidArgument, "'" + input + "' is not an input of the engine");
}

namespace {

// The ops TensorRT runs in int8 under the kINT8 flag (and whose inputs explicit quantization
// wraps in Q/DQ). `weight` is the input holding the weights, `axis` its output-channel axis
// (-1: the last); activations are the other data inputs.
struct QuantizableOp {
  const char* opType;
  int32_t weight;
  std::vector<int32_t> data;
};
const QuantizableOp* quantizableOp(const Node& node) {
  static const QuantizableOp kOps[] = {
      {"Conv", 1, {0}}, {"ConvTranspose", 1, {0}}, {"Gemm", 1, {0, 1}}, {"MatMul", 1, {0, 1}}};
  if (!node.domain.empty() && node.domain != "ai.onnx") return nullptr;
  for (const auto& op : kOps)
    if (node.opType == op.opType) return &op;
  return nullptr;
}

// The output-channel axis of a weight: axis 0 of a Conv kernel [M, C/g, k...], axis 1 of a
// ConvTranspose kernel [C, M/g, k...], N of Gemm's B ([K, N], or [N, K] with transB) and of
// MatMul's B [..., K, N].
int64_t outputChannelAxis(const Node& node, size_t rank) {
  if (node.opType == "Conv") return 0;
  if (node.opType == "ConvTranspose") return 1;
  if (node.opType == "Gemm") return node.attrInt("transB", 0) != 0 ? 0 : 1;
  return static_cast<int64_t>(rank) - 1;
}

// Symmetric per-channel int8: scale_c = max|w_c| / 127, w -> round(w / scale_c) * scale_c,
// the weight TensorRT's int8 kernels effectively multiply by.
std::vector<float> quantizePerChannel(const float* w, const Dims& shape, int64_t axis) {
  const int64_t count = volume(shape);
  std::vector<float> out(w, w + count);
  if (shape.empty() || count <= 0) return out;
  int64_t outer = 1, inner = 1;
  for (int64_t d = 0; d < axis; ++d) outer *= shape[static_cast<size_t>(d)];
  for (size_t d = static_cast<size_t>(axis) + 1; d < shape.size(); ++d) inner *= shape[d];
  const int64_t channels = shape[static_cast<size_t>(axis)];
  for (int64_t c = 0; c < channels; ++c) {
    float maxAbs = 0.0f;
    for (int64_t o = 0; o < outer; ++o)
      for (int64_t i = 0; i < inner; ++i) maxAbs = std::max(maxAbs, std::fabs(w[(o * channels + c) * inner + i]));
    if (!(maxAbs > 0.0f) || !std::isfinite(maxAbs)) continue;
    const float scale = maxAbs / 127.0f;
    for (int64_t o = 0; o < outer; ++o)
      for (int64_t i = 0; i < inner; ++i) {
        float& v = out[static_cast<size_t>((o * channels + c) * inner + i)];
        v = std::clamp(std::nearbyint(v / scale), -127.0f, 127.0f) * scale;
      }
  }
  return out;
}

}  // namespace

void SimEngine::planPrecision() {
  // Activations are listed for every engine: calibration observes them on the float engine.
  const bool reduced = data_.fp16 || data_.int8;
  std::map<std::string, float> scales(data_.int8Scales.begin(), data_.int8Scales.end());
  const Graph& graph = data_.graph;
  for (Step& step : steps_) {
    const QuantizableOp* op = quantizableOp(*step.node);
    if (!op) continue;
    for (int32_t k : op->data) {
      if (static_cast<size_t>(k) >= step.node->inputs.size()) continue;
      const int32_t id = step.node->inputs[static_cast<size_t>(k)];
      if (id < 0) continue;
      const ValueState& s = constants_->value(id);
      if (s.data) continue;  // a constant: a weight, handled below
      if (s.defined && s.dtype != DataType::kFloat32) continue;
      auto found = scales.find(graph.values[static_cast<size_t>(id)].name);
      step.activations.push_back({k, id, found == scales.end() ? -1.0f : found->second});
    }
    const size_t w = static_cast<size_t>(op->weight);
    if (!reduced || w >= step.node->inputs.size() || step.node->inputs[w] < 0) continue;
    const int32_t wid = step.node->inputs[w];
    const ValueState& ws = constants_->value(wid);
    if (!ws.data || ws.dtype != DataType::kFloat32 || reducedWeights_.count(wid)) continue;
    const auto* values = static_cast<const float*>(ws.data);
    if (data_.int8) {
      reducedWeights_[wid] = quantizePerChannel(values, ws.shape, outputChannelAxis(*step.node, ws.shape.size()));
    } else {
      std::vector<float> rounded(values, values + volume(ws.shape));
      for (float& v : rounded) v = halfToFloat(floatToHalf(v));
      reducedWeights_[wid] = std::move(rounded);
    }
  }
  if (!data_.int8) return;
  size_t calibrated = 0, total = 0;
  for (const Step& step : steps_)
    for (const QuantInput& q : step.activations) {
      ++total;
      if (q.scale >= 0.0f) ++calibrated;
    }
  logTo(log_, Severity::kVerbose,
        "[sim] int8: " + std::to_string(calibrated) + " of " + std::to_string(total) +
            " activation inputs have calibrated scales, " + std::to_string(reducedWeights_.size()) +
            " weights quantized per output channel");
}

std::string SimEngine::engineInformation() const { return engineInformationJson(*this); }

std::unique_ptr<ExecutionContext> SimEngine::createExecutionContext() {
  return std::make_unique<SimExecutionContext>(shared_from_this());
}

}  // namespace sim
}  // namespace tnrt
