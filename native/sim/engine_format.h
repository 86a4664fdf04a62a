// The sim engine file ("plan"):
//
//   offset  size  field
//   0       8     magic "TNRTSIM\0"
//   8       4     format version (uint32, little-endian), kEngineFormatVersion
//   12      4     flags (uint32): bit 0 version compatible (carries host code), bit 1 lean
//                 runtime excluded; other bits 0
//   16      8     payload length in bytes (uint64)
//   24      8     FNV-1a 64 checksum of the payload (uint64)
//   32      ...   payload: sim version, io tensors, profiles, device memory estimate,
//                 precision (fp16 and int8 flags, int8 scales by tensor name), graph
//
// All integers are little-endian. The payload is versioned as a whole: any change to its
// layout bumps kEngineFormatVersion, and engines of another version are refused with a
// message telling the user to rebuild.
#pragma once

#include <cstdint>
#include <string>
#include <vector>

#include "graph.h"

namespace tnrt {
namespace sim {

// The first bytes of every sim engine; also exported to lib/ to route engines by content.
inline constexpr uint8_t kEngineMagic[8] = {'T', 'N', 'R', 'T', 'S', 'I', 'M', 0};
// 2: the precision block (implicit fp16/int8 builds).
// 3: deviceMemorySize became the execution-memory bound the loader checks. Version 2 stored a
// liveness peak, which that check would call forged; such engines get the rebuild message.
// 4: shape-tensor value ranges (min/opt/max values after each profile entry's dims).
constexpr uint32_t kEngineFormatVersion = 4;
constexpr size_t kEngineHeaderSize = 32;

struct EngineData {
  std::string simVersion;
  std::vector<TensorDesc> ioTensors;  // inputs, then outputs
  // Every profile holds an entry for every input, static ones with min = opt = max, and shape
  // tensors with their value ranges. Which inputs are shape tensors is not stored: the engine
  // derives it from the graph (findShapeTensorInputs), so a file cannot claim otherwise.
  std::vector<Profile> profiles;
  uint64_t deviceMemorySize = 0;
  // Implicit reduced precision, as TensorRT 10's kFP16 / kINT8 builder flags: fp16 rounds the
  // float32 tensors layers produce to float16; int8 fake-quantizes the inputs of Conv,
  // ConvTranspose, Gemm and MatMul, activations with the calibrated per-tensor scales below
  // (threshold / 127, keyed by tensor name) and weights per output channel.
  bool fp16 = false;
  bool int8 = false;
  std::vector<std::pair<std::string, float>> int8Scales;
  Graph graph;
  // Header flags, as TensorRT's kVERSION_COMPATIBLE / kEXCLUDE_LEAN_RUNTIME builds record them:
  // the sim carries no lean runtime, but a version-compatible sim engine is refused by a
  // runtime without engineHostCodeAllowed exactly as a TensorRT plan is, so that code written
  // against the sim passes the option TensorRT will need.
  bool versionCompatible = false;
  bool excludeLeanRuntime = false;
};

// Header flag bits.
constexpr uint32_t kEngineFlagVersionCompatible = 1u << 0;
constexpr uint32_t kEngineFlagExcludeLeanRuntime = 1u << 1;

std::vector<uint8_t> writeEngine(const EngineData& engine);
// Throws BackendError kEngineInvalid naming the problem and the fix. Only checks the
// container and payload syntax; the engine validates the graph it holds.
void readEngine(const uint8_t* data, size_t size, EngineData* engine);

// FNV-1a, 64-bit: simple, dependency-free, and plenty to detect accidental corruption (it is
// not meant to resist tampering).
uint64_t fnv1a64(const uint8_t* data, size_t size);

}  // namespace sim
}  // namespace tnrt
