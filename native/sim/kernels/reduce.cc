// Reductions: ReduceSum, ReduceMean, ReduceMax, ReduceMin, ReduceProd, ReduceL1, ReduceL2,
// ReduceLogSum, ReduceLogSumExp, ReduceSumSquare, and the index reductions ArgMax and ArgMin.
//
// The axes to reduce are the `axes` attribute in early opsets and an optional int64 input later
// (ReduceSum from opset 13, the others from opset 18); the same opsets introduce
// noop_with_empty_axes. No axes means every axis, unless noop_with_empty_axes makes it the
// identity. An axes input known only at run time leaves the reduced dims unknown at build time.
#include <cmath>
#include <limits>
#include <type_traits>

#include "../thread_pool.h"
#include "kernel_util.h"

namespace tnrt {
namespace sim {

namespace {

enum class ReduceKind { kSum, kMean, kMax, kMin, kProd, kL1, kL2, kLogSum, kLogSumExp, kSumSquare };

constexpr bool isExtremum(ReduceKind k) { return k == ReduceKind::kMax || k == ReduceKind::kMin; }

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
  // ONNX admits 8-bit integers for ReduceMax and ReduceMin only; the sums would overflow them
  // anyway. bfloat16 computes in float32 like float16.
  dispatchNumeric(node, in[0].dtype, [](auto) {});
  const bool extremum = node.opType == "ReduceMax" || node.opType == "ReduceMin";
  if (!extremum && (in[0].dtype == DataType::kInt8 || in[0].dtype == DataType::kUInt8))
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

// Calls fn(inputIndex, outputOffset) for every input element in order; the output offset
// advances by the kept shape's strides (0 along reduced dims).
template <typename Fn>
void walkReduced(const Dims& x, const Dims& kept, Fn&& fn) {
  const size_t rank = x.size();
  const int64_t n = volume(x);
  int64_t strides[kMaxRank], idx[kMaxRank] = {};
  broadcastStrides(kept, x, strides);
  int64_t off = 0;
  for (int64_t i = 0; i < n; ++i) {
    fn(i, off);
    for (size_t d = rank; d-- > 0;) {
      off += strides[d];
      if (++idx[d] < x[d]) break;
      off -= strides[d] * x[d];
      idx[d] = 0;
    }
  }
}

template <typename T, ReduceKind kKind>
void reduceTyped(const Node& node, const std::vector<ValueRef>& in, const OutputRef& out, KernelScratch& scratch) {
  using E = Elem<T>;
  using C = typename E::Compute;
  // Sums and products accumulate in double (floats) or int64 (integers, wrapping to the output
  // type as numpy does); Max and Min need no wider type.
  using Acc = std::conditional_t<isExtremum(kKind), C, std::conditional_t<std::is_floating_point_v<C>, double, int64_t>>;
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
  Acc init{};
  if constexpr (kKind == ReduceKind::kMax) {
    init = std::is_floating_point_v<C> ? -std::numeric_limits<C>::infinity() : std::numeric_limits<C>::lowest();
  } else if constexpr (kKind == ReduceKind::kMin) {
    init = std::is_floating_point_v<C> ? std::numeric_limits<C>::infinity() : std::numeric_limits<C>::max();
  } else if constexpr (kKind == ReduceKind::kProd) {
    init = 1;
  }
  Acc* acc = KernelScratch::as<Acc>(scratch.a, static_cast<size_t>(m));
  for (int64_t j = 0; j < m; ++j) acc[j] = init;
  const auto* px = static_cast<const typename E::Storage*>(in[0].data);
  // LogSumExp subtracts each output's maximum before exponentiating, so that large inputs do
  // not overflow: a first pass finds it.
  double* shift = nullptr;
  if constexpr (kKind == ReduceKind::kLogSumExp) {
    shift = KernelScratch::as<double>(scratch.b, static_cast<size_t>(m));
    for (int64_t j = 0; j < m; ++j) shift[j] = -std::numeric_limits<double>::infinity();
    walkReduced(x, kept, [&](int64_t i, int64_t off) {
      const auto v = static_cast<double>(E::load(px, static_cast<size_t>(i)));
      if (v > shift[off]) shift[off] = v;
    });
    // An all -inf (or empty) slice keeps shift 0, giving log(0) = -inf rather than NaN.
    for (int64_t j = 0; j < m; ++j)
      if (!std::isfinite(shift[j])) shift[j] = 0;
  }
  const auto fold = [&](int64_t i, int64_t off) {
    const C v = E::load(px, static_cast<size_t>(i));
    Acc& a = acc[off];
    if constexpr (kKind == ReduceKind::kMax || kKind == ReduceKind::kMin) {
      const bool better = kKind == ReduceKind::kMax ? v > a : v < a;
      if constexpr (std::is_floating_point_v<C>) {
        if (better || std::isnan(v)) a = v;  // NaN wins and then sticks (v > NaN is false), as numpy's max
      } else {
        if (better) a = v;
      }
    } else if constexpr (kKind == ReduceKind::kLogSumExp) {
      a += std::exp(static_cast<double>(v) - shift[off]);
    } else if constexpr (std::is_floating_point_v<Acc>) {
      const auto w = static_cast<Acc>(v);
      if constexpr (kKind == ReduceKind::kProd) a *= w;
      else if constexpr (kKind == ReduceKind::kL1) a += std::fabs(w);
      else if constexpr (kKind == ReduceKind::kL2 || kKind == ReduceKind::kSumSquare) a += w * w;
      else a += w;
    } else {
      const auto w = static_cast<Acc>(v);
      if constexpr (kKind == ReduceKind::kProd) a = wrapMul(a, w);
      else if constexpr (kKind == ReduceKind::kL1) a = wrapAdd(a, w < 0 ? wrapSub(Acc{0}, w) : w);
      else if constexpr (kKind == ReduceKind::kL2 || kKind == ReduceKind::kSumSquare) a = wrapAdd(a, wrapMul(w, w));
      else a = wrapAdd(a, w);
    }
  };
  // Reduced axes that all come after the kept ones (a layer norm's mean over the last axis):
  // output j folds the contiguous inputs [j * count, (j + 1) * count), in the order the walk
  // below visits them, so the outputs split over the pool with bitwise the same sums, and
  // the flat loop skips the walk's per-element index bookkeeping.
  bool trailing = kKind != ReduceKind::kLogSumExp, seenReduced = false;
  for (size_t i = 0; i < rank; ++i) {
    if (x[i] == 1) continue;  // either way, no element moves
    if (plan.reduced[i]) seenReduced = true;
    else if (seenReduced) trailing = false;
  }
  if (trailing) {
    parallelRanges(scratch.pool, m, 2 * count, [&](int64_t j0, int64_t j1) {
      for (int64_t j = j0; j < j1; ++j)
        for (int64_t t = 0; t < count; ++t) fold(j * count + t, j);
    });
  } else {
    walkReduced(x, kept, fold);
  }
  auto* py = static_cast<typename E::Storage*>(out.data);
  for (int64_t j = 0; j < m; ++j) {
    Acc r = acc[j];
    if constexpr (kKind == ReduceKind::kMean) {
      if constexpr (std::is_floating_point_v<Acc>) r /= static_cast<Acc>(count);  // 0/0 = NaN for an empty set
      else r = count == 0 ? 0 : r / count;
    }
    if constexpr (kKind == ReduceKind::kL2 || kKind == ReduceKind::kLogSum || kKind == ReduceKind::kLogSumExp) {
      // Computed in double and truncated toward zero for integer outputs.
      double d = static_cast<double>(r);
      if constexpr (kKind == ReduceKind::kL2) d = std::sqrt(d);
      else if constexpr (kKind == ReduceKind::kLogSum) d = std::log(d);
      else d = std::log(d) + shift[j];
      if constexpr (std::is_floating_point_v<C>) {
        E::store(py, static_cast<size_t>(j), static_cast<C>(d));
      } else {
        const bool inRange = d > static_cast<double>(std::numeric_limits<C>::lowest()) - 1.0 &&
                             d < static_cast<double>(std::numeric_limits<C>::max()) + 1.0;
        E::store(py, static_cast<size_t>(j), inRange ? static_cast<C>(d) : C{0});
      }
      continue;
    }
    E::store(py, static_cast<size_t>(j), static_cast<C>(r));
  }
}

template <ReduceKind kKind>
void runReduce(const Node& node, const std::vector<ValueRef>& in, const std::vector<OutputRef>& out,
               KernelScratch& scratch) {
  dispatchNumeric(node, in[0].dtype, [&](auto tag) {
    using T = typename decltype(tag)::type;
    reduceTyped<T, kKind>(node, in, out[0], scratch);
  });
}

// ---- ArgMax, ArgMin ----

// One axis (attribute, default 0), keepdims (default 1), and from opset 12 select_last_index:
// which of equal extremes is reported. The output is int64.
void inferArg(const Node& node, const std::vector<ValueRef>& in, std::vector<OutputDesc>* out) {
  requireInputs(node, in, 1, 1);
  dispatchNumeric(node, in[0].dtype, [](auto) {});
  const Dims& x = *in[0].shape;
  requireMaxRank(node, x);
  const auto axis = static_cast<size_t>(normalizeAxis(node, node.attrInt("axis", 0), x.size()));
  if (x[axis] == 0) throwShape(node, "cannot take the " + node.opType + " of an empty axis " + std::to_string(axis));
  const bool keep = node.attrInt("keepdims", 1) != 0;
  (*out)[0].dtype = DataType::kInt64;
  Dims& y = (*out)[0].shape;
  y.clear();
  for (size_t i = 0; i < x.size(); ++i) {
    if (i != axis) y.push_back(x[i]);
    else if (keep) y.push_back(1);
  }
}

template <bool kMax>
void runArg(const Node& node, const std::vector<ValueRef>& in, const std::vector<OutputRef>& out, KernelScratch&) {
  const Dims& x = *in[0].shape;
  const auto axis = static_cast<size_t>(normalizeAxis(node, node.attrInt("axis", 0), x.size()));
  const bool last = node.opset >= 12 && node.attrInt("select_last_index", 0) != 0;
  const int64_t outer = rangeVolume(x, 0, axis), len = x[axis], inner = rangeVolume(x, axis + 1, x.size());
  auto* py = static_cast<int64_t*>(out[0].data);
  dispatchNumeric(node, in[0].dtype, [&](auto tag) {
    using E = Elem<typename decltype(tag)::type>;
    using C = typename E::Compute;
    const auto* px = static_cast<const typename E::Storage*>(in[0].data);
    for (int64_t o = 0; o < outer; ++o) {
      for (int64_t j = 0; j < inner; ++j) {
        const int64_t base = o * len * inner + j;
        C best = E::load(px, static_cast<size_t>(base));
        int64_t at = 0;
        for (int64_t k = 1; k < len; ++k) {
          const C v = E::load(px, static_cast<size_t>(base + k * inner));
          // A NaN is the extreme, as numpy's argmax: the first one found wins (the last with
          // select_last_index), and nothing beats it afterwards.
          bool take;
          if constexpr (std::is_floating_point_v<C>) {
            if (std::isnan(best)) take = last && std::isnan(v);
            else if (std::isnan(v)) take = true;
            else take = kMax ? (v > best || (last && v == best)) : (v < best || (last && v == best));
          } else {
            take = kMax ? (v > best || (last && v == best)) : (v < best || (last && v == best));
          }
          if (take) {
            best = v;
            at = k;
          }
        }
        py[o * inner + j] = at;
      }
    }
  });
}

}  // namespace

void registerReduceOps(OpRegistry& registry) {
  // Opset 11 allowed negative axes, 13 added types (and moved ReduceSum's axes to an input),
  // 18 moved the others' axes to an input, 20 gave ReduceMax and ReduceMin bool, which the sim
  // does not reduce. axes became an optional input: ReduceSum in opset 13, the others in 18.
  const std::vector<InputArity> sumArity = {{1, 1, 1}, {13, 1, 2}}, laterArity = {{1, 1, 1}, {18, 1, 2}};
  registry.add({"ReduceSum", 1, kMaxReviewedOpset, inferReduce, runReduce<ReduceKind::kSum>, false, 1, 1, sumArity});
  registry.add({"ReduceMean", 1, kMaxReviewedOpset, inferReduce, runReduce<ReduceKind::kMean>, false, 1, 1, laterArity});
  registry.add({"ReduceMax", 1, kMaxReviewedOpset, inferReduce, runReduce<ReduceKind::kMax>, false, 1, 1, laterArity});
  registry.add({"ReduceMin", 1, kMaxReviewedOpset, inferReduce, runReduce<ReduceKind::kMin>, false, 1, 1, laterArity});
  registry.add({"ReduceProd", 1, kMaxReviewedOpset, inferReduce, runReduce<ReduceKind::kProd>, false, 1, 1, laterArity});
  registry.add({"ReduceL1", 1, kMaxReviewedOpset, inferReduce, runReduce<ReduceKind::kL1>, false, 1, 1, laterArity});
  registry.add({"ReduceL2", 1, kMaxReviewedOpset, inferReduce, runReduce<ReduceKind::kL2>, false, 1, 1, laterArity});
  registry.add({"ReduceLogSum", 1, kMaxReviewedOpset, inferReduce, runReduce<ReduceKind::kLogSum>, false, 1, 1, laterArity});
  registry.add({"ReduceLogSumExp", 1, kMaxReviewedOpset, inferReduce, runReduce<ReduceKind::kLogSumExp>, false, 1, 1, laterArity});
  registry.add({"ReduceSumSquare", 1, kMaxReviewedOpset, inferReduce, runReduce<ReduceKind::kSumSquare>, false, 1, 1, laterArity});
  // 11: negative axis; 12: select_last_index; 13: bfloat16.
  registry.add({"ArgMax", 1, kMaxReviewedOpset, inferArg, runArg<true>, false, 1, 1, {{1, 1, 1}}});
  registry.add({"ArgMin", 1, kMaxReviewedOpset, inferArg, runArg<false>, false, 1, 1, {{1, 1, 1}}});
}

}  // namespace sim
}  // namespace tnrt
