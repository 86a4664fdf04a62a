// Resize (opset 10+) and the deprecated Upsample (7-9): nearest, linear and cubic
// interpolation over any number of dims, with the coordinate transformations TensorRT's resize
// layer has (half_pixel, pytorch_half_pixel, align_corners, asymmetric, tf_half_pixel_for_nn).
// Linear and cubic are separable, so they run as one 1-D pass per resized dim in float32;
// nearest is an index gather that moves bytes and so serves every element type.
#include <algorithm>
#include <cmath>
#include <cstring>

#include "../checked_math.h"
#include "movement_util.h"
#include "../thread_pool.h"

namespace tnrt {
namespace sim {

namespace {

enum class Mode { kNearest, kLinear, kCubic };
enum class Coord { kHalfPixel, kPytorchHalfPixel, kAlignCorners, kAsymmetric, kTfHalfPixelForNN };
enum class Rounding { kRoundPreferFloor, kRoundPreferCeil, kFloor, kCeil };

struct ResizePlan {
  Mode mode = Mode::kNearest;
  Coord coord = Coord::kAsymmetric;
  Rounding rounding = Rounding::kFloor;
  float cubicA = -0.75f;
  bool excludeOutside = false;
  std::vector<double> scales;  // per dim: output / input as the operator defines it
  Dims out;
};

std::string stringAttr(const Node& node, const char* name, const char* fallback) {
  const Attribute* a = node.attr(name);
  return a ? a->s : fallback;
}

// Attributes only: mode and coordinate rules. Throws kUnsupported for what TensorRT lacks.
void resizeModes(const Node& node, ResizePlan* p) {
  const bool upsample = node.opType == "Upsample";
  const std::string mode = stringAttr(node, "mode", "nearest");
  if (mode == "nearest") p->mode = Mode::kNearest;
  else if (mode == "linear" || (upsample && mode == "bilinear")) p->mode = Mode::kLinear;
  else if (mode == "cubic" && !upsample && node.opset >= 11) p->mode = Mode::kCubic;
  else throwUnsupported(node, "mode '" + mode + "' is not supported");
  if (upsample || node.opset < 11) return;  // Upsample and Resize-10: asymmetric, floor
  const std::string coord = stringAttr(node, "coordinate_transformation_mode", "half_pixel");
  if (coord == "half_pixel") p->coord = Coord::kHalfPixel;
  else if (coord == "pytorch_half_pixel") p->coord = Coord::kPytorchHalfPixel;
  else if (coord == "align_corners") p->coord = Coord::kAlignCorners;
  else if (coord == "asymmetric") p->coord = Coord::kAsymmetric;
  else if (coord == "tf_half_pixel_for_nn") p->coord = Coord::kTfHalfPixelForNN;
  else
    throwUnsupported(node, "coordinate_transformation_mode '" + coord +
                               "' is not supported (TensorRT's resize layer has no such transformation)");
  const std::string nearest = stringAttr(node, "nearest_mode", "round_prefer_floor");
  if (nearest == "round_prefer_floor") p->rounding = Rounding::kRoundPreferFloor;
  else if (nearest == "round_prefer_ceil") p->rounding = Rounding::kRoundPreferCeil;
  else if (nearest == "floor") p->rounding = Rounding::kFloor;
  else if (nearest == "ceil") p->rounding = Rounding::kCeil;
  else throwUnsupported(node, "nearest_mode '" + nearest + "' is not supported");
  p->cubicA = node.attrFloat("cubic_coeff_a", -0.75f);
  p->excludeOutside = node.attrInt("exclude_outside", 0) != 0;
  if (node.attrInt("antialias", 0) != 0)
    throwUnsupported(node, "antialias=1 is not supported (TensorRT's resize layer does not antialias)");
}

// Reads a float scales tensor (float32 or float16).
bool readScales(const Node& node, const ValueRef& v, std::vector<double>* out) {
  if (v.dtype != DataType::kFloat32 && v.dtype != DataType::kFloat16)
    throwDType(node, std::string("scales must be float32 but are ") + dataTypeName(v.dtype));
  if (v.shape->size() != 1) throwShape(node, "scales must be 1-D but are " + dimsToString(*v.shape));
  if (!v.data) return false;
  const int64_t n = (*v.shape)[0];
  out->resize(static_cast<size_t>(n));
  for (int64_t i = 0; i < n; ++i)
    (*out)[static_cast<size_t>(i)] = v.dtype == DataType::kFloat32 ? static_cast<const float*>(v.data)[i]
                                                                   : halfToFloat(static_cast<const uint16_t*>(v.data)[i]);
  return true;
}

// Fills p->scales and p->out; false while scales or sizes are run-time values.
bool resizeShape(const Node& node, const std::vector<ValueRef>& in, ResizePlan* p) {
  const Dims& d = *in[0].shape;
  const size_t rank = d.size();
  std::vector<double> scales;
  std::vector<int64_t> sizes;
  const bool upsample = node.opType == "Upsample";
  if (upsample && node.opset < 9) {
    const Attribute* a = node.attr("scales");
    if (!a || a->type != AttrType::kFloats) throwShape(node, "needs a scales attribute");
    scales.assign(a->floats.begin(), a->floats.end());
  } else if (upsample || node.opset < 11) {
    if (!readScales(node, in[1], &scales)) return false;
  } else {
    // 11+: X, roi, scales, sizes; exactly one of scales and sizes is non-empty.
    const bool hasScales = in.size() > 2 && in[2].present() && volume(*in[2].shape) != 0;
    const bool hasSizes = in.size() > 3 && in[3].present() && volume(*in[3].shape) != 0;
    if (hasScales == hasSizes) throwShape(node, "needs exactly one of scales and sizes");
    if (hasScales && !readScales(node, in[2], &scales)) return false;
    if (hasSizes && !readIndexInput(node, in[3], "sizes", &sizes)) return false;
  }
  std::vector<int64_t> axes;
  if (node.opset >= 18 && !upsample) readIntsAttr(node, "axes", &axes);
  if (axes.empty())
    for (size_t i = 0; i < rank; ++i) axes.push_back(static_cast<int64_t>(i));
  for (auto& a : axes) a = normalizeAxis(node, a, rank);
  const size_t given = scales.empty() ? sizes.size() : scales.size();
  if (given != axes.size())
    throwShape(node, std::string(scales.empty() ? "sizes" : "scales") + " has " + std::to_string(given) +
                         " entries for " + std::to_string(axes.size()) + " axes");
  p->scales.assign(rank, 1.0);
  p->out = d;
  if (!scales.empty()) {
    for (size_t i = 0; i < axes.size(); ++i) {
      const auto a = static_cast<size_t>(axes[i]);
      if (!(scales[i] > 0) || !std::isfinite(scales[i]))
        throwShape(node, "scales must be positive and finite but entry " + std::to_string(i) + " is " +
                             std::to_string(scales[i]));
      p->scales[a] = scales[i];
      p->out[a] = -1;
      // A float beyond int64 cast to int64 is undefined behaviour, not a big number.
      if (d[a] >= 0 && !checkedDimFromDouble(std::floor(static_cast<double>(d[a]) * scales[i]), &p->out[a]))
        throwShape(node, "scale " + std::to_string(scales[i]) + " on axis " + std::to_string(a) + " (size " +
                             std::to_string(d[a]) + ") gives an output size that overflows; fix the scales");
    }
    return true;
  }
  const std::string policy = node.opset >= 18 ? stringAttr(node, "keep_aspect_ratio_policy", "stretch") : "stretch";
  if (policy != "stretch" && policy != "not_larger" && policy != "not_smaller")
    throwUnsupported(node, "keep_aspect_ratio_policy '" + policy + "' is not supported");
  double common = policy == "not_larger" ? 1e300 : 0.0;
  for (size_t i = 0; i < axes.size(); ++i) {
    const auto a = static_cast<size_t>(axes[i]);
    if (sizes[i] < 0) throwShape(node, "sizes must not be negative");
    if (d[a] < 0) return false;
    const double s = static_cast<double>(sizes[i]) / static_cast<double>(d[a]);
    common = policy == "not_larger" ? std::min(common, s) : std::max(common, s);
    p->scales[a] = s;
    p->out[a] = sizes[i];
  }
  if (policy != "stretch")
    for (int64_t a : axes) {
      // One scale for all axes keeps the aspect ratio; sizes round half up.
      p->scales[static_cast<size_t>(a)] = common;
      if (!checkedDimFromDouble(std::floor(common * static_cast<double>(d[a]) + 0.5), &p->out[static_cast<size_t>(a)]))
        throwShape(node, "sizes give an output size that overflows on axis " + std::to_string(a) + "; fix the sizes");
    }
  return true;
}

void inferResize(const Node& node, const std::vector<ValueRef>& in, std::vector<OutputDesc>* out) {
  const bool upsample = node.opType == "Upsample";
  if (upsample) requireInputs(node, in, node.opset < 9 ? 1 : 2, node.opset < 9 ? 1 : 2);
  else if (node.opset < 11) requireInputs(node, in, 2, 2);
  else requireInputs(node, in, 1, 4);
  requireWholeBytes(node, in[0].dtype);
  requireMaxRank(node, *in[0].shape);
  ResizePlan p;
  resizeModes(node, &p);
  if (p.mode != Mode::kNearest) requireFloat(node, in[0], "the input of linear and cubic resize");
  (*out)[0].dtype = in[0].dtype;
  if (!resizeShape(node, in, &p)) {
    (*out)[0].shape.assign(in[0].shape->size(), -1);
    return;
  }
  (*out)[0].shape = p.out;
}

// The input coordinate that output index x maps to. ONNX measures the resized length as
// scale * input length, unrounded, so align_corners downsampling by a scale that does not land
// on whole pixels stretches by (in - 1) / (in * scale - 1).
double sourceCoord(Coord c, int64_t x, double scale, int64_t inLen) {
  const auto xd = static_cast<double>(x);
  const double outLen = scale * static_cast<double>(inLen);
  switch (c) {
    case Coord::kHalfPixel: return (xd + 0.5) / scale - 0.5;
    case Coord::kPytorchHalfPixel: return outLen > 1 ? (xd + 0.5) / scale - 0.5 : 0.0;
    case Coord::kAlignCorners: return outLen == 1 ? 0.0 : xd * static_cast<double>(inLen - 1) / (outLen - 1);
    case Coord::kAsymmetric: return xd / scale;
    case Coord::kTfHalfPixelForNN: return (xd + 0.5) / scale;
  }
  return 0.0;
}

int64_t nearestIndex(Rounding r, double x, int64_t inLen) {
  double i = 0;
  switch (r) {
    case Rounding::kRoundPreferFloor: i = std::ceil(x - 0.5); break;
    case Rounding::kRoundPreferCeil: i = std::floor(x + 0.5); break;
    case Rounding::kFloor: i = std::floor(x); break;
    case Rounding::kCeil: i = std::ceil(x); break;
  }
  return std::clamp<int64_t>(static_cast<int64_t>(i), 0, inLen - 1);
}

// Up to four (index, weight) taps per output index along one dim.
struct Taps {
  int64_t index[4];
  float weight[4];
  int count;
};

Taps interpolationTaps(const ResizePlan& p, double x, int64_t inLen) {
  Taps t{};
  const double f = std::floor(x);
  const double r = x - f;
  const auto base = static_cast<int64_t>(f);
  if (p.mode == Mode::kLinear) {
    t.count = 2;
    t.index[0] = base;
    t.index[1] = base + 1;
    t.weight[0] = static_cast<float>(1.0 - r);
    t.weight[1] = static_cast<float>(r);
  } else {
    // Keys' cubic convolution with coefficient A over taps base-1 .. base+2.
    const double a = p.cubicA;
    auto near = [a](double s) { return ((a + 2) * s - (a + 3)) * s * s + 1; };          // |s| <= 1
    auto far = [a](double s) { return ((a * s - 5 * a) * s + 8 * a) * s - 4 * a; };      // 1 < |s| < 2
    const double w[4] = {far(r + 1), near(r), near(1 - r), far(2 - r)};
    t.count = 4;
    double sum = 0;
    for (int k = 0; k < 4; ++k) {
      t.index[k] = base - 1 + k;
      const bool outside = t.index[k] < 0 || t.index[k] >= inLen;
      t.weight[k] = p.excludeOutside && outside ? 0.0f : static_cast<float>(w[k]);
      sum += p.excludeOutside && outside ? 0.0 : w[k];
    }
    if (p.excludeOutside && sum != 0)
      for (float& wk : t.weight) wk = static_cast<float>(wk / sum);
  }
  // Taps outside the input repeat the edge element.
  for (int k = 0; k < t.count; ++k) t.index[k] = std::clamp<int64_t>(t.index[k], 0, inLen - 1);
  return t;
}

template <typename U>
void nearestGather(const ResizePlan& p, const ValueRef& x, const OutputRef& y, std::vector<uint8_t>& mapBuffer,
                   ThreadPool* pool) {
  const Dims& d = *x.shape;
  const Dims& od = *y.shape;
  const size_t rank = od.size();
  const int64_t n = volume(od);
  if (n <= 0) return;
  const U* src = static_cast<const U*>(x.data);
  U* dst = static_cast<U*>(y.data);
  if (rank == 0) {
    dst[0] = src[0];
    return;
  }
  int64_t strides[kMaxRank];
  denseStrides(d, strides);
  // map[k][o]: the input element offset contribution of output index o along dim k.
  size_t total = 0;
  for (size_t k = 0; k < rank; ++k) total += static_cast<size_t>(od[k]);
  int64_t* flat = KernelScratch::as<int64_t>(mapBuffer, total);
  int64_t* map[kMaxRank];
  for (size_t k = 0, at = 0; k < rank; at += static_cast<size_t>(od[k]), ++k) map[k] = flat + at;
  for (size_t k = 0; k < rank; ++k) {
    for (int64_t o = 0; o < od[k]; ++o) {
      const int64_t i = d[k] == od[k] && p.scales[k] == 1.0
                            ? o
                            : nearestIndex(p.rounding, sourceCoord(p.coord, o, p.scales[k], d[k]), d[k]);
      map[k][static_cast<size_t>(o)] = i * strides[k];
    }
  }
  const int64_t inner = od[rank - 1];
  const int64_t* innerMap = map[rank - 1];
  // Output rows (runs along the last dim) are independent: ranges of them on the context's
  // threads, each starting from its first row's multi-index.
  parallelRanges(pool, n / inner, 2 * inner, [&](int64_t r0, int64_t r1) {
    int64_t idx[kMaxRank] = {};
    for (int64_t k = static_cast<int64_t>(rank) - 2, r = r0; k >= 0; --k) {
      idx[k] = r % od[static_cast<size_t>(k)];
      r /= od[static_cast<size_t>(k)];
    }
    for (int64_t o = r0 * inner; o < r1 * inner; o += inner) {
      int64_t off = 0;
      for (size_t k = 0; k + 1 < rank; ++k) off += map[k][static_cast<size_t>(idx[k])];
      for (int64_t j = 0; j < inner; ++j) dst[o + j] = src[off + innerMap[j]];
      for (size_t k = rank - 1; k-- > 0;) {
        if (++idx[k] < od[k]) break;
        idx[k] = 0;
      }
    }
  });
}

// One 1-D interpolation pass along dim k: [outer, inLen, inner] -> [outer, outLen, inner].
// Output rows (b, o) are independent: ranges of them run on the context's threads.
void interpolatePass(const ResizePlan& p, const float* src, float* dst, int64_t outer, int64_t inLen, int64_t outLen,
                     int64_t inner, size_t k, ThreadPool* pool) {
  std::vector<Taps> taps(static_cast<size_t>(outLen));
  int mostTaps = 1;
  for (int64_t o = 0; o < outLen; ++o) {
    taps[static_cast<size_t>(o)] = interpolationTaps(p, sourceCoord(p.coord, o, p.scales[k], inLen), inLen);
    mostTaps = std::max(mostTaps, taps[static_cast<size_t>(o)].count);
  }
  if (inner == 1) {
    // The last dim (an image's width): one value per output row, so the general loop's per-row
    // index arithmetic would cost more than the taps. The same sum in the same order.
    parallelRanges(pool, outer, 2 * mostTaps * outLen, [&](int64_t b0, int64_t b1) {
      for (int64_t b = b0; b < b1; ++b) {
        const float* s = src + b * inLen;
        float* t = dst + b * outLen;
        for (int64_t o = 0; o < outLen; ++o) {
          const Taps& tp = taps[static_cast<size_t>(o)];
          float v = 0.0f;
          for (int c = 0; c < tp.count; ++c)
            if (tp.weight[c] != 0.0f) v += tp.weight[c] * s[tp.index[c]];
          t[o] = v;
        }
      }
    });
    return;
  }
  parallelRanges(pool, outer * outLen, 2 * mostTaps * inner, [&](int64_t r0, int64_t r1) {
    for (int64_t r = r0; r < r1; ++r) {
      const int64_t b = r / outLen, o = r % outLen;
      const float* s = src + b * inLen * inner;
      float* t = dst + b * outLen * inner;
      const Taps& tp = taps[static_cast<size_t>(o)];
      float* row = t + o * inner;
      for (int64_t j = 0; j < inner; ++j) row[j] = 0.0f;
      for (int c = 0; c < tp.count; ++c) {
        const float w = tp.weight[c];
        if (w == 0.0f) continue;
        const float* in = s + tp.index[c] * inner;
        for (int64_t j = 0; j < inner; ++j) row[j] += w * in[j];
      }
    }
  });
}

void runResize(const Node& node, const std::vector<ValueRef>& in, const std::vector<OutputRef>& out,
               KernelScratch& scratch) {
  ResizePlan p;
  resizeModes(node, &p);
  resizeShape(node, in, &p);
  if (volume(*out[0].shape) <= 0) return;
  if (p.mode == Mode::kNearest) {
    dispatchBytes(node, in[0].dtype, [&](auto tag) {
      nearestGather<typename decltype(tag)::type>(p, in[0], out[0], scratch.a, scratch.pool);
    });
    return;
  }
  dispatchFloat(node, in[0].dtype, [&](auto tag) {
    using E = Elem<typename decltype(tag)::type>;
    const Dims& d = *in[0].shape;
    Dims cur = d;
    // The largest intermediate: every prefix of resized dims at its output size.
    int64_t cap = volume(d);
    {
      Dims grow = d;
      for (size_t k = 0; k < d.size(); ++k) {
        grow[k] = p.out[k];
        cap = std::max(cap, volume(grow));
      }
    }
    float* a = KernelScratch::as<float>(scratch.a, static_cast<size_t>(cap));
    float* b = KernelScratch::as<float>(scratch.b, static_cast<size_t>(cap));
    const auto* src = static_cast<const typename E::Storage*>(in[0].data);
    const int64_t n0 = volume(d);
    parallelRanges(scratch.pool, n0, 1, [&](int64_t lo, int64_t hi) {
      if constexpr (std::is_same_v<E, Elem<Fp16>>) return widenHalves(src + lo, hi - lo, a + lo);
      for (int64_t i = lo; i < hi; ++i) a[i] = E::load(src, static_cast<size_t>(i));
    });
    for (size_t k = 0; k < d.size(); ++k) {
      if (cur[k] == p.out[k] && p.scales[k] == 1.0) continue;  // untouched dim: identity
      interpolatePass(p, a, b, rangeVolume(cur, 0, k), cur[k], p.out[k], rangeVolume(cur, k + 1, cur.size()), k,
                      scratch.pool);
      cur[k] = p.out[k];
      std::swap(a, b);
    }
    auto* dst = static_cast<typename E::Storage*>(out[0].data);
    const int64_t n = volume(cur);
    parallelRanges(scratch.pool, n, 1, [&](int64_t lo, int64_t hi) {
      if constexpr (std::is_same_v<E, Elem<Fp16>>) return narrowToHalves(a + lo, hi - lo, dst + lo);
      for (int64_t i = lo; i < hi; ++i) E::store(dst, static_cast<size_t>(i), a[i]);
    });
  });
}

}  // namespace

void registerResizeOps(OpRegistry& registry) {
  // Resize 10 takes X and scales; 11-12 need roi and scales with optional sizes; from 13 all but X
  // are optional. Upsample took scales as an attribute until opset 9 made it an input.
  registry.add({"Resize", 10, kMaxReviewedOpset, inferResize, runResize, false, 1, 1, {{10, 2, 2}, {11, 3, 4}, {13, 1, 4}}});
  // Upsample was deprecated in opset 10 in favor of Resize.
  registry.add({"Upsample", 7, 9, inferResize, runResize, false, 1, 1, {{7, 1, 1}, {9, 2, 2}}});
}

}  // namespace sim
}  // namespace tnrt
