// Operators that address elements by computed indices: GatherElements, GatherND,
// ScatterElements (and its opset 9-10 name Scatter), ScatterND, and the ones that reorder or
// select along an axis: CumSum, Trilu, TopK, SpaceToDepth.
//
// Index tensors are data: every index is checked against its axis before it addresses memory,
// and an out-of-range one is a kShape error naming the node (TensorRT leaves it undefined; the
// sim must not read or write outside its buffers).
#include <algorithm>
#include <cmath>
#include <numeric>
#include <type_traits>

#include "movement_util.h"
#include "../checked_math.h"

namespace tnrt {
namespace sim {

namespace {

void requireIndices(const Node& node, const ValueRef& v, const char* what) {
  if (v.dtype != DataType::kInt64 && v.dtype != DataType::kInt32)
    throwDType(node, std::string(what) + " must be int64 or int32 but is " + dataTypeName(v.dtype));
}

// Element `i` of an int32 or int64 index tensor, resolved against `dim` (negative counts from
// the end); throws when it is outside [-dim, dim - 1].
int64_t loadIndex(const Node& node, const ValueRef& v, int64_t i, int64_t dim) {
  const int64_t raw =
      v.dtype == DataType::kInt64 ? static_cast<const int64_t*>(v.data)[i] : static_cast<const int32_t*>(v.data)[i];
  if (raw < -dim || raw >= dim)
    throwShape(node, "index " + std::to_string(raw) + " is out of range for an axis of length " + std::to_string(dim));
  return raw < 0 ? raw + dim : raw;
}

// Row-major element strides of `shape`.
void rowStrides(const Dims& shape, int64_t* strides) {
  int64_t s = 1;
  for (size_t d = shape.size(); d-- > 0;) {
    strides[d] = s;
    s *= shape[d];
  }
}

// ---- GatherElements ----

void inferGatherElements(const Node& node, const std::vector<ValueRef>& in, std::vector<OutputDesc>* out) {
  requireInputs(node, in, 2, 2);
  requireWholeBytes(node, in[0].dtype);
  requireIndices(node, in[1], "indices");
  const Dims& x = *in[0].shape;
  const Dims& idx = *in[1].shape;
  requireMaxRank(node, x);
  if (x.empty()) throwShape(node, "data must have rank 1 or more");
  if (idx.size() != x.size())
    throwShape(node, "indices " + dimsToString(idx) + " must have the rank of data " + dimsToString(x));
  normalizeAxis(node, node.attrInt("axis", 0), x.size());
  (*out)[0].dtype = in[0].dtype;
  (*out)[0].shape = idx;
}

void runGatherElements(const Node& node, const std::vector<ValueRef>& in, const std::vector<OutputRef>& out,
                       KernelScratch&) {
  const Dims& x = *in[0].shape;
  const Dims& is = *in[1].shape;
  const auto axis = static_cast<size_t>(normalizeAxis(node, node.attrInt("axis", 0), x.size()));
  // ONNX lets indices be smaller than data along every axis but requires no more (onnxruntime
  // checks the same); larger would read outside data.
  for (size_t d = 0; d < x.size(); ++d)
    if (d != axis && is[d] > x[d])
      throwShape(node, "indices " + dimsToString(is) + " exceed data " + dimsToString(x) + " along axis " + std::to_string(d));
  const size_t rank = x.size();
  int64_t xs[kMaxRank], pos[kMaxRank] = {};
  rowStrides(x, xs);
  const int64_t n = volume(is);
  dispatchBytes(node, in[0].dtype, [&](auto tag) {
    using U = typename decltype(tag)::type;
    const auto* px = static_cast<const U*>(in[0].data);
    auto* py = static_cast<U*>(out[0].data);
    for (int64_t i = 0; i < n; ++i) {
      int64_t off = 0;
      for (size_t d = 0; d < rank; ++d) off += (d == axis ? loadIndex(node, in[1], i, x[axis]) : pos[d]) * xs[d];
      py[i] = px[off];
      for (size_t d = rank; d-- > 0;) {
        if (++pos[d] < is[d]) break;
        pos[d] = 0;
      }
    }
  });
}

// ---- ScatterElements / Scatter ----

void inferScatterElements(const Node& node, const std::vector<ValueRef>& in, std::vector<OutputDesc>* out) {
  requireInputs(node, in, 3, 3);
  requireWholeBytes(node, in[0].dtype);
  requireIndices(node, in[1], "indices");
  if (in[2].dtype != in[0].dtype)
    throwDType(node, std::string("updates are ") + dataTypeName(in[2].dtype) + " but data is " + dataTypeName(in[0].dtype));
  const Dims& x = *in[0].shape;
  const Dims& is = *in[1].shape;
  const Dims& us = *in[2].shape;
  requireMaxRank(node, x);
  if (x.empty()) throwShape(node, "data must have rank 1 or more");
  if (is.size() != x.size()) throwShape(node, "indices " + dimsToString(is) + " must have the rank of data " + dimsToString(x));
  for (size_t d = 0; d < is.size(); ++d)
    if (is[d] >= 0 && us.size() == is.size() && us[d] >= 0 && is[d] != us[d])
      throwShape(node, "updates " + dimsToString(us) + " must have the shape of indices " + dimsToString(is));
  if (us.size() != is.size()) throwShape(node, "updates " + dimsToString(us) + " must have the shape of indices " + dimsToString(is));
  normalizeAxis(node, node.attrInt("axis", 0), x.size());
  const Attribute* r = node.attr("reduction");
  const std::string reduction = r ? r->s : "none";
  if (reduction != "none") {
    if (node.opset < 16 || (node.opset < 18 && reduction != "add" && reduction != "mul"))
      throwUnsupported(node, "reduction '" + reduction + "' does not exist at opset " + std::to_string(node.opset));
    if (reduction != "add" && reduction != "mul" && reduction != "max" && reduction != "min")
      throwUnsupported(node, "unknown reduction '" + reduction + "'");
    dispatchNumeric(node, in[0].dtype, [](auto) {});
  }
  (*out)[0].dtype = in[0].dtype;
  (*out)[0].shape = x;
}

template <typename T>
void scatterElementsTyped(const Node& node, const std::vector<ValueRef>& in, const OutputRef& out, const std::string& reduction) {
  using E = Elem<T>;
  using C = typename E::Compute;
  const Dims& x = *in[0].shape;
  const Dims& is = *in[1].shape;
  const auto axis = static_cast<size_t>(normalizeAxis(node, node.attrInt("axis", 0), x.size()));
  for (size_t d = 0; d < x.size(); ++d)
    if (d != axis && is[d] > x[d])
      throwShape(node, "indices " + dimsToString(is) + " exceed data " + dimsToString(x) + " along axis " + std::to_string(d));
  const size_t rank = x.size();
  const int64_t total = volume(x), n = volume(is);
  const auto* src = static_cast<const typename E::Storage*>(in[0].data);
  const auto* upd = static_cast<const typename E::Storage*>(in[2].data);
  auto* dst = static_cast<typename E::Storage*>(out.data);
  std::copy(src, src + total, dst);
  int64_t xs[kMaxRank], pos[kMaxRank] = {};
  rowStrides(x, xs);
  for (int64_t i = 0; i < n; ++i) {
    int64_t off = 0;
    for (size_t d = 0; d < rank; ++d) off += (d == axis ? loadIndex(node, in[1], i, x[axis]) : pos[d]) * xs[d];
    const auto o = static_cast<size_t>(off);
    const C u = E::load(upd, static_cast<size_t>(i));
    if (reduction == "none") {
      E::store(dst, o, u);
    } else {
      const C cur = E::load(dst, o);
      C r;
      if (reduction == "add") r = wrapAdd(cur, u);
      else if (reduction == "mul") r = wrapMul(cur, u);
      else if (reduction == "max") r = u > cur ? u : cur;
      else r = u < cur ? u : cur;
      E::store(dst, o, r);
    }
    for (size_t d = rank; d-- > 0;) {
      if (++pos[d] < is[d]) break;
      pos[d] = 0;
    }
  }
}

void runScatterElements(const Node& node, const std::vector<ValueRef>& in, const std::vector<OutputRef>& out,
                        KernelScratch&) {
  const Attribute* r = node.attr("reduction");
  const std::string reduction = r ? r->s : "none";
  if (reduction == "none") {
    // Plain assignment moves bytes: every element type, exact.
    dispatchBytes(node, in[0].dtype, [&](auto tag) {
      scatterElementsTyped<typename decltype(tag)::type>(node, in, out[0], reduction);
    });
    return;
  }
  dispatchNumeric(node, in[0].dtype, [&](auto tag) {
    scatterElementsTyped<typename decltype(tag)::type>(node, in, out[0], reduction);
  });
}

// ---- GatherND, ScatterND ----

// indices [..., m] address slices of data after `batch` leading dims shared with indices.
struct NdPlan {
  int64_t batch = 0;    // batch_dims
  int64_t depth = 0;    // m, the last dim of indices
  int64_t tuples = 0;   // index tuples per batch
  int64_t batches = 0;  // product of the batch dims
  int64_t slice = 0;    // elements per addressed slice
};

// Checks data `x` against indices `is` (all dims known) and fills the plan.
NdPlan planNd(const Node& node, const Dims& x, const Dims& is, int64_t batch) {
  NdPlan p;
  p.batch = batch;
  p.depth = is.back();
  p.batches = rangeVolume(x, 0, static_cast<size_t>(batch));
  p.tuples = rangeVolume(is, static_cast<size_t>(batch), is.size() - 1);
  p.slice = rangeVolume(x, static_cast<size_t>(batch + p.depth), x.size());
  for (int64_t d = 0; d < batch; ++d)
    if (x[static_cast<size_t>(d)] != is[static_cast<size_t>(d)])
      throwShape(node, "the batch dims of indices " + dimsToString(is) + " and data " + dimsToString(x) + " differ");
  return p;
}

// Element offset in data of tuple `t` of batch `b`.
int64_t ndOffset(const Node& node, const ValueRef& indices, const Dims& x, const NdPlan& p, int64_t b, int64_t t) {
  int64_t off = b;
  const int64_t base = (b * p.tuples + t) * p.depth;
  for (int64_t k = 0; k < p.depth; ++k) {
    const int64_t dim = x[static_cast<size_t>(p.batch + k)];
    off = off * dim + loadIndex(node, indices, base + k, dim);
  }
  return off * p.slice;
}

// Shape checks shared by GatherND and ScatterND; returns batch_dims.
int64_t checkNdShapes(const Node& node, const Dims& x, const Dims& is) {
  requireMaxRank(node, x);
  const int64_t batch = node.opset >= 12 ? node.attrInt("batch_dims", 0) : 0;
  if (x.empty() || is.empty()) throwShape(node, "data and indices must have rank 1 or more");
  if (batch < 0 || batch >= static_cast<int64_t>(std::min(x.size(), is.size())))
    throwShape(node, "batch_dims " + std::to_string(batch) + " must be less than the ranks of data and indices");
  const int64_t m = is.back();
  if (m < 0) throwShape(node, "the last dim of indices must be known when the engine is built");
  if (m < 1 || batch + m > static_cast<int64_t>(x.size()))
    throwShape(node, "indices " + dimsToString(is) + " address " + std::to_string(m) + " dims of data " + dimsToString(x) +
                         " after " + std::to_string(batch) + " batch dims");
  return batch;
}

void inferGatherND(const Node& node, const std::vector<ValueRef>& in, std::vector<OutputDesc>* out) {
  requireInputs(node, in, 2, 2);
  requireWholeBytes(node, in[0].dtype);
  if (in[1].dtype != DataType::kInt64) throwDType(node, std::string("indices must be int64 but are ") + dataTypeName(in[1].dtype));
  const Dims& x = *in[0].shape;
  const Dims& is = *in[1].shape;
  const int64_t batch = checkNdShapes(node, x, is);
  Dims y(is.begin(), is.end() - 1);
  y.insert(y.end(), x.begin() + batch + is.back(), x.end());
  requireMaxRank(node, y);
  (*out)[0].dtype = in[0].dtype;
  (*out)[0].shape = y;
}

void runGatherND(const Node& node, const std::vector<ValueRef>& in, const std::vector<OutputRef>& out, KernelScratch&) {
  const Dims& x = *in[0].shape;
  const NdPlan p = planNd(node, x, *in[1].shape, checkNdShapes(node, x, *in[1].shape));
  dispatchBytes(node, in[0].dtype, [&](auto tag) {
    using U = typename decltype(tag)::type;
    const auto* px = static_cast<const U*>(in[0].data);
    auto* py = static_cast<U*>(out[0].data);
    for (int64_t b = 0; b < p.batches; ++b)
      for (int64_t t = 0; t < p.tuples; ++t) {
        const int64_t src = ndOffset(node, in[1], x, p, b, t);
        std::copy(px + src, px + src + p.slice, py + (b * p.tuples + t) * p.slice);
      }
  });
}

void inferScatterND(const Node& node, const std::vector<ValueRef>& in, std::vector<OutputDesc>* out) {
  requireInputs(node, in, 3, 3);
  requireWholeBytes(node, in[0].dtype);
  if (in[1].dtype != DataType::kInt64) throwDType(node, std::string("indices must be int64 but are ") + dataTypeName(in[1].dtype));
  if (in[2].dtype != in[0].dtype)
    throwDType(node, std::string("updates are ") + dataTypeName(in[2].dtype) + " but data is " + dataTypeName(in[0].dtype));
  const Attribute* r = node.attr("reduction");
  if (r && r->s != "none")
    throwUnsupported(node, "reduction '" + r->s + "': TensorRT's ScatterND has no reduction (onnx-tensorrt's operator table)");
  const Dims& x = *in[0].shape;
  const Dims& is = *in[1].shape;
  checkNdShapes(node, x, is);
  // updates: indices.shape[:-1] + data.shape[m:]
  Dims want(is.begin(), is.end() - 1);
  want.insert(want.end(), x.begin() + is.back(), x.end());
  const Dims& us = *in[2].shape;
  bool ok = us.size() == want.size();
  for (size_t d = 0; ok && d < us.size(); ++d) ok = us[d] == want[d] || us[d] < 0 || want[d] < 0;
  if (!ok) throwShape(node, "updates " + dimsToString(us) + " must have shape " + dimsToString(want));
  (*out)[0].dtype = in[0].dtype;
  (*out)[0].shape = x;
}

void runScatterND(const Node& node, const std::vector<ValueRef>& in, const std::vector<OutputRef>& out, KernelScratch&) {
  const Dims& x = *in[0].shape;
  // ScatterND has no batch_dims: plan with none.
  const NdPlan p = planNd(node, x, *in[1].shape, 0);
  dispatchBytes(node, in[0].dtype, [&](auto tag) {
    using U = typename decltype(tag)::type;
    const auto* px = static_cast<const U*>(in[0].data);
    const auto* pu = static_cast<const U*>(in[2].data);
    auto* py = static_cast<U*>(out[0].data);
    std::copy(px, px + volume(x), py);
    for (int64_t t = 0; t < p.tuples; ++t) {
      const int64_t dst = ndOffset(node, in[1], x, p, 0, t);
      std::copy(pu + t * p.slice, pu + (t + 1) * p.slice, py + dst);
    }
  });
}

// ---- CumSum ----

// The axis input (a scalar int32/int64) must be known when the engine is built, as TensorRT
// requires it to be an initializer.
int64_t cumSumAxis(const Node& node, const ValueRef& axis, size_t rank) {
  if (axis.dtype != DataType::kInt64 && axis.dtype != DataType::kInt32)
    throwDType(node, std::string("axis must be int64 or int32 but is ") + dataTypeName(axis.dtype));
  if (axis.shape->size() > 1 || (axis.shape->size() == 1 && (*axis.shape)[0] != 1))
    throwShape(node, "axis must be a scalar but has shape " + dimsToString(*axis.shape));
  if (!axis.data) throwUnsupported(node, "axis must be a constant (an initializer), as TensorRT requires");
  const int64_t a = axis.dtype == DataType::kInt64 ? *static_cast<const int64_t*>(axis.data)
                                                   : *static_cast<const int32_t*>(axis.data);
  return normalizeAxis(node, a, rank);
}

void inferCumSum(const Node& node, const std::vector<ValueRef>& in, std::vector<OutputDesc>* out) {
  requireInputs(node, in, 2, 2);
  dispatchNumeric(node, in[0].dtype, [](auto) {});
  if (in[0].shape->empty()) throwShape(node, "the input must have rank 1 or more");
  cumSumAxis(node, in[1], in[0].shape->size());
  (*out)[0].dtype = in[0].dtype;
  (*out)[0].shape = *in[0].shape;
}

void runCumSum(const Node& node, const std::vector<ValueRef>& in, const std::vector<OutputRef>& out, KernelScratch&) {
  const Dims& x = *in[0].shape;
  const auto axis = static_cast<size_t>(cumSumAxis(node, in[1], x.size()));
  const bool exclusive = node.attrInt("exclusive", 0) != 0, reverse = node.attrInt("reverse", 0) != 0;
  const int64_t outer = rangeVolume(x, 0, axis), len = x[axis], inner = rangeVolume(x, axis + 1, x.size());
  dispatchNumeric(node, in[0].dtype, [&](auto tag) {
    using E = Elem<typename decltype(tag)::type>;
    using C = typename E::Compute;
    // Floats accumulate in double and round once per output; integers wrap like numpy.
    using Acc = std::conditional_t<std::is_floating_point_v<C>, double, C>;
    const auto* px = static_cast<const typename E::Storage*>(in[0].data);
    auto* py = static_cast<typename E::Storage*>(out[0].data);
    for (int64_t o = 0; o < outer; ++o)
      for (int64_t j = 0; j < inner; ++j) {
        Acc acc{};
        for (int64_t s = 0; s < len; ++s) {
          const int64_t k = reverse ? len - 1 - s : s;
          const auto at = static_cast<size_t>((o * len + k) * inner + j);
          const auto v = static_cast<Acc>(E::load(px, at));
          if (!exclusive) acc = wrapAdd(acc, v);
          E::store(py, at, static_cast<C>(acc));
          if (exclusive) acc = wrapAdd(acc, v);
        }
      }
  });
}

// ---- Trilu ----

int64_t triluK(const Node& node, const std::vector<ValueRef>& in) {
  if (in.size() < 2 || !in[1].present()) return 0;
  if (in[1].dtype != DataType::kInt64) throwDType(node, std::string("k must be int64 but is ") + dataTypeName(in[1].dtype));
  if (volume(*in[1].shape) != 1 && (*in[1].shape).size() > 0)
    throwShape(node, "k must be a scalar but has shape " + dimsToString(*in[1].shape));
  if (!in[1].data) return 0;
  return *static_cast<const int64_t*>(in[1].data);
}

void inferTrilu(const Node& node, const std::vector<ValueRef>& in, std::vector<OutputDesc>* out) {
  requireInputs(node, in, 1, 2);
  requireWholeBytes(node, in[0].dtype);
  if (in[0].shape->size() < 2) throwShape(node, "the input must have rank 2 or more but is " + dimsToString(*in[0].shape));
  triluK(node, in);
  (*out)[0].dtype = in[0].dtype;
  (*out)[0].shape = *in[0].shape;
}

void runTrilu(const Node& node, const std::vector<ValueRef>& in, const std::vector<OutputRef>& out, KernelScratch&) {
  const Dims& x = *in[0].shape;
  const int64_t k = triluK(node, in);
  const bool upper = node.attrInt("upper", 1) != 0;
  const int64_t rows = x[x.size() - 2], cols = x[x.size() - 1];
  const int64_t mats = rangeVolume(x, 0, x.size() - 2);
  dispatchBytes(node, in[0].dtype, [&](auto tag) {
    using U = typename decltype(tag)::type;
    const auto* px = static_cast<const U*>(in[0].data);
    auto* py = static_cast<U*>(out[0].data);
    for (int64_t m = 0; m < mats; ++m)
      for (int64_t i = 0; i < rows; ++i)
        for (int64_t j = 0; j < cols; ++j) {
          const int64_t at = (m * rows + i) * cols + j;
          // Compare j - i with k without overflow: k is untrusted and may be near INT64_MIN/MAX.
          const int64_t diff = j - i;
          const bool keep = upper ? diff >= k : diff <= k;
          py[at] = keep ? px[at] : U{0};
        }
  });
}

// ---- TopK ----

// TensorRT's TopK layer takes K up to this (onnx-tensorrt's operator table: "K input must be
// less than 3840").
constexpr int64_t kMaxTopK = 3840;

// K, or -1 when it is an input not known yet.
int64_t topK(const Node& node, const std::vector<ValueRef>& in) {
  if (node.opset < 10) {
    const Attribute* a = node.attr("k");
    if (!a) throwShape(node, "needs the k attribute before opset 10");
    return a->i;
  }
  const ValueRef& k = in[1];
  if (k.dtype != DataType::kInt64) throwDType(node, std::string("K must be int64 but is ") + dataTypeName(k.dtype));
  if (volume(*k.shape) != 1 && k.shape->size() > 0) throwShape(node, "K must hold one value but has shape " + dimsToString(*k.shape));
  return k.data ? *static_cast<const int64_t*>(k.data) : -1;
}

void inferTopK(const Node& node, const std::vector<ValueRef>& in, std::vector<OutputDesc>* out) {
  requireInputs(node, in, node.opset < 10 ? 1 : 2, node.opset < 10 ? 1 : 2);
  dispatchNumeric(node, in[0].dtype, [](auto) {});
  const Dims& x = *in[0].shape;
  requireMaxRank(node, x);
  const auto axis = static_cast<size_t>(normalizeAxis(node, node.attrInt("axis", -1), x.size()));
  if (node.opset >= 11 && node.attrInt("sorted", 1) == 0)
    throwUnsupported(node, "sorted=0: TensorRT's TopK always sorts and requires sorted=1");
  const int64_t k = topK(node, in);
  if (k != -1 && k < 0) throwShape(node, "K must not be negative but is " + std::to_string(k));
  if (k > kMaxTopK) throwUnsupported(node, "K=" + std::to_string(k) + ": TensorRT's TopK takes K up to " + std::to_string(kMaxTopK));
  if (k >= 0 && x[axis] >= 0 && k > x[axis])
    throwShape(node, "K=" + std::to_string(k) + " is larger than axis " + std::to_string(axis) + " of " + dimsToString(x));
  Dims y = x;
  y[axis] = k;
  (*out)[0].dtype = in[0].dtype;
  (*out)[0].shape = y;
  if (out->size() > 1) {
    (*out)[1].dtype = DataType::kInt64;
    (*out)[1].shape = y;
  }
}

void runTopK(const Node& node, const std::vector<ValueRef>& in, const std::vector<OutputRef>& out, KernelScratch& scratch) {
  const Dims& x = *in[0].shape;
  const auto axis = static_cast<size_t>(normalizeAxis(node, node.attrInt("axis", -1), x.size()));
  const int64_t k = topK(node, in);
  const bool largest = node.opset < 11 || node.attrInt("largest", 1) != 0;
  const int64_t outer = rangeVolume(x, 0, axis), len = x[axis], inner = rangeVolume(x, axis + 1, x.size());
  int64_t* order = KernelScratch::as<int64_t>(scratch.a, static_cast<size_t>(len));
  auto* indices = out.size() > 1 ? static_cast<int64_t*>(out[1].data) : nullptr;
  dispatchNumeric(node, in[0].dtype, [&](auto tag) {
    using E = Elem<typename decltype(tag)::type>;
    using C = typename E::Compute;
    const auto* px = static_cast<const typename E::Storage*>(in[0].data);
    auto* py = static_cast<typename E::Storage*>(out[0].data);
    for (int64_t o = 0; o < outer; ++o)
      for (int64_t j = 0; j < inner; ++j) {
        const auto at = [&](int64_t s) { return static_cast<size_t>((o * len + s) * inner + j); };
        std::iota(order, order + len, int64_t{0});
        // Ties keep the lower index first, as ONNX specifies; NaN ranks above every number
        // for largest (below for smallest), as numpy's sort places it.
        const auto before = [&](int64_t a, int64_t b) {
          const C va = E::load(px, at(a)), vb = E::load(px, at(b));
          if constexpr (std::is_floating_point_v<C>) {
            if (std::isnan(va) || std::isnan(vb)) return largest ? (std::isnan(va) && !std::isnan(vb)) : (!std::isnan(va) && std::isnan(vb));
          }
          return largest ? va > vb : va < vb;
        };
        std::partial_sort(order, order + k, order + len, [&](int64_t a, int64_t b) {
          if (before(a, b)) return true;
          if (before(b, a)) return false;
          return a < b;
        });
        for (int64_t s = 0; s < k; ++s) {
          const auto dst = static_cast<size_t>((o * k + s) * inner + j);
          E::store(py, dst, E::load(px, at(order[s])));
          if (indices) indices[dst] = order[s];
        }
      }
  });
}

// ---- SpaceToDepth ----

void inferSpaceToDepth(const Node& node, const std::vector<ValueRef>& in, std::vector<OutputDesc>* out) {
  requireInputs(node, in, 1, 1);
  requireWholeBytes(node, in[0].dtype);
  const Dims& x = *in[0].shape;
  if (x.size() != 4) throwShape(node, "the input must be 4-D (N, C, H, W) but is " + dimsToString(x));
  const int64_t b = node.attrInt("blocksize", 0);
  if (b < 1) throwShape(node, "blocksize must be positive but is " + std::to_string(b));
  for (size_t d = 2; d < 4; ++d)
    if (x[d] >= 0 && x[d] % b != 0)
      throwShape(node, "H and W of " + dimsToString(x) + " must be multiples of blocksize " + std::to_string(b));
  Dims y = x;
  int64_t c = -1;
  if (x[1] >= 0 && (!checkedMul(x[1], b, &c) || !checkedMul(c, b, &c))) throwShape(node, "C * blocksize^2 overflows");
  y[1] = c;
  y[2] = x[2] < 0 ? -1 : x[2] / b;
  y[3] = x[3] < 0 ? -1 : x[3] / b;
  (*out)[0].dtype = in[0].dtype;
  (*out)[0].shape = y;
}

// y[n, (bh * b + bw) * C + c, h, w] = x[n, c, h * b + bh, w * b + bw]
void runSpaceToDepth(const Node& node, const std::vector<ValueRef>& in, const std::vector<OutputRef>& out, KernelScratch&) {
  const Dims& x = *in[0].shape;
  const int64_t b = node.attrInt("blocksize", 1);
  const int64_t N = x[0], C = x[1], H = x[2], W = x[3], oh = H / b, ow = W / b;
  // An empty output has nothing to write; returning keeps a huge blocksize (b^2 iterations)
  // from spinning over no elements.
  if (volume(*out[0].shape) == 0) return;
  dispatchBytes(node, in[0].dtype, [&](auto tag) {
    using U = typename decltype(tag)::type;
    const auto* px = static_cast<const U*>(in[0].data);
    auto* py = static_cast<U*>(out[0].data);
    int64_t o = 0;
    for (int64_t n = 0; n < N; ++n)
      for (int64_t bh = 0; bh < b; ++bh)
        for (int64_t bw = 0; bw < b; ++bw)
          for (int64_t c = 0; c < C; ++c)
            for (int64_t h = 0; h < oh; ++h)
              for (int64_t w = 0; w < ow; ++w) py[o++] = px[((n * C + c) * H + h * b + bh) * W + w * b + bw];
  });
}

}  // namespace

void registerIndexingOps(OpRegistry& registry) {
  // 13 added bfloat16 (and negative indices were always allowed from 11).
  registry.add({"GatherElements", 11, kMaxReviewedOpset, inferGatherElements, runGatherElements, false, 1, 1, {{11, 2, 2}}});
  // 12 added batch_dims.
  registry.add({"GatherND", 11, kMaxReviewedOpset, inferGatherND, runGatherND, false, 1, 1, {{11, 2, 2}}});
  // 16 added reduction add/mul, 18 max/min.
  registry.add({"ScatterElements", 11, kMaxReviewedOpset, inferScatterElements, runScatterElements, false, 1, 1, {{11, 3, 3}}});
  // Scatter is ScatterElements's name before opset 11 (deprecated from 11).
  registry.add({"Scatter", 9, 10, inferScatterElements, runScatterElements, false, 1, 1, {{9, 3, 3}}});
  registry.add({"ScatterND", 11, kMaxReviewedOpset, inferScatterND, runScatterND, false, 1, 1, {{11, 3, 3}}});
  // 14 added bfloat16 and more integer types.
  registry.add({"CumSum", 11, kMaxReviewedOpset, inferCumSum, runCumSum, false, 1, 1, {{11, 2, 2}}});
  registry.add({"Trilu", 14, kMaxReviewedOpset, inferTrilu, runTrilu, false, 1, 1, {{14, 1, 2}}});
  // K was an attribute before opset 10, an input from 10; 11 added largest and sorted.
  registry.add({"TopK", 1, kMaxReviewedOpset, inferTopK, runTopK, false, 2, 2, {{1, 1, 1}, {10, 2, 2}}});
  registry.add({"SpaceToDepth", 1, kMaxReviewedOpset, inferSpaceToDepth, runSpaceToDepth, false, 1, 1, {{1, 1, 1}}});
}

}  // namespace sim
}  // namespace tnrt
