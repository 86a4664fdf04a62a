// Runs a SimEngine. Used by one thread at a time; owns every buffer it writes, pools them by
// liveness and reuses them across calls, so that a steady-state execute() only allocates the
// returned outputs.
#pragma once

#include <functional>
#include <memory>
#include <vector>

#include "op_registry.h"
#include "kernels/gemm_core.h"
#include "thread_pool.h"
#include "sim_engine.h"
#include "subgraph.h"

namespace tnrt {
namespace sim {

class SimExecutionContext : public ExecutionContext {
 public:
  explicit SimExecutionContext(std::shared_ptr<const SimEngine> engine);
  ~SimExecutionContext() override;

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
    std::vector<Guard> guards;  // the step's If conditions; it runs only where all hold
  };

  // Folds element-wise layers that follow a float32 Conv (LeakyRelu, Relu, Clip, HardSigmoid,
  // Max/Min/Add/Sub/Mul/Div with a constant scalar, BatchNormalization with constant
  // parameters, and HardSwish written out as Add/Clip/Mul/Div; a chain of them) into the
  // Conv's output tiles: each such step then shares the Conv's buffer, as an alias does, and
  // does not run. Only where the result is bitwise the same: float32 engines (no fp16
  // rounding or int8 between the layers), a Conv output read by that step alone (or by the
  // two steps of the HardSwish pattern), not a graph output, under the same If guards. A
  // float16 Conv (float16 tensors, e.g. behind Casts) fuses Relus only.
  void planFusion();
  // A BatchNormalization after a Conv with `channels` output channels as a per-channel
  // post-op, when its four parameters are float32 constants of that length.
  bool fuseBatchNorm(const Node& bn, int64_t channels, PostOp* op);
  void bindInputs(const std::vector<HostTensorView>& inputs);
  // kShape unless every value of a shape-tensor input lies inside the active profile's range.
  void checkShapeValues(const TensorDesc& desc, const InputProfile& range, const HostTensorView& view) const;
  void runStep(size_t s);
  // Returns to the pool the buffers whose last reader is step `s` (run or skipped).
  void releaseInputs(size_t s);
  // int8 engines: quantize-dequantize the step's calibrated activation inputs into scratch
  // copies and point the kernel at them.
  void fakeQuantizeInputs(size_t s);
  // fp16 engines: round the float32 outputs the step wrote to float16 values.
  void roundOutputsToHalf(size_t s);

  std::shared_ptr<const SimEngine> engine_;
  int32_t profile_ = 0;
  std::vector<Slot> slots_;                    // per graph value
  // Computed tensors live in pooled buffers, kept across calls: a tensor's buffer returns to
  // the pool after the last step that reads it (through any alias), so a chain of large
  // layers reuses two buffers instead of holding one per layer.
  std::vector<std::vector<uint8_t>> pool_;
  std::vector<size_t> free_;                 // indices into pool_ free during this call
  std::vector<int64_t> bufferOf_;            // per graph value: its pool_ index, -1 if none this call
  std::vector<int32_t> rootOf_;              // per graph value: the value whose buffer it shares (alias)
  std::vector<std::vector<int32_t>> releaseAfter_;  // per step: values whose buffers free after it
  size_t acquire(size_t bytes);
  std::vector<StepArgs> stepArgs_;
  std::vector<std::vector<PostOp>> postOps_;  // per step: the activations fused into this Conv
  std::vector<std::vector<float>> fusedParams_;  // per-channel vectors the fused ops read
  // Per step: a Conv's constant weights packed for the GEMM (empty until its first run), or
  // null for steps without constant weights.
  std::vector<std::unique_ptr<PackedWeights>> packedWeights_;
  std::vector<int32_t> sharesInput_;          // per step: the input whose buffer its output takes (alias or fused), -1
  std::vector<const HostTensorView*> bound_;   // per engine input, during execute()
  std::vector<std::vector<uint8_t>> alignedInputs_;  // copies of misaligned caller inputs
  // The intra-op threads (engine threads() - 1 of them, started on the first parallel kernel);
  // joined when the context is destroyed.
  ThreadPool threadPool_;
  KernelScratch scratch_;
  // Loop and Scan bodies, each prepared on its first run and reused by every later iteration
  // and call (this context's alone: they hold per-run buffers).
  SubgraphCache bodies_;
  Observer observer_;
  // TNRT_SIM_PROFILE=1: seconds and calls per operator type, printed to stderr when the
  // context is destroyed (the sim has no profiler interface; this finds where time goes).
  bool profileOps_ = false;
  size_t profileLayers_ = 12;  // how many of the slowest layers it lists
  // What one read of the thread CPU clock costs (seconds): the profile takes one per step and
  // subtracts it, as on some machines (a VM's clock_gettime system call) it costs more than a
  // small layer's work.
  double cpuClockCost_ = 0;
  // Per step: seconds of wall clock and of the calling thread's CPU (which other processes on
  // the machine do not inflate), runs, and the CPU seconds of the runs that handed work to the
  // pool's other threads (the rest ran on the calling thread alone).
  struct StepProfile {
    double wall = 0, cpu = 0, split = 0;
    int64_t calls = 0;
  };
  std::vector<StepProfile> opTime_;
  std::vector<std::vector<std::vector<float>>> quantized_;  // per step, per activation input
};

}  // namespace sim
}  // namespace tnrt
