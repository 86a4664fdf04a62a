// Picks and loads a backend. The sim is linked into the addon; the tensorrt adapter is a
// separate shared library (it links libnvinfer.so.N, nvinfer_N.dll on Windows, which most
// machines lack), opened with dlopen (LoadLibraryExW on Windows) only when asked for, so the
// addon itself loads everywhere.
#pragma once

#include <memory>
#include <string>

#include "backend.h"

namespace tnrt {

// The built-in CPU simulator. Never fails.
std::shared_ptr<Backend> loadSimBackend();

// Opens the adapter library at `path` (once per process; later calls return the same
// backend). Throws BackendError kUnavailable whose message names the cause and the fix.
std::shared_ptr<Backend> loadAdapterBackend(const std::string& path);

}  // namespace tnrt
