// The broadcasting loop every element-wise binary operator shares (arithmetic, comparisons,
// logic, Where's operands): out = op(a, b) with numpy broadcasting.
#pragma once

#include <algorithm>
#include <type_traits>

#include "kernel_util.h"

namespace tnrt {
namespace sim {

// One float16 operand's values [i, i + m) along a row of stride `step` (1, or 0 where it is
// broadcast), as float32.
inline void stageHalfRow(const uint16_t* p, int64_t step, int64_t i, int64_t m, float* dst) {
  if (step == 1) return widenHalves(p + i, m, dst);
  if (step == 0) return std::fill(dst, dst + m, halfToFloat(*p));
  for (int64_t j = 0; j < m; ++j) dst[j] = halfToFloat(p[(i + j) * step]);
}

// out[0, m) = op(a, b) along one row of float16 operands, in float32 blocks: the same float32
// op on the same values as one element at a time, rounded as floatToHalf rounds.
template <typename Op>
void halfRow(const uint16_t* pa, int64_t ia, const uint16_t* pb, int64_t ib, uint16_t* po, int64_t m, Op op) {
  float a[kHalfBlock], b[kHalfBlock];
  for (int64_t i = 0; i < m; i += kHalfBlock) {
    const int64_t k = std::min(kHalfBlock, m - i);
    stageHalfRow(pa, ia, i, k, a);
    stageHalfRow(pb, ib, i, k, b);
    for (int64_t j = 0; j < k; ++j) a[j] = op(a[j], b[j]);
    narrowToHalves(a, k, po + i);
  }
}

// out = op(a, b) with a and b broadcast to out's shape. Each operand has its own element
// traits (EA, EB, EO), so mixed-type operators (Pow's exponent) and float accumulators share
// this one loop.
template <typename EA, typename EB, typename EO, typename Op>
void broadcastLoop(const void* dataA, const Dims& shapeA, const void* dataB, const Dims& shapeB, void* dataOut,
                   const Dims& os, Op op) {
  const auto* pa = static_cast<const typename EA::Storage*>(dataA);
  const auto* pb = static_cast<const typename EB::Storage*>(dataB);
  auto* po = static_cast<typename EO::Storage*>(dataOut);
  const int64_t n = volume(os);
  if (n <= 0) return;
  const int64_t na = volume(shapeA), nb = volume(shapeB);
  // All float16: whole rows through float32 blocks.
  constexpr bool kHalves =
      std::is_same_v<EA, Elem<Fp16>> && std::is_same_v<EB, Elem<Fp16>> && std::is_same_v<EO, Elem<Fp16>>;
  if constexpr (kHalves) {
    if ((na == n || na == 1) && (nb == n || nb == 1)) return halfRow(pa, na == n, pb, nb == n, po, n, op);
  }
  // Fast paths: equal volumes mean identical layouts once broadcast; scalars need no indexing.
  if (na == n && nb == n) {
    for (int64_t i = 0; i < n; ++i) EO::store(po, i, op(EA::load(pa, i), EB::load(pb, i)));
    return;
  }
  if (na == n && nb == 1) {
    auto vb = EB::load(pb, 0);
    for (int64_t i = 0; i < n; ++i) EO::store(po, i, op(EA::load(pa, i), vb));
    return;
  }
  if (na == 1 && nb == n) {
    auto va = EA::load(pa, 0);
    for (int64_t i = 0; i < n; ++i) EO::store(po, i, op(va, EB::load(pb, i)));
    return;
  }
  // General case: walk the outer dims with an odometer; the innermost dim is a strided loop.
  // Trailing dims that both operands read alike (each either contiguous across them or
  // broadcast along all of them) merge into that inner loop first: x[1,96,40,80] * s[1,96,1,1]
  // is 96 rows of 3200 (a scalar each for s), not 3840 rows of 80 with a stride-0 operand.
  int64_t dims[kMaxRank], sa[kMaxRank], sb[kMaxRank], idx[kMaxRank] = {};
  size_t rank = os.size();
  broadcastStrides(shapeA, os, sa);
  broadcastStrides(shapeB, os, sb);
  std::copy(os.begin(), os.end(), dims);
  while (rank >= 2 && sa[rank - 2] == sa[rank - 1] * dims[rank - 1] && sb[rank - 2] == sb[rank - 1] * dims[rank - 1]) {
    dims[rank - 2] *= dims[rank - 1];
    sa[rank - 2] = sa[rank - 1], sb[rank - 2] = sb[rank - 1];
    --rank;
  }
  const int64_t inner = dims[rank - 1];
  const int64_t ia = sa[rank - 1], ib = sb[rank - 1];
  int64_t offA = 0, offB = 0;
  for (int64_t o = 0; o < n; o += inner) {
    bool done = false;
    if constexpr (kHalves) {
      // Rows shorter than a few vectors stay on the element loop.
      if (inner >= 16) {
        halfRow(pa + offA, ia, pb + offB, ib, po + o, inner, op);
        done = true;
      }
    } else {
      // The common rows (contiguous, or one side a scalar) as loops the compiler vectorizes.
      if (ia == 1 && ib == 0) {
        const auto vb = EB::load(pb, static_cast<size_t>(offB));
        for (int64_t j = 0; j < inner; ++j) EO::store(po, static_cast<size_t>(o + j), op(EA::load(pa, static_cast<size_t>(offA + j)), vb));
        done = true;
      } else if (ia == 0 && ib == 1) {
        const auto va = EA::load(pa, static_cast<size_t>(offA));
        for (int64_t j = 0; j < inner; ++j) EO::store(po, static_cast<size_t>(o + j), op(va, EB::load(pb, static_cast<size_t>(offB + j))));
        done = true;
      } else if (ia == 1 && ib == 1) {
        for (int64_t j = 0; j < inner; ++j)
          EO::store(po, static_cast<size_t>(o + j), op(EA::load(pa, static_cast<size_t>(offA + j)), EB::load(pb, static_cast<size_t>(offB + j))));
        done = true;
      }
    }
    for (int64_t j = 0; !done && j < inner; ++j)
      EO::store(po, static_cast<size_t>(o + j), op(EA::load(pa, static_cast<size_t>(offA + j * ia)),
                                                  EB::load(pb, static_cast<size_t>(offB + j * ib))));
    for (size_t d = rank - 1; d-- > 0;) {
      offA += sa[d];
      offB += sb[d];
      if (++idx[d] < dims[d]) break;
      offA -= sa[d] * dims[d];
      offB -= sb[d] * dims[d];
      idx[d] = 0;
    }
  }
}

}  // namespace sim
}  // namespace tnrt
