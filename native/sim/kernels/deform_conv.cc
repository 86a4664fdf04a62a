// DeformConv (opset 19): a 2-D convolution whose every kernel tap reads the input at its
// regular position plus a learned (dy, dx) offset, by bilinear interpolation (0 outside the
// image), optionally scaled by a mask. 2-D only, as TensorRT's deformable convolution.
//
// Inputs: X [N, C, H, W], W [M, C/group, kH, kW], offset [N, G*2*kH*kW, oH, oW] (per offset
// group G, per tap: dy then dx), optional B [M] and mask [N, G*kH*kW, oH, oW]. Taps are summed
// in double; float16 rounds once at the output.
#include <cmath>

#include "kernel_util.h"
#include "window_geometry.h"

namespace tnrt {
namespace sim {

namespace {

void requireDims(const Node& node, const ValueRef& v, const Dims& want, const char* what) {
  bool ok = v.shape->size() == want.size();
  for (size_t d = 0; ok && d < want.size(); ++d) ok = (*v.shape)[d] < 0 || want[d] < 0 || (*v.shape)[d] == want[d];
  if (!ok) throwShape(node, std::string(what) + " has shape " + dimsToString(*v.shape) + " but must be " + dimsToString(want));
}

void inferDeformConv(const Node& node, const std::vector<ValueRef>& in, std::vector<OutputDesc>* out) {
  requireInputs(node, in, 3, 5);
  requireFloat(node, in[0], "X");
  for (size_t k = 1; k < in.size(); ++k)
    if (in[k].present() && in[k].dtype != in[0].dtype) throwDType(node, "every input must have X's element type");
  const Dims& x = *in[0].shape;
  const Dims& w = *in[1].shape;
  if (x.size() != 4) throwUnsupported(node, "X must be 4-D [N, C, H, W] but is " + dimsToString(x) + " (2-D only, as TensorRT)");
  if (w.size() != 4) throwShape(node, "W must be 4-D [M, C/group, kH, kW] but is " + dimsToString(w));
  if (w[2] < 0 || w[3] < 0) throwUnsupported(node, "W's kernel dims must be known at build time");
  const int64_t group = node.attrInt("group", 1), offsetGroup = node.attrInt("offset_group", 1);
  if (group < 1 || offsetGroup < 1) throwShape(node, "group and offset_group must be positive");
  Window win = readWindow(node, 2, w.data() + 2, false);
  if (x[1] >= 0 && (x[1] % group != 0 || x[1] % offsetGroup != 0))
    throwShape(node, "input channels " + std::to_string(x[1]) + " must be divisible by group and offset_group");
  if (x[1] >= 0 && w[1] >= 0 && w[1] != x[1] / group)
    throwShape(node, "W's dim 1 is " + std::to_string(w[1]) + " but must be C / group = " + std::to_string(x[1] / group));
  if (w[0] >= 0 && w[0] % group != 0) throwShape(node, "output channels must be divisible by group");
  Dims y{x[0], w[0], forwardExtent(node, win, 0, x[2]), forwardExtent(node, win, 1, x[3])};
  const int64_t taps = win.kernel[0] * win.kernel[1];
  if (offsetGroup > (int64_t{1} << 30) || taps > (int64_t{1} << 30)) throwShape(node, "offset_group or kernel too large");
  requireDims(node, in[2], {x[0], offsetGroup * 2 * taps, y[2], y[3]}, "offset");
  if (in.size() > 3 && in[3].present()) requireDims(node, in[3], {w[0]}, "B");
  if (in.size() > 4 && in[4].present()) requireDims(node, in[4], {x[0], offsetGroup * taps, y[2], y[3]}, "mask");
  (*out)[0].dtype = in[0].dtype;
  (*out)[0].shape = std::move(y);
}

template <typename T>
void deformConvTyped(const Node& node, const std::vector<ValueRef>& in, const OutputRef& out) {
  using E = Elem<T>;
  using S = typename E::Storage;
  const Dims& x = *in[0].shape;
  const Dims& w = *in[1].shape;
  const Dims& y = *out.shape;
  Window win = readWindow(node, 2, w.data() + 2, false);
  forwardExtent(node, win, 0, x[2]);
  forwardExtent(node, win, 1, x[3]);
  const int64_t N = x[0], C = x[1], H = x[2], W = x[3], M = w[0], OH = y[2], OW = y[3];
  const int64_t KH = win.kernel[0], KW = win.kernel[1], taps = KH * KW;
  const int64_t group = node.attrInt("group", 1), offsetGroup = node.attrInt("offset_group", 1);
  const int64_t cPerGroup = C / group, mPerGroup = M / group, cPerOffset = C / offsetGroup;
  const bool hasBias = in.size() > 3 && in[3].present(), hasMask = in.size() > 4 && in[4].present();
  const auto* px = static_cast<const S*>(in[0].data);
  const auto* pw = static_cast<const S*>(in[1].data);
  const auto* po = static_cast<const S*>(in[2].data);
  const S* pb = hasBias ? static_cast<const S*>(in[3].data) : nullptr;
  const S* pm = hasMask ? static_cast<const S*>(in[4].data) : nullptr;
  auto* py = static_cast<S*>(out.data);
  // Bilinear sample of channel plane `plane` at (h, w); corners outside the image read 0.
  auto sample = [&](const S* plane, float h, float wv) -> float {
    if (!(h > -1.0f && h < static_cast<float>(H) && wv > -1.0f && wv < static_cast<float>(W))) return 0.0f;
    const float fh = std::floor(h), fw = std::floor(wv);
    const auto h0 = static_cast<int64_t>(fh), w0 = static_cast<int64_t>(fw);
    const float lh = h - fh, lw = wv - fw;
    auto at = [&](int64_t r, int64_t c) {
      return r >= 0 && r < H && c >= 0 && c < W ? E::load(plane, static_cast<size_t>(r * W + c)) : 0.0f;
    };
    return (1 - lh) * ((1 - lw) * at(h0, w0) + lw * at(h0, w0 + 1)) + lh * ((1 - lw) * at(h0 + 1, w0) + lw * at(h0 + 1, w0 + 1));
  };
  for (int64_t n = 0; n < N; ++n)
    for (int64_t m = 0; m < M; ++m) {
      const int64_t g = m / mPerGroup;
      for (int64_t oh = 0; oh < OH; ++oh)
        for (int64_t ow = 0; ow < OW; ++ow) {
          double acc = hasBias ? E::load(pb, static_cast<size_t>(m)) : 0.0;
          for (int64_t ci = 0; ci < cPerGroup; ++ci) {
            const int64_t c = g * cPerGroup + ci;
            const int64_t og = c / cPerOffset;
            const S* plane = px + (n * C + c) * H * W;
            for (int64_t kh = 0; kh < KH; ++kh)
              for (int64_t kw = 0; kw < KW; ++kw) {
                const int64_t tap = kh * KW + kw;
                const size_t offAt = static_cast<size_t>((((n * offsetGroup + og) * taps + tap) * 2 * OH + oh) * OW + ow);
                const float dy = E::load(po, offAt);
                const float dx = E::load(po, offAt + static_cast<size_t>(OH * OW));
                const float h = static_cast<float>(oh * win.stride[0] - win.padBegin[0] + kh * win.dilation[0]) + dy;
                const float wv = static_cast<float>(ow * win.stride[1] - win.padBegin[1] + kw * win.dilation[1]) + dx;
                float v = sample(plane, h, wv);
                if (hasMask) v *= E::load(pm, static_cast<size_t>((((n * offsetGroup + og) * taps + tap) * OH + oh) * OW + ow));
                acc += static_cast<double>(E::load(pw, static_cast<size_t>(((m * cPerGroup + ci) * KH + kh) * KW + kw))) * v;
              }
          }
          E::store(py, static_cast<size_t>(((n * M + m) * OH + oh) * OW + ow), static_cast<float>(acc));
        }
    }
}

void runDeformConv(const Node& node, const std::vector<ValueRef>& in, const std::vector<OutputRef>& out, KernelScratch&) {
  dispatchFloat(node, in[0].dtype, [&](auto tag) { deformConvTyped<typename decltype(tag)::type>(node, in, out[0]); });
}

}  // namespace

void registerDeformConvOps(OpRegistry& registry) {
  registry.add({"DeformConv", 19, kMaxReviewedOpset, inferDeformConv, runDeformConv, false, 1, 1, {{19, 3, 5}}});
}

}  // namespace sim
}  // namespace tnrt
