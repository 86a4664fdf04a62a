#include "shape_inference.h"

#include <algorithm>
#include <cstring>

namespace tnrt {
namespace sim {

namespace {
const uint64_t kEmptyStorage = 0;
}  // namespace
const void* const kEmptyTensorData = &kEmptyStorage;

namespace {
thread_local uint64_t tActiveMaxTensorBytes = kDefaultMaxTensorBytes;
}  // namespace

uint64_t activeMaxTensorBytes() { return tActiveMaxTensorBytes; }
ActiveTensorLimit::ActiveTensorLimit(uint64_t maxTensorBytes) : saved_(tActiveMaxTensorBytes) {
  tActiveMaxTensorBytes = maxTensorBytes;
}
ActiveTensorLimit::~ActiveTensorLimit() { tActiveMaxTensorBytes = saved_; }

int64_t safeVolume(const Dims& shape) {
  constexpr int64_t kLimit = int64_t{1} << 62;
  int64_t v = 1;
  for (int64_t d : shape) {
    if (d < 0) return -1;
    if (d != 0 && v > kLimit / d) return -1;
    v *= d;
  }
  return v;
}

std::string maxTensorBytesHint() {
  return "raise the maxTensorBytes option (or the TENSORRT_NODE_MAX_TENSOR_BYTES environment variable) if the "
         "model really needs a tensor this large, else fix the model or the input shapes";
}

uint64_t checkTensorBytes(const std::string& what, DataType dtype, const Dims& shape, uint64_t maxTensorBytes) {
  for (int64_t d : shape)
    if (d < 0)
      throw BackendError(ErrorCode::kShape, what + " has shape " + dimsToString(shape) +
                                                " with a negative dimension; fix the model");
  uint64_t bytes;
  if (!checkedTensorBytes(dtype, shape, &bytes))
    throw TensorLimitError(what + " has shape " + dimsToString(shape) + " of " + dataTypeName(dtype) +
                           ", whose size overflows 64 bits (maxTensorBytes is " + std::to_string(maxTensorBytes) +
                           " bytes); fix the model or the input shapes");
  if (bytes > maxTensorBytes)
    throw TensorLimitError(what + " has shape " + dimsToString(shape) + " of " + dataTypeName(dtype) +
                           " (" + std::to_string(bytes) + " bytes), more than maxTensorBytes (" +
                           std::to_string(maxTensorBytes) + " bytes); " + maxTensorBytesHint());
  return bytes;
}

bool readCondition(const Node& node, DataType dtype, const Dims& shape, const void* data, bool whenTrue) {
  // The If's own shape inference checks its condition too, but guarded nodes run before it.
  if (dtype != DataType::kBool || safeVolume(shape) != 1)
    throw BackendError(ErrorCode::kShape, node.label() + ": the If condition must be a single bool but is " +
                                              dataTypeName(dtype) + " " + dimsToString(shape));
  return (*static_cast<const uint8_t*>(data) != 0) == whenTrue;
}

namespace {
// Eight int64s: a shape of rank up to 8, or a few indices.
constexpr size_t kShapeSizedFoldBytes = 64;
}  // namespace

ShapeInference::ShapeInference(const Graph& graph, size_t foldLimitBytes, uint64_t maxTensorBytes,
                               uint64_t workspaceBytes)
    : graph_(graph), foldLimit_(foldLimitBytes), maxTensorBytes_(maxTensorBytes), workspaceBytes_(workspaceBytes) {}

void ShapeInference::run(const std::vector<Dims>& inputShapes, const std::vector<std::vector<int64_t>>* inputValues) {
  const ActiveTensorLimit limit(maxTensorBytes_);
  const auto& registry = OpRegistry::instance();
  values_.assign(graph_.values.size(), ValueState{});
  foldedData_.assign(graph_.values.size(), {});
  folded_.assign(graph_.nodes.size(), false);
  foldedBytes_ = 0;
  maxScratchBytes_ = 0;
  failedNode_ = -1;
  for (size_t v = 0; v < graph_.values.size(); ++v) {
    const Value& val = graph_.values[v];
    if (val.initializer < 0) continue;
    const Tensor& t = graph_.initializers[static_cast<size_t>(val.initializer)];
    checkTensorBytesLazy([&] { return "constant '" + val.name + "'"; }, t.dtype, t.shape, maxTensorBytes_);
    values_[v] = {t.dtype, t.shape, t.data.empty() ? kEmptyTensorData : t.data.data(), true};
  }
  for (size_t i = 0; i < graph_.inputs.size() && i < inputShapes.size(); ++i) {
    int32_t id = graph_.inputs[i];
    const Value& val = graph_.values[static_cast<size_t>(id)];
    bool known = true;
    for (int64_t d : inputShapes[i]) known = known && d >= 0;
    if (known)
      checkTensorBytesLazy([&] { return "input '" + val.name + "'"; }, val.dtype, inputShapes[i], maxTensorBytes_);
    values_[static_cast<size_t>(id)] = {graph_.values[static_cast<size_t>(id)].dtype, inputShapes[i], nullptr, true};
  }
  inputData_.assign(graph_.inputs.size(), {});
  fromInput_.assign(graph_.values.size(), false);
  for (size_t i = 0; inputValues && i < graph_.inputs.size() && i < inputValues->size(); ++i) {
    const std::vector<int64_t>& given = (*inputValues)[i];
    ValueState& s = values_[static_cast<size_t>(graph_.inputs[i])];
    if (given.empty() || safeVolume(s.shape) != static_cast<int64_t>(given.size())) continue;
    std::vector<uint8_t>& buf = inputData_[i];
    if (s.dtype == DataType::kInt64) {
      buf.resize(given.size() * sizeof(int64_t));
      std::memcpy(buf.data(), given.data(), buf.size());
    } else if (s.dtype == DataType::kInt32) {
      // The caller checked the values fit (profiles.cc); int32 shape tensors hold int32.
      buf.resize(given.size() * sizeof(int32_t));
      for (size_t k = 0; k < given.size(); ++k) {
        const auto v = static_cast<int32_t>(given[k]);
        std::memcpy(buf.data() + k * sizeof v, &v, sizeof v);
      }
    } else {
      continue;
    }
    s.data = buf.data();
    fromInput_[static_cast<size_t>(graph_.inputs[i])] = true;
  }

  std::vector<ValueRef> ins;
  std::vector<OutputDesc> descs;
  std::vector<OutputRef> outs;
  for (size_t n = 0; n < graph_.nodes.size(); ++n) {
    const Node& node = graph_.nodes[n];
    failedNode_ = static_cast<int32_t>(n);
    const OpDef* op = registry.find(node.domain, node.opType, node.opset);
    if (!op)
      throw BackendError(ErrorCode::kUnsupported, node.label() + ": operator (opset " + std::to_string(node.opset) +
                                                      ") is not supported by the sim backend");
    // A node inside an If branch: skipped (as if folded away, its outputs never defined)
    // when a condition is known to be false; never folded while one is unknown.
    bool conditional = false, dead = false;
    for (const Guard& g : node.guards()) {
      const ValueState& c = values_[static_cast<size_t>(g.cond)];
      if (!c.defined) {
        dead = true;  // an enclosing branch is dead
        break;
      }
      if (!c.data) {
        conditional = true;
        continue;
      }
      if (!readCondition(node, c.dtype, c.shape, c.data, g.whenTrue)) {
        dead = true;
        break;
      }
    }
    if (dead) {
      folded_[n] = true;
      continue;
    }
    ins.assign(node.inputs.size(), ValueRef{});
    bool allKnown = true;
    bool fromInput = false;
    for (size_t k = 0; k < node.inputs.size(); ++k) {
      int32_t id = node.inputs[k];
      if (id < 0) continue;
      const ValueState& s = values_[static_cast<size_t>(id)];
      ins[k] = {s.dtype, &s.shape, s.data};
      if (!s.data && !(op->readsShapesOnly && s.defined && safeVolume(s.shape) >= 0)) allKnown = false;
      if (fromInput_[static_cast<size_t>(id)] && !op->readsShapesOnly) fromInput = true;
    }
    // An If with a known condition needs only the taken branch's outputs to fold.
    if (node.isIfMerge() && !ins.empty() && ins[0].data && ins.size() == 1 + 2 * node.outputs.size()) {
      const bool taken = readCondition(node, ins[0].dtype, *ins[0].shape, ins[0].data, true);
      allKnown = true;
      for (size_t k = 0; k < node.outputs.size(); ++k)
        allKnown = allKnown && ins[taken ? 1 + k : 1 + node.outputs.size() + k].data;
    }
    descs.assign(node.outputs.size(), OutputDesc{});
    op->infer(node, ins, &descs);
    // Every size below (folding buffers, activation memory, the engine's tensors) trusts
    // these shapes, so refuse impossible or too-large ones here, before anything is allocated.
    for (size_t k = 0; k < node.outputs.size(); ++k) {
      const Dims& shape = descs[k].shape;
      bool known = true;
      for (int64_t d : shape) {
        if (d < -1)
          throw BackendError(ErrorCode::kShape, node.label() + ": output " + std::to_string(k) + " would have shape " +
                                                    dimsToString(shape) + "; fix the model");
        known = known && d >= 0;
      }
      if (!known) continue;
      const int32_t id = node.outputs[k];
      // An omitted optional output (MaxPool's Indices, Dropout's mask) is still written, into
      // the context's scratch: it counts towards execution memory like a layer's scratch.
      uint64_t omittedBytes = 0;
      if (id < 0 && checkedTensorBytes(descs[k].dtype, shape, &omittedBytes))
        maxScratchBytes_ = std::max(maxScratchBytes_, omittedBytes);
      checkTensorBytesLazy(
          [&] {
            return node.label() + ": output '" +
                   (id >= 0 ? graph_.values[static_cast<size_t>(id)].name : std::to_string(k)) + "'";
          },
          descs[k].dtype, shape, maxTensorBytes_);
    }
    if (op->scratchBytes) {
      const uint64_t need = op->scratchBytes(node, ins, descs);
      maxScratchBytes_ = std::max(maxScratchBytes_, need);
      const bool workspace = workspaceBytes_ != kNoWorkspaceLimit;
      const uint64_t limit = workspace ? workspaceBytes_ : maxTensorBytes_;
      if (need > limit)
        throw BackendError(ErrorCode::kShape,
                           node.label() + " needs " + std::to_string(need) + " bytes of scratch memory, more than the " +
                               (workspace ? "workspace memory pool limit (" + std::to_string(limit) +
                                                      " bytes); raise it with setMemoryPoolLimit('workspace', bytes)"
                                                : "maxTensorBytes limit (" + std::to_string(limit) + " bytes); " +
                                                      maxTensorBytesHint()) +
                               ", or lower the optimization profile's max shapes");
    }

    // A Constant's value is the graph's own attribute tensor: point at it rather than copy it,
    // so that weights written as Constant nodes (common in exported If branches) neither
    // double in memory nor use up the folding budget the shape computations after them need.
    if (node.opType == "Constant" && node.domain.empty() && node.outputs.size() == 1 && node.outputs[0] >= 0) {
      const Attribute* a = node.attr("value");
      if (a && a->type == AttrType::kTensor && a->t.dtype == descs[0].dtype && a->t.shape == descs[0].shape &&
          a->t.data.size() == dataTypeBytes(a->t.dtype, volume(a->t.shape))) {
        values_[static_cast<size_t>(node.outputs[0])] = {a->t.dtype, a->t.shape,
                                                         a->t.data.empty() ? kEmptyTensorData : a->t.data.data(), true};
        folded_[n] = true;
        continue;
      }
    }
    size_t foldBytes = 0;
    bool foldable = allKnown && !(op->drawsRandomNumbers && !node.attr("seed"));
    for (size_t k = 0; k < node.outputs.size(); ++k) {
      int64_t vol = safeVolume(descs[k].shape);
      if (vol < 0) foldable = false;
      else foldBytes += dataTypeBytes(descs[k].dtype, vol);
    }
    // The limit holds for all folded tensors together: per node, a chain of nodes each just
    // under it would make a tiny engine hold gigabytes of constants from load on.
    // Shape-sized outputs (a shape, an index, an If condition) fold even once the budget is
    // spent: they are what resolves shapes and constant conditions, and int8 weights read
    // through DequantizeLinear, folded first, can spend all of it. Bounded per node, they
    // cannot add up to the gigabytes the budget guards against.
    const bool shapeSized = foldBytes <= kShapeSizedFoldBytes && foldLimit_ > 0;
    if (!shapeSized && foldBytes > foldLimit_ - std::min(foldLimit_, foldedBytes_)) foldable = false;
    if (foldable) foldedBytes_ += foldBytes;
    outs.assign(node.outputs.size(), OutputRef{});
    for (size_t k = 0; k < node.outputs.size(); ++k) {
      int32_t id = node.outputs[k];
      if (id < 0) continue;
      ValueState& s = values_[static_cast<size_t>(id)];
      s = {descs[k].dtype, descs[k].shape, nullptr, true};
      if (foldable) {
        auto& buf = foldedData_[static_cast<size_t>(id)];
        // At least one byte so that even empty tensors have a non-null "known" pointer.
        buf.assign(std::max<size_t>(1, dataTypeBytes(s.dtype, volume(s.shape))), 0);
        s.data = buf.data();
        outs[k] = {s.dtype, &s.shape, buf.data()};
      }
    }
    if (foldable) {
      // An omitted output is still written by the kernel (MaxPool's Indices, or a Gather whose
      // only output a hostile model left unnamed): it gets a throwaway buffer of its own size,
      // as it gets scratch at run time. foldBytes counted it against the folding budget; the
      // buffer is freed once the kernel has run.
      std::vector<std::vector<uint8_t>> omitted(node.outputs.size());
      size_t omittedBytes = 0;
      for (size_t k = 0; k < node.outputs.size(); ++k) {
        if (node.outputs[k] >= 0) continue;
        const size_t bytes = dataTypeBytes(descs[k].dtype, volume(descs[k].shape));
        omitted[k].assign(std::max<size_t>(1, bytes), 0);
        omittedBytes += bytes;
        outs[k] = {descs[k].dtype, &descs[k].shape, omitted[k].data()};
      }
      try {
        op->kernel(node, ins, outs, scratch_);
        foldedBytes_ -= std::min(foldedBytes_, omittedBytes);
        // Computed from given input values: known here, but still a layer at run time, where
        // the values may differ (and its outputs count as execution memory).
        folded_[n] = !fromInput;
        if (fromInput)
          for (int32_t id : node.outputs)
            if (id >= 0) fromInput_[static_cast<size_t>(id)] = true;
      } catch (const BackendError&) {
        // Folding a node of a branch that may not be taken is speculative: a kernel that
        // fails on its constants (an index out of range, say) is left to run time, where it
        // fails only if its branch is taken. Elsewhere the failure is the model's.
        if (!conditional) throw;
        foldedBytes_ -= foldBytes;
        for (int32_t id : node.outputs)
          if (id >= 0) values_[static_cast<size_t>(id)].data = nullptr;
      }
    }
  }
  failedNode_ = -1;
}

uint64_t ShapeInference::executionBytes() const {
  const auto& registry = OpRegistry::instance();
  uint64_t total = maxScratchBytes_;
  for (size_t n = 0; n < graph_.nodes.size(); ++n) {
    if (folded_[n]) continue;
    const Node& node = graph_.nodes[n];
    const OpDef* op = registry.find(node.domain, node.opType, node.opset);
    for (size_t k = 0; k < node.outputs.size(); ++k) {
      const int32_t id = node.outputs[k];
      if (id < 0 || (k == 0 && op && op->aliasesInput0)) continue;
      uint64_t bytes = 0;
      const ValueState& s = values_[static_cast<size_t>(id)];
      if (!checkedTensorBytes(s.dtype, s.shape, &bytes)) bytes = 0;  // unknown dims: sized at run time
      if (!checkedAdd(total, bytes, &total)) return UINT64_MAX;
    }
  }
  return total;
}

uint64_t ShapeInference::peakActivationBytes() const {
  const auto& registry = OpRegistry::instance();
  const size_t numNodes = graph_.nodes.size();
  // lastUse[v]: the last node reading v. Graph outputs are the caller's memory in TensorRT.
  std::vector<int64_t> lastUse(values_.size(), -1);
  for (size_t n = 0; n < numNodes; ++n)
    for (int32_t id : graph_.nodes[n].inputs)
      if (id >= 0) lastUse[static_cast<size_t>(id)] = static_cast<int64_t>(n);
  std::vector<bool> isOutput(values_.size(), false);
  for (int32_t id : graph_.outputs) isOutput[static_cast<size_t>(id)] = true;

  std::vector<uint64_t> freeAt(numNodes + 1, 0);
  uint64_t live = 0, peak = 0;
  for (size_t n = 0; n < numNodes; ++n) {
    const Node& node = graph_.nodes[n];
    const OpDef* op = registry.find(node.domain, node.opType, node.opset);
    if (!folded_[n] && !(op && op->aliasesInput0)) {
      for (int32_t id : node.outputs) {
        if (id < 0 || isOutput[static_cast<size_t>(id)]) continue;
        const ValueState& s = values_[static_cast<size_t>(id)];
        int64_t vol = safeVolume(s.shape);
        uint64_t bytes = vol > 0 ? dataTypeBytes(s.dtype, vol) : 0;
        live += bytes;
        int64_t last = lastUse[static_cast<size_t>(id)];
        freeAt[last >= 0 ? static_cast<size_t>(last) : n] += bytes;
      }
    }
    peak = std::max(peak, live);
    live -= std::min(live, freeAt[n]);
  }
  return peak;
}

uint64_t ShapeInference::foldedBytes() const {
  uint64_t bytes = 0;
  for (const auto& data : foldedData_) bytes += data.capacity();
  return bytes;
}

}  // namespace sim
}  // namespace tnrt
