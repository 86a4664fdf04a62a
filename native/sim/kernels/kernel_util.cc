#include "kernel_util.h"

#include <algorithm>

namespace tnrt {
namespace sim {

void throwShape(const Node& node, const std::string& message) {
  throw BackendError(ErrorCode::kShape, node.label() + ": " + message);
}
void throwDType(const Node& node, const std::string& message) {
  throw BackendError(ErrorCode::kDType, node.label() + ": " + message);
}
void throwUnsupported(const Node& node, const std::string& message) {
  throw BackendError(ErrorCode::kUnsupported, node.label() + ": " + message);
}

void requireInputs(const Node& node, const std::vector<ValueRef>& inputs, size_t minInputs, size_t maxInputs) {
  if (inputs.size() < minInputs || inputs.size() > maxInputs)
    throwShape(node, "expects " + std::to_string(minInputs) +
                         (maxInputs != minInputs ? " to " + std::to_string(maxInputs) : std::string()) +
                         " inputs but has " + std::to_string(inputs.size()));
  for (size_t i = 0; i < minInputs; ++i)
    if (!inputs[i].present()) throwShape(node, "required input " + std::to_string(i) + " is missing");
}

int64_t normalizeAxis(const Node& node, int64_t axis, size_t rank, bool inclusiveEnd) {
  int64_t r = static_cast<int64_t>(rank);
  int64_t hi = inclusiveEnd ? r : r - 1;
  if (axis < -r || axis > hi)
    throwShape(node, "axis " + std::to_string(axis) + " is out of range for rank " + std::to_string(r));
  return axis < 0 ? axis + r : axis;
}

Dims broadcastShapes(const Node& node, const Dims& a, const Dims& b) {
  size_t rank = std::max(a.size(), b.size());
  Dims out(rank);
  for (size_t i = 0; i < rank; ++i) {
    int64_t da = i + a.size() >= rank ? a[i + a.size() - rank] : 1;
    int64_t db = i + b.size() >= rank ? b[i + b.size() - rank] : 1;
    if (da == db) out[i] = da;
    else if (da == 1) out[i] = db;
    else if (db == 1) out[i] = da;
    else if (da < 0) out[i] = db;  // the unknown dim must equal db (or be 1) at run time
    else if (db < 0) out[i] = da;
    else throwShape(node, "cannot broadcast shapes " + dimsToString(a) + " and " + dimsToString(b));
  }
  return out;
}

int64_t rangeVolume(const Dims& d, size_t begin, size_t end) {
  int64_t v = 1;
  for (size_t i = begin; i < end && i < d.size(); ++i) {
    // Declared shapes are untrusted: treat an overflowing product as unknown.
    if (d[i] < 0 || (d[i] != 0 && v > (int64_t{1} << 62) / d[i])) return -1;
    v *= d[i];
  }
  return v;
}

size_t elementSize(DataType t) { return static_cast<size_t>(dataTypeBits(t) / 8); }

void requireFloat(const Node& node, const ValueRef& v, const char* what) {
  if (v.dtype != DataType::kFloat32 && v.dtype != DataType::kFloat16)
    throwDType(node, std::string(what) + " must be float32 or float16 but is " + dataTypeName(v.dtype));
}

void requireAnyFloat(const Node& node, const ValueRef& v, const char* what) {
  if (v.dtype != DataType::kFloat32 && v.dtype != DataType::kFloat16 && v.dtype != DataType::kBFloat16)
    throwDType(node, std::string(what) + " must be float32, float16 or bfloat16 but is " + dataTypeName(v.dtype));
}

void requireSameType(const Node& node, const std::vector<ValueRef>& inputs) {
  for (size_t i = 1; i < inputs.size(); ++i)
    if (inputs[i].present() && inputs[i].dtype != inputs[0].dtype)
      throwDType(node, "input " + std::to_string(i) + " is " + dataTypeName(inputs[i].dtype) + " but input 0 is " +
                           dataTypeName(inputs[0].dtype) + "; ONNX requires them to match");
}

void requireMaxRank(const Node& node, const Dims& shape) {
  if (shape.size() > kMaxRank)
    throwUnsupported(node, "rank " + std::to_string(shape.size()) + " exceeds the sim's limit of " +
                               std::to_string(kMaxRank));
}

void broadcastStrides(const Dims& in, const Dims& out, int64_t* strides) {
  size_t rank = out.size();
  for (size_t i = 0; i < rank; ++i) strides[i] = 0;
  int64_t stride = 1;
  for (size_t k = 0; k < in.size(); ++k) {
    size_t i = in.size() - 1 - k;
    size_t o = rank - 1 - k;
    strides[o] = in[i] == 1 ? 0 : stride;
    stride *= in[i];
  }
}

}  // namespace sim
}  // namespace tnrt
