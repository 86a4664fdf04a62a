#include "op_registry.h"

#include <algorithm>
#include <stdexcept>

namespace tnrt {
namespace sim {

const OpRegistry& OpRegistry::instance() {
  static const OpRegistry registry = [] {
    OpRegistry r;
    registerElementwiseOps(r);
    registerActivationOps(r);
    registerMatMulOps(r);
    registerSoftmaxOps(r);
    registerShapeOps(r);
    registerConcatSplitOps(r);
    registerSlicePadOps(r);
    registerGatherExpandOps(r);
    registerResizeOps(r);
    registerCastQuantOps(r);
    registerConvOps(r);
    registerPoolOps(r);
    registerReduceOps(r);
    registerNormalizationOps(r);
    registerLogicOps(r);
    registerUnaryMathOps(r);
    registerIndexingOps(r);
    registerGeneratorOps(r);
    registerControlFlowOps(r);
    registerRnnOps(r);
    registerSelectionOps(r);
    registerEinsumOps(r);
    registerRandomOps(r);
    registerRoiGridOps(r);
    registerDeformConvOps(r);
    registerLoopScanOps(r);
    return r;
  }();
  return registry;
}

const InputArity& OpDef::inputArity(int64_t opset) const {
  // add() guarantees a first entry at or below minOpset, and find() only hands out defs for
  // opsets in range, so some entry always applies.
  size_t k = 0;
  while (k + 1 < inputs.size() && inputs[k + 1].sinceOpset <= opset) ++k;
  return inputs[k];
}

void OpRegistry::add(OpDef def) {
  bool ordered = !def.inputs.empty() && def.inputs.front().sinceOpset <= def.minOpset;
  for (size_t k = 0; ordered && k < def.inputs.size(); ++k) {
    const InputArity& a = def.inputs[k];
    ordered = a.minInputs >= 0 && a.minInputs <= a.maxInputs && (k == 0 || a.sinceOpset > def.inputs[k - 1].sinceOpset);
  }
  if (!ordered)
    throw std::logic_error("op registry: " + def.opType + " needs input counts ordered by opset, starting at opset " +
                           std::to_string(def.minOpset));
  std::string key = def.opType;
  ops_[key] = std::move(def);
}

std::vector<std::string> OpRegistry::opTypes() const {
  std::vector<std::string> names;
  for (const auto& entry : ops_) names.push_back(entry.first);
  std::sort(names.begin(), names.end());
  return names;
}

const OpDef* OpRegistry::findAnyOpset(const std::string& opType) const {
  auto it = ops_.find(opType);
  return it == ops_.end() ? nullptr : &it->second;
}

namespace {

// The 150 operators TensorRT 10's ONNX parser imports (the "Y" rows of onnx-tensorrt's
// docs/operators.md, release 10.x), so that a model the sim cannot run says whether TensorRT
// can. Some have restrictions there (types, constant inputs) that the message does not repeat.
const char* const kTensorRTOnnxOps[] = {
    "Abs", "Acos", "Acosh", "Add", "And", "ArgMax", "ArgMin", "Asin", "Asinh", "Atan", "Atanh", "AveragePool",
    "BatchNormalization", "Cast", "CastLike", "Ceil", "Celu", "Clip", "Concat", "Constant", "ConstantOfShape",
    "Conv", "ConvTranspose", "Cos", "Cosh", "CumSum", "DeformConv", "DepthToSpace", "DequantizeLinear", "Div",
    "Dropout", "Einsum", "Elu", "Equal", "Erf", "Exp", "Expand", "EyeLike", "Flatten", "Floor", "Gather",
    "GatherElements", "GatherND", "Gelu", "Gemm", "GlobalAveragePool", "GlobalLpPool", "GlobalMaxPool",
    "Greater", "GreaterOrEqual", "GridSample", "GroupNormalization", "GRU", "HardSigmoid", "HardSwish",
    "Hardmax", "Identity", "If", "ImageScaler", "InstanceNormalization", "IsInf", "IsNaN",
    "LayerNormalization", "LeakyRelu", "Less", "LessOrEqual", "Log", "LogSoftmax", "Loop", "LRN", "LSTM",
    "LpNormalization", "LpPool", "MatMul", "Max", "MaxPool", "Mean", "MeanVarianceNormalization", "Min",
    "Mish", "Mod", "Mul", "Neg", "NonMaxSuppression", "NonZero", "Not", "OneHot", "Or", "Pad",
    "ParametricSoftplus", "Pow", "PRelu", "QuantizeLinear", "RandomNormal", "RandomNormalLike",
    "RandomUniform", "RandomUniformLike", "Range", "Reciprocal", "ReduceL1", "ReduceL2", "ReduceLogSum",
    "ReduceLogSumExp", "ReduceMax", "ReduceMean", "ReduceMin", "ReduceProd", "ReduceSum", "ReduceSumSquare",
    "Relu", "Reshape", "Resize", "ReverseSequence", "RNN", "RoiAlign", "Round", "ScaledTanh", "Scan",
    "Scatter", "ScatterElements", "ScatterND", "Selu", "Shape", "Shrink", "Sigmoid", "Sign", "Sin", "Sinh",
    "Size", "Slice", "Softmax", "Softplus", "Softsign", "SpaceToDepth", "Split", "Sqrt", "Squeeze", "Sub",
    "Sum", "Tan", "Tanh", "ThresholdedRelu", "Tile", "TopK", "Transpose", "Trilu", "Unsqueeze", "Upsample",
    "Where", "Xor",
};

bool tensorRTSupports(const std::string& opType) {
  for (const char* op : kTensorRTOnnxOps)
    if (opType == op) return true;
  return false;
}

std::string countRange(int32_t lo, int32_t hi) {
  if (lo == hi) return std::to_string(lo);
  if (hi == kVariadicInputs) return std::to_string(lo) + " or more";
  return std::to_string(lo) + " to " + std::to_string(hi);
}

// Empty when `node` lists the inputs `op` takes at its opset; otherwise why not. Shape
// inference and the kernels index required inputs without looking, so a node that lacks one
// (a DequantizeLinear with no inputs, from a fuzzer or a broken exporter) must stop here.
std::string checkInputs(const Node& node, const OpDef& op) {
  const InputArity& arity = op.inputArity(node.opset);
  const auto count = static_cast<int64_t>(node.inputs.size());
  const std::string spec = node.opType + " (opset " + std::to_string(node.opset) + ") takes " +
                           countRange(arity.minInputs, arity.maxInputs) + " input" +
                           (arity.maxInputs == 1 ? "" : "s");
  if (count < arity.minInputs || count > arity.maxInputs)
    return node.label() + " has " + std::to_string(count) + " input" + (count == 1 ? "" : "s") + "; " + spec +
           " in the ONNX spec; fix the model's node or the opset it imports";
  for (int32_t i = 0; i < arity.minInputs; ++i)
    if (node.inputs[static_cast<size_t>(i)] < 0)
      return node.label() + " leaves input " + std::to_string(i) + " empty, but it is required: " + spec +
             ", of which the first " + std::to_string(arity.minInputs) + " must be given";
  return {};
}

}  // namespace

const OpDef* OpRegistry::find(const std::string& domain, const std::string& opType, int64_t opset) const {
  if (!domain.empty()) return nullptr;  // custom domains (com.microsoft, ...) have no sim kernels
  auto it = ops_.find(opType);
  if (it == ops_.end()) return nullptr;
  if (opset < it->second.minOpset || opset > it->second.maxOpset) return nullptr;
  return &it->second;
}

std::string OpRegistry::unsupportedMessage(const Node& node) const {
  std::string where = "node '" + node.name + "': ";
  if (!node.domain.empty())
    return where + "operator '" + node.opType + "' of domain '" + node.domain +
           "' is not supported by the sim backend (only the default ONNX domain is)";
  std::string description = where + "operator '" + node.opType + "' (opset " + std::to_string(node.opset) +
                            ") is not supported by the sim backend";
  auto it = ops_.find(node.opType);
  if (it != ops_.end())
    description += "; it supports opsets " + std::to_string(it->second.minOpset) + " to " +
                   std::to_string(it->second.maxOpset);
  if (tensorRTSupports(node.opType))
    description += "; TensorRT's ONNX parser supports it (onnx-tensorrt's operator list for TensorRT 10), so the "
                   "'tensorrt' backend can build this model where TensorRT is installed";
  else
    description += "; TensorRT's ONNX parser does not support it either";
  return description;
}

bool OpRegistry::checkGraph(const Graph& graph, std::vector<ParserError>* errors) const {
  bool ok = true;
  for (size_t i = 0; i < graph.nodes.size(); ++i) {
    const Node& node = graph.nodes[i];
    if (const OpDef* op = find(node.domain, node.opType, node.opset)) {
      std::string problem = checkInputs(node, *op);
      const auto outs = static_cast<int32_t>(node.outputs.size());
      if (problem.empty() && (outs < op->minOutputs || outs > op->maxOutputs))
        problem = node.label() + " has " + std::to_string(outs) + " outputs; " + node.opType + " produces " +
                  std::to_string(op->minOutputs) +
                  (op->maxOutputs != op->minOutputs ? " to " + std::to_string(op->maxOutputs) : "");
      if (problem.empty()) continue;
      ok = false;
      errors->push_back({node.name, static_cast<int32_t>(i), node.opType, std::move(problem)});
      continue;
    }
    ok = false;
    errors->push_back({node.name, static_cast<int32_t>(i), node.opType, unsupportedMessage(node)});
  }
  // Nodes of subgraphs the sim does not run (Loop and Scan bodies): named when unsupported
  // too, so one parse lists everything a model needs.
  for (const Node& node : graph.nestedNodes) {
    if (find(node.domain, node.opType, node.opset)) continue;
    ok = false;
    errors->push_back({node.name, -1, node.opType, unsupportedMessage(node)});
  }
  return ok;
}

}  // namespace sim
}  // namespace tnrt
