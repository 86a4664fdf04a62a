#include "tensorrt/calibrator.h"

#if NV_TENSORRT_MAJOR < 11

#include <cstring>
#include <mutex>
#include <utility>

#include "tensorrt/cuda_resources.h"

namespace tnrt {
namespace trt {

namespace {

// The state both calibrator flavours share; the flavour only decides getAlgorithm().
class CalibratorCore {
 public:
  CalibratorCore(Calibrator& calibrator, std::vector<CalibrationInput> inputs)
      : calibrator_(calibrator), inputs_(std::move(inputs)) {
    host_.resize(inputs_.size());
    device_.resize(inputs_.size());
    for (size_t i = 0; i < inputs_.size(); ++i) {
      host_[i].resize(inputs_[i].bytes);
      inputs_[i].data = host_[i].data();
      device_[i].reserve(inputs_[i].bytes);
    }
  }

  int32_t batchSize() const noexcept { return calibrator_.batchSize(); }

  bool getBatch(void* bindings[], char const* names[], int32_t nbBindings) noexcept {
    try {
      if (error_) return false;
      if (!calibrator_.getBatch(inputs_)) return false;
      // TensorRT names the inputs it wants; match by name, never by position.
      for (int32_t b = 0; b < nbBindings; ++b) {
        size_t i = 0;
        while (i < inputs_.size() && inputs_[i].name != names[b]) ++i;
        if (i == inputs_.size())
          throw BackendError(ErrorCode::kInternal, std::string("TensorRT asked the calibrator for an unknown input '") +
                                                       names[b] + "'");
        checkCuda(cudaMemcpy(device_[i].data(), host_[i].data(), inputs_[i].bytes, cudaMemcpyHostToDevice),
                  "copying a calibration batch to the GPU");
        bindings[b] = device_[i].data();
      }
      return true;
    } catch (...) {
      keep(std::current_exception());
      return false;
    }
  }

  void const* readCalibrationCache(std::size_t& length) noexcept {
    try {
      cache_ = calibrator_.readCache();
    } catch (...) {
      keep(std::current_exception());
      cache_.clear();
    }
    length = cache_.size();
    return cache_.empty() ? nullptr : cache_.data();
  }

  void writeCalibrationCache(void const* ptr, std::size_t length) noexcept {
    try {
      const auto* bytes = static_cast<const uint8_t*>(ptr);
      calibrator_.writeCache(std::vector<uint8_t>(bytes, bytes + length));
    } catch (...) {
      keep(std::current_exception());
    }
  }

  void rethrow() const {
    std::lock_guard<std::mutex> lock(mutex_);
    if (error_) std::rethrow_exception(error_);
  }

 private:
  void keep(std::exception_ptr e) noexcept {
    std::lock_guard<std::mutex> lock(mutex_);
    if (!error_) error_ = std::move(e);
  }

  Calibrator& calibrator_;
  std::vector<CalibrationInput> inputs_;
  std::vector<std::vector<uint8_t>> host_;
  std::vector<DeviceBuffer> device_;
  // readCalibrationCache's pointer must stay valid until TensorRT is done with it; it is
  // read during the build, so keeping it for the bridge's lifetime suffices.
  std::vector<uint8_t> cache_;
  mutable std::mutex mutex_;
  std::exception_ptr error_;
};

template <typename Base>
class Forwarding final : public Base {
 public:
  explicit Forwarding(CalibratorCore& core) : core_(core) {}
  int32_t getBatchSize() const noexcept override { return core_.batchSize(); }
  bool getBatch(void* bindings[], char const* names[], int32_t nbBindings) noexcept override {
    return core_.getBatch(bindings, names, nbBindings);
  }
  void const* readCalibrationCache(std::size_t& length) noexcept override { return core_.readCalibrationCache(length); }
  void writeCalibrationCache(void const* ptr, std::size_t length) noexcept override {
    core_.writeCalibrationCache(ptr, length);
  }

 private:
  CalibratorCore& core_;
};

}  // namespace

class TrtCalibratorBridge::Impl {
 public:
  Impl(Calibrator& calibrator, std::vector<CalibrationInput> inputs) : core(calibrator, std::move(inputs)) {
    if (calibrator.algorithm() == CalibrationAlgorithm::kMinMax)
      trt = std::make_unique<Forwarding<nvinfer1::IInt8MinMaxCalibrator>>(core);
    else
      trt = std::make_unique<Forwarding<nvinfer1::IInt8EntropyCalibrator2>>(core);
  }
  // Declared after core, destroyed before it: the forwarder refers to it.
  CalibratorCore core;
  std::unique_ptr<nvinfer1::IInt8Calibrator> trt;
};

TrtCalibratorBridge::TrtCalibratorBridge(Calibrator& calibrator, std::vector<CalibrationInput> inputs)
    : impl_(std::make_unique<Impl>(calibrator, std::move(inputs))) {}

TrtCalibratorBridge::~TrtCalibratorBridge() = default;

nvinfer1::IInt8Calibrator* TrtCalibratorBridge::get() const { return impl_->trt.get(); }

void TrtCalibratorBridge::rethrowError() const { impl_->core.rethrow(); }

}  // namespace trt
}  // namespace tnrt

#endif  // NV_TENSORRT_MAJOR < 11
