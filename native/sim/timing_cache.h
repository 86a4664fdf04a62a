// The sim's timing cache. The sim times no kernels, so there is nothing to cache; it still
// returns and accepts a blob so that the library's timing-cache plumbing (save the cache
// after a build, feed it to the next one) runs the same way on both backends and is tested
// in CI. The blob is 16 bytes: magic "TNRTSTC\0", uint32 version (1), uint32 entry count (0),
// little-endian.
#pragma once

#include <cstdint>
#include <vector>

namespace tnrt {
namespace sim {

std::vector<uint8_t> makeSimTimingCache();
// Accepts an empty cache or one made by makeSimTimingCache(); anything else throws
// BackendError kInvalidArgument explaining what the sim expects.
void checkSimTimingCache(const std::vector<uint8_t>& cache);

}  // namespace sim
}  // namespace tnrt
