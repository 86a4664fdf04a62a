// IEEE 754 binary16 <-> binary32 conversion. The sim computes float16 operators in float32
// and rounds at every float16 output, which is what TensorRT's reference checks assume.
#pragma once

#include <cstdint>

namespace tnrt {
namespace sim {

float halfToFloat(uint16_t h);
// Round-to-nearest-even, with overflow to infinity and NaN kept quiet.
uint16_t floatToHalf(float f);

}  // namespace sim
}  // namespace tnrt
