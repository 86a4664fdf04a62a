#include "timing_cache.h"

#include <cstring>

#include "../backend/backend.h"
#include "byte_io.h"

namespace tnrt {
namespace sim {

namespace {
constexpr uint8_t kCacheMagic[8] = {'T', 'N', 'R', 'T', 'S', 'T', 'C', 0};
constexpr uint32_t kCacheVersion = 1;
constexpr size_t kCacheSize = 16;
}  // namespace

std::vector<uint8_t> makeSimTimingCache() {
  ByteWriter out;
  out.bytes(kCacheMagic, sizeof kCacheMagic);
  out.u32(kCacheVersion);
  out.u32(0);
  return std::move(out.buffer());
}

void checkSimTimingCache(const std::vector<uint8_t>& cache) {
  if (cache.empty()) return;
  if (cache.size() < sizeof kCacheMagic || std::memcmp(cache.data(), kCacheMagic, sizeof kCacheMagic) != 0)
    throw BackendError(ErrorCode::kInvalidArgument,
                       "the timing cache is not a tensorrt-node sim timing cache (wrong magic bytes); a TensorRT "
                       "timing cache only works with backend 'tensorrt'. Pass a cache produced by a sim build, or "
                       "none");
  ByteReader in(cache.data() + sizeof kCacheMagic, cache.size() - sizeof kCacheMagic);
  uint32_t version = cache.size() >= kCacheSize ? in.u32() : 0;
  if (cache.size() != kCacheSize || version != kCacheVersion)
    throw BackendError(ErrorCode::kInvalidArgument,
                       "the sim timing cache is corrupt or from another tensorrt-node version; delete it and let "
                       "the next build create a new one");
}

}  // namespace sim
}  // namespace tnrt
