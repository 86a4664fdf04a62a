// Static shape inference over a Graph: dtypes and shapes of every tensor for given input
// shapes (-1 where dynamic), plus the contents of tensors computable ahead of time (constants
// and nodes whose inputs are all constant, "folding"). The builder runs it at each profile's
// min and max, the parser with the declared shapes, and the engine once at load time to fold
// constants out of the run-time loop.
#pragma once

#include <vector>

#include "checked_math.h"
#include "graph.h"
#include "op_registry.h"

namespace tnrt {
namespace sim {

struct ValueState {
  DataType dtype = DataType::kFloat32;
  Dims shape;
  const void* data = nullptr;  // set when the contents are known ahead of run time
  bool defined = false;
};

class ShapeInference {
 public:
  // Nodes whose inputs are all known get evaluated when their outputs total at most
  // `foldLimitBytes` (0 folds nothing but Constant-free shapes). Any tensor (constant, input
  // or layer output) whose size is known and exceeds `maxTensorBytes` is a kShape error before
  // anything is allocated for it; so is a layer whose scratch memory exceeds
  // `workspaceBytes` (kNoWorkspaceLimit: the scratch is then held to maxTensorBytes).
  static constexpr uint64_t kNoWorkspaceLimit = UINT64_MAX;
  ShapeInference(const Graph& graph, size_t foldLimitBytes, uint64_t maxTensorBytes = kDefaultMaxTensorBytes,
                 uint64_t workspaceBytes = kNoWorkspaceLimit);
  ShapeInference(const ShapeInference&) = delete;
  ShapeInference& operator=(const ShapeInference&) = delete;

  // `inputShapes` is parallel to graph.inputs. Throws BackendError naming the failing node;
  // failedNode() then gives its index. `inputValues`, when given, is parallel too: a non-empty
  // entry is the contents of an int32/int64 input (a shape tensor at a profile's min or max
  // values), so that the shapes it decides are known here instead of only at run time.
  void run(const std::vector<Dims>& inputShapes, const std::vector<std::vector<int64_t>>* inputValues = nullptr);

  const ValueState& value(int32_t id) const { return values_[static_cast<size_t>(id)]; }
  bool folded(size_t nodeIndex) const { return folded_[nodeIndex]; }
  int32_t failedNode() const { return failedNode_; }
  // Peak bytes of intermediate tensors alive at once (liveness over the node order), with
  // unknown dims counted as 0. Inputs, outputs, constants and aliases take no engine memory.
  uint64_t peakActivationBytes() const;
  // Bytes held by the values folded ahead of run time.
  uint64_t foldedBytes() const;
  // A bound on what the sim's execution context allocates for these shapes: every output of
  // every layer not folded (aliases excepted; the context pools them by liveness, so it needs
  // at most this), plus the largest scratch a layer declares. UINT64_MAX on overflow. The
  // engine declares it as its device memory size, and a load refuses an engine whose graph
  // needs more than it declares.
  uint64_t executionBytes() const;

 private:
  const Graph& graph_;
  size_t foldLimit_;
  uint64_t maxTensorBytes_;
  uint64_t workspaceBytes_;
  std::vector<ValueState> values_;
  std::vector<std::vector<uint8_t>> foldedData_;
  std::vector<std::vector<uint8_t>> inputData_;  // contents of inputs given values
  std::vector<bool> fromInput_;                   // per value: computed from inputData_
  std::vector<bool> folded_;
  size_t foldedBytes_ = 0;
  uint64_t maxScratchBytes_ = 0;
  int32_t failedNode_ = -1;
  KernelScratch scratch_;
};

// Volume of a shape with every dim known, or -1 when a dim is unknown or the product would
// exceed 2^62 elements (so callers never compute with an overflowed size).
int64_t safeVolume(const Dims& shape);

// A tensor larger than the maxTensorBytes rule allows (or too large to size at all): kShape,
// told apart so that an engine load reports it as the user's limit, not as a corrupt file.
class TensorLimitError : public BackendError {
 public:
  explicit TensorLimitError(const std::string& message) : BackendError(ErrorCode::kShape, message) {}
};

// Throws TensorLimitError when a tensor of `dtype` and `shape` (all dims known) cannot be
// sized without overflow or needs more than `maxTensorBytes`. `what` names it ("node 'c'
// (Conv): output 'y'"). Returns the byte count otherwise.
uint64_t checkTensorBytes(const std::string& what, DataType dtype, const Dims& shape, uint64_t maxTensorBytes);

// The same check without building a message unless it fails, for per-call paths: `what()`
// is called only to name the tensor in the error.
template <typename WhatFn>
uint64_t checkTensorBytesLazy(WhatFn&& what, DataType dtype, const Dims& shape, uint64_t maxTensorBytes) {
  uint64_t bytes;
  if (checkedTensorBytes(dtype, shape, &bytes) && bytes <= maxTensorBytes) return bytes;
  return checkTensorBytes(what(), dtype, shape, maxTensorBytes);
}

// Whether an If condition (a bool with one element; else kShape naming `node`) selects the
// branch a guard names (`whenTrue`: then_branch).
bool readCondition(const Node& node, DataType dtype, const Dims& shape, const void* data, bool whenTrue);

// The maxTensorBytes in force on this thread (kDefaultMaxTensorBytes outside any): kernels
// that grow a tensor as they go (Loop's and Scan's stacked outputs) hold it to the limit
// before the executor sees the final shape. ShapeInference::run and the execution context
// set it for their duration with ActiveTensorLimit (nesting restores the outer value).
uint64_t activeMaxTensorBytes();
class ActiveTensorLimit {
 public:
  explicit ActiveTensorLimit(uint64_t maxTensorBytes);
  ~ActiveTensorLimit();
  ActiveTensorLimit(const ActiveTensorLimit&) = delete;
  ActiveTensorLimit& operator=(const ActiveTensorLimit&) = delete;

 private:
  uint64_t saved_;
};

// The message tail that tells the user how to raise the limit.
std::string maxTensorBytesHint();

// A valid, never-dereferenced address for the contents of empty tensors, so that "data is
// known" can always be tested as data != nullptr.
extern const void* const kEmptyTensorData;

}  // namespace sim
}  // namespace tnrt
