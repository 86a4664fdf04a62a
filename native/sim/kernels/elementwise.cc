// Element-wise arithmetic with numpy broadcasting: the binary Add, Sub, Mul, Div, Pow, PRelu
// and the variadic Max, Min, Sum, Mean.
#include <cmath>
#include <limits>
#include <type_traits>

#include "broadcast_loop.h"
#include "denormals.h"
#include "../thread_pool.h"

namespace tnrt {
namespace sim {

namespace {

// The shape input 1 is broadcast as. From opset 7 that is its own shape under numpy rules.
// Before, Add/Sub/Mul/Div broadcast B only with broadcast=1 (aligned at `axis`, else at the
// end: numpy's trailing alignment once B is padded with 1s after `axis`), and PRelu's slope was
// one value or one per channel (dim 1). Exporters of that era (e.g. the pytorch-converted ONNX
// tests) still produce these forms.
Dims operandShapeB(const Node& node, const Dims& a, const Dims& b) {
  if (node.opset >= 7) return b;
  if (node.opType == "PRelu") {
    if (b.size() != 1) throwShape(node, "before opset 7 the slope must be 1-D but has shape " + dimsToString(b));
    if (b[0] == 1 || a.size() < 2) return b;
    Dims perChannel(a.size() - 1, 1);
    perChannel[0] = b[0];
    return perChannel;
  }
  if (node.attrInt("broadcast", 0) == 0) return b;  // the caller requires equal shapes
  const Attribute* axisAttr = node.attr("axis");
  if (axisAttr == nullptr) return b;
  const int64_t axis = normalizeAxis(node, axisAttr->i, a.size());
  if (axis + static_cast<int64_t>(b.size()) > static_cast<int64_t>(a.size()))
    throwShape(node, "B " + dimsToString(b) + " does not fit in A " + dimsToString(a) + " at axis " + std::to_string(axis));
  Dims padded = b;
  padded.resize(a.size() - static_cast<size_t>(axis), 1);
  return padded;
}

// Before opset 7 the output always has A's shape: B broadcasts in one direction only, and
// without broadcast=1 not at all.
void requireLegacyBroadcast(const Node& node, const Dims& a, const Dims& b, const Dims& result) {
  bool ok = result.size() == a.size();
  for (size_t i = 0; ok && i < a.size(); ++i) ok = result[i] == a[i] || a[i] < 0;
  if (ok && node.opType != "PRelu" && node.attrInt("broadcast", 0) == 0) {
    ok = a.size() == b.size();
    for (size_t i = 0; ok && i < a.size(); ++i) ok = a[i] == b[i] || a[i] < 0 || b[i] < 0;
  }
  if (!ok)
    throwShape(node, "before opset 7 input 1 " + dimsToString(b) + " must " +
                         (node.opType == "PRelu" || node.attrInt("broadcast", 0) != 0 ? "broadcast to" : "equal (broadcast=0)") +
                         " input 0 " + dimsToString(a));
}

void inferBinary(const Node& node, const std::vector<ValueRef>& in, std::vector<OutputDesc>* out) {
  requireInputs(node, in, 2, 2);
  requireSameType(node, in);
  dispatchArithmetic(node, in[0].dtype, [](auto) {});  // rejects types the kernel lacks
  const Dims b = operandShapeB(node, *in[0].shape, *in[1].shape);
  (*out)[0].dtype = in[0].dtype;
  (*out)[0].shape = broadcastShapes(node, *in[0].shape, b);
  if (node.opset < 7) requireLegacyBroadcast(node, *in[0].shape, *in[1].shape, (*out)[0].shape);
  requireMaxRank(node, (*out)[0].shape);
}

// Splits a large output over the context's threads along its first dim longer than 1 (the
// dims before it are all 1): each range is a smaller broadcast of the same operands, an
// operand that broadcasts along that dim keeping its whole extent. Every element gets the same
// operation as unsplit. EA, EB and EO are the element kinds (Elem<...>) of A, B and the output;
// `cost` is an element's rough cost in adds (parallelChunks). kFlush: the pass runs under
// FlushDenormals (Add, Sub, Mul, Div; see denormals.h), else with IEEE subnormals.
struct KeepDenormals {};

template <typename EA, typename EB, typename EO, bool kFlush, typename Op>
void binaryLoop(const ValueRef& a, const ValueRef& b, const OutputRef& out, Op op, ThreadPool* pool, int64_t cost) {
  using Guard = std::conditional_t<kFlush, FlushDenormals, KeepDenormals>;
  const Dims& os = *out.shape;
  const int64_t n = volume(os);
  size_t d = 0;
  while (d < os.size() && os[d] == 1) ++d;
  // At most os[d] ranges: a count balanced over the threads for that extent.
  const int64_t chunks = d < os.size() ? balancedRanges(os[d], parallelChunks(pool, n, cost), pool ? pool->threads() : 1) : 1;
  if (chunks <= 1) {
    [[maybe_unused]] const Guard guard;  // see denormals.h: a subnormal operand costs ~100 cycles
    broadcastLoop<EA, EB, EO>(a.data, *a.shape, b.data, *b.shape, out.data, os, op);
    return;
  }
  // One operand's slice [lo, hi) of output dim d: its own shape and element offset.
  const auto slice = [&](const Dims& shape, int64_t lo, int64_t hi, Dims* sub) -> int64_t {
    *sub = shape;
    const size_t lead = os.size() - shape.size();  // shape is right-aligned to the output's rank
    if (d < lead || shape[d - lead] == 1) return 0;
    int64_t inner = 1;
    for (size_t k = d - lead + 1; k < shape.size(); ++k) inner *= shape[k];
    (*sub)[d - lead] = hi - lo;
    return lo * inner;
  };
  pool->forEach(chunks, [&](int64_t c) {
    [[maybe_unused]] const Guard guard;
    const int64_t lo = os[d] * c / chunks, hi = os[d] * (c + 1) / chunks;
    Dims sa, sb, so;
    const int64_t oa = slice(*a.shape, lo, hi, &sa), ob = slice(*b.shape, lo, hi, &sb), oo = slice(os, lo, hi, &so);
    broadcastLoop<EA, EB, EO>(static_cast<const typename EA::Storage*>(a.data) + oa, sa,
                              static_cast<const typename EB::Storage*>(b.data) + ob, sb,
                              static_cast<typename EO::Storage*>(out.data) + oo, so, op);
  });
}

struct AddOp {
  template <typename C>
  C operator()(C a, C b) const { return wrapAdd(a, b); }
};
struct SubOp {
  template <typename C>
  C operator()(C a, C b) const { return wrapSub(a, b); }
};
struct MulOp {
  template <typename C>
  C operator()(C a, C b) const { return wrapMul(a, b); }
};
struct DivOp {
  template <typename C>
  C operator()(C a, C b) const {
    if constexpr (std::is_integral_v<C>) {
      // ONNX leaves integer division by zero undefined; return 0 rather than raise SIGFPE.
      if (b == 0) return 0;
      // INT_MIN / -1 traps on x86; wrap as numpy does.
      if constexpr (std::is_signed_v<C>) {
        if (b == -1) return wrapSub(C{0}, a);
      }
      return static_cast<C>(a / b);
    } else {
      return a / b;
    }
  }
};

template <typename Op>
void runBinary(const Node& node, const std::vector<ValueRef>& in, const std::vector<OutputRef>& out, KernelScratch& scratch) {
  ValueRef b = in[1];
  const Dims shapeB = operandShapeB(node, *in[0].shape, *in[1].shape);
  b.shape = &shapeB;
  dispatchArithmetic(node, in[0].dtype, [&](auto tag) {
    using T = typename decltype(tag)::type;
    // Operands of the output's shape (or scalars) run a flat loop, about an add an element; a
    // broadcast one (a squeeze-and-excitation Mul by [N, C, 1, 1]) walks rows with an
    // odometer, measured at twice that on the OCR models' maps.
    const int64_t n = volume(*out[0].shape), na = volume(*in[0].shape), nb = volume(shapeB);
    const int64_t cost = (na == n || na == 1) && (nb == n || nb == 1) ? 1 : 2;
    binaryLoop<Elem<T>, Elem<T>, Elem<T>, true>(in[0], b, out[0], Op{}, scratch.pool, cost);
  });
}

// ---- Variadic Max, Min, Sum, Mean ----

// Equal where both are known (-1 matches anything).
bool sameShape(const Dims& a, const Dims& b) {
  if (a.size() != b.size()) return false;
  for (size_t i = 0; i < a.size(); ++i)
    if (a[i] != b[i] && a[i] >= 0 && b[i] >= 0) return false;
  return true;
}

// Max and Min take every numeric type from opset 12 (float only before); Sum and Mean are float
// only. Before opset 8 all inputs had to have one shape.
void inferVariadic(const Node& node, const std::vector<ValueRef>& in, std::vector<OutputDesc>* out) {
  requireInputs(node, in, 1, in.size() > 0 ? in.size() : 1);
  for (size_t i = 0; i < in.size(); ++i)
    if (!in[i].present()) throwShape(node, "input " + std::to_string(i) + " is missing; inputs are not optional");
  requireSameType(node, in);
  const bool minMax = node.opType == "Max" || node.opType == "Min";
  if (minMax && node.opset >= 12) dispatchArithmetic(node, in[0].dtype, [](auto) {});
  else requireFloat(node, in[0], "input 0");
  Dims shape = *in[0].shape;
  for (size_t i = 1; i < in.size(); ++i) {
    if (node.opset < 8 && !sameShape(*in[i].shape, shape))
      throwShape(node, "before opset 8 every input must have the same shape, but input " + std::to_string(i) +
                           " is " + dimsToString(*in[i].shape) + " and input 0 is " + dimsToString(shape));
    shape = broadcastShapes(node, shape, *in[i].shape);
  }
  requireMaxRank(node, shape);
  (*out)[0].dtype = in[0].dtype;
  (*out)[0].shape = shape;
}

struct MaxOp {
  template <typename C>
  C operator()(C a, C b) const {
    // A NaN operand wins, as numpy's maximum: a > NaN is false, so b = NaN is taken; a = NaN is kept explicitly.
    if constexpr (std::is_floating_point_v<C>) {
      if (std::isnan(a)) return a;
    }
    return a > b ? a : b;
  }
};
struct MinOp {
  template <typename C>
  C operator()(C a, C b) const {
    if constexpr (std::is_floating_point_v<C>) {
      if (std::isnan(a)) return a;
    }
    return a < b ? a : b;
  }
};

// Folds the inputs into an accumulator of the compute type (float for float16), so float16
// Sum and Mean round once at the output rather than after every addition.
template <typename T, typename Op>
void variadicTyped(const std::vector<ValueRef>& in, const OutputRef& out, KernelScratch& scratch, Op op, bool mean) {
  using C = typename Elem<T>::Compute;
  using EC = Elem<C>;
  const Dims& os = *out.shape;
  const int64_t n = volume(os);
  if (n <= 0) return;
  C* acc = KernelScratch::as<C>(scratch.a, static_cast<size_t>(n));
  broadcastLoop<EC, Elem<T>, EC>(acc, os, in[0].data, *in[0].shape, acc, os, [](C, C b) { return b; });
  for (size_t k = 1; k < in.size(); ++k) broadcastLoop<EC, Elem<T>, EC>(acc, os, in[k].data, *in[k].shape, acc, os, op);
  auto* po = static_cast<typename Elem<T>::Storage*>(out.data);
  const C count = static_cast<C>(in.size());
  for (int64_t i = 0; i < n; ++i) Elem<T>::store(po, static_cast<size_t>(i), mean ? acc[i] / count : acc[i]);
}

template <typename Op, bool kMean = false>
void runVariadic(const Node& node, const std::vector<ValueRef>& in, const std::vector<OutputRef>& out,
                 KernelScratch& scratch) {
  dispatchArithmetic(node, in[0].dtype, [&](auto tag) {
    using T = typename decltype(tag)::type;
    variadicTyped<T>(in, out[0], scratch, Op{}, kMean);
  });
}

// ---- Pow ----

// Opset 12 widened Pow from one float type to a float or int32/int64 base with an exponent of
// any numeric type; the output has the base's type.
void inferPow(const Node& node, const std::vector<ValueRef>& in, std::vector<OutputDesc>* out) {
  requireInputs(node, in, 2, 2);
  if (node.opset < 12) {
    requireFloat(node, in[0], "the base");
    requireSameType(node, in);
  } else {
    const DataType t = in[0].dtype;
    if (t != DataType::kFloat32 && t != DataType::kFloat16 && t != DataType::kInt32 && t != DataType::kInt64)
      throwDType(node, std::string("the base must be float32, float16, int32 or int64 but is ") + dataTypeName(t));
    dispatchArithmetic(node, in[1].dtype, [](auto) {});
  }
  (*out)[0].dtype = in[0].dtype;
  (*out)[0].shape = broadcastShapes(node, *in[0].shape, *in[1].shape);
  requireMaxRank(node, (*out)[0].shape);
}

// Integer base, integer exponent: exact repeated squaring, wrapping like numpy. A negative
// exponent truncates 1/base^-e toward zero (numpy refuses it; ONNX leaves it unspecified).
template <typename B>
B intPow(B base, int64_t e) {
  if (e < 0) {
    if (base == 1) return 1;
    if constexpr (std::is_signed_v<B>) {
      if (base == -1) return static_cast<B>(e % 2 == 0 ? 1 : -1);
    }
    return 0;
  }
  B result = 1;
  while (e > 0) {
    if (e & 1) result = wrapMul(result, base);
    base = wrapMul(base, base);
    e >>= 1;
  }
  return result;
}

struct PowOp {
  template <typename B, typename X>
  B operator()(B base, X exponent) const {
    if constexpr (std::is_floating_point_v<B>) {
      // double keeps e.g. 3^20 in float32 within a rounding of the exact value.
      return static_cast<B>(std::pow(static_cast<double>(base), static_cast<double>(exponent)));
    } else if constexpr (std::is_integral_v<X>) {
      return intPow<B>(base, static_cast<int64_t>(exponent));
    } else {
      // Integer base, float exponent: the real power truncated toward zero, saturating where
      // a plain cast would be undefined.
      const double r = std::trunc(std::pow(static_cast<double>(base), static_cast<double>(exponent)));
      if (std::isnan(r)) return 0;
      if (r <= static_cast<double>(std::numeric_limits<B>::lowest())) return std::numeric_limits<B>::lowest();
      if (r >= static_cast<double>(std::numeric_limits<B>::max())) return std::numeric_limits<B>::max();
      return static_cast<B>(r);
    }
  }
};

// A double-precision pow() costs about what 20 adds do.
void runPow(const Node& node, const std::vector<ValueRef>& in, const std::vector<OutputRef>& out, KernelScratch& scratch) {
  dispatchArithmetic(node, in[0].dtype, [&](auto baseTag) {
    using TB = typename decltype(baseTag)::type;
    dispatchArithmetic(node, in[1].dtype, [&](auto expTag) {
      using TX = typename decltype(expTag)::type;
      binaryLoop<Elem<TB>, Elem<TX>, Elem<TB>, false>(in[0], in[1], out[0], PowOp{}, scratch.pool, 20);
    });
  });
}

// ---- PRelu ----

// The slope broadcasts to X in one direction only: the output has X's shape.
void inferPRelu(const Node& node, const std::vector<ValueRef>& in, std::vector<OutputDesc>* out) {
  requireInputs(node, in, 2, 2);
  requireSameType(node, in);
  if (node.opset >= 9) dispatchArithmetic(node, in[0].dtype, [](auto) {});
  else requireFloat(node, in[0], "input 0");
  const Dims& x = *in[0].shape;
  const Dims slope = operandShapeB(node, x, *in[1].shape);
  bool ok = slope.size() <= x.size();
  for (size_t k = 0; ok && k < slope.size(); ++k) {
    const int64_t ds = slope[slope.size() - 1 - k], dx = x[x.size() - 1 - k];
    ok = ds == 1 || ds == dx || ds < 0 || dx < 0;
  }
  if (!ok)
    throwShape(node, "slope " + dimsToString(slope) + " does not broadcast to the input's shape " + dimsToString(x));
  requireMaxRank(node, x);
  (*out)[0].dtype = in[0].dtype;
  (*out)[0].shape = x;
}

struct PReluOp {
  template <typename C>
  C operator()(C x, C slope) const { return x < C{0} ? wrapMul(x, slope) : x; }
};

}  // namespace

void registerElementwiseOps(OpRegistry& registry) {
  // Opset 7 introduced numpy broadcasting; earlier versions' broadcast/axis attributes are
  // mapped onto it by operandShapeB.
  registry.add({"Add", 1, kMaxReviewedOpset, inferBinary, runBinary<AddOp>, false, 1, 1, {{1, 2, 2}}});
  registry.add({"Sub", 1, kMaxReviewedOpset, inferBinary, runBinary<SubOp>, false, 1, 1, {{1, 2, 2}}});
  registry.add({"Mul", 1, kMaxReviewedOpset, inferBinary, runBinary<MulOp>, false, 1, 1, {{1, 2, 2}}});
  registry.add({"Div", 1, kMaxReviewedOpset, inferBinary, runBinary<DivOp>, false, 1, 1, {{1, 2, 2}}});
  registry.add({"Pow", 7, kMaxReviewedOpset, inferPow, runPow, false, 1, 1, {{1, 2, 2}}});
  registry.add({"PRelu", 1, kMaxReviewedOpset, inferPRelu, runBinary<PReluOp>, false, 1, 1, {{1, 2, 2}}});
  // Opset 6 is Max/Min/Sum/Mean without broadcasting (enforced in inferVariadic); opset 1
  // differs from it only by consumed_inputs.
  registry.add({"Max", 1, kMaxReviewedOpset, inferVariadic, runVariadic<MaxOp>, false, 1, 1, {{1, 1, kVariadicInputs}}});
  registry.add({"Min", 1, kMaxReviewedOpset, inferVariadic, runVariadic<MinOp>, false, 1, 1, {{1, 1, kVariadicInputs}}});
  registry.add({"Sum", 1, kMaxReviewedOpset, inferVariadic, runVariadic<AddOp>, false, 1, 1, {{1, 1, kVariadicInputs}}});
  registry.add({"Mean", 1, kMaxReviewedOpset, inferVariadic, runVariadic<AddOp, true>, false, 1, 1, {{1, 1, kVariadicInputs}}});
}

}  // namespace sim
}  // namespace tnrt
