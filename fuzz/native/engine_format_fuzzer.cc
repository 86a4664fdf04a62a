// libFuzzer target: sim engine bytes -> readEngine (container, payload, graph codec), the
// engine's load checks, profile queries and execution (see sim_pipeline.h).
//
// Every sim engine carries an FNV-1a checksum of its payload (engine_format.h), so almost
// every random mutation would stop at "checksum does not match" and never reach the payload
// parser. The custom mutator below therefore rewrites the header's length and checksum after
// each mutation, most of the time: the fuzzer explores the payload as if a forger wrote it,
// and the inputs it saves reproduce through the public API byte for byte. One mutation in
// eight keeps the raw header, so the container checks stay covered too.
#include <cstddef>
#include <cstdint>
#include <cstring>
#include <random>

#include "sim/engine_format.h"
#include "sim_pipeline.h"

extern "C" size_t LLVMFuzzerMutate(uint8_t* data, size_t size, size_t maxSize);

namespace {

void storeLe64(uint8_t* at, uint64_t value) {
  for (int i = 0; i < 8; ++i) at[i] = static_cast<uint8_t>(value >> (8 * i));
}

// Makes the header agree with the payload that follows it: magic, current format version,
// no flags, the payload's length and checksum (offsets as in engine_format.h).
void fixHeader(uint8_t* data, size_t size) {
  using namespace tnrt::sim;
  if (size < kEngineHeaderSize) return;
  std::memcpy(data, kEngineMagic, sizeof kEngineMagic);
  const uint32_t version = kEngineFormatVersion;
  for (int i = 0; i < 4; ++i) data[8 + i] = static_cast<uint8_t>(version >> (8 * i));
  std::memset(data + 12, 0, 4);
  const uint8_t* payload = data + kEngineHeaderSize;
  const size_t payloadSize = size - kEngineHeaderSize;
  storeLe64(data + 16, payloadSize);
  storeLe64(data + 24, fnv1a64(payload, payloadSize));
}

}  // namespace

extern "C" size_t LLVMFuzzerCustomMutator(uint8_t* data, size_t size, size_t maxSize, unsigned int seed) {
  size_t mutated = LLVMFuzzerMutate(data, size, maxSize);
  if (seed % 8 != 0) fixHeader(data, mutated);
  return mutated;
}

extern "C" int LLVMFuzzerTestOneInput(const uint8_t* data, size_t size) {
  tnrt::fuzz::runEngine(data, size);
  return 0;
}
