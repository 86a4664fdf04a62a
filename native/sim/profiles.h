// Optimization-profile validation, shared by the builder (user input) and the engine (what a
// plan claims). Mirrors TensorRT's rules: every input with a dynamic dim needs a range in
// every profile, min <= opt <= max, fixed dims must be matched exactly.
#pragma once

#include <string>
#include <vector>

#include "../backend/backend.h"

namespace tnrt {
namespace sim {

// Returns profiles in which profile.inputs[i] describes inputs[i], static inputs filled with
// min = opt = max. With no profiles and no dynamic inputs, returns one implicit profile.
// Throws BackendError: kInvalidArgument for unknown or repeated input names, kShape for
// missing or inconsistent ranges.
// Shape-tensor inputs (TensorDesc::isShapeTensor) need values in every profile: as many as the
// input has elements, min <= opt <= max, within int32 for an int32 input (kShape otherwise); an
// entry with values and no dimensions stands for the input's fixed shape. Values for any other
// input are kInvalidArgument.
std::vector<Profile> resolveProfiles(const std::vector<TensorDesc>& inputs, const std::vector<Profile>& profiles);

// The message for a shape tensor without values: what it is and how to give them.
std::string shapeTensorNeedsValues(const TensorDesc& input);

}  // namespace sim
}  // namespace tnrt
