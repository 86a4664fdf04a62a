#include "sim_builder.h"

#include <algorithm>

#include "engine_format.h"
#include "int8_calibration.h"
#include "onnx_reader.h"
#include "op_registry.h"
#include "profiles.h"
#include "shape_inference.h"
#include "shape_tensors.h"
#include "sim_backend.h"
#include "sim_log.h"
#include "sim_network.h"
#include "timing_cache.h"

namespace tnrt {
namespace sim {

namespace {

// Parse-time folding only needs to resolve shape tensors, which are tiny.
constexpr size_t kParseFoldLimitBytes = 64 * 1024;

std::vector<Dims> profileShapes(const Profile& profile, bool useMax) {
  std::vector<Dims> shapes;
  for (const auto& ip : profile.inputs) shapes.push_back(useMax ? ip.max : ip.min);
  return shapes;
}

// Shape tensors' values at the same end of the range (empty for other inputs).
std::vector<std::vector<int64_t>> profileValues(const Profile& profile, bool useMax) {
  std::vector<std::vector<int64_t>> values;
  for (const auto& ip : profile.inputs) values.push_back(useMax ? ip.maxValues : ip.minValues);
  return values;
}

}  // namespace

std::unique_ptr<Network> SimBuilder::parseOnnx(const uint8_t* data, size_t size, const std::string& modelDir,
                                               const ParseOptions& options, std::vector<ParserError>* errors) {
  std::vector<ParserError> localErrors;
  if (!errors) errors = &localErrors;
  std::lock_guard<std::mutex> lock(*lock_);
  try {
    OnnxReader reader(modelDir);
    std::unique_ptr<Graph> graph = reader.read(data, size, errors);
    if (!graph) return nullptr;
    // Report every unsupported operator at once, before structural checks that would stop early.
    bool supported = OpRegistry::instance().checkGraph(*graph, errors);
    if (!graph->finalize(errors) || !supported) return nullptr;

    NetworkInfo info;
    std::vector<Dims> inputShapes;
    const std::vector<std::string> shapeUses = findShapeTensorInputs(*graph);
    for (size_t i = 0; i < graph->inputs.size(); ++i) {
      const Value& v = graph->values[static_cast<size_t>(graph->inputs[i])];
      TensorDesc desc{v.name, v.dtype, v.shape, true, !shapeUses[i].empty()};
      if (desc.isShapeTensor)
        logTo(log_, Severity::kVerbose, "[sim] input '" + v.name + "' is a shape tensor (it sets shapes in " + shapeUses[i] + ")");
      info.inputs.push_back(std::move(desc));
      inputShapes.push_back(v.shape);
    }
    // No size limit yet: maxTensorBytes is a build and load option, and the parser (like
    // TensorRT's) accepts a model the build may then refuse. Overflow is still an error.
    ShapeInference inference(*graph, kParseFoldLimitBytes, UINT64_MAX);
    try {
      inference.run(inputShapes);
    } catch (const BackendError& e) {
      ParserError pe;
      int32_t n = inference.failedNode();
      if (n >= 0) {
        pe.node = graph->nodes[static_cast<size_t>(n)].name;
        pe.op = graph->nodes[static_cast<size_t>(n)].opType;
        pe.nodeIndex = n;
      }
      pe.description = e.what();
      errors->push_back(std::move(pe));
      return nullptr;
    }
    for (int32_t id : graph->outputs) {
      const ValueState& s = inference.value(id);
      info.outputs.push_back({graph->values[static_cast<size_t>(id)].name, s.dtype, s.shape, false, false});
    }
    info.numLayers = static_cast<int32_t>(graph->nodes.size());
    logTo(log_, Severity::kInfo,
          "[sim] parsed ONNX model: opset " + std::to_string(graph->opset) + ", " + std::to_string(info.numLayers) +
              " layers, " + std::to_string(info.inputs.size()) + " inputs, " + std::to_string(info.outputs.size()) +
              " outputs, " + std::to_string(graph->initializers.size()) + " initializers");
    return std::make_unique<SimNetwork>(lock_, std::shared_ptr<const Graph>(std::move(graph)), std::move(info),
                                        options.stronglyTyped);
  } catch (const std::exception& e) {
    // Only resource exhaustion or a sim bug gets here; still a parser error, never a crash.
    errors->push_back({"", -1, "", std::string("internal error while parsing: ") + e.what()});
  }
  return nullptr;
}

BuildResult SimBuilder::buildSerializedNetwork(const Network& network, const BuildOptions& options) {
  const auto* simNetwork = dynamic_cast<const SimNetwork*>(&network);
  if (!simNetwork)
    throw BackendError(ErrorCode::kInvalidArgument, "the network was not parsed by the sim backend's builder");
  checkSimTimingCache(options.timingCache);
  if ((options.fp16 || options.int8) && simNetwork->stronglyTyped())
    throw BackendError(ErrorCode::kInvalidArgument,
                       "the fp16/int8 builder flags do not apply to a strongly typed network (its types come from the "
                       "model); parse without stronglyTyped, or convert the model with convertToFloat16 / quantizeInt8");
  if (options.int8 && !options.calibrator)
    throw BackendError(ErrorCode::kInvalidArgument, "the int8 flag needs an INT8 calibrator");
  std::lock_guard<std::mutex> lock(*lock_);
  const Graph& graph = simNetwork->graph();
  const NetworkInfo& info = simNetwork->cachedInfo();

  logTo(log_, Severity::kInfo,
        "[sim] building engine: " + std::to_string(graph.nodes.size()) + " layers, " +
            std::to_string(options.profiles.size()) + " optimization profile(s)");
  // The workspace pool is honoured the way TensorRT honours it: it bounds the scratch memory a
  // layer's implementation may use beside its inputs and outputs. TensorRT skips tactics that
  // need more and fails the build when no tactic fits; the sim has one implementation per
  // layer, so a layer whose scratch (ConvTranspose's column buffer; the other kernels work in
  // small fixed blocks) exceeds the limit at a profile's max shapes fails the build (kShape,
  // naming the layer, the bytes it needs and the limit). The other pools have no sim meaning.
  uint64_t workspace = ShapeInference::kNoWorkspaceLimit;
  for (const auto& pool : options.memoryPoolLimits) {
    if (pool.first == "workspace") {
      workspace = pool.second;
      logTo(log_, Severity::kVerbose,
            "[sim] workspace limit " + std::to_string(pool.second) + " bytes: layers needing more scratch fail the build");
      continue;
    }
    logTo(log_, Severity::kVerbose,
          "[sim] memory pool '" + pool.first + "' limit " + std::to_string(pool.second) +
              " bytes accepted (the sim has no such pool and does not enforce it)");
  }
  if (options.optimizationLevel >= 0)
    logTo(log_, Severity::kVerbose,
          "[sim] builder optimization level " + std::to_string(options.optimizationLevel) +
              " accepted (the sim has a single implementation per layer)");
  if (!options.timingCache.empty())
    logTo(log_, Severity::kVerbose, "[sim] timing cache accepted (the sim times no tactics)");

  EngineData engine;
  engine.simVersion = kSimVersion;
  engine.profiles = resolveProfiles(info.inputs, options.profiles);
  // Recorded so that the sim engine is refused where a TensorRT plan would be (see
  // EngineData::versionCompatible); the lean-runtime flag means nothing without it, as on TensorRT.
  engine.versionCompatible = options.versionCompatible;
  engine.excludeLeanRuntime = options.versionCompatible && options.excludeLeanRuntime;
  if (options.tf32 >= 0)
    logTo(log_, Severity::kVerbose,
          std::string("[sim] TF32 ") + (options.tf32 ? "on" : "off") +
              " accepted (the sim computes float32 layers in float32 either way)");
  if (options.hardwareCompatibility != HardwareCompatibility::kNone)
    logTo(log_, Severity::kVerbose,
          "[sim] hardware compatibility level accepted (the sim's engines run on any machine)");

  ProgressSink* progress = options.progress;
  const std::string phase = "Building engine";
  if (progress) progress->phaseStart(phase, "", static_cast<int32_t>(graph.nodes.size()));

  // Prove the network valid at both ends of every profile's range; the max shapes also size
  // the activation memory the engine reports.
  ShapeInference inference(graph, kParseFoldLimitBytes, options.maxTensorBytes, workspace);
  for (size_t p = 0; p < engine.profiles.size(); ++p) {
    for (bool useMax : {false, true}) {
      try {
        const auto values = profileValues(engine.profiles[p], useMax);
        inference.run(profileShapes(engine.profiles[p], useMax), &values);
      } catch (const BackendError& e) {
        if (progress) progress->phaseFinish(phase);
        throw BackendError(e.code(), "optimization profile " + std::to_string(p) + " (" + (useMax ? "max" : "min") +
                                         " shapes): " + e.what());
      }
      // The device memory the engine declares is what its execution context will allocate at
      // the largest shapes; the loader recomputes it and refuses an engine that claims less.
      if (useMax) engine.deviceMemorySize = std::max(engine.deviceMemorySize, inference.executionBytes());
    }
    logTo(log_, Severity::kVerbose, "[sim] optimization profile " + std::to_string(p) + " verified");
  }
  for (size_t n = 0; n < graph.nodes.size(); ++n) {
    logTo(log_, Severity::kVerbose,
          "[sim] layer " + std::to_string(n) + ": " + graph.nodes[n].label() + " -> CPU reference kernel");
    if (progress && !progress->stepComplete(phase, static_cast<int32_t>(n))) {
      progress->phaseFinish(phase);
      throw BackendError(ErrorCode::kCancelled, "the engine build was cancelled by the progress callback");
    }
  }
  if (progress) progress->phaseFinish(phase);

  for (const auto& t : info.inputs) engine.ioTensors.push_back(t);
  for (const auto& t : info.outputs) engine.ioTensors.push_back(t);
  engine.graph = graph;
  if (options.int8) {
    // Calibrate on the finished float engine, then mark it int8: the scales travel in the plan.
    engine.int8Scales = calibrateInt8(engine, *options.calibrator, log_, options.maxTensorBytes);
    engine.int8 = true;
  }
  engine.fp16 = options.fp16;
  if (options.fp16 || options.int8)
    logTo(log_, Severity::kInfo,
          std::string("[sim] implicit precision:") + (options.fp16 ? " fp16 (float tensors rounded to float16)" : "") +
              (options.int8 ? " int8 (Conv/ConvTranspose/Gemm/MatMul inputs fake-quantized)" : ""));

  BuildResult result;
  result.plan = writeEngine(engine);
  result.timingCache = makeSimTimingCache();
  logTo(log_, Severity::kInfo,
        "[sim] engine built: " + std::to_string(result.plan.size()) + " bytes, execution memory " +
            std::to_string(engine.deviceMemorySize) + " bytes");
  return result;
}

}  // namespace sim
}  // namespace tnrt
