#include "engine_format.h"

#include <cstring>
#include <limits>

#include "byte_io.h"
#include "graph_codec.h"

namespace tnrt {
namespace sim {

namespace {

constexpr int32_t kLastDataType = static_cast<int32_t>(DataType::kE8M0);

[[noreturn]] void invalid(const std::string& message) {
  throw BackendError(ErrorCode::kEngineInvalid, message);
}

}  // namespace

uint64_t fnv1a64(const uint8_t* data, size_t size) {
  uint64_t h = 0xcbf29ce484222325ull;
  for (size_t i = 0; i < size; ++i) {
    h ^= data[i];
    h *= 0x100000001b3ull;
  }
  return h;
}

std::vector<uint8_t> writeEngine(const EngineData& engine) {
  ByteWriter payload;
  payload.str(engine.simVersion);
  payload.u32(static_cast<uint32_t>(engine.ioTensors.size()));
  for (const TensorDesc& t : engine.ioTensors) {
    payload.str(t.name);
    payload.i32(static_cast<int32_t>(t.dtype));
    payload.dims(t.shape);
    payload.u8(t.isInput ? 1 : 0);
  }
  payload.u32(static_cast<uint32_t>(engine.profiles.size()));
  for (const Profile& p : engine.profiles) {
    payload.u32(static_cast<uint32_t>(p.inputs.size()));
    for (const InputProfile& ip : p.inputs) {
      payload.str(ip.input);
      payload.dims(ip.min);
      payload.dims(ip.opt);
      payload.dims(ip.max);
      payload.dims(ip.minValues);
      payload.dims(ip.optValues);
      payload.dims(ip.maxValues);
    }
  }
  payload.u64(engine.deviceMemorySize);
  payload.u8(static_cast<uint8_t>((engine.fp16 ? 1 : 0) | (engine.int8 ? 2 : 0)));
  payload.u32(static_cast<uint32_t>(engine.int8Scales.size()));
  for (const auto& [name, scale] : engine.int8Scales) {
    payload.str(name);
    payload.f32(scale);
  }
  encodeGraph(engine.graph, payload);

  const std::vector<uint8_t>& body = payload.buffer();
  ByteWriter out;
  out.bytes(kEngineMagic, sizeof kEngineMagic);
  out.u32(kEngineFormatVersion);
  out.u32((engine.versionCompatible ? kEngineFlagVersionCompatible : 0u) |
          (engine.excludeLeanRuntime ? kEngineFlagExcludeLeanRuntime : 0u));
  out.u64(body.size());
  out.u64(fnv1a64(body.data(), body.size()));
  out.buffer().reserve(kEngineHeaderSize + body.size());
  out.bytes(body.data(), body.size());
  return std::move(out.buffer());
}

void readEngine(const uint8_t* data, size_t size, EngineData* engine) {
  if (data == nullptr || size == 0) invalid("the engine is empty; pass the bytes of a serialized sim engine");
  const size_t magicBytes = size < sizeof kEngineMagic ? size : sizeof kEngineMagic;
  if (std::memcmp(data, kEngineMagic, magicBytes) != 0)
    invalid(
        "the data is not a tensorrt-node sim engine (wrong magic bytes). A TensorRT plan must be loaded with "
        "backend 'tensorrt'; to use the sim backend, build the engine with backend 'sim'");
  if (size < kEngineHeaderSize)
    invalid("the sim engine is truncated (" + std::to_string(size) + " bytes, shorter than its " +
            std::to_string(kEngineHeaderSize) + "-byte header); the file is incomplete, rebuild or re-copy it");
  ByteReader header(data + sizeof kEngineMagic, kEngineHeaderSize - sizeof kEngineMagic);
  const uint32_t version = header.u32();
  const uint32_t flags = header.u32();
  const uint64_t payloadSize = header.u64();
  const uint64_t checksum = header.u64();
  if (version > kEngineFormatVersion)
    invalid("the sim engine has format version " + std::to_string(version) + ", newer than this tensorrt-node (" +
            std::to_string(kEngineFormatVersion) + "); upgrade tensorrt-node or rebuild the engine with this version");
  if (version < kEngineFormatVersion)
    invalid("the sim engine has format version " + std::to_string(version) + ", older than this tensorrt-node (" +
            std::to_string(kEngineFormatVersion) + "); rebuild the engine with this version");
  if ((flags & ~(kEngineFlagVersionCompatible | kEngineFlagExcludeLeanRuntime)) != 0)
    invalid("the sim engine's header has unknown flags; it was written by a different tensorrt-node or is corrupt, "
            "rebuild the engine");
  const uint64_t available = size - kEngineHeaderSize;
  if (payloadSize > available)
    invalid("the sim engine is truncated (payload " + std::to_string(available) + " of " + std::to_string(payloadSize) +
            " bytes); the file is incomplete, rebuild or re-copy it");
  if (payloadSize < available)
    invalid("the sim engine has " + std::to_string(available - payloadSize) +
            " unexpected trailing bytes; the file is corrupt, rebuild the engine");
  engine->versionCompatible = (flags & kEngineFlagVersionCompatible) != 0;
  engine->excludeLeanRuntime = (flags & kEngineFlagExcludeLeanRuntime) != 0;
  const uint8_t* body = data + kEngineHeaderSize;
  if (fnv1a64(body, static_cast<size_t>(payloadSize)) != checksum)
    invalid("the sim engine's checksum does not match its contents; the file is corrupt, rebuild the engine");

  try {
    ByteReader in(body, static_cast<size_t>(payloadSize));
    engine->simVersion = in.str();
    uint32_t numIo = in.count(4 + 4 + 4 + 1);
    engine->ioTensors.resize(numIo);
    for (TensorDesc& t : engine->ioTensors) {
      t.name = in.str();
      int32_t dt = in.i32();
      if (dt < 0 || dt > kLastDataType) throw ByteReadError("unknown element type");
      t.dtype = static_cast<DataType>(dt);
      t.shape = in.dims();
      t.isInput = in.u8() != 0;
    }
    uint32_t numProfiles = in.count(4);
    engine->profiles.resize(numProfiles);
    for (Profile& p : engine->profiles) {
      uint32_t n = in.count(4 * 7);
      p.inputs.resize(n);
      for (InputProfile& ip : p.inputs) {
        ip.input = in.str();
        ip.min = in.dims();
        ip.opt = in.dims();
        ip.max = in.dims();
        ip.minValues = in.dims();
        ip.optValues = in.dims();
        ip.maxValues = in.dims();
      }
    }
    engine->deviceMemorySize = in.u64();
    const uint8_t precision = in.u8();
    if (precision > 3) throw ByteReadError("unknown precision flags");
    engine->fp16 = (precision & 1) != 0;
    engine->int8 = (precision & 2) != 0;
    uint32_t numScales = in.count(4 + 4);
    engine->int8Scales.resize(numScales);
    for (auto& [name, scale] : engine->int8Scales) {
      name = in.str();
      scale = in.f32();
      if (!(scale >= 0.0f) || scale == std::numeric_limits<float>::infinity()) throw ByteReadError("an invalid int8 scale");
    }
    decodeGraph(in, &engine->graph);
    if (in.remaining() != 0) throw ByteReadError("unexpected bytes after the graph");
  } catch (const ByteReadError& e) {
    // The checksum matched, so this is a writer bug or a forged file, not transport damage.
    invalid(std::string("the sim engine's payload is malformed (") + e.what() + "); rebuild the engine");
  }
}

}  // namespace sim
}  // namespace tnrt
