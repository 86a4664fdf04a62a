#include "shape_tensors.h"


namespace tnrt {
namespace sim {

namespace {

// The operands whose values set an output shape, by operator (ONNX input positions). Slice's
// operands are inputs from opset 10 and Pad's from 11; before that they are attributes and the
// positions do not exist, so an older node contributes nothing here.
bool isShapeOperand(const Node& node, size_t input) {
  const std::string& op = node.opType;
  if (!node.domain.empty() && node.domain != "ai.onnx") return false;
  if (op == "Reshape" || op == "Expand" || op == "Tile") return input == 1;
  if (op == "ConstantOfShape") return input == 0;
  if (op == "Slice") return input >= 1 && input <= 4;
  if (op == "Pad") return input == 1;
  if (op == "Resize") return input == 3;
  return false;
}

// Operators whose output depends on the shape of an input but not on its values.
bool readsOnlyShape(const Node& node) { return node.opType == "Shape" || node.opType == "Size"; }

}  // namespace

bool canBeShapeTensor(DataType dtype, const Dims& shape) {
  if (dtype != DataType::kInt32 && dtype != DataType::kInt64) return false;
  if (shape.size() > 1) return false;
  return shape.empty() || shape[0] >= 0;
}

std::vector<std::string> findShapeTensorInputs(const Graph& graph) {
  // Walk back from every shape operand through the producers of the values that feed it. Nodes
  // are topologically sorted, so one pass from the last node to the first sees every consumer
  // of a value before its producer.
  std::vector<std::string> reason(graph.values.size());
  std::vector<int32_t> producer(graph.values.size(), -1);
  for (size_t n = 0; n < graph.nodes.size(); ++n)
    for (int32_t id : graph.nodes[n].outputs)
      if (id >= 0) producer[static_cast<size_t>(id)] = static_cast<int32_t>(n);
  for (size_t n = graph.nodes.size(); n-- > 0;) {
    const Node& node = graph.nodes[n];
    // Reached when one of this node's outputs feeds a shape operand further on.
    std::string inherited;
    for (int32_t id : node.outputs)
      if (id >= 0 && !reason[static_cast<size_t>(id)].empty()) inherited = reason[static_cast<size_t>(id)];
    for (size_t k = 0; k < node.inputs.size(); ++k) {
      const int32_t id = node.inputs[k];
      if (id < 0 || !reason[static_cast<size_t>(id)].empty()) continue;
      if (isShapeOperand(node, k)) reason[static_cast<size_t>(id)] = node.label();
      else if (!inherited.empty() && !readsOnlyShape(node)) reason[static_cast<size_t>(id)] = inherited;
    }
  }
  std::vector<std::string> out;
  out.reserve(graph.inputs.size());
  for (int32_t id : graph.inputs) {
    const Value& v = graph.values[static_cast<size_t>(id)];
    const std::string& why = reason[static_cast<size_t>(id)];
    out.push_back(!why.empty() && canBeShapeTensor(v.dtype, v.shape) ? why : std::string());
  }
  return out;
}

}  // namespace sim
}  // namespace tnrt
