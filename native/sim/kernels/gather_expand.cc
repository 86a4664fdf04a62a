// Gather, Expand, Tile, DepthToSpace and ConstantOfShape. Expand, Tile and DepthToSpace are
// strided views of their input (broadcast strides of 0, repeated index spaces, a reshape plus
// transpose), so one gather loop serves them for every element type.
#include <cstring>

#include "../checked_math.h"
#include "movement_util.h"

namespace tnrt {
namespace sim {

namespace {

// ---- Gather ----

int64_t loadIndex(const ValueRef& v, int64_t i) {
  return v.dtype == DataType::kInt64 ? static_cast<const int64_t*>(v.data)[i] : static_cast<const int32_t*>(v.data)[i];
}

void inferGather(const Node& node, const std::vector<ValueRef>& in, std::vector<OutputDesc>* out) {
  requireInputs(node, in, 2, 2);
  requireWholeBytes(node, in[0].dtype);
  if (in[1].dtype != DataType::kInt64 && in[1].dtype != DataType::kInt32)
    throwDType(node, std::string("indices must be int32 or int64 but are ") + dataTypeName(in[1].dtype));
  const Dims& d = *in[0].shape;
  if (d.empty()) throwShape(node, "cannot gather from a scalar");
  const auto axis = static_cast<size_t>(normalizeAxis(node, node.attrInt("axis", 0), d.size()));
  const Dims& id = *in[1].shape;
  Dims result(d.begin(), d.begin() + static_cast<std::ptrdiff_t>(axis));
  result.insert(result.end(), id.begin(), id.end());
  result.insert(result.end(), d.begin() + static_cast<std::ptrdiff_t>(axis) + 1, d.end());
  // Out-of-range indices are an error in ONNX; catch them whenever the indices are known (at
  // build time for constants, before the kernel for run-time tensors).
  const int64_t n = volume(id), dim = d[axis];
  if (in[1].data && n > 0 && dim >= 0)
    for (int64_t i = 0; i < n; ++i) {
      const int64_t k = loadIndex(in[1], i);
      if (k < -dim || k >= dim)
        throwShape(node, "index " + std::to_string(k) + " is out of range for axis " + std::to_string(axis) +
                             " of size " + std::to_string(dim));
    }
  (*out)[0].dtype = in[0].dtype;
  (*out)[0].shape = std::move(result);
}

void runGather(const Node& node, const std::vector<ValueRef>& in, const std::vector<OutputRef>& out, KernelScratch&) {
  const Dims& d = *in[0].shape;
  const auto axis = static_cast<size_t>(normalizeAxis(node, node.attrInt("axis", 0), d.size()));
  const size_t esize = elementSize(in[0].dtype);
  const int64_t outer = rangeVolume(d, 0, axis), dim = d[axis];
  const size_t block = static_cast<size_t>(rangeVolume(d, axis + 1, d.size())) * esize;
  const int64_t n = volume(*in[1].shape);
  const auto* src = static_cast<const uint8_t*>(in[0].data);
  auto* dst = static_cast<uint8_t*>(out[0].data);
  if (block == 0 || n <= 0 || outer <= 0) return;
  for (int64_t o = 0; o < outer; ++o)
    for (int64_t i = 0; i < n; ++i) {
      int64_t k = loadIndex(in[1], i);
      if (k < 0) k += dim;
      std::memcpy(dst + static_cast<size_t>(o * n + i) * block, src + static_cast<size_t>(o * dim + k) * block, block);
    }
}

// ---- Expand ----

void inferExpand(const Node& node, const std::vector<ValueRef>& in, std::vector<OutputDesc>* out) {
  requireInputs(node, in, 2, 2);
  requireWholeBytes(node, in[0].dtype);
  const Dims& d = *in[0].shape;
  std::vector<int64_t> target;
  (*out)[0].dtype = in[0].dtype;
  if (!readIndexInput(node, in[1], "the shape input", &target)) {
    const int64_t n = indexInputLength(node, in[1], "the shape input");
    if (n < 0) throwShape(node, "the length of the shape input must be known when the engine is built");
    // Input dims other than 1 survive broadcasting unchanged; the rest depend on the target.
    const size_t rank = std::max(d.size(), static_cast<size_t>(n));
    Dims result(rank, -1);
    for (size_t k = 0; k < d.size(); ++k)
      if (d[d.size() - 1 - k] > 1) result[rank - 1 - k] = d[d.size() - 1 - k];
    (*out)[0].shape = std::move(result);
  } else {
    for (int64_t t : target)
      if (t < 0) throwShape(node, "the shape input has a negative entry " + std::to_string(t));
    (*out)[0].shape = broadcastShapes(node, d, target);
  }
  requireMaxRank(node, (*out)[0].shape);
}

void runExpand(const Node& node, const std::vector<ValueRef>& in, const std::vector<OutputRef>& out,
               KernelScratch& scratch) {
  int64_t strides[kMaxRank];
  broadcastStrides(*in[0].shape, *out[0].shape, strides);
  stridedGatherAny(node, in[0].dtype, in[0].data, 0, strides, *out[0].shape, out[0].data, scratch.pool);
}

// ---- Tile ----

void inferTile(const Node& node, const std::vector<ValueRef>& in, std::vector<OutputDesc>* out) {
  requireInputs(node, in, 2, 2);
  requireWholeBytes(node, in[0].dtype);
  const Dims& d = *in[0].shape;
  requireMaxRank(node, d);
  std::vector<int64_t> reps;
  (*out)[0].dtype = in[0].dtype;
  Dims& result = (*out)[0].shape;
  const int64_t n = indexInputLength(node, in[1], "repeats");
  if (n >= 0 && n != static_cast<int64_t>(d.size()))
    throwShape(node, "repeats has " + std::to_string(n) + " entries but the input has rank " +
                         std::to_string(d.size()));
  if (!readIndexInput(node, in[1], "repeats", &reps)) {
    result.assign(d.size(), -1);
    for (size_t i = 0; i < d.size(); ++i)
      if (d[i] == 0) result[i] = 0;
    return;
  }
  result.resize(d.size());
  for (size_t i = 0; i < d.size(); ++i) {
    if (reps[i] < 0) throwShape(node, "repeats must not be negative");
    result[i] = -1;
    // repeats come from tensor data: an overflowed product would size the output too small.
    if (d[i] >= 0 && !checkedMul(d[i], reps[i], &result[i]))
      throwShape(node, "dim " + std::to_string(i) + " (" + std::to_string(d[i]) + ") times repeats " +
                           std::to_string(reps[i]) + " overflows; fix the repeats input");
  }
}

void runTile(const Node& node, const std::vector<ValueRef>& in, const std::vector<OutputRef>& out, KernelScratch& scratch) {
  // The output, viewed as [r0, d0, r1, d1, ...], reads the input with stride 0 on each r.
  const Dims& d = *in[0].shape;
  const Dims& od = *out[0].shape;
  int64_t inStrides[kMaxRank], strides[2 * kMaxRank];
  denseStrides(d, inStrides);
  Dims view(2 * d.size());
  for (size_t i = 0; i < d.size(); ++i) {
    view[2 * i] = d[i] == 0 ? 0 : od[i] / d[i];
    view[2 * i + 1] = d[i];
    strides[2 * i] = 0;
    strides[2 * i + 1] = inStrides[i];
  }
  stridedGatherAny(node, in[0].dtype, in[0].data, 0, strides, view, out[0].data, scratch.pool);
}

// ---- DepthToSpace ----

bool depthToSpaceCRD(const Node& node) {
  const Attribute* a = node.attr("mode");
  if (!a || a->s == "DCR") return false;
  if (a->s == "CRD" && node.opset >= 11) return true;
  throwUnsupported(node, "mode '" + a->s + "' is not supported (DCR or CRD)");
}

void inferDepthToSpace(const Node& node, const std::vector<ValueRef>& in, std::vector<OutputDesc>* out) {
  requireInputs(node, in, 1, 1);
  requireWholeBytes(node, in[0].dtype);
  depthToSpaceCRD(node);
  const Dims& d = *in[0].shape;
  if (d.size() != 4) throwShape(node, "needs a 4-D input but has " + dimsToString(d));
  const int64_t b = node.attrInt("blocksize", 0);
  if (b <= 0) throwShape(node, "blocksize must be positive");
  int64_t bb, h = -1, w = -1;
  if (!checkedMul(b, b, &bb) || (d[2] >= 0 && !checkedMul(d[2], b, &h)) || (d[3] >= 0 && !checkedMul(d[3], b, &w)))
    throwShape(node, "blocksize " + std::to_string(b) + " makes the output size overflow; fix the model");
  if (d[1] >= 0 && d[1] % bb != 0)
    throwShape(node, "channels " + std::to_string(d[1]) + " are not divisible by blocksize^2");
  (*out)[0].dtype = in[0].dtype;
  (*out)[0].shape = {d[0], d[1] < 0 ? -1 : d[1] / bb, h, w};
}

void runDepthToSpace(const Node& node, const std::vector<ValueRef>& in, const std::vector<OutputRef>& out,
                     KernelScratch& scratch) {
  const Dims& d = *in[0].shape;
  const int64_t b = node.attrInt("blocksize", 0), c = d[1] / (b * b), h = d[2], w = d[3];
  // Channel index = b1 * b * c + b2 * c + c' (DCR) or c' * b * b + b1 * b + b2 (CRD); the
  // output, viewed as [N, c', H, b1, W, b2], reads those channels.
  const int64_t plane = h * w;
  const bool crd = depthToSpaceCRD(node);
  const int64_t sc = crd ? b * b * plane : plane;
  const int64_t sb1 = crd ? b * plane : b * c * plane;
  const int64_t sb2 = crd ? plane : c * plane;
  const int64_t strides[6] = {d[1] * plane, sc, w, sb1, 1, sb2};
  const Dims view = {d[0], c, h, b, w, b};
  stridedGatherAny(node, in[0].dtype, in[0].data, 0, strides, view, out[0].data, scratch.pool);
}

// ---- ConstantOfShape ----

// The fill value: the `value` tensor attribute (one element), float32 0 by default.
const Tensor* fillTensor(const Node& node) {
  const Attribute* a = node.attr("value");
  if (!a) return nullptr;
  if (a->type != AttrType::kTensor || volume(a->t.shape) != 1)
    throwShape(node, "the value attribute must be a one-element tensor");
  requireWholeBytes(node, a->t.dtype);
  return &a->t;
}

void inferConstantOfShape(const Node& node, const std::vector<ValueRef>& in, std::vector<OutputDesc>* out) {
  requireInputs(node, in, 1, 1);
  const Tensor* t = fillTensor(node);
  (*out)[0].dtype = t ? t->dtype : DataType::kFloat32;
  std::vector<int64_t> shape;
  if (!readIndexInput(node, in[0], "the shape input", &shape)) {
    const int64_t n = indexInputLength(node, in[0], "the shape input");
    if (n < 0) throwShape(node, "the length of the shape input must be known when the engine is built");
    (*out)[0].shape.assign(static_cast<size_t>(n), -1);
    return;
  }
  for (int64_t s : shape)
    if (s < 0) throwShape(node, "the shape input has a negative entry " + std::to_string(s));
  (*out)[0].shape = shape;
}

void runConstantOfShape(const Node& node, const std::vector<ValueRef>&, const std::vector<OutputRef>& out,
                        KernelScratch&) {
  const Tensor* t = fillTensor(node);
  const int64_t n = volume(*out[0].shape);
  const size_t esize = elementSize(out[0].dtype);
  auto* dst = static_cast<uint8_t*>(out[0].data);
  if (n <= 0) return;
  if (!t) {
    std::memset(dst, 0, static_cast<size_t>(n) * esize);
    return;
  }
  for (int64_t i = 0; i < n; ++i) std::memcpy(dst + static_cast<size_t>(i) * esize, t->data.data(), esize);
}

}  // namespace

void registerGatherExpandOps(OpRegistry& registry) {
  registry.add({"Gather", 1, kMaxReviewedOpset, inferGather, runGather, false, 1, 1, {{1, 2, 2}}});
  registry.add({"Expand", 8, kMaxReviewedOpset, inferExpand, runExpand, false, 1, 1, {{1, 2, 2}}});
  // Tile took tiles/axis inputs before opset 6.
  registry.add({"Tile", 6, kMaxReviewedOpset, inferTile, runTile, false, 1, 1, {{6, 2, 2}}});
  registry.add({"DepthToSpace", 1, kMaxReviewedOpset, inferDepthToSpace, runDepthToSpace, false, 1, 1, {{1, 1, 1}}});
  registry.add({"ConstantOfShape", 9, kMaxReviewedOpset, inferConstantOfShape, runConstantOfShape, false, 1, 1, {{1, 1, 1}}});
}

}  // namespace sim
}  // namespace tnrt
