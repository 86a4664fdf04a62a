// Optimization-profile validation, shared by the builder (user input) and the engine (what a
// plan claims). Mirrors TensorRT's rules: every input with a dynamic dim needs a range in
// every profile, min <= opt <= max, fixed dims must be matched exactly.
#pragma once

#include <vector>

#include "../backend/backend.h"

namespace tnrt {
namespace sim {

// Returns profiles in which profile.inputs[i] describes inputs[i], static inputs filled with
// min = opt = max. With no profiles and no dynamic inputs, returns one implicit profile.
// Throws BackendError: kInvalidArgument for unknown or repeated input names, kShape for
// missing or inconsistent ranges.
std::vector<Profile> resolveProfiles(const std::vector<TensorDesc>& inputs, const std::vector<Profile>& profiles);

}  // namespace sim
}  // namespace tnrt
