// The table of operators the sim can run. Each entry pairs a shape-inference function with a
// kernel and the opset range whose semantics the kernel implements, so adding an operator is
// one new kernels/*.cc function plus one registration line (see README.md).
#pragma once

#include <cstdint>
#include <string>
#include <unordered_map>
#include <vector>

#include "graph.h"

namespace tnrt {
namespace sim {

// One input as an operator sees it. At build time `data` is set only for constants (so that
// e.g. Reshape can resolve its target shape); at run time it is always set.
struct ValueRef {
  DataType dtype = DataType::kFloat32;
  const Dims* shape = nullptr;  // nullptr: an omitted optional input
  const void* data = nullptr;
  bool present() const { return shape != nullptr; }
};

struct OutputDesc {
  DataType dtype = DataType::kFloat32;
  Dims shape;  // -1 where not known before run time
};

struct OutputRef {
  DataType dtype = DataType::kFloat32;
  const Dims* shape = nullptr;
  void* data = nullptr;
};

// Buffers a kernel may use for intermediates (float16 staging, transposed operands). Owned by
// the execution context and reused across calls so that steady-state execution does not
// allocate.
class ThreadPool;
struct PostOp;
struct PackedWeights;

struct KernelScratch {
  std::vector<uint8_t> a, b, c;
  // The context's intra-op threads (the `threads` option); kernels that split their work
  // hand it to sgemm or call it themselves. Null: one thread.
  ThreadPool* pool = nullptr;
  // Set by the executor for a Conv whose activation chain it fused (see
  // SimExecutionContext::planFusion): the kernel applies these to its output.
  const PostOp* post = nullptr;
  int32_t postCount = 0;
  // Set by the executor for a Conv whose weights (input 1) are a constant: storage, kept by
  // the context across calls, where the kernel may keep them packed for its GEMM.
  PackedWeights* packedWeights = nullptr;

  // `buffer` viewed as `count` elements of T, grown (never shrunk) as needed. The vector's
  // storage comes from operator new, which aligns for any fundamental type.
  template <typename T>
  static T* as(std::vector<uint8_t>& buffer, size_t count) {
    if (buffer.size() < count * sizeof(T)) buffer.resize(count * sizeof(T));
    return reinterpret_cast<T*>(buffer.data());
  }
};

// Computes output dtypes and shapes; throws BackendError (kShape, kDType, kUnsupported)
// naming the node when the inputs are not acceptable.
using InferFn = void (*)(const Node& node, const std::vector<ValueRef>& inputs, std::vector<OutputDesc>* outputs);
// Fills the outputs, whose shapes `infer` produced for these same inputs.
using KernelFn = void (*)(const Node& node, const std::vector<ValueRef>& inputs, const std::vector<OutputRef>& outputs,
                          KernelScratch& scratch);

// Scratch bytes for outputs `outputs` (their shapes all known); UINT64_MAX when it overflows.
using ScratchFn = uint64_t (*)(const Node& node, const std::vector<ValueRef>& inputs,
                               const std::vector<OutputDesc>& outputs);

// How many inputs a node may list, from opset `sinceOpset` on (until the next entry's). ONNX
// turned several attributes into inputs (Clip, Pad, Slice, Split, Squeeze, Resize, ...), so
// the count depends on the node's opset. Inputs 0 to minInputs - 1 are required: they must be
// listed and not left empty (""); the others are optional and may be "".
struct InputArity {
  int64_t sinceOpset = 1;
  int32_t minInputs = 1;
  int32_t maxInputs = 1;
};

// maxInputs of a variadic operator (Concat, Sum, Max, ...): ONNX sets no upper bound.
constexpr int32_t kVariadicInputs = INT32_MAX;

struct OpDef {
  std::string opType;
  int64_t minOpset = 1;
  int64_t maxOpset = 1;
  InferFn infer = nullptr;
  KernelFn kernel = nullptr;
  // Output 0 is input 0's bytes under a new shape (Identity, Reshape, Flatten): the executor
  // points the output at the input instead of copying.
  bool aliasesInput0 = false;
  // How many outputs a node of this type may have (checked before anything runs).
  int32_t minOutputs = 1;
  int32_t maxOutputs = 1;
  // The input counts the ONNX spec allows, in ascending sinceOpset with the first entry at or
  // below minOpset. Checked by checkGraph before shape inference, which (like the kernels)
  // then relies on every required input being there.
  std::vector<InputArity> inputs;
  // Bytes of scratch memory the kernel needs beyond its outputs for these shapes (the sim's
  // share of TensorRT's workspace pool), or null when it needs none worth limiting. The
  // builder holds it to the 'workspace' memory pool limit.
  ScratchFn scratchBytes = nullptr;
  // The kernel reads its inputs' shapes only, never their contents (Shape, Size): its output
  // is a constant wherever those shapes are fully known, as TensorRT computes static shapes
  // at build time. This lets If conditions computed from static dims fold to a branch.
  bool readsShapesOnly = false;
  // The kernel draws random numbers (RandomNormal, RandomUniform, ...): without a `seed`
  // attribute each run must draw afresh, so such a node never folds into a constant.
  bool drawsRandomNumbers = false;

  // The entry of `inputs` in force at `opset`.
  const InputArity& inputArity(int64_t opset) const;
};

// The newest default-domain opset whose changes the sim has reviewed.
constexpr int64_t kMaxReviewedOpset = 25;

class OpRegistry {
 public:
  // The process-wide registry, built on first use (thread-safe static initialization).
  static const OpRegistry& instance();

  // nullptr when the sim cannot run `opType` at `opset` in `domain`.
  const OpDef* find(const std::string& domain, const std::string& opType, int64_t opset) const;
  // Appends one ParserError per node the sim cannot run; returns true if all are supported.
  bool checkGraph(const Graph& graph, std::vector<ParserError>* errors) const;

  // Registers `def`; throws std::logic_error when its input counts do not cover its opset
  // range (a registration bug, caught by the first test that touches the registry).
  void add(OpDef def);
  // The registered operator types, sorted (tests sweep every operator with them).
  std::vector<std::string> opTypes() const;
  const OpDef* findAnyOpset(const std::string& opType) const;
  // Why `node` (an operator the sim cannot run at its opset) is refused, and whether
  // TensorRT's ONNX parser supports it.
  std::string unsupportedMessage(const Node& node) const;

 private:
  std::unordered_map<std::string, OpDef> ops_;
};

// Registration hooks, one per kernels/*.cc file.
void registerElementwiseOps(OpRegistry& registry);
void registerActivationOps(OpRegistry& registry);
void registerMatMulOps(OpRegistry& registry);
void registerSoftmaxOps(OpRegistry& registry);
void registerShapeOps(OpRegistry& registry);
void registerConcatSplitOps(OpRegistry& registry);
void registerSlicePadOps(OpRegistry& registry);
void registerGatherExpandOps(OpRegistry& registry);
void registerResizeOps(OpRegistry& registry);
void registerCastQuantOps(OpRegistry& registry);
void registerConvOps(OpRegistry& registry);
void registerPoolOps(OpRegistry& registry);
void registerReduceOps(OpRegistry& registry);
void registerNormalizationOps(OpRegistry& registry);
void registerLogicOps(OpRegistry& registry);
void registerUnaryMathOps(OpRegistry& registry);
void registerIndexingOps(OpRegistry& registry);
void registerGeneratorOps(OpRegistry& registry);
void registerControlFlowOps(OpRegistry& registry);
void registerRnnOps(OpRegistry& registry);
void registerSelectionOps(OpRegistry& registry);
void registerEinsumOps(OpRegistry& registry);
void registerRandomOps(OpRegistry& registry);
void registerRoiGridOps(OpRegistry& registry);
void registerDeformConvOps(OpRegistry& registry);
void registerLoopScanOps(OpRegistry& registry);

}  // namespace sim
}  // namespace tnrt
