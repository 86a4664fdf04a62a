// Helpers for the shape and data-movement operators (Concat, Slice, Pad, Gather, Resize, ...):
// reading shape-like int64/int32 inputs that may be known only at run time, dispatching on
// element size so that one loop moves every element type, and a strided gather that expresses
// Slice, Expand, Tile and DepthToSpace as views of their input.
#pragma once

#include <cstdint>
#include <vector>

#include "kernel_util.h"
#include "../thread_pool.h"

namespace tnrt {
namespace sim {

// The length of a 1-D (or scalar, length 1) shape-like input; -1 if not known at parse time.
inline int64_t indexInputLength(const Node& node, const ValueRef& v, const char* what) {
  if (v.dtype != DataType::kInt64 && v.dtype != DataType::kInt32)
    throwDType(node, std::string(what) + " must be int64 or int32 but is " + dataTypeName(v.dtype));
  if (v.shape->empty()) return 1;
  if (v.shape->size() != 1) throwShape(node, std::string(what) + " must be 1-D but is " + dimsToString(*v.shape));
  return (*v.shape)[0];
}

// Reads a shape-like input into `out`; returns false when its contents are not known yet
// (a run-time tensor while the engine is being built).
inline bool readIndexInput(const Node& node, const ValueRef& v, const char* what, std::vector<int64_t>* out) {
  const int64_t n = indexInputLength(node, v, what);
  if (!v.data || n < 0) return false;
  out->resize(static_cast<size_t>(n));
  for (int64_t i = 0; i < n; ++i)
    (*out)[static_cast<size_t>(i)] = v.dtype == DataType::kInt64 ? static_cast<const int64_t*>(v.data)[i]
                                                                  : static_cast<const int32_t*>(v.data)[i];
  return true;
}

// An ints attribute, or false when absent.
inline bool readIntsAttr(const Node& node, const char* name, std::vector<int64_t>* out) {
  const Attribute* a = node.attr(name);
  if (!a || a->type != AttrType::kInts) return false;
  *out = a->ints;
  return true;
}

// Data movement is exact on bytes: packed 4-bit types are the only ones it cannot address.
inline void requireWholeBytes(const Node& node, DataType t) {
  if (dataTypeBits(t) % 8 != 0)
    throwUnsupported(node, std::string("packed ") + dataTypeName(t) + " tensors are not supported by this operator");
}

// Calls fn(TypeTag<U>{}) with an unsigned integer type as wide as one element of `t`.
template <typename Fn>
void dispatchBytes(const Node& node, DataType t, Fn&& fn) {
  switch (dataTypeBits(t)) {
    case 8: fn(TypeTag<uint8_t>{}); return;
    case 16: fn(TypeTag<uint16_t>{}); return;
    case 32: fn(TypeTag<uint32_t>{}); return;
    case 64: fn(TypeTag<uint64_t>{}); return;
    default: throwUnsupported(node, std::string("element type ") + dataTypeName(t) + " cannot be moved");
  }
}

// dst[i] = src[base + sum_k idx_k * strides[k]] over the row-major index space `outDims`.
// Strides may be 0 (broadcast) or negative (reversed slices). Output rows (runs along the
// last dim) are independent: a large gather splits them over `pool`'s threads, each range
// starting from its first row's multi-index.
template <typename U>
void stridedGather(const U* src, int64_t base, const int64_t* strides, const Dims& outDims, U* dst,
                   ThreadPool* pool = nullptr) {
  const int64_t n = volume(outDims);
  if (n <= 0) return;
  const size_t rank = outDims.size();
  if (rank == 0) {
    dst[0] = src[base];
    return;
  }
  const int64_t inner = outDims[rank - 1], innerStride = strides[rank - 1];
  parallelRanges(pool, n / inner, 2 * inner, [&](int64_t r0, int64_t r1) {
    int64_t idx[2 * kMaxRank] = {}, off = base;
    for (int64_t k = static_cast<int64_t>(rank) - 2, r = r0; k >= 0; --k) {
      idx[k] = r % outDims[static_cast<size_t>(k)];
      off += idx[k] * strides[k];
      r /= outDims[static_cast<size_t>(k)];
    }
    for (int64_t o = r0 * inner; o < r1 * inner; o += inner) {
      for (int64_t j = 0; j < inner; ++j) dst[o + j] = src[off + j * innerStride];
      for (size_t k = rank - 1; k-- > 0;) {
        off += strides[k];
        if (++idx[k] < outDims[k]) break;
        off -= strides[k] * outDims[k];
        idx[k] = 0;
      }
    }
  });
}

// Row-major element strides of `d`.
inline void denseStrides(const Dims& d, int64_t* strides) {
  int64_t s = 1;
  for (size_t i = d.size(); i-- > 0;) {
    strides[i] = s;
    s *= d[i];
  }
}

// Untyped stridedGather for any whole-byte element type.
inline void stridedGatherAny(const Node& node, DataType t, const void* src, int64_t base, const int64_t* strides,
                             const Dims& outDims, void* dst, ThreadPool* pool = nullptr) {
  dispatchBytes(node, t, [&](auto tag) {
    using U = typename decltype(tag)::type;
    stridedGather<U>(static_cast<const U*>(src), base, strides, outDims, static_cast<U*>(dst), pool);
  });
}

}  // namespace sim
}  // namespace tnrt
