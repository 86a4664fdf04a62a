#include "sim_engine.h"

#include "sim_execution_context.h"
#include "sim_log.h"

namespace tnrt {
namespace sim {

namespace {

// Load-time folding evaluates whole constant subgraphs once instead of on every call; the
// cap only keeps a pathological engine from doubling its memory.
constexpr size_t kLoadFoldLimitBytes = size_t{64} << 20;

[[noreturn]] void invalid(const std::string& message) {
  throw BackendError(ErrorCode::kEngineInvalid, "the sim engine cannot be used: " + message);
}

}  // namespace

SimEngine::SimEngine(std::shared_ptr<Runtime> runtime, std::shared_ptr<LogSink> log, std::vector<uint8_t> plan,
                     EngineData data)
    : runtime_(std::move(runtime)), log_(std::move(log)), plan_(std::move(plan)), data_(std::move(data)) {
  validate();
}

void SimEngine::validate() {
  Graph& graph = data_.graph;
  std::vector<ParserError> errors;
  if (!OpRegistry::instance().checkGraph(graph, &errors) || !graph.finalize(&errors))
    invalid(errors.front().description + "; rebuild the engine with this version of tensorrt-node");

  // The io table must describe the graph's inputs then outputs, in order.
  const size_t numInputs = graph.inputs.size();
  if (data_.ioTensors.size() != numInputs + graph.outputs.size()) invalid("its io tensor table does not match its graph");
  for (size_t i = 0; i < data_.ioTensors.size(); ++i) {
    const TensorDesc& t = data_.ioTensors[i];
    int32_t id = i < numInputs ? graph.inputs[i] : graph.outputs[i - numInputs];
    if (t.name != graph.values[static_cast<size_t>(id)].name || t.isInput != (i < numInputs))
      invalid("its io tensor table does not match its graph");
    if (t.isInput && t.dtype != graph.values[static_cast<size_t>(id)].dtype)
      invalid("input '" + t.name + "' has inconsistent element types");
  }
  if (data_.profiles.empty()) invalid("it has no optimization profile");
  for (const Profile& p : data_.profiles) {
    if (p.inputs.size() != numInputs) invalid("an optimization profile does not cover every input");
    for (size_t i = 0; i < numInputs; ++i) {
      const InputProfile& ip = p.inputs[i];
      const Dims& shape = data_.ioTensors[i].shape;
      if (ip.input != data_.ioTensors[i].name || ip.min.size() != shape.size() || ip.opt.size() != shape.size() ||
          ip.max.size() != shape.size())
        invalid("an optimization profile does not match input '" + data_.ioTensors[i].name + "'");
      for (size_t d = 0; d < shape.size(); ++d)
        if (ip.min[d] < 0 || ip.min[d] > ip.max[d] || (shape[d] >= 0 && ip.min[d] != ip.max[d]))
          invalid("an optimization profile has an invalid range for input '" + data_.ioTensors[i].name + "'");
    }
  }

  std::vector<Dims> shapes;
  for (size_t i = 0; i < numInputs; ++i) shapes.push_back(data_.ioTensors[i].shape);
  constants_ = std::make_unique<ShapeInference>(graph, kLoadFoldLimitBytes);
  try {
    constants_->run(shapes);
  } catch (const BackendError& e) {
    invalid(std::string(e.what()) + "; rebuild the engine");
  }
  const auto& registry = OpRegistry::instance();
  for (size_t n = 0; n < graph.nodes.size(); ++n) {
    if (constants_->folded(n)) continue;
    const Node& node = graph.nodes[n];
    steps_.push_back({&node, registry.find(node.domain, node.opType, node.opset)});
  }
  logTo(log_, Severity::kVerbose,
        "[sim] engine plan: " + std::to_string(steps_.size()) + " run-time layers, " +
            std::to_string(graph.nodes.size() - steps_.size()) + " folded into constants");
}

InputProfile SimEngine::profileShapes(int32_t profile, const std::string& input) const {
  if (profile < 0 || profile >= numOptimizationProfiles())
    throw BackendError(ErrorCode::kInvalidArgument, "optimization profile " + std::to_string(profile) +
                                                        " does not exist; the engine has " +
                                                        std::to_string(numOptimizationProfiles()));
  for (const InputProfile& ip : data_.profiles[static_cast<size_t>(profile)].inputs)
    if (ip.input == input) return ip;
  throw BackendError(ErrorCode::kInvalidArgument, "'" + input + "' is not an input of the engine");
}

std::unique_ptr<ExecutionContext> SimEngine::createExecutionContext() {
  return std::make_unique<SimExecutionContext>(shared_from_this());
}

}  // namespace sim
}  // namespace tnrt
