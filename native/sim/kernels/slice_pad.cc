// Slice and Pad: windows onto the input along some axes. Both take their parameters as
// attributes in early opsets and as (possibly run-time) int64 inputs later; when those are not
// known while building, the affected dims are -1 and resolve per call.
#include <algorithm>
#include <cstring>
#include <limits>

#include "../checked_math.h"
#include "movement_util.h"

namespace tnrt {
namespace sim {

namespace {

// ---- Slice ----

struct SliceParams {
  std::vector<int64_t> starts, ends, axes, steps;
};

// False while any parameter is a run-time tensor; then `axesKnown` says whether at least the
// axes (and so which dims change) are known.
bool sliceParams(const Node& node, const std::vector<ValueRef>& in, size_t rank, SliceParams* p, bool* axesKnown) {
  bool known = true;
  *axesKnown = true;
  if (node.opset < 10) {
    if (!readIntsAttr(node, "starts", &p->starts) || !readIntsAttr(node, "ends", &p->ends))
      throwShape(node, "needs starts and ends attributes");
    readIntsAttr(node, "axes", &p->axes);
  } else {
    known &= readIndexInput(node, in[1], "starts", &p->starts);
    known &= readIndexInput(node, in[2], "ends", &p->ends);
    if (in.size() > 3 && in[3].present()) *axesKnown = readIndexInput(node, in[3], "axes", &p->axes);
    if (in.size() > 4 && in[4].present()) known &= readIndexInput(node, in[4], "steps", &p->steps);
  }
  if (!*axesKnown || !known) return false;
  const size_t n = p->starts.size();
  if (p->ends.size() != n) throwShape(node, "starts and ends differ in length");
  if (p->axes.empty()) {
    for (size_t i = 0; i < n; ++i) p->axes.push_back(static_cast<int64_t>(i));
  }
  if (p->steps.empty()) p->steps.assign(n, 1);
  if (p->axes.size() != n || p->steps.size() != n)
    throwShape(node, "starts, ends, axes and steps must have the same length");
  std::vector<bool> seen(rank, false);
  for (auto& a : p->axes) {
    a = normalizeAxis(node, a, rank);
    if (seen[static_cast<size_t>(a)]) throwShape(node, "axis " + std::to_string(a) + " is sliced twice");
    seen[static_cast<size_t>(a)] = true;
  }
  for (int64_t s : p->steps)
    if (s == 0) throwShape(node, "steps must not be 0");
  return true;
}

// Clamps start/end as ONNX specifies and returns the number of elements taken.
int64_t sliceLength(int64_t dim, int64_t step, int64_t* start, int64_t end) {
  int64_t s = *start, e = end;
  if (s < 0) s += dim;
  if (e < 0) e += dim;
  if (step > 0) {
    s = std::clamp<int64_t>(s, 0, dim);
    e = std::clamp<int64_t>(e, 0, dim);
  } else {
    s = std::clamp<int64_t>(s, 0, dim - 1);
    e = std::clamp<int64_t>(e, -1, dim - 1);
  }
  *start = s;
  // ceil(|e - s| / |step|) without overflow: steps come from tensor data and may be as large
  // as int64 allows (INT64_MIN included, whose negation does not exist in int64).
  if (step > 0) return e > s ? (e - s - 1) / step + 1 : 0;
  const uint64_t magnitude = uint64_t{0} - static_cast<uint64_t>(step);
  return s > e ? static_cast<int64_t>(static_cast<uint64_t>(s - e - 1) / magnitude) + 1 : 0;
}

void inferSlice(const Node& node, const std::vector<ValueRef>& in, std::vector<OutputDesc>* out) {
  if (node.opset < 10) requireInputs(node, in, 1, 1);
  else requireInputs(node, in, 3, 5);
  requireWholeBytes(node, in[0].dtype);
  const Dims& d = *in[0].shape;
  requireMaxRank(node, d);
  (*out)[0].dtype = in[0].dtype;
  Dims& result = (*out)[0].shape;
  result = d;
  SliceParams p;
  bool axesKnown = false;
  if (!sliceParams(node, in, d.size(), &p, &axesKnown)) {
    // Only the dims the slice may touch become unknown: its axes if known, else all.
    if (axesKnown && !p.axes.empty()) {
      for (int64_t a : p.axes) result[static_cast<size_t>(normalizeAxis(node, a, d.size()))] = -1;
    } else {
      result.assign(d.size(), -1);
    }
    return;
  }
  for (size_t i = 0; i < p.axes.size(); ++i) {
    const auto a = static_cast<size_t>(p.axes[i]);
    if (d[a] < 0) continue;
    int64_t start = p.starts[i];
    result[a] = sliceLength(d[a], p.steps[i], &start, p.ends[i]);
  }
}

void runSlice(const Node& node, const std::vector<ValueRef>& in, const std::vector<OutputRef>& out,
              KernelScratch& scratch) {
  const Dims& d = *in[0].shape;
  SliceParams p;
  bool axesKnown = false;
  sliceParams(node, in, d.size(), &p, &axesKnown);
  int64_t strides[kMaxRank];
  denseStrides(d, strides);
  int64_t base = 0;
  for (size_t i = 0; i < p.axes.size(); ++i) {
    const auto a = static_cast<size_t>(p.axes[i]);
    int64_t start = p.starts[i];
    if (sliceLength(d[a], p.steps[i], &start, p.ends[i]) == 0) return;  // empty output
    base += start * strides[a];
    strides[a] *= p.steps[i];
  }
  stridedGatherAny(node, in[0].dtype, in[0].data, base, strides, *out[0].shape, out[0].data, scratch.pool);
}

// ---- Pad ----

enum class PadMode { kConstant, kReflect, kEdge, kWrap };

PadMode padMode(const Node& node) {
  const Attribute* a = node.attr("mode");
  const std::string m = a ? a->s : "constant";
  if (m == "constant") return PadMode::kConstant;
  if (m == "reflect") return PadMode::kReflect;
  if (m == "edge") return PadMode::kEdge;
  if (m == "wrap" && node.opset >= 19) return PadMode::kWrap;
  throwUnsupported(node, "mode '" + m + "' is not supported");
}

// Per-dim begin and end padding (negative crops); false while they are run-time values.
bool padAmounts(const Node& node, const std::vector<ValueRef>& in, size_t rank, std::vector<int64_t>* begin,
                std::vector<int64_t>* end) {
  std::vector<int64_t> pads, axes;
  if (node.opset < 11) {
    if (!readIntsAttr(node, node.opset < 2 ? "paddings" : "pads", &pads)) throwShape(node, "needs a pads attribute");
  } else {
    if (!readIndexInput(node, in[1], "pads", &pads)) return false;
    if (in.size() > 3 && in[3].present() && !readIndexInput(node, in[3], "axes", &axes)) return false;
  }
  if (axes.empty())
    for (size_t i = 0; i < rank; ++i) axes.push_back(static_cast<int64_t>(i));
  if (pads.size() != 2 * axes.size())
    throwShape(node, "pads has " + std::to_string(pads.size()) + " entries; expected " +
                         std::to_string(2 * axes.size()));
  begin->assign(rank, 0);
  end->assign(rank, 0);
  for (size_t i = 0; i < axes.size(); ++i) {
    const auto a = static_cast<size_t>(normalizeAxis(node, axes[i], rank));
    (*begin)[a] = pads[i];
    (*end)[a] = pads[i + axes.size()];
  }
  return true;
}

void inferPad(const Node& node, const std::vector<ValueRef>& in, std::vector<OutputDesc>* out) {
  if (node.opset < 11) requireInputs(node, in, 1, 1);
  else requireInputs(node, in, 2, node.opset >= 18 ? 4 : 3);
  requireWholeBytes(node, in[0].dtype);
  const Dims& d = *in[0].shape;
  requireMaxRank(node, d);
  const PadMode mode = padMode(node);
  if (in.size() > 2 && in[2].present()) {
    if (in[2].dtype != in[0].dtype) throwDType(node, "constant_value must have the input's element type");
    if (volume(*in[2].shape) != 1 && volume(*in[2].shape) != -1)
      throwShape(node, "constant_value must hold one element");
  }
  (*out)[0].dtype = in[0].dtype;
  Dims& result = (*out)[0].shape;
  std::vector<int64_t> b, e;
  if (!padAmounts(node, in, d.size(), &b, &e)) {
    result.assign(d.size(), -1);
    return;
  }
  result.resize(d.size());
  for (size_t i = 0; i < d.size(); ++i) {
    if (d[i] < 0) {
      result[i] = -1;
      continue;
    }
    // pads come from tensor data: a wrapped sum would size the output too small.
    if (!checkedAdd(d[i], b[i], &result[i]) || !checkedAdd(result[i], e[i], &result[i]))
      throwShape(node, "pads " + std::to_string(b[i]) + " and " + std::to_string(e[i]) + " on dim " +
                           std::to_string(i) + " (" + std::to_string(d[i]) + ") overflow; fix the pads");
    if (result[i] < 0) throwShape(node, "pads shrink dim " + std::to_string(i) + " below zero");
    // Reflect and edge need source elements to copy from when they add any.
    if (mode != PadMode::kConstant && d[i] == 0 && (b[i] > 0 || e[i] > 0))
      throwShape(node, "cannot pad an empty dim in mode reflect, edge or wrap");
  }
}

// The source index for output index `o` of a dim, or -1 for the constant.
int64_t padSource(PadMode mode, int64_t o, int64_t begin, int64_t dim) {
  int64_t i = o - begin;
  if (i >= 0 && i < dim) return i;
  switch (mode) {
    case PadMode::kConstant: return -1;
    case PadMode::kEdge: return std::clamp<int64_t>(i, 0, dim - 1);
    case PadMode::kWrap: return ((i % dim) + dim) % dim;
    case PadMode::kReflect: {
      if (dim == 1) return 0;
      const int64_t period = 2 * (dim - 1);  // reflection excludes the edge element itself
      i = ((i % period) + period) % period;
      return i < dim ? i : period - i;
    }
  }
  return -1;
}

// The padding value as one element of `t`, written to `dst`.
void padValue(const Node& node, const std::vector<ValueRef>& in, DataType t, void* dst) {
  const size_t esize = elementSize(t);
  if (node.opset >= 11) {
    if (in.size() > 2 && in[2].present() && volume(*in[2].shape) == 1) std::memcpy(dst, in[2].data, esize);
    else std::memset(dst, 0, esize);
    return;
  }
  const float v = node.attrFloat("value", 0.0f);
  if (t == DataType::kBool) {
    *static_cast<uint8_t*>(dst) = v != 0.0f;
    return;
  }
  dispatchArithmetic(node, t, [&](auto tag) {
    using T = typename decltype(tag)::type;
    using E = Elem<T>;
    E::store(static_cast<typename E::Storage*>(dst), 0, static_cast<typename E::Compute>(v));
  });
}

template <typename U>
void padTyped(PadMode mode, const ValueRef& x, const OutputRef& y, const std::vector<int64_t>& begin, U fill,
              std::vector<uint8_t>& mapBuffer) {
  const Dims& d = *x.shape;
  const Dims& od = *y.shape;
  const size_t rank = od.size();
  const int64_t n = volume(od);
  if (n <= 0) return;
  const U* src = static_cast<const U*>(x.data);
  U* dst = static_cast<U*>(y.data);
  if (rank == 0) {
    dst[0] = src[0];
    return;
  }
  // map holds, per dim, the source index (or -1) of every output index along that dim.
  size_t offsets[kMaxRank];
  size_t total = 0;
  for (size_t k = 0; k < rank; ++k) {
    offsets[k] = total;
    total += static_cast<size_t>(od[k]);
  }
  int64_t* map = KernelScratch::as<int64_t>(mapBuffer, total);
  for (size_t k = 0; k < rank; ++k)
    for (int64_t o = 0; o < od[k]; ++o) map[offsets[k] + static_cast<size_t>(o)] = padSource(mode, o, begin[k], d[k]);
  int64_t strides[kMaxRank], idx[kMaxRank] = {};
  denseStrides(d, strides);
  const int64_t* inner = map + offsets[rank - 1];
  for (int64_t o = 0; o < n; o += od[rank - 1]) {
    int64_t off = 0;
    bool outside = false;
    for (size_t k = 0; k + 1 < rank; ++k) {
      const int64_t s = map[offsets[k] + static_cast<size_t>(idx[k])];
      if (s < 0) outside = true;
      off += s * strides[k];
    }
    for (int64_t j = 0; j < od[rank - 1]; ++j) dst[o + j] = (outside || inner[j] < 0) ? fill : src[off + inner[j]];
    for (size_t k = rank - 1; k-- > 0;) {
      if (++idx[k] < od[k]) break;
      idx[k] = 0;
    }
  }
}

void runPad(const Node& node, const std::vector<ValueRef>& in, const std::vector<OutputRef>& out,
            KernelScratch& scratch) {
  std::vector<int64_t> b, e;
  padAmounts(node, in, in[0].shape->size(), &b, &e);
  const PadMode mode = padMode(node);
  uint64_t fillBytes = 0;
  padValue(node, in, in[0].dtype, &fillBytes);
  dispatchBytes(node, in[0].dtype, [&](auto tag) {
    using U = typename decltype(tag)::type;
    U fill;
    std::memcpy(&fill, &fillBytes, sizeof(U));
    padTyped<U>(mode, in[0], out[0], b, fill, scratch.a);
  });
}

}  // namespace

void registerSlicePadOps(OpRegistry& registry) {
  // Slice (opset 10) and Pad (opset 11) turned their attributes into inputs; Pad 18 added axes.
  registry.add({"Slice", 1, kMaxReviewedOpset, inferSlice, runSlice, false, 1, 1, {{1, 1, 1}, {10, 3, 5}}});
  registry.add({"Pad", 1, kMaxReviewedOpset, inferPad, runPad, false, 1, 1, {{1, 1, 1}, {11, 2, 3}, {18, 2, 4}}});
}

}  // namespace sim
}  // namespace tnrt
