// A Loop or Scan body, read again from the GraphProto bytes the ONNX reader kept in the node's
// `body` attribute, and a small executor for it. The body is a graph of its own (If inside it
// flattened with guards, as in the main graph; Loop and Scan inside it are nodes that hold
// their own bodies), so nesting to any depth needs nothing more here.
//
// Reading and checking a body costs far more than one small iteration, so an execution context
// prepares each body once and keeps it (SubgraphCache) across iterations, calls and, for a body
// nested in another, the outer body's iterations. A prepared body holds per-run buffers, so it
// belongs to one context, which runs one call at a time; contexts never share one.
#pragma once

#include <memory>
#include <string>
#include <unordered_map>
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

  // Host bytes the buffers kept between runs hold.
  uint64_t hostBytes() const;

 private:
  void checkInputs(const std::vector<ValueRef>& inputs) const;

  const Node& owner_;
  std::unique_ptr<Graph> graph_;
  std::vector<const OpDef*> ops_;             // per body node
  std::vector<std::vector<Guard>> guards_;    // per body node: its If conditions, outermost first
  // Per body value: current dtype, shape, data; storage for computed values.
  std::vector<ValueRef> refs_;
  std::vector<Dims> shapes_;
  std::vector<std::vector<uint8_t>> storage_;
  std::vector<ValueRef> outputs_;
  // One node's arguments, reused from node to node and run to run.
  std::vector<ValueRef> ins_;
  std::vector<OutputDesc> descs_;
  std::vector<OutputRef> outs_;
  std::vector<std::vector<uint8_t>> omitted_;
  KernelScratch scratch_;
};

// The bodies one execution context has prepared, by owning node. A node is the key: the
// engine's nodes live as long as the engine the context holds, and a nested body's nodes as
// long as the prepared body that holds them, which this cache keeps.
class SubgraphCache {
 public:
  // `owner`'s body, prepared on first use. Throws as Subgraph's constructor.
  Subgraph& get(const Node& owner);
  uint64_t hostBytes() const;

 private:
  std::unordered_map<const Node*, std::unique_ptr<Subgraph>> bodies_;
};

// Makes `cache` the one Loop and Scan use on the calling thread while it lives (an execution
// context sets it for one call; nesting restores the outer one). Infer functions have no
// context argument, and Loop's infer runs the loop at run time, hence a thread-local.
class ActiveSubgraphCache {
 public:
  explicit ActiveSubgraphCache(SubgraphCache& cache);
  ~ActiveSubgraphCache();
  ActiveSubgraphCache(const ActiveSubgraphCache&) = delete;
  ActiveSubgraphCache& operator=(const ActiveSubgraphCache&) = delete;

 private:
  SubgraphCache* saved_;
};

// `owner`'s body: the active cache's, else (shape inference while building) one read now and
// kept in `*local` for the caller's use.
Subgraph& preparedBody(const Node& owner, std::unique_ptr<Subgraph>* local);

}  // namespace sim
}  // namespace tnrt
