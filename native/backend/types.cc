// Element-type and shape helpers shared by the binding and both backends.
#include "backend.h"

#include <sstream>

namespace tnrt {

namespace {
struct TypeRow {
  DataType type;
  const char* name;
  int bits;
};
constexpr TypeRow kTypes[] = {
    {DataType::kFloat32, "float32", 32}, {DataType::kFloat16, "float16", 16}, {DataType::kBFloat16, "bfloat16", 16},
    {DataType::kInt8, "int8", 8},        {DataType::kUInt8, "uint8", 8},      {DataType::kInt32, "int32", 32},
    {DataType::kInt64, "int64", 64},     {DataType::kBool, "bool", 8},        {DataType::kFP8, "float8e4m3", 8},
    {DataType::kInt4, "int4", 4},        {DataType::kFP4, "float4e2m1", 4},   {DataType::kE8M0, "float8e8m0", 8},
};
}  // namespace

int dataTypeBits(DataType t) {
  for (const auto& row : kTypes)
    if (row.type == t) return row.bits;
  return 0;
}

size_t dataTypeBytes(DataType t, int64_t count) {
  if (count <= 0) return 0;
  return static_cast<size_t>((count * dataTypeBits(t) + 7) / 8);
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

int64_t volume(const Dims& d) {
  int64_t v = 1;
  for (int64_t x : d) {
    if (x < 0) return -1;
    v *= x;
  }
  return v;
}

std::string dimsToString(const Dims& d) {
  if (d.empty()) return "scalar";
  std::ostringstream os;
  for (size_t i = 0; i < d.size(); ++i) os << (i ? "x" : "") << d[i];
  return os.str();
}

}  // namespace tnrt
