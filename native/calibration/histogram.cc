#include "histogram.h"

#include <algorithm>
#include <cmath>
#include <cstring>

#if defined(__x86_64__) || defined(__i386__)
#include <immintrin.h>
#endif

namespace tnrt::calibration {

namespace {

// Sub-histograms per RangeBinner (see histogram.h). Two measured faster than four or eight on gaussian data
// (AMD Zen, 1 MB batches): each extra copy costs L1 room and a wider flush, while runs of
// equal indices, which the copies are for, are rare outside a few central bins.
constexpr size_t kLanes = 2;
// Values binned per chunk: the index buffer (4 KiB) and the sub-histograms (16 KiB) stay in L1.
constexpr size_t kChunk = 1024;
constexpr size_t kScanWidth = 16;
constexpr float kLastBin = static_cast<float>(kHistogramBins - 1);

// The bin-index kernels. Each writes, for n values, idx[i] = trunc(min(|x[i]| * scale, 2047))
// in float32 arithmetic and returns the maximum of the values' bit patterns with the sign
// cleared. That maximum orders like |x| and exceeds every finite value's for NaN and ±Inf, so
// one integer comparison with the range's bits tells whether the chunk fits the range. The
// variants compute exactly the same numbers: a single float multiply each (nothing to fuse or
// reorder), and `t < last ? t : last` is what MINPS/VMINPS do, NaN included (they return the
// second operand), so a NaN, or 0 * Inf when the scale overflowed, lands in the last bin in
// every variant, as it always has.
using IndexKernel = int32_t (*)(const float* x, size_t n, float scale, int32_t* idx);

inline int32_t absBits(const float* x) {
  int32_t bits;
  std::memcpy(&bits, x, sizeof bits);
  return bits & 0x7fffffff;
}

inline int32_t binOfBits(int32_t bits, float scale) {
  float a;
  std::memcpy(&a, &bits, sizeof a);
  float t = a * scale;
  t = t < kLastBin ? t : kLastBin;
  return static_cast<int32_t>(t);
}

// Portable: independent per-lane maxima and a branch-free body, which compilers vectorize for
// the baseline of any target (SSE2, NEON).
int32_t indexGeneric(const float* x, size_t n, float scale, int32_t* idx) {
  int32_t maxima[kScanWidth] = {};
  size_t i = 0;
  for (; i + kScanWidth <= n; i += kScanWidth) {
    for (size_t j = 0; j < kScanWidth; ++j) {
      const int32_t bits = absBits(x + i + j);
      maxima[j] = bits > maxima[j] ? bits : maxima[j];
      idx[i + j] = binOfBits(bits, scale);
    }
  }
  int32_t m = 0;
  for (size_t j = 0; j < kScanWidth; ++j) m = std::max(m, maxima[j]);
  for (; i < n; ++i) {
    const int32_t bits = absBits(x + i);
    m = std::max(m, bits);
    idx[i] = binOfBits(bits, scale);
  }
  return m;
}

#if (defined(__x86_64__) || defined(__i386__)) && (defined(__GNUC__) || defined(__clang__))
#define TNRT_HISTOGRAM_X86_DISPATCH 1

// The addon is built for baseline x86-64, so the AVX2 kernel is compiled for that ISA alone and
// chosen at run time when the CPU has it. (An AVX-512 variant measured no faster: binning is
// bound by the scattered increments, not by computing the indices.)
__attribute__((target("avx2"))) int32_t indexAvx2(const float* x, size_t n, float scale, int32_t* idx) {
  const __m256i signMask = _mm256_set1_epi32(0x7fffffff);
  const __m256 s = _mm256_set1_ps(scale);
  const __m256 last = _mm256_set1_ps(kLastBin);
  __m256i m0 = _mm256_setzero_si256();
  __m256i m1 = _mm256_setzero_si256();
  size_t i = 0;
  for (; i + 16 <= n; i += 16) {
    const __m256i b0 = _mm256_and_si256(_mm256_loadu_si256(reinterpret_cast<const __m256i*>(x + i)), signMask);
    const __m256i b1 = _mm256_and_si256(_mm256_loadu_si256(reinterpret_cast<const __m256i*>(x + i + 8)), signMask);
    m0 = _mm256_max_epi32(m0, b0);
    m1 = _mm256_max_epi32(m1, b1);
    const __m256 t0 = _mm256_min_ps(_mm256_mul_ps(_mm256_castsi256_ps(b0), s), last);
    const __m256 t1 = _mm256_min_ps(_mm256_mul_ps(_mm256_castsi256_ps(b1), s), last);
    _mm256_storeu_si256(reinterpret_cast<__m256i*>(idx + i), _mm256_cvttps_epi32(t0));
    _mm256_storeu_si256(reinterpret_cast<__m256i*>(idx + i + 8), _mm256_cvttps_epi32(t1));
  }
  alignas(32) int32_t lanes[8];
  _mm256_store_si256(reinterpret_cast<__m256i*>(lanes), _mm256_max_epi32(m0, m1));
  int32_t m = 0;
  for (int32_t v : lanes) m = std::max(m, v);
  for (; i < n; ++i) {
    const int32_t bits = absBits(x + i);
    m = std::max(m, bits);
    idx[i] = binOfBits(bits, scale);
  }
  return m;
}
#endif

IndexKernel chooseIndexKernel() {
#ifdef TNRT_HISTOGRAM_X86_DISPATCH
#ifndef TNRT_HISTOGRAM_KERNEL  // build-time override, for checking that the variants agree
  __builtin_cpu_init();
  if (__builtin_cpu_supports("avx2")) return indexAvx2;
#elif TNRT_HISTOGRAM_KERNEL == 2
  return indexAvx2;
#endif
#endif
  return indexGeneric;
}

IndexKernel indexKernel() {
  static const IndexKernel kernel = chooseIndexKernel();
  return kernel;
}

// Asks for the next chunk's cache lines before the current chunk's increments run. The
// increments touch only the L1-resident sub-histograms, so without this the memory system
// idles through them and the next chunk's loads wait on DRAM: a batch streamed from memory
// (larger than the caches) was binned at about half the speed of one already in cache.
inline void prefetchChunk(const float* next, size_t n) {
  constexpr size_t kLineFloats = 64 / sizeof(float);
#if defined(__GNUC__) || defined(__clang__)
  for (size_t i = 0; i < n; i += kLineFloats) __builtin_prefetch(next + i);
#else
  (void)next;
  (void)n;
  (void)kLineFloats;
#endif
}

// float32(2048 / range), the scale every binning path multiplies by.
inline float binScale(float range) { return static_cast<float>(kHistogramBins / static_cast<double>(range)); }

}  // namespace

RangeBinner::RangeBinner() : lanes_(kLanes * kHistogramBins, 0), indices_(kChunk, 0) {}

bool RangeBinner::binWithinRange(const float* data, size_t count, float range, size_t& checked) {
  int32_t rangeBits;
  std::memcpy(&rangeBits, &range, sizeof rangeBits);
  const float scale = binScale(range);
  const IndexKernel index = indexKernel();
  int32_t* idx = indices_.data();
  for (size_t base = 0; base < count; base += kChunk) {
    const size_t n = std::min(kChunk, count - base);
    if (index(data + base, n, scale, idx) > rangeBits) {
      checked = base;
      return false;
    }
    if (base + kChunk < count) prefetchChunk(data + base + kChunk, std::min(kChunk, count - base - kChunk));
    scatterIndices(idx, n);
  }
  return true;
}

void RangeBinner::binAll(const float* data, size_t count, float range) {
  if (range == 0.0f) {
    // Every value is 0 (the range is the max); they all belong in the first bin.
    lanes_[0] += static_cast<uint32_t>(count);
    return;
  }
  // Index = floor(|x| * 2048 / range) in float, clamped so that |x| == range lands in the
  // last bin. float32 rounding can move a value sitting within an ulp of a bin edge into the
  // neighbouring bin, far below the histogram's own resolution.
  const float scale = binScale(range);
  const IndexKernel index = indexKernel();
  int32_t* idx = indices_.data();
  for (size_t base = 0; base < count; base += kChunk) {
    const size_t n = std::min(kChunk, count - base);
    index(data + base, n, scale, idx);
    if (base + kChunk < count) prefetchChunk(data + base + kChunk, std::min(kChunk, count - base - kChunk));
    scatterIndices(idx, n);
  }
}

size_t RangeBinner::binFiniteOnly(const float* data, size_t count, float range) {
  const float scalef = range == 0.0f ? 0.0f : binScale(range);
  size_t binned = 0;
  for (size_t i = 0; i < count; ++i) {
    float a = std::fabs(data[i]);
    if (!std::isfinite(a)) continue;
    float t = a * scalef;
    t = t < kLastBin ? t : kLastBin;
    ++lanes_[static_cast<size_t>(t)];
    ++binned;
  }
  return binned;
}

void RangeBinner::scatterIndices(const int32_t* idx, size_t n) {
  uint32_t* h0 = lanes_.data();
  uint32_t* h1 = h0 + kHistogramBins;
  size_t i = 0;
  for (; i + 4 <= n; i += 4) {
    ++h0[idx[i]];
    ++h1[idx[i + 1]];
    ++h0[idx[i + 2]];
    ++h1[idx[i + 3]];
  }
  for (; i < n; ++i) ++h0[idx[i]];
}

void RangeBinner::flushInto(HistogramCounts& counts) {
  const uint32_t* h0 = lanes_.data();
  const uint32_t* h1 = h0 + kHistogramBins;
  for (int b = 0; b < kHistogramBins; ++b) counts[b] += uint64_t{h0[b]} + uint64_t{h1[b]};
  clear();
}

void RangeBinner::clear() { std::fill(lanes_.begin(), lanes_.end(), 0u); }

float AbsHistogram::scanMaxAbs(const float* data, size_t count, bool& anyNonFinite) {
  // Works on the bit patterns: with the sign bit cleared, a float's bits order like its value
  // (+0 < finite < +Inf < NaN), so one integer maximum gives both max|x| and whether any value
  // is non-finite. Independent per-lane maxima vectorize with plain SSE2; a float max
  // reduction would not without -ffast-math (reordering it changes NaN semantics).
  int32_t maxima[kScanWidth] = {};
  size_t i = 0;
  for (; i + kScanWidth <= count; i += kScanWidth) {
    for (size_t j = 0; j < kScanWidth; ++j) {
      const int32_t bits = absBits(data + i + j);
      maxima[j] = bits > maxima[j] ? bits : maxima[j];
    }
  }
  int32_t m = 0;
  for (size_t j = 0; j < kScanWidth; ++j) m = std::max(m, maxima[j]);
  for (; i < count; ++i) m = std::max(m, absBits(data + i));
  constexpr int32_t kInfinityBits = 0x7f800000;
  anyNonFinite = m >= kInfinityBits;
  float result;
  std::memcpy(&result, &m, sizeof result);
  return result;
}

float AbsHistogram::scanFiniteMaxAbs(const float* data, size_t count, bool& anyNonFinite) {
  const float max = scanMaxAbs(data, count, anyNonFinite);
  if (!anyNonFinite) return max;
  // Inf or NaN won the vectorized maximum; recompute over finite values only.
  float finite = 0.0f;
  for (size_t i = 0; i < count; ++i) {
    const float a = std::fabs(data[i]);
    if (std::isfinite(a)) finite = std::max(finite, a);
  }
  return finite;
}

void AbsHistogram::add(const float* data, size_t count) {
  if (count == 0) return;
  // Once the range is set, most batches fit in it: bin them in one pass that checks as it
  // goes, instead of a max scan followed by a binning pass over the same data.
  size_t checked = 0;
  if (range_ > 0.0f && count <= RangeBinner::kMaxBinnerValues) {
    if (binner_.binWithinRange(data, count, range_, checked)) {
      binner_.flushInto(counts_);
      total_ += count;
      return;
    }
    // Leave counts_ untouched: the batch is binned again below, after the range grows.
    binner_.clear();
  }
  // Values before `checked` are finite and within the range, so the batch's max over the
  // rest decides the growth exactly as a scan of the whole batch would.
  bool anyNonFinite = false;
  const float batchMax = scanFiniteMaxAbs(data + checked, count - checked, anyNonFinite);
  if (batchMax > range_) growRange(batchMax);
  for (size_t start = 0; start < count; start += RangeBinner::kMaxBinnerValues) {
    const size_t n = std::min(RangeBinner::kMaxBinnerValues, count - start);
    if (anyNonFinite) {
      const size_t binned = binner_.binFiniteOnly(data + start, n, range_);
      total_ += binned;
      skipped_ += n - binned;
    } else {
      binner_.binAll(data + start, n, range_);
      total_ += n;
    }
    binner_.flushInto(counts_);
  }
}

bool AbsHistogram::growRangeFor(const float* data, size_t count) {
  bool anyNonFinite = false;
  const float batchMax = scanMaxAbs(data, count, anyNonFinite);
  if (anyNonFinite) return false;
  if (batchMax > range_) growRange(batchMax);
  return true;
}

void AbsHistogram::addBinned(RangeBinner* binners, size_t binnerCount, size_t count) {
  for (size_t i = 0; i < binnerCount; ++i) binners[i].flushInto(counts_);
  total_ += count;
}

void AbsHistogram::growRange(float newRange) {
  if (range_ == 0.0f || total_ == 0) {
    // Everything seen so far was exactly 0 (or nothing was seen): it stays in the first bin.
    range_ = newRange;
    return;
  }
  // Old bin b spans [b, b+1) * oldWidth, i.e. [b*r, (b+1)*r) in new-bin units, r < 1.
  const double r = static_cast<double>(range_) / static_cast<double>(newRange);
  scratch_.fill(0);
  for (int b = 0; b < kHistogramBins; ++b) {
    const uint64_t c = counts_[b];
    if (c == 0) continue;
    const double lo = b * r;
    const double hi = (b + 1) * r;
    const int j = std::min(static_cast<int>(lo), kHistogramBins - 1);
    if (hi <= j + 1 || j == kHistogramBins - 1) {
      scratch_[j] += c;
      continue;
    }
    const double share = (j + 1 - lo) / (hi - lo);
    const uint64_t first = static_cast<uint64_t>(std::llround(static_cast<double>(c) * share));
    scratch_[j] += first;
    scratch_[j + 1] += c - first;
  }
  counts_ = scratch_;
  range_ = newRange;
}

void AbsHistogram::assign(const Counts& counts, float range) {
  counts_ = counts;
  range_ = range;
  total_ = 0;
  for (uint64_t c : counts_) total_ += c;
  skipped_ = 0;
}

}  // namespace tnrt::calibration
