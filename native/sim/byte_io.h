// Little-endian byte writer and bounds-checked reader for the sim's engine format. Writing
// byte by byte fixes the on-disk byte order regardless of the host. The reader throws
// ByteReadError on any overrun, and refuses element counts larger than the bytes left, so a
// corrupt count can never trigger a huge allocation.
#pragma once

#include <cstdint>
#include <stdexcept>
#include <string>
#include <vector>

#include "../backend/backend.h"

namespace tnrt {
namespace sim {

class ByteReadError : public std::runtime_error {
 public:
  using std::runtime_error::runtime_error;
};

class ByteWriter {
 public:
  void u8(uint8_t v) { out_.push_back(v); }
  void u32(uint32_t v);
  void u64(uint64_t v);
  void i32(int32_t v) { u32(static_cast<uint32_t>(v)); }
  void i64(int64_t v) { u64(static_cast<uint64_t>(v)); }
  void f32(float v);
  void str(const std::string& s);
  void dims(const Dims& d);
  void bytes(const uint8_t* data, size_t size);
  void blob(const std::vector<uint8_t>& b);  // length-prefixed

  std::vector<uint8_t>& buffer() { return out_; }

 private:
  std::vector<uint8_t> out_;
};

class ByteReader {
 public:
  ByteReader(const uint8_t* data, size_t size) : p_(data), end_(data + size) {}
  size_t remaining() const { return static_cast<size_t>(end_ - p_); }
  uint8_t u8();
  uint32_t u32();
  uint64_t u64();
  int32_t i32() { return static_cast<int32_t>(u32()); }
  int64_t i64() { return static_cast<int64_t>(u64()); }
  float f32();
  std::string str();
  Dims dims();
  std::vector<uint8_t> blob();
  // An element count, refused if the remaining bytes cannot hold that many elements of at
  // least `minElementBytes` each.
  uint32_t count(size_t minElementBytes);

 private:
  const uint8_t* take(size_t n);
  const uint8_t* p_;
  const uint8_t* end_;
};

}  // namespace sim
}  // namespace tnrt
