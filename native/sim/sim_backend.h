// The sim backend: a CPU simulator of TensorRT, always built into the addon, through which CI
// tests the whole library. See README.md in this directory.
#pragma once

#include <memory>

#include "../backend/backend.h"

namespace tnrt {
namespace sim {

// Reported by Backend::info() and stored in every sim engine.
constexpr const char* kSimVersion = "1.0.0";

std::shared_ptr<Backend> createSimBackend();

}  // namespace sim
}  // namespace tnrt
