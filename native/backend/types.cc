// Element-type and shape helpers shared by the binding and both backends.
#include "backend.h"

#include <cstdint>
#include <sstream>

namespace tnrt {

namespace {
// The one table of element types: this library's name, width, and the ONNX
// TensorProto.DataType number (onnx.proto) that the sim's ONNX reader and operator attributes
// (Cast's "to", EyeLike's "dtype", ...) name it by, with ONNX's own (lower-case) name for that
// number, which messages about ONNX attributes use: where the two differ (float32 is ONNX's
// float, float8e4m3 its float8e4m3fn) a message quoting the model must speak the model's
// language.
struct TypeRow {
  DataType type;
  const char* name;
  int bits;
  int64_t onnx;
  const char* onnxName;
};
constexpr TypeRow kTypes[] = {
    {DataType::kFloat32, "float32", 32, 1, "float"},
    {DataType::kFloat16, "float16", 16, 10, "float16"},
    {DataType::kBFloat16, "bfloat16", 16, 16, "bfloat16"},
    {DataType::kInt8, "int8", 8, 3, "int8"},
    {DataType::kUInt8, "uint8", 8, 2, "uint8"},
    {DataType::kInt32, "int32", 32, 6, "int32"},
    {DataType::kInt64, "int64", 64, 7, "int64"},
    {DataType::kBool, "bool", 8, 9, "bool"},
    {DataType::kFP8, "float8e4m3", 8, 17, "float8e4m3fn"},
    {DataType::kInt4, "int4", 4, 22, "int4"},
    {DataType::kFP4, "float4e2m1", 4, 23, "float4e2m1"},
    {DataType::kE8M0, "float8e8m0", 8, 24, "float8e8m0"},
};

// ONNX element types TensorRT has no tensors of, named for error messages.
struct OnnxOnlyRow {
  int64_t onnx;
  const char* name;
};
constexpr OnnxOnlyRow kOnnxOnlyTypes[] = {
    {4, "uint16"},          {5, "int16"},       {8, "string"},          {11, "double"},
    {12, "uint32"},         {13, "uint64"},     {14, "complex64"},      {15, "complex128"},
    {18, "float8e4m3fnuz"}, {19, "float8e5m2"}, {20, "float8e5m2fnuz"}, {21, "uint4"},
};
}  // namespace

int dataTypeBits(DataType t) {
  for (const auto& row : kTypes)
    if (row.type == t) return row.bits;
  return 0;
}

size_t dataTypeBytes(DataType t, int64_t count) {
  if (count <= 0) return 0;
  // Saturate instead of wrapping: a wrapped size would allocate a buffer smaller than the
  // element loop that fills it. SIZE_MAX never compares equal to a real byte count and fails
  // any allocation, so callers that forgot to check still cannot overflow a heap buffer.
  uint64_t bits;
  if (__builtin_mul_overflow(static_cast<uint64_t>(count), static_cast<uint64_t>(dataTypeBits(t)), &bits))
    return SIZE_MAX;
  const uint64_t bytes = bits / 8 + (bits % 8 != 0 ? 1 : 0);
  return bytes > SIZE_MAX ? SIZE_MAX : static_cast<size_t>(bytes);
}

const char* dataTypeName(DataType t) {
  for (const auto& row : kTypes)
    if (row.type == t) return row.name;
  return "unknown";
}

bool dataTypeFromName(const std::string& name, DataType* out) {
  for (const auto& row : kTypes) {
    if (name == row.name) {
      *out = row.type;
      return true;
    }
  }
  return false;
}

bool dataTypeFromOnnx(int64_t onnx, DataType* out) {
  for (const auto& row : kTypes) {
    if (row.onnx == onnx) {
      *out = row.type;
      return true;
    }
  }
  return false;
}

std::string onnxTypeName(int64_t onnx) {
  for (const auto& row : kTypes)
    if (row.onnx == onnx) return row.onnxName;
  for (const auto& row : kOnnxOnlyTypes)
    if (row.onnx == onnx) return row.name;
  return "unknown type " + std::to_string(onnx);
}

int64_t volume(const Dims& d) {
  int64_t v = 1;
  bool overflow = false;
  for (int64_t x : d) {
    if (x < 0) return -1;
    // Keep scanning after an overflow: a later dynamic dim still makes the answer -1.
    if (!overflow && __builtin_mul_overflow(v, x, &v)) overflow = true;
  }
  // Saturated, never wrapped (see dataTypeBytes); a zero dim still gives 0.
  if (overflow) {
    for (int64_t x : d)
      if (x == 0) return 0;
    return INT64_MAX;
  }
  return v;
}

std::string dimsToString(const Dims& d) {
  if (d.empty()) return "scalar";
  std::ostringstream os;
  for (size_t i = 0; i < d.size(); ++i) os << (i ? "x" : "") << d[i];
  return os.str();
}

std::string hostCodeRefusalMessage() {
  return "the engine was built version compatible (versionCompatible): it carries TensorRT's lean runtime, host code "
         "that runs in this process when the engine loads, so a runtime loads it only when told to trust it. If you "
         "trust the engine, load it with new Runtime({ engineHostCodeAllowed: true }) or InferenceSession.create(engine, "
         "{ engineHostCodeAllowed: true }) (CLI: --engineHostCodeAllowed); or rebuild it without versionCompatible, or "
         "with excludeLeanRuntime";
}

}  // namespace tnrt
