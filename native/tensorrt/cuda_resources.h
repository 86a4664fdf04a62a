// Small RAII owners for the CUDA runtime objects the adapter uses, and the one helper that
// turns a failed CUDA call into a BackendError. They are grouped in one file pair because
// each is a few lines and none is exposed beyond the adapter.
#pragma once

#include <cuda_runtime_api.h>

#include <cstddef>
#include <new>
#include <string>

#include "backend/backend.h"

namespace tnrt {
namespace trt {

// Throws BackendError kInternal "<what>: <cudaErrorName>: <description>" unless err is success.
void checkCuda(cudaError_t err, const char* what);
// "cudaErrorNoDevice: no CUDA-capable device is detected"
std::string cudaErrorText(cudaError_t err);

// Throws BackendError kInvalidArgument when `device` is not a CUDA device of this machine,
// saying how many there are.
void checkDeviceIndex(int device);

// Makes `device` the current CUDA device of this thread for the scope's life, and restores the
// previous one after: every CUDA and TensorRT call of an object runs on the object's device,
// whichever thread (the event loop, the libuv pool, a builder's thread) makes it, without
// changing the device other code on that thread expects.
class DeviceScope {
 public:
  // Throws BackendError kInternal when the device cannot be made current.
  explicit DeviceScope(int device);
  // For destructors: a failure is ignored (the teardown that follows fails on its own).
  DeviceScope(int device, std::nothrow_t) noexcept;
  ~DeviceScope();
  DeviceScope(const DeviceScope&) = delete;
  DeviceScope& operator=(const DeviceScope&) = delete;

 private:
  int previous_ = -1;  // -1: nothing to restore
};

// A non-blocking stream, so work on it never serializes with the legacy default stream that
// other code in the process (or TensorRT's own initialization) may use. It belongs to
// `device`, which it makes current to create and destroy itself.
class CudaStream {
 public:
  explicit CudaStream(int device);
  ~CudaStream();
  CudaStream(const CudaStream&) = delete;
  CudaStream& operator=(const CudaStream&) = delete;

  cudaStream_t get() const { return stream_; }
  void synchronize(const char* what) const;

 private:
  int device_;
  cudaStream_t stream_ = nullptr;
};

// A timing event of the current device, for measuring the parts of a call on its stream.
class CudaEvent {
 public:
  CudaEvent();
  ~CudaEvent();
  CudaEvent(const CudaEvent&) = delete;
  CudaEvent& operator=(const CudaEvent&) = delete;

  cudaEvent_t get() const { return event_; }
  void record(cudaStream_t stream) const;
  // ms from `start` to this event; both recorded and complete.
  double msSince(const CudaEvent& start) const;

 private:
  cudaEvent_t event_ = nullptr;
};

// Device memory that only grows: reserve() reallocates when asked for more than it holds and
// otherwise keeps the allocation, so steady-state inference allocates nothing. Never empty
// after reserve(), even for zero bytes, because TensorRT refuses null tensor addresses.
class DeviceBuffer {
 public:
  DeviceBuffer() = default;
  ~DeviceBuffer();
  DeviceBuffer(const DeviceBuffer&) = delete;
  DeviceBuffer& operator=(const DeviceBuffer&) = delete;
  DeviceBuffer(DeviceBuffer&& other) noexcept;
  DeviceBuffer& operator=(DeviceBuffer&& other) noexcept;

  // The old contents are not preserved. The caller must make sure no queued work still uses
  // the old allocation (every execute() ends with a stream synchronize).
  void reserve(size_t bytes);
  void* data() const { return data_; }
  size_t capacity() const { return capacity_; }

 private:
  void release() noexcept;
  void* data_ = nullptr;
  size_t capacity_ = 0;
};

// Page-locked host memory with the same grow-only behaviour. Copies between pinned memory and
// the device are truly asynchronous DMA; from pageable memory the driver would stage them
// through its own bounce buffer synchronously.
class PinnedHostBuffer {
 public:
  PinnedHostBuffer() = default;
  ~PinnedHostBuffer();
  PinnedHostBuffer(const PinnedHostBuffer&) = delete;
  PinnedHostBuffer& operator=(const PinnedHostBuffer&) = delete;
  PinnedHostBuffer(PinnedHostBuffer&& other) noexcept;
  PinnedHostBuffer& operator=(PinnedHostBuffer&& other) noexcept;

  void reserve(size_t bytes);
  void* data() const { return data_; }
  size_t capacity() const { return capacity_; }

 private:
  void release() noexcept;
  void* data_ = nullptr;
  size_t capacity_ = 0;
};

}  // namespace trt
}  // namespace tnrt
