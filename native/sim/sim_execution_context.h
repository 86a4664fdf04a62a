// Runs a SimEngine. Used by one thread at a time; owns every buffer it writes and reuses
// them across calls, so that a steady-state execute() only allocates the returned outputs.
#pragma once

#include <functional>
#include <memory>
#include <vector>

#include "op_registry.h"
#include "sim_engine.h"

namespace tnrt {
namespace sim {

class SimExecutionContext : public ExecutionContext {
 public:
  explicit SimExecutionContext(std::shared_ptr<const SimEngine> engine);

  // [sync] Throws kInvalidArgument if `profile` is not in [0, numOptimizationProfiles).
  void setOptimizationProfile(int32_t profile) override;
  int32_t optimizationProfile() const override { return profile_; }
  // [async]
  std::vector<HostTensor> execute(const std::vector<HostTensorView>& inputs) override;
  // The activation buffers, input copies and scratch this context keeps between calls.
  MemoryUsage memoryUsage() const override;

  // Called during execute() with every float32 activation input of a Conv, ConvTranspose, Gemm
  // or MatMul (SimEngine::Step::activations) before it is used: INT8 calibration collects its
  // statistics here. A value feeding several such layers is reported once per layer.
  using Observer = std::function<void(int32_t value, const float* data, size_t count)>;
  void setObserver(Observer observer) { observer_ = std::move(observer); }

 private:
  // The current dtype, shape and bytes of one tensor.
  struct Slot {
    DataType dtype = DataType::kFloat32;
    Dims shape;
    const void* data = nullptr;
  };
  // Per-step argument vectors, built once with shape pointers into slots_ (which never move).
  struct StepArgs {
    std::vector<ValueRef> ins;
    std::vector<OutputDesc> descs;
    std::vector<OutputRef> outs;
  };

  void bindInputs(const std::vector<HostTensorView>& inputs);
  void runStep(size_t s);
  // int8 engines: quantize-dequantize the step's calibrated activation inputs into scratch
  // copies and point the kernel at them.
  void fakeQuantizeInputs(size_t s);
  // fp16 engines: round the float32 outputs the step wrote to float16 values.
  void roundOutputsToHalf(size_t s);

  std::shared_ptr<const SimEngine> engine_;
  int32_t profile_ = 0;
  std::vector<Slot> slots_;                    // per graph value
  std::vector<std::vector<uint8_t>> buffers_;  // per graph value, for computed tensors
  std::vector<StepArgs> stepArgs_;
  std::vector<const HostTensorView*> bound_;   // per engine input, during execute()
  std::vector<std::vector<uint8_t>> alignedInputs_;  // copies of misaligned caller inputs
  KernelScratch scratch_;
  Observer observer_;
  std::vector<std::vector<std::vector<float>>> quantized_;  // per step, per activation input
};

}  // namespace sim
}  // namespace tnrt
