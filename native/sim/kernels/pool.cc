// Pooling and local normalization: MaxPool (with the optional Indices output), AveragePool,
// LpPool, GlobalAveragePool, GlobalMaxPool, GlobalLpPool, LRN. Windows follow window_geometry.h (auto_pad,
// ceil_mode, dilations); padded positions never win a max and count toward an average only
// with count_include_pad.
#include <algorithm>
#include <cmath>
#include <limits>
#include <type_traits>

#include "gemm_core.h"
#include "kernel_util.h"
#include "window_geometry.h"
#include "../thread_pool.h"

namespace tnrt {
namespace sim {

namespace {

void requirePoolType(const Node& node, const ValueRef& x, bool allowInt8) {
  if (x.dtype == DataType::kFloat32 || x.dtype == DataType::kFloat16) return;
  // Max pooling only compares, so the 8-bit integer types work as they are; averaging them
  // would need a rounding rule, so AveragePool and LRN stay floating point.
  if (allowInt8 && (x.dtype == DataType::kInt8 || x.dtype == DataType::kUInt8)) return;
  throwDType(node, std::string("element type ") + dataTypeName(x.dtype) + " is not supported by " + node.opType +
                       (allowInt8 ? " (float32, float16, int8 or uint8)" : " (float32 or float16)"));
}

Window poolWindow(const Node& node, const Dims& x) {
  if (x.size() < 3) throwShape(node, "input must have rank >= 3 (N, C, spatial...) but is " + dimsToString(x));
  return readWindow(node, x.size() - 2, nullptr, true);
}

void inferPool(const Node& node, const std::vector<ValueRef>& in, std::vector<OutputDesc>* out) {
  requireInputs(node, in, 1, 1);
  const bool isMax = node.opType == "MaxPool";
  requirePoolType(node, in[0], isMax);
  const Dims& x = *in[0].shape;
  Window w = poolWindow(node, x);
  if (isMax) {
    const int64_t order = node.attrInt("storage_order", 0);
    if (order != 0 && order != 1) throwUnsupported(node, "storage_order must be 0 or 1");
  } else {
    const int64_t cip = node.attrInt("count_include_pad", 0);
    if (cip != 0 && cip != 1) throwUnsupported(node, "count_include_pad must be 0 or 1");
  }
  Dims y{x[0], x[1]};
  for (size_t d = 0; d < w.spatial; ++d) y.push_back(forwardExtent(node, w, d, x[2 + d]));
  (*out)[0].dtype = in[0].dtype;
  (*out)[0].shape = y;
  if (out->size() > 1) {
    (*out)[1].dtype = DataType::kInt64;
    (*out)[1].shape = std::move(y);
  }
}

// The kernel offsets [lo, hi) of a window starting at `start` that land in [begin, end).
inline void taps(int64_t start, int64_t kernel, int64_t dilation, int64_t begin, int64_t end, int64_t* lo,
                 int64_t* hi) {
  *lo = start >= begin ? 0 : (begin - start + dilation - 1) / dilation;
  *hi = start > end - 1 ? 0 : std::min(kernel, (end - 1 - start) / dilation + 1);
  if (*hi < *lo) *hi = *lo;
}

// Per output position of one dim: where its window starts, its in-bounds kernel offsets
// [lo, hi), and (for count_include_pad) how many taps fall inside the padded input. Built once
// per call so the inner loops carry no divisions.
struct DimTaps {
  std::vector<int64_t> start, lo, hi, padded;
};

void buildTaps(const Window3& g, int i, DimTaps& t) {
  const auto n = static_cast<size_t>(g.out[i]);
  t.start.resize(n), t.lo.resize(n), t.hi.resize(n), t.padded.resize(n);
  for (size_t o = 0; o < n; ++o) {
    const int64_t s = static_cast<int64_t>(o) * g.stride[i] - g.padBegin[i];
    t.start[o] = s;
    taps(s, g.kernel[i], g.dilation[i], 0, g.in[i], &t.lo[o], &t.hi[o]);
    int64_t lo, hi;
    taps(s, g.kernel[i], g.dilation[i], -g.padBegin[i], g.in[i] + g.padEnd[i], &lo, &hi);
    t.padded[o] = hi - lo;
  }
}

DimTaps* tapTables(const Window3& g) {
  thread_local DimTaps tables[3];
  for (int i = 0; i < 3; ++i) buildTaps(g, i, tables[i]);
  return tables;
}

// Planes (one image's one channel) are independent: runs body(p0, p1) over ranges of them on
// the context's threads, each plane costing its outputs times its window's taps.
template <typename F>
void forEachPlaneRange(ThreadPool* pool, const Window3& g, int64_t planes, const F& body) {
  const int64_t perPlane = g.out[0] * g.out[1] * g.out[2] * g.kernel[0] * g.kernel[1] * g.kernel[2];
  parallelRanges(pool, planes, perPlane, body);
}

template <typename T, bool kIndices>
void maxPoolLoop(const Window3& g, const DimTaps* t, const int64_t* ist, int64_t p0, int64_t p1,
                 const typename Elem<T>::Storage* x, typename Elem<T>::Storage* y, int64_t* indices) {
  using E = Elem<T>;
  using Cmp = typename E::Compute;
  const int64_t inVol = g.in[0] * g.in[1] * g.in[2];
  const int64_t dd = g.dilation[0], dh = g.dilation[1], dw = g.dilation[2];
  int64_t o = p0 * g.out[0] * g.out[1] * g.out[2];
  for (int64_t p = p0; p < p1; ++p) {
    const auto* xp = x + p * inVol;
    for (int64_t od = 0; od < g.out[0]; ++od) {
      for (int64_t oh = 0; oh < g.out[1]; ++oh) {
        for (int64_t ow = 0; ow < g.out[2]; ++ow, ++o) {
          Cmp best = std::numeric_limits<Cmp>::lowest();
          if constexpr (std::is_floating_point_v<Cmp>) best = -std::numeric_limits<Cmp>::infinity();
          int64_t arg = -1;
          for (int64_t kd = t[0].lo[od]; kd < t[0].hi[od]; ++kd) {
            const int64_t id = t[0].start[od] + kd * dd;
            for (int64_t kh = t[1].lo[oh]; kh < t[1].hi[oh]; ++kh) {
              const int64_t ih = t[1].start[oh] + kh * dh;
              const auto* row = xp + (id * g.in[1] + ih) * g.in[2] + t[2].start[ow];
              for (int64_t kw = t[2].lo[ow]; kw < t[2].hi[ow]; ++kw) {
                const Cmp v = E::load(row, static_cast<size_t>(kw * dw));
                // Strictly greater keeps the first maximum, as the ONNX reference does; NaN wins.
                if constexpr (kIndices) {
                  if (v > best || arg < 0 || (v != v && best == best)) {
                    best = v;
                    arg = id * ist[0] + ih * ist[1] + (t[2].start[ow] + kw * dw) * ist[2];
                  }
                } else {
                  best = (v > best || v != v) && best == best ? v : best;
                }
              }
            }
          }
          E::store(y, static_cast<size_t>(o), best);
          if constexpr (kIndices) indices[o] = arg < 0 ? -1 : p * inVol + arg;
        }
      }
    }
  }
}

// Max or average pooling one output row at a time: for every window tap (kd, kh, kw) the
// output positions whose tap lands inside the input form one contiguous range, so the inner
// loop runs branch-free across the row and vectorizes (unit stride) instead of walking a
// few taps per output.
template <typename T, bool kMax>
void poolRows(const Window3& g, const DimTaps* t, bool includePad, int64_t p0, int64_t p1,
              const typename Elem<T>::Storage* x, typename Elem<T>::Storage* y) {
  using E = Elem<T>;
  using Acc = std::conditional_t<kMax, typename E::Compute, float>;
  // float16 input rows are widened once per row (F16C, half.h) rather than once per tap.
  constexpr bool kHalves = std::is_same_v<T, Fp16>;
  using RowE = std::conditional_t<kHalves, Elem<float>, E>;
  const int64_t OW = g.out[2], W = g.in[2], sw = g.stride[2], KW = g.kernel[2];
  const int64_t inVol = g.in[0] * g.in[1] * W;
  thread_local std::vector<float> rowBuf;
  if constexpr (kHalves) rowBuf.resize(static_cast<size_t>(W));
  thread_local std::vector<Acc> accRow;
  thread_local std::vector<int64_t> owLo, owHi;
  thread_local std::vector<float> wCount;
  accRow.resize(static_cast<size_t>(OW));
  owLo.resize(static_cast<size_t>(KW)), owHi.resize(static_cast<size_t>(KW)), wCount.resize(static_cast<size_t>(OW));
  for (int64_t kw = 0; kw < KW; ++kw) {
    const int64_t off = kw * g.dilation[2] - g.padBegin[2];
    owLo[kw] = off >= 0 ? 0 : std::min(OW, (-off + sw - 1) / sw);
    owHi[kw] = off > W - 1 ? 0 : std::min(OW, (W - 1 - off) / sw + 1);
    if (owHi[kw] < owLo[kw]) owHi[kw] = owLo[kw];
  }
  for (int64_t ow = 0; ow < OW; ++ow)
    wCount[ow] = static_cast<float>(includePad ? t[2].padded[ow] : t[2].hi[ow] - t[2].lo[ow]);
  Acc init = kMax ? std::numeric_limits<Acc>::lowest() : Acc{0};
  if constexpr (kMax && std::is_floating_point_v<Acc>) init = -std::numeric_limits<Acc>::infinity();
  Acc* acc = accRow.data();
  int64_t o = p0 * g.out[0] * g.out[1] * OW;
  for (int64_t p = p0; p < p1; ++p) {
    const auto* xp = x + p * inVol;
    for (int64_t od = 0; od < g.out[0]; ++od) {
      for (int64_t oh = 0; oh < g.out[1]; ++oh) {
        std::fill(acc, acc + OW, init);
        for (int64_t kd = t[0].lo[od]; kd < t[0].hi[od]; ++kd) {
          const int64_t id = t[0].start[od] + kd * g.dilation[0];
          for (int64_t kh = t[1].lo[oh]; kh < t[1].hi[oh]; ++kh) {
            const typename RowE::Storage* row;
            if constexpr (kHalves) {
              widenHalves(xp + (id * g.in[1] + t[1].start[oh] + kh * g.dilation[1]) * W, W, rowBuf.data());
              row = rowBuf.data();
            } else {
              row = xp + (id * g.in[1] + t[1].start[oh] + kh * g.dilation[1]) * W;
            }
            for (int64_t kw = 0; kw < KW; ++kw) {
              const auto* src = row + kw * g.dilation[2] - g.padBegin[2];
              for (int64_t ow = owLo[kw]; ow < owHi[kw]; ++ow) {
                const Acc v = RowE::load(src, static_cast<size_t>(ow * sw));
                // NaN wins a max, as in the ONNX reference.
                if constexpr (kMax) acc[ow] = (v > acc[ow] || v != v) ? v : acc[ow];
                else acc[ow] += v;
              }
            }
          }
        }
        const float hd = static_cast<float>(includePad ? t[0].padded[od] * t[1].padded[oh]
                                                       : (t[0].hi[od] - t[0].lo[od]) * (t[1].hi[oh] - t[1].lo[oh]));
        if constexpr (!kMax) {
          for (int64_t ow = 0; ow < OW; ++ow) {
            const float count = hd * wCount[ow];
            acc[ow] = count > 0 ? acc[ow] / count : 0.0f;
          }
        }
        if constexpr (kHalves) {
          narrowToHalves(acc, OW, y + o);
        } else {
          for (int64_t ow = 0; ow < OW; ++ow) E::store(y, static_cast<size_t>(o + ow), acc[ow]);
        }
        o += OW;
      }
    }
  }
}

template <typename T>
void maxPoolTyped(const Node& node, const ValueRef& vx, const std::vector<OutputRef>& out, ThreadPool* pool) {
  using E = Elem<T>;
  const Dims& xs = *vx.shape;
  const Dims& ys = *out[0].shape;
  Window w = poolWindow(node, xs);
  for (size_t d = 0; d < w.spatial; ++d) forwardExtent(node, w, d, xs[2 + d]);
  const Window3 g = toWindow3(w, xs.data() + 2, ys.data() + 2);
  const auto* x = static_cast<const typename E::Storage*>(vx.data);
  auto* y = static_cast<typename E::Storage*>(out[0].data);
  // An omitted Indices output (empty name) is not computed.
  const bool wantIndices = node.outputs.size() > 1 && node.outputs[1] >= 0 && out[1].data;
  int64_t* indices = wantIndices ? static_cast<int64_t*>(out[1].data) : nullptr;
  // Index strides of (d, h, w) inside one plane: row-major, or column-major for storage_order 1.
  int64_t ist[3] = {g.in[1] * g.in[2], g.in[2], 1};
  if (node.attrInt("storage_order", 0) == 1) {
    int64_t s = 1;
    for (size_t i = 3 - w.spatial; i < 3; ++i) {
      ist[i] = s;
      s *= g.in[i];
    }
  }
  const DimTaps* t = tapTables(g);
  forEachPlaneRange(pool, g, xs[0] * xs[1], [&](int64_t p0, int64_t p1) {
    if (indices) maxPoolLoop<T, true>(g, t, ist, p0, p1, x, y, indices);
    else poolRows<T, true>(g, t, false, p0, p1, x, y);
  });
}

void runMaxPool(const Node& node, const std::vector<ValueRef>& in, const std::vector<OutputRef>& out,
                KernelScratch& scratch) {
  switch (in[0].dtype) {
    case DataType::kFloat32: maxPoolTyped<float>(node, in[0], out, scratch.pool); return;
    case DataType::kFloat16: maxPoolTyped<Fp16>(node, in[0], out, scratch.pool); return;
    case DataType::kInt8: maxPoolTyped<int8_t>(node, in[0], out, scratch.pool); return;
    case DataType::kUInt8: maxPoolTyped<uint8_t>(node, in[0], out, scratch.pool); return;
    default: throwDType(node, "unsupported element type");
  }
}

template <typename T>
void avgPoolTyped(const Node& node, const ValueRef& vx, const OutputRef& vy, ThreadPool* pool) {
  using E = Elem<T>;
  const Dims& xs = *vx.shape;
  const Dims& ys = *vy.shape;
  Window w = poolWindow(node, xs);
  for (size_t d = 0; d < w.spatial; ++d) forwardExtent(node, w, d, xs[2 + d]);
  const Window3 g = toWindow3(w, xs.data() + 2, ys.data() + 2);
  const bool includePad = node.attrInt("count_include_pad", 0) == 1;
  const auto* x = static_cast<const typename E::Storage*>(vx.data);
  auto* y = static_cast<typename E::Storage*>(vy.data);
  const int64_t planes = xs[0] * xs[1];
  const DimTaps* t = tapTables(g);
  forEachPlaneRange(pool, g, planes, [&](int64_t p0, int64_t p1) { poolRows<T, false>(g, t, includePad, p0, p1, x, y); });
}

void runAveragePool(const Node& node, const std::vector<ValueRef>& in, const std::vector<OutputRef>& out,
                    KernelScratch& scratch) {
  dispatchFloat(node, in[0].dtype,
                [&](auto tag) { avgPoolTyped<typename decltype(tag)::type>(node, in[0], out[0], scratch.pool); });
}

// ---- global pooling -----------------------------------------------------------------------

void inferGlobalPool(const Node& node, const std::vector<ValueRef>& in, std::vector<OutputDesc>* out) {
  requireInputs(node, in, 1, 1);
  requireFloat(node, in[0], "input X");
  const Dims& x = *in[0].shape;
  if (x.size() < 3) throwShape(node, "input must have rank >= 3 (N, C, spatial...) but is " + dimsToString(x));
  Dims y(x.size(), 1);
  y[0] = x[0];
  y[1] = x[1];
  (*out)[0].dtype = in[0].dtype;
  (*out)[0].shape = std::move(y);
}

constexpr int64_t kPoolLanes = 16;

template <bool kMax>
inline float poolStep(float acc, float v) {
  if constexpr (kMax) return (v > acc || v != v) ? v : acc;
  else return acc + v;
}

// The sum (or maximum, NaN winning) of a plane's n values, in kPoolLanes partial results
// combined pairwise; divided by n for the average.
template <typename E, bool kMax>
inline float reducePlane(const typename E::Storage* x, int64_t n) {
  float lanes[kPoolLanes];
  for (int64_t j = 0; j < kPoolLanes; ++j) lanes[j] = kMax ? -std::numeric_limits<float>::infinity() : 0.0f;
  int64_t i = 0;
  for (; i + kPoolLanes <= n; i += kPoolLanes)
    for (int64_t j = 0; j < kPoolLanes; ++j) lanes[j] = poolStep<kMax>(lanes[j], E::load(x, static_cast<size_t>(i + j)));
  for (int64_t j = 0; i + j < n; ++j) lanes[j] = poolStep<kMax>(lanes[j], E::load(x, static_cast<size_t>(i + j)));
  for (int64_t width = kPoolLanes / 2; width > 0; width /= 2)
    for (int64_t j = 0; j < width; ++j) lanes[j] = poolStep<kMax>(lanes[j], lanes[j + width]);
  return kMax ? lanes[0] : lanes[0] / static_cast<float>(n);
}

// float32 planes, compiled per ISA (each step is one vector add or compare, nothing to fuse;
// Clang clones no templates, hence these two).
TNRT_SIM_CPU_CLONES float averageFloatPlane(const float* x, int64_t n) { return reducePlane<Elem<float>, false>(x, n); }
TNRT_SIM_CPU_CLONES float maxFloatPlane(const float* x, int64_t n) { return reducePlane<Elem<float>, true>(x, n); }

template <typename E, bool kMax>
float poolPlane(const typename E::Storage* x, int64_t n) {
  if constexpr (std::is_same_v<E, Elem<float>>) return kMax ? maxFloatPlane(x, n) : averageFloatPlane(x, n);
  else return reducePlane<E, kMax>(x, n);
}

template <typename T, bool kMax>
void globalPoolTyped(const ValueRef& vx, const OutputRef& vy, ThreadPool* pool) {
  using E = Elem<T>;
  const Dims& xs = *vx.shape;
  const int64_t planes = xs[0] * xs[1], n = rangeVolume(xs, 2, xs.size());
  const auto* x = static_cast<const typename E::Storage*>(vx.data);
  auto* y = static_cast<typename E::Storage*>(vy.data);
  // A plane is reduced in kPoolLanes interleaved partial results (element i into lane i mod
  // kPoolLanes), then the lanes in a fixed tree: the same order on every thread count, and
  // vectors rather than one chain of dependent adds, three adds' time an element (the
  // classifier's 2x48x3x96 average took ~13 us on one thread). Large maps split over planes.
  parallelRanges(pool, planes, n, [&](int64_t p0, int64_t p1) {
    for (int64_t p = p0; p < p1; ++p) E::store(y, static_cast<size_t>(p), poolPlane<E, kMax>(x + p * n, n));
  });
}

template <bool kMax>
void runGlobalPool(const Node& node, const std::vector<ValueRef>& in, const std::vector<OutputRef>& out,
                   KernelScratch& scratch) {
  dispatchFloat(node, in[0].dtype,
                [&](auto tag) { globalPoolTyped<typename decltype(tag)::type, kMax>(in[0], out[0], scratch.pool); });
}


// ---- LpPool and GlobalLpPool ----------------------------------------------------------------
// (sum over the window of |x|^p)^(1/p); padded positions add nothing. p is an integer from
// opset 2 (default 2); opset 1's float p is not supported, as TensorRT's parser imports
// LpPool from the integer form.

int64_t lpPoolP(const Node& node) {
  const Attribute* a = node.attr("p");
  if (a && a->type != AttrType::kInt) throwUnsupported(node, "attribute p must be an integer (opset 2 and later)");
  const int64_t p = a ? a->i : 2;
  if (p <= 0 || p > 64) throwShape(node, "attribute p must be in 1 to 64 but is " + std::to_string(p));
  return p;
}

float lpPower(float v, int64_t p) {
  const float a = std::fabs(v);
  return p == 1 ? a : p == 2 ? a * a : std::pow(a, static_cast<float>(p));
}
float lpRoot(double sum, int64_t p) {
  return static_cast<float>(p == 1 ? sum : p == 2 ? std::sqrt(sum) : std::pow(sum, 1.0 / static_cast<double>(p)));
}

void inferLpPool(const Node& node, const std::vector<ValueRef>& in, std::vector<OutputDesc>* out) {
  requireInputs(node, in, 1, 1);
  requirePoolType(node, in[0], false);
  lpPoolP(node);
  const Dims& x = *in[0].shape;
  Window w = poolWindow(node, x);
  Dims y{x[0], x[1]};
  for (size_t d = 0; d < w.spatial; ++d) y.push_back(forwardExtent(node, w, d, x[2 + d]));
  (*out)[0].dtype = in[0].dtype;
  (*out)[0].shape = std::move(y);
}

template <typename T>
void lpPoolTyped(const Node& node, const ValueRef& vx, const OutputRef& vy) {
  using E = Elem<T>;
  const Dims& xs = *vx.shape;
  const Dims& ys = *vy.shape;
  const int64_t p = lpPoolP(node);
  Window w = poolWindow(node, xs);
  for (size_t d = 0; d < w.spatial; ++d) forwardExtent(node, w, d, xs[2 + d]);
  const Window3 g = toWindow3(w, xs.data() + 2, ys.data() + 2);
  const DimTaps* t = tapTables(g);
  const auto* x = static_cast<const typename E::Storage*>(vx.data);
  auto* y = static_cast<typename E::Storage*>(vy.data);
  const int64_t planes = xs[0] * xs[1], inVol = g.in[0] * g.in[1] * g.in[2];
  int64_t o = 0;
  for (int64_t pl = 0; pl < planes; ++pl)
    for (int64_t od = 0; od < g.out[0]; ++od)
      for (int64_t oh = 0; oh < g.out[1]; ++oh)
        for (int64_t ow = 0; ow < g.out[2]; ++ow, ++o) {
          double sum = 0.0;
          for (int64_t kd = t[0].lo[od]; kd < t[0].hi[od]; ++kd)
            for (int64_t kh = t[1].lo[oh]; kh < t[1].hi[oh]; ++kh)
              for (int64_t kw = t[2].lo[ow]; kw < t[2].hi[ow]; ++kw) {
                const int64_t id = t[0].start[od] + kd * g.dilation[0], ih = t[1].start[oh] + kh * g.dilation[1],
                              iw = t[2].start[ow] + kw * g.dilation[2];
                sum += lpPower(E::load(x, static_cast<size_t>(pl * inVol + (id * g.in[1] + ih) * g.in[2] + iw)), p);
              }
          E::store(y, static_cast<size_t>(o), lpRoot(sum, p));
        }
}

void runLpPool(const Node& node, const std::vector<ValueRef>& in, const std::vector<OutputRef>& out, KernelScratch&) {
  dispatchFloat(node, in[0].dtype, [&](auto tag) { lpPoolTyped<typename decltype(tag)::type>(node, in[0], out[0]); });
}

void inferGlobalLpPool(const Node& node, const std::vector<ValueRef>& in, std::vector<OutputDesc>* out) {
  lpPoolP(node);
  inferGlobalPool(node, in, out);
}

template <typename T>
void globalLpPoolTyped(const Node& node, const ValueRef& vx, const OutputRef& vy) {
  using E = Elem<T>;
  const Dims& xs = *vx.shape;
  const int64_t p = lpPoolP(node);
  const int64_t planes = xs[0] * xs[1], n = rangeVolume(xs, 2, xs.size());
  const auto* x = static_cast<const typename E::Storage*>(vx.data);
  auto* y = static_cast<typename E::Storage*>(vy.data);
  for (int64_t pl = 0; pl < planes; ++pl) {
    double sum = 0.0;
    for (int64_t i = 0; i < n; ++i) sum += lpPower(E::load(x, static_cast<size_t>(pl * n + i)), p);
    E::store(y, static_cast<size_t>(pl), lpRoot(sum, p));
  }
}

void runGlobalLpPool(const Node& node, const std::vector<ValueRef>& in, const std::vector<OutputRef>& out,
                     KernelScratch&) {
  dispatchFloat(node, in[0].dtype, [&](auto tag) { globalLpPoolTyped<typename decltype(tag)::type>(node, in[0], out[0]); });
}

// ---- LRN ----------------------------------------------------------------------------------

void inferLrn(const Node& node, const std::vector<ValueRef>& in, std::vector<OutputDesc>* out) {
  requireInputs(node, in, 1, 1);
  requireFloat(node, in[0], "input X");
  if (in[0].shape->size() < 3) throwShape(node, "input must have rank >= 3 but is " + dimsToString(*in[0].shape));
  const int64_t size = node.attrInt("size", 0);
  if (!node.attr("size")) throwShape(node, "attribute 'size' is required");
  // TensorRT's LRN layer takes odd windows from 1 to 15 channels.
  if (size < 1 || size > 15 || size % 2 == 0)
    throwUnsupported(node, "size " + std::to_string(size) + " is not supported (TensorRT needs an odd size in [1, 15])");
  (*out)[0].dtype = in[0].dtype;
  (*out)[0].shape = *in[0].shape;
}

template <typename T>
void lrnTyped(const Node& node, const ValueRef& vx, const OutputRef& vy) {
  using E = Elem<T>;
  const float alpha = node.attrFloat("alpha", 1e-4f), beta = node.attrFloat("beta", 0.75f);
  const float bias = node.attrFloat("bias", 1.0f);
  const int64_t size = node.attrInt("size", 1);
  const Dims& xs = *vx.shape;
  const int64_t N = xs[0], C = xs[1], inner = rangeVolume(xs, 2, xs.size());
  const int64_t before = (size - 1) / 2, after = size - 1 - before;
  const auto* x = static_cast<const typename E::Storage*>(vx.data);
  auto* y = static_cast<typename E::Storage*>(vy.data);
  for (int64_t n = 0; n < N; ++n) {
    for (int64_t c = 0; c < C; ++c) {
      const int64_t c0 = std::max<int64_t>(0, c - before), c1 = std::min(C - 1, c + after);
      for (int64_t i = 0; i < inner; ++i) {
        float sq = 0.0f;
        for (int64_t k = c0; k <= c1; ++k) {
          const float v = E::load(x, static_cast<size_t>((n * C + k) * inner + i));
          sq += v * v;
        }
        const size_t at = static_cast<size_t>((n * C + c) * inner + i);
        E::store(y, at, E::load(x, at) / std::pow(bias + alpha / static_cast<float>(size) * sq, beta));
      }
    }
  }
}

void runLrn(const Node& node, const std::vector<ValueRef>& in, const std::vector<OutputRef>& out, KernelScratch&) {
  dispatchFloat(node, in[0].dtype, [&](auto tag) { lrnTyped<typename decltype(tag)::type>(node, in[0], out[0]); });
}

}  // namespace

void registerPoolOps(OpRegistry& registry) {
  // MaxPool: opset 8 added the Indices output and storage_order, 10 dilations and
  // ceil_mode, 12 int8; older models simply lack those attributes, so one kernel serves all.
  registry.add({"MaxPool", 1, kMaxReviewedOpset, inferPool, runMaxPool, false, 1, 2, {{1, 1, 1}}});
  // AveragePool: 7 added count_include_pad, 10 ceil_mode, 19 dilations.
  registry.add({"AveragePool", 1, kMaxReviewedOpset, inferPool, runAveragePool, false, 1, 1, {{1, 1, 1}}});
  registry.add({"GlobalAveragePool", 1, kMaxReviewedOpset, inferGlobalPool, runGlobalPool<false>, false, 1, 1, {{1, 1, 1}}});
  registry.add({"GlobalMaxPool", 1, kMaxReviewedOpset, inferGlobalPool, runGlobalPool<true>, false, 1, 1, {{1, 1, 1}}});
  registry.add({"LpPool", 2, kMaxReviewedOpset, inferLpPool, runLpPool, false, 1, 1, {{2, 1, 1}}});
  registry.add({"GlobalLpPool", 2, kMaxReviewedOpset, inferGlobalLpPool, runGlobalLpPool, false, 1, 1, {{2, 1, 1}}});
  registry.add({"LRN", 1, kMaxReviewedOpset, inferLrn, runLrn, false, 1, 1, {{1, 1, 1}}});
}

}  // namespace sim
}  // namespace tnrt
