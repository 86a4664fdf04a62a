#include "tensorrt/cuda_resources.h"

#include <utility>

namespace tnrt {
namespace trt {

namespace {
// cudaMalloc returns 256-byte aligned memory; rounding requests up to the same granule keeps
// small shape changes from reallocating, and gives zero-byte tensors a real address.
constexpr size_t kGranule = 256;
size_t roundUp(size_t bytes) { return bytes == 0 ? kGranule : (bytes + kGranule - 1) / kGranule * kGranule; }
}  // namespace

std::string cudaErrorText(cudaError_t err) {
  const char* name = cudaGetErrorName(err);
  const char* text = cudaGetErrorString(err);
  return std::string(name ? name : "cudaError") + ": " + (text ? text : "unknown error");
}

void checkCuda(cudaError_t err, const char* what) {
  if (err == cudaSuccess) return;
  throw BackendError(ErrorCode::kInternal, std::string(what) + " failed: " + cudaErrorText(err));
}

void checkDeviceIndex(int device) {
  int count = 0;
  checkCuda(cudaGetDeviceCount(&count), "cudaGetDeviceCount");
  if (device >= 0 && device < count) return;
  throw BackendError(ErrorCode::kInvalidArgument,
                     "device " + std::to_string(device) + " does not exist: CUDA sees " + std::to_string(count) +
                         (count == 1 ? " device (0)" : " devices (0 to " + std::to_string(count - 1) + ")") +
                         ". Pick one of those; CUDA_VISIBLE_DEVICES, if set, chooses and renumbers them");
}

DeviceScope::DeviceScope(int device) {
  int current = 0;
  checkCuda(cudaGetDevice(&current), "cudaGetDevice");
  if (current == device) return;
  checkCuda(cudaSetDevice(device), ("cudaSetDevice(" + std::to_string(device) + ")").c_str());
  previous_ = current;
}

DeviceScope::DeviceScope(int device, std::nothrow_t) noexcept {
  int current = 0;
  if (cudaGetDevice(&current) != cudaSuccess || current == device) return;
  if (cudaSetDevice(device) == cudaSuccess) previous_ = current;
}

DeviceScope::~DeviceScope() {
  if (previous_ >= 0) (void)cudaSetDevice(previous_);
}

CudaStream::CudaStream(int device) : device_(device) {
  DeviceScope scope(device_);
  checkCuda(cudaStreamCreateWithFlags(&stream_, cudaStreamNonBlocking), "cudaStreamCreate");
}

CudaStream::~CudaStream() {
  if (stream_) {
    DeviceScope scope(device_, std::nothrow);
    // A destructor cannot report failure; the stream is gone either way.
    (void)cudaStreamSynchronize(stream_);
    (void)cudaStreamDestroy(stream_);
  }
}

void CudaStream::synchronize(const char* what) const { checkCuda(cudaStreamSynchronize(stream_), what); }

CudaEvent::CudaEvent() { checkCuda(cudaEventCreate(&event_), "cudaEventCreate"); }

CudaEvent::~CudaEvent() {
  if (event_) (void)cudaEventDestroy(event_);
}

void CudaEvent::record(cudaStream_t stream) const { checkCuda(cudaEventRecord(event_, stream), "cudaEventRecord"); }

double CudaEvent::msSince(const CudaEvent& start) const {
  float ms = 0;
  checkCuda(cudaEventElapsedTime(&ms, start.event_, event_), "cudaEventElapsedTime");
  return ms;
}

DeviceBuffer::~DeviceBuffer() { release(); }

DeviceBuffer::DeviceBuffer(DeviceBuffer&& other) noexcept
    : data_(std::exchange(other.data_, nullptr)), capacity_(std::exchange(other.capacity_, 0)) {}

DeviceBuffer& DeviceBuffer::operator=(DeviceBuffer&& other) noexcept {
  if (this != &other) {
    release();
    data_ = std::exchange(other.data_, nullptr);
    capacity_ = std::exchange(other.capacity_, 0);
  }
  return *this;
}

void DeviceBuffer::reserve(size_t bytes) {
  if (data_ && bytes <= capacity_) return;
  const size_t size = roundUp(bytes);
  // Free first: holding both allocations at once could fail on a nearly full GPU.
  release();
  checkCuda(cudaMalloc(&data_, size), ("cudaMalloc(" + std::to_string(size) + " bytes)").c_str());
  capacity_ = size;
}

void DeviceBuffer::release() noexcept {
  if (data_) (void)cudaFree(data_);
  data_ = nullptr;
  capacity_ = 0;
}

PinnedHostBuffer::~PinnedHostBuffer() { release(); }

PinnedHostBuffer::PinnedHostBuffer(PinnedHostBuffer&& other) noexcept
    : data_(std::exchange(other.data_, nullptr)), capacity_(std::exchange(other.capacity_, 0)) {}

PinnedHostBuffer& PinnedHostBuffer::operator=(PinnedHostBuffer&& other) noexcept {
  if (this != &other) {
    release();
    data_ = std::exchange(other.data_, nullptr);
    capacity_ = std::exchange(other.capacity_, 0);
  }
  return *this;
}

void PinnedHostBuffer::reserve(size_t bytes) {
  if (data_ && bytes <= capacity_) return;
  const size_t size = roundUp(bytes);
  release();
  checkCuda(cudaMallocHost(&data_, size), ("cudaMallocHost(" + std::to_string(size) + " bytes)").c_str());
  capacity_ = size;
}

void PinnedHostBuffer::release() noexcept {
  if (data_) (void)cudaFreeHost(data_);
  data_ = nullptr;
  capacity_ = 0;
}

}  // namespace trt
}  // namespace tnrt
