// The nvinfer1::IInt8Calibrator attached to an implicit-INT8 build (TensorRT 10.x only; 11.0
// removed the interface): forwards TensorRT's calls to the binding's tnrt::Calibrator.
// TensorRT hands getBatch device pointers to fill; this class owns one device buffer per
// network input plus a host staging buffer, lets the tnrt::Calibrator fill the host side, and
// copies it up. An exception from the tnrt::Calibrator cannot cross TensorRT's noexcept
// frames: it is kept, getBatch reports "no more batches", and the builder rethrows it after
// buildSerializedNetwork returns.
#pragma once

#include <NvInfer.h>

#include <exception>
#include <memory>
#include <string>
#include <vector>

#include "backend/backend.h"
#include "tensorrt/trt_version.h"

namespace tnrt {
namespace trt {

#if NV_TENSORRT_MAJOR < 11

// Creates the TensorRT calibrator for `calibrator`'s algorithm. `inputs` describes every network
// input of a batch (name, dtype, shape); the buffers are allocated here.
class TrtCalibratorBridge {
 public:
  TrtCalibratorBridge(Calibrator& calibrator, std::vector<CalibrationInput> inputs);
  ~TrtCalibratorBridge();
  TrtCalibratorBridge(const TrtCalibratorBridge&) = delete;
  TrtCalibratorBridge& operator=(const TrtCalibratorBridge&) = delete;

  // What IBuilderConfig::setInt8Calibrator takes; owned by this bridge.
  nvinfer1::IInt8Calibrator* get() const;
  // Rethrows the first exception the tnrt::Calibrator threw, if any.
  void rethrowError() const;

 private:
  class Impl;
  std::unique_ptr<Impl> impl_;
};

#endif

}  // namespace trt
}  // namespace tnrt
