#include "op_registry.h"

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
    return r;
  }();
  return registry;
}

void OpRegistry::add(OpDef def) {
  std::string key = def.opType;
  ops_[key] = std::move(def);
}

const OpDef* OpRegistry::find(const std::string& domain, const std::string& opType, int64_t opset) const {
  if (!domain.empty()) return nullptr;  // custom domains (com.microsoft, ...) have no sim kernels
  auto it = ops_.find(opType);
  if (it == ops_.end()) return nullptr;
  if (opset < it->second.minOpset || opset > it->second.maxOpset) return nullptr;
  return &it->second;
}

bool OpRegistry::checkGraph(const Graph& graph, std::vector<ParserError>* errors) const {
  bool ok = true;
  for (size_t i = 0; i < graph.nodes.size(); ++i) {
    const Node& node = graph.nodes[i];
    if (const OpDef* op = find(node.domain, node.opType, node.opset)) {
      const auto outs = static_cast<int32_t>(node.outputs.size());
      if (outs >= op->minOutputs && outs <= op->maxOutputs) continue;
      ok = false;
      errors->push_back({node.name, static_cast<int32_t>(i), node.opType,
                         node.label() + " has " + std::to_string(outs) + " outputs; " + node.opType + " produces " +
                             std::to_string(op->minOutputs) +
                             (op->maxOutputs != op->minOutputs ? " to " + std::to_string(op->maxOutputs) : "")});
      continue;
    }
    ok = false;
    ParserError e;
    e.node = node.name;
    e.nodeIndex = static_cast<int32_t>(i);
    e.op = node.opType;
    std::string where = "node '" + node.name + "': ";
    if (!node.domain.empty()) {
      e.description = where + "operator '" + node.opType + "' of domain '" + node.domain +
                      "' is not supported by the sim backend (only the default ONNX domain is)";
    } else {
      e.description = where + "operator '" + node.opType + "' (opset " + std::to_string(node.opset) +
                      ") is not supported by the sim backend";
      auto it = ops_.find(node.opType);
      if (it != ops_.end())
        e.description += "; it supports opsets " + std::to_string(it->second.minOpset) + " to " +
                         std::to_string(it->second.maxOpset);
    }
    errors->push_back(std::move(e));
  }
  return ok;
}

}  // namespace sim
}  // namespace tnrt
