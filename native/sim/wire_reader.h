// A bounds-checked reader for the protobuf wire format, enough to decode ONNX without
// libprotobuf. Every read checks the remaining length first; a malformed message throws
// WireError, which the ONNX reader turns into a ParserError. Nothing allocates in proportion
// to a length field: lengths only ever select a sub-range of the caller's buffer.
#pragma once

#include <cstddef>
#include <cstdint>
#include <stdexcept>
#include <string>

namespace tnrt {
namespace sim {

class WireError : public std::runtime_error {
 public:
  using std::runtime_error::runtime_error;
};

enum WireType : uint32_t { kVarint = 0, kFixed64 = 1, kLengthDelimited = 2, kFixed32 = 5 };

class WireReader {
 public:
  WireReader(const uint8_t* data, size_t size) : p_(data), end_(data + size) {}

  bool atEnd() const { return p_ >= end_; }
  size_t remaining() const { return static_cast<size_t>(end_ - p_); }
  // Reads the next field's key. Returns false at the end of the message.
  bool next(uint32_t* field, uint32_t* wireType);

  uint64_t varint();
  uint32_t fixed32();
  uint64_t fixed64();
  // A length-delimited field's payload as a sub-reader over the same buffer.
  WireReader bytes();
  std::string string();
  // Skips a field of the given wire type (the value after its key).
  void skip(uint32_t wireType);

  const uint8_t* data() const { return p_; }

 private:
  const uint8_t* p_;
  const uint8_t* end_;
};

}  // namespace sim
}  // namespace tnrt
