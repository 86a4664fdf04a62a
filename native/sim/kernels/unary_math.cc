// Unary math and the newer activations: Sign, Ceil, Floor, Round, IsInf, IsNaN,
// the trigonometric and hyperbolic functions and their inverses, Celu, Gelu, Mish, Shrink,
// ThresholdedRelu, and the pre-opset-10 experimental ScaledTanh, ParametricSoftplus and
// ImageScaler that TensorRT's parser still takes.
//
// float16 and bfloat16 compute in float32 and round once at the output (Elem<T>::store).
#include <cmath>
#include <limits>
#include <type_traits>

#include "kernel_util.h"

namespace tnrt {
namespace sim {

namespace {

template <typename T, typename Op>
void unaryLoop(const ValueRef& x, const OutputRef& y, Op op) {
  using E = Elem<T>;
  using S = typename E::Storage;
  const S* px = static_cast<const S*>(x.data);
  S* py = static_cast<S*>(y.data);
  const int64_t n = volume(*y.shape);
  for (int64_t i = 0; i < n; ++i) E::store(py, static_cast<size_t>(i), op(E::load(px, static_cast<size_t>(i))));
}

void inferFloatUnary(const Node& node, const std::vector<ValueRef>& in, std::vector<OutputDesc>* out) {
  requireInputs(node, in, 1, 1);
  requireAnyFloat(node, in[0], "input 0");
  (*out)[0].dtype = in[0].dtype;
  (*out)[0].shape = *in[0].shape;
}

void inferNumericUnary(const Node& node, const std::vector<ValueRef>& in, std::vector<OutputDesc>* out) {
  requireInputs(node, in, 1, 1);
  dispatchNumeric(node, in[0].dtype, [](auto) {});
  (*out)[0].dtype = in[0].dtype;
  (*out)[0].shape = *in[0].shape;
}

// Every float op takes its attributes once per kernel call through its constructor.
template <typename Op>
void runFloatUnary(const Node& node, const std::vector<ValueRef>& in, const std::vector<OutputRef>& out,
                   KernelScratch&) {
  const Op op(node);
  dispatchAnyFloat(node, in[0].dtype, [&](auto tag) {
    using T = typename decltype(tag)::type;
    unaryLoop<T>(in[0], out[0], op);
  });
}

// A plain float -> float function as an Op.
template <float (*kFn)(float)>
struct FnOp {
  explicit FnOp(const Node&) {}
  float operator()(float x) const { return kFn(x); }
};
float ceilF(float x) { return std::ceil(x); }
float floorF(float x) { return std::floor(x); }
// Halves to even, as ONNX specifies (numpy.round): nearbyint under the default rounding mode.
float roundF(float x) { return std::nearbyint(x); }
float sinF(float x) { return std::sin(x); }
float cosF(float x) { return std::cos(x); }
float tanF(float x) { return std::tan(x); }
float asinF(float x) { return std::asin(x); }
float acosF(float x) { return std::acos(x); }
float atanF(float x) { return std::atan(x); }
float sinhF(float x) { return std::sinh(x); }
float coshF(float x) { return std::cosh(x); }
float asinhF(float x) { return std::asinh(x); }
float acoshF(float x) { return std::acosh(x); }
float atanhF(float x) { return std::atanh(x); }
// log(1 + exp(x)) without overflow for large x (as Softplus in activation.cc).
float softplusF(float x) { return std::fmax(x, 0.0f) + std::log1p(std::exp(-std::fabs(x))); }
float mishF(float x) { return x * std::tanh(softplusF(x)); }

struct CeluOp {
  float alpha;
  explicit CeluOp(const Node& n) : alpha(n.attrFloat("alpha", 1.0f)) {}
  float operator()(float x) const { return std::fmax(0.0f, x) + std::fmin(0.0f, alpha * std::expm1(x / alpha)); }
};
struct GeluOp {
  bool tanhApprox;
  explicit GeluOp(const Node& n) {
    const Attribute* a = n.attr("approximate");
    const std::string mode = a ? a->s : "none";
    if (mode != "none" && mode != "tanh") throwUnsupported(n, "approximate='" + mode + "' is not 'none' or 'tanh'");
    tanhApprox = mode == "tanh";
  }
  float operator()(float x) const {
    if (tanhApprox) {
      // sqrt(2 / pi) and the cubic coefficient of ONNX's definition.
      const float k = 0.7978845608028654f;
      return 0.5f * x * (1.0f + std::tanh(k * (x + 0.044715f * x * x * x)));
    }
    return 0.5f * x * (1.0f + std::erf(x * 0.7071067811865476f));
  }
};
struct ThresholdedReluOp {
  float alpha;
  explicit ThresholdedReluOp(const Node& n) : alpha(n.attrFloat("alpha", 1.0f)) {}
  float operator()(float x) const { return x > alpha ? x : 0.0f; }
};
struct ScaledTanhOp {
  float alpha, beta;
  explicit ScaledTanhOp(const Node& n) : alpha(n.attrFloat("alpha", 1.0f)), beta(n.attrFloat("beta", 1.0f)) {}
  float operator()(float x) const { return alpha * std::tanh(beta * x); }
};
struct ParametricSoftplusOp {
  float alpha, beta;
  explicit ParametricSoftplusOp(const Node& n) : alpha(n.attrFloat("alpha", 1.0f)), beta(n.attrFloat("beta", 1.0f)) {}
  float operator()(float x) const { return alpha * softplusF(beta * x); }
};

// ---- Sign and Shrink: every numeric type ----

struct SignOp {
  template <typename C>
  C operator()(C x) const {
    if constexpr (std::is_floating_point_v<C>) {
      if (std::isnan(x)) return x;
    }
    return x > C{0} ? C{1} : (x < C{0} ? static_cast<C>(-1) : C{0});
  }
};

void runSign(const Node& node, const std::vector<ValueRef>& in, const std::vector<OutputRef>& out, KernelScratch&) {
  dispatchNumeric(node, in[0].dtype, [&](auto tag) {
    using T = typename decltype(tag)::type;
    unaryLoop<T>(in[0], out[0], SignOp{});
  });
}

// y = x - bias above lambd, x + bias below -lambd, 0 between. Integer inputs compare and
// shift in double and convert back, saturating where a plain cast would be undefined.
template <typename C>
C saturateTo(double v) {
  if constexpr (std::is_floating_point_v<C>) {
    return static_cast<C>(v);
  } else {
    if (std::isnan(v)) return 0;
    if (v <= static_cast<double>(std::numeric_limits<C>::lowest())) return std::numeric_limits<C>::lowest();
    if (v >= static_cast<double>(std::numeric_limits<C>::max())) return std::numeric_limits<C>::max();
    return static_cast<C>(v);
  }
}

void runShrink(const Node& node, const std::vector<ValueRef>& in, const std::vector<OutputRef>& out, KernelScratch&) {
  const double lambd = node.attrFloat("lambd", 0.5f), bias = node.attrFloat("bias", 0.0f);
  dispatchNumeric(node, in[0].dtype, [&](auto tag) {
    using T = typename decltype(tag)::type;
    using C = typename Elem<T>::Compute;
    unaryLoop<T>(in[0], out[0], [lambd, bias](C x) {
      const auto v = static_cast<double>(x);
      if (v < -lambd) return saturateTo<C>(v + bias);
      if (v > lambd) return saturateTo<C>(v - bias);
      return C{0};
    });
  });
}

// ---- IsInf, IsNaN: float in, bool out ----

void inferFloatPredicate(const Node& node, const std::vector<ValueRef>& in, std::vector<OutputDesc>* out) {
  requireInputs(node, in, 1, 1);
  requireAnyFloat(node, in[0], "input 0");
  (*out)[0].dtype = DataType::kBool;
  (*out)[0].shape = *in[0].shape;
}

template <typename Pred>
void predicateLoop(const Node& node, const ValueRef& x, const OutputRef& y, Pred pred) {
  auto* py = static_cast<uint8_t*>(y.data);
  const int64_t n = volume(*y.shape);
  dispatchAnyFloat(node, x.dtype, [&](auto tag) {
    using E = Elem<typename decltype(tag)::type>;
    const auto* px = static_cast<const typename E::Storage*>(x.data);
    for (int64_t i = 0; i < n; ++i) py[i] = pred(E::load(px, static_cast<size_t>(i))) ? 1 : 0;
  });
}

void runIsInf(const Node& node, const std::vector<ValueRef>& in, const std::vector<OutputRef>& out, KernelScratch&) {
  const bool neg = node.attrInt("detect_negative", 1) != 0, pos = node.attrInt("detect_positive", 1) != 0;
  predicateLoop(node, in[0], out[0], [neg, pos](float v) { return std::isinf(v) && (v < 0 ? neg : pos); });
}

void runIsNaN(const Node& node, const std::vector<ValueRef>& in, const std::vector<OutputRef>& out, KernelScratch&) {
  predicateLoop(node, in[0], out[0], [](float v) { return std::isnan(v); });
}

// ---- ImageScaler: y[n, c, ...] = scale * x + bias[c] ----

void inferImageScaler(const Node& node, const std::vector<ValueRef>& in, std::vector<OutputDesc>* out) {
  inferFloatUnary(node, in, out);
  const Dims& x = *in[0].shape;
  if (x.size() < 2) throwShape(node, "the input must be at least 2-D (N, C, ...) but is " + dimsToString(x));
  const Attribute* bias = node.attr("bias");
  if (bias && x[1] >= 0 && static_cast<int64_t>(bias->floats.size()) != x[1])
    throwShape(node, "bias has " + std::to_string(bias->floats.size()) + " values for " + std::to_string(x[1]) +
                         " channels");
}

void runImageScaler(const Node& node, const std::vector<ValueRef>& in, const std::vector<OutputRef>& out,
                    KernelScratch&) {
  const Dims& x = *in[0].shape;
  const float scale = node.attrFloat("scale", 1.0f);
  const Attribute* biasAttr = node.attr("bias");
  const int64_t channels = x[1], inner = rangeVolume(x, 2, x.size()), n = volume(x);
  dispatchAnyFloat(node, in[0].dtype, [&](auto tag) {
    using E = Elem<typename decltype(tag)::type>;
    const auto* px = static_cast<const typename E::Storage*>(in[0].data);
    auto* py = static_cast<typename E::Storage*>(out[0].data);
    for (int64_t i = 0; i < n; ++i) {
      const auto c = static_cast<size_t>((i / inner) % channels);
      const float b = biasAttr ? biasAttr->floats[c] : 0.0f;
      E::store(py, static_cast<size_t>(i), scale * E::load(px, static_cast<size_t>(i)) + b);
    }
  });
}

}  // namespace

void registerUnaryMathOps(OpRegistry& registry) {
  // Opset 6 dropped consumed_inputs from Ceil and Floor; 13 added bfloat16 throughout.
  registry.add({"Ceil", 1, kMaxReviewedOpset, inferFloatUnary, runFloatUnary<FnOp<ceilF>>, false, 1, 1, {{1, 1, 1}}});
  registry.add({"Floor", 1, kMaxReviewedOpset, inferFloatUnary, runFloatUnary<FnOp<floorF>>, false, 1, 1, {{1, 1, 1}}});
  registry.add({"Round", 11, kMaxReviewedOpset, inferFloatUnary, runFloatUnary<FnOp<roundF>>, false, 1, 1, {{11, 1, 1}}});
  registry.add({"Sin", 7, kMaxReviewedOpset, inferFloatUnary, runFloatUnary<FnOp<sinF>>, false, 1, 1, {{7, 1, 1}}});
  registry.add({"Cos", 7, kMaxReviewedOpset, inferFloatUnary, runFloatUnary<FnOp<cosF>>, false, 1, 1, {{7, 1, 1}}});
  registry.add({"Tan", 7, kMaxReviewedOpset, inferFloatUnary, runFloatUnary<FnOp<tanF>>, false, 1, 1, {{7, 1, 1}}});
  registry.add({"Asin", 7, kMaxReviewedOpset, inferFloatUnary, runFloatUnary<FnOp<asinF>>, false, 1, 1, {{7, 1, 1}}});
  registry.add({"Acos", 7, kMaxReviewedOpset, inferFloatUnary, runFloatUnary<FnOp<acosF>>, false, 1, 1, {{7, 1, 1}}});
  registry.add({"Atan", 7, kMaxReviewedOpset, inferFloatUnary, runFloatUnary<FnOp<atanF>>, false, 1, 1, {{7, 1, 1}}});
  registry.add({"Sinh", 9, kMaxReviewedOpset, inferFloatUnary, runFloatUnary<FnOp<sinhF>>, false, 1, 1, {{9, 1, 1}}});
  registry.add({"Cosh", 9, kMaxReviewedOpset, inferFloatUnary, runFloatUnary<FnOp<coshF>>, false, 1, 1, {{9, 1, 1}}});
  registry.add({"Asinh", 9, kMaxReviewedOpset, inferFloatUnary, runFloatUnary<FnOp<asinhF>>, false, 1, 1, {{9, 1, 1}}});
  registry.add({"Acosh", 9, kMaxReviewedOpset, inferFloatUnary, runFloatUnary<FnOp<acoshF>>, false, 1, 1, {{9, 1, 1}}});
  registry.add({"Atanh", 9, kMaxReviewedOpset, inferFloatUnary, runFloatUnary<FnOp<atanhF>>, false, 1, 1, {{9, 1, 1}}});
  registry.add({"Mish", 18, kMaxReviewedOpset, inferFloatUnary, runFloatUnary<FnOp<mishF>>, false, 1, 1, {{18, 1, 1}}});
  registry.add({"Celu", 12, kMaxReviewedOpset, inferFloatUnary, runFloatUnary<CeluOp>, false, 1, 1, {{12, 1, 1}}});
  registry.add({"Gelu", 20, kMaxReviewedOpset, inferFloatUnary, runFloatUnary<GeluOp>, false, 1, 1, {{20, 1, 1}}});
  // ThresholdedRelu was experimental before opset 10 with the same definition.
  registry.add({"ThresholdedRelu", 1, kMaxReviewedOpset, inferFloatUnary, runFloatUnary<ThresholdedReluOp>, false, 1, 1, {{1, 1, 1}}});
  // Experimental ops ONNX dropped in opset 10; TensorRT's parser still maps them at any opset.
  registry.add({"ScaledTanh", 1, kMaxReviewedOpset, inferFloatUnary, runFloatUnary<ScaledTanhOp>, false, 1, 1, {{1, 1, 1}}});
  registry.add({"ParametricSoftplus", 1, kMaxReviewedOpset, inferFloatUnary, runFloatUnary<ParametricSoftplusOp>, false, 1, 1, {{1, 1, 1}}});
  registry.add({"ImageScaler", 1, kMaxReviewedOpset, inferImageScaler, runImageScaler, false, 1, 1, {{1, 1, 1}}});
  // Sign (9) and Shrink (9) take every numeric type.
  registry.add({"Sign", 9, kMaxReviewedOpset, inferNumericUnary, runSign, false, 1, 1, {{9, 1, 1}}});
  registry.add({"Shrink", 9, kMaxReviewedOpset, inferNumericUnary, runShrink, false, 1, 1, {{9, 1, 1}}});
  // IsNaN 9, IsInf 10; 20 added the float8 types, which TensorRT only quantizes to.
  registry.add({"IsNaN", 9, kMaxReviewedOpset, inferFloatPredicate, runIsNaN, false, 1, 1, {{9, 1, 1}}});
  registry.add({"IsInf", 10, kMaxReviewedOpset, inferFloatPredicate, runIsInf, false, 1, 1, {{10, 1, 1}}});
}

}  // namespace sim
}  // namespace tnrt
