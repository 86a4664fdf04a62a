// Sliding-window geometry shared by Conv, ConvTranspose and the pooling operators: reading
// kernel_shape / strides / dilations / pads / auto_pad, and computing output extents the way
// ONNX defines them (including SAME_UPPER / SAME_LOWER padding and ceil_mode).
//
// Kernels run on a 3-D view: 1-D and 2-D windows get leading unit dims (kernel 1, stride 1,
// no padding) so that one loop nest serves every rank.
#pragma once

#include <cstdint>
#include <vector>

#include "kernel_util.h"

namespace tnrt {
namespace sim {

constexpr size_t kMaxSpatial = 3;

enum class AutoPad { kNotSet, kSameUpper, kSameLower, kValid };

struct Window {
  size_t spatial = 0;  // number of spatial dims of the node (1..3)
  AutoPad autoPad = AutoPad::kNotSet;
  bool ceilMode = false;
  // Per spatial dim, in the node's own order (index < spatial).
  int64_t kernel[kMaxSpatial] = {1, 1, 1};
  int64_t stride[kMaxSpatial] = {1, 1, 1};
  int64_t dilation[kMaxSpatial] = {1, 1, 1};
  int64_t padBegin[kMaxSpatial] = {0, 0, 0};
  int64_t padEnd[kMaxSpatial] = {0, 0, 0};

  int64_t span(size_t d) const { return (kernel[d] - 1) * dilation[d] + 1; }
};

// Reads the window attributes of `node` for an input of `spatial` spatial dims. `kernelDims`
// (the weight's trailing dims) supplies the kernel when kernel_shape is absent; pass nullptr
// where kernel_shape is required (pooling). Throws kShape / kUnsupported naming the node.
Window readWindow(const Node& node, size_t spatial, const int64_t* kernelDims, bool allowCeilMode);

// Output extent of dim `d` for input extent `in` (-1: unknown), for a forward window (Conv,
// pooling). Resolves SAME padding into w.padBegin / w.padEnd when `in` is known.
int64_t forwardExtent(const Node& node, Window& w, size_t d, int64_t in);

// The rank-3 view of a window: index 0..2 = depth, height, width; unused leading dims are 1.
struct Window3 {
  int64_t in[3], out[3], kernel[3], stride[3], dilation[3], padBegin[3], padEnd[3];
};
// `inDims` / `outDims` are the node's spatial extents (w.spatial of them).
Window3 toWindow3(const Window& w, const int64_t* inDims, const int64_t* outDims);

// Reads an int list attribute; empty when absent.
std::vector<int64_t> attrInts(const Node& node, const char* name);

}  // namespace sim
}  // namespace tnrt
