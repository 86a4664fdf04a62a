// The libraries libnvinfer opens by bare name at run time, loaded ahead of it by full path.
//
// libnvinfer dlopen()s its builder resource library (libnvinfer_builder_resource.so.<X.Y.Z>,
// per-GPU variants in newer releases) by name when a builder is created. Since TensorRT 8.4
// libnvinfer carries no $ORIGIN RUNPATH, so that name is found only on LD_LIBRARY_PATH, in
// ld.so.cache or in the system directories: a tarball or TENSORRT_ROOT install, whose libnvinfer
// the adapter found through its own RUNPATH, loads fine and then cannot build. A library that is
// already loaded satisfies a later dlopen of its soname, so loading the companions from
// libnvinfer's own directory first makes TensorRT's bare-name open succeed.
#pragma once

#include <filesystem>
#include <string>
#include <vector>

namespace tnrt {
namespace trt {

// [sync] Loads, once per process and from the directory of the libnvinfer in use, every
// builder resource library of the loaded TensorRT version and the lean runtime when present.
// Returns "" when builder resources were found there and all loaded; otherwise what is
// missing or failed and how to fix it. The caller adds that to a builder-creation failure
// only: TensorRT may still find the files on its own search path, so a non-empty answer is
// not a failure by itself. Thread-safe; never throws.
const std::string& preloadBuilderLibraries();

// [sync] Where the libnvinfer in use lives: the directory the loader found it in, then, when it
// is a symlink into another directory, the one it really lives in. TensorRT's other libraries
// (builder resources, the lean runtime, libnvinfer_plugin) ship beside it. Empty, with *error
// set, when that cannot be told. Never throws.
std::vector<std::filesystem::path> libnvinferDirectories(std::string* error);

}  // namespace trt
}  // namespace tnrt
