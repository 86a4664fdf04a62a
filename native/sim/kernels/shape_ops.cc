// Operators that move or relabel data without arithmetic: Identity, Constant, Reshape,
// Flatten, Transpose. Identity, Reshape and Flatten alias their input at run time; their
// kernels copy only when the graph is folded at build or load time.
#include <cstring>

#include "kernel_util.h"
#include "movement_util.h"

namespace tnrt {
namespace sim {

namespace {

size_t tensorBytes(DataType t, const Dims& shape) { return dataTypeBytes(t, volume(shape)); }

void copyKernel(const Node&, const std::vector<ValueRef>& in, const std::vector<OutputRef>& out, KernelScratch&) {
  size_t bytes = tensorBytes(out[0].dtype, *out[0].shape);
  if (bytes) std::memcpy(out[0].data, in[0].data, bytes);
}

void inferIdentity(const Node& node, const std::vector<ValueRef>& in, std::vector<OutputDesc>* out) {
  requireInputs(node, in, 1, 1);
  (*out)[0].dtype = in[0].dtype;
  (*out)[0].shape = *in[0].shape;
}

// ---- Constant ----

struct ConstantValue {
  DataType dtype = DataType::kFloat32;
  Dims shape;
  const void* data = nullptr;
};

ConstantValue constantValue(const Node& node) {
  ConstantValue v;
  for (const auto& a : node.attributes) {
    if (a.name == "value" && a.type == AttrType::kTensor) {
      // The reader and the engine decoder both check this; an engine from a forged file or a
      // future path that skips them must still not memcpy from too few bytes.
      if (a.t.data.size() != dataTypeBytes(a.t.dtype, volume(a.t.shape)))
        throwShape(node, "attribute 'value' holds " + std::to_string(a.t.data.size()) + " bytes but its shape " +
                             dimsToString(a.t.shape) + " of " + dataTypeName(a.t.dtype) +
                             " needs more or fewer; fix the model");
      v.dtype = a.t.dtype;
      v.shape = a.t.shape;
      v.data = a.t.data.empty() ? nullptr : a.t.data.data();
    } else if (a.name == "value_float" && a.type == AttrType::kFloat) {
      v.dtype = DataType::kFloat32;
      v.data = &a.f;
    } else if (a.name == "value_floats" && a.type == AttrType::kFloats) {
      v.dtype = DataType::kFloat32;
      v.shape = {static_cast<int64_t>(a.floats.size())};
      v.data = a.floats.data();
    } else if (a.name == "value_int" && a.type == AttrType::kInt) {
      v.dtype = DataType::kInt64;
      v.data = &a.i;
    } else if (a.name == "value_ints" && a.type == AttrType::kInts) {
      v.dtype = DataType::kInt64;
      v.shape = {static_cast<int64_t>(a.ints.size())};
      v.data = a.ints.data();
    } else {
      continue;
    }
    return v;
  }
  throwUnsupported(node, "needs a value, value_float(s) or value_int(s) attribute (sparse and string constants "
                         "are not supported by the sim backend)");
}

void inferConstant(const Node& node, const std::vector<ValueRef>& in, std::vector<OutputDesc>* out) {
  requireInputs(node, in, 0, 0);
  ConstantValue v = constantValue(node);
  (*out)[0].dtype = v.dtype;
  (*out)[0].shape = v.shape;
}

void runConstant(const Node& node, const std::vector<ValueRef>&, const std::vector<OutputRef>& out, KernelScratch&) {
  // Host byte order is little-endian on every platform Node.js ships for, as ONNX requires.
  ConstantValue v = constantValue(node);
  size_t bytes = tensorBytes(v.dtype, v.shape);
  if (bytes && v.data) std::memcpy(out[0].data, v.data, bytes);
}

// ---- Reshape ----

void inferReshape(const Node& node, const std::vector<ValueRef>& in, std::vector<OutputDesc>* out) {
  requireInputs(node, in, 2, 2);
  const Dims& inShape = *in[0].shape;
  const ValueRef& target = in[1];
  if (target.dtype != DataType::kInt64)
    throwDType(node, std::string("the shape input must be int64 but is ") + dataTypeName(target.dtype));
  if (target.shape->size() != 1) throwShape(node, "the shape input must be 1-D but is " + dimsToString(*target.shape));
  const int64_t rank = (*target.shape)[0];
  (*out)[0].dtype = in[0].dtype;
  Dims& result = (*out)[0].shape;
  if (target.data == nullptr) {
    // Known only at run time: the rank is all shape inference can promise.
    if (rank < 0) throwShape(node, "the length of the shape input must be known when the engine is built");
    result.assign(static_cast<size_t>(rank), -1);
    return;
  }
  const bool allowZero = node.attrInt("allowzero", 0) != 0;
  const auto* t = static_cast<const int64_t*>(target.data);
  result.resize(static_cast<size_t>(rank));
  // A 0 copies the input dim at the same position, so copied dims cancel out of the -1
  // computation even when unknown: -1 is (input volume without copied dims) / (product of the
  // other explicit dims). This keeps e.g. [0, -1] on an N x 2 x 3 input at N x 6.
  int64_t inferAt = -1, explicitProduct = 1;
  bool sawZero = false;
  std::vector<bool> copied(inShape.size(), false);
  for (int64_t i = 0; i < rank; ++i) {
    const int64_t v = t[i];
    if (v == 0 && !allowZero) {
      if (i >= static_cast<int64_t>(inShape.size()))
        throwShape(node, "shape entry " + std::to_string(i) + " is 0 (copy) but the input " + dimsToString(inShape) +
                             " has no such dimension");
      copied[static_cast<size_t>(i)] = true;
      result[static_cast<size_t>(i)] = inShape[static_cast<size_t>(i)];
    } else if (v == -1) {
      if (inferAt >= 0) throwShape(node, "the shape input has more than one -1");
      inferAt = i;
    } else if (v < -1) {
      throwShape(node, "shape entry " + std::to_string(i) + " is " + std::to_string(v));
    } else {
      if (v == 0) sawZero = true;
      if (v != 0 && explicitProduct > (int64_t{1} << 62) / v)
        throwShape(node, "the target shape is impossibly large");
      explicitProduct *= v;
      result[static_cast<size_t>(i)] = v;
    }
  }
  if (allowZero && sawZero && inferAt >= 0) throwShape(node, "with allowzero=1 the shape cannot hold both 0 and -1");
  int64_t restVolume = 1;  // input volume without the copied dims; -1 if unknown
  for (size_t i = 0; i < inShape.size(); ++i) {
    if (copied[i]) continue;
    if (inShape[i] < 0 || (inShape[i] != 0 && restVolume > (int64_t{1} << 62) / inShape[i])) {
      restVolume = -1;
      break;
    }
    restVolume *= inShape[i];
  }
  if (restVolume < 0) {
    if (inferAt >= 0) result[static_cast<size_t>(inferAt)] = -1;
    return;
  }
  if (inferAt >= 0) {
    if (explicitProduct == 0 || restVolume % explicitProduct != 0)
      throwShape(node, "cannot reshape " + dimsToString(inShape) + " into " + dimsToString(result) +
                           " with the -1 entry at " + std::to_string(inferAt));
    result[static_cast<size_t>(inferAt)] = restVolume / explicitProduct;
  } else if (explicitProduct != restVolume) {
    throwShape(node, "cannot reshape " + dimsToString(inShape) + " into " + dimsToString(result));
  }
}

// ---- Flatten ----

void inferFlatten(const Node& node, const std::vector<ValueRef>& in, std::vector<OutputDesc>* out) {
  requireInputs(node, in, 1, 1);
  const Dims& d = *in[0].shape;
  size_t axis = static_cast<size_t>(normalizeAxis(node, node.attrInt("axis", 1), d.size(), true));
  (*out)[0].dtype = in[0].dtype;
  (*out)[0].shape = {rangeVolume(d, 0, axis), rangeVolume(d, axis, d.size())};
}

// ---- Transpose ----

void transposePerm(const Node& node, size_t rank, int64_t* perm) {
  const Attribute* a = node.attr("perm");
  if (!a || a->type != AttrType::kInts) {
    for (size_t i = 0; i < rank; ++i) perm[i] = static_cast<int64_t>(rank - 1 - i);
    return;
  }
  if (a->ints.size() != rank)
    throwShape(node, "perm has " + std::to_string(a->ints.size()) + " entries but the input has rank " +
                         std::to_string(rank));
  bool seen[kMaxRank] = {};
  for (size_t i = 0; i < rank; ++i) {
    int64_t p = a->ints[i];
    if (p < 0) p += static_cast<int64_t>(rank);  // negative perm entries are tolerated by ONNX runtimes
    if (p < 0 || p >= static_cast<int64_t>(rank) || seen[p]) throwShape(node, "perm is not a permutation");
    seen[p] = true;
    perm[i] = p;
  }
}

void inferTranspose(const Node& node, const std::vector<ValueRef>& in, std::vector<OutputDesc>* out) {
  requireInputs(node, in, 1, 1);
  const Dims& d = *in[0].shape;
  requireMaxRank(node, d);
  if (dataTypeBits(in[0].dtype) % 8 != 0) throwUnsupported(node, "packed 4-bit tensors cannot be transposed");
  int64_t perm[kMaxRank];
  transposePerm(node, d.size(), perm);
  (*out)[0].dtype = in[0].dtype;
  (*out)[0].shape.resize(d.size());
  for (size_t i = 0; i < d.size(); ++i) (*out)[0].shape[i] = d[static_cast<size_t>(perm[i])];
}

template <typename U>
void transposeTyped(const Node& node, const ValueRef& x, const OutputRef& y, ThreadPool* pool) {
  const Dims& d = *x.shape;
  const size_t rank = d.size();
  int64_t perm[kMaxRank] = {}, inStride[kMaxRank] = {}, stride[kMaxRank] = {};
  if (rank > 0) transposePerm(node, rank, perm);
  denseStrides(d, inStride);
  // stride[i]: how far the source moves when output dim i advances.
  for (size_t i = 0; i < rank; ++i) stride[i] = inStride[perm[i]];
  stridedGather(static_cast<const U*>(x.data), 0, stride, *y.shape, static_cast<U*>(y.data), pool);
}

void runTranspose(const Node& node, const std::vector<ValueRef>& in, const std::vector<OutputRef>& out,
                  KernelScratch& scratch) {
  switch (elementSize(in[0].dtype)) {
    case 1: transposeTyped<uint8_t>(node, in[0], out[0], scratch.pool); break;
    case 2: transposeTyped<uint16_t>(node, in[0], out[0], scratch.pool); break;
    case 4: transposeTyped<uint32_t>(node, in[0], out[0], scratch.pool); break;
    case 8: transposeTyped<uint64_t>(node, in[0], out[0], scratch.pool); break;
    default: throwUnsupported(node, "unsupported element size");
  }
}

}  // namespace

void registerShapeOps(OpRegistry& registry) {
  registry.add({"Identity", 1, kMaxReviewedOpset, inferIdentity, copyKernel, true, 1, 1, {{1, 1, 1}}});
  registry.add({"Constant", 1, kMaxReviewedOpset, inferConstant, runConstant, false, 1, 1, {{1, 0, 0}}});
  // Reshape took its shape as an attribute before opset 5.
  registry.add({"Reshape", 5, kMaxReviewedOpset, inferReshape, copyKernel, true, 1, 1, {{1, 2, 2}}});
  registry.add({"Flatten", 1, kMaxReviewedOpset, inferFlatten, copyKernel, true, 1, 1, {{1, 1, 1}}});
  registry.add({"Transpose", 1, kMaxReviewedOpset, inferTranspose, runTranspose, false, 1, 1, {{1, 1, 1}}});
}

}  // namespace sim
}  // namespace tnrt
