// Convolutions: Conv and ConvTranspose (1-D, 2-D, 3-D; groups, strides, dilations, pads,
// auto_pad, optional bias), computed in float32 on the blocked sgemm of gemm_core.h.
//
// Conv is an implicit GEMM per (image, group): Y[M/g, outVol] = W[M/g, C/g*kvol] x col, where
// col is the im2col view of the input. The column matrix is never built; its blocks are
// packed straight from the input into sgemm's panel format. ConvTranspose is the adjoint:
// col = W^T x X by sgemm, then col2im scatters col into the output.
#include <algorithm>
#include <cstdlib>
#include <cstring>
#include <string>
#include <type_traits>
#include <vector>

#include "denormals.h"
#include "gemm_core.h"

#if defined(__x86_64__)
#include <immintrin.h>
#endif
#include "../thread_pool.h"
#include "kernel_util.h"
#include "../checked_math.h"
#include "window_geometry.h"

namespace tnrt {
namespace sim {

namespace {

// Checks what Conv and ConvTranspose share: input count, float types, ranks, group.
int64_t checkConvInputs(const Node& node, const std::vector<ValueRef>& in) {
  requireInputs(node, in, 2, 3);
  requireFloat(node, in[0], "input X");
  requireSameType(node, in);
  const Dims& x = *in[0].shape;
  const Dims& w = *in[1].shape;
  if (x.size() < 3 || x.size() > 2 + kMaxSpatial)
    throwUnsupported(node, "input X of rank " + std::to_string(x.size()) + " is not supported (1-D to 3-D only)");
  if (w.size() != x.size())
    throwShape(node, "weight W has rank " + std::to_string(w.size()) + " but X has rank " + std::to_string(x.size()));
  if (in.size() > 2 && in[2].present() && in[2].shape->size() != 1)
    throwShape(node, "bias B must be 1-D but is " + dimsToString(*in[2].shape));
  const int64_t group = node.attrInt("group", 1);
  if (group < 1) throwShape(node, "group must be positive but is " + std::to_string(group));
  return group;
}

void requireDim(const Node& node, int64_t actual, int64_t expected, const std::string& what) {
  if (actual >= 0 && expected >= 0 && actual != expected)
    throwShape(node, what + " is " + std::to_string(actual) + " but must be " + std::to_string(expected));
}

void inferConv(const Node& node, const std::vector<ValueRef>& in, std::vector<OutputDesc>* out) {
  const int64_t group = checkConvInputs(node, in);
  const Dims& x = *in[0].shape;
  const Dims& w = *in[1].shape;
  const size_t spatial = x.size() - 2;
  Window win = readWindow(node, spatial, w.data() + 2, false);
  const int64_t C = x[1], M = w[0];
  if (C >= 0) {
    if (C % group != 0) throwShape(node, "input channels " + std::to_string(C) + " are not divisible by group");
    requireDim(node, w[1], C / group, "weight dim 1 (input channels per group)");
  }
  if (M >= 0 && M % group != 0) throwShape(node, "output channels " + std::to_string(M) + " are not divisible by group");
  if (in.size() > 2 && in[2].present()) requireDim(node, (*in[2].shape)[0], M, "bias length");
  Dims y{x[0], M};
  for (size_t d = 0; d < spatial; ++d) y.push_back(forwardExtent(node, win, d, x[2 + d]));
  (*out)[0].dtype = in[0].dtype;
  (*out)[0].shape = std::move(y);
}

// Per-dim output extent and begin padding of ConvTranspose, following the ONNX formulas:
// out = stride*(in-1) + output_padding + span - padBegin - padEnd, or, when output_shape or
// SAME auto_pad fixes `out`, the padding that achieves it.
struct TransposeGeometry {
  Window win;
  int64_t out[kMaxSpatial] = {-1, -1, -1};
};

TransposeGeometry transposeGeometry(const Node& node, const Dims& x, const Dims& w) {
  const size_t spatial = x.size() - 2;
  TransposeGeometry t{readWindow(node, spatial, w.data() + 2, false)};
  Window& win = t.win;
  std::vector<int64_t> outPad = attrInts(node, "output_padding");
  if (!outPad.empty() && outPad.size() != spatial) throwShape(node, "output_padding needs one value per spatial dim");
  std::vector<int64_t> outShape = attrInts(node, "output_shape");
  if (outShape.size() == spatial + 2) outShape.erase(outShape.begin(), outShape.begin() + 2);  // N, C included
  if (!outShape.empty() && outShape.size() != spatial) throwShape(node, "output_shape needs one value per spatial dim");
  for (size_t d = 0; d < spatial; ++d) {
    const int64_t in = x[2 + d], s = win.stride[d], op = outPad.empty() ? 0 : outPad[d];
    if (op < 0) throwUnsupported(node, "negative output_padding is not supported");
    if (win.kernel[d] < 0) continue;  // kernel unknown until the weight's shape is
    // Attributes and dims come from the file: a wrapped extent would size the output too small.
    const auto overflow = [&]() {
      throwShape(node, "the output size of spatial dim " + std::to_string(d) + " overflows (input " +
                           std::to_string(in) + ", stride " + std::to_string(s) + ", output_padding " +
                           std::to_string(op) + "); fix the model's attributes");
    };
    int64_t full = -1;
    if (in >= 0) {
      int64_t span;
      if (!checkedMul(win.kernel[d] - 1, win.dilation[d], &span) || !checkedMul(s, in > 0 ? in - 1 : 0, &full) ||
          !checkedAdd(full, op, &full) || !checkedAdd(full, span + 1, &full))
        overflow();
      if (in == 0) full = 0;
    }
    int64_t target = -1;
    if (!outShape.empty()) {
      target = outShape[d];
      if (target < 0) throwShape(node, "output_shape value " + std::to_string(target) + " is negative");
    } else if (win.autoPad == AutoPad::kSameUpper || win.autoPad == AutoPad::kSameLower) {
      if (in >= 0 && !checkedMul(in, s, &target)) overflow();
      if (in < 0) target = -1;
    }
    if (!outShape.empty() || win.autoPad == AutoPad::kSameUpper || win.autoPad == AutoPad::kSameLower) {
      t.out[d] = target;
      if (full < 0 || target < 0) continue;
      // Negative when `target` exceeds the full extent: the output then grows at the end with
      // positions no input reaches (they hold the bias), as the ONNX reference computes it.
      const int64_t total = full - target;
      const int64_t half = total >= 0 ? total / 2 : -((-total + 1) / 2);  // floor(total / 2)
      // The odd element of padding goes to the end for SAME_UPPER, else to the beginning.
      win.padBegin[d] = win.autoPad == AutoPad::kSameUpper ? half : total - half;
      win.padEnd[d] = total - win.padBegin[d];
      continue;
    }
    if (full < 0) continue;
    // Pads come from the model unbounded above: two near INT64_MAX would wrap the difference.
    int64_t extent;
    if (!checkedSub(full, win.padBegin[d], &extent) || !checkedSub(extent, win.padEnd[d], &extent)) overflow();
    t.out[d] = extent;
    if (t.out[d] < 1) throwShape(node, "pads leave an empty output");
  }
  return t;
}

void inferConvTranspose(const Node& node, const std::vector<ValueRef>& in, std::vector<OutputDesc>* out) {
  const int64_t group = checkConvInputs(node, in);
  const Dims& x = *in[0].shape;
  const Dims& w = *in[1].shape;
  requireDim(node, w[0], x[1], "weight dim 0 (input channels)");
  if (x[1] >= 0 && x[1] % group != 0) throwShape(node, "input channels are not divisible by group");
  int64_t M = -1;
  if (w[1] >= 0 && !checkedMul(w[1], group, &M))
    throwShape(node, "output channels (weight dim 1 x group) overflow; fix the model");
  if (in.size() > 2 && in[2].present()) requireDim(node, (*in[2].shape)[0], M, "bias length");
  const TransposeGeometry t = transposeGeometry(node, x, w);
  Dims y{x[0], M};
  for (size_t d = 0; d + 2 < x.size(); ++d) y.push_back(t.out[d]);
  (*out)[0].dtype = in[0].dtype;
  (*out)[0].shape = std::move(y);
}

// ---- float32 staging ----------------------------------------------------------------------

// The operands as float32: the caller's bytes for float32, else float16 widened into scratch.
struct FloatOperands {
  const float *x = nullptr, *w = nullptr, *b = nullptr;
  float* y = nullptr;
};

template <typename T>
FloatOperands stageOperands(const std::vector<ValueRef>& in, const OutputRef& out, KernelScratch& scratch) {
  FloatOperands f;
  const bool hasBias = in.size() > 2 && in[2].present();
  if constexpr (std::is_same_v<T, float>) {
    f.x = static_cast<const float*>(in[0].data);
    f.w = static_cast<const float*>(in[1].data);
    f.b = hasBias ? static_cast<const float*>(in[2].data) : nullptr;
    f.y = static_cast<float*>(out.data);
  } else {
    const int64_t nx = volume(*in[0].shape), nw = volume(*in[1].shape), nb = hasBias ? volume(*in[2].shape) : 0;
    float* a = KernelScratch::as<float>(scratch.a, static_cast<size_t>(nx + nw + nb));
    auto widen = [](const void* src, int64_t n, float* dst) {
      // In bulk (F16C): staged one value per call, IS-Net's float16 Conv layers spent about a
      // sixth of the network's time converting.
      if constexpr (std::is_same_v<T, Fp16>) return widenHalves(static_cast<const uint16_t*>(src), n, dst);
      for (int64_t i = 0; i < n; ++i) dst[i] = Elem<T>::load(static_cast<const uint16_t*>(src), static_cast<size_t>(i));
    };
    widen(in[0].data, nx, a);
    widen(in[1].data, nw, a + nx);
    if (hasBias) widen(in[2].data, nb, a + nx + nw);
    f.x = a, f.w = a + nx, f.b = hasBias ? a + nx + nw : nullptr;
    f.y = KernelScratch::as<float>(scratch.b, static_cast<size_t>(volume(*out.shape)));
  }
  return f;
}

template <typename T>
void finishOutput(const FloatOperands& f, const OutputRef& out) {
  if constexpr (!std::is_same_v<T, float>) {
    const int64_t n = volume(*out.shape);
    if constexpr (std::is_same_v<T, Fp16>) return narrowToHalves(f.y, n, static_cast<uint16_t*>(out.data));
    for (int64_t i = 0; i < n; ++i) Elem<T>::store(static_cast<uint16_t*>(out.data), static_cast<size_t>(i), f.y[i]);
  }
}

// ---- Conv ---------------------------------------------------------------------------------

// What the im2col packer needs: one image's group of input channels and the geometry.
struct Im2col {
  const float* x = nullptr;
  Window3 g;
  int64_t inVol = 0, kvol = 0;
};

// A run of output columns inside one B panel that share (od, oh), so their inputs along w are
// evenly spaced in one input row.
struct Segment {
  int64_t panel, j, od, oh, ow, len;
};

void packIm2col(const void* ctx, int64_t k0, int64_t kc, int64_t n0, int64_t nc, int64_t nr, float* dst) {
  const Im2col& c = *static_cast<const Im2col*>(ctx);
  const Window3& g = c.g;
  const int64_t OW = g.out[2], OH = g.out[1];
  thread_local std::vector<Segment> segments;
  segments.clear();
  const int64_t panels = (nc + nr - 1) / nr;
  for (int64_t p = 0; p < panels; ++p) {
    int64_t col = n0 + p * nr;
    const int64_t end = n0 + std::min(nc, (p + 1) * nr);
    while (col < end) {
      const int64_t ow = col % OW, rest = col / OW;
      const int64_t len = std::min(OW - ow, end - col);
      segments.push_back({p, col - n0 - p * nr, rest / OH, rest % OH, ow, len});
      col += len;
    }
  }
  const int64_t tail = panels * nr - nc;  // zero columns at the end of the last panel
  const int64_t KW = g.kernel[2], KH = g.kernel[1];
  const int64_t D = g.in[0], H = g.in[1], W = g.in[2], sw = g.stride[2];
  for (int64_t kk = 0; kk < kc; ++kk) {
    const int64_t k = k0 + kk, r = k % c.kvol;
    const int64_t fw = r % KW, fh = (r / KW) % KH, fd = r / (KW * KH);
    const float* xc = c.x + (k / c.kvol) * c.inVol;
    for (const Segment& s : segments) {
      float* d = dst + s.panel * kc * nr + kk * nr + s.j;
      const int64_t id = s.od * g.stride[0] - g.padBegin[0] + fd * g.dilation[0];
      const int64_t ih = s.oh * g.stride[1] - g.padBegin[1] + fh * g.dilation[1];
      if (id < 0 || id >= D || ih < 0 || ih >= H) {
        std::memset(d, 0, static_cast<size_t>(s.len) * sizeof(float));
        continue;
      }
      const float* row = xc + (id * H + ih) * W;
      const int64_t iw0 = s.ow * sw - g.padBegin[2] + fw * g.dilation[2];
      // Columns t in [lo, hi) read inside the row; the rest read padding.
      int64_t lo = iw0 >= 0 ? 0 : (-iw0 + sw - 1) / sw;
      int64_t hi = iw0 >= W ? 0 : (W - 1 - iw0) / sw + 1;
      lo = std::min(lo, s.len);
      hi = std::max(lo, std::min(hi, s.len));
      for (int64_t t = 0; t < lo; ++t) d[t] = 0.0f;
      // Runs are short (at most one panel), so an inline loop beats a memcpy call.
      if (sw == 1) {
        const float* src = row + iw0;
        for (int64_t t = lo; t < hi; ++t) d[t] = src[t];
      } else if (sw == 2) {
        // The common strided case (ResNet stems, downsampling): a constant stride lets the
        // compiler vectorize the gather with shuffles instead of one load per element.
        const float* src = row + iw0;
        for (int64_t t = lo; t < hi; ++t) d[t] = src[2 * t];
      } else {
        for (int64_t t = lo; t < hi; ++t) d[t] = row[iw0 + t * sw];
      }
      for (int64_t t = hi; t < s.len; ++t) d[t] = 0.0f;
    }
    if (tail > 0) std::memset(dst + (panels - 1) * kc * nr + kk * nr + (nr - tail), 0, static_cast<size_t>(tail) * sizeof(float));
  }
}

// Depthwise convolution (one input channel per group) as a direct loop: a GEMM with one
// row per group would spend its time packing. For every tap the valid output columns form
// one range, so the inner loop is a branch-free axpy along the output row.
TNRT_SIM_CPU_CLONES
void depthwiseChannel(const float* x, const float* w, float bias, float* y, const Window3& g) {
  const int64_t OW = g.out[2], W = g.in[2], sw = g.stride[2];
  for (int64_t od = 0; od < g.out[0]; ++od) {
    for (int64_t oh = 0; oh < g.out[1]; ++oh) {
      float* yr = y + (od * g.out[1] + oh) * OW;
      for (int64_t ow = 0; ow < OW; ++ow) yr[ow] = bias;
      for (int64_t kd = 0; kd < g.kernel[0]; ++kd) {
        const int64_t id = od * g.stride[0] - g.padBegin[0] + kd * g.dilation[0];
        if (id < 0 || id >= g.in[0]) continue;
        for (int64_t kh = 0; kh < g.kernel[1]; ++kh) {
          const int64_t ih = oh * g.stride[1] - g.padBegin[1] + kh * g.dilation[1];
          if (ih < 0 || ih >= g.in[1]) continue;
          const float* row = x + (id * g.in[1] + ih) * W;
          const float* wk = w + (kd * g.kernel[1] + kh) * g.kernel[2];
          for (int64_t kw = 0; kw < g.kernel[2]; ++kw) {
            const int64_t off = kw * g.dilation[2] - g.padBegin[2];
            const int64_t lo = off >= 0 ? 0 : std::min(OW, (-off + sw - 1) / sw);
            const int64_t hi = off > W - 1 ? 0 : std::min(OW, (W - 1 - off) / sw + 1);
            const float wv = wk[kw];
            if (sw == 1) {
              const float* src = row + off;
              for (int64_t ow = lo; ow < hi; ++ow) yr[ow] += wv * src[ow];
            } else {
              for (int64_t ow = lo; ow < hi; ++ow) yr[ow] += wv * row[ow * sw + off];
            }
          }
        }
      }
    }
  }
}

// Depthwise 2-D convolution with width stride 1 or 2, register-blocked: a zero-padded copy of
// the channel's plane lets every tap read a full run of kDepthwiseCols inputs, so a block of
// output columns stays in registers across all KH x KW taps instead of being loaded and stored
// once per tap. Taps are added in depthwiseChannel's order (those over padding columns add
// zero products; kernel rows entirely over padding rows are skipped, as it skips them).
constexpr int64_t kDepthwiseCols = 16;

#if defined(__GNUC__)
// A GCC/Clang vector of kDepthwiseCols columns: one zmm (two ymm, four NEON q) held across the
// taps; plain loops over a float[16] get unrolled into scalars instead.
typedef float DepthwiseCols __attribute__((vector_size(kDepthwiseCols * sizeof(float))));

// The inputs of kDepthwiseCols consecutive outputs for one tap: with width stride 2, the even
// ones of twice as many.
__attribute__((always_inline)) inline void depthwiseInputs(const float* s, int64_t SW, DepthwiseCols* out) {
  DepthwiseCols v;
  if (SW == 1) {
    std::memcpy(&v, s, sizeof v);
  } else {
    DepthwiseCols a, b;
    std::memcpy(&a, s, sizeof a);
    std::memcpy(&b, s + kDepthwiseCols, sizeof b);
#if defined(__clang__)
    v = __builtin_shufflevector(a, b, 0, 2, 4, 6, 8, 10, 12, 14, 16, 18, 20, 22, 24, 26, 28, 30);
#else
    typedef int32_t Lanes __attribute__((vector_size(kDepthwiseCols * sizeof(int32_t))));
    v = __builtin_shuffle(a, b, Lanes{0, 2, 4, 6, 8, 10, 12, 14, 16, 18, 20, 22, 24, 26, 28, 30});
#endif
  }
  *out = v;
}

// NB consecutive blocks of kDepthwiseCols outputs of one output row (`cols` outputs left from
// `yr` on), every block in registers across the taps. `row` is the padded plane's first row of
// the window, at the blocks' first input column; rows of the window are `rowStep` apart.
// Inlined into depthwisePlane's per-ISA clones, so it is compiled for each.
template <int NB>
__attribute__((always_inline)) inline void depthwiseBlocks(const float* row, int64_t rowStep, int64_t khLo, int64_t khHi,
                                                           int64_t KW, int64_t dw, int64_t SW, const float* w, float bias,
                                                           float* yr, int64_t cols) {
  DepthwiseCols acc[NB];
  for (int b = 0; b < NB; ++b) acc[b] = bias - DepthwiseCols{};  // every lane `bias`
  for (int64_t kh = khLo; kh < khHi; ++kh) {
    const float* r = row + kh * rowStep;
    for (int64_t kw = 0; kw < KW; ++kw) {
      const float wv = w[kh * KW + kw];
      for (int b = 0; b < NB; ++b) {
        DepthwiseCols v;
        depthwiseInputs(r + kw * dw + b * kDepthwiseCols * SW, SW, &v);
        acc[b] += wv * v;
      }
    }
  }
  for (int b = 0; b < NB; ++b) {
    const int64_t n = std::min(kDepthwiseCols, cols - b * kDepthwiseCols);
    // A whole block is one vector store; element by element, 16 extracts.
    if (n == kDepthwiseCols) {
      std::memcpy(yr + b * kDepthwiseCols, &acc[b], sizeof acc[b]);
    } else {
      for (int64_t j = 0; j < n; ++j) yr[b * kDepthwiseCols + j] = acc[b][j];
    }
  }
}
#endif

// SW is the width stride, 1 or 2.
TNRT_SIM_CPU_CLONES
void depthwisePlane(const float* x, const float* w, float bias, float* y, const Window3& g) {
  const int64_t SW = g.stride[2];
  const int64_t H = g.in[1], W = g.in[2], OH = g.out[1], OW = g.out[2], KH = g.kernel[1], KW = g.kernel[2];
  const int64_t sh = g.stride[1], dh = g.dilation[1], dw = g.dilation[2], pt = g.padBegin[1], pl = g.padBegin[2];
  const int64_t OWr = (OW + kDepthwiseCols - 1) / kDepthwiseCols * kDepthwiseCols;
  const int64_t Wp = (OWr - 1) * SW + (KW - 1) * dw + 1, Hp = (OH - 1) * sh + (KH - 1) * dh + 1;
  thread_local std::vector<float> plane;
  // One block past the last row: stride 2 loads 2 x kDepthwiseCols inputs and uses the even
  // ones. Rows are copied whole and only the padding around them zeroed: a plane-wide fill
  // then copy cost as much as the taps on PP-OCRv3's 24x56 maps.
  plane.resize(static_cast<size_t>(Hp * Wp + kDepthwiseCols));
  float* const pp = plane.data();
  const int64_t c0 = std::min(Wp, pl), c1 = std::min(Wp, pl + W);
  for (int64_t r = 0; r < Hp; ++r) {
    const int64_t ih = r - pt;
    float* dst = pp + r * Wp;
    if (ih < 0 || ih >= H) {
      std::fill(dst, dst + Wp, 0.0f);
      continue;
    }
    std::fill(dst, dst + c0, 0.0f);
    if (c1 > c0) std::memcpy(dst + c0, x + ih * W + (c0 - pl), static_cast<size_t>(c1 - c0) * sizeof(float));
    std::fill(dst + std::max(c0, c1), dst + Wp, 0.0f);
  }
  std::fill(pp + Hp * Wp, pp + Hp * Wp + kDepthwiseCols, 0.0f);
  const float* p = plane.data();
  for (int64_t oh = 0; oh < OH; ++oh) {
    // Kernel rows over padding rows add only zeros: skipped, as on small maps (2 or 3 rows
    // under a 5x5 kernel) they are most of the taps.
    int64_t khLo = 0, khHi = KH;
    while (khLo < KH && oh * sh - pt + khLo * dh < 0) ++khLo;
    while (khHi > khLo && oh * sh - pt + (khHi - 1) * dh >= H) --khHi;
#if defined(__GNUC__)
    // Four blocks at a time, then what is left: each block's sum is a chain of dependent
    // multiply-adds, and one chain at a time waits on the latency of every step.
    const float* rowBase = p + oh * sh * Wp;
    float* yr = y + oh * OW;
    // Blocks are whole in the padded plane (OWr columns), the last one partial in the output.
    int64_t ow0 = 0;
    for (; OW - ow0 > 3 * kDepthwiseCols; ow0 += 4 * kDepthwiseCols)
      depthwiseBlocks<4>(rowBase + ow0 * SW, dh * Wp, khLo, khHi, KW, dw, SW, w, bias, yr + ow0, OW - ow0);
    switch ((OW - ow0 + kDepthwiseCols - 1) / kDepthwiseCols) {
      case 3: depthwiseBlocks<3>(rowBase + ow0 * SW, dh * Wp, khLo, khHi, KW, dw, SW, w, bias, yr + ow0, OW - ow0); break;
      case 2: depthwiseBlocks<2>(rowBase + ow0 * SW, dh * Wp, khLo, khHi, KW, dw, SW, w, bias, yr + ow0, OW - ow0); break;
      case 1: depthwiseBlocks<1>(rowBase + ow0 * SW, dh * Wp, khLo, khHi, KW, dw, SW, w, bias, yr + ow0, OW - ow0); break;
      default: break;
    }
#else
    for (int64_t ow0 = 0; ow0 < OW; ow0 += kDepthwiseCols) {
      float* yr = y + oh * OW + ow0;
      const int64_t n = std::min(kDepthwiseCols, OW - ow0);
      float acc[kDepthwiseCols];
      for (int64_t j = 0; j < kDepthwiseCols; ++j) acc[j] = bias;
      for (int64_t kh = khLo; kh < khHi; ++kh) {
        const float* row = p + (oh * sh + kh * dh) * Wp + ow0 * SW;
        for (int64_t kw = 0; kw < KW; ++kw) {
          const float wv = w[kh * KW + kw];
          const float* s = row + kw * dw;
          for (int64_t j = 0; j < kDepthwiseCols; ++j) acc[j] += wv * s[j * SW];
        }
      }
      for (int64_t j = 0; j < n; ++j) yr[j] = acc[j];
    }
#endif
  }
}

// One depthwise channel: the blocked kernel where it applies (2-D, non-negative pads, width
// stride 1 or 2) and pays for its padded copy (at least 32 outputs: with four column blocks
// in flight, PP-OCRv3's detector ran 8% faster than with the general loop below 256 outputs,
// the direction classifier's 2x96 layers as fast), else the general loop.
void depthwise(const float* x, const float* w, float bias, float* y, const Window3& g) {
  const bool planar = g.in[0] == 1 && g.kernel[0] == 1 && g.out[0] == 1 && g.padBegin[1] >= 0 && g.padBegin[2] >= 0 &&
                      g.out[1] * g.out[2] >= 32;
  if (planar && (g.stride[2] == 1 || g.stride[2] == 2)) {
    depthwisePlane(x, w, bias, y, g);
  } else {
    depthwiseChannel(x, w, bias, y, g);
  }
}

// Depthwise 2-D convolution on small maps, kDepthwiseLanes channels at a time: one vector
// lane per channel, as channel-blocked layouts (NCHWc) do. On maps a few
// columns wide (PP-OCRv3's 6x14 and 3x7 layers, most of its depthwise time) the per-channel
// kernels above run one short chain of dependent multiply-adds per row and pay a padded copy
// per channel; here every output position is an independent vector of channels, four of them
// in flight, and the copy (a transpose into a zero-padded [row][column][lane] tile) is made
// once per block. Each output still sums bias, then every tap in (kh, kw) order, as
// depthwiseChannel does (taps over the padding add zero products).
constexpr int64_t kDepthwiseLanes = 16;

#if defined(__GNUC__)
typedef float Lanes __attribute__((vector_size(kDepthwiseLanes * sizeof(float))));
// Inlined into depthwiseLanes' per-ISA clones (a lambda would be compiled once, for the
// baseline). Writes through a pointer: a returned vector would change the ABI between clones.
__attribute__((always_inline)) inline void fmaLanes(Lanes* acc, const float* w, const float* x) {
  Lanes a, b;
  std::memcpy(&a, w, sizeof a);
  std::memcpy(&b, x, sizeof b);
  *acc += a * b;
}
#endif

// Channels [c0, c0 + lanes) of one image (lanes <= kDepthwiseLanes): x and y at channel c0,
// w at channel c0's taps, bias at c0's (or null). `tile` and `out` are the caller's scratch.
TNRT_SIM_CPU_CLONES
void depthwiseLanes(const float* x, const float* w, const float* bias, float* y, int64_t lanes, const Window3& g,
                    std::vector<float>& tile, std::vector<float>& out) {
  constexpr int64_t L = kDepthwiseLanes;
  const int64_t H = g.in[1], W = g.in[2], OH = g.out[1], OW = g.out[2], KH = g.kernel[1], KW = g.kernel[2];
  const int64_t sh = g.stride[1], sw = g.stride[2], dh = g.dilation[1], dw = g.dilation[2];
  const int64_t pt = g.padBegin[1], pl = g.padBegin[2];
  const int64_t Hp = (OH - 1) * sh + (KH - 1) * dh + 1, Wp = (OW - 1) * sw + (KW - 1) * dw + 1;
  const int64_t inVol = H * W, outVol = OH * OW, taps = KH * KW;
  // The tile, then the taps' weights and the bias, lane-interleaved (unused lanes zero).
  tile.assign(static_cast<size_t>((Hp * Wp + taps + 1) * L), 0.0f);
  float* t = tile.data();
  for (int64_t r = 0; r < Hp; ++r) {
    const int64_t ih = r - pt;
    if (ih < 0 || ih >= H) continue;
    const int64_t c0 = std::max<int64_t>(0, pl), c1 = std::min(Wp, pl + W);
    for (int64_t l = 0; l < lanes; ++l) {
      const float* src = x + l * inVol + ih * W - pl;
      float* dst = t + r * Wp * L + l;
      for (int64_t c = c0; c < c1; ++c) dst[c * L] = src[c];
    }
  }
  float* wt = t + Hp * Wp * L;
  for (int64_t l = 0; l < lanes; ++l) {
    for (int64_t k = 0; k < taps; ++k) wt[k * L + l] = w[l * taps + k];
    wt[taps * L + l] = bias ? bias[l] : 0.0f;
  }
  out.resize(static_cast<size_t>(outVol * L));
  float* o = out.data();
#if defined(__GNUC__)
  Lanes b;
  std::memcpy(&b, wt + taps * L, sizeof b);
  for (int64_t oh = 0; oh < OH; ++oh) {
    const float* rows = t + oh * sh * Wp * L;
    int64_t ow = 0;
    // Four positions at a time: four independent chains of multiply-adds.
    for (; ow + 4 <= OW; ow += 4) {
      Lanes a0 = b, a1 = b, a2 = b, a3 = b;
      for (int64_t kh = 0; kh < KH; ++kh) {
        const float* r = rows + kh * dh * Wp * L + ow * sw * L;
        for (int64_t kw = 0; kw < KW; ++kw) {
          const float* wv = wt + (kh * KW + kw) * L;
          const float* p = r + kw * dw * L;
          fmaLanes(&a0, wv, p);
          fmaLanes(&a1, wv, p + sw * L);
          fmaLanes(&a2, wv, p + 2 * sw * L);
          fmaLanes(&a3, wv, p + 3 * sw * L);
        }
      }
      float* d = o + (oh * OW + ow) * L;
      std::memcpy(d, &a0, sizeof a0);
      std::memcpy(d + L, &a1, sizeof a1);
      std::memcpy(d + 2 * L, &a2, sizeof a2);
      std::memcpy(d + 3 * L, &a3, sizeof a3);
    }
    for (; ow < OW; ++ow) {
      Lanes a = b;
      for (int64_t kh = 0; kh < KH; ++kh)
        for (int64_t kw = 0; kw < KW; ++kw) fmaLanes(&a, wt + (kh * KW + kw) * L, rows + (kh * dh * Wp + ow * sw + kw * dw) * L);
      std::memcpy(o + (oh * OW + ow) * L, &a, sizeof a);
    }
  }
#else
  for (int64_t oh = 0; oh < OH; ++oh) {
    for (int64_t ow = 0; ow < OW; ++ow) {
      float a[L];
      for (int64_t l = 0; l < L; ++l) a[l] = wt[taps * L + l];
      for (int64_t kh = 0; kh < KH; ++kh)
        for (int64_t kw = 0; kw < KW; ++kw) {
          const float* wv = wt + (kh * KW + kw) * L;
          const float* p = t + ((oh * sh + kh * dh) * Wp + ow * sw + kw * dw) * L;
          for (int64_t l = 0; l < L; ++l) a[l] += wv[l] * p[l];
        }
      std::memcpy(o + (oh * OW + ow) * L, a, sizeof a);
    }
  }
#endif
  // Back to one plane per channel.
  for (int64_t l = 0; l < lanes; ++l) {
    float* dst = y + l * outVol;
    for (int64_t i = 0; i < outVol; ++i) dst[i] = o[i * L + l];
  }
}

// TNRT_SIM_DEPTHWISE_LANES=0 keeps every depthwise layer on the per-channel kernels (for comparisons).
bool lanesOff() {
  static const bool off = [] {
    const char* v = std::getenv("TNRT_SIM_DEPTHWISE_LANES");
    return v && *v == '0';
  }();
  return off;
}

// Whether depthwiseLanes takes a layer: 2-D, non-negative pads, at least a block's worth of
// channels, and a map at most one column block wide or too small for depthwisePlane (past
// that its transposes cost more than the per-channel kernel's copy: even at 20 columns,
// behind at 28; 5.7x faster on 3x7 maps, 1.2x on 6x14).
bool depthwiseLanesFit(const Window3& g, int64_t channels) {
  return g.in[0] == 1 && g.kernel[0] == 1 && g.out[0] == 1 && g.padBegin[1] >= 0 && g.padBegin[2] >= 0 &&
         channels >= kDepthwiseLanes && (g.out[2] <= kDepthwiseCols || g.out[1] * g.out[2] < 32);
}

// ---- direct convolution (few output channels, unit width stride) ---------------------------

// With few output channels the implicit GEMM spends as long packing its im2col panels as
// multiplying (each packed value feeds only M multiply-adds). The direct kernel reads the
// zero-padded input in place instead: a tile of kDirectMB output channels x kDirectW output
// positions stays in registers while every (input channel, kh, kw) tap adds weight x a
// contiguous run of the padded input. It sums the taps in the same order for every thread
// count. The tile is kDirectPieces pieces of kDirectPiece positions, each one vector: 8 x 3
// accumulators leave registers for the 3 inputs and the broadcast weight, and every weight
// broadcast feeds 3 multiply-adds (with 2 pieces, openWakeWord's embedding ran about 3% slower).
constexpr int64_t kDirectMB = 8, kDirectPiece = 16, kDirectPieces = 3, kDirectW = kDirectPiece * kDirectPieces;
// How many input channels ahead directTileAvx512 prefetches (1, 2 and 4 measured on IS-Net's
// 128 -> 64 and 64 -> 64 layers: 1 best, 1.23-1.50x the speed without).
constexpr int64_t kDirectPrefetch = 1;

// acc[m][p * 16 + j] = bias[m] + sum over taps (c, kh, kw) of
// w[c][kh][kw][m] * base[p][c * chanStride + kh * rowStride + kw * colStride + j]: each piece p
// reads from its own base, so that a piece can start anywhere in the input.
// AVX-512 only (24 accumulator registers); elsewhere the GEMM path runs.
struct DirectTaps {
  int64_t C, chanStride, KH, rowStride, KW, colStride;
};

#if defined(__x86_64__)

__attribute__((target("avx512f"))) void directTileAvx512(const float* const* base, const DirectTaps& t, const float* w,
                                                         const float* bias, float* out) {
  __m512 acc[kDirectMB][kDirectPieces];
#pragma GCC unroll 8
  for (int m = 0; m < kDirectMB; ++m)
#pragma GCC unroll 4
    for (int p = 0; p < kDirectPieces; ++p) acc[m][p] = _mm512_setzero_ps();
  for (int64_t c = 0; c < t.C; ++c) {
    for (int64_t kh = 0; kh < t.KH; ++kh) {
      const int64_t offset = c * t.chanStride + kh * t.rowStride;
      const float* xr[kDirectPieces];
#pragma GCC unroll 4
      for (int p = 0; p < kDirectPieces; ++p) xr[p] = base[p] + offset;
      // The same rows kDirectPrefetch channels on, requested now: planes lie a whole map
      // apart, a stride no hardware prefetcher follows, and each read here would otherwise
      // wait on L3 (IS-Net's 512 x 512 maps ran at 40% of the FMA rate without this).
#pragma GCC unroll 4
      for (int p = 0; p < kDirectPieces; ++p) {
        const char* ahead = reinterpret_cast<const char*>(xr[p] + kDirectPrefetch * t.chanStride);
        _mm_prefetch(ahead, _MM_HINT_T0);
        _mm_prefetch(ahead + 64, _MM_HINT_T0);
      }
      for (int64_t kw = 0; kw < t.KW; ++kw) {
        __m512 x[kDirectPieces];
#pragma GCC unroll 4
        for (int p = 0; p < kDirectPieces; ++p) x[p] = _mm512_loadu_ps(xr[p] + kw * t.colStride);
#pragma GCC unroll 8
        for (int m = 0; m < kDirectMB; ++m) {
          const __m512 wm = _mm512_set1_ps(w[m]);
#pragma GCC unroll 4
          for (int p = 0; p < kDirectPieces; ++p) acc[m][p] = _mm512_fmadd_ps(wm, x[p], acc[m][p]);
        }
        w += kDirectMB;
      }
    }
  }
  // The bias after the taps, as the GEMM's epilogue adds it.
#pragma GCC unroll 8
  for (int m = 0; m < kDirectMB; ++m) {
    const __m512 b = _mm512_set1_ps(bias[m]);
#pragma GCC unroll 4
    for (int p = 0; p < kDirectPieces; ++p)
      _mm512_storeu_ps(out + m * kDirectW + p * kDirectPiece, _mm512_add_ps(acc[m][p], b));
  }
}

bool haveAvx512() {
  static const bool yes = [] {
    __builtin_cpu_init();
    const char* cap = std::getenv("TNRT_SIM_GEMM_KERNEL");  // the GEMM's cap applies here too
    return __builtin_cpu_supports("avx512f") && !(cap && (std::string(cap) == "generic" || std::string(cap) == "avx2"));
  }();
  return yes;
}
#endif

// TNRT_SIM_DIRECT_CONV=0 sends every convolution through the GEMM (for comparisons).
bool directOff() {
  static const bool off = [] {
    const char* v = std::getenv("TNRT_SIM_DIRECT_CONV");
    return v && *v == '0';
  }();
  return off;
}

// Whether the direct kernel serves this convolution: 2-D (or 1-D), unit width stride, one
// group, a window wider than one tap, at most kDirectMaxM output channels and at least 3 tap
// rows (input channels x kernel height). Measured on AVX-512 against the GEMM inside
// openWakeWord's embedding (batch 24, 1x3 and 3x1 kernels): 24 to 96 channels on maps of 74x32
// down to 8x2 and its 1-channel 3x3 stem all ran faster direct, as the GEMM's im2col packing
// of short rows cost more than its multiply-adds; 3x3 layers of 64 to 128 channels on 28x28 to
// 56x56 maps ran as fast or faster (64 -> 64 on 56x56: 2.3 ms direct, 2.9 ms GEMM).
constexpr int64_t kDirectMaxM = 128;

bool directConvFits(const Window3& g, int64_t group, int64_t C, int64_t M, int64_t kvol) {
  if (C * g.kernel[1] < 3) return false;
#if defined(__x86_64__)
  if (!haveAvx512()) return false;  // elsewhere the GEMM's vectorized kernels do better
#else
  return false;
#endif
  return group == 1 && M <= kDirectMaxM && kvol > 1 && g.in[0] == 1 && g.kernel[0] == 1 && g.out[0] == 1 &&
         g.stride[2] == 1;
}

// The weights as [block][c][kh][kw][kDirectMB] (zeros past M), and the bias as [block][kDirectMB]
// (zeros past M, or all zeros without one): what directTileAvx512 reads.
struct DirectWeights {
  const float* w;
  const float* bias;
};

void packDirectW(const float* w, int64_t M, int64_t K, std::vector<float>* packed) {
  const int64_t blocks = (M + kDirectMB - 1) / kDirectMB;
  packed->assign(static_cast<size_t>(blocks * K * kDirectMB), 0.0f);
  for (int64_t m = 0; m < M; ++m) {
    float* dst = packed->data() + (m / kDirectMB) * K * kDirectMB + m % kDirectMB;
    for (int64_t k = 0; k < K; ++k) dst[k * kDirectMB] = w[m * K + k];
  }
}

// Constant weights (`cache` set) are packed on the first call and kept: repacking them ran on
// the calling thread before every split layer. The bias is a few floats, packed each call.
DirectWeights packDirectWeights(const float* w, const void* source, const float* bias, int64_t M, int64_t K,
                                PackedWeights* cache) {
  thread_local std::vector<float> packedW, packedBias;
  const int64_t blocks = (M + kDirectMB - 1) / kDirectMB;
  const float* pw;
  if (cache) {
    if (cache->source != source || !cache->direct || cache->M != M || cache->K != K) {
      packDirectW(w, M, K, &cache->data);
      cache->source = source, cache->direct = true, cache->groups = 1, cache->M = M, cache->K = K;
    }
    pw = cache->data.data();
  } else {
    packDirectW(w, M, K, &packedW);
    pw = packedW.data();
  }
  packedBias.assign(static_cast<size_t>(blocks * kDirectMB), 0.0f);
  if (bias)
    for (int64_t m = 0; m < M; ++m) packedBias[static_cast<size_t>(m)] = bias[m];
  return {pw, packedBias.data()};
}

// Below this many multiply-adds an image's convolution stays on one thread (as a GEMM's does,
// gemm_core.cc): handing it out would cost a fair part of it.
constexpr int64_t kMinSplitImageMacs = int64_t{1} << 18;

// One image. The tile's pieces of 16 positions walk the output in one of two ways:
// - height stride 1: over the padded input's row-major positions. Output (oh, ow) reads the
//   padded input from position oh * Wp + ow on, so a piece of 16 consecutive positions reads 16
//   consecutive inputs for every tap, across row ends; the positions past OW in each row are
//   computed and dropped. Narrow maps (openWakeWord's 8x2) then fill the vectors.
// - else: 16 columns of one output row per piece, the rows Wp apart in the padded input.
void directConv(const float* x, const DirectWeights& pw, float* y, const Window3& g, int64_t C, int64_t M,
                KernelScratch& scratch) {
  const int64_t H = g.in[1], W = g.in[2], OH = g.out[1], OW = g.out[2];
  const int64_t KH = g.kernel[1], KW = g.kernel[2], sh = g.stride[1], dh = g.dilation[1], dw = g.dilation[2];
  const int64_t pt = g.padBegin[1], pl = g.padBegin[2];
  const bool flat = sh == 1;
  // Padded input: rows ih in [-pt, lastRow], columns iw in [-pl, -pl + Wp).
  const int64_t lastRow = std::max<int64_t>(H - 1, (OH - 1) * sh - pt + (KH - 1) * dh);
  const int64_t Hp = lastRow + pt + 1;
  const int64_t rowPieces = (OW + kDirectPiece - 1) / kDirectPiece;  // pieces per output row (row mode)
  const int64_t Wp = (flat ? OW : rowPieces * kDirectPiece) + (KW - 1) * dw;
  const int64_t plane = Hp * Wp;
  thread_local std::vector<float> padded;
  // Past the last plane: the reads of the last flat piece's dropped positions.
  const int64_t tail = kDirectW + (KW - 1) * dw;
  padded.resize(static_cast<size_t>(C * plane + tail));
  float* const xpad = padded.data();
  std::fill(xpad + C * plane, xpad + C * plane + tail, 0.0f);
  // The copy is a fair part of a small layer's time, so its planes split over the threads too.
  parallelRanges(scratch.pool, C, 2 * plane, [&](int64_t c0, int64_t c1) {
    std::fill(xpad + c0 * plane, xpad + c1 * plane, 0.0f);
    for (int64_t c = c0; c < c1; ++c)
      for (int64_t ih = 0; ih < H; ++ih) {
        float* dst = xpad + c * plane + (ih + pt) * Wp;
        const float* src = x + (c * H + ih) * W;
        // Columns of the input that land inside [0, Wp) of the padded row.
        const int64_t lo = std::max<int64_t>(0, -pl), hi = std::min<int64_t>(W, Wp - pl);
        for (int64_t iw = lo; iw < hi; ++iw) dst[iw + pl] = src[iw];
      }
  });
  const float* xp = xpad;
  const int64_t blocks = (M + kDirectMB - 1) / kDirectMB, K = C * KH * KW;
  const int64_t outVol = OH * OW;
  const int64_t pieces = flat ? (OH * Wp + kDirectPiece - 1) / kDirectPiece : OH * rowPieces;
  const DirectTaps taps{C, plane, KH, dh * Wp, KW, dw};
  // The work is (tile of consecutive pieces, channel block); the blocks of one tile run
  // together so that its input stays in L1. The last tile's missing pieces repeat its last
  // real one and are not stored.
  const int64_t tiles = (pieces + kDirectPieces - 1) / kDirectPieces;
  const auto runBlock = [&](int64_t p, int64_t b) {
    const FlushDenormals flush;
    alignas(64) float tile[kDirectMB * kDirectW];
    const int64_t m0 = b * kDirectMB, mb = std::min(kDirectMB, M - m0);
    const float* base[kDirectPieces];
    int64_t piece[kDirectPieces];
    for (int h = 0; h < kDirectPieces; ++h) {
      piece[h] = std::min(kDirectPieces * p + h, pieces - 1);
      base[h] = flat ? xp + piece[h] * kDirectPiece
                     : xp + (piece[h] / rowPieces) * sh * Wp + (piece[h] % rowPieces) * kDirectPiece;
    }
#if defined(__x86_64__)
    directTileAvx512(base, taps, pw.w + b * K * kDirectMB, pw.bias + m0, tile);
#else
    (void)taps, (void)base;  // directConvFits sends nothing here
#endif
    // Fused layers on the whole tile in one call (a call per output row and half cost more
    // than the tile's multiply-adds), then the valid positions go out.
    if (scratch.postCount) applyPostOps(scratch.post, scratch.postCount, tile, kDirectW, mb, kDirectW, m0);
    for (int h = 0; h < kDirectPieces && kDirectPieces * p + h < pieces; ++h) {
      // Runs of the piece's positions that land in one output row: (tile column, output offset, length).
      int64_t runs[kDirectPiece][3];
      int64_t count = 0;
      if (flat) {
        const int64_t first = piece[h] * kDirectPiece, last = std::min(first + kDirectPiece, OH * Wp);
        int64_t oh = first / Wp, ow = first % Wp;
        for (int64_t at = first; at < last;) {
          const int64_t len = std::min(Wp - ow, last - at);
          if (ow < OW) {
            runs[count][0] = h * kDirectPiece + at - first;
            runs[count][1] = oh * OW + ow;
            runs[count++][2] = std::min(len, OW - ow);
          }
          at += len, ++oh, ow = 0;
        }
      } else {
        const int64_t oh = piece[h] / rowPieces, ow0 = (piece[h] % rowPieces) * kDirectPiece;
        runs[0][0] = h * kDirectPiece, runs[0][1] = oh * OW + ow0, runs[0][2] = std::min(kDirectPiece, OW - ow0);
        count = 1;
      }
      for (int64_t m = 0; m < mb; ++m) {
        float* dst = y + (m0 + m) * outVol;
        const float* src = tile + m * kDirectW;
        for (int64_t r = 0; r < count; ++r)
          for (int64_t j = 0; j < runs[r][2]; ++j) dst[runs[r][1] + j] = src[runs[r][0] + j];
      }
    }
  };
  // On several threads a task is a tile with all its blocks, so that the tile's input stays
  // in the cache of the core that runs it (tasks of one block each sent consecutive blocks of
  // a tile to different cores, which then both read all of it); a map with too few tiles to
  // keep the threads busy hands out single blocks.
  const int threads = scratch.pool ? scratch.pool->threads() : 1;
  const bool wholeTiles = tiles >= 4 * threads;
  const int64_t tasks = wholeTiles ? tiles : blocks * tiles;
  const auto run = [&](int64_t task) {
    if (!wholeTiles) return runBlock(task / blocks, task % blocks);
    for (int64_t b = 0; b < blocks; ++b) runBlock(task, b);
  };
  if (threads > 1 && M * K * outVol >= kMinSplitImageMacs) {
    scratch.pool->forEach(tasks, run);
  } else {
    for (int64_t t = 0; t < tasks; ++t) run(t);
  }
}

// Depthwise units (channels, or blocks of them) are independent: `run(lo, hi)` over a few
// contiguous runs of the `units`, split over the threads when the layer's `work` (multiply-adds)
// is worth it.
template <typename Run>
void depthwiseRuns(ThreadPool* pool, int64_t units, int64_t work, const Run& run) {
  const int threads = pool ? pool->threads() : 1;
  const int64_t chunks = work >= (int64_t{1} << 16) ? balancedRanges(units, 4 * threads, threads) : 1;
  if (chunks <= 1) return run(0, units);
  pool->forEach(chunks, [&](int64_t t) { run(units * t / chunks, units * (t + 1) / chunks); });
}

template <typename T>
void convTyped(const Node& node, const std::vector<ValueRef>& in, const OutputRef& out, KernelScratch& scratch) {
  const Dims& xs = *in[0].shape;
  const Dims& ws = *in[1].shape;
  const Dims& ys = *out.shape;
  if (volume(ys) == 0) return;
  const size_t spatial = xs.size() - 2;
  Window win = readWindow(node, spatial, ws.data() + 2, false);
  for (size_t d = 0; d < spatial; ++d) forwardExtent(node, win, d, xs[2 + d]);  // resolves SAME pads
  const Window3 g = toWindow3(win, xs.data() + 2, ys.data() + 2);
  const FloatOperands f = stageOperands<T>(in, out, scratch);

  const int64_t group = node.attrInt("group", 1);
  const int64_t N = xs[0], C = xs[1], M = ys[1], Cg = C / group, Mg = M / group;
  const int64_t inVol = g.in[0] * g.in[1] * g.in[2], outVol = g.out[0] * g.out[1] * g.out[2];
  const int64_t kvol = g.kernel[0] * g.kernel[1] * g.kernel[2];
  // A 1x1 window with unit strides and no padding reads the input itself as the column matrix.
  bool pointwise = kvol == 1;
  for (int i = 0; i < 3; ++i) pointwise = pointwise && g.stride[i] == 1 && g.padBegin[i] == 0 && g.padEnd[i] == 0;

  if (Cg == 1 && group > 1 && M == C && depthwiseLanesFit(g, C) && !lanesOff()) {
    const int64_t perImage = (C + kDepthwiseLanes - 1) / kDepthwiseLanes, blocks = N * perImage;
    const auto runBlocks = [&](int64_t lo, int64_t hi) {
      const FlushDenormals flush;
      thread_local std::vector<float> tile, out;
      for (int64_t k = lo; k < hi; ++k) {
        const int64_t n = k / perImage, c0 = (k % perImage) * kDepthwiseLanes, lanes = std::min(kDepthwiseLanes, C - c0);
        float* y = f.y + (n * C + c0) * outVol;
        depthwiseLanes(f.x + (n * C + c0) * inVol, f.w + c0 * kvol, f.b ? f.b + c0 : nullptr, y, lanes, g, tile, out);
        if (scratch.postCount) applyPostOps(scratch.post, scratch.postCount, y, outVol, lanes, outVol, c0);
      }
    };
    depthwiseRuns(scratch.pool, blocks, N * C * outVol * kvol, runBlocks);
    finishOutput<T>(f, out);
    return;
  }
  if (Cg == 1 && group > 1) {
    const int64_t channels = N * M;
    const auto runChannels = [&](int64_t lo, int64_t hi) {
      const FlushDenormals flush;
      for (int64_t c = lo; c < hi; ++c) {
        const int64_t n = c / M, m = c % M;
        depthwise(f.x + (n * C + m / Mg) * inVol, f.w + m * kvol, f.b ? f.b[m] : 0.0f, f.y + c * outVol, g);
        if (scratch.postCount) applyPostOps(scratch.post, scratch.postCount, f.y + c * outVol, outVol, 1, outVol, m);
      }
    };
    depthwiseRuns(scratch.pool, channels, channels * outVol * kvol, runChannels);
    finishOutput<T>(f, out);
    return;
  }
  // A batch of two or more images per thread splits over its images: whole images per
  // thread and one hand-off per layer, where the batch-24 embedding's images are each too
  // small to split well (one hand-off each). So does a smaller batch of images too small to
  // split at all (the direction classifier's pair). An image inside such a range computes
  // inline, the same way as on one thread. Else each image's own work splits.
  const int64_t imageWork = M * Cg * kvol * outVol;
  const int threads = scratch.pool ? scratch.pool->threads() : 1;
  ThreadPool* imagePool = N >= 2 * threads || imageWork < kMinSplitImageMacs ? scratch.pool : nullptr;
  // float16 too: its operands are float32 copies by now (IS-Net's float16 layers).
  if (directConvFits(g, group, C, M, kvol) && !directOff()) {
    const DirectWeights pw = packDirectWeights(f.w, in[1].data, f.b, M, C * kvol, scratch.packedWeights);
    parallelRanges(imagePool, N, imageWork, [&](int64_t lo, int64_t hi) {
      for (int64_t n = lo; n < hi; ++n) directConv(f.x + n * C * inVol, pw, f.y + n * M * outVol, g, C, M, scratch);
    });
    finishOutput<T>(f, out);
    return;
  }
  const int64_t K = Cg * kvol;
  const float* packedW = nullptr;
  if (scratch.packedWeights) {
    // Constant weights: packed for the GEMM on the first call, read as they are after. Keyed
    // by the weights' own bytes: float16 weights are widened into scratch that every layer
    // reuses.
    PackedWeights& p = *scratch.packedWeights;
    if (p.source != in[1].data || p.direct || p.groups != group || p.M != Mg || p.K != K) {
      const size_t size = packedASize(Mg, K);
      p.data.resize(size * static_cast<size_t>(group));
      for (int64_t grp = 0; grp < group; ++grp) packWholeA(f.w + grp * Mg * K, K, Mg, K, p.data.data() + grp * size);
      p.source = in[1].data, p.direct = false, p.groups = group, p.M = Mg, p.K = K;
    }
    packedW = p.data.data();
  }
  // Split over the images as above, each product then runs whole on its thread (ranges of
  // it would repack the weights each); else the products split.
  ThreadPool* gemmPool = parallelChunks(imagePool, N, imageWork) > 1 ? nullptr : scratch.pool;
  parallelRanges(imagePool, N, imageWork, [&](int64_t lo, int64_t hi) {
    for (int64_t n = lo; n < hi; ++n) {
      for (int64_t grp = 0; grp < group; ++grp) {
        const float* x = f.x + (n * C + grp * Cg) * inVol;
        GemmArgs a;
        a.M = Mg, a.N = outVol, a.K = K;
        a.A = f.w + grp * Mg * a.K, a.lda = a.K;
        if (packedW) a.packedA = packedW + static_cast<size_t>(grp) * packedASize(Mg, K);
        a.C = f.y + (n * M + grp * Mg) * outVol, a.ldc = outVol;
        a.rowBias = f.b ? f.b + grp * Mg : nullptr;
        Im2col ctx{x, g, inVol, kvol};
        if (pointwise) {
          a.B = x, a.ldb = inVol;
        } else {
          a.packB = packIm2col, a.packCtx = &ctx;
        }
        a.pool = gemmPool;
        a.post = scratch.post, a.postCount = scratch.postCount, a.postChannel0 = grp * Mg;
        sgemm(a);
      }
    }
  });
  finishOutput<T>(f, out);
}

void runConv(const Node& node, const std::vector<ValueRef>& in, const std::vector<OutputRef>& out,
             KernelScratch& scratch) {
  dispatchFloat(node, in[0].dtype, [&](auto tag) { convTyped<typename decltype(tag)::type>(node, in, out[0], scratch); });
}

// ---- ConvTranspose ------------------------------------------------------------------------

// Adds col[(m*kvol + f), i] into y[m] at the output position input i and kernel offset f hit.
void col2im(const float* col, const Window3& g, int64_t Mg, float* y) {
  const FlushDenormals flush;
  const int64_t kvol = g.kernel[0] * g.kernel[1] * g.kernel[2];
  const int64_t inVol = g.in[0] * g.in[1] * g.in[2], outVol = g.out[0] * g.out[1] * g.out[2];
  const int64_t W = g.in[2], OW = g.out[2], sw = g.stride[2];
  for (int64_t m = 0; m < Mg; ++m) {
    float* ym = y + m * outVol;
    for (int64_t f = 0; f < kvol; ++f) {
      const int64_t fw = f % g.kernel[2], fh = (f / g.kernel[2]) % g.kernel[1], fd = f / (g.kernel[2] * g.kernel[1]);
      const float* cf = col + (m * kvol + f) * inVol;
      const int64_t owBase = fw * g.dilation[2] - g.padBegin[2];
      // Inputs iw in [lo, hi) land inside the output row.
      int64_t lo = owBase >= 0 ? 0 : (-owBase + sw - 1) / sw;
      int64_t hi = owBase >= OW ? 0 : std::min(W, (OW - 1 - owBase) / sw + 1);
      if (hi <= lo) continue;
      for (int64_t id = 0; id < g.in[0]; ++id) {
        const int64_t od = id * g.stride[0] - g.padBegin[0] + fd * g.dilation[0];
        if (od < 0 || od >= g.out[0]) continue;
        for (int64_t ih = 0; ih < g.in[1]; ++ih) {
          const int64_t oh = ih * g.stride[1] - g.padBegin[1] + fh * g.dilation[1];
          if (oh < 0 || oh >= g.out[1]) continue;
          const float* src = cf + (id * g.in[1] + ih) * W;
          float* dst = ym + (od * g.out[1] + oh) * OW;
          for (int64_t iw = lo; iw < hi; ++iw) dst[iw * sw + owBase] += src[iw];
        }
      }
    }
  }
}

// ConvTranspose's column buffer: (M / group) x kernel volume x input spatial volume floats,
// the scratch the builder holds to the workspace limit. UINT64_MAX when it overflows.
uint64_t convTransposeColumnBytes(int64_t group, const Dims& xs, const Dims& ws, const Dims& ys) {
  if (group < 1 || ys.size() < 2 || xs.size() != ys.size() || ws.size() != xs.size()) return 0;
  int64_t n = ys[1] / group;
  for (size_t d = 2; d < xs.size(); ++d)
    if (!checkedMul(n, ws[d], &n) || !checkedMul(n, xs[d], &n)) return UINT64_MAX;
  uint64_t bytes;
  if (n < 0 || !checkedMul(static_cast<uint64_t>(n), uint64_t{sizeof(float)}, &bytes)) return UINT64_MAX;
  return bytes;
}

uint64_t scratchConvTranspose(const Node& node, const std::vector<ValueRef>& in, const std::vector<OutputDesc>& out) {
  if (in.size() < 2 || !in[0].shape || !in[1].shape) return 0;
  for (int64_t d : *in[0].shape)
    if (d < 0) return 0;  // unknown until run time; checked again at the profile's max shapes
  for (int64_t d : *in[1].shape)
    if (d < 0) return 0;
  return convTransposeColumnBytes(node.attrInt("group", 1), *in[0].shape, *in[1].shape, out[0].shape);
}

template <typename T>
void convTransposeTyped(const Node& node, const std::vector<ValueRef>& in, const OutputRef& out,
                        KernelScratch& scratch) {
  const Dims& xs = *in[0].shape;
  const Dims& ws = *in[1].shape;
  const Dims& ys = *out.shape;
  if (volume(ys) == 0) return;
  const TransposeGeometry t = transposeGeometry(node, xs, ws);
  // The forward geometry with input and output swapped: output position = input*stride - pad + f*dilation.
  const Window3 g = toWindow3(t.win, xs.data() + 2, ys.data() + 2);
  const FloatOperands f = stageOperands<T>(in, out, scratch);

  const int64_t group = node.attrInt("group", 1);
  const int64_t N = xs[0], C = xs[1], M = ys[1], Cg = C / group, Mg = M / group;
  const int64_t inVol = g.in[0] * g.in[1] * g.in[2], outVol = g.out[0] * g.out[1] * g.out[2];
  const int64_t kvol = g.kernel[0] * g.kernel[1] * g.kernel[2];
  // Held to the workspace / maxTensorBytes limit at build time for the profile's max shapes.
  const uint64_t colBytes = convTransposeColumnBytes(group, xs, ws, ys);
  if (colBytes == UINT64_MAX) throwShape(node, "the column buffer size overflows; fix the model");
  float* col = KernelScratch::as<float>(scratch.c, static_cast<size_t>(Mg * kvol * inVol));
  for (int64_t n = 0; n < N; ++n) {
    for (int64_t grp = 0; grp < group; ++grp) {
      float* y = f.y + (n * M + grp * Mg) * outVol;
      // Output channels [lo, hi) start at their bias; col2im then adds into them.
      const auto fillBias = [&](int64_t lo, int64_t hi) {
        for (int64_t m = lo; m < hi; ++m) std::fill(y + m * outVol, y + (m + 1) * outVol, f.b ? f.b[grp * Mg + m] : 0.0f);
      };
      if (Cg == 0 || inVol == 0) {
        fillBias(0, Mg);
        continue;
      }
      GemmArgs a;
      a.M = Mg * kvol, a.N = inVol, a.K = Cg;
      a.A = f.w + grp * Cg * Mg * kvol, a.lda = Mg * kvol, a.transA = true;
      a.B = f.x + (n * C + grp * Cg) * inVol, a.ldb = inVol;
      a.C = col, a.ldc = inVol;
      a.pool = scratch.pool;
      sgemm(a);
      // Output channels scatter into disjoint planes, so they split over the threads.
      const int threads = scratch.pool ? scratch.pool->threads() : 1;
      const int64_t chunks = Mg * kvol * inVol >= (int64_t{1} << 16) ? balancedRanges(Mg, 2 * threads, threads) : 1;
      // Each chunk fills its own channels too (a serial pass over the whole output before).
      if (chunks <= 1) {
        fillBias(0, Mg);
        col2im(col, g, Mg, y);
      } else {
        scratch.pool->forEach(chunks, [&](int64_t t) {
          const int64_t lo = Mg * t / chunks, hi = Mg * (t + 1) / chunks;
          fillBias(lo, hi);
          col2im(col + lo * kvol * inVol, g, hi - lo, y + lo * outVol);
        });
      }
    }
  }
  finishOutput<T>(f, out);
}

void runConvTranspose(const Node& node, const std::vector<ValueRef>& in, const std::vector<OutputRef>& out,
                      KernelScratch& scratch) {
  dispatchFloat(node, in[0].dtype,
                [&](auto tag) { convTransposeTyped<typename decltype(tag)::type>(node, in, out[0], scratch); });
}

}  // namespace

void registerConvOps(OpRegistry& registry) {
  // Conv and ConvTranspose keep their semantics from opset 1 on (opset 11 only relaxed
  // kernel_shape inference and documented the SAME padding split).
  registry.add({"Conv", 1, kMaxReviewedOpset, inferConv, runConv, false, 1, 1, {{1, 2, 3}}});
  registry.add({"ConvTranspose", 1, kMaxReviewedOpset, inferConvTranspose, runConvTranspose, false, 1, 1, {{1, 2, 3}},
                scratchConvTranspose});
}

}  // namespace sim
}  // namespace tnrt
