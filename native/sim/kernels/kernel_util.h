// Helpers shared by the kernels: error reporting, axis handling, broadcasting, and the
// element-type dispatch that lets one templated loop serve float32, float16 and integers.
#pragma once

#include <cstring>
#include <string>
#include <type_traits>
#include <vector>

#include "../half.h"
#include "../op_registry.h"

namespace tnrt {
namespace sim {

[[noreturn]] void throwShape(const Node& node, const std::string& message);
[[noreturn]] void throwDType(const Node& node, const std::string& message);
[[noreturn]] void throwUnsupported(const Node& node, const std::string& message);

// Checks the input count against [minInputs, maxInputs] (omitted optionals count as absent).
void requireInputs(const Node& node, const std::vector<ValueRef>& inputs, size_t minInputs, size_t maxInputs);
// Resolves a possibly negative axis against `rank` (ONNX allows [-rank, rank-1], or
// [-rank-1, rank] when `inclusiveEnd`, as Flatten does).
int64_t normalizeAxis(const Node& node, int64_t axis, size_t rank, bool inclusiveEnd = false);
// Numpy multidirectional broadcasting of two shapes; -1 (unknown) dims stay -1 unless the
// other side fixes them.
Dims broadcastShapes(const Node& node, const Dims& a, const Dims& b);
// Product of dims [begin, end); -1 if any of them is unknown or the product overflows.
int64_t rangeVolume(const Dims& d, size_t begin, size_t end);
size_t elementSize(DataType t);
// float32 or float16, else throwDType naming the input.
void requireFloat(const Node& node, const ValueRef& v, const char* what);
// Same dtype as input 0, else throwDType.
void requireSameType(const Node& node, const std::vector<ValueRef>& inputs);

// Element-type tags for dispatch. Fp16 is stored as uint16_t and computed in float.
struct Fp16 {};
template <typename T>
struct Elem {
  using Storage = T;
  using Compute = T;
  static Compute load(const Storage* p, size_t i) { return p[i]; }
  static void store(Storage* p, size_t i, Compute v) { p[i] = v; }
};
template <>
struct Elem<Fp16> {
  using Storage = uint16_t;
  using Compute = float;
  static float load(const uint16_t* p, size_t i) { return halfToFloat(p[i]); }
  static void store(uint16_t* p, size_t i, float v) { p[i] = floatToHalf(v); }
};
// The float16 paths of the element-wise kernels widen their operands into float32 blocks of
// this many values on the stack, compute there, and round each block back (half.h).
constexpr int64_t kHalfBlock = 256;

// bfloat16, stored as uint16_t and computed in float like float16.
struct Bf16 {};
template <>
struct Elem<Bf16> {
  using Storage = uint16_t;
  using Compute = float;
  static float load(const uint16_t* p, size_t i) { return bfloat16ToFloat(p[i]); }
  static void store(uint16_t* p, size_t i, float v) { p[i] = floatToBFloat16(v); }
};
// bool, one byte per element; any nonzero byte reads as true and stores write 0 or 1.
struct Boolean {};
template <>
struct Elem<Boolean> {
  using Storage = uint8_t;
  using Compute = bool;
  static bool load(const uint8_t* p, size_t i) { return p[i] != 0; }
  static void store(uint8_t* p, size_t i, bool v) { p[i] = v ? 1 : 0; }
};
template <typename T>
struct TypeTag {
  using type = T;
};

// Calls fn(TypeTag<T>{}) for the arithmetic types the sim computes on; others throw.
template <typename Fn>
void dispatchArithmetic(const Node& node, DataType t, Fn&& fn) {
  switch (t) {
    case DataType::kFloat32: fn(TypeTag<float>{}); return;
    case DataType::kFloat16: fn(TypeTag<Fp16>{}); return;
    case DataType::kInt32: fn(TypeTag<int32_t>{}); return;
    case DataType::kInt64: fn(TypeTag<int64_t>{}); return;
    case DataType::kInt8: fn(TypeTag<int8_t>{}); return;
    case DataType::kUInt8: fn(TypeTag<uint8_t>{}); return;
    default: throwDType(node, std::string("element type ") + dataTypeName(t) + " is not supported by this operator");
  }
}

template <typename Fn>
void dispatchFloat(const Node& node, DataType t, Fn&& fn) {
  switch (t) {
    case DataType::kFloat32: fn(TypeTag<float>{}); return;
    case DataType::kFloat16: fn(TypeTag<Fp16>{}); return;
    default: throwDType(node, std::string("element type ") + dataTypeName(t) + " is not supported by this operator");
  }
}

// The float types with bfloat16 too: the newer operators compute bfloat16 in
// float32 like float16 and round at every bfloat16 output.
template <typename Fn>
void dispatchAnyFloat(const Node& node, DataType t, Fn&& fn) {
  switch (t) {
    case DataType::kFloat32: fn(TypeTag<float>{}); return;
    case DataType::kFloat16: fn(TypeTag<Fp16>{}); return;
    case DataType::kBFloat16: fn(TypeTag<Bf16>{}); return;
    default: throwDType(node, std::string("element type ") + dataTypeName(t) + " is not supported by this operator");
  }
}

// dispatchArithmetic plus bfloat16: every numeric type TensorRT has tensors of.
template <typename Fn>
void dispatchNumeric(const Node& node, DataType t, Fn&& fn) {
  if (t == DataType::kBFloat16) {
    fn(TypeTag<Bf16>{});
    return;
  }
  dispatchArithmetic(node, t, fn);
}

// float32, float16 or bfloat16, else throwDType naming the input.
void requireAnyFloat(const Node& node, const ValueRef& v, const char* what);

// Integer arithmetic wraps like numpy instead of hitting signed-overflow undefined behavior.
template <typename C>
inline C wrapAdd(C a, C b) {
  if constexpr (std::is_integral_v<C>) {
    using U = std::make_unsigned_t<C>;
    return static_cast<C>(static_cast<U>(static_cast<U>(a) + static_cast<U>(b)));
  } else {
    return a + b;
  }
}
template <typename C>
inline C wrapSub(C a, C b) {
  if constexpr (std::is_integral_v<C>) {
    using U = std::make_unsigned_t<C>;
    return static_cast<C>(static_cast<U>(static_cast<U>(a) - static_cast<U>(b)));
  } else {
    return a - b;
  }
}
template <typename C>
inline C wrapMul(C a, C b) {
  if constexpr (std::is_integral_v<C>) {
    // Promote through uint64 so that narrow unsigned types never promote to a signed int.
    return static_cast<C>(static_cast<uint64_t>(static_cast<std::make_unsigned_t<C>>(a)) *
                          static_cast<uint64_t>(static_cast<std::make_unsigned_t<C>>(b)));
  } else {
    return a * b;
  }
}

// Kernels index with fixed-size arrays of this many dims instead of allocating per call.
constexpr size_t kMaxRank = 16;
void requireMaxRank(const Node& node, const Dims& shape);

// Element strides of `in` seen through broadcasting to `out` (rank out.size()): 0 along
// broadcast (size-1 or missing) dims.
void broadcastStrides(const Dims& in, const Dims& out, int64_t* strides);

}  // namespace sim
}  // namespace tnrt
