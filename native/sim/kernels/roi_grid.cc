// Sampling operators that read an image at computed, fractional positions: RoiAlign and
// GridSample. Both interpolate in float32 (float16 inputs round once at the output) and follow
// onnxruntime's arithmetic, the reference TensorRT's implementations are tested against.
#include <algorithm>
#include <cmath>
#include <string>

#include "kernel_util.h"

namespace tnrt {
namespace sim {

namespace {

// ---- RoiAlign ----
// Inputs X [N, C, H, W], rois [R, 4] (x1, y1, x2, y2 in input coordinates times
// 1 / spatial_scale), batch_indices int64 [R]. Each output bin averages (or takes the max of)
// sampling_ratio^2 bilinear samples (adaptive: ceil(roi extent / bins) when 0). Opset 16's
// default coordinate_transformation_mode half_pixel shifts by half a pixel; opset 10's
// behavior is output_half_pixel, which also makes every roi at least 1 x 1.

bool roiHalfPixel(const Node& node) {
  const Attribute* a = node.attr("coordinate_transformation_mode");
  const std::string mode = a ? a->s : (node.opset >= 16 ? "half_pixel" : "output_half_pixel");
  if (mode == "half_pixel") return true;
  if (mode == "output_half_pixel") return false;
  throwShape(node, "coordinate_transformation_mode '" + mode + "' is not half_pixel or output_half_pixel");
}

bool roiMax(const Node& node) {
  const Attribute* a = node.attr("mode");
  const std::string mode = a ? a->s : "avg";
  if (mode == "avg") return false;
  if (mode == "max") return true;
  throwShape(node, "mode '" + mode + "' is not avg or max");
}

void inferRoiAlign(const Node& node, const std::vector<ValueRef>& in, std::vector<OutputDesc>* out) {
  requireInputs(node, in, 3, 3);
  requireFloat(node, in[0], "X");
  if (in[1].dtype != in[0].dtype) throwDType(node, "rois must have X's element type");
  if (in[2].dtype != DataType::kInt64) throwDType(node, "batch_indices must be int64");
  roiHalfPixel(node);
  roiMax(node);
  const Dims& x = *in[0].shape;
  const Dims& rois = *in[1].shape;
  const Dims& idx = *in[2].shape;
  if (x.size() != 4) throwShape(node, "X must be 4-D [N, C, H, W] but is " + dimsToString(x));
  if (rois.size() != 2 || (rois[1] >= 0 && rois[1] != 4))
    throwShape(node, "rois must be [num_rois, 4] but is " + dimsToString(rois));
  if (idx.size() != 1 || (idx[0] >= 0 && rois[0] >= 0 && idx[0] != rois[0]))
    throwShape(node, "batch_indices must be [num_rois] (" + std::to_string(rois[0]) + ") but is " + dimsToString(idx));
  const int64_t oh = node.attrInt("output_height", 1), ow = node.attrInt("output_width", 1);
  if (oh <= 0 || ow <= 0 || oh > (int64_t{1} << 31) || ow > (int64_t{1} << 31))
    throwShape(node, "output_height and output_width must be positive");
  if (node.attrInt("sampling_ratio", 0) < 0) throwShape(node, "sampling_ratio must not be negative");
  (*out)[0].dtype = in[0].dtype;
  (*out)[0].shape = {rois[0] >= 0 ? rois[0] : idx[0], x[1], oh, ow};
}

template <typename T>
void roiAlignTyped(const Node& node, const std::vector<ValueRef>& in, const OutputRef& out) {
  using E = Elem<T>;
  const Dims& x = *in[0].shape;
  const int64_t n = x[0], c = x[1], height = x[2], width = x[3];
  const int64_t numRois = (*in[1].shape)[0];
  const int64_t oh = node.attrInt("output_height", 1), ow = node.attrInt("output_width", 1);
  const int64_t ratio = node.attrInt("sampling_ratio", 0);
  const float scale = node.attrFloat("spatial_scale", 1.0f);
  const bool halfPixel = roiHalfPixel(node), isMax = roiMax(node);
  const auto* px = static_cast<const typename E::Storage*>(in[0].data);
  const auto* pr = static_cast<const typename E::Storage*>(in[1].data);
  const auto* pb = static_cast<const int64_t*>(in[2].data);
  auto* py = static_cast<typename E::Storage*>(out.data);
  const float offset = halfPixel ? 0.5f : 0.0f;
  for (int64_t r = 0; r < numRois; ++r) {
    const int64_t b = pb[r];
    if (b < 0 || b >= n)
      throwShape(node, "batch_indices[" + std::to_string(r) + "] is " + std::to_string(b) + ", outside the batch of " +
                           std::to_string(n));
    const float x1 = E::load(pr, static_cast<size_t>(4 * r)) * scale - offset;
    const float y1 = E::load(pr, static_cast<size_t>(4 * r + 1)) * scale - offset;
    const float x2 = E::load(pr, static_cast<size_t>(4 * r + 2)) * scale - offset;
    const float y2 = E::load(pr, static_cast<size_t>(4 * r + 3)) * scale - offset;
    float roiW = x2 - x1, roiH = y2 - y1;
    if (!halfPixel) {
      roiW = std::max(roiW, 1.0f);
      roiH = std::max(roiH, 1.0f);
    }
    const float binH = roiH / static_cast<float>(oh), binW = roiW / static_cast<float>(ow);
    // The adaptive grid is bounded by the roi's extent in pixels: a huge roi is refused
    // rather than sampled billions of times.
    const double gh = ratio > 0 ? static_cast<double>(ratio) : std::ceil(static_cast<double>(roiH) / static_cast<double>(oh));
    const double gw = ratio > 0 ? static_cast<double>(ratio) : std::ceil(static_cast<double>(roiW) / static_cast<double>(ow));
    if (!(gh * gw <= 1e7))
      throwShape(node, "roi " + std::to_string(r) + " needs more than 10^7 samples per bin; its coordinates are out of range");
    const auto gridH = static_cast<int64_t>(std::max(gh, 0.0)), gridW = static_cast<int64_t>(std::max(gw, 0.0));
    const float count = static_cast<float>(std::max<int64_t>(gridH * gridW, 1));
    for (int64_t ch = 0; ch < c; ++ch) {
      const auto* plane = px + (b * c + ch) * height * width;
      auto at = [&](int64_t yy, int64_t xx) { return E::load(plane, static_cast<size_t>(yy * width + xx)); };
      for (int64_t ph = 0; ph < oh; ++ph)
        for (int64_t pw = 0; pw < ow; ++pw) {
          float acc = 0.0f;
          bool first = true;
          for (int64_t iy = 0; iy < gridH; ++iy) {
            float y = y1 + static_cast<float>(ph) * binH + (static_cast<float>(iy) + 0.5f) * binH / static_cast<float>(gridH);
            for (int64_t ix = 0; ix < gridW; ++ix) {
              float xx = x1 + static_cast<float>(pw) * binW + (static_cast<float>(ix) + 0.5f) * binW / static_cast<float>(gridW);
              float v = 0.0f;
              // Samples more than a pixel outside the image contribute 0.
              if (!(y < -1.0f || y > static_cast<float>(height) || xx < -1.0f || xx > static_cast<float>(width))) {
                float sy = std::max(y, 0.0f), sx = std::max(xx, 0.0f);
                auto yl = static_cast<int64_t>(sy), xl = static_cast<int64_t>(sx);
                int64_t yh, xh;
                if (yl >= height - 1) {
                  yh = yl = height - 1;
                  sy = static_cast<float>(yl);
                } else {
                  yh = yl + 1;
                }
                if (xl >= width - 1) {
                  xh = xl = width - 1;
                  sx = static_cast<float>(xl);
                } else {
                  xh = xl + 1;
                }
                const float ly = sy - static_cast<float>(yl), lx = sx - static_cast<float>(xl);
                const float hy = 1.0f - ly, hx = 1.0f - lx;
                const float w1 = hy * hx * at(yl, xl), w2 = hy * lx * at(yl, xh), w3 = ly * hx * at(yh, xl),
                            w4 = ly * lx * at(yh, xh);
                // max mode takes the largest weighted corner, as onnxruntime does.
                v = isMax ? std::max(std::max(w1, w2), std::max(w3, w4)) : w1 + w2 + w3 + w4;
              }
              if (isMax) acc = first ? v : std::max(acc, v);
              else acc += v;
              first = false;
            }
          }
          E::store(py, static_cast<size_t>(((r * c + ch) * oh + ph) * ow + pw), isMax ? acc : acc / count);
        }
    }
  }
}

void runRoiAlign(const Node& node, const std::vector<ValueRef>& in, const std::vector<OutputRef>& out, KernelScratch&) {
  dispatchFloat(node, in[0].dtype, [&](auto tag) { roiAlignTyped<typename decltype(tag)::type>(node, in, out[0]); });
}


// ---- GridSample ----
// X [N, C, H, W] sampled at grid [N, Ho, Wo, 2] (x, y normalized to [-1, 1]) into
// [N, C, Ho, Wo]. Modes bilinear, nearest (round half to even) and bicubic (A = -0.75),
// opset 20's names linear and cubic too; padding zeros, border or reflection; align_corners.
// 4-D only, as TensorRT's grid sample layer (opset 20's N-D form is refused).

enum class GridMode { kLinear, kNearest, kCubic };
enum class GridPad { kZeros, kBorder, kReflection };

struct GridOptions {
  GridMode mode = GridMode::kLinear;
  GridPad pad = GridPad::kZeros;
  bool alignCorners = false;
};

GridOptions gridOptions(const Node& node) {
  GridOptions o;
  const Attribute* m = node.attr("mode");
  const std::string mode = m ? m->s : (node.opset >= 20 ? "linear" : "bilinear");
  if (mode == "bilinear" || mode == "linear") o.mode = GridMode::kLinear;
  else if (mode == "nearest") o.mode = GridMode::kNearest;
  else if (mode == "bicubic" || mode == "cubic") o.mode = GridMode::kCubic;
  else throwShape(node, "mode '" + mode + "' is not bilinear, nearest or bicubic");
  const Attribute* p = node.attr("padding_mode");
  const std::string pad = p ? p->s : "zeros";
  if (pad == "zeros") o.pad = GridPad::kZeros;
  else if (pad == "border") o.pad = GridPad::kBorder;
  else if (pad == "reflection") o.pad = GridPad::kReflection;
  else throwShape(node, "padding_mode '" + pad + "' is not zeros, border or reflection");
  o.alignCorners = node.attrInt("align_corners", 0) != 0;
  return o;
}

void inferGridSample(const Node& node, const std::vector<ValueRef>& in, std::vector<OutputDesc>* out) {
  requireInputs(node, in, 2, 2);
  requireFloat(node, in[0], "X");
  if (in[1].dtype != in[0].dtype) throwDType(node, "grid must have X's element type");
  gridOptions(node);
  const Dims& x = *in[0].shape;
  const Dims& g = *in[1].shape;
  if (x.size() != 4)
    throwUnsupported(node, "X must be 4-D [N, C, H, W] but is " + dimsToString(x) + "; TensorRT's GridSample is 2-D only");
  if (g.size() != 4 || (g[3] >= 0 && g[3] != 2) || (g[0] >= 0 && x[0] >= 0 && g[0] != x[0]))
    throwShape(node, "grid must be [N, H_out, W_out, 2] with X's N but is " + dimsToString(g));
  (*out)[0].dtype = in[0].dtype;
  (*out)[0].shape = {x[0] >= 0 ? x[0] : g[0], x[1], g[1], g[2]};
}

// Folds a coordinate into [lo, hi] by reflecting at the bounds as often as needed.
float reflectInto(float v, float lo, float hi) {
  const float range = hi - lo;
  if (range <= 0) return lo;
  if (v < lo) {
    const float d = lo - v;
    const auto k = static_cast<int64_t>(d / range);
    const float r = d - static_cast<float>(k) * range;
    return k % 2 == 0 ? lo + r : hi - r;
  }
  if (v > hi) {
    const float d = v - hi;
    const auto k = static_cast<int64_t>(d / range);
    const float r = d - static_cast<float>(k) * range;
    return k % 2 == 0 ? hi - r : lo + r;
  }
  return v;
}

void cubicCoeffs(float t, float* c) {
  constexpr float A = -0.75f;
  const float x = std::fabs(t);
  c[0] = ((A * (x + 1) - 5 * A) * (x + 1) + 8 * A) * (x + 1) - 4 * A;
  c[1] = ((A + 2) * x - (A + 3)) * x * x + 1;
  c[2] = ((A + 2) * (1 - x) - (A + 3)) * (1 - x) * (1 - x) + 1;
  c[3] = ((A * (2 - x) - 5 * A) * (2 - x) + 8 * A) * (2 - x) - 4 * A;
}

template <typename T>
void gridSampleTyped(const Node& node, const std::vector<ValueRef>& in, const OutputRef& out) {
  using E = Elem<T>;
  const GridOptions o = gridOptions(node);
  const Dims& x = *in[0].shape;
  const Dims& g = *in[1].shape;
  const int64_t n = x[0], c = x[1], h = x[2], w = x[3], ho = g[1], wo = g[2];
  const auto* px = static_cast<const typename E::Storage*>(in[0].data);
  const auto* pg = static_cast<const typename E::Storage*>(in[1].data);
  auto* py = static_cast<typename E::Storage*>(out.data);
  // The sampling bounds: pixel centers with align_corners, else pixel edges.
  const float xMin = o.alignCorners ? 0.0f : -0.5f, yMin = xMin;
  const float xMax = o.alignCorners ? static_cast<float>(w - 1) : static_cast<float>(w) - 0.5f;
  const float yMax = o.alignCorners ? static_cast<float>(h - 1) : static_cast<float>(h) - 0.5f;
  for (int64_t b = 0; b < n; ++b)
    for (int64_t ch = 0; ch < c; ++ch) {
      const auto* plane = px + (b * c + ch) * h * w;
      // A pixel at integer (r, col), with the padding mode applied to positions outside.
      auto pixel = [&](int64_t r, int64_t col) -> float {
        if (o.pad == GridPad::kBorder) {
          r = std::clamp<int64_t>(r, 0, h - 1);
          col = std::clamp<int64_t>(col, 0, w - 1);
        } else if (o.pad == GridPad::kReflection) {
          col = static_cast<int64_t>(reflectInto(static_cast<float>(col), xMin, xMax));
          r = static_cast<int64_t>(reflectInto(static_cast<float>(r), yMin, yMax));
        }
        if (r < 0 || r >= h || col < 0 || col >= w) return 0.0f;
        return E::load(plane, static_cast<size_t>(r * w + col));
      };
      for (int64_t i = 0; i < ho; ++i)
        for (int64_t j = 0; j < wo; ++j) {
          const size_t gi = static_cast<size_t>(((b * ho + i) * wo + j) * 2);
          const float nx = E::load(pg, gi), ny = E::load(pg, gi + 1);
          float sx = o.alignCorners ? (nx + 1) / 2 * static_cast<float>(w - 1) : ((nx + 1) * static_cast<float>(w) - 1) / 2;
          float sy = o.alignCorners ? (ny + 1) / 2 * static_cast<float>(h - 1) : ((ny + 1) * static_cast<float>(h) - 1) / 2;
          if (o.mode == GridMode::kNearest) {
            sx = std::nearbyint(sx);
            sy = std::nearbyint(sy);
          }
          // Bicubic pads each of its 16 taps instead (pixel() above), as PyTorch, whose
          // grid_sample ONNX's follows, and onnxruntime do.
          if (o.mode != GridMode::kCubic && (sx < xMin || sx > xMax || sy < yMin || sy > yMax)) {
            if (o.pad == GridPad::kBorder) {
              sx = std::clamp(sx, 0.0f, static_cast<float>(w - 1));
              sy = std::clamp(sy, 0.0f, static_cast<float>(h - 1));
            } else if (o.pad == GridPad::kReflection) {
              sx = reflectInto(sx, xMin, xMax);
              sy = reflectInto(sy, yMin, yMax);
            }
          }
          float v = 0.0f;
          // NaN or huge grid values sample nothing (0) rather than index far outside.
          if (!(std::fabs(sx) < 1e9f && std::fabs(sy) < 1e9f)) {
            v = 0.0f;
          } else if (o.mode == GridMode::kNearest) {
            v = pixel(static_cast<int64_t>(sy), static_cast<int64_t>(sx));
          } else if (o.mode == GridMode::kLinear) {
            const float fx = std::floor(sx), fy = std::floor(sy);
            const auto x1 = static_cast<int64_t>(fx), y1 = static_cast<int64_t>(fy);
            const float dx1 = sx - fx, dx2 = 1 - dx1, dy1 = sy - fy, dy2 = 1 - dy1;
            v = dy2 * (dx2 * pixel(y1, x1) + dx1 * pixel(y1, x1 + 1)) + dy1 * (dx2 * pixel(y1 + 1, x1) + dx1 * pixel(y1 + 1, x1 + 1));
          } else {
            const float fx = std::floor(sx), fy = std::floor(sy);
            const auto x0 = static_cast<int64_t>(fx) - 1, y0 = static_cast<int64_t>(fy) - 1;
            float cx[4], cy[4];
            cubicCoeffs(sx - fx, cx);
            cubicCoeffs(sy - fy, cy);
            for (int64_t r = 0; r < 4; ++r) {
              float row = 0.0f;
              for (int64_t k = 0; k < 4; ++k) row += cx[k] * pixel(y0 + r, x0 + k);
              v += cy[r] * row;
            }
          }
          E::store(py, static_cast<size_t>(((b * c + ch) * ho + i) * wo + j), v);
        }
    }
}

void runGridSample(const Node& node, const std::vector<ValueRef>& in, const std::vector<OutputRef>& out, KernelScratch&) {
  dispatchFloat(node, in[0].dtype, [&](auto tag) { gridSampleTyped<typename decltype(tag)::type>(node, in, out[0]); });
}

}  // namespace

void registerRoiGridOps(OpRegistry& registry) {
  registry.add({"RoiAlign", 10, kMaxReviewedOpset, inferRoiAlign, runRoiAlign, false, 1, 1, {{10, 3, 3}}});
  registry.add({"GridSample", 16, kMaxReviewedOpset, inferGridSample, runGridSample, false, 1, 1, {{16, 2, 2}}});
}

}  // namespace sim
}  // namespace tnrt
