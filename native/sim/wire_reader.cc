#include "wire_reader.h"


namespace tnrt {
namespace sim {

bool WireReader::next(uint32_t* field, uint32_t* wireType) {
  if (atEnd()) return false;
  uint64_t key = varint();
  *wireType = static_cast<uint32_t>(key & 7u);
  uint64_t number = key >> 3;
  if (number == 0 || number > 0x1FFFFFFFu) throw WireError("invalid field number");
  *field = static_cast<uint32_t>(number);
  return true;
}

uint64_t WireReader::varint() {
  uint64_t value = 0;
  for (int shift = 0; shift < 64; shift += 7) {
    if (p_ >= end_) throw WireError("truncated varint");
    uint8_t b = *p_++;
    value |= static_cast<uint64_t>(b & 0x7Fu) << shift;
    if ((b & 0x80u) == 0) return value;
  }
  throw WireError("varint longer than 10 bytes");
}

uint32_t WireReader::fixed32() {
  if (remaining() < 4) throw WireError("truncated fixed32");
  uint32_t v = static_cast<uint32_t>(p_[0]) | static_cast<uint32_t>(p_[1]) << 8 |
               static_cast<uint32_t>(p_[2]) << 16 | static_cast<uint32_t>(p_[3]) << 24;
  p_ += 4;
  return v;
}

uint64_t WireReader::fixed64() {
  uint64_t lo = fixed32();
  uint64_t hi = fixed32();
  return lo | hi << 32;
}

WireReader WireReader::bytes() {
  uint64_t n = varint();
  if (n > remaining()) throw WireError("length-delimited field runs past the end of its message");
  WireReader sub(p_, static_cast<size_t>(n));
  p_ += n;
  return sub;
}

std::string WireReader::string() {
  WireReader sub = bytes();
  return std::string(reinterpret_cast<const char*>(sub.p_), sub.remaining());
}

void WireReader::skip(uint32_t wireType) {
  switch (wireType) {
    case kVarint:
      varint();
      return;
    case kFixed64:
      fixed64();
      return;
    case kLengthDelimited:
      bytes();
      return;
    case kFixed32:
      fixed32();
      return;
    default:
      // Groups (3, 4) are long deprecated and never appear in ONNX; 6 and 7 are invalid.
      throw WireError("unsupported wire type " + std::to_string(wireType));
  }
}

}  // namespace sim
}  // namespace tnrt
