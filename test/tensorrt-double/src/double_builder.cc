#include "double_builder.h"

#include <NvInferVersion.h>

#include <chrono>
#include <cstdlib>
#include <cstring>

#include "double_plugins.h"
#include "sim/timing_cache.h"

namespace tnrt_double {

namespace {

const char* const kBuilderThreadRule = "an IBuilder and the objects it made are used by one thread at a time";

int selectorIndex(nvinfer1::OptProfileSelector s) {
  switch (s) {
    case nvinfer1::OptProfileSelector::kMIN: return 0;
    case nvinfer1::OptProfileSelector::kOPT: return 1;
    case nvinfer1::OptProfileSelector::kMAX: return 2;
  }
  return -1;
}

// IProgressMonitor as the sim's ProgressSink. TensorRT passes a null parent for top-level
// phases.
class MonitorBridge final : public tnrt::ProgressSink {
 public:
  explicit MonitorBridge(nvinfer1::IProgressMonitor& monitor) : monitor_(monitor) {}
  void phaseStart(const std::string& phase, const std::string& parent, int32_t steps) override {
    monitor_.phaseStart(phase.c_str(), parent.empty() ? nullptr : parent.c_str(), steps);
  }
  bool stepComplete(const std::string& phase, int32_t step) override { return monitor_.stepComplete(phase.c_str(), step); }
  void phaseFinish(const std::string& phase) override { monitor_.phaseFinish(phase.c_str()); }

 private:
  nvinfer1::IProgressMonitor& monitor_;
};

#if NV_TENSORRT_MAJOR < 11
// IInt8Calibrator as the sim's Calibrator. TensorRT's protocol: getBatch fills `bindings`
// with device pointers the calibrator owns, holding one batch of every input, valid until the
// next getBatch call.
class CalibratorBridge final : public tnrt::Calibrator {
 public:
  CalibratorBridge(nvinfer1::IInt8Calibrator& calibrator) : calibrator_(calibrator) {}
  tnrt::CalibrationAlgorithm algorithm() const override {
    switch (calibrator_.getAlgorithm()) {
      case nvinfer1::CalibrationAlgoType::kENTROPY_CALIBRATION_2: return tnrt::CalibrationAlgorithm::kEntropy2;
      case nvinfer1::CalibrationAlgoType::kMINMAX_CALIBRATION: return tnrt::CalibrationAlgorithm::kMinMax;
      default:
        throw tnrt::BackendError(tnrt::ErrorCode::kUnsupported, "the double models entropy2 and minmax calibration only");
    }
  }
  int32_t batchSize() const override { return calibrator_.getBatchSize(); }
  bool getBatch(std::vector<tnrt::CalibrationInput>& inputs) override {
    // TensorRT promises no order: name the inputs in reverse, so a calibrator that matches
    // bindings by position instead of by name gets caught.
    std::vector<const char*> names;
    for (auto it = inputs.rbegin(); it != inputs.rend(); ++it) names.push_back(it->name.c_str());
    std::vector<void*> bindings(inputs.size(), nullptr);
    if (!calibrator_.getBatch(bindings.data(), names.data(), static_cast<int32_t>(inputs.size()))) return false;
    for (size_t k = 0; k < inputs.size(); ++k) {
      const size_t i = inputs.size() - 1 - k;  // bindings[k] holds inputs[i]
      const void* base = nullptr;
      size_t size = 0;
      if (!bindings[k] || !deviceAllocation(bindings[k], &base, &size) ||
          static_cast<const char*>(bindings[k]) + inputs[i].bytes > static_cast<const char*>(base) + size) {
        violation("IInt8Calibrator::getBatch sets every binding to device memory holding one batch of that input",
                  "binding " + std::to_string(k) + " ('" + inputs[i].name + "', " + std::to_string(inputs[i].bytes) +
                      " bytes) is " + (bindings[k] ? (base ? "too small" : "not device memory") : "null"));
      }
      std::memcpy(inputs[i].data, bindings[k], inputs[i].bytes);
    }
    return true;
  }
  std::vector<uint8_t> readCache() override {
    size_t length = 0;
    const void* data = calibrator_.readCalibrationCache(length);
    if (!data || length == 0) return {};
    const auto* p = static_cast<const uint8_t*>(data);
    return std::vector<uint8_t>(p, p + length);
  }
  void writeCache(const std::vector<uint8_t>& cache) override {
    calibrator_.writeCalibrationCache(cache.data(), cache.size());
  }

 private:
  nvinfer1::IInt8Calibrator& calibrator_;
};
#endif

const char* poolName(nvinfer1::MemoryPoolType pool) {
  switch (pool) {
    case nvinfer1::MemoryPoolType::kWORKSPACE: return "workspace";
    case nvinfer1::MemoryPoolType::kDLA_MANAGED_SRAM: return "dlaManagedSram";
    case nvinfer1::MemoryPoolType::kDLA_LOCAL_DRAM: return "dlaLocalDram";
    case nvinfer1::MemoryPoolType::kDLA_GLOBAL_DRAM: return "dlaGlobalDram";
    case nvinfer1::MemoryPoolType::kTACTIC_SHARED_MEMORY: return "tacticSharedMemory";
    default: return nullptr;
  }
}

}  // namespace

// ---- INetworkDefinition -----------------------------------------------------------------------

DoubleNetwork::DoubleNetwork(DoubleBuilder& builder, nvinfer1::NetworkDefinitionCreationFlags flags)
    : builder_(builder), flags_(flags) {
  mImpl = this;
  builder_.networks().add();
}

DoubleNetwork::~DoubleNetwork() noexcept {
  alive_.check("~INetworkDefinition");
  if (parsers_.live() > 0) {
    violation("an INetworkDefinition is destroyed after the IParser that fills it",
              "INetworkDefinition destroyed while its parser is alive");
  }
  if (builder_.thread().busy()) {
    OneThread::Scope scope(builder_.thread(), kBuilderThreadRule, "~INetworkDefinition");
  }
  builder_.networks().remove();
}

bool DoubleNetwork::stronglyTyped() const {
#if NV_TENSORRT_MAJOR < 11
  return (flags_ & (1U << static_cast<uint32_t>(nvinfer1::NetworkDefinitionCreationFlag::kSTRONGLY_TYPED))) != 0;
#else
  return true;  // TensorRT 11: every network is strongly typed
#endif
}

bool DoubleNetwork::getFlag(nvinfer1::NetworkDefinitionCreationFlag flag) const noexcept {
  alive_.check("getFlag");
  return (flags_ & (1U << static_cast<uint32_t>(flag))) != 0;
}

bool DoubleNetwork::setParsed(std::unique_ptr<tnrt::Network> sim, std::vector<std::string> plugins,
                              const Logger& logger) {
  plugins_ = std::move(plugins);
  const tnrt::NetworkInfo info = sim->info();
  for (const auto& t : info.inputs) {
    nvinfer1::DataType type;
    if (!toTrt(t.dtype, &type)) {
      logger.error("network input '" + t.name + "' has a type the double cannot name");
      return false;
    }
    inputs_.push_back(std::make_unique<DoubleTensor>(t, type));
  }
  for (const auto& t : info.outputs) {
    nvinfer1::DataType type;
    if (!toTrt(t.dtype, &type)) {
      logger.error("network output '" + t.name + "' has a type the double cannot name");
      return false;
    }
    outputs_.push_back(std::make_unique<DoubleTensor>(t, type));
  }
  layers_ = info.numLayers;
  sim_ = std::move(sim);
  return true;
}

int32_t DoubleNetwork::getNbLayers() const noexcept {
  alive_.check("getNbLayers");
  return layers_;
}
int32_t DoubleNetwork::getNbInputs() const noexcept {
  alive_.check("getNbInputs");
  return static_cast<int32_t>(inputs_.size());
}
int32_t DoubleNetwork::getNbOutputs() const noexcept {
  alive_.check("getNbOutputs");
  return static_cast<int32_t>(outputs_.size());
}
nvinfer1::ITensor* DoubleNetwork::getInput(int32_t index) const noexcept {
  alive_.check("getInput");
  if (index < 0 || index >= getNbInputs()) return nullptr;
  return inputs_[static_cast<size_t>(index)].get();
}
nvinfer1::ITensor* DoubleNetwork::getOutput(int32_t index) const noexcept {
  alive_.check("getOutput");
  if (index < 0 || index >= getNbOutputs()) return nullptr;
  return outputs_[static_cast<size_t>(index)].get();
}
nvinfer1::IBuilder& DoubleNetwork::getBuilder() const noexcept { return builder_; }

// ---- IOptimizationProfile ---------------------------------------------------------------------

bool DoubleProfile::setDimensions(char const* inputName, nvinfer1::OptProfileSelector select,
                                  nvinfer1::Dims const& dims) noexcept {
  const int k = selectorIndex(select);
  if (!inputName || k < 0 || dims.nbDims < 0 || dims.nbDims > nvinfer1::Dims::MAX_DIMS) return false;
  for (int32_t i = 0; i < dims.nbDims; ++i)
    if (dims.d[i] < 0) return false;
  Range& r = ranges_[inputName];
  r.set[k] = true;
  r.dims[k] = fromTrtDims(dims);
  return true;
}

nvinfer1::Dims DoubleProfile::getDimensions(char const* inputName, nvinfer1::OptProfileSelector select) const noexcept {
  nvinfer1::Dims invalid{};
  invalid.nbDims = -1;
  const int k = selectorIndex(select);
  auto it = inputName ? ranges_.find(inputName) : ranges_.end();
  if (it == ranges_.end() || k < 0 || !it->second.set[k]) return invalid;
  return toTrtDims(it->second.dims[k]);
}

bool DoubleProfile::storeValues(const char* inputName, nvinfer1::OptProfileSelector select,
                                std::vector<int64_t> values, bool wide) {
  const int k = selectorIndex(select);
  if (!inputName || k < 0 || values.empty()) return false;
  Range& r = ranges_[inputName];
  // TensorRT: false when nbValues does not match an earlier call for the same input.
  for (int e = 0; e < 3; ++e)
    if (e != k && r.valuesSet[e] && r.values[e].size() != values.size()) return false;
  if (r.wide != wide) {
    // Switching between the int32 and int64 calls forgets what the other one set.
    for (int e = 0; e < 3; ++e) r.valuesSet[e] = false;
    r.wide = wide;
  }
  r.values32[k].clear();
  if (!wide)
    for (int64_t v : values) r.values32[k].push_back(static_cast<int32_t>(v));
  r.values[k] = std::move(values);
  r.valuesSet[k] = true;
  return true;
}

#if NV_TENSORRT_MAJOR < 11
bool DoubleProfile::setShapeValues(char const* inputName, nvinfer1::OptProfileSelector select, int32_t const* values,
                                   int32_t nbValues) noexcept {
  if (!values || nbValues <= 0) return false;
  return storeValues(inputName, select, std::vector<int64_t>(values, values + nbValues), false);
}

int32_t const* DoubleProfile::getShapeValues(char const* inputName, nvinfer1::OptProfileSelector select) const noexcept {
  const int k = selectorIndex(select);
  auto it = inputName ? ranges_.find(inputName) : ranges_.end();
  if (it == ranges_.end() || k < 0 || it->second.wide || !it->second.valuesSet[k]) return nullptr;
  return it->second.values32[k].data();
}
#endif

#if TNRT_DOUBLE_HAS_SHAPE_VALUES_V2
bool DoubleProfile::setShapeValuesV2(char const* inputName, nvinfer1::OptProfileSelector select, int64_t const* values,
                                     int32_t nbValues) noexcept {
  if (!values || nbValues <= 0) return false;
  return storeValues(inputName, select, std::vector<int64_t>(values, values + nbValues), true);
}

int64_t const* DoubleProfile::getShapeValuesV2(char const* inputName,
                                               nvinfer1::OptProfileSelector select) const noexcept {
  const int k = selectorIndex(select);
  auto it = inputName ? ranges_.find(inputName) : ranges_.end();
  if (it == ranges_.end() || k < 0 || !it->second.wide || !it->second.valuesSet[k]) return nullptr;
  return it->second.values[k].data();
}
#endif

int32_t DoubleProfile::getNbShapeValues(char const* inputName) const noexcept {
  auto it = inputName ? ranges_.find(inputName) : ranges_.end();
  if (it == ranges_.end()) return -1;
  for (int k = 0; k < 3; ++k)
    if (it->second.valuesSet[k]) return static_cast<int32_t>(it->second.values[k].size());
  return -1;
}

bool DoubleProfile::ranges(std::vector<tnrt::InputProfile>* out, std::string* why) const {
  for (const auto& [name, r] : ranges_) {
    const bool anyValues = r.valuesSet[0] || r.valuesSet[1] || r.valuesSet[2];
    if (anyValues && (!r.valuesSet[0] || !r.valuesSet[1] || !r.valuesSet[2])) {
      *why = "shape tensor '" + name + "' does not have all of kMIN, kOPT and kMAX values set";
      return false;
    }
    for (size_t i = 0; anyValues && i < r.values[0].size(); ++i) {
      if (r.values[0][i] > r.values[1][i] || r.values[1][i] > r.values[2][i]) {
        *why = "shape tensor '" + name + "' values do not satisfy kMIN <= kOPT <= kMAX";
        return false;
      }
    }
    // A shape tensor's dimensions are fixed: values alone are a complete entry.
    const bool anyDims = r.set[0] || r.set[1] || r.set[2];
    if (anyValues && !anyDims) {
      tnrt::InputProfile p;
      p.input = name;
      p.minValues = r.values[0];
      p.optValues = r.values[1];
      p.maxValues = r.values[2];
      out->push_back(std::move(p));
      continue;
    }
    if (!r.set[0] || !r.set[1] || !r.set[2]) {
      *why = "input '" + name + "' does not have all of kMIN, kOPT and kMAX set";
      return false;
    }
    if (r.dims[0].size() != r.dims[1].size() || r.dims[1].size() != r.dims[2].size()) {
      *why = "input '" + name + "' has kMIN, kOPT and kMAX of different ranks";
      return false;
    }
    for (size_t i = 0; i < r.dims[0].size(); ++i) {
      if (r.dims[0][i] > r.dims[1][i] || r.dims[1][i] > r.dims[2][i]) {
        *why = "input '" + name + "' does not satisfy kMIN <= kOPT <= kMAX";
        return false;
      }
    }
    tnrt::InputProfile p;
    p.input = name;
    p.min = r.dims[0];
    p.opt = r.dims[1];
    p.max = r.dims[2];
    if (anyValues) {
      p.minValues = r.values[0];
      p.optValues = r.values[1];
      p.maxValues = r.values[2];
    }
    out->push_back(std::move(p));
  }
  return true;
}

bool DoubleProfile::isValid() const noexcept {
  std::vector<tnrt::InputProfile> unused;
  std::string why;
  return ranges(&unused, &why);
}

// ---- ITimingCache -----------------------------------------------------------------------------

nvinfer1::IHostMemory* DoubleTimingCache::serialize() const noexcept {
  alive_.check("serialize");
  return new DoubleHostMemory(bytes_.empty() ? tnrt::sim::makeSimTimingCache() : bytes_);
}

bool DoubleTimingCache::combine(nvinfer1::ITimingCache const&, bool) noexcept {
  alive_.check("combine");
  return true;  // the sim times nothing: every cache is empty
}

bool DoubleTimingCache::reset() noexcept {
  alive_.check("reset");
  bytes_.clear();
  return true;
}

// ---- IBuilderConfig ---------------------------------------------------------------------------

DoubleConfig::DoubleConfig(DoubleBuilder& builder) : builder_(builder) {
  mImpl = this;
  builder_.configs().add();
}

DoubleConfig::~DoubleConfig() noexcept {
  alive_.check("~IBuilderConfig");
  builder_.configs().remove();
}

int32_t DoubleConfig::addOptimizationProfile(nvinfer1::IOptimizationProfile const* profile) noexcept {
  alive_.check("addOptimizationProfile");
  const auto* p = static_cast<const DoubleProfile*>(profile);
  std::vector<tnrt::InputProfile> unused;
  std::string why;
  if (!p || !p->ranges(&unused, &why)) {
    builder_.logger().error("IBuilderConfig::addOptimizationProfile: Error Code 3: API Usage Error (invalid profile: " +
                            (p ? why : std::string("null")) + ")");
    return -1;
  }
  profiles_.push_back(p);
  return static_cast<int32_t>(profiles_.size()) - 1;
}

nvinfer1::ITimingCache* DoubleConfig::createTimingCache(void const* blob, std::size_t size) const noexcept {
  alive_.check("createTimingCache");
  std::vector<uint8_t> bytes;
  if (blob && size > 0) bytes.assign(static_cast<const uint8_t*>(blob), static_cast<const uint8_t*>(blob) + size);
  try {
    tnrt::sim::checkSimTimingCache(bytes);
  } catch (const std::exception& e) {
    builder_.logger().error(std::string("IBuilderConfig::createTimingCache: Error Code 1: Serialization (") + e.what() + ")");
    return nullptr;
  }
  return new DoubleTimingCache(std::move(bytes));
}

bool DoubleConfig::setTimingCache(nvinfer1::ITimingCache const& cache, bool) noexcept {
  alive_.check("setTimingCache");
  // TensorRT attaches the cache itself (not a copy): a build adds to it.
  timingCache_ = static_cast<DoubleTimingCache*>(const_cast<nvinfer1::ITimingCache*>(&cache));
  return true;
}

void DoubleConfig::setMemoryPoolLimit(nvinfer1::MemoryPoolType pool, std::size_t poolSize) noexcept {
  alive_.check("setMemoryPoolLimit");
  const char* name = poolName(pool);
  if (!name) {
    builder_.logger().error("IBuilderConfig::setMemoryPoolLimit: unknown pool " + std::to_string(static_cast<int>(pool)));
    return;
  }
  pools_[name] = poolSize;
}

std::size_t DoubleConfig::getMemoryPoolLimit(nvinfer1::MemoryPoolType pool) const noexcept {
  const char* name = poolName(pool);
  auto it = name ? pools_.find(name) : pools_.end();
  return it == pools_.end() ? 0 : static_cast<std::size_t>(it->second);
}

void DoubleConfig::setBuilderOptimizationLevel(int32_t level) noexcept {
  alive_.check("setBuilderOptimizationLevel");
  if (level < 0 || level > 5) {
    builder_.logger().error("IBuilderConfig::setBuilderOptimizationLevel: level " + std::to_string(level) +
                            " outside [0, 5]");
    return;
  }
  optimizationLevel_ = level;
}

// ---- IBuilder ---------------------------------------------------------------------------------

DoubleBuilder::DoubleBuilder(nvinfer1::ILogger* logger)
    : logger_(logger), sink_(std::make_shared<SimLogSink>(logger)), sim_(simBackend()->createBuilder(sink_, {})) {
  mImpl = this;
}

DoubleBuilder::~DoubleBuilder() noexcept {
  alive_.check("~IBuilder");
  if (networks_.live() > 0) {
    violation("an IBuilder is destroyed after every INetworkDefinition it created",
              "IBuilder destroyed with " + std::to_string(networks_.live()) + " network(s) alive");
  }
  if (thread_.busy()) violation(kBuilderThreadRule, "IBuilder destroyed while another thread is inside a call");
  // TensorRT may log while tearing down: the logger must outlive the builder.
  logger_.log(nvinfer1::ILogger::Severity::kVERBOSE, "destroying the IBuilder");
}

nvinfer1::IBuilderConfig* DoubleBuilder::createBuilderConfig() noexcept {
  alive_.check("createBuilderConfig");
  OneThread::Scope scope(thread_, kBuilderThreadRule, "createBuilderConfig");
  return new DoubleConfig(*this);
}

nvinfer1::INetworkDefinition* DoubleBuilder::createNetworkV2(nvinfer1::NetworkDefinitionCreationFlags flags) noexcept {
  alive_.check("createNetworkV2");
  OneThread::Scope scope(thread_, kBuilderThreadRule, "createNetworkV2");
  return new DoubleNetwork(*this, flags);
}

nvinfer1::IOptimizationProfile* DoubleBuilder::createOptimizationProfile() noexcept {
  alive_.check("createOptimizationProfile");
  OneThread::Scope scope(thread_, kBuilderThreadRule, "createOptimizationProfile");
  profiles_.push_back(std::make_unique<DoubleProfile>());
  return profiles_.back().get();
}

nvinfer1::IHostMemory* DoubleBuilder::buildSerializedNetwork(nvinfer1::INetworkDefinition& network,
                                                             nvinfer1::IBuilderConfig& config) noexcept {
  alive_.check("buildSerializedNetwork");
  OneThread::Scope scope(thread_, kBuilderThreadRule, "buildSerializedNetwork");
  auto& net = static_cast<DoubleNetwork&>(network);
  auto& cfg = static_cast<DoubleConfig&>(config);
  net.check("buildSerializedNetwork(network)");
  cfg.check("buildSerializedNetwork(config)");
  if (&net.builder() != this || &cfg.builder() != this) {
    violation("buildSerializedNetwork takes a network and a config made by the same IBuilder",
              "the network or the config came from another builder");
  }
  if (fault("build")) {
    logger_.error("IBuilder::buildSerializedNetwork: Error Code 10: Internal Error (injected fault: build)");
    return nullptr;
  }
  try {
    return build(net, cfg);
  } catch (const std::exception& e) {
    logger_.error(std::string("IBuilder::buildSerializedNetwork: Error Code 4: ") + e.what());
    return nullptr;
  }
}

nvinfer1::IHostMemory* DoubleBuilder::build(DoubleNetwork& net, DoubleConfig& cfg) {
  if (!net.sim()) {
    logger_.error("IBuilder::buildSerializedNetwork: Error Code 4: Internal Error (the network has no inputs or outputs)");
    return nullptr;
  }
  tnrt::BuildOptions options;
  for (const DoubleProfile* p : cfg.profiles()) {
    tnrt::Profile profile;
    std::string why;
    if (!p->ranges(&profile.inputs, &why)) throw tnrt::BackendError(tnrt::ErrorCode::kShape, why);
    options.profiles.push_back(std::move(profile));
  }
  options.memoryPoolLimits = cfg.pools();
  if (cfg.timingCache()) options.timingCache = cfg.timingCache()->bytes();
  options.optimizationLevel = cfg.optimizationLevel();
  std::unique_ptr<MonitorBridge> monitor;
  if (cfg.getProgressMonitor()) {
    monitor = std::make_unique<MonitorBridge>(*cfg.getProgressMonitor());
    options.progress = monitor.get();
  }
#if NV_TENSORRT_MAJOR < 11
  options.fp16 = cfg.getFlag(nvinfer1::BuilderFlag::kFP16);
  options.int8 = cfg.getFlag(nvinfer1::BuilderFlag::kINT8);
  if ((options.fp16 || options.int8) && net.stronglyTyped()) {
    logger_.error("IBuilder::buildSerializedNetwork: Error Code 3: API Usage Error (precision flags are not allowed "
                  "for a strongly typed network)");
    return nullptr;
  }
  std::unique_ptr<CalibratorBridge> calibrator;
  if (options.int8 && cfg.calibrator()) {
    calibrator = std::make_unique<CalibratorBridge>(*cfg.calibrator());
    options.calibrator = calibrator.get();
  }
#endif
  // TNRT_DOUBLE_BUILD_MS: a build takes at least that long, as real ones do (seconds to
  // minutes), so that tests can do things while a build holds the builder.
  if (const char* ms = std::getenv("TNRT_DOUBLE_BUILD_MS")) {
    std::this_thread::sleep_for(std::chrono::milliseconds(std::atoi(ms)));
  }
  // TensorRT logs from its own threads while it builds: the logger must be thread-safe.
  std::thread([this] { logger_.info("the TensorRT double builds on the sim"); }).join();
  // What the double records but cannot compute differently; tests read these lines.
  const char* level = "kNONE";
  switch (cfg.getHardwareCompatibilityLevel()) {
    case nvinfer1::HardwareCompatibilityLevel::kAMPERE_PLUS: level = "kAMPERE_PLUS"; break;
    case nvinfer1::HardwareCompatibilityLevel::kNONE: break;
    default: level = "kSAME_COMPUTE_CAPABILITY"; break;
  }
  logger_.info(std::string("TensorRT double build flags: kTF32 ") + (cfg.getFlag(nvinfer1::BuilderFlag::kTF32) ? "on" : "off") +
               ", kVERSION_COMPATIBLE " + (cfg.getFlag(nvinfer1::BuilderFlag::kVERSION_COMPATIBLE) ? "on" : "off") +
               ", kEXCLUDE_LEAN_RUNTIME " + (cfg.getFlag(nvinfer1::BuilderFlag::kEXCLUDE_LEAN_RUNTIME) ? "on" : "off") +
               ", hardware compatibility level " + level + ", device " + std::to_string(currentDevice()));
  tnrt::BuildResult result;
  try {
    result = sim_->buildSerializedNetwork(*net.sim(), options);
  } catch (const tnrt::BackendError& e) {
    if (e.code() == tnrt::ErrorCode::kCancelled) {
      logger_.error("IBuilder::buildSerializedNetwork: Error Code 4: the build was cancelled by the progress monitor");
      return nullptr;
    }
    throw;
  }
  if (cfg.timingCache()) cfg.timingCache()->replace(result.timingCache);
  PlanInfo plan;
  plan.tf32 = cfg.getFlag(nvinfer1::BuilderFlag::kTF32);
  plan.versionCompatible = cfg.getFlag(nvinfer1::BuilderFlag::kVERSION_COMPATIBLE);
  plan.excludeLeanRuntime = plan.versionCompatible && cfg.getFlag(nvinfer1::BuilderFlag::kEXCLUDE_LEAN_RUNTIME);
  plan.plugins = net.plugins();
  plan.profilingVerbosity = cfg.getProfilingVerbosity();
  return new DoubleHostMemory(wrapPlan(result.plan, plan));
}

// ---- nvonnxparser::IParser --------------------------------------------------------------------

DoubleParser::DoubleParser(DoubleNetwork& network, nvinfer1::ILogger* logger) : network_(network), logger_(logger) {
  network_.parsers().add();
}

DoubleParser::~DoubleParser() noexcept {
  alive_.check("~IParser");
  network_.check("~IParser (its network)");
  logger_.log(nvinfer1::ILogger::Severity::kVERBOSE, "destroying the ONNX parser");
  network_.parsers().remove();
}

bool DoubleParser::parse(void const* data, size_t size, const char* modelPath) noexcept {
  alive_.check("parse");
  network_.check("IParser::parse (its network)");
  OneThread::Scope scope(network_.builder().thread(), kBuilderThreadRule, "IParser::parse");
  errors_.clear();
  if (network_.sim()) {
    violation("an IParser fills an empty INetworkDefinition once", "parse called on a network that already holds a model");
  }
  if (fault("parse")) {
    tnrt::ParserError e;
    e.description = "injected fault: parse";
    errors_.push_back(std::make_unique<DoubleParserError>(e));
    logger_.error("ModelImporter: injected fault: parse");
    return false;
  }
  std::string modelDir;
  if (modelPath) {
    const std::string path = modelPath;
    const size_t slash = path.find_last_of('/');
    modelDir = slash == std::string::npos ? std::string() : path.substr(0, slash);
  }
  try {
    // Operators the sim does not know are looked up as plugins, as TensorRT's parser does.
    DoublePluginRegistry::Import imported =
        DoublePluginRegistry::instance().importPluginNodes(static_cast<const uint8_t*>(data), size, logger_);
    if (!imported.errors.empty()) {
      for (const auto& e : imported.errors) {
        logger_.error("ModelImporter: node " + e.node + " (" + e.op + "): " + e.description);
        errors_.push_back(std::make_unique<DoubleParserError>(e));
      }
      return false;
    }
    tnrt::ParseOptions options;
    options.stronglyTyped = network_.stronglyTyped();
    std::vector<tnrt::ParserError> errors;
    std::unique_ptr<tnrt::Network> sim = network_.builder().sim().parseOnnx(
        imported.model.data(), imported.model.size(), modelDir, options, &errors);
    if (!sim) {
      for (const auto& e : errors) {
        logger_.error("ModelImporter: " + (e.node.empty() ? std::string() : "node " + e.node + " (" + e.op + "): ") +
                      e.description);
        errors_.push_back(std::make_unique<DoubleParserError>(e));
      }
      return false;
    }
    return network_.setParsed(std::move(sim), std::move(imported.plugins), logger_);
  } catch (const std::exception& ex) {
    tnrt::ParserError e;
    e.description = ex.what();
    logger_.error(std::string("ModelImporter: ") + ex.what());
    errors_.push_back(std::make_unique<DoubleParserError>(e));
    return false;
  }
}

nvonnxparser::IParserError const* DoubleParser::getError(int index) const noexcept {
  alive_.check("getError");
  if (index < 0 || index >= getNbErrors()) return nullptr;
  return errors_[static_cast<size_t>(index)].get();
}

}  // namespace tnrt_double
