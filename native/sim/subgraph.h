// A Loop or Scan body, read again from the GraphProto bytes the ONNX reader kept in the node's
// `body` attribute, and a small executor for it. The body is a graph of its own (If inside it
// flattened with guards, as in the main graph; Loop and Scan inside it are nodes that hold
// their own bodies), so nesting to any depth needs nothing more here.
#pragma once

#include <memory>
#include <string>
#include <vector>

#include "graph.h"
#include "op_registry.h"

namespace tnrt {
namespace sim {

// A tensor the body executor owns (values carried from one iteration to the next, results).
struct OwnedTensor {
  DataType dtype = DataType::kFloat32;
  Dims shape;
  std::vector<uint8_t> data;
  ValueRef ref() const;
};

class Subgraph {
 public:
  // Reads `owner`'s body. Throws BackendError (kParse) naming the node when the bytes are not
  // a body the reader accepts (a forged engine can hold anything there).
  explicit Subgraph(const Node& owner);

  // The body's declared inputs; graph().inputs holds these, then the outer-scope values.
  size_t numDeclaredInputs() const { return graph_->inputs.size() - graph_->numOuterInputs; }
  size_t numOuterInputs() const { return graph_->numOuterInputs; }
  size_t numOutputs() const { return graph_->outputs.size(); }

  // The body's output dtypes and shapes (-1 where unknown) for inputs parallel to
  // graph().inputs, from static shape inference; data is not used.
  std::vector<OutputDesc> inferOutputs(const std::vector<ValueRef>& inputs);

  // Runs the body once on `inputs` (parallel to graph().inputs, all with data). The returned
  // references point into this object's storage and stay valid until the next run().
  const std::vector<ValueRef>& run(const std::vector<ValueRef>& inputs);

 private:
  void checkInputs(const std::vector<ValueRef>& inputs) const;

  const Node& owner_;
  std::unique_ptr<Graph> graph_;
  std::vector<const OpDef*> ops_;  // per body node
  // Per body value: current dtype, shape, data; storage for computed values.
  std::vector<ValueRef> refs_;
  std::vector<Dims> shapes_;
  std::vector<std::vector<uint8_t>> storage_;
  std::vector<ValueRef> outputs_;
  KernelScratch scratch_;
};

}  // namespace sim
}  // namespace tnrt
