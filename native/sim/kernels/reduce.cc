// Reductions: ReduceSum, ReduceMean, ReduceMax.
//
// The axes to reduce are the `axes` attribute in early opsets and an optional int64 input later
// (ReduceSum from opset 13, ReduceMean and ReduceMax from opset 18); the same opsets introduce
// noop_with_empty_axes. No axes means every axis, unless noop_with_empty_axes makes it the
// identity. An axes input known only at run time leaves the reduced dims unknown at build time.
#include <cmath>
#include <limits>
#include <type_traits>

#include "kernel_util.h"

namespace tnrt {
namespace sim {

namespace {

enum class ReduceKind { kSum, kMean, kMax };

bool axesFromInput(const Node& node) { return node.opset >= (node.opType == "ReduceSum" ? 13 : 18); }

// What the node says about its axes for an input of rank `rank`.
struct AxesPlan {
  bool known = true;    // false: an axes input whose contents arrive only at run time
  int64_t count = 0;    // how many axes are listed (-1: unknown)
  bool identity = false;  // empty axes with noop_with_empty_axes
  std::vector<bool> reduced;  // per input dim, when known
};

AxesPlan planAxes(const Node& node, const std::vector<ValueRef>& in, size_t rank) {
  AxesPlan plan;
  std::vector<int64_t> axes;
  bool noopIfEmpty = false;
  if (axesFromInput(node)) {
    noopIfEmpty = node.attrInt("noop_with_empty_axes", 0) != 0;
    if (in.size() >= 2 && in[1].present()) {
      const ValueRef& a = in[1];
      if (a.dtype != DataType::kInt64)
        throwDType(node, std::string("the axes input must be int64 but is ") + dataTypeName(a.dtype));
      if (a.shape->size() != 1) throwShape(node, "the axes input must be 1-D but is " + dimsToString(*a.shape));
      plan.count = (*a.shape)[0];
      if (plan.count != 0 && a.data == nullptr) {
        plan.known = false;
        return plan;
      }
      if (plan.count > 0) {
        const auto* p = static_cast<const int64_t*>(a.data);
        axes.assign(p, p + plan.count);
      }
    }
  } else {
    if (node.attr("noop_with_empty_axes"))
      throwUnsupported(node, "attribute noop_with_empty_axes does not exist before opset " +
                                 std::string(node.opType == "ReduceSum" ? "13" : "18"));
    if (const Attribute* a = node.attr("axes")) axes = a->ints;
    plan.count = static_cast<int64_t>(axes.size());
  }
  if (axes.empty()) {
    plan.identity = noopIfEmpty;
    plan.reduced.assign(rank, !noopIfEmpty);
    return plan;
  }
  plan.reduced.assign(rank, false);
  for (int64_t axis : axes) {
    const auto k = static_cast<size_t>(normalizeAxis(node, axis, rank));
    if (plan.reduced[k]) throwShape(node, "axis " + std::to_string(axis) + " is listed twice");
    plan.reduced[k] = true;
  }
  return plan;
}

void inferReduce(const Node& node, const std::vector<ValueRef>& in, std::vector<OutputDesc>* out) {
  requireInputs(node, in, 1, axesFromInput(node) ? 2 : 1);
  // ONNX admits 8-bit integers for ReduceMax only; the sums would overflow them anyway.
  dispatchArithmetic(node, in[0].dtype, [](auto) {});
  if (node.opType != "ReduceMax" && (in[0].dtype == DataType::kInt8 || in[0].dtype == DataType::kUInt8))
    throwDType(node, std::string(node.opType) + " is not defined for " + dataTypeName(in[0].dtype));
  const Dims& x = *in[0].shape;
  requireMaxRank(node, x);
  const bool keep = node.attrInt("keepdims", 1) != 0;
  const AxesPlan plan = planAxes(node, in, x.size());
  (*out)[0].dtype = in[0].dtype;
  Dims& y = (*out)[0].shape;
  y.clear();
  if (!plan.known) {
    // Which dims shrink is unknown: a dim of 1 stays 1 either way; the rest are unknown.
    if (keep) {
      for (int64_t d : x) y.push_back(d == 1 ? 1 : -1);
      return;
    }
    if (plan.count < 0)
      throwShape(node, "with keepdims=0 the length of the axes input must be known when the engine is built");
    if (plan.count > static_cast<int64_t>(x.size()))
      throwShape(node, "lists " + std::to_string(plan.count) + " axes for an input of rank " + std::to_string(x.size()));
    y.assign(x.size() - static_cast<size_t>(plan.count), -1);
    return;
  }
  for (size_t i = 0; i < x.size(); ++i) {
    if (!plan.reduced[i]) y.push_back(x[i]);
    else if (keep) y.push_back(1);
  }
}

template <typename T, ReduceKind kKind>
void reduceTyped(const Node& node, const std::vector<ValueRef>& in, const OutputRef& out, KernelScratch& scratch) {
  using E = Elem<T>;
  using C = typename E::Compute;
  // Sums accumulate in double (floats) or int64 (integers, wrapping to the output type as numpy
  // does); Max needs no wider type.
  using Acc = std::conditional_t<kKind == ReduceKind::kMax, C,
                                 std::conditional_t<std::is_floating_point_v<C>, double, int64_t>>;
  const Dims& x = *in[0].shape;
  const size_t rank = x.size();
  const AxesPlan plan = planAxes(node, in, rank);
  Dims kept(rank);
  int64_t count = 1;  // elements folded into each output
  for (size_t i = 0; i < rank; ++i) {
    kept[i] = plan.reduced[i] ? 1 : x[i];
    if (plan.reduced[i]) count *= x[i];
  }
  const int64_t m = volume(kept);
  const int64_t n = volume(x);
  Acc init{};
  if constexpr (kKind == ReduceKind::kMax) {
    init = std::is_floating_point_v<C> ? -std::numeric_limits<C>::infinity() : std::numeric_limits<C>::lowest();
  }
  Acc* acc = KernelScratch::as<Acc>(scratch.a, static_cast<size_t>(m));
  for (int64_t j = 0; j < m; ++j) acc[j] = init;
  const auto* px = static_cast<const typename E::Storage*>(in[0].data);
  // Walk the input in order; the output offset advances by the kept shape's strides (0 along
  // reduced dims).
  int64_t strides[kMaxRank], idx[kMaxRank] = {};
  broadcastStrides(kept, x, strides);
  int64_t off = 0;
  for (int64_t i = 0; i < n; ++i) {
    const C v = E::load(px, static_cast<size_t>(i));
    Acc& a = acc[off];
    if constexpr (kKind == ReduceKind::kMax) {
      if constexpr (std::is_floating_point_v<C>) {
        if (v > a || std::isnan(v)) a = v;  // NaN wins and then sticks (v > NaN is false), as numpy's max
      } else {
        if (v > a) a = v;
      }
    } else if constexpr (std::is_floating_point_v<Acc>) {
      a += static_cast<Acc>(v);
    } else {
      a = wrapAdd(a, static_cast<Acc>(v));
    }
    for (size_t d = rank; d-- > 0;) {
      off += strides[d];
      if (++idx[d] < x[d]) break;
      off -= strides[d] * x[d];
      idx[d] = 0;
    }
  }
  auto* py = static_cast<typename E::Storage*>(out.data);
  for (int64_t j = 0; j < m; ++j) {
    Acc r = acc[j];
    if constexpr (kKind == ReduceKind::kMean) {
      if constexpr (std::is_floating_point_v<Acc>) r /= static_cast<Acc>(count);  // 0/0 = NaN for an empty set
      else r = count == 0 ? 0 : r / count;
    }
    E::store(py, static_cast<size_t>(j), static_cast<C>(r));
  }
}

template <ReduceKind kKind>
void runReduce(const Node& node, const std::vector<ValueRef>& in, const std::vector<OutputRef>& out,
               KernelScratch& scratch) {
  dispatchArithmetic(node, in[0].dtype, [&](auto tag) {
    using T = typename decltype(tag)::type;
    reduceTyped<T, kKind>(node, in, out[0], scratch);
  });
}

}  // namespace

void registerReduceOps(OpRegistry& registry) {
  // Opset 11 allowed negative axes, 13 added types (and moved ReduceSum's axes to an input),
  // 18 moved the others' axes to an input, 20 gave ReduceMax bool, which the sim lacks.
  // axes became an optional input: ReduceSum in opset 13, the others in 18.
  registry.add({"ReduceSum", 1, kMaxReviewedOpset, inferReduce, runReduce<ReduceKind::kSum>, false, 1, 1, {{1, 1, 1}, {13, 1, 2}}});
  registry.add({"ReduceMean", 1, kMaxReviewedOpset, inferReduce, runReduce<ReduceKind::kMean>, false, 1, 1, {{1, 1, 1}, {18, 1, 2}}});
  registry.add({"ReduceMax", 1, kMaxReviewedOpset, inferReduce, runReduce<ReduceKind::kMax>, false, 1, 1, {{1, 1, 1}, {18, 1, 2}}});
}

}  // namespace sim
}  // namespace tnrt
