#include "byte_io.h"

#include <cstring>

namespace tnrt {
namespace sim {

void ByteWriter::u32(uint32_t v) {
  for (int i = 0; i < 4; ++i) out_.push_back(static_cast<uint8_t>(v >> (8 * i)));
}

void ByteWriter::u64(uint64_t v) {
  for (int i = 0; i < 8; ++i) out_.push_back(static_cast<uint8_t>(v >> (8 * i)));
}

void ByteWriter::f32(float v) {
  uint32_t bits;
  std::memcpy(&bits, &v, 4);
  u32(bits);
}

void ByteWriter::str(const std::string& s) {
  u32(static_cast<uint32_t>(s.size()));
  bytes(reinterpret_cast<const uint8_t*>(s.data()), s.size());
}

void ByteWriter::dims(const Dims& d) {
  u32(static_cast<uint32_t>(d.size()));
  for (int64_t x : d) i64(x);
}

void ByteWriter::bytes(const uint8_t* data, size_t size) {
  if (size) out_.insert(out_.end(), data, data + size);
}

void ByteWriter::blob(const std::vector<uint8_t>& b) {
  u64(b.size());
  bytes(b.data(), b.size());
}

const uint8_t* ByteReader::take(size_t n) {
  if (n > remaining()) throw ByteReadError("unexpected end of data");
  const uint8_t* p = p_;
  p_ += n;
  return p;
}

uint8_t ByteReader::u8() { return *take(1); }

uint32_t ByteReader::u32() {
  const uint8_t* p = take(4);
  uint32_t v = 0;
  for (int i = 0; i < 4; ++i) v |= static_cast<uint32_t>(p[i]) << (8 * i);
  return v;
}

uint64_t ByteReader::u64() {
  const uint8_t* p = take(8);
  uint64_t v = 0;
  for (int i = 0; i < 8; ++i) v |= static_cast<uint64_t>(p[i]) << (8 * i);
  return v;
}

float ByteReader::f32() {
  uint32_t bits = u32();
  float v;
  std::memcpy(&v, &bits, 4);
  return v;
}

std::string ByteReader::str() {
  uint32_t n = count(1);
  const uint8_t* p = take(n);
  return std::string(reinterpret_cast<const char*>(p), n);
}

Dims ByteReader::dims() {
  uint32_t n = count(8);
  Dims d(n);
  for (uint32_t i = 0; i < n; ++i) d[i] = i64();
  return d;
}

std::vector<uint8_t> ByteReader::blob() {
  uint64_t n = u64();
  if (n > remaining()) throw ByteReadError("a byte array runs past the end of the data");
  const uint8_t* p = take(static_cast<size_t>(n));
  return std::vector<uint8_t>(p, p + n);
}

uint32_t ByteReader::count(size_t minElementBytes) {
  uint32_t n = u32();
  if (minElementBytes && n > remaining() / minElementBytes)
    throw ByteReadError("an element count exceeds the data left");
  return n;
}

}  // namespace sim
}  // namespace tnrt
