// Unary element-wise operators: the activations Relu, Sigmoid, Tanh, LeakyRelu, HardSigmoid,
// HardSwish, Elu, Selu, Softplus, Softsign, Clip, and the math functions Exp, Log, Sqrt, Abs,
// Neg, Reciprocal, Erf. Attribute-parameterized ones read their attributes once per kernel call
// into a small functor.
#include <algorithm>
#include <cmath>
#include <cstring>
#include <limits>
#include <type_traits>

#include "gemm_core.h"
#include "kernel_util.h"
#include "../thread_pool.h"

namespace tnrt {
namespace sim {

namespace {

void inferArithmeticUnary(const Node& node, const std::vector<ValueRef>& in, std::vector<OutputDesc>* out) {
  requireInputs(node, in, 1, 1);
  dispatchArithmetic(node, in[0].dtype, [](auto) {});
  (*out)[0].dtype = in[0].dtype;
  (*out)[0].shape = *in[0].shape;
}

void inferFloatUnary(const Node& node, const std::vector<ValueRef>& in, std::vector<OutputDesc>* out) {
  requireInputs(node, in, 1, 1);
  requireFloat(node, in[0], "input 0");
  (*out)[0].dtype = in[0].dtype;
  (*out)[0].shape = *in[0].shape;
}

// e^x for x <= 0 (NaN passes through), in plain arithmetic the compiler vectorizes, unlike a
// call to std::exp: x = n ln2 + r with |r| <= ln2 / 2, e^r by its Taylor series to r^7 / 7!
// (truncation under 1e-8 relative), times 2^n built in the exponent bits (in two factors, so
// that each stays a normal float where e^x is subnormal). Below -104 e^x rounds to zero in
// float; x is held there, which gives that zero (and -inf gives it too). A NaN is held there
// too for the arithmetic (converting it to an integer is undefined) and returned at the end.
inline float expNonPositive(float x) {
  const float xc = x >= -104.0f ? x : -104.0f;
  // Rounds x / ln2 to the nearest integer: adding 1.5 x 2^23 leaves no fraction bits.
  constexpr float kRound = 12582912.0f;
  const float n = (xc * 1.44269504088896341f + kRound) - kRound;
  // ln2 in two parts, the first with few enough bits that n * part is exact.
  const float r = (xc - n * 0.693145751953125f) - n * 1.42860682030941723e-6f;
  float p = 1.0f / 5040.0f;
  p = p * r + 1.0f / 720.0f;
  p = p * r + 1.0f / 120.0f;
  p = p * r + 1.0f / 24.0f;
  p = p * r + 1.0f / 6.0f;
  p = p * r + 0.5f;
  p = p * r + 1.0f;
  p = p * r + 1.0f;
  // n is in [-150, 0]: each half in [-75, 0], a normal exponent.
  const int32_t ni = static_cast<int32_t>(n), n1 = ni / 2, n2 = ni - n1;
  const uint32_t bits1 = static_cast<uint32_t>(n1 + 127) << 23, bits2 = static_cast<uint32_t>(n2 + 127) << 23;
  float scale1, scale2;
  std::memcpy(&scale1, &bits1, sizeof scale1);
  std::memcpy(&scale2, &bits2, sizeof scale2);
  return x == x ? p * scale1 * scale2 : x;
}

// 1 / (1 + e^-x) from e = e^-|x|, which never overflows: 1 / (1 + e) for x >= 0, e / (1 + e)
// below. Branch-free, so that a row of them vectorizes.
inline float sigmoidValue(float x) {
  const float e = expNonPositive(x < 0.0f ? x : -x);
  const float r = 1.0f / (1.0f + e);
  return x >= 0.0f ? r : e * r;
}

struct SigmoidOp {
  float operator()(float x) const { return sigmoidValue(x); }
};

// A float32 row of sigmoids, compiled per ISA without fused multiply-adds: the same bits on
// every x86-64 machine, and as the float16 path's scalar loop computes them.
TNRT_SIM_CPU_CLONES TNRT_SIM_NO_FMA void sigmoidRow(const float* x, float* y, int64_t n) {
  TNRT_SIM_NO_FMA_BODY
  for (int64_t i = 0; i < n; ++i) y[i] = sigmoidValue(x[i]);
}
struct TanhOp {
  float operator()(float x) const { return std::tanh(x); }
};
// Elements are independent: a large tensor splits into contiguous ranges over the context's
// threads (same operation per element, so the result does not depend on the split). `cost`
// is an element's rough cost in adds (parallelChunks): 1 for a compare or a multiply-add, 8
// for an exp, log or divide, so that a transcendental pass splits at an eighth of the size.
constexpr int64_t kCheapOp = 1, kMathOp = 8;

template <typename T, typename Op>
void unaryLoop(const ValueRef& x, const OutputRef& y, Op op, ThreadPool* pool, int64_t cost) {
  using E = Elem<T>;
  using S = typename E::Storage;
  const S* px = static_cast<const S*>(x.data);
  S* py = static_cast<S*>(y.data);
  parallelRanges(pool, volume(*y.shape), cost, [&](int64_t lo, int64_t hi) {
    if constexpr (std::is_same_v<T, Fp16>) {
      // Widened and rounded a block at a time; the same float32 op on the same values.
      float buf[kHalfBlock];
      for (int64_t i = lo; i < hi; i += kHalfBlock) {
        const int64_t m = std::min(kHalfBlock, hi - i);
        widenHalves(px + i, m, buf);
        for (int64_t j = 0; j < m; ++j) buf[j] = op(buf[j]);
        narrowToHalves(buf, m, py + i);
      }
    } else if constexpr (std::is_same_v<T, float> && std::is_same_v<Op, SigmoidOp>) {
      sigmoidRow(px + lo, py + lo, hi - lo);
    } else {
      for (int64_t i = lo; i < hi; ++i) E::store(py, static_cast<size_t>(i), op(E::load(px, static_cast<size_t>(i))));
    }
  });
}

struct ReluOp {
  template <typename C>
  C operator()(C x) const { return x > C{0} ? x : C{0}; }
};

struct LeakyReluOp {
  float alpha;
  explicit LeakyReluOp(const Node& n) : alpha(n.attrFloat("alpha", 0.01f)) {}
  float operator()(float x) const { return x >= 0.0f ? x : alpha * x; }
};
// Clamps to [0, 1] letting NaN through (fmin/fmax would turn it into a bound).
inline float clamp01(float v) { return v < 0.0f ? 0.0f : (v > 1.0f ? 1.0f : v); }

struct HardSigmoidOp {
  float alpha, beta;
  explicit HardSigmoidOp(const Node& n) : alpha(n.attrFloat("alpha", 0.2f)), beta(n.attrFloat("beta", 0.5f)) {}
  float operator()(float x) const { return clamp01(alpha * x + beta); }
};
struct HardSwishOp {
  // ONNX defines HardSwish as x * HardSigmoid(x) with alpha = 1/6, beta = 0.5.
  explicit HardSwishOp(const Node&) {}
  float operator()(float x) const { return x * clamp01(x * (1.0f / 6.0f) + 0.5f); }
};
struct EluOp {
  float alpha;
  explicit EluOp(const Node& n) : alpha(n.attrFloat("alpha", 1.0f)) {}
  // expm1 keeps the small-|x| negative side accurate (exp(x) - 1 cancels).
  float operator()(float x) const { return x >= 0.0f ? x : alpha * std::expm1(x); }
};
struct SeluOp {
  float alpha, gamma;
  // The defaults are ONNX's float32 roundings of the self-normalizing constants.
  explicit SeluOp(const Node& n)
      : alpha(n.attrFloat("alpha", 1.67326319217681884765625f)), gamma(n.attrFloat("gamma", 1.05070102214813232421875f)) {}
  float operator()(float x) const { return x > 0.0f ? gamma * x : gamma * alpha * std::expm1(x); }
};
struct SoftplusOp {
  explicit SoftplusOp(const Node&) {}
  // log(1 + exp(x)) overflows for large x; this form never exponentiates a positive number.
  float operator()(float x) const { return std::fmax(x, 0.0f) + std::log1p(std::exp(-std::fabs(x))); }
};
struct SoftsignOp {
  explicit SoftsignOp(const Node&) {}
  float operator()(float x) const { return x / (1.0f + std::fabs(x)); }
};

void runRelu(const Node& node, const std::vector<ValueRef>& in, const std::vector<OutputRef>& out, KernelScratch& scratch) {
  dispatchArithmetic(node, in[0].dtype, [&](auto tag) {
    using T = typename decltype(tag)::type;
    unaryLoop<T>(in[0], out[0], ReluOp{}, scratch.pool, kCheapOp);
  });
}

template <typename Op>
void runFloatUnary(const Node& node, const std::vector<ValueRef>& in, const std::vector<OutputRef>& out,
                   KernelScratch& scratch) {
  dispatchFloat(node, in[0].dtype, [&](auto tag) {
    using T = typename decltype(tag)::type;
    unaryLoop<T>(in[0], out[0], Op{}, scratch.pool, kMathOp);
  });
}

struct ExpOp {
  float operator()(float x) const { return std::exp(x); }
};
struct LogOp {
  float operator()(float x) const { return std::log(x); }
};
struct SqrtOp {
  float operator()(float x) const { return std::sqrt(x); }
};
struct ReciprocalOp {
  float operator()(float x) const { return 1.0f / x; }
};
struct ErfOp {
  // The C library's erff is accurate to about 1 ulp over the whole range.
  float operator()(float x) const { return std::erf(x); }
};
struct AbsOp {
  template <typename C>
  C operator()(C x) const {
    if constexpr (std::is_unsigned_v<C>) return x;
    else return x < C{0} ? wrapSub(C{0}, x) : x;  // the most negative integer wraps to itself, as numpy does
  }
};
struct NegOp {
  template <typename C>
  C operator()(C x) const { return wrapSub(C{0}, x); }
};

template <typename Op>
void runArithmeticUnary(const Node& node, const std::vector<ValueRef>& in, const std::vector<OutputRef>& out,
                        KernelScratch& scratch) {
  dispatchArithmetic(node, in[0].dtype, [&](auto tag) {
    using T = typename decltype(tag)::type;
    unaryLoop<T>(in[0], out[0], Op{}, scratch.pool, kCheapOp);
  });
}

// Neg is defined for signed types only; Abs for every numeric type.
void inferNeg(const Node& node, const std::vector<ValueRef>& in, std::vector<OutputDesc>* out) {
  inferArithmeticUnary(node, in, out);
  if (in[0].dtype == DataType::kUInt8) throwDType(node, "Neg is not defined for uint8");
}

template <typename Op, int64_t kCost = kMathOp>
void runParamUnary(const Node& node, const std::vector<ValueRef>& in, const std::vector<OutputRef>& out,
                   KernelScratch& scratch) {
  const Op op(node);
  dispatchFloat(node, in[0].dtype, [&](auto tag) {
    using T = typename decltype(tag)::type;
    unaryLoop<T>(in[0], out[0], op, scratch.pool, kCost);
  });
}

// Clip: bounds are the min/max attributes before opset 11 and optional scalar inputs from
// opset 11 on. Opset 12 added integer types.
void inferClip(const Node& node, const std::vector<ValueRef>& in, std::vector<OutputDesc>* out) {
  if (node.opset < 11) {
    requireInputs(node, in, 1, 1);
    requireFloat(node, in[0], "input 0");
  } else {
    requireInputs(node, in, 1, 3);
    requireSameType(node, in);
    if (node.opset < 12) requireFloat(node, in[0], "input 0");
    else dispatchArithmetic(node, in[0].dtype, [](auto) {});
    for (size_t i = 1; i < in.size(); ++i) {
      if (!in[i].present()) continue;
      // A scalar, or a 1-element tensor as exporters sometimes write.
      const int64_t n = volume(*in[i].shape);
      if (in[i].shape->size() > 1 || (n != 1 && n != -1))
        throwShape(node, std::string(i == 1 ? "min" : "max") + " must be a scalar but has shape " +
                             dimsToString(*in[i].shape));
    }
  }
  (*out)[0].dtype = in[0].dtype;
  (*out)[0].shape = *in[0].shape;
}

template <typename T>
void clipTyped(const Node& node, const std::vector<ValueRef>& in, const OutputRef& out, ThreadPool* pool) {
  using E = Elem<T>;
  using C = typename E::Compute;
  C lo = std::numeric_limits<C>::lowest(), hi = std::numeric_limits<C>::max();
  if constexpr (std::is_floating_point_v<C>) {
    lo = -std::numeric_limits<C>::infinity();
    hi = std::numeric_limits<C>::infinity();
  }
  if (node.opset < 11) {
    // inferClip admitted only float types here.
    if constexpr (std::is_floating_point_v<C>) {
      lo = node.attrFloat("min", lo);
      hi = node.attrFloat("max", hi);
    }
  } else {
    const auto bound = [&](size_t i, C fallback) {
      if (i >= in.size() || !in[i].present()) return fallback;
      return E::load(static_cast<const typename E::Storage*>(in[i].data), 0);
    };
    lo = bound(1, lo);
    hi = bound(2, hi);
  }
  // max-then-min order: with min > max every element becomes max, as ONNX specifies; NaN
  // inputs fail both comparisons and pass through.
  unaryLoop<T>(
      in[0], out,
      [lo, hi](C x) {
        C v = x < lo ? lo : x;
        return v > hi ? hi : v;
      },
      pool, kCheapOp);
}

void runClip(const Node& node, const std::vector<ValueRef>& in, const std::vector<OutputRef>& out, KernelScratch& scratch) {
  dispatchArithmetic(node, in[0].dtype, [&](auto tag) {
    using T = typename decltype(tag)::type;
    clipTyped<T>(node, in, out[0], scratch.pool);
  });
}

}  // namespace

void registerActivationOps(OpRegistry& registry) {
  // Opsets 1-5 differ only by the legacy consumed_inputs attribute, which changes nothing here.
  registry.add({"Relu", 1, kMaxReviewedOpset, inferArithmeticUnary, runRelu, false, 1, 1, {{1, 1, 1}}});
  registry.add({"Sigmoid", 1, kMaxReviewedOpset, inferFloatUnary, runFloatUnary<SigmoidOp>, false, 1, 1, {{1, 1, 1}}});
  registry.add({"Tanh", 1, kMaxReviewedOpset, inferFloatUnary, runFloatUnary<TanhOp>, false, 1, 1, {{1, 1, 1}}});
  // Later opsets of these only add types (bfloat16, double) the sim does not run.
  registry.add({"LeakyRelu", 1, kMaxReviewedOpset, inferFloatUnary, runParamUnary<LeakyReluOp, kCheapOp>, false, 1, 1, {{1, 1, 1}}});
  registry.add({"HardSigmoid", 1, kMaxReviewedOpset, inferFloatUnary, runParamUnary<HardSigmoidOp, kCheapOp>, false, 1, 1, {{1, 1, 1}}});
  registry.add({"HardSwish", 14, kMaxReviewedOpset, inferFloatUnary, runParamUnary<HardSwishOp, kCheapOp>, false, 1, 1, {{1, 1, 1}}});
  registry.add({"Elu", 1, kMaxReviewedOpset, inferFloatUnary, runParamUnary<EluOp>, false, 1, 1, {{1, 1, 1}}});
  registry.add({"Selu", 1, kMaxReviewedOpset, inferFloatUnary, runParamUnary<SeluOp>, false, 1, 1, {{1, 1, 1}}});
  registry.add({"Softplus", 1, kMaxReviewedOpset, inferFloatUnary, runParamUnary<SoftplusOp>, false, 1, 1, {{1, 1, 1}}});
  registry.add({"Softsign", 1, kMaxReviewedOpset, inferFloatUnary, runParamUnary<SoftsignOp>, false, 1, 1, {{1, 1, 1}}});
  // Opsets 1-5 of these carry consumed_inputs only; 13 adds bfloat16.
  registry.add({"Exp", 1, kMaxReviewedOpset, inferFloatUnary, runFloatUnary<ExpOp>, false, 1, 1, {{1, 1, 1}}});
  registry.add({"Log", 1, kMaxReviewedOpset, inferFloatUnary, runFloatUnary<LogOp>, false, 1, 1, {{1, 1, 1}}});
  registry.add({"Sqrt", 1, kMaxReviewedOpset, inferFloatUnary, runFloatUnary<SqrtOp>, false, 1, 1, {{1, 1, 1}}});
  registry.add({"Reciprocal", 1, kMaxReviewedOpset, inferFloatUnary, runFloatUnary<ReciprocalOp>, false, 1, 1, {{1, 1, 1}}});
  registry.add({"Erf", 9, kMaxReviewedOpset, inferFloatUnary, runFloatUnary<ErfOp>, false, 1, 1, {{1, 1, 1}}});
  registry.add({"Abs", 1, kMaxReviewedOpset, inferArithmeticUnary, runArithmeticUnary<AbsOp>, false, 1, 1, {{1, 1, 1}}});
  registry.add({"Neg", 1, kMaxReviewedOpset, inferNeg, runArithmeticUnary<NegOp>, false, 1, 1, {{1, 1, 1}}});
  // Input counts (op_registry.h InputArity) follow the ONNX spec per opset: Clip's min and max
  // became optional inputs in opset 11.
  registry.add({"Clip", 1, kMaxReviewedOpset, inferClip, runClip, false, 1, 1, {{1, 1, 1}, {11, 1, 3}}});
}

}  // namespace sim
}  // namespace tnrt
