// Overflow-safe integer arithmetic for every size, count, offset, dim, volume and byte count
// the sim computes from data it did not produce itself (ONNX files, engine files, tensor
// contents that become shapes). A model is hostile input: a wrapped product sizes a buffer too
// small for the loop that fills it, so each helper reports overflow instead of wrapping, and
// callers turn that into a typed error naming the tensor or field.
#pragma once

#include <cstddef>
#include <cstdint>
#include <limits>

#include "../backend/backend.h"

namespace tnrt {
namespace sim {

// kDefaultMaxTensorBytes (backend.h) is the default cap these sizes are held to.

// Each returns false (leaving *out unspecified) when the exact result does not fit.
inline bool checkedAdd(int64_t a, int64_t b, int64_t* out) { return !__builtin_add_overflow(a, b, out); }
inline bool checkedSub(int64_t a, int64_t b, int64_t* out) { return !__builtin_sub_overflow(a, b, out); }
inline bool checkedMul(int64_t a, int64_t b, int64_t* out) { return !__builtin_mul_overflow(a, b, out); }
inline bool checkedAdd(uint64_t a, uint64_t b, uint64_t* out) { return !__builtin_add_overflow(a, b, out); }
inline bool checkedMul(uint64_t a, uint64_t b, uint64_t* out) { return !__builtin_mul_overflow(a, b, out); }

// Product of dims that must all be >= 0; false for a negative (dynamic) dim or overflow.
inline bool checkedVolume(const Dims& dims, int64_t* out) {
  int64_t v = 1;
  for (int64_t d : dims)
    if (d < 0 || !checkedMul(v, d, &v)) return false;
  *out = v;
  return true;
}

// Bytes of `count` elements of `dtype` (packed 4-bit types round up); false on overflow or a
// negative count.
inline bool checkedBytes(DataType dtype, int64_t count, uint64_t* out) {
  if (count < 0) return false;
  uint64_t bits;
  if (!checkedMul(static_cast<uint64_t>(count), static_cast<uint64_t>(dataTypeBits(dtype)), &bits)) return false;
  // (bits + 7) / 8 without the + 7 overflowing.
  *out = bits / 8 + (bits % 8 != 0 ? 1 : 0);
  return true;
}

// Bytes of a tensor whose dims are all known; false when a dim is negative or on overflow.
inline bool checkedTensorBytes(DataType dtype, const Dims& dims, uint64_t* out) {
  int64_t count;
  return checkedVolume(dims, &count) && checkedBytes(dtype, count, out);
}

// A float computed from file data (a Resize scale times a dim) as a dim: false when it is not
// finite, negative, or larger than int64 can hold, where a plain cast is undefined behaviour.
inline bool checkedDimFromDouble(double v, int64_t* out) {
  // 2^62: far above any real dim, and exactly representable as a double.
  constexpr double kLimit = 4611686018427387904.0;
  if (!(v >= 0.0) || !(v < kLimit)) return false;
  *out = static_cast<int64_t>(v);
  return true;
}

}  // namespace sim
}  // namespace tnrt
