// An nvinfer1::IOutputAllocator for one output whose shape depends on the data (NonZero,
// NMS, ...): its size is known only while enqueueV3 runs, so TensorRT asks for memory then
// and reports the final shape. The device buffer is kept across calls and only grows.
#pragma once

#include <NvInferRuntime.h>

#include <cstdint>
#include <string>

#include "backend/backend.h"
#include "tensorrt/cuda_resources.h"

namespace tnrt {
namespace trt {

class OutputAllocator final : public nvinfer1::IOutputAllocator {
 public:
  OutputAllocator() = default;

  // Called by TensorRT inside enqueueV3. Returns nullptr (which fails the enqueue) when the
  // memory cannot be had; error() then says why.
  void* reallocateOutputAsync(char const* tensorName, void* currentMemory, uint64_t size, uint64_t alignment,
                              cudaStream_t stream) noexcept override;
  void notifyShape(char const* tensorName, nvinfer1::Dims const& dims) noexcept override;

  // Forget the previous call's shape and error; the buffer is kept.
  void reset();
  // The buffer TensorRT wrote the output to (null before the first allocation).
  void* data() const { return buffer_.data(); }
  size_t capacity() const { return buffer_.capacity(); }
  bool shapeKnown() const { return shapeKnown_; }
  const Dims& shape() const { return shape_; }
  const std::string& error() const { return error_; }

 private:
  DeviceBuffer buffer_;
  Dims shape_;
  bool shapeKnown_ = false;
  std::string error_;
};

}  // namespace trt
}  // namespace tnrt
