// If, in the flattened form the ONNX reader produces: the nodes of both branches live in the
// one graph, each guarded by the condition (see kGuardAttr in graph.h), and the If node itself
// merges them: its inputs are [cond, then outputs..., else outputs...], its outputs the If's.
// The executor runs only the taken branch's nodes; this kernel copies the taken outputs.
//
// Shapes: with the condition known (a constant, or at run time) the outputs have the taken
// branch's shapes, so a constant-condition If may have branches of different ranks, as
// onnx-tensorrt imports only the taken branch then. With the condition unknown (at parse and
// build time) both branches must agree on element types and ranks, as TensorRT requires; a
// dim the branches disagree on is dynamic (-1) and fixed at run time.
#include <cstring>

#include "../shape_inference.h"
#include "kernel_util.h"

namespace tnrt {
namespace sim {

namespace {

size_t branchOutputs(const Node& node, const std::vector<ValueRef>& in, size_t numOutputs) {
  if (in.empty() || in.size() != 1 + 2 * numOutputs)
    throwShape(node, "is not in the sim's flattened form (condition, then outputs, else outputs); the model's If "
                     "needs then_branch and else_branch graph attributes with one output per If output");
  return numOutputs;
}

void inferIf(const Node& node, const std::vector<ValueRef>& in, std::vector<OutputDesc>* out) {
  const size_t k = branchOutputs(node, in, out->size());
  const ValueRef& cond = in[0];
  if (cond.dtype != DataType::kBool)
    throwDType(node, std::string("the condition must be bool but is ") + dataTypeName(cond.dtype));
  for (int64_t d : *cond.shape)
    if (d >= 0 && d != 1) throwShape(node, "the condition must hold one element but has shape " + dimsToString(*cond.shape));
  if (cond.data) {
    const bool taken = readCondition(node, cond.dtype, *cond.shape, cond.data, true);
    for (size_t o = 0; o < k; ++o) {
      const ValueRef& v = in[taken ? 1 + o : 1 + k + o];
      (*out)[o].dtype = v.dtype;
      (*out)[o].shape = *v.shape;
    }
    return;
  }
  for (size_t o = 0; o < k; ++o) {
    const ValueRef& a = in[1 + o];
    const ValueRef& b = in[1 + k + o];
    if (a.dtype != b.dtype)
      throwDType(node, "output " + std::to_string(o) + " is " + dataTypeName(a.dtype) + " in then_branch but " +
                           dataTypeName(b.dtype) + " in else_branch");
    if (a.shape->size() != b.shape->size())
      throwShape(node, "output " + std::to_string(o) + " has rank " + std::to_string(a.shape->size()) +
                           " in then_branch but " + std::to_string(b.shape->size()) +
                           " in else_branch; TensorRT requires both branches to produce the same rank when the "
                           "condition is not a build-time constant");
    Dims merged = *a.shape;
    for (size_t d = 0; d < merged.size(); ++d)
      if (merged[d] != (*b.shape)[d]) merged[d] = -1;
    (*out)[o].dtype = a.dtype;
    (*out)[o].shape = merged;
  }
}

void runIf(const Node& node, const std::vector<ValueRef>& in, const std::vector<OutputRef>& out, KernelScratch&) {
  const size_t k = out.size();
  const bool taken = readCondition(node, in[0].dtype, *in[0].shape, in[0].data, true);
  for (size_t o = 0; o < k; ++o) {
    const ValueRef& v = in[taken ? 1 + o : 1 + k + o];
    const size_t bytes = dataTypeBytes(out[o].dtype, volume(*out[o].shape));
    if (bytes && out[o].data != v.data) std::memmove(out[o].data, v.data, bytes);
  }
}

}  // namespace

void registerControlFlowOps(OpRegistry& registry) {
  // Opset 11 let the branches' output shapes differ, 13 and 16 widened the types (sequences,
  // optionals) to ones TensorRT has no tensors of. The reader checks the ONNX node (one input,
  // two graph attributes) and rewrites it as [cond, then outputs..., else outputs...].
  registry.add({"If", 1, kMaxReviewedOpset, inferIf, runIf, false, 1, kVariadicInputs, {{1, 1, kVariadicInputs}}});
}

}  // namespace sim
}  // namespace tnrt
