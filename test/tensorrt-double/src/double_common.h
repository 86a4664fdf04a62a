// Shared pieces of the double's libnvinfer: logging into the application's ILogger, type and
// shape conversions between TensorRT and the sim, the plan wrapper, and lifetime checks.
#pragma once

#include <NvInfer.h>

#include <atomic>
#include <cstdint>
#include <mutex>
#include <string>
#include <thread>
#include <vector>

#include "backend/backend.h"
#include "double_contract.h"
#include "stubs.h"

// IOptimizationProfile::setShapeValuesV2 and ICudaEngine::getProfileTensorValuesV2 (int64_t
// shape-tensor values) exist from TensorRT 10.11.
#define TNRT_DOUBLE_HAS_SHAPE_VALUES_V2 \
  (NV_TENSORRT_MAJOR > 10 || (NV_TENSORRT_MAJOR == 10 && NV_TENSORRT_MINOR >= 11))

namespace tnrt_double {

// The application's logger, as TensorRT uses it: every message goes through log().
class Logger {
 public:
  explicit Logger(nvinfer1::ILogger* logger) : logger_(logger) {}
  void error(const std::string& text) const { log(nvinfer1::ILogger::Severity::kERROR, text); }
  void warning(const std::string& text) const { log(nvinfer1::ILogger::Severity::kWARNING, text); }
  void info(const std::string& text) const { log(nvinfer1::ILogger::Severity::kINFO, text); }
  void log(nvinfer1::ILogger::Severity severity, const std::string& text) const {
    if (logger_) logger_->log(severity, text.c_str());
  }
  nvinfer1::ILogger* get() const { return logger_; }

 private:
  nvinfer1::ILogger* logger_;
};

// tnrt::LogSink over the application's logger, for the sim objects the double drives.
class SimLogSink final : public tnrt::LogSink {
 public:
  explicit SimLogSink(nvinfer1::ILogger* logger) : logger_(logger) {}
  void log(tnrt::Severity severity, const std::string& message) override;

 private:
  Logger logger_;
};

bool toTrt(tnrt::DataType in, nvinfer1::DataType* out);
bool fromTrt(nvinfer1::DataType in, tnrt::DataType* out);
nvinfer1::Dims toTrtDims(const tnrt::Dims& d);
tnrt::Dims fromTrtDims(const nvinfer1::Dims& d);
std::string dimsText(const nvinfer1::Dims& d);

// What a double plan records beside the sim engine: the builder flags that change how it loads
// or computes, and the plugins its layers use.
struct PlanInfo {
  bool versionCompatible = false;   // kVERSION_COMPATIBLE: carries a lean runtime (host code)...
  bool excludeLeanRuntime = false;  // ...unless kEXCLUDE_LEAN_RUNTIME left it out
  bool tf32 = false;                // kTF32 (TNRT_DOUBLE_TF32=1 then rounds float32 outputs)
  std::vector<std::string> plugins;  // plugin creators its layers need at deserialization
  // IBuilderConfig::setProfilingVerbosity: what IEngineInspector may tell about the layers.
  nvinfer1::ProfilingVerbosity profilingVerbosity = nvinfer1::ProfilingVerbosity::kLAYER_NAMES_ONLY;
};

// A double plan is the sim engine behind a small header naming the double and the TensorRT
// major it was built for (so a plan of another major is refused as TensorRT refuses it), then
// the PlanInfo.
std::vector<uint8_t> wrapPlan(const std::vector<uint8_t>& simEngine, const PlanInfo& info);
// Returns false and says why when `data` is not a plan of this double.
bool unwrapPlan(const uint8_t* data, size_t size, const uint8_t** simEngine, size_t* simSize, PlanInfo* info,
                std::string* why);

// Counts the live objects made by a parent, so the parent's destruction can check TensorRT's
// rule that it outlives them.
class Children {
 public:
  void add() { count_.fetch_add(1); }
  void remove() { count_.fetch_sub(1); }
  int live() const { return count_.load(); }

 private:
  std::atomic<int> count_{0};
};

// Every double object starts with a live marker that its destructor clears, so a call
// through a destroyed object (in memory not yet reused) is reported, not silently run. A
// device-bound object (builder, network, config, parser, runtime, engine, context) belongs to
// the CUDA device current when it was made, and each check also checks that that device is
// current on the calling thread, as every call of such an object must run on its device.
class Alive {
 public:
  enum DeviceBound { kOnDevice };
  explicit Alive(const char* kind) : kind_(kind) {}
  Alive(const char* kind, DeviceBound) : kind_(kind), device_(currentDevice()) {}
  ~Alive() { magic_ = 0xDEADDEADu; }
  void check(const char* member) const {
    if (magic_ != kMagic) {
      violation("no use of a TensorRT object after it is destroyed",
                std::string(kind_) + "::" + member + " called on a destroyed object");
    }
    if (device_ >= 0 && currentDevice() != device_) {
      violation("every call of a TensorRT object runs with the object's CUDA device current (cudaSetDevice)",
                std::string(kind_) + "::" + member + " called with device " + std::to_string(currentDevice()) +
                    " current; the object belongs to device " + std::to_string(device_));
    }
  }
  int device() const { return device_; }

 private:
  static constexpr uint32_t kMagic = 0x7D0B1E5u;
  uint32_t magic_ = kMagic;
  const char* kind_;
  int device_ = -1;  // -1: not bound to a device
};

// The IHostMemory the double returns: plans and serialized timing caches.
class DoubleHostMemory final : public nvinfer1::IHostMemory, public nvinfer1::apiv::StubVHostMemory {
 public:
  explicit DoubleHostMemory(std::vector<uint8_t> bytes) : bytes_(std::move(bytes)) { mImpl = this; }
  void* data() const noexcept override {
    alive_.check("data");
    return const_cast<uint8_t*>(bytes_.data());
  }
  std::size_t size() const noexcept override {
    alive_.check("size");
    return bytes_.size();
  }
  nvinfer1::DataType type() const noexcept override { return nvinfer1::DataType::kUINT8; }

 private:
  Alive alive_{"IHostMemory"};
  std::vector<uint8_t> bytes_;
};

// The sim backend every double object uses.
std::shared_ptr<tnrt::Backend> simBackend();

}  // namespace tnrt_double
