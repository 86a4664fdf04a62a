#include "tensorrt/engine.h"

#include <algorithm>
#include <utility>

#include "tensorrt/cuda_resources.h"
#include "tensorrt/execution_context.h"
#include "tensorrt/trt_version.h"
#include "tensorrt/type_mapping.h"

namespace tnrt {
namespace trt {

TrtEngine::TrtEngine(std::shared_ptr<TrtRuntime> runtime, std::unique_ptr<nvinfer1::ICudaEngine> engine,
                     uint64_t planBytes)
    : runtime_(std::move(runtime)), engine_(std::move(engine)), device_(runtime_->device()), planBytes_(planBytes) {
  DeviceScope device(device_);
  std::vector<TensorDesc> outputs;
  for (int32_t i = 0; i < engine_->getNbIOTensors(); ++i) {
    const char* name = engine_->getIOTensorName(i);
    const nvinfer1::TensorIOMode mode = engine_->getTensorIOMode(name);
    if (mode == nvinfer1::TensorIOMode::kNONE) continue;
    TensorDesc desc;
    desc.name = name;
    desc.isInput = mode == nvinfer1::TensorIOMode::kINPUT;
    desc.shape = fromTrtDims(engine_->getTensorShape(name));
    // An input TensorRT reads on the host to compute shapes (its profile holds values).
    desc.isShapeTensor = desc.isInput && engine_->isShapeInferenceIO(name);
    const nvinfer1::DataType type = engine_->getTensorDataType(name);
    if (!fromTrtDataType(type, &desc.dtype)) {
      throw BackendError(ErrorCode::kUnsupported, "engine tensor '" + desc.name + "' has element type " +
                                                      trtDataTypeName(type) + ", which tensorrt-node does not support");
    }
    (desc.isInput ? io_ : outputs).push_back(std::move(desc));
  }
  io_.insert(io_.end(), std::make_move_iterator(outputs.begin()), std::make_move_iterator(outputs.end()));
}

TrtEngine::~TrtEngine() {
  // Before the runtime (a member, released after this body), on the engine's device.
  DeviceScope device(device_, std::nothrow);
  engine_.reset();
}

int32_t TrtEngine::numOptimizationProfiles() const {
  DeviceScope device(device_);
  return engine_->getNbOptimizationProfiles();
}

InputProfile TrtEngine::profileShapes(int32_t profile, const std::string& input) const {
  DeviceScope device(device_);
  const int32_t count = engine_->getNbOptimizationProfiles();
  if (profile < 0 || profile >= count) {
    throw BackendError(ErrorCode::kInvalidArgument, "optimization profile " + std::to_string(profile) +
                                                        " does not exist (the engine has " + std::to_string(count) + ")");
  }
  const TensorDesc* desc = nullptr;
  for (const auto& t : io_)
    if (t.isInput && t.name == input) desc = &t;
  if (!desc) throw BackendError(ErrorCode::kInvalidArgument, "'" + input + "' is not an input of the engine");

  InputProfile out;
  out.input = input;
  out.min = fromTrtDims(engine_->getProfileShape(input.c_str(), profile, nvinfer1::OptProfileSelector::kMIN));
  out.opt = fromTrtDims(engine_->getProfileShape(input.c_str(), profile, nvinfer1::OptProfileSelector::kOPT));
  out.max = fromTrtDims(engine_->getProfileShape(input.c_str(), profile, nvinfer1::OptProfileSelector::kMAX));
  if (desc->isShapeTensor) {
    // A shape tensor's dimensions are fixed; its values have one entry per element.
    const int64_t count = volume(desc->shape);
    const std::pair<nvinfer1::OptProfileSelector, std::vector<int64_t>*> ends[] = {
        {nvinfer1::OptProfileSelector::kMIN, &out.minValues},
        {nvinfer1::OptProfileSelector::kOPT, &out.optValues},
        {nvinfer1::OptProfileSelector::kMAX, &out.maxValues}};
    for (const auto& [select, values] : ends) {
#if TNRT_TRT_HAS_SHAPE_VALUES_V2
      const int64_t* given = engine_->getProfileTensorValuesV2(input.c_str(), profile, select);
#else
      const int32_t* given = engine_->getProfileTensorValues(input.c_str(), profile, select);
#endif
      if (!given || count < 0) {
        throw BackendError(ErrorCode::kInternal, "TensorRT reports no shape values for shape tensor '" + input +
                                                     "' in optimization profile " + std::to_string(profile));
      }
      values->assign(given, given + count);
    }
  }
  return out;
}

uint64_t TrtEngine::deviceMemorySize() const {
  DeviceScope device(device_);
#if TNRT_TRT_HAS_DEVICE_MEMORY_SIZE_V2
  const int64_t bytes = engine_->getDeviceMemorySizeV2();
  return bytes > 0 ? static_cast<uint64_t>(bytes) : 0;
#else
  return static_cast<uint64_t>(engine_->getDeviceMemorySize());
#endif
}

int32_t TrtEngine::numLayers() const {
  DeviceScope device(device_);
  return engine_->getNbLayers();
}

std::string TrtEngine::engineInformation() const {
  DeviceScope device(device_);
  const uint64_t mark = logger().mark();
  // Declared before the inspector, so that the inspector goes first: it may point at the
  // context, and the context at the shape values.
  std::vector<std::vector<int64_t>> values64;
  std::vector<std::vector<int32_t>> values32;
  std::unique_ptr<nvinfer1::IExecutionContext> context;
  std::unique_ptr<nvinfer1::IEngineInspector> inspector;
  {
    // Only the calls that touch the engine's state hold the lock; reading the report, which
    // can take long for a large engine, does not block contexts being created meanwhile.
    std::lock_guard<std::mutex> lock(mutex_);
    inspector.reset(engine_->createEngineInspector());
  }
  if (!inspector) throw BackendError(ErrorCode::kInternal, logger().describeFailure("TensorRT could not create an engine inspector", mark));
  // Without a context whose input shapes are set, TensorRT shows -1 for every shape that
  // depends on the inputs and leaves the tensors' formats (and so the layers' types) out. A
  // private context at profile 0's opt shapes gives both; it is kUSER_MANAGED, so it takes no
  // activation memory, and it never runs. A session's context is never borrowed: it may be
  // running, and the inspector would read shapes a caller is changing.
  // Shapes depend on the inputs when an input's are dynamic or a shape tensor's values decide them.
  bool dynamic = false;
  for (const TensorDesc& t : io_) {
    if (t.isInput) dynamic = dynamic || t.isShapeTensor || std::any_of(t.shape.begin(), t.shape.end(), [](int64_t d) { return d < 0; });
  }
  if (dynamic && engine_->getNbOptimizationProfiles() > 0) {
    {
      std::lock_guard<std::mutex> lock(mutex_);
      context.reset(engine_->createExecutionContext(nvinfer1::ExecutionContextAllocationStrategy::kUSER_MANAGED));
    }
    bool shaped = context != nullptr;
    for (const TensorDesc& t : io_) {
      if (!shaped || !t.isInput) continue;
      const InputProfile range = profileShapes(0, t.name);
      shaped = context->setInputShape(t.name.c_str(), toTrtDims(range.opt, "input '" + t.name + "'"));
      if (!shaped || !t.isShapeTensor) continue;
      // TensorRT reads a shape tensor's values from host memory, in the tensor's own type.
      const void* host = nullptr;
      if (t.dtype == DataType::kInt64) {
        host = values64.emplace_back(range.optValues).data();
      } else {
        host = values32.emplace_back(range.optValues.begin(), range.optValues.end()).data();
      }
      shaped = context->setTensorAddress(t.name.c_str(), const_cast<void*>(host));
    }
    // Unattached, the report still comes, with -1 shapes and no formats, which readers handle.
    if (shaped) (void)inspector->setExecutionContext(context.get());
  }
  // The string lives as long as the inspector: copy it before the inspector goes.
  const char* json = inspector->getEngineInformation(nvinfer1::LayerInformationFormat::kJSON);
  if (!json) throw BackendError(ErrorCode::kInternal, logger().describeFailure("TensorRT's engine inspector returned nothing", mark));
  return std::string(json);
}

ProfilingVerbosity TrtEngine::profilingVerbosity() const {
  DeviceScope device(device_);
  switch (engine_->getProfilingVerbosity()) {
    case nvinfer1::ProfilingVerbosity::kLAYER_NAMES_ONLY: return ProfilingVerbosity::kLayerNamesOnly;
    case nvinfer1::ProfilingVerbosity::kNONE: return ProfilingVerbosity::kNone;
    case nvinfer1::ProfilingVerbosity::kDETAILED: return ProfilingVerbosity::kDetailed;
  }
  throw BackendError(ErrorCode::kInternal, "TensorRT reports a profiling verbosity this adapter does not know (" +
                                               std::to_string(static_cast<int32_t>(engine_->getProfilingVerbosity())) + ")");
}

std::vector<uint8_t> TrtEngine::serialize() const {
  DeviceScope device(device_);
  const uint64_t mark = logger().mark();
  std::unique_ptr<nvinfer1::IHostMemory> plan;
  {
    std::lock_guard<std::mutex> lock(mutex_);
    plan.reset(engine_->serialize());
  }
  if (!plan) throw BackendError(ErrorCode::kInternal, logger().describeFailure("TensorRT could not serialize the engine", mark));
  const auto* begin = static_cast<const uint8_t*>(plan->data());
  return std::vector<uint8_t>(begin, begin + plan->size());
}

std::unique_ptr<ExecutionContext> TrtEngine::createExecutionContext() {
  return std::make_unique<TrtExecutionContext>(shared_from_this());
}

std::unique_ptr<nvinfer1::IExecutionContext> TrtEngine::newTrtContext() {
  DeviceScope device(device_);
  std::lock_guard<std::mutex> lock(mutex_);
  return std::unique_ptr<nvinfer1::IExecutionContext>(engine_->createExecutionContext());
}

}  // namespace trt
}  // namespace tnrt
