#include "tensorrt/output_allocator.h"

#include "tensorrt/type_mapping.h"

namespace tnrt {
namespace trt {

void* OutputAllocator::reallocateOutputAsync(char const* /*tensorName*/, void* /*currentMemory*/, uint64_t size,
                                             uint64_t alignment, cudaStream_t /*stream*/) noexcept {
  try {
    // cudaMalloc (inside reserve) is synchronous, which is fine here: this runs at most when
    // an output outgrows every earlier call's.
    buffer_.reserve(static_cast<size_t>(size));
    if (alignment > 1 && reinterpret_cast<uintptr_t>(buffer_.data()) % alignment != 0) {
      error_ = "TensorRT asked for " + std::to_string(alignment) + "-byte alignment, more than cudaMalloc guarantees";
      return nullptr;
    }
    return buffer_.data();
  } catch (const std::exception& e) {
    error_ = e.what();
  } catch (...) {
    error_ = "unknown error while allocating an output";
  }
  return nullptr;
}

void OutputAllocator::notifyShape(char const* /*tensorName*/, nvinfer1::Dims const& dims) noexcept {
  try {
    shape_ = fromTrtDims(dims);
    shapeKnown_ = dims.nbDims >= 0;
  } catch (...) {
    shapeKnown_ = false;  // allocation failure in the vector; reported as an unknown shape
  }
}

void OutputAllocator::reset() {
  shape_.clear();
  shapeKnown_ = false;
  error_.clear();
}

}  // namespace trt
}  // namespace tnrt
