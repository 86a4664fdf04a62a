// The double's runtime side: IRuntime, ICudaEngine and IExecutionContext over the sim.
#pragma once

#include <map>
#include <memory>
#include <mutex>

#include "double_common.h"

namespace tnrt {
namespace sim {
class ShapeInference;
class SimEngine;
}
}  // namespace tnrt

namespace tnrt_double {

class DoubleEngine;

// Checks TensorRT's rule that an object is used by one thread at a time. Reentry from the
// same thread (a callback calling back in) is allowed.
class OneThread {
 public:
  class Scope {
   public:
    Scope(OneThread& owner, const char* rule, const char* member);
    ~Scope();

   private:
    OneThread& owner_;
    bool outer_ = false;
  };
  bool busy() const { return owner_.load() != std::thread::id(); }

 private:
  std::atomic<std::thread::id> owner_{};
};

class DoubleRuntime final : public nvinfer1::IRuntime, public nvinfer1::apiv::StubVRuntime {
 public:
  explicit DoubleRuntime(nvinfer1::ILogger* logger);
  ~DoubleRuntime() noexcept override;

  nvinfer1::IRuntime* getPImpl() noexcept override { return this; }
  nvinfer1::ICudaEngine* deserializeCudaEngine(void const* blob, std::size_t size) noexcept override;
  nvinfer1::ILogger* getLogger() const noexcept override { return logger_.get(); }
  int32_t getNbDLACores() const noexcept override { return 0; }
  bool setMaxThreads(int32_t) noexcept override { return true; }
  int32_t getMaxThreads() const noexcept override { return 1; }
  void setEngineHostCodeAllowed(bool allowed) noexcept override {
    alive_.check("setEngineHostCodeAllowed");
    hostCodeAllowed_ = allowed;
  }
  bool getEngineHostCodeAllowed() const noexcept override { return hostCodeAllowed_; }

  const Logger& logger() const { return logger_; }
  Children& engines() { return engines_; }

 private:
  Alive alive_{"IRuntime", Alive::kOnDevice};
  bool hostCodeAllowed_ = false;  // TensorRT's default
  Logger logger_;
  std::shared_ptr<SimLogSink> sink_;
  std::shared_ptr<tnrt::Runtime> sim_;
  Children engines_;
};

class DoubleEngine final : public nvinfer1::ICudaEngine, public nvinfer1::apiv::StubVCudaEngine {
 public:
  struct Io {
    std::string name;
    bool isInput = false;
    tnrt::Dims shape;  // -1: dynamic
    nvinfer1::DataType type = nvinfer1::DataType::kFLOAT;
    tnrt::DataType simType = tnrt::DataType::kFloat32;
    bool isShapeTensor = false;  // an input TensorRT reads on the host (TensorLocation::kHOST)
  };

  // `weights`: the device memory the engine's weights occupy (cudaMalloc'd; freed with it).
  DoubleEngine(DoubleRuntime& runtime, std::shared_ptr<tnrt::Engine> sim, std::vector<Io> io, void* weights,
               PlanInfo plan);
  ~DoubleEngine() noexcept override;

  nvinfer1::ICudaEngine* getPImpl() noexcept override { return this; }
  int32_t getNbLayers() const noexcept override;
  nvinfer1::IHostMemory* serialize() const noexcept override;
  nvinfer1::IExecutionContext* createExecutionContext(nvinfer1::ExecutionContextAllocationStrategy strategy) noexcept override;
#if NV_TENSORRT_MAJOR < 11
  size_t getDeviceMemorySize() const noexcept override;
#endif
  int64_t getDeviceMemorySizeV2() const noexcept override;
  char const* getName() const noexcept override { return ""; }
  int32_t getNbOptimizationProfiles() const noexcept override;
  nvinfer1::Dims getTensorShape(char const* tensorName) const noexcept override;
  nvinfer1::DataType getTensorDataType(char const* tensorName) const noexcept override;
  nvinfer1::TensorLocation getTensorLocation(char const* tensorName) const noexcept override;
  nvinfer1::TensorIOMode getTensorIOMode(char const* tensorName) const noexcept override;
  nvinfer1::Dims getProfileShape(char const* tensorName, int32_t profileIndex,
                                 nvinfer1::OptProfileSelector select) const noexcept override;
  int32_t getNbIOTensors() const noexcept override;
  char const* getIOTensorName(int32_t index) const noexcept override;
  bool isShapeInferenceIO(char const* tensorName) const noexcept override;
  nvinfer1::ProfilingVerbosity getProfilingVerbosity() const noexcept override { return plan_.profilingVerbosity; }
  // A DoubleInspector (double_inspector.h), which must die before the engine.
  nvinfer1::IEngineInspector* createEngineInspector() const noexcept override;
#if NV_TENSORRT_MAJOR < 11
  int32_t const* getProfileTensorValues(char const* tensorName, int32_t profileIndex,
                                        nvinfer1::OptProfileSelector select) const noexcept override;
#endif
#if TNRT_DOUBLE_HAS_SHAPE_VALUES_V2
  int64_t const* getProfileTensorValuesV2(char const* tensorName, int32_t profileIndex,
                                          nvinfer1::OptProfileSelector select) const noexcept override;
#endif

  // For contexts.
  const Io* find(const char* name) const;
  const std::vector<Io>& io() const { return io_; }
  // min and max of `input` in `profile`, from the sim (static inputs: their shape).
  bool profileRange(const Io& input, int32_t profile, tnrt::Dims* min, tnrt::Dims* opt, tnrt::Dims* max) const;
  // Output shapes for the given input shapes (parallel to the inputs in io()) and shape-tensor
  // values (parallel too; empty for other inputs); -1 where data decide. False with a reason
  // when shape inference fails.
  bool inferOutputShapes(const std::vector<tnrt::Dims>& inputShapes, const std::vector<std::vector<int64_t>>& values,
                         std::map<std::string, tnrt::Dims>* out, std::string* why) const;
  // The shapes of every tensor of the graph for the given input shapes and values (as
  // inferOutputShapes); null with a reason when shape inference fails.
  std::unique_ptr<tnrt::sim::ShapeInference> inferShapes(const std::vector<tnrt::Dims>& inputShapes,
                                                         const std::vector<std::vector<int64_t>>& values,
                                                         std::string* why) const;
  // The min/max values of shape tensor `input` in `profile`; false if it has none.
  bool profileValues(const Io& input, int32_t profile, std::vector<int64_t>* min, std::vector<int64_t>* max) const;
  const Logger& logger() const { return runtime_.logger(); }
  tnrt::Engine& sim() const { return *sim_; }
  Children& contexts() { return contexts_; }
  Children& inspectors() { return inspectors_; }
  const tnrt::sim::SimEngine* simEngine() const { return simEngine_; }
  int device() const { return alive_.device(); }
  // Whether float32 outputs come out rounded to TF32, as tensor-core matrix math leaves them:
  // built with kTF32, the network multiplies matrices (MatMul, Gemm, Conv, ConvTranspose), and
  // TNRT_DOUBLE_TF32=1 asks for it (off by default, so suites comparing with float32
  // references keep their tolerances).
  bool roundsToTf32() const;

 private:
  Alive alive_{"ICudaEngine", Alive::kOnDevice};
  PlanInfo plan_;
  DoubleRuntime& runtime_;
  std::shared_ptr<tnrt::Engine> sim_;
  const tnrt::sim::SimEngine* simEngine_;
  std::vector<Io> io_;
  void* weights_;
  Children contexts_;
  Children inspectors_;
  // getProfileTensorValues(V2) hand out pointers that live as long as the engine: per
  // "input/profile/selector", the values as the sim engine holds them.
  mutable std::mutex valuesMutex_;
  mutable std::map<std::string, std::vector<int64_t>> values64_;
  mutable std::map<std::string, std::vector<int32_t>> values32_;
  const std::vector<int64_t>* storedValues(const char* member, char const* tensorName, int32_t profileIndex,
                                           nvinfer1::OptProfileSelector select) const;
};

class DoubleContext final : public nvinfer1::IExecutionContext, public nvinfer1::apiv::StubVExecutionContext {
 public:
  // `activations`: the context's device memory (cudaMalloc'd; freed with it), or null for a
  // context created with ExecutionContextAllocationStrategy::kUSER_MANAGED.
  DoubleContext(DoubleEngine& engine, void* activations, bool userManaged);
  ~DoubleContext() noexcept override;

  nvinfer1::IExecutionContext* getPImpl() noexcept override { return this; }
  nvinfer1::ICudaEngine const& getEngine() const noexcept override { return engine_; }
  char const* getName() const noexcept override { return ""; }
  int32_t getOptimizationProfile() const noexcept override { return profile_; }
  bool setOptimizationProfileAsync(int32_t profileIndex, cudaStream_t stream) noexcept override;
  bool setInputShape(char const* tensorName, nvinfer1::Dims const& dims) noexcept override;
  nvinfer1::Dims getTensorShape(char const* tensorName) const noexcept override;
  bool setTensorAddress(char const* tensorName, void* data) noexcept override;
  void const* getTensorAddress(char const* tensorName) const noexcept override;
  bool setOutputAllocator(char const* tensorName, nvinfer1::IOutputAllocator* outputAllocator) noexcept override;
  nvinfer1::IOutputAllocator* getOutputAllocator(char const* name) noexcept override;
  bool enqueueV3(cudaStream_t stream) noexcept override;
  // Lowering is allowed, raising above the engine's ProfilingVerbosity is refused (returns
  // false), as the header says; each change is logged at kVERBOSE so that tests can see it.
  bool setNvtxVerbosity(nvinfer1::ProfilingVerbosity verbosity) noexcept override;
  nvinfer1::ProfilingVerbosity getNvtxVerbosity() const noexcept override { return nvtx_; }

  // For an inspector: every input's shape and every shape tensor's values, parallel to the
  // inputs in io(); false while a dynamic input has no shape or a shape tensor no address.
  bool inputShapes(std::vector<tnrt::Dims>* shapes, std::vector<std::vector<int64_t>>* values) const;

 private:
  struct Binding {
    bool shapeSet = false;
    tnrt::Dims shape;
    void* address = nullptr;
    bool addressSet = false;
    nvinfer1::IOutputAllocator* allocator = nullptr;
  };
  Binding* binding(const char* name, const char* member) const;
  bool run(cudaStream_t stream);
  // The values of every shape-tensor input (parallel to the inputs in io(); empty for the
  // others), read from the host memory its address points at. False, and `unset` true, when a
  // shape tensor has no address yet; false with an error logged when a value lies outside the
  // active profile. Aborts when a shape tensor's address is device memory.
  bool shapeValues(const char* member, std::vector<std::vector<int64_t>>* values, bool* unset) const;

  Alive alive_{"IExecutionContext", Alive::kOnDevice};
  DoubleEngine& engine_;
  void* activations_;
  std::unique_ptr<tnrt::ExecutionContext> sim_;
  bool userManaged_;
  nvinfer1::ProfilingVerbosity nvtx_;
  int32_t profile_ = 0;
  int32_t simProfile_ = 0;
  mutable std::map<std::string, Binding> bindings_;
  mutable OneThread thread_;
  std::atomic<int> pending_{0};  // enqueueV3 work not yet run by its stream
};

}  // namespace tnrt_double
