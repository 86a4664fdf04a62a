// IEEE 754 binary16 <-> binary32 conversion. The sim computes float16 operators in float32
// and rounds at every float16 output, which is what TensorRT's reference checks assume.
#pragma once

#include <cstdint>

namespace tnrt {
namespace sim {

float halfToFloat(uint16_t h);
// Round-to-nearest-even, with overflow to infinity and NaN kept quiet.
uint16_t floatToHalf(float f);

// The same conversions over n values, bit for bit (NaN payloads and subnormals included), 8
// values per F16C instruction where the CPU has F16C (detected at run time), else one by one.
// The float16 paths of the element-wise, pooling, resize and convolution kernels stage their
// operands through these: one call per value cost IS-Net's float16 layers a large share of
// their time.
void widenHalves(const uint16_t* src, int64_t n, float* dst);
void narrowToHalves(const float* src, int64_t n, uint16_t* dst);

// bfloat16 (float32's top 16 bits) <-> float32; the narrowing rounds to nearest even and keeps
// NaN a NaN.
float bfloat16ToFloat(uint16_t h);
uint16_t floatToBFloat16(float f);

}  // namespace sim
}  // namespace tnrt
