#include "window_geometry.h"

#include <algorithm>

#include "../checked_math.h"

namespace tnrt {
namespace sim {

std::vector<int64_t> attrInts(const Node& node, const char* name) {
  const Attribute* a = node.attr(name);
  if (!a) return {};
  if (a->type != AttrType::kInts) throwShape(node, std::string("attribute '") + name + "' must be a list of ints");
  return a->ints;
}

namespace {

// Kernel sizes, strides and dilations come from the file; the sim caps them at 2^31 - 1, far
// above any real window, so that the kernels' index products (output position x stride,
// kernel offset x dilation) stay inside int64 without a check per element. Pads are not
// capped: forwardExtent adds them with overflow checks, and an output they make too large is
// refused by the maxTensorBytes rule.
constexpr int64_t kMaxWindowValue = INT32_MAX;

void checkCap(const Node& node, const char* name, int64_t v) {
  if (v > kMaxWindowValue)
    throwShape(node, std::string("attribute '") + name + "' value " + std::to_string(v) + " exceeds " +
                         std::to_string(kMaxWindowValue) + ", the largest window value the sim supports; fix the model");
}

void readList(const Node& node, const char* name, size_t count, int64_t* dst, int64_t minValue) {
  const std::vector<int64_t> v = attrInts(node, name);
  if (v.empty()) return;
  if (v.size() != count)
    throwShape(node, std::string("attribute '") + name + "' has " + std::to_string(v.size()) + " values; expected " +
                         std::to_string(count));
  for (size_t i = 0; i < count; ++i) {
    if (v[i] < minValue)
      throwUnsupported(node, std::string("attribute '") + name + "' value " + std::to_string(v[i]) +
                                 " is not supported (must be >= " + std::to_string(minValue) + ")");
    checkCap(node, name, v[i]);
    dst[i] = v[i];
  }
}

}  // namespace

Window readWindow(const Node& node, size_t spatial, const int64_t* kernelDims, bool allowCeilMode) {
  if (spatial < 1 || spatial > kMaxSpatial)
    throwUnsupported(node, "only 1-D, 2-D and 3-D windows are supported, not " + std::to_string(spatial) + "-D");
  Window w;
  w.spatial = spatial;
  const std::vector<int64_t> ks = attrInts(node, "kernel_shape");
  if (ks.empty() && !kernelDims) throwShape(node, "attribute 'kernel_shape' is required");
  for (size_t i = 0; i < spatial; ++i) w.kernel[i] = kernelDims ? kernelDims[i] : -1;
  if (!ks.empty()) {
    if (ks.size() != spatial)
      throwShape(node, "kernel_shape has " + std::to_string(ks.size()) + " values for " + std::to_string(spatial) +
                           " spatial dims");
    for (size_t i = 0; i < spatial; ++i) {
      if (ks[i] < 1) throwShape(node, "kernel_shape values must be positive");
      checkCap(node, "kernel_shape", ks[i]);
      if (kernelDims && kernelDims[i] >= 0 && kernelDims[i] != ks[i])
        throwShape(node, "kernel_shape disagrees with the weight's spatial dims");
      w.kernel[i] = ks[i];
    }
  }
  readList(node, "strides", spatial, w.stride, 1);
  readList(node, "dilations", spatial, w.dilation, 1);
  const std::vector<int64_t> pads = attrInts(node, "pads");
  if (!pads.empty()) {
    if (pads.size() != 2 * spatial)
      throwShape(node, "pads has " + std::to_string(pads.size()) + " values; expected " + std::to_string(2 * spatial));
    for (size_t i = 0; i < 2 * spatial; ++i)
      if (pads[i] < 0) throwUnsupported(node, "negative pads are not supported");
    for (size_t i = 0; i < spatial; ++i) {
      w.padBegin[i] = pads[i];
      w.padEnd[i] = pads[i + spatial];
    }
  }
  if (const Attribute* a = node.attr("auto_pad")) {
    if (a->s == "SAME_UPPER") w.autoPad = AutoPad::kSameUpper;
    else if (a->s == "SAME_LOWER") w.autoPad = AutoPad::kSameLower;
    else if (a->s == "VALID") w.autoPad = AutoPad::kValid;
    else if (a->s != "NOTSET" && !a->s.empty()) throwUnsupported(node, "auto_pad '" + a->s + "' is not supported");
    if (w.autoPad != AutoPad::kNotSet)
      for (size_t i = 0; i < spatial; ++i) w.padBegin[i] = w.padEnd[i] = 0;
  }
  const int64_t ceil = node.attrInt("ceil_mode", 0);
  if (ceil != 0 && ceil != 1) throwUnsupported(node, "ceil_mode must be 0 or 1");
  if (ceil && !allowCeilMode) throwUnsupported(node, "ceil_mode is not an attribute of this operator");
  w.ceilMode = ceil == 1;
  // The weight's dims can exceed the cap too (an engine or a model whose weight shape is forged).
  for (size_t i = 0; i < spatial; ++i)
    if (w.kernel[i] >= 0) checkCap(node, "kernel size", w.kernel[i]);
  return w;
}

int64_t forwardExtent(const Node& node, Window& w, size_t d, int64_t in) {
  if (in < 0 || w.kernel[d] < 0) return -1;
  // Kernel, stride and dilation are capped (readWindow); pads and `in` (a dim an earlier layer
  // may have computed from file data) are not, and a wrapped extent would size a buffer too
  // small, so every sum and product is checked.
  const auto overflow = [&]() -> int64_t {
    throwShape(node, "the output size of spatial dim " + std::to_string(d) + " overflows (input " + std::to_string(in) +
                         ", kernel " + std::to_string(w.kernel[d]) + ", pads " + std::to_string(w.padBegin[d]) + "+" +
                         std::to_string(w.padEnd[d]) + "); fix the model's attributes");
  };
  int64_t span, s = w.stride[d];
  if (!checkedMul(w.kernel[d] - 1, w.dilation[d], &span) || !checkedAdd(span, int64_t{1}, &span)) return overflow();
  switch (w.autoPad) {
    case AutoPad::kSameUpper:
    case AutoPad::kSameLower: {
      // Output covers ceil(in / stride) positions; the padding that needs is split evenly, the
      // odd element going to the end (SAME_UPPER) or the beginning (SAME_LOWER).
      int64_t out, total;
      if (!checkedAdd(in, s - 1, &out)) return overflow();
      out /= s;
      if (!checkedMul(out - 1, s, &total) || !checkedAdd(total, span, &total)) return overflow();
      total = std::max<int64_t>(0, total - in);
      const int64_t small = total / 2;
      w.padBegin[d] = w.autoPad == AutoPad::kSameUpper ? small : total - small;
      w.padEnd[d] = total - w.padBegin[d];
      return out;
    }
    case AutoPad::kValid:
      if (in < span) throwShape(node, "the window (" + std::to_string(span) + ") is larger than the input (" +
                                          std::to_string(in) + ")");
      return (in - span) / s + 1;
    case AutoPad::kNotSet: break;
  }
  int64_t padded;
  if (!checkedAdd(in, w.padBegin[d], &padded) || !checkedAdd(padded, w.padEnd[d], &padded)) return overflow();
  const int64_t extent = padded - span;
  if (extent < 0)
    throwShape(node, "the window (" + std::to_string(span) + ") is larger than the padded input (" +
                         std::to_string(padded) + ")");
  if (!w.ceilMode) return extent / s + 1;
  int64_t out = extent / s + (extent % s != 0 ? 1 : 0) + 1;
  // A last window that would start inside the end padding is dropped (PyTorch and the ONNX
  // reference agree), so every window overlaps real input.
  int64_t lastStart;
  if (!checkedMul(out - 1, s, &lastStart) || lastStart >= in + w.padBegin[d]) --out;
  return out;
}

Window3 toWindow3(const Window& w, const int64_t* inDims, const int64_t* outDims) {
  Window3 v;
  const size_t lead = 3 - w.spatial;
  for (size_t i = 0; i < 3; ++i) {
    if (i < lead) {
      v.in[i] = v.out[i] = v.kernel[i] = v.stride[i] = v.dilation[i] = 1;
      v.padBegin[i] = v.padEnd[i] = 0;
      continue;
    }
    const size_t d = i - lead;
    v.in[i] = inDims[d];
    v.out[i] = outDims[d];
    v.kernel[i] = w.kernel[d];
    v.stride[i] = w.stride[d];
    v.dilation[i] = w.dilation[d];
    v.padBegin[i] = w.padBegin[d];
    v.padEnd[i] = w.padEnd[d];
  }
  return v;
}

}  // namespace sim
}  // namespace tnrt
