// Element-type conversions: Cast, QuantizeLinear, DequantizeLinear, and Dropout (an identity
// at inference, which is all TensorRT runs). Every element type the sim has converts to every
// other: floats through float32, integers and bool through int64 so that large int64 values
// keep their precision.
#include <cmath>
#include <cstring>
#include <limits>

#include "movement_util.h"
#include "../thread_pool.h"

namespace tnrt {
namespace sim {

namespace {

// ---- scalar conversions ----

// float8 e4m3fn: bias 7, no infinities, 0x7F/0xFF are NaN, largest finite 448.
float fp8ToFloat(uint8_t b) {
  const int e = (b >> 3) & 0xF, m = b & 7;
  float v;
  if (e == 15 && m == 7) v = std::numeric_limits<float>::quiet_NaN();
  else if (e == 0) v = std::ldexp(static_cast<float>(m), -9);
  else v = std::ldexp(1.0f + static_cast<float>(m) / 8.0f, e - 7);
  return (b & 0x80) ? -v : v;
}
// Round to nearest even; out of range saturates to +-448 when `saturate`, else becomes NaN
// (ONNX's rule for float8 conversions).
uint8_t floatToFp8(float f, bool saturate) {
  const uint8_t sign = std::signbit(f) ? 0x80 : 0;
  if (std::isnan(f)) return 0x7F | sign;
  const float a = std::fabs(f);
  // 464 is halfway between 448 and the next step (480, which is NaN's code); ties go to even 448.
  if (a > 464.0f) return static_cast<uint8_t>((saturate ? 0x7E : 0x7F) | sign);
  if (a == 0.0f) return sign;
  int e2 = 0;
  std::frexp(a, &e2);
  const int exponent = std::max(e2 - 1, -6);  // subnormals share the smallest normal's step
  // The mantissa carry (q reaching 16, or 8 for subnormals) lands on the next code by itself.
  const auto q = static_cast<int>(std::nearbyint(std::ldexp(a, 3 - exponent)));
  const int code = exponent == -6 && q < 8 ? q : ((exponent + 7) << 3) + (q - 8);
  return static_cast<uint8_t>(std::min(code, 0x7E) | sign);
}

template <typename T>
struct Scalar;  // Storage, kFloat, loadF/loadI, storeF/storeI
struct BF16 {};
struct FP8 {};
struct Bool {};

template <typename T>
struct IntScalar {
  using Storage = T;
  static constexpr bool kFloat = false;
  static float loadF(const T* p, size_t i) { return static_cast<float>(p[i]); }
  static int64_t loadI(const T* p, size_t i) { return static_cast<int64_t>(p[i]); }
  static void storeI(T* p, size_t i, int64_t v) { p[i] = static_cast<T>(v); }  // wraps like numpy
  static void storeF(T* p, size_t i, float v, bool) {
    // Truncate toward zero; ONNX leaves out-of-range results undefined, TensorRT saturates.
    if (std::isnan(v)) {
      p[i] = 0;
    } else if (v <= static_cast<float>(std::numeric_limits<T>::lowest())) {
      p[i] = std::numeric_limits<T>::lowest();
    } else if (v >= static_cast<float>(std::numeric_limits<T>::max())) {
      p[i] = std::numeric_limits<T>::max();
    } else {
      p[i] = static_cast<T>(v);
    }
  }
};
template <> struct Scalar<int8_t> : IntScalar<int8_t> {};
template <> struct Scalar<uint8_t> : IntScalar<uint8_t> {};
template <> struct Scalar<int32_t> : IntScalar<int32_t> {};
template <> struct Scalar<int64_t> : IntScalar<int64_t> {};
template <>
struct Scalar<Bool> {
  using Storage = uint8_t;
  static constexpr bool kFloat = false;
  static float loadF(const uint8_t* p, size_t i) { return p[i] ? 1.0f : 0.0f; }
  static int64_t loadI(const uint8_t* p, size_t i) { return p[i] ? 1 : 0; }
  static void storeI(uint8_t* p, size_t i, int64_t v) { p[i] = v != 0; }
  static void storeF(uint8_t* p, size_t i, float v, bool) { p[i] = v != 0.0f; }  // NaN is true
};
template <>
struct Scalar<float> {
  using Storage = float;
  static constexpr bool kFloat = true;
  static float loadF(const float* p, size_t i) { return p[i]; }
  static void storeI(float* p, size_t i, int64_t v) { p[i] = static_cast<float>(v); }
  static void storeF(float* p, size_t i, float v, bool) { p[i] = v; }
};
template <>
struct Scalar<Fp16> {
  using Storage = uint16_t;
  static constexpr bool kFloat = true;
  static float loadF(const uint16_t* p, size_t i) { return halfToFloat(p[i]); }
  static void storeI(uint16_t* p, size_t i, int64_t v) { p[i] = floatToHalf(static_cast<float>(v)); }
  static void storeF(uint16_t* p, size_t i, float v, bool) { p[i] = floatToHalf(v); }
};
template <>
struct Scalar<BF16> {
  using Storage = uint16_t;
  static constexpr bool kFloat = true;
  static float loadF(const uint16_t* p, size_t i) { return bfloat16ToFloat(p[i]); }
  static void storeI(uint16_t* p, size_t i, int64_t v) { p[i] = floatToBFloat16(static_cast<float>(v)); }
  static void storeF(uint16_t* p, size_t i, float v, bool) { p[i] = floatToBFloat16(v); }
};
template <>
struct Scalar<FP8> {
  using Storage = uint8_t;
  static constexpr bool kFloat = true;
  static float loadF(const uint8_t* p, size_t i) { return fp8ToFloat(p[i]); }
  static void storeI(uint8_t* p, size_t i, int64_t v) { p[i] = floatToFp8(static_cast<float>(v), true); }
  static void storeF(uint8_t* p, size_t i, float v, bool saturate) { p[i] = floatToFp8(v, saturate); }
};

// Calls fn(TypeTag<T>{}) for every element type the sim has except packed 4-bit ones.
template <typename Fn>
void dispatchAll(const Node& node, DataType t, Fn&& fn) {
  switch (t) {
    case DataType::kFloat32: fn(TypeTag<float>{}); return;
    case DataType::kFloat16: fn(TypeTag<Fp16>{}); return;
    case DataType::kBFloat16: fn(TypeTag<BF16>{}); return;
    case DataType::kFP8: fn(TypeTag<FP8>{}); return;
    case DataType::kInt8: fn(TypeTag<int8_t>{}); return;
    case DataType::kUInt8: fn(TypeTag<uint8_t>{}); return;
    case DataType::kInt32: fn(TypeTag<int32_t>{}); return;
    case DataType::kInt64: fn(TypeTag<int64_t>{}); return;
    case DataType::kBool: fn(TypeTag<Bool>{}); return;
    default: throwUnsupported(node, std::string("element type ") + dataTypeName(t) + " is not supported");
  }
}

// ---- Cast ----

DataType castTarget(const Node& node) {
  const Attribute* a = node.attr("to");
  if (!a || a->type != AttrType::kInt) throwShape(node, "needs an integer 'to' attribute");
  DataType t;
  if (!dataTypeFromOnnx(a->i, &t))
    throwUnsupported(node, "attribute to=" + std::to_string(a->i) + " names " + onnxTypeName(a->i) +
                               ", an element type TensorRT has no tensors of");
  return t;
}

void inferCast(const Node& node, const std::vector<ValueRef>& in, std::vector<OutputDesc>* out) {
  requireInputs(node, in, 1, 1);
  const DataType to = castTarget(node);
  dispatchAll(node, in[0].dtype, [](auto) {});
  dispatchAll(node, to, [](auto) {});
  (*out)[0].dtype = to;
  (*out)[0].shape = *in[0].shape;
}

// CastLike (opset 15): Cast to the element type of input 1, whose contents are not read.
void inferCastLike(const Node& node, const std::vector<ValueRef>& in, std::vector<OutputDesc>* out) {
  requireInputs(node, in, 2, 2);
  dispatchAll(node, in[0].dtype, [](auto) {});
  dispatchAll(node, in[1].dtype, [](auto) {});
  (*out)[0].dtype = in[1].dtype;
  (*out)[0].shape = *in[0].shape;
}

void runCast(const Node& node, const std::vector<ValueRef>& in, const std::vector<OutputRef>& out,
             KernelScratch& scratch) {
  const int64_t n = volume(*in[0].shape);
  const bool saturate = node.attrInt("saturate", 1) != 0;  // opset 19; only float8 targets use it
  dispatchAll(node, in[0].dtype, [&](auto srcTag) {
    using S = Scalar<typename decltype(srcTag)::type>;
    dispatchAll(node, out[0].dtype, [&](auto dstTag) {
      using D = Scalar<typename decltype(dstTag)::type>;
      const auto* src = static_cast<const typename S::Storage*>(in[0].data);
      auto* dst = static_cast<typename D::Storage*>(out[0].data);
      // Elements are independent (a float16 or float8 rounding costs a few adds): a large
      // tensor splits into ranges over the context's threads.
      parallelRanges(scratch.pool, n, 2, [&](int64_t lo, int64_t hi) {
        // float16 <-> float32 in bulk (F16C), bit for bit as one at a time.
        if constexpr (std::is_same_v<S, Scalar<Fp16>> && std::is_same_v<D, Scalar<float>>)
          return widenHalves(src + lo, hi - lo, dst + lo);
        if constexpr (std::is_same_v<S, Scalar<float>> && std::is_same_v<D, Scalar<Fp16>>)
          return narrowToHalves(src + lo, hi - lo, dst + lo);
        for (int64_t i = lo; i < hi; ++i) {
          const auto k = static_cast<size_t>(i);
          if constexpr (S::kFloat) D::storeF(dst, k, S::loadF(src, k), saturate);
          else D::storeI(dst, k, S::loadI(src, k));
        }
      });
    });
  });
}

// ---- Dropout ----

void inferDropout(const Node& node, const std::vector<ValueRef>& in, std::vector<OutputDesc>* out) {
  requireInputs(node, in, 1, node.opset >= 12 ? 3 : 1);
  requireFloat(node, in[0], "the input");
  if (in.size() > 2 && in[2].present()) {
    // TensorRT builds inference engines only: training mode must be a constant false.
    if (in[2].dtype != DataType::kBool || !in[2].data || *static_cast<const uint8_t*>(in[2].data) != 0)
      throwUnsupported(node, "training_mode must be a constant false (TensorRT runs dropout only as inference)");
  }
  for (auto& o : *out) o.shape = *in[0].shape;
  (*out)[0].dtype = in[0].dtype;
  // The mask is bool from opset 10; before that it had the input's type.
  if (out->size() > 1) (*out)[1].dtype = node.opset >= 10 ? DataType::kBool : in[0].dtype;
}

void runDropout(const Node& node, const std::vector<ValueRef>& in, const std::vector<OutputRef>& out, KernelScratch&) {
  const int64_t n = volume(*in[0].shape);
  // At run time output 0 aliases the input (its data is null here); when folding it is a copy.
  if (out[0].data && out[0].data != in[0].data && n > 0)
    std::memcpy(out[0].data, in[0].data, dataTypeBytes(in[0].dtype, n));
  if (out.size() > 1 && out[1].data && n > 0) {
    // At inference nothing is dropped: the mask keeps every element.
    dispatchAll(node, out[1].dtype, [&](auto tag) {
      using D = Scalar<typename decltype(tag)::type>;
      for (int64_t i = 0; i < n; ++i) D::storeI(static_cast<typename D::Storage*>(out[1].data), static_cast<size_t>(i), 1);
    });
  }
}

// ---- QuantizeLinear / DequantizeLinear ----

// How the scale (and zero point) index relates to an element: per tensor, per slice along
// `axis`, or per block of `block` elements along `axis` (opset 21).
struct QuantLayout {
  size_t axis = 0;
  int64_t block = 0;  // 0: not blocked
  bool perTensor = true;
};

QuantLayout quantLayout(const Node& node, const std::vector<ValueRef>& in) {
  const Dims& x = *in[0].shape;
  const Dims& s = *in[1].shape;
  QuantLayout q;
  const int64_t block = node.opset >= 21 ? node.attrInt("block_size", 0) : 0;
  if (block < 0) throwShape(node, "block_size must not be negative");
  if (s.empty() || (s.size() == 1 && s[0] == 1 && block == 0)) return q;
  if (node.opset < 13) throwShape(node, "takes a scalar scale before opset 13");
  q.perTensor = false;
  q.axis = static_cast<size_t>(normalizeAxis(node, node.attrInt("axis", 1), x.size()));
  if (block == 0) {
    if (s.size() != 1 || (s[0] >= 0 && x[q.axis] >= 0 && s[0] != x[q.axis]))
      throwShape(node, "a per-axis scale must be 1-D with " + std::to_string(x[q.axis]) + " entries but is " +
                           dimsToString(s));
    return q;
  }
  q.block = block;
  if (s.size() != x.size()) throwShape(node, "a blocked scale must have the input's rank");
  for (size_t i = 0; i < x.size(); ++i) {
    if (x[i] < 0 || s[i] < 0) continue;
    // ceil(x / block) without x + block - 1, which overflows for a block_size near INT64_MAX.
    const int64_t want = i == q.axis ? x[i] / block + (x[i] % block != 0 ? 1 : 0) : x[i];
    if (s[i] != want)
      throwShape(node, "scale shape " + dimsToString(s) + " does not block input " + dimsToString(x) +
                           " with block_size " + std::to_string(block));
  }
  return q;
}

void checkQuantInputs(const Node& node, const std::vector<ValueRef>& in, DataType quantized) {
  requireInputs(node, in, 2, 3);
  requireWholeBytes(node, quantized);
  if (quantized != DataType::kInt8 && quantized != DataType::kUInt8 && quantized != DataType::kInt32 &&
      quantized != DataType::kFP8)
    throwDType(node, std::string("quantized type must be int8, uint8, int32 or float8e4m3 but is ") +
                         dataTypeName(quantized));
  if (in[1].dtype != DataType::kFloat32 && in[1].dtype != DataType::kFloat16 && in[1].dtype != DataType::kBFloat16)
    throwDType(node, std::string("the scale must be float32, float16 or bfloat16 but is ") + dataTypeName(in[1].dtype));
  if (in.size() > 2 && in[2].present()) {
    if (in[2].dtype != quantized) throwDType(node, "the zero point's type must match the quantized type");
    if (*in[2].shape != *in[1].shape && !(volume(*in[2].shape) == 1 && volume(*in[1].shape) == 1))
      throwShape(node, "the zero point's shape must match the scale's");
  }
  quantLayout(node, in);
}

DataType quantizeTarget(const Node& node, const std::vector<ValueRef>& in) {
  if (in.size() > 2 && in[2].present()) return in[2].dtype;
  const int64_t onnx = node.opset >= 21 ? node.attrInt("output_dtype", 0) : 0;
  DataType t = DataType::kUInt8;  // ONNX's default without a zero point
  if (onnx != 0 && !dataTypeFromOnnx(onnx, &t))
    throwUnsupported(node, "output_dtype " + std::to_string(onnx) + " names " + onnxTypeName(onnx) +
                               ", an element type TensorRT has no tensors of");
  return t;
}

void inferQuantize(const Node& node, const std::vector<ValueRef>& in, std::vector<OutputDesc>* out) {
  const DataType q = quantizeTarget(node, in);
  checkQuantInputs(node, in, q);
  if (in[0].dtype != DataType::kFloat32 && in[0].dtype != DataType::kFloat16 && in[0].dtype != DataType::kBFloat16 &&
      in[0].dtype != DataType::kInt32)
    throwDType(node, std::string("the input must be float32, float16, bfloat16 or int32 but is ") +
                         dataTypeName(in[0].dtype));
  (*out)[0].dtype = q;
  (*out)[0].shape = *in[0].shape;
}

void inferDequantize(const Node& node, const std::vector<ValueRef>& in, std::vector<OutputDesc>* out) {
  checkQuantInputs(node, in, in[0].dtype);
  (*out)[0].dtype = in[1].dtype;  // y has the scale's type
  (*out)[0].shape = *in[0].shape;
}

// Calls fn(i, p) for every element i with p its scale / zero-point index.
template <typename Fn>
void forEachQuantParam(const Dims& x, const QuantLayout& q, Fn&& fn) {
  const int64_t n = volume(x);
  if (q.perTensor) {
    for (int64_t i = 0; i < n; ++i) fn(i, int64_t{0});
    return;
  }
  const int64_t dim = x[q.axis], inner = rangeVolume(x, q.axis + 1, x.size()), outer = rangeVolume(x, 0, q.axis);
  const int64_t groups = q.block ? dim / q.block + (dim % q.block != 0 ? 1 : 0) : dim;
  int64_t i = 0;
  for (int64_t o = 0; o < outer; ++o)
    for (int64_t a = 0; a < dim; ++a) {
      const int64_t g = q.block ? a / q.block : a;
      const int64_t base = q.block ? (o * groups + g) * inner : g;
      for (int64_t j = 0; j < inner; ++j, ++i) fn(i, q.block ? base + j : base);
    }
}

void runQuantize(const Node& node, const std::vector<ValueRef>& in, const std::vector<OutputRef>& out, KernelScratch&) {
  const QuantLayout q = quantLayout(node, in);
  const bool hasZero = in.size() > 2 && in[2].present();
  const bool saturate = node.attrInt("saturate", 1) != 0;
  dispatchAll(node, in[0].dtype, [&](auto xTag) {
    using X = Scalar<typename decltype(xTag)::type>;
    dispatchAll(node, in[1].dtype, [&](auto sTag) {
      using S = Scalar<typename decltype(sTag)::type>;
      dispatchAll(node, out[0].dtype, [&](auto yTag) {
        using Y = Scalar<typename decltype(yTag)::type>;
        const auto* x = static_cast<const typename X::Storage*>(in[0].data);
        const auto* s = static_cast<const typename S::Storage*>(in[1].data);
        const auto* z = hasZero ? static_cast<const typename Y::Storage*>(in[2].data) : nullptr;
        auto* y = static_cast<typename Y::Storage*>(out[0].data);
        forEachQuantParam(*in[0].shape, q, [&](int64_t i, int64_t p) {
          const auto k = static_cast<size_t>(i), pk = static_cast<size_t>(p);
          const float v = X::loadF(x, k) / S::loadF(s, pk);
          if constexpr (Y::kFloat) {
            // float8: round the scaled value to the nearest representable one.
            Y::storeF(y, k, v + (z ? Y::loadF(z, pk) : 0.0f), saturate);
          } else {
            // Round half to even (the default rounding mode), then saturate to the type.
            const float r = std::nearbyint(v) + (z ? static_cast<float>(Y::loadI(z, pk)) : 0.0f);
            Y::storeF(y, k, r, true);
          }
        });
      });
    });
  });
}

void runDequantize(const Node& node, const std::vector<ValueRef>& in, const std::vector<OutputRef>& out,
                   KernelScratch&) {
  const QuantLayout q = quantLayout(node, in);
  const bool hasZero = in.size() > 2 && in[2].present();
  dispatchAll(node, in[0].dtype, [&](auto xTag) {
    using X = Scalar<typename decltype(xTag)::type>;
    dispatchAll(node, in[1].dtype, [&](auto sTag) {
      using S = Scalar<typename decltype(sTag)::type>;
      const auto* x = static_cast<const typename X::Storage*>(in[0].data);
      const auto* s = static_cast<const typename S::Storage*>(in[1].data);
      const auto* z = hasZero ? static_cast<const typename X::Storage*>(in[2].data) : nullptr;
      auto* y = static_cast<typename S::Storage*>(out[0].data);
      forEachQuantParam(*in[0].shape, q, [&](int64_t i, int64_t p) {
        const auto k = static_cast<size_t>(i), pk = static_cast<size_t>(p);
        float v;
        if constexpr (X::kFloat) {
          v = X::loadF(x, k) - (z ? X::loadF(z, pk) : 0.0f);
        } else {
          // Subtract in integers: int32 inputs would lose bits in float.
          v = static_cast<float>(X::loadI(x, k) - (z ? X::loadI(z, pk) : 0));
        }
        S::storeF(y, k, v * S::loadF(s, pk), true);
      });
    });
  });
}

}  // namespace

void registerCastQuantOps(OpRegistry& registry) {
  // Opset 1 named the target type with a string.
  // CastLike runs Cast's kernel, which converts to whatever type its output has.
  registry.add({"CastLike", 15, kMaxReviewedOpset, inferCastLike, runCast, false, 1, 1, {{15, 2, 2}}});
  registry.add({"Cast", 6, kMaxReviewedOpset, inferCast, runCast, false, 1, 1, {{1, 1, 1}}});
  // Before opset 7 Dropout had an is_test attribute whose default meant training.
  // Dropout took ratio and training_mode as optional inputs from opset 12; the quantize pair
  // needs x and a scale, the zero point is optional.
  registry.add({"Dropout", 7, kMaxReviewedOpset, inferDropout, runDropout, true, 1, 2, {{7, 1, 1}, {12, 1, 3}}});
  registry.add({"QuantizeLinear", 10, kMaxReviewedOpset, inferQuantize, runQuantize, false, 1, 1, {{10, 2, 3}}});
  registry.add({"DequantizeLinear", 10, kMaxReviewedOpset, inferDequantize, runDequantize, false, 1, 1, {{10, 2, 3}}});
}

}  // namespace sim
}  // namespace tnrt
