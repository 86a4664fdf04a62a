#include "double_runtime.h"

#include <NvInferVersion.h>
#include <cuda_runtime_api.h>

#include <cstdlib>
#include <cstring>
#include <stdexcept>

#include "double_inspector.h"
#include "double_plugins.h"
#include "sim/shape_inference.h"
#include "sim/sim_engine.h"

namespace tnrt_double {

namespace {

const char* const kOneThreadRule = "an IExecutionContext is used by one thread at a time";

std::string str(const char* s) { return s ? s : "(null)"; }

std::string hexPtr(const void* p) {
  char buf[32];
  std::snprintf(buf, sizeof buf, "%p", p);
  return buf;
}

bool isDynamic(const tnrt::Dims& d) {
  for (int64_t x : d)
    if (x < 0) return true;
  return false;
}

// TNRT_DOUBLE_DATA_DEPENDENT=1 makes every output's first dimension data-dependent, as
// NonZero's is: getTensorShape reports -1 for it, so the caller must use an IOutputAllocator.
tnrt::Dims dataDependent(tnrt::Dims shape) {
  const char* on = std::getenv("TNRT_DOUBLE_DATA_DEPENDENT");
  if (on && std::strcmp(on, "1") == 0 && !shape.empty()) shape[0] = -1;
  return shape;
}

// TF32 keeps float32's exponent and 10 of its 23 mantissa bits: round to nearest, ties to
// even, as tensor cores do with their inputs (applied here to the outputs, for the size of error).
void roundToTf32(std::vector<uint8_t>& bytes) {
  for (size_t i = 0; i + 4 <= bytes.size(); i += 4) {
    uint32_t bits;
    std::memcpy(&bits, bytes.data() + i, 4);
    if ((bits & 0x7F800000u) != 0x7F800000u) {  // leave inf and NaN alone
      const uint32_t lsb = (bits >> 13) & 1u;
      bits = (bits + 0xFFFu + lsb) & ~0x1FFFu;
    }
    std::memcpy(bytes.data() + i, &bits, 4);
  }
}

}  // namespace

// ---- OneThread --------------------------------------------------------------------------------

OneThread::Scope::Scope(OneThread& owner, const char* rule, const char* member) : owner_(owner) {
  const std::thread::id me = std::this_thread::get_id();
  std::thread::id expected{};
  if (owner_.owner_.compare_exchange_strong(expected, me)) {
    outer_ = true;
  } else if (expected != me) {
    violation(rule, std::string(member) + " called while another thread is inside a call on the same object");
  }
}

OneThread::Scope::~Scope() {
  if (outer_) owner_.owner_.store(std::thread::id());
}

// ---- IRuntime ---------------------------------------------------------------------------------

DoubleRuntime::DoubleRuntime(nvinfer1::ILogger* logger)
    : logger_(logger), sink_(std::make_shared<SimLogSink>(logger)), sim_(simBackend()->createRuntime(sink_, {})) {
  mImpl = this;
}

DoubleRuntime::~DoubleRuntime() noexcept {
  alive_.check("~IRuntime");
  if (engines_.live() > 0) {
    violation("an IRuntime is destroyed after every ICudaEngine it deserialized",
              "IRuntime destroyed with " + std::to_string(engines_.live()) + " engine(s) still alive");
  }
  // TensorRT may log while tearing down: the logger must outlive the runtime.
  logger_.log(nvinfer1::ILogger::Severity::kVERBOSE, "destroying the IRuntime");
}

nvinfer1::ICudaEngine* DoubleRuntime::deserializeCudaEngine(void const* blob, std::size_t size) noexcept {
  alive_.check("deserializeCudaEngine");
  if (fault("deserialize")) {
    logger_.error("IRuntime::deserializeCudaEngine: Error Code 1: Serialization (injected fault: deserialize)");
    return nullptr;
  }
  const uint8_t* simBytes = nullptr;
  size_t simSize = 0;
  std::string why;
  PlanInfo plan;
  if (!unwrapPlan(static_cast<const uint8_t*>(blob), size, &simBytes, &simSize, &plan, &why)) {
    logger_.error("IRuntime::deserializeCudaEngine: Error Code 1: Serialization (" + why + ")");
    return nullptr;
  }
  // A version-compatible plan loads the lean runtime it carries and runs it in this process:
  // TensorRT refuses unless the application said it trusts such code.
  if (plan.versionCompatible && !plan.excludeLeanRuntime && !hostCodeAllowed_) {
    logger_.error("IRuntime::deserializeCudaEngine: Error Code 1: Serialization (the plan is version compatible and "
                  "carries a lean runtime, host code this runtime is not allowed to run: setEngineHostCodeAllowed(true) "
                  "to load it)");
    return nullptr;
  }
  for (const std::string& name : plan.plugins) {
    if (!DoublePluginRegistry::instance().has(name)) {
      logger_.error("IPluginRegistry::getCreator: Error Code 4: API Usage Error (Cannot find plugin: " + name +
                    ", version: 1, namespace:.)");
      logger_.error("IRuntime::deserializeCudaEngine: Error Code 1: Serialization (a layer needs plugin " + name +
                    ", which is not registered)");
      return nullptr;
    }
  }
  logger_.info("TensorRT double: deserializing on device " + std::to_string(currentDevice()));
  try {
    // The plan is the adapter's to size-check (TensorRT checks its own sizes); the sim's default
    // limit applies to the engine it wraps.
    std::shared_ptr<tnrt::Engine> sim = sim_->deserializeEngine(simBytes, simSize, tnrt::DeserializeOptions{});
    std::vector<DoubleEngine::Io> io;
    for (const tnrt::TensorDesc& t : sim->ioTensors()) {
      DoubleEngine::Io e;
      e.name = t.name;
      e.isInput = t.isInput;
      e.shape = t.shape;
      e.simType = t.dtype;
      e.isShapeTensor = t.isShapeTensor;
      if (!toTrt(t.dtype, &e.type)) {
        logger_.error("deserializeCudaEngine: tensor '" + t.name + "' has a type the double cannot name");
        return nullptr;
      }
      io.push_back(std::move(e));
    }
    // Like TensorRT, keep the weights in device memory while the engine lives.
    void* weights = nullptr;
    if (cudaMalloc(&weights, size) != cudaSuccess) {
      logger_.error("IRuntime::deserializeCudaEngine: Error Code 2: OutOfMemory (cudaMalloc of " + std::to_string(size) +
                    " bytes of weights failed)");
      return nullptr;
    }
    return new DoubleEngine(*this, std::move(sim), std::move(io), weights, std::move(plan));
  } catch (const std::exception& e) {
    logger_.error(std::string("IRuntime::deserializeCudaEngine: Error Code 1: Serialization (") + e.what() + ")");
    return nullptr;
  }
}

// ---- ICudaEngine ------------------------------------------------------------------------------

DoubleEngine::DoubleEngine(DoubleRuntime& runtime, std::shared_ptr<tnrt::Engine> sim, std::vector<Io> io,
                           void* weights, PlanInfo plan)
    : plan_(std::move(plan)),
      runtime_(runtime),
      sim_(std::move(sim)),
      simEngine_(dynamic_cast<const tnrt::sim::SimEngine*>(sim_.get())),
      io_(std::move(io)),
      weights_(weights) {
  mImpl = this;
  runtime_.engines().add();
}

DoubleEngine::~DoubleEngine() noexcept {
  alive_.check("~ICudaEngine");
  if (contexts_.live() > 0) {
    violation("an ICudaEngine is destroyed after every IExecutionContext created from it",
              "ICudaEngine destroyed with " + std::to_string(contexts_.live()) + " context(s) still alive");
  }
  if (inspectors_.live() > 0) {
    violation("an ICudaEngine is destroyed after every IEngineInspector created from it",
              "ICudaEngine destroyed with " + std::to_string(inspectors_.live()) + " inspector(s) still alive");
  }
  (void)cudaFree(weights_);
  logger().log(nvinfer1::ILogger::Severity::kVERBOSE, "destroying the ICudaEngine");
  runtime_.engines().remove();
}

const DoubleEngine::Io* DoubleEngine::find(const char* name) const {
  if (!name) return nullptr;
  for (const Io& t : io_)
    if (t.name == name) return &t;
  return nullptr;
}

int32_t DoubleEngine::getNbLayers() const noexcept {
  alive_.check("getNbLayers");
  return sim_->numLayers();
}

nvinfer1::IEngineInspector* DoubleEngine::createEngineInspector() const noexcept {
  alive_.check("createEngineInspector");
  return new DoubleInspector(*this);
}

nvinfer1::IHostMemory* DoubleEngine::serialize() const noexcept {
  alive_.check("serialize");
  try {
    return new DoubleHostMemory(wrapPlan(sim_->serialize(), plan_));
  } catch (const std::exception& e) {
    logger().error(std::string("ICudaEngine::serialize: ") + e.what());
    return nullptr;
  }
}

nvinfer1::IExecutionContext* DoubleEngine::createExecutionContext(
    nvinfer1::ExecutionContextAllocationStrategy strategy) noexcept {
  alive_.check("createExecutionContext");
  const bool userManaged = strategy == nvinfer1::ExecutionContextAllocationStrategy::kUSER_MANAGED;
  if (fault("createContext") || (userManaged && fault("createUserManagedContext"))) {
    logger().error("ICudaEngine::createExecutionContext: Error Code 2: OutOfMemory (injected fault)");
    return nullptr;
  }
  // The activation memory of the other strategies (kSTATIC, kON_PROFILE_CHANGE); a
  // kUSER_MANAGED context gets none until setDeviceMemory, which the double does not model.
  void* activations = nullptr;
  const size_t bytes = std::max<size_t>(256, static_cast<size_t>(sim_->deviceMemorySize()));
  if (!userManaged && cudaMalloc(&activations, bytes) != cudaSuccess) {
    logger().error("ICudaEngine::createExecutionContext: Error Code 2: OutOfMemory (cudaMalloc of " +
                   std::to_string(bytes) + " bytes of activations failed)");
    return nullptr;
  }
  try {
    return new DoubleContext(*this, activations, userManaged);
  } catch (const std::exception& e) {
    (void)cudaFree(activations);
    logger().error(std::string("ICudaEngine::createExecutionContext: ") + e.what());
    return nullptr;
  }
}

#if NV_TENSORRT_MAJOR < 11
size_t DoubleEngine::getDeviceMemorySize() const noexcept {
  alive_.check("getDeviceMemorySize");
  return static_cast<size_t>(sim_->deviceMemorySize());
}
#endif

int64_t DoubleEngine::getDeviceMemorySizeV2() const noexcept {
  alive_.check("getDeviceMemorySizeV2");
  return static_cast<int64_t>(sim_->deviceMemorySize());
}

bool DoubleEngine::roundsToTf32() const {
  const char* on = std::getenv("TNRT_DOUBLE_TF32");
  if (!plan_.tf32 || !on || std::strcmp(on, "1") != 0 || !simEngine_) return false;
  for (const auto& node : simEngine_->graph().nodes) {
    if (node.opType == "MatMul" || node.opType == "Gemm" || node.opType == "Conv" || node.opType == "ConvTranspose")
      return true;
  }
  return false;
}

int32_t DoubleEngine::getNbOptimizationProfiles() const noexcept {
  alive_.check("getNbOptimizationProfiles");
  // A TensorRT engine always has at least the implicit profile 0.
  return std::max(1, sim_->numOptimizationProfiles());
}

nvinfer1::Dims DoubleEngine::getTensorShape(char const* tensorName) const noexcept {
  alive_.check("getTensorShape");
  const Io* t = find(tensorName);
  if (!t) {
    logger().error("ICudaEngine::getTensorShape: no tensor named " + str(tensorName));
    nvinfer1::Dims d{};
    d.nbDims = -1;
    return d;
  }
  return toTrtDims(t->shape);
}

nvinfer1::DataType DoubleEngine::getTensorDataType(char const* tensorName) const noexcept {
  alive_.check("getTensorDataType");
  const Io* t = find(tensorName);
  if (!t) {
    logger().error("ICudaEngine::getTensorDataType: no tensor named " + str(tensorName));
    return nvinfer1::DataType::kFLOAT;
  }
  return t->type;
}

nvinfer1::TensorLocation DoubleEngine::getTensorLocation(char const* tensorName) const noexcept {
  alive_.check("getTensorLocation");
  const Io* t = find(tensorName);
  if (!t) logger().error("ICudaEngine::getTensorLocation: no tensor named " + str(tensorName));
  // TensorRT reads shape-tensor inputs on the host; everything else lives on the device.
  return t && t->isShapeTensor ? nvinfer1::TensorLocation::kHOST : nvinfer1::TensorLocation::kDEVICE;
}

bool DoubleEngine::isShapeInferenceIO(char const* tensorName) const noexcept {
  alive_.check("isShapeInferenceIO");
  const Io* t = find(tensorName);
  if (!t) logger().error("ICudaEngine::isShapeInferenceIO: no tensor named " + str(tensorName));
  return t && t->isShapeTensor;
}

const std::vector<int64_t>* DoubleEngine::storedValues(const char* member, char const* tensorName,
                                                       int32_t profileIndex,
                                                       nvinfer1::OptProfileSelector select) const {
  const Io* t = find(tensorName);
  if (!t || !t->isInput || !t->isShapeTensor || profileIndex < 0 || profileIndex >= sim_->numOptimizationProfiles()) {
    logger().error(std::string("ICudaEngine::") + member + ": " + str(tensorName) + " is not a shape tensor input of profile " +
                   std::to_string(profileIndex));
    return nullptr;
  }
  const tnrt::InputProfile p = sim_->profileShapes(profileIndex, t->name);
  const std::vector<int64_t>* values = select == nvinfer1::OptProfileSelector::kMIN   ? &p.minValues
                                       : select == nvinfer1::OptProfileSelector::kOPT ? &p.optValues
                                                                                      : &p.maxValues;
  const std::string key = t->name + "/" + std::to_string(profileIndex) + "/" + std::to_string(static_cast<int>(select));
  std::lock_guard<std::mutex> lock(valuesMutex_);
  auto& stored = values64_[key];
  stored = *values;
  auto& narrow = values32_[key];
  narrow.assign(stored.begin(), stored.end());
  return &stored;
}

#if NV_TENSORRT_MAJOR < 11
int32_t const* DoubleEngine::getProfileTensorValues(char const* tensorName, int32_t profileIndex,
                                                    nvinfer1::OptProfileSelector select) const noexcept {
  alive_.check("getProfileTensorValues");
  const std::vector<int64_t>* values = storedValues("getProfileTensorValues", tensorName, profileIndex, select);
  if (!values) return nullptr;
  std::lock_guard<std::mutex> lock(valuesMutex_);
  return values32_[str(tensorName) + "/" + std::to_string(profileIndex) + "/" + std::to_string(static_cast<int>(select))]
      .data();
}
#endif

#if TNRT_DOUBLE_HAS_SHAPE_VALUES_V2
int64_t const* DoubleEngine::getProfileTensorValuesV2(char const* tensorName, int32_t profileIndex,
                                                      nvinfer1::OptProfileSelector select) const noexcept {
  alive_.check("getProfileTensorValuesV2");
  const std::vector<int64_t>* values = storedValues("getProfileTensorValuesV2", tensorName, profileIndex, select);
  return values ? values->data() : nullptr;
}
#endif

bool DoubleEngine::profileValues(const Io& input, int32_t profile, std::vector<int64_t>* min,
                                 std::vector<int64_t>* max) const {
  if (!input.isShapeTensor || profile < 0 || profile >= sim_->numOptimizationProfiles()) return false;
  const tnrt::InputProfile p = sim_->profileShapes(profile, input.name);
  *min = p.minValues;
  *max = p.maxValues;
  return !min->empty();
}

nvinfer1::TensorIOMode DoubleEngine::getTensorIOMode(char const* tensorName) const noexcept {
  alive_.check("getTensorIOMode");
  const Io* t = find(tensorName);
  if (!t) return nvinfer1::TensorIOMode::kNONE;
  return t->isInput ? nvinfer1::TensorIOMode::kINPUT : nvinfer1::TensorIOMode::kOUTPUT;
}

bool DoubleEngine::profileRange(const Io& input, int32_t profile, tnrt::Dims* min, tnrt::Dims* opt,
                                tnrt::Dims* max) const {
  if (!isDynamic(input.shape)) {
    *min = *opt = *max = input.shape;
    return true;
  }
  try {
    const tnrt::InputProfile p = sim_->profileShapes(profile, input.name);
    *min = p.min;
    *opt = p.opt;
    *max = p.max;
    return true;
  } catch (const std::exception&) {
    return false;
  }
}

nvinfer1::Dims DoubleEngine::getProfileShape(char const* tensorName, int32_t profileIndex,
                                             nvinfer1::OptProfileSelector select) const noexcept {
  alive_.check("getProfileShape");
  nvinfer1::Dims invalid{};
  invalid.nbDims = -1;
  const Io* t = find(tensorName);
  if (!t || !t->isInput) {
    logger().error("ICudaEngine::getProfileShape: " + str(tensorName) + " is not an input tensor");
    return invalid;
  }
  if (profileIndex < 0 || profileIndex >= getNbOptimizationProfiles()) {
    logger().error("ICudaEngine::getProfileShape: profile index " + std::to_string(profileIndex) + " out of range");
    return invalid;
  }
  tnrt::Dims min, opt, max;
  if (!profileRange(*t, profileIndex, &min, &opt, &max)) {
    logger().error("ICudaEngine::getProfileShape: no profile range for " + t->name);
    return invalid;
  }
  switch (select) {
    case nvinfer1::OptProfileSelector::kMIN: return toTrtDims(min);
    case nvinfer1::OptProfileSelector::kOPT: return toTrtDims(opt);
    case nvinfer1::OptProfileSelector::kMAX: return toTrtDims(max);
  }
  return invalid;
}

int32_t DoubleEngine::getNbIOTensors() const noexcept {
  alive_.check("getNbIOTensors");
  return static_cast<int32_t>(io_.size());
}

char const* DoubleEngine::getIOTensorName(int32_t index) const noexcept {
  alive_.check("getIOTensorName");
  if (index < 0 || index >= static_cast<int32_t>(io_.size())) {
    logger().error("ICudaEngine::getIOTensorName: index " + std::to_string(index) + " out of range");
    return nullptr;
  }
  return io_[static_cast<size_t>(index)].name.c_str();
}

std::unique_ptr<tnrt::sim::ShapeInference> DoubleEngine::inferShapes(const std::vector<tnrt::Dims>& inputShapes,
                                                                     const std::vector<std::vector<int64_t>>& inputValues,
                                                                     std::string* why) const {
  if (!simEngine_) {
    *why = "the sim engine has no graph";
    return nullptr;
  }
  const tnrt::sim::Graph& graph = simEngine_->graph();
  // ShapeInference takes shapes parallel to graph.inputs; map by name.
  std::vector<tnrt::Dims> shapes;
  std::vector<std::vector<int64_t>> values;
  for (int32_t id : graph.inputs) {
    const std::string& name = graph.values[static_cast<size_t>(id)].name;
    bool found = false;
    size_t k = 0;
    for (const Io& t : io_) {
      if (!t.isInput) continue;
      if (t.name == name) {
        shapes.push_back(inputShapes[k]);
        values.push_back(k < inputValues.size() ? inputValues[k] : std::vector<int64_t>());
        found = true;
        break;
      }
      ++k;
    }
    if (!found) {
      shapes.push_back(graph.values[static_cast<size_t>(id)].shape);
      values.emplace_back();
    }
  }
  try {
    // Folding what the shape tensors' values decide (a few small shape computations) is what
    // resolves the output shapes they set.
    auto inference = std::make_unique<tnrt::sim::ShapeInference>(graph, 64 * 1024);
    inference->run(shapes, &values);
    return inference;
  } catch (const std::exception& e) {
    *why = e.what();
    return nullptr;
  }
}

bool DoubleEngine::inferOutputShapes(const std::vector<tnrt::Dims>& inputShapes,
                                     const std::vector<std::vector<int64_t>>& inputValues,
                                     std::map<std::string, tnrt::Dims>* out, std::string* why) const {
  const std::unique_ptr<tnrt::sim::ShapeInference> inference = inferShapes(inputShapes, inputValues, why);
  if (!inference) return false;
  const tnrt::sim::Graph& graph = simEngine_->graph();
  for (int32_t id : graph.outputs) (*out)[graph.values[static_cast<size_t>(id)].name] = inference->value(id).shape;
  return true;
}

// ---- IExecutionContext ------------------------------------------------------------------------

DoubleContext::DoubleContext(DoubleEngine& engine, void* activations, bool userManaged)
    : engine_(engine),
      activations_(activations),
      sim_(engine.sim().createExecutionContext()),
      userManaged_(userManaged),
      nvtx_(engine.getProfilingVerbosity()) {
  mImpl = this;
  for (const auto& t : engine_.io()) bindings_[t.name] = Binding();
  engine_.contexts().add();
}

DoubleContext::~DoubleContext() noexcept {
  alive_.check("~IExecutionContext");
  if (thread_.busy()) violation(kOneThreadRule, "IExecutionContext destroyed while another thread is inside a call");
  if (pending_.load() > 0) {
    violation("an IExecutionContext is destroyed only once the work it enqueued has finished (synchronize the stream)",
              std::to_string(pending_.load()) + " enqueueV3 call(s) still queued on a stream");
  }
  (void)cudaFree(activations_);
  engine_.contexts().remove();
}

DoubleContext::Binding* DoubleContext::binding(const char* name, const char* member) const {
  auto it = name ? bindings_.find(name) : bindings_.end();
  if (it == bindings_.end()) {
    engine_.logger().error(std::string("IExecutionContext::") + member + ": no I/O tensor named " + str(name));
    return nullptr;
  }
  return &it->second;
}

bool DoubleContext::setOptimizationProfileAsync(int32_t profileIndex, cudaStream_t stream) noexcept {
  alive_.check("setOptimizationProfileAsync");
  OneThread::Scope scope(thread_, kOneThreadRule, "setOptimizationProfileAsync");
  if (!liveStream(stream)) violation("CUDA calls take live streams", "setOptimizationProfileAsync: stream is not live");
  if (profileIndex < 0 || profileIndex >= engine_.getNbOptimizationProfiles()) {
    engine_.logger().error("IExecutionContext::setOptimizationProfileAsync: profile " + std::to_string(profileIndex) +
                           " out of range");
    return false;
  }
  profile_ = profileIndex;
  // Shapes chosen for the old profile do not carry over: they must be set again.
  for (auto& [name, b] : bindings_) {
    b.shapeSet = false;
    b.shape.clear();
  }
  return true;
}

bool DoubleContext::setInputShape(char const* tensorName, nvinfer1::Dims const& dims) noexcept {
  alive_.check("setInputShape");
  OneThread::Scope scope(thread_, kOneThreadRule, "setInputShape");
  const DoubleEngine::Io* t = engine_.find(tensorName);
  if (!t || !t->isInput) {
    engine_.logger().error("IExecutionContext::setInputShape: " + str(tensorName) + " is not an input tensor");
    return false;
  }
  const tnrt::Dims shape = fromTrtDims(dims);
  tnrt::Dims min, opt, max;
  bool ok = dims.nbDims == static_cast<int32_t>(t->shape.size()) && engine_.profileRange(*t, profile_, &min, &opt, &max);
  for (size_t k = 0; ok && k < shape.size(); ++k) {
    if (shape[k] < min[k] || shape[k] > max[k] || (t->shape[k] >= 0 && shape[k] != t->shape[k])) ok = false;
  }
  if (!ok) {
    engine_.logger().error("IExecutionContext::setInputShape: Error Code 3: API Usage Error (shape " + dimsText(dims) +
                           " of " + t->name + " is not inside optimization profile " + std::to_string(profile_) + ")");
    return false;
  }
  Binding& b = bindings_[t->name];
  b.shapeSet = true;
  b.shape = shape;
  return true;
}

nvinfer1::Dims DoubleContext::getTensorShape(char const* tensorName) const noexcept {
  alive_.check("getTensorShape");
  OneThread::Scope scope(thread_, kOneThreadRule, "getTensorShape");
  nvinfer1::Dims invalid{};
  invalid.nbDims = -1;
  const DoubleEngine::Io* t = engine_.find(tensorName);
  if (!t) {
    engine_.logger().error("IExecutionContext::getTensorShape: no tensor named " + str(tensorName));
    return invalid;
  }
  if (t->isInput) {
    const Binding& b = bindings_[t->name];
    return toTrtDims(b.shapeSet ? b.shape : t->shape);
  }
  std::vector<tnrt::Dims> inputs;
  for (const auto& in : engine_.io()) {
    if (!in.isInput) continue;
    const Binding& b = bindings_[in.name];
    if (isDynamic(in.shape) && !b.shapeSet) return toTrtDims(t->shape);  // not known yet
    inputs.push_back(b.shapeSet ? b.shape : in.shape);
  }
  // TensorRT: not known either while a shape tensor the output depends on has no address.
  std::vector<std::vector<int64_t>> values;
  bool unset = false;
  if (!shapeValues("getTensorShape", &values, &unset)) return unset ? toTrtDims(t->shape) : invalid;
  std::map<std::string, tnrt::Dims> shapes;
  std::string why;
  if (!engine_.inferOutputShapes(inputs, values, &shapes, &why) || !shapes.count(t->name)) {
    engine_.logger().error("IExecutionContext::getTensorShape: shape inference failed for " + t->name + ": " + why);
    return invalid;
  }
  return toTrtDims(dataDependent(shapes[t->name]));
}

bool DoubleContext::setNvtxVerbosity(nvinfer1::ProfilingVerbosity verbosity) noexcept {
  alive_.check("setNvtxVerbosity");
  OneThread::Scope scope(thread_, kOneThreadRule, "setNvtxVerbosity");
  // kLAYER_NAMES_ONLY (0) < kDETAILED (2); kNONE (1) is below both.
  auto rank = [](nvinfer1::ProfilingVerbosity v) {
    return v == nvinfer1::ProfilingVerbosity::kNONE ? 0 : v == nvinfer1::ProfilingVerbosity::kLAYER_NAMES_ONLY ? 1 : 2;
  };
  auto name = [](nvinfer1::ProfilingVerbosity v) {
    return v == nvinfer1::ProfilingVerbosity::kNONE ? "kNONE"
           : v == nvinfer1::ProfilingVerbosity::kLAYER_NAMES_ONLY ? "kLAYER_NAMES_ONLY" : "kDETAILED";
  };
  if (rank(verbosity) > rank(engine_.getProfilingVerbosity())) {
    engine_.logger().error(std::string("IExecutionContext::setNvtxVerbosity: Error Code 3: API Usage Error (") +
                           name(verbosity) + " is above the engine's profiling verbosity " +
                           name(engine_.getProfilingVerbosity()) + ")");
    return false;
  }
  nvtx_ = verbosity;
  engine_.logger().log(nvinfer1::ILogger::Severity::kVERBOSE,
                       std::string("IExecutionContext::setNvtxVerbosity: NVTX verbosity ") + name(verbosity));
  return true;
}

bool DoubleContext::inputShapes(std::vector<tnrt::Dims>* shapes, std::vector<std::vector<int64_t>>* values) const {
  for (const auto& in : engine_.io()) {
    if (!in.isInput) continue;
    const Binding& b = bindings_[in.name];
    if (isDynamic(in.shape) && !b.shapeSet) return false;
    shapes->push_back(b.shapeSet ? b.shape : in.shape);
  }
  bool unset = false;
  return shapeValues("IEngineInspector::getEngineInformation", values, &unset);
}

bool DoubleContext::shapeValues(const char* member, std::vector<std::vector<int64_t>>* values, bool* unset) const {
  *unset = false;
  for (const auto& in : engine_.io()) {
    if (!in.isInput) continue;
    values->emplace_back();
    if (!in.isShapeTensor) continue;
    const Binding& b = bindings_[in.name];
    if (!b.address) {
      *unset = true;
      return false;
    }
    // TensorRT dereferences a shape tensor's address on the CPU: device memory there is a crash.
    const void* base = nullptr;
    size_t size = 0;
    if (deviceAllocation(b.address, &base, &size)) {
      violation("a shape-tensor input (isShapeInferenceIO, TensorLocation::kHOST) is bound to host memory",
                std::string(member) + ": shape tensor '" + in.name + "' points at device memory " + hexPtr(b.address));
    }
    const tnrt::Dims shape = b.shapeSet ? b.shape : in.shape;
    const int64_t count = tnrt::volume(shape);
    std::vector<int64_t>& out = values->back();
    for (int64_t k = 0; k < count; ++k) {
      if (in.simType == tnrt::DataType::kInt64) {
        int64_t v;
        std::memcpy(&v, static_cast<const char*>(b.address) + k * 8, 8);
        out.push_back(v);
      } else {
        int32_t v;
        std::memcpy(&v, static_cast<const char*>(b.address) + k * 4, 4);
        out.push_back(v);
      }
    }
    std::vector<int64_t> min, max;
    bool inside = engine_.profileValues(in, profile_, &min, &max) && min.size() == out.size();
    for (size_t k = 0; inside && k < out.size(); ++k) inside = out[k] >= min[k] && out[k] <= max[k];
    if (!inside) {
      engine_.logger().error(std::string("IExecutionContext::") + member +
                             ": Error Code 3: API Usage Error (values of shape tensor " + in.name +
                             " are not inside optimization profile " + std::to_string(profile_) + ")");
      return false;
    }
  }
  return true;
}

bool DoubleContext::setTensorAddress(char const* tensorName, void* data) noexcept {
  alive_.check("setTensorAddress");
  OneThread::Scope scope(thread_, kOneThreadRule, "setTensorAddress");
  Binding* b = binding(tensorName, "setTensorAddress");
  if (!b) return false;
  const DoubleEngine::Io* t = engine_.find(tensorName);
  const size_t align = std::max<size_t>(1, tnrt::dataTypeBits(t->simType) / 8);
  if (reinterpret_cast<uintptr_t>(data) % align != 0) {
    engine_.logger().error("IExecutionContext::setTensorAddress: address of " + t->name + " is not " +
                           std::to_string(align) + "-byte aligned");
    return false;
  }
  b->address = data;
  b->addressSet = true;
  return true;
}

void const* DoubleContext::getTensorAddress(char const* tensorName) const noexcept {
  alive_.check("getTensorAddress");
  Binding* b = binding(tensorName, "getTensorAddress");
  return b ? b->address : nullptr;
}

bool DoubleContext::setOutputAllocator(char const* tensorName, nvinfer1::IOutputAllocator* outputAllocator) noexcept {
  alive_.check("setOutputAllocator");
  OneThread::Scope scope(thread_, kOneThreadRule, "setOutputAllocator");
  const DoubleEngine::Io* t = engine_.find(tensorName);
  if (!t || t->isInput) {
    engine_.logger().error("IExecutionContext::setOutputAllocator: " + str(tensorName) + " is not an output tensor");
    return false;
  }
  bindings_[t->name].allocator = outputAllocator;
  return true;
}

nvinfer1::IOutputAllocator* DoubleContext::getOutputAllocator(char const* name) noexcept {
  alive_.check("getOutputAllocator");
  Binding* b = binding(name, "getOutputAllocator");
  return b ? b->allocator : nullptr;
}

bool DoubleContext::enqueueV3(cudaStream_t stream) noexcept {
  alive_.check("enqueueV3");
  OneThread::Scope scope(thread_, kOneThreadRule, "enqueueV3");
  if (userManaged_) {
    violation("a kUSER_MANAGED context is given device memory (setDeviceMemory) before enqueueV3",
              "enqueueV3 on a context created with kUSER_MANAGED and no device memory");
  }
  if (!liveStream(stream)) violation("CUDA calls take live streams", "enqueueV3 on stream " + hexPtr(stream) + ", which is not live");
  if (streamDevice(stream) != engine_.device()) {
    violation("enqueueV3 takes a stream of the context's device",
              "the stream was created on device " + std::to_string(streamDevice(stream)) + "; the context runs on device " +
                  std::to_string(engine_.device()));
  }
  if (fault("enqueue")) {
    engine_.logger().error("IExecutionContext::enqueueV3: Error Code 1: Cuda Runtime (injected fault: enqueue)");
    return false;
  }
  try {
    return run(stream);
  } catch (const std::exception& e) {
    engine_.logger().error(std::string("IExecutionContext::enqueueV3: ") + e.what());
    return false;
  }
}

bool DoubleContext::run(cudaStream_t stream) {
  const char* const addressRule = "every I/O tensor has an address (or an output allocator) before enqueueV3";
  const char* const bufferRule =
      "every I/O address points to 256-byte aligned device memory that holds the whole tensor";
  // Device memory holding [p, p + bytes), 256-byte aligned, or a violation.
  auto checkBuffer = [&](const std::string& what, const void* p, size_t bytes, const tnrt::Dims& shape) {
    const void* base = nullptr;
    size_t size = 0;
    const bool device = deviceAllocation(p, &base, &size);
    if (device && allocationDevice(p) != engine_.device()) {
      violation("I/O tensors live in device memory of the context's device",
                what + " at " + hexPtr(p) + " was allocated on device " + std::to_string(allocationDevice(p)) +
                    "; the context runs on device " + std::to_string(engine_.device()));
    }
    if (!device || static_cast<const char*>(p) + bytes > static_cast<const char*>(base) + size ||
        reinterpret_cast<uintptr_t>(p) % 256 != 0) {
      violation(bufferRule, what + " at " + hexPtr(p) + " needs " + std::to_string(bytes) + " bytes for shape " +
                                tnrt::dimsToString(shape) + "; " +
                                (device ? "its allocation is " + std::to_string(size) + " bytes from " + hexPtr(base)
                                        : std::string("it is not device memory")));
    }
  };

  // Everything is checked now, at enqueue time, as TensorRT does; the work itself runs when the
  // stream gets to it.
  std::vector<tnrt::HostTensorView> views;
  std::vector<tnrt::Dims> inputShapes;
  for (const auto& t : engine_.io()) {
    if (!t.isInput) continue;
    const Binding& b = bindings_[t.name];
    if (isDynamic(t.shape) && !b.shapeSet) {
      violation("every dynamic input shape is set (setInputShape) before enqueueV3",
                "input '" + t.name + "' has dynamic shape " + tnrt::dimsToString(t.shape) + " and no shape was set" +
                    (profile_ != 0 ? " since the switch to profile " + std::to_string(profile_) : ""));
    }
    tnrt::HostTensorView v;
    v.name = t.name;
    v.dtype = t.simType;
    v.shape = b.shapeSet ? b.shape : t.shape;
    v.bytes = tnrt::dataTypeBytes(t.simType, tnrt::volume(v.shape));
    if (!b.address) violation(addressRule, "input '" + t.name + "' has no address");
    if (!t.isShapeTensor) checkBuffer("input '" + t.name + "'", b.address, v.bytes, v.shape);
    v.data = b.address;
    inputShapes.push_back(v.shape);
    views.push_back(std::move(v));
  }
  // Shape tensors are read on the host now, at enqueue, as TensorRT reads them: the work below
  // runs on a copy, so the caller may reuse the host buffer once enqueueV3 returns.
  std::vector<std::vector<int64_t>> values;
  bool unset = false;
  if (!shapeValues("enqueueV3", &values, &unset)) {
    if (unset) violation(addressRule, "a shape-tensor input has no address");
    return false;
  }
  // Shared, so the views keep pointing at the same bytes however often the work is copied.
  auto hostCopies = std::make_shared<std::vector<std::vector<uint8_t>>>(views.size());
  for (size_t i = 0, k = 0; i < engine_.io().size(); ++i) {
    const auto& t = engine_.io()[i];
    if (!t.isInput) continue;
    if (t.isShapeTensor) {
      const auto* p = static_cast<const uint8_t*>(views[k].data);
      (*hostCopies)[k].assign(p, p + views[k].bytes);
      views[k].data = (*hostCopies)[k].data();
    }
    ++k;
  }
  std::map<std::string, tnrt::Dims> outputShapes;
  std::string why;
  if (!engine_.inferOutputShapes(inputShapes, values, &outputShapes, &why)) {
    engine_.logger().error("IExecutionContext::enqueueV3: Error Code 7: Internal Error (shape inference: " + why + ")");
    return false;
  }
  struct Out {
    std::string name;
    void* address;
    nvinfer1::IOutputAllocator* allocator;
  };
  std::vector<Out> outs;
  bool needsAllocator = false;
  for (const auto& t : engine_.io()) {
    if (t.isInput) continue;
    const Binding& b = bindings_[t.name];
    if (!b.allocator && !b.address) violation(addressRule, "output '" + t.name + "' has neither an address nor an allocator");
    const tnrt::Dims& shape = outputShapes[t.name];
    if (!b.allocator && isDynamic(dataDependent(shape))) {
      violation("an output whose shape getTensorShape reports with -1 (data-dependent) has an IOutputAllocator",
                "output '" + t.name + "' has no output allocator");
    }
    if (!b.allocator) checkBuffer("output '" + t.name + "'", b.address, tnrt::dataTypeBytes(t.simType, tnrt::volume(shape)), shape);
    needsAllocator = needsAllocator || b.allocator;
    outs.push_back({t.name, b.address, b.allocator});
  }

  // The work of the "kernels": run the sim on what the device memory holds when the stream
  // gets here, and write the outputs.
  // Captured into a CUDA graph, the work runs once per launch, not now: it is not counted as
  // pending (the graph, not this call, owns it). TensorRT cannot capture a call that waits for
  // its stream, as one with outputs of data-dependent shape does.
  const bool captured = capturing(stream);
  if (captured && needsAllocator) {
    (void)synchronize(stream);  // what TensorRT does here; it fails the capture
    engine_.logger().error(
        "IExecutionContext::enqueueV3: Error Code 1: Cuda Runtime (operation not permitted when stream is capturing: "
        "outputs of data-dependent shape synchronize the stream)");
    return false;
  }
  const int32_t profile = profile_;
  auto work = [this, views = std::move(views), hostCopies, outs, profile, stream, captured]() -> bool {
    struct Done {
      std::atomic<int>* pending;
      ~Done() {
        if (pending) pending->fetch_sub(1);
      }
    } done{captured ? nullptr : &pending_};
    try {
      if (fault("kernel")) throw std::runtime_error("injected fault: kernel");
      if (simProfile_ != profile && engine_.sim().numOptimizationProfiles() > profile) {
        sim_->setOptimizationProfile(profile);
        simProfile_ = profile;
      }
      std::vector<tnrt::HostTensor> results = sim_->execute(views);
      if (engine_.roundsToTf32()) {
        for (tnrt::HostTensor& r : results)
          if (r.dtype == tnrt::DataType::kFloat32) roundToTf32(r.data);
      }
      for (tnrt::HostTensor& r : results) {
        const Out* o = nullptr;
        for (const Out& candidate : outs)
          if (candidate.name == r.name) o = &candidate;
        if (!o) throw std::runtime_error("the sim returned an unknown output '" + r.name + "'");
        void* dst = o->address;
        if (o->allocator) {
          // TensorRT asks the allocator for memory once it knows the size, then reports the shape.
          dst = o->allocator->reallocateOutputAsync(r.name.c_str(), o->address, r.data.size(), 256, stream);
          if (!dst && !r.data.empty()) {
            throw std::runtime_error("the output allocator of '" + r.name + "' returned null for " +
                                     std::to_string(r.data.size()) + " bytes");
          }
          if (!r.data.empty()) {
            const void* base = nullptr;
            size_t size = 0;
            if (!deviceAllocation(dst, &base, &size) ||
                static_cast<const char*>(dst) + r.data.size() > static_cast<const char*>(base) + size) {
              violation("IOutputAllocator::reallocateOutputAsync returns device memory of at least the size asked",
                        "output '" + r.name + "': " + std::to_string(r.data.size()) + " bytes asked");
            }
          }
        }
        if (!r.data.empty()) std::memcpy(dst, r.data.data(), r.data.size());
        if (o->allocator) o->allocator->notifyShape(r.name.c_str(), toTrtDims(r.shape));
      }
      return true;
    } catch (const std::exception& e) {
      engine_.logger().error(std::string("IExecutionContext::enqueueV3 (on the stream): Error Code 1: Cuda Runtime (") +
                             e.what() + ")");
      return false;
    }
  };
  if (!captured) pending_.fetch_add(1);
  if (needsAllocator) {
    // Data-dependent output sizes: TensorRT waits for the stream inside enqueueV3 and calls the
    // allocators before returning.
    if (!synchronize(stream)) {
      pending_.fetch_sub(1);
      engine_.logger().error("IExecutionContext::enqueueV3: Error Code 1: Cuda Runtime (earlier work on the stream failed)");
      return false;
    }
    return work();
  }
  enqueue(stream, std::move(work));
  return true;
}

}  // namespace tnrt_double
