#include "profiles.h"

#include <climits>
#include <string>

namespace tnrt {
namespace sim {

namespace {

[[noreturn]] void shapeError(const std::string& message) { throw BackendError(ErrorCode::kShape, message); }

bool isDynamic(const Dims& d) {
  for (int64_t x : d)
    if (x < 0) return true;
  return false;
}

std::string inputList(const std::vector<TensorDesc>& inputs) {
  std::string s;
  for (const auto& t : inputs) s += (s.empty() ? "'" : ", '") + t.name + "'";
  return s.empty() ? "none" : s;
}

void checkEntry(size_t p, const TensorDesc& input, const InputProfile& ip) {
  const std::string where = "optimization profile " + std::to_string(p) + ", input '" + input.name + "': ";
  const size_t rank = input.shape.size();
  const std::pair<const char*, const Dims*> parts[] = {{"min", &ip.min}, {"opt", &ip.opt}, {"max", &ip.max}};
  for (const auto& part : parts)
    if (part.second->size() != rank)
      shapeError(where + part.first + " shape " + dimsToString(*part.second) + " has rank " +
                 std::to_string(part.second->size()) + " but the input has rank " + std::to_string(rank) + " (" +
                 dimsToString(input.shape) + ")");
  for (size_t d = 0; d < rank; ++d) {
    const int64_t lo = ip.min[d], mid = ip.opt[d], hi = ip.max[d], fixed = input.shape[d];
    if (fixed >= 0 && (lo != fixed || mid != fixed || hi != fixed))
      shapeError(where + "dimension " + std::to_string(d) + " is fixed at " + std::to_string(fixed) +
                 " but the profile gives min/opt/max " + std::to_string(lo) + "/" + std::to_string(mid) + "/" +
                 std::to_string(hi));
    if (lo < 0 || lo > mid || mid > hi)
      shapeError(where + "dimension " + std::to_string(d) + " needs 0 <= min <= opt <= max but has min/opt/max " +
                 std::to_string(lo) + "/" + std::to_string(mid) + "/" + std::to_string(hi));
  }
}

std::string valuesText(const std::vector<int64_t>& v) {
  std::string s = "[";
  for (size_t i = 0; i < v.size(); ++i) s += (i ? ", " : "") + std::to_string(v[i]);
  return s + "]";
}

// A shape tensor's values in one profile: one per element, min <= opt <= max elementwise,
// and within int32 for an int32 input.
void checkValues(size_t p, const TensorDesc& input, const InputProfile& ip) {
  const std::string where = "optimization profile " + std::to_string(p) + ", shape tensor '" + input.name + "': ";
  const int64_t count = volume(input.shape);
  const std::pair<const char*, const std::vector<int64_t>*> parts[] = {
      {"min", &ip.minValues}, {"opt", &ip.optValues}, {"max", &ip.maxValues}};
  for (const auto& part : parts) {
    if (static_cast<int64_t>(part.second->size()) != count)
      shapeError(where + part.first + " values " + valuesText(*part.second) + " have " +
                 std::to_string(part.second->size()) + " entries but the input has " + std::to_string(count) +
                 " (shape " + dimsToString(input.shape) + ")");
    if (input.dtype == DataType::kInt32)
      for (int64_t v : *part.second)
        if (v < INT32_MIN || v > INT32_MAX)
          shapeError(where + part.first + " value " + std::to_string(v) + " does not fit the input's int32");
  }
  for (size_t k = 0; k < ip.minValues.size(); ++k)
    if (ip.minValues[k] > ip.optValues[k] || ip.optValues[k] > ip.maxValues[k])
      shapeError(where + "value " + std::to_string(k) + " needs min <= opt <= max but has min/opt/max " +
                 std::to_string(ip.minValues[k]) + "/" + std::to_string(ip.optValues[k]) + "/" +
                 std::to_string(ip.maxValues[k]));
}

bool hasValues(const InputProfile& ip) {
  return !ip.minValues.empty() || !ip.optValues.empty() || !ip.maxValues.empty();
}

}  // namespace

std::string shapeTensorNeedsValues(const TensorDesc& input) {
  return "input '" + input.name + "' is a shape tensor (its values decide tensor shapes, so TensorRT keeps it in "
         "host memory and builds for a range of values): give the min/opt/max of its values in every optimization "
         "profile (OptimizationProfile.setShapeValues, or { values: { min, opt, max } } in buildEngine's profiles)";
}

std::vector<Profile> resolveProfiles(const std::vector<TensorDesc>& inputs, const std::vector<Profile>& profiles) {
  if (profiles.empty()) {
    for (const auto& in : inputs)
      if (in.isShapeTensor) shapeError(shapeTensorNeedsValues(in) + "; the network has no optimization profile");
    for (const auto& in : inputs)
      if (isDynamic(in.shape))
        shapeError("input '" + in.name + "' has dynamic shape " + dimsToString(in.shape) +
                   "; add an optimization profile with min/opt/max shapes for it");
    Profile implicit;
    for (const auto& in : inputs) implicit.inputs.push_back({in.name, in.shape, in.shape, in.shape, {}, {}, {}});
    return {implicit};
  }
  std::vector<Profile> resolved;
  for (size_t p = 0; p < profiles.size(); ++p) {
    Profile out;
    out.inputs.resize(inputs.size());
    std::vector<bool> seen(inputs.size(), false);
    for (const InputProfile& ip : profiles[p].inputs) {
      size_t i = 0;
      while (i < inputs.size() && inputs[i].name != ip.input) ++i;
      if (i == inputs.size())
        throw BackendError(ErrorCode::kInvalidArgument, "optimization profile " + std::to_string(p) + " names '" +
                                                            ip.input + "', which is not an input of the network (inputs: " +
                                                            inputList(inputs) + ")");
      if (seen[i])
        throw BackendError(ErrorCode::kInvalidArgument, "optimization profile " + std::to_string(p) +
                                                            " gives input '" + ip.input + "' more than once");
      InputProfile entry = ip;
      if (hasValues(ip)) {
        if (!inputs[i].isShapeTensor)
          throw BackendError(ErrorCode::kInvalidArgument,
                             "optimization profile " + std::to_string(p) + " gives values for '" + ip.input +
                                 "', which is not a shape tensor (shape values apply to int32/int64 inputs of rank "
                                 "0 or 1 whose values decide tensor shapes); give it min/opt/max dimensions instead");
        // Values alone stand for the input's fixed shape (a shape tensor's shape is static).
        if (ip.min.empty() && ip.opt.empty() && ip.max.empty())
          entry.min = entry.opt = entry.max = inputs[i].shape;
        checkValues(p, inputs[i], entry);
      } else if (inputs[i].isShapeTensor) {
        shapeError(shapeTensorNeedsValues(inputs[i]) + "; optimization profile " + std::to_string(p) + " has none");
      }
      checkEntry(p, inputs[i], entry);
      seen[i] = true;
      out.inputs[i] = std::move(entry);
    }
    for (size_t i = 0; i < inputs.size(); ++i) {
      if (seen[i]) continue;
      if (inputs[i].isShapeTensor)
        shapeError(shapeTensorNeedsValues(inputs[i]) + "; optimization profile " + std::to_string(p) + " has none");
      if (isDynamic(inputs[i].shape))
        shapeError("input '" + inputs[i].name + "' has dynamic shape " + dimsToString(inputs[i].shape) +
                   " but optimization profile " + std::to_string(p) +
                   " gives no range for it; add min/opt/max shapes for it to every optimization profile");
      out.inputs[i] = {inputs[i].name, inputs[i].shape, inputs[i].shape, inputs[i].shape, {}, {}, {}};
    }
    resolved.push_back(std::move(out));
  }
  return resolved;
}

}  // namespace sim
}  // namespace tnrt
