// A loaded sim engine. Immutable after construction, so several execution contexts may run
// it on different threads at once. Everything a context can share is computed here once:
// the validated graph, constants folded ahead of time, and the run-time step list.
#pragma once

#include <map>
#include <memory>
#include <vector>

#include "engine_format.h"
#include "op_registry.h"
#include "shape_inference.h"

namespace tnrt {
namespace sim {

class SimEngine : public Engine, public std::enable_shared_from_this<SimEngine> {
 public:
  // One node the context must run (folded nodes are gone).
  // An activation input of a Conv, ConvTranspose, Gemm or MatMul step: what int8 calibration
  // observes and an int8 engine fake-quantizes.
  struct QuantInput {
    int32_t input;  // index into the node's inputs
    int32_t value;  // graph value id
    float scale;    // calibrated scale (threshold / 127); < 0 when the engine has none
  };
  struct Step {
    const Node* node;
    const OpDef* op;
    std::vector<QuantInput> activations;
  };

  // Validates `data` (the graph, its operators, its profiles); throws BackendError
  // kEngineInvalid if the engine cannot run here.
  // Also refuses (kShape) an engine with a tensor above `maxTensorBytes` at its profiles' max
  // shapes; execute holds every tensor to the same limit.
  SimEngine(std::shared_ptr<Runtime> runtime, std::shared_ptr<LogSink> log, std::vector<uint8_t> plan,
            EngineData data, uint64_t maxTensorBytes = kDefaultMaxTensorBytes);

  std::vector<TensorDesc> ioTensors() const override { return data_.ioTensors; }
  int32_t numOptimizationProfiles() const override { return static_cast<int32_t>(data_.profiles.size()); }
  InputProfile profileShapes(int32_t profile, const std::string& input) const override;
  uint64_t deviceMemorySize() const override { return data_.deviceMemorySize; }
  int32_t numLayers() const override { return static_cast<int32_t>(data_.graph.nodes.size()); }
  // engine_information.h: the steps, as TensorRT's detailed engine inspector writes layers.
  std::string engineInformation() const override;
  // The sim records every detail of every plan.
  ProfilingVerbosity profilingVerbosity() const override { return ProfilingVerbosity::kDetailed; }
  std::vector<uint8_t> serialize() const override { return plan_; }
  // The plan (kept for serialize()), the graph's weights, the constants folded at load and
  // the reduced-precision weights. Host memory only.
  MemoryUsage memoryUsage() const override { return memoryUsage_; }
  std::unique_ptr<ExecutionContext> createExecutionContext() override;

  // For SimExecutionContext.
  const Graph& graph() const { return data_.graph; }
  // Input i of the graph is ioTensors()[i]; profile p's range for it is profiles()[p].inputs[i].
  const std::vector<Profile>& profiles() const { return data_.profiles; }
  const std::vector<TensorDesc>& tensors() const { return data_.ioTensors; }
  const std::vector<Step>& steps() const { return steps_; }
  // Static states: constant values (initializers and folded nodes) have data set.
  const ShapeInference& constants() const { return *constants_; }
  uint64_t maxTensorBytes() const { return maxTensorBytes_; }
  // Intra-op threads of each context made from now on (the runtime's `threads` option).
  void setThreads(int threads) { threads_ = threads < 1 ? 1 : threads; }
  int threads() const { return threads_; }
  bool fp16() const { return data_.fp16; }
  bool int8() const { return data_.int8; }
  // Constant values an int8 or fp16 engine replaces (weights, quantized per output channel or
  // rounded to float16), by value id.
  const std::map<int32_t, std::vector<float>>& reducedWeights() const { return reducedWeights_; }

 private:
  void validate();
  // Checks the profiles' ranges and that the graph, run at the declared and at each
  // profile's min and max shapes, computes the io shapes the engine declares.
  void validateShapes();
  // Finds the quantizable inputs of every step and prepares the reduced-precision weights.
  void planPrecision();

  // Declared first so it is destroyed last: the runtime (and its log sink) outlive us.
  std::shared_ptr<Runtime> runtime_;
  std::shared_ptr<LogSink> log_;
  std::vector<uint8_t> plan_;
  EngineData data_;
  uint64_t maxTensorBytes_;
  int threads_ = 1;
  std::unique_ptr<ShapeInference> constants_;
  std::vector<Step> steps_;
  std::map<int32_t, std::vector<float>> reducedWeights_;
  MemoryUsage memoryUsage_;  // computed once the engine is complete: it never changes
};

}  // namespace sim
}  // namespace tnrt
