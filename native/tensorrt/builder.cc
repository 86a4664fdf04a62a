#include "tensorrt/builder.h"

#include <NvOnnxParser.h>

#include <climits>
#include <optional>
#include <utility>

#include "tensorrt/calibrator.h"
#include "tensorrt/companion_libraries.h"
#include "tensorrt/network.h"
#include "tensorrt/plugins.h"
#include "tensorrt/progress_monitor.h"
#include "tensorrt/trt_version.h"
#include "tensorrt/type_mapping.h"

namespace tnrt {
namespace trt {

namespace {

// Network creation flags. 10.x: explicit batch is the only mode (kEXPLICIT_BATCH is
// deprecated and ignored), so the only flag that matters is kSTRONGLY_TYPED; without it the
// network is weakly typed, TensorRT's default, and the fp16/int8 builder flags apply. 11.x:
// networks are always strongly typed (kSTRONGLY_TYPED is deprecated and ignored), so nothing
// is set.
nvinfer1::NetworkDefinitionCreationFlags networkFlags(const ParseOptions& options) {
#if NV_TENSORRT_MAJOR < 11
  if (options.stronglyTyped)
    return 1U << static_cast<uint32_t>(nvinfer1::NetworkDefinitionCreationFlag::kSTRONGLY_TYPED);
#else
  (void)options;
#endif
  return 0;
}

// The explicit-precision path, named in every refusal of the implicit one.
constexpr const char* kExplicitPath =
    "convert the model instead: convertToFloat16(model) for FP16, quantizeInt8(model, { calibrationData }) for INT8 "
    "(or buildEngine(model, { precision }), which picks the path for the backend)";

// Maps BuildOptions' precision flags and calibrator onto the config. Returns the calibrator
// bridge the config now points to (null when there is none); it must outlive the build.
#if NV_TENSORRT_MAJOR < 11
std::unique_ptr<TrtCalibratorBridge> applyPrecision(nvinfer1::IBuilderConfig& config,
                                                    const nvinfer1::INetworkDefinition& network,
                                                    const NetworkInfo& info, const BuildOptions& options) {
  if (!options.fp16 && !options.int8) return nullptr;
  if (network.getFlag(nvinfer1::NetworkDefinitionCreationFlag::kSTRONGLY_TYPED)) {
    throw BackendError(ErrorCode::kInvalidArgument,
                       "the fp16/int8 builder flags do not apply to a strongly typed network (its types come from "
                       "the model); parse without stronglyTyped, or " + std::string(kExplicitPath));
  }
  if (options.fp16) config.setFlag(nvinfer1::BuilderFlag::kFP16);
  if (!options.int8) return nullptr;
  if (!options.calibrator) {
    throw BackendError(ErrorCode::kInvalidArgument, "the int8 flag needs an INT8 calibrator");
  }
  config.setFlag(nvinfer1::BuilderFlag::kINT8);
  // TensorRT calibrates at the calibration profile's opt shapes, which default to profile 0's.
  std::vector<CalibrationInput> inputs;
  for (const auto& input : info.inputs) {
    CalibrationInput ci;
    ci.name = input.name;
    ci.dtype = input.dtype;
    ci.shape = input.shape;
    if (!options.profiles.empty()) {
      for (const auto& ip : options.profiles.front().inputs)
        if (ip.input == input.name) ci.shape = ip.opt;
    }
    const int64_t count = volume(ci.shape);
    if (count < 0) {
      throw BackendError(ErrorCode::kShape, "calibration needs a shape for input '" + input.name + "' (" +
                                                dimsToString(input.shape) + "): add an optimization profile");
    }
    ci.bytes = dataTypeBytes(ci.dtype, count);
    inputs.push_back(std::move(ci));
  }
  auto bridge = std::make_unique<TrtCalibratorBridge>(*options.calibrator, std::move(inputs));
  config.setInt8Calibrator(bridge->get());
  return bridge;
}
#else
// TensorRT 11 has neither BuilderFlag::kFP16/kINT8 nor IInt8Calibrator.
void refuseImplicitPrecision(const BuildOptions& options) {
  if (!options.fp16 && !options.int8) return;
  throw BackendError(ErrorCode::kUnsupported,
                     std::string("TensorRT ") + std::to_string(NV_TENSORRT_MAJOR) +
                         " removed the fp16/int8 builder flags and INT8 calibrators (networks are always strongly "
                         "typed); " + kExplicitPath);
}
#endif

// TF32, version compatibility, hardware compatibility and profiling verbosity: plain flags, the same in 10.x and 11.x
// (their enum values differ, which the names take care of).
void applyCompatibility(nvinfer1::IBuilderConfig& config, const BuildOptions& options) {
  // TensorRT sets kTF32 in every new config; -1 leaves it so.
  if (options.tf32 == 0) config.clearFlag(nvinfer1::BuilderFlag::kTF32);
  if (options.tf32 == 1) config.setFlag(nvinfer1::BuilderFlag::kTF32);
  if (options.excludeLeanRuntime && !options.versionCompatible) {
    throw BackendError(ErrorCode::kInvalidArgument, "excludeLeanRuntime applies to versionCompatible builds only");
  }
  if (options.versionCompatible) config.setFlag(nvinfer1::BuilderFlag::kVERSION_COMPATIBLE);
  if (options.excludeLeanRuntime) config.setFlag(nvinfer1::BuilderFlag::kEXCLUDE_LEAN_RUNTIME);
  switch (options.profilingVerbosity) {
    case ProfilingVerbosity::kLayerNamesOnly: config.setProfilingVerbosity(nvinfer1::ProfilingVerbosity::kLAYER_NAMES_ONLY); break;
    case ProfilingVerbosity::kNone: config.setProfilingVerbosity(nvinfer1::ProfilingVerbosity::kNONE); break;
    case ProfilingVerbosity::kDetailed: config.setProfilingVerbosity(nvinfer1::ProfilingVerbosity::kDETAILED); break;
  }
  switch (options.hardwareCompatibility) {
    case HardwareCompatibility::kNone: break;
    case HardwareCompatibility::kAmperePlus:
      config.setHardwareCompatibilityLevel(nvinfer1::HardwareCompatibilityLevel::kAMPERE_PLUS);
      break;
    case HardwareCompatibility::kSameComputeCapability:
#if TNRT_TRT_HAS_SAME_COMPUTE_CAPABILITY
      config.setHardwareCompatibilityLevel(nvinfer1::HardwareCompatibilityLevel::kSAME_COMPUTE_CAPABILITY);
      break;
#else
      throw BackendError(ErrorCode::kUnsupported,
                         "hardware compatibility level 'sameComputeCapability' needs TensorRT 10.9 or later (this "
                         "adapter was compiled for " + std::to_string(NV_TENSORRT_MAJOR) + "." +
                             std::to_string(NV_TENSORRT_MINOR) + "); use 'ampereplus' or upgrade TensorRT");
#endif
  }
}

ParserError toParserError(const nvonnxparser::IParserError& e) {
  ParserError out;
  out.node = e.nodeName() ? e.nodeName() : "";
  out.nodeIndex = e.node();
  out.op = e.nodeOperator() ? e.nodeOperator() : "";
  out.description = e.desc() ? e.desc() : "";
  return out;
}

std::vector<uint8_t> copyHostMemory(const nvinfer1::IHostMemory& memory) {
  const auto* begin = static_cast<const uint8_t*>(memory.data());
  return std::vector<uint8_t>(begin, begin + memory.size());
}

bool hasInput(const NetworkInfo& info, const std::string& name) {
  for (const auto& input : info.inputs)
    if (input.name == name) return true;
  return false;
}

// A shape-tensor input's min/opt/max values: setShapeValuesV2 (int64_t) where it exists (10.11
// and later), else setShapeValues, whose int32_t values must then hold them exactly.
void setShapeValues(nvinfer1::IOptimizationProfile& profile, const InputProfile& input, const std::string& what,
                    const TrtLogger& logger, uint64_t mark) {
  const std::pair<nvinfer1::OptProfileSelector, const std::vector<int64_t>*> ends[] = {
      {nvinfer1::OptProfileSelector::kMIN, &input.minValues},
      {nvinfer1::OptProfileSelector::kOPT, &input.optValues},
      {nvinfer1::OptProfileSelector::kMAX, &input.maxValues}};
  for (const auto& [select, values] : ends) {
    if (values->size() != input.minValues.size() || values->size() > static_cast<size_t>(INT32_MAX)) {
      throw BackendError(ErrorCode::kInvalidArgument, what + ": min, opt and max shape values differ in length");
    }
    const auto count = static_cast<int32_t>(values->size());
#if TNRT_TRT_HAS_SHAPE_VALUES_V2
    const bool ok = profile.setShapeValuesV2(input.input.c_str(), select, values->data(), count);
#else
    std::vector<int32_t> narrow;
    for (int64_t v : *values) {
      if (v < INT32_MIN || v > INT32_MAX) {
        throw BackendError(ErrorCode::kShape, what + ": shape value " + std::to_string(v) +
                                                  " does not fit the int32 values this TensorRT (before 10.11) takes");
      }
      narrow.push_back(static_cast<int32_t>(v));
    }
    const bool ok = profile.setShapeValues(input.input.c_str(), select, narrow.data(), count);
#endif
    if (!ok) {
      throw BackendError(ErrorCode::kShape,
                         logger.describeFailure(what + ": TensorRT rejected its shape values", mark));
    }
  }
}

}  // namespace

std::shared_ptr<TrtBuilder> TrtBuilder::create(std::shared_ptr<LogSink> sink, const CreateOptions& options) {
  checkDeviceIndex(options.device);
  // TensorRT's builder takes the GPU it builds for from the current device when it is created.
  DeviceScope device(options.device);
  auto logger = std::make_shared<TrtLogger>(std::move(sink));
  // Before anything is parsed: the ONNX parser looks plugin layers up in the registry.
  registerStandardPlugins(*logger);
  loadPluginLibraries(options.plugins, *logger);
  // Before createInferBuilder, which opens the builder resource library by bare name.
  const std::string& companions = preloadBuilderLibraries();
  const uint64_t mark = logger->mark();
  std::unique_ptr<nvinfer1::IBuilder> builder(nvinfer1::createInferBuilder(*logger));
  if (!builder) {
    std::string message = logger->describeFailure("TensorRT could not create a builder", mark);
    if (!companions.empty()) message += "\n" + companions;
    throw BackendError(ErrorCode::kUnavailable, message);
  }
  return std::make_shared<TrtBuilder>(std::move(logger), std::move(builder), options.device);
}

TrtBuilder::TrtBuilder(std::shared_ptr<TrtLogger> logger, std::unique_ptr<nvinfer1::IBuilder> builder, int device)
    : logger_(std::move(logger)), builder_(std::move(builder)), device_(device) {}

TrtBuilder::~TrtBuilder() {
  DeviceScope device(device_, std::nothrow);
  retired_.clear();
  builder_.reset();
}

std::unique_ptr<Network> TrtBuilder::parseOnnx(const uint8_t* data, size_t size, const std::string& modelDir,
                                               const ParseOptions& options, std::vector<ParserError>* errors) {
  if (!data || size == 0) throw BackendError(ErrorCode::kInvalidArgument, "parseOnnx: the model is empty");

  Lock lock(*this);
  const uint64_t mark = logger_->mark();
  std::unique_ptr<nvinfer1::INetworkDefinition> network(builder_->createNetworkV2(networkFlags(options)));
  if (!network) {
    throw BackendError(ErrorCode::kInternal, logger_->describeFailure("TensorRT could not create a network", mark));
  }
  std::unique_ptr<nvonnxparser::IParser> parser(nvonnxparser::createParser(*network, *logger_));
  if (!parser) {
    throw BackendError(ErrorCode::kInternal,
                       logger_->describeFailure("TensorRT could not create the ONNX parser", mark));
  }

  // The parser resolves external data files relative to the directory of the model's path;
  // it never opens the path itself, so any file name inside modelDir will do.
  const std::string modelPath = modelDir.empty() ? std::string() : modelDir + "/model.onnx";
  if (!parser->parse(data, size, modelPath.empty() ? nullptr : modelPath.c_str())) {
    if (errors) {
      errors->clear();
      for (int32_t i = 0; i < parser->getNbErrors(); ++i) {
        if (const nvonnxparser::IParserError* e = parser->getError(i)) errors->push_back(toParserError(*e));
      }
      if (errors->empty()) {
        ParserError e;
        e.description = logger_->describeFailure("the ONNX parser failed without reporting an error", mark);
        errors->push_back(std::move(e));
      }
      // The parser names the operator it found no plugin for, but not where it looked.
      for (ParserError& e : *errors) {
        if (!mentionsPlugin(e.description)) continue;
        const char last = e.description.empty() ? '.' : e.description.back();
        e.description += (last == '.' || last == '?' || last == '!' ? " " : ". ") + pluginSearchReport();
      }
    }
    return nullptr;
  }
  return std::make_unique<TrtNetwork>(shared_from_this(), std::move(network), std::move(parser));
}

void TrtBuilder::retire(std::unique_ptr<nvonnxparser::IParser> parser,
                        std::unique_ptr<nvinfer1::INetworkDefinition> network) {
  std::unique_lock<std::mutex> idle(mutex_, std::try_to_lock);
  if (idle.owns_lock()) {
    DeviceScope device(device_, std::nothrow);
    parser.reset();
    network.reset();
    destroyRetired();
    return;
  }
  // The holder destroys it when it lets go; if it already checked, the next parse or build,
  // or the builder's own destruction, does.
  std::lock_guard<std::mutex> lock(retiredMutex_);
  retired_.push_back(Retired{std::move(network), std::move(parser)});
}

void TrtBuilder::destroyRetired() {
  std::vector<Retired> doomed;
  {
    std::lock_guard<std::mutex> lock(retiredMutex_);
    doomed.swap(retired_);
  }
  doomed.clear();
}

BuildResult TrtBuilder::buildSerializedNetwork(const Network& network, const BuildOptions& options) {
  const auto* trtNetwork = dynamic_cast<const TrtNetwork*>(&network);
  if (!trtNetwork || trtNetwork->owner() != this) {
    throw BackendError(ErrorCode::kInvalidArgument, "the network was not parsed by this TensorRT builder");
  }
  const NetworkInfo info = trtNetwork->info();

  Lock lock(*this);
  const uint64_t mark = logger_->mark();

  // The config refers to the monitor and the timing cache, so both are declared first and
  // destroyed after it.
  std::optional<TrtProgressMonitor> monitor;
  std::unique_ptr<nvinfer1::ITimingCache> timingCache;
#if NV_TENSORRT_MAJOR < 11
  std::unique_ptr<TrtCalibratorBridge> calibrator;
#else
  refuseImplicitPrecision(options);
#endif
  std::unique_ptr<nvinfer1::IBuilderConfig> config(builder_->createBuilderConfig());
  if (!config) {
    throw BackendError(ErrorCode::kInternal,
                       logger_->describeFailure("TensorRT could not create a builder config", mark));
  }

  for (const auto& [name, bytes] : options.memoryPoolLimits) {
    nvinfer1::MemoryPoolType pool;
    if (!memoryPoolFromName(name, &pool)) {
      throw BackendError(ErrorCode::kInvalidArgument, "unknown memory pool '" + name + "' (expected one of " +
                                                          memoryPoolNames() + ")");
    }
    config->setMemoryPoolLimit(pool, static_cast<size_t>(bytes));
  }

  for (size_t p = 0; p < options.profiles.size(); ++p) {
    // Profiles belong to the builder and live as long as it does; nothing to free.
    nvinfer1::IOptimizationProfile* profile = builder_->createOptimizationProfile();
    if (!profile) {
      throw BackendError(ErrorCode::kInternal,
                         logger_->describeFailure("TensorRT could not create an optimization profile", mark));
    }
    const std::string where = "optimization profile " + std::to_string(p);
    for (const auto& given : options.profiles[p].inputs) {
      // Values alone stand for a shape tensor's fixed dimensions, as on the sim.
      InputProfile input = given;
      if (!input.minValues.empty() && input.min.empty() && input.opt.empty() && input.max.empty()) {
        for (const auto& t : info.inputs)
          if (t.name == input.input) input.min = input.opt = input.max = t.shape;
      }
      if (!hasInput(info, input.input)) {
        throw BackendError(ErrorCode::kInvalidArgument, where + " names '" + input.input + "', which is not a network input");
      }
      const std::string what = where + " input '" + input.input + "'";
      const bool ok = profile->setDimensions(input.input.c_str(), nvinfer1::OptProfileSelector::kMIN,
                                             toTrtDims(input.min, what + " min")) &&
                      profile->setDimensions(input.input.c_str(), nvinfer1::OptProfileSelector::kOPT,
                                             toTrtDims(input.opt, what + " opt")) &&
                      profile->setDimensions(input.input.c_str(), nvinfer1::OptProfileSelector::kMAX,
                                             toTrtDims(input.max, what + " max"));
      if (!ok) {
        throw BackendError(ErrorCode::kShape,
                           logger_->describeFailure(what + ": TensorRT rejected min " + dimsToString(input.min) +
                                                        ", opt " + dimsToString(input.opt) + ", max " +
                                                        dimsToString(input.max),
                                                    mark));
      }
      if (!input.minValues.empty()) setShapeValues(*profile, input, what, *logger_, mark);
    }
    if (config->addOptimizationProfile(profile) < 0) {
      throw BackendError(ErrorCode::kShape, logger_->describeFailure(where + " is invalid", mark));
    }
  }

  // Always attach a cache, empty if none was given, so the result carries what this build
  // measured and the next build can start from it.
  timingCache.reset(config->createTimingCache(options.timingCache.empty() ? nullptr : options.timingCache.data(),
                                              options.timingCache.size()));
  if (!timingCache) {
    throw BackendError(ErrorCode::kInvalidArgument,
                       logger_->describeFailure("TensorRT could not read the timing cache", mark));
  }
  // ignoreMismatch=false: a cache from another GPU or TensorRT version would feed the build
  // wrong timings; refuse it and let the caller decide whether to build without it.
  if (!config->setTimingCache(*timingCache, false)) {
    throw BackendError(ErrorCode::kInvalidArgument,
                       logger_->describeFailure(
                           "TensorRT rejected the timing cache (made on another GPU or TensorRT version?)", mark));
  }

  if (options.optimizationLevel >= 0) config->setBuilderOptimizationLevel(options.optimizationLevel);
  applyCompatibility(*config, options);

#if NV_TENSORRT_MAJOR < 11
  calibrator = applyPrecision(*config, trtNetwork->definition(), info, options);
#endif

  if (options.progress) {
    monitor.emplace(*options.progress);
    config->setProgressMonitor(&*monitor);
  }

  std::unique_ptr<nvinfer1::IHostMemory> plan(builder_->buildSerializedNetwork(trtNetwork->definition(), *config));
#if NV_TENSORRT_MAJOR < 11
  // A calibrator failure (a JavaScript error, a cancel while it waited) explains a failed or
  // short-calibrated build better than anything TensorRT logs.
  if (calibrator) calibrator->rethrowError();
#endif
  if (monitor) {
    monitor->rethrowSinkError();
    if (monitor->cancelled()) throw BackendError(ErrorCode::kCancelled, "the build was cancelled");
  }
  if (!plan || plan->size() == 0) {
    throw BackendError(ErrorCode::kInternal, logger_->describeFailure("TensorRT could not build the engine", mark));
  }

  BuildResult result;
  result.plan = copyHostMemory(*plan);
  if (const nvinfer1::ITimingCache* cache = config->getTimingCache()) {
    std::unique_ptr<nvinfer1::IHostMemory> blob(cache->serialize());
    if (blob) result.timingCache = copyHostMemory(*blob);
  }
  return result;
}

}  // namespace trt
}  // namespace tnrt
