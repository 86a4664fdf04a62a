// IEEE 754 binary16 <-> binary32 conversion. The sim computes float16 operators in float32
// and rounds at every float16 output, which is what TensorRT's reference checks assume.
#pragma once

#include <cstdint>

namespace tnrt {
namespace sim {

float halfToFloat(uint16_t h);
// Round-to-nearest-even, with overflow to infinity and NaN kept quiet.
uint16_t floatToHalf(float f);

// bfloat16 (float32's top 16 bits) <-> float32; the narrowing rounds to nearest even and keeps
// NaN a NaN.
float bfloat16ToFloat(uint16_t h);
uint16_t floatToBFloat16(float f);

}  // namespace sim
}  // namespace tnrt
