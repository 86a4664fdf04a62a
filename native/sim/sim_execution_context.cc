#include "sim_execution_context.h"

#include <algorithm>
#include <chrono>
#include <cmath>
#include <cstdio>
#include <cstdlib>
#include <cstring>
#include <ctime>
#include <limits>
#include <map>

#include "half.h"

namespace tnrt {
namespace sim {

namespace {

[[noreturn]] void fail(ErrorCode code, const std::string& message) { throw BackendError(code, message); }

std::string rangeText(int64_t lo, int64_t hi) { return "[" + std::to_string(lo) + ", " + std::to_string(hi) + "]"; }

// The calling thread's CPU time in seconds (0 where the clock is missing), for the profile.
double threadCpuSeconds() {
#if defined(CLOCK_THREAD_CPUTIME_ID)
  timespec t{};
  if (clock_gettime(CLOCK_THREAD_CPUTIME_ID, &t) == 0) return static_cast<double>(t.tv_sec) + 1e-9 * static_cast<double>(t.tv_nsec);
#endif
  return 0;
}

}  // namespace

SimExecutionContext::SimExecutionContext(std::shared_ptr<const SimEngine> engine)
    : engine_(std::move(engine)), threadPool_(engine_->threads()) {
  scratch_.pool = &threadPool_;
  const char* profile = std::getenv("TNRT_SIM_PROFILE");
  profileOps_ = profile && *profile && *profile != '0';
  // TNRT_SIM_PROFILE=N (N > 1): the N slowest layers rather than 12.
  if (profileOps_ && std::atoi(profile) > 1) profileLayers_ = static_cast<size_t>(std::atoi(profile));
  if (profileOps_) {
    constexpr int kReads = 256;
    const auto start = std::chrono::steady_clock::now();
    for (int i = 0; i < kReads; ++i) threadCpuSeconds();
    cpuClockCost_ = std::chrono::duration<double>(std::chrono::steady_clock::now() - start).count() / kReads;
  }
  const Graph& graph = engine_->graph();
  const ShapeInference& constants = engine_->constants();
  slots_.resize(graph.values.size());
  bufferOf_.assign(graph.values.size(), -1);
  for (size_t v = 0; v < graph.values.size(); ++v) {
    const ValueState& s = constants.value(static_cast<int32_t>(v));
    if (s.data) slots_[v] = {s.dtype, s.shape, s.data};  // constants never change
  }
  const auto& steps = engine_->steps();
  stepArgs_.resize(steps.size());
  for (size_t i = 0; i < steps.size(); ++i) {
    const Node& node = *steps[i].node;
    StepArgs& args = stepArgs_[i];
    args.ins.resize(node.inputs.size());
    for (size_t k = 0; k < node.inputs.size(); ++k)
      if (node.inputs[k] >= 0) args.ins[k].shape = &slots_[static_cast<size_t>(node.inputs[k])].shape;
    args.descs.resize(node.outputs.size());
    args.outs.resize(node.outputs.size());
    args.guards = node.guards();
  }
  planFusion();
  // A Conv with constant weights keeps them packed across calls (float32 weights, and float16
  // ones widened once; fp16 engines widen their weights per call instead).
  packedWeights_.resize(steps.size());
  for (size_t i = 0; i < steps.size(); ++i) {
    const Node& node = *steps[i].node;
    if (node.opType != "Conv" || !node.domain.empty() || node.inputs.size() < 2 || node.inputs[1] < 0) continue;
    const ValueState& w = constants.value(node.inputs[1]);
    if (w.data && (w.dtype == DataType::kFloat32 || w.dtype == DataType::kFloat16))
      packedWeights_[i] = std::make_unique<PackedWeights>();
  }
  bound_.resize(graph.inputs.size());
  alignedInputs_.resize(graph.inputs.size());
  // Reduced-precision engines read their quantized or rounded weights instead of the model's.
  for (const auto& [id, weights] : engine_->reducedWeights()) slots_[static_cast<size_t>(id)].data = weights.data();
  quantized_.resize(steps.size());
  for (size_t i = 0; i < steps.size(); ++i) quantized_[i].resize(steps[i].activations.size());

  // Liveness over the step order, through aliases (Identity, Reshape, ... share their input's
  // buffer, so that buffer lives until the alias's last reader). Graph outputs never free.
  const size_t numValues = graph.values.size();
  rootOf_.resize(numValues);
  for (size_t v = 0; v < numValues; ++v) rootOf_[v] = static_cast<int32_t>(v);
  std::vector<int64_t> lastUse(numValues, -1), producedAt(numValues, -1);
  for (size_t i = 0; i < steps.size(); ++i) {
    const Node& node = *steps[i].node;
    for (int32_t id : node.inputs)
      if (id >= 0) lastUse[static_cast<size_t>(rootOf_[static_cast<size_t>(id)])] = static_cast<int64_t>(i);
    for (size_t k = 0; k < node.outputs.size(); ++k) {
      const int32_t id = node.outputs[k];
      if (id < 0) continue;
      if (k == 0 && sharesInput_[i] >= 0)
        rootOf_[static_cast<size_t>(id)] = rootOf_[static_cast<size_t>(node.inputs[static_cast<size_t>(sharesInput_[i])])];
      else
        producedAt[static_cast<size_t>(id)] = static_cast<int64_t>(i);
    }
  }
  for (int32_t id : graph.outputs) lastUse[static_cast<size_t>(rootOf_[static_cast<size_t>(id)])] = INT64_MAX;
  releaseAfter_.resize(steps.size());
  for (size_t v = 0; v < numValues; ++v) {
    if (producedAt[v] < 0 || lastUse[v] == INT64_MAX) continue;
    releaseAfter_[static_cast<size_t>(std::max(producedAt[v], lastUse[v]))].push_back(static_cast<int32_t>(v));
  }
}

void SimExecutionContext::planFusion() {
  const auto& steps = engine_->steps();
  const Graph& graph = engine_->graph();
  const ShapeInference& constants = engine_->constants();
  postOps_.assign(steps.size(), {});
  sharesInput_.assign(steps.size(), -1);
  for (size_t i = 0; i < steps.size(); ++i) {
    const Node& node = *steps[i].node;
    if (steps[i].op->aliasesInput0 && !node.inputs.empty() && node.inputs[0] >= 0) sharesInput_[i] = 0;
  }
  if (engine_->fp16() || engine_->int8()) return;
  // TNRT_SIM_NO_FUSION=1 runs every layer on its own (tests compare the two bitwise).
  const char* off = std::getenv("TNRT_SIM_NO_FUSION");
  if (off && *off && *off != '0') return;
  std::vector<int32_t> readers(graph.values.size(), 0);
  for (const auto& step : steps)
    for (int32_t id : step.node->inputs)
      if (id >= 0) ++readers[static_cast<size_t>(id)];
  for (int32_t id : graph.outputs) readers[static_cast<size_t>(id)] += 2;  // never fused away
  const auto sameGuards = [](const Node& a, const Node& b) {
    const std::vector<Guard> ga = a.guards(), gb = b.guards();
    if (ga.size() != gb.size()) return false;
    for (size_t k = 0; k < ga.size(); ++k)
      if (ga[k].cond != gb[k].cond || ga[k].whenTrue != gb[k].whenTrue) return false;
    return true;
  };
  // A float32 scalar known before run time (an initializer or a folded value).
  const auto constantScalar = [&](int32_t id, float* value) {
    if (id < 0) return false;
    const ValueState& s = constants.value(id);
    if (!s.data || s.dtype != DataType::kFloat32 || volume(s.shape) != 1) return false;
    *value = *static_cast<const float*>(s.data);
    return true;
  };
  // Clip's bounds: attributes before opset 11, else constant scalar inputs (absent: none).
  const auto clipBounds = [&](const Node& clip, float* lo, float* hi) {
    *lo = -std::numeric_limits<float>::infinity(), *hi = std::numeric_limits<float>::infinity();
    if (clip.opset < 11) {
      *lo = clip.attrFloat("min", *lo), *hi = clip.attrFloat("max", *hi);
      return true;
    }
    bool ok = true;
    if (clip.inputs.size() > 1 && clip.inputs[1] >= 0) ok = ok && constantScalar(clip.inputs[1], lo);
    if (clip.inputs.size() > 2 && clip.inputs[2] >= 0) ok = ok && constantScalar(clip.inputs[2], hi);
    return ok;
  };
  // A step that can join a chain: one output of the Conv's element type, same guards as the Conv.
  const auto joinable = [&](size_t j, const Node& conv) {
    if (j >= steps.size()) return false;
    const Node& n = *steps[j].node;
    return n.domain.empty() && n.outputs.size() == 1 && n.outputs[0] >= 0 && sameGuards(conv, n) &&
           constants.value(n.outputs[0]).dtype == constants.value(conv.outputs[0]).dtype;
  };
  // The index of `value` among a node's inputs, -1 when it does not read it.
  const auto inputIndex = [](const Node& n, int32_t value) {
    for (size_t k = 0; k < n.inputs.size(); ++k)
      if (n.inputs[k] == value) return static_cast<int32_t>(k);
    return -1;
  };
  for (size_t i = 0; i < steps.size(); ++i) {
    const Node& conv = *steps[i].node;
    if (conv.opType != "Conv" || !conv.domain.empty() || conv.outputs.size() != 1) continue;
    int32_t value = conv.outputs[0];
    if (value < 0) continue;
    // A float16 Conv computes in float32 and rounds its output once. Relu commutes with that
    // rounding (rounding is monotonic and keeps 0; a NaN becomes 0 either way), so a float16
    // Conv fuses a chain of Relus with bitwise the same result; any other layer would round
    // once instead of twice.
    const DataType convType = constants.value(value).dtype;
    if (convType != DataType::kFloat32 && convType != DataType::kFloat16) continue;
    const bool reluOnly = convType == DataType::kFloat16;
    const size_t rank = constants.value(value).shape.size();
    const int64_t channels = rank >= 2 ? constants.value(value).shape[1] : -1;
    for (size_t j = i + 1; j < steps.size(); ++j) {
      if (!joinable(j, conv)) break;
      const Node& next = *steps[j].node;
      const int32_t which = inputIndex(next, value);
      if (which < 0) break;
      const std::string& t = next.opType;
      // The constant scalar operand of a binary op (which must not raise the rank: broadcasting
      // would change the output shape). Add and Mul are commutative, so it may come first.
      PostOp op{PostOp::kRelu};
      const auto scalarOperand = [&](const Node& n, int32_t at, PostOp::Kind kind, bool commutative) {
        if (n.inputs.size() != 2 || (at != 0 && !(commutative && at == 1))) return false;
        const int32_t other = n.inputs[static_cast<size_t>(1 - at)];
        if (!constantScalar(other, &op.a) || constants.value(other).shape.size() > rank) return false;
        op.kind = kind;
        return true;
      };
      // HardSwish written out as Add(x, 3), Clip(0, 6), Mul(x, clip), Div(6): x has two
      // readers, both inside the pattern, whose four nodes fold into one post-op.
      if (reluOnly && t != "Relu") break;
      if (readers[static_cast<size_t>(value)] == 2 && t == "Add" && scalarOperand(next, which, PostOp::kAdd, true) &&
          joinable(j + 1, conv) && joinable(j + 2, conv) && joinable(j + 3, conv)) {
        const Node& clip = *steps[j + 1].node;
        const Node& mul = *steps[j + 2].node;
        const Node& div = *steps[j + 3].node;
        const int32_t added = next.outputs[0], clipped = clip.outputs[0], product = mul.outputs[0];
        PostOp hs{PostOp::kHardSwishChain, op.a};
        const bool matches =
            clip.opType == "Clip" && inputIndex(clip, added) == 0 && readers[static_cast<size_t>(added)] == 1 &&
            clipBounds(clip, &hs.b, &hs.c) && mul.opType == "Mul" && mul.inputs.size() == 2 &&
            readers[static_cast<size_t>(clipped)] == 1 &&
            ((mul.inputs[0] == value && mul.inputs[1] == clipped) || (mul.inputs[0] == clipped && mul.inputs[1] == value)) &&
            div.opType == "Div" && div.inputs.size() == 2 && div.inputs[0] == product &&
            readers[static_cast<size_t>(product)] == 1 && constantScalar(div.inputs[1], &hs.d) &&
            constants.value(div.inputs[1]).shape.size() <= rank;
        if (!matches) break;
        postOps_[i].push_back(hs);
        sharesInput_[j] = which;
        sharesInput_[j + 1] = 0;
        sharesInput_[j + 2] = 0;
        sharesInput_[j + 3] = 0;
        value = div.outputs[0];
        j += 3;
        continue;
      }
      if (readers[static_cast<size_t>(value)] != 1) break;
      bool ok = false;
      if (t == "Relu") {
        ok = next.inputs.size() == 1;
      } else if (t == "LeakyRelu") {
        op = {PostOp::kLeakyRelu, next.attrFloat("alpha", 0.01f)};
        ok = true;
      } else if (t == "HardSigmoid") {
        op = {PostOp::kHardSigmoid, next.attrFloat("alpha", 0.2f), next.attrFloat("beta", 0.5f)};
        ok = true;
      } else if (t == "HardSwish") {
        op.kind = PostOp::kHardSwish;
        ok = next.inputs.size() == 1;
      } else if (t == "Clip") {
        op.kind = PostOp::kClip;
        ok = which == 0 && clipBounds(next, &op.a, &op.b);
      } else if (t == "Max") {
        ok = scalarOperand(next, which, PostOp::kMax, false);
      } else if (t == "Min") {
        ok = scalarOperand(next, which, PostOp::kMin, false);
      } else if (t == "Add") {
        ok = scalarOperand(next, which, PostOp::kAdd, true);
      } else if (t == "Sub") {
        ok = scalarOperand(next, which, PostOp::kSub, false);
      } else if (t == "Mul") {
        ok = scalarOperand(next, which, PostOp::kMul, true);
      } else if (t == "Div") {
        ok = scalarOperand(next, which, PostOp::kDiv, false);
      } else if (t == "BatchNormalization") {
        ok = which == 0 && fuseBatchNorm(next, channels, &op);
      }
      if (!ok) break;
      postOps_[i].push_back(op);
      sharesInput_[j] = which;
      value = next.outputs[0];
    }
  }
}

bool SimExecutionContext::fuseBatchNorm(const Node& bn, int64_t channels, PostOp* op) {
  const ShapeInference& constants = engine_->constants();
  if (bn.inputs.size() != 5 || channels < 0) return false;
  const float* p[4];  // scale, B, mean, var
  for (size_t k = 1; k < 5; ++k) {
    const ValueState& s = bn.inputs[k] >= 0 ? constants.value(bn.inputs[k]) : ValueState{};
    if (!s.data || s.dtype != DataType::kFloat32 || s.shape.size() != 1 || s.shape[0] != channels) return false;
    p[k - 1] = static_cast<const float*>(s.data);
  }
  // normalization.cc's per-channel multiplier and offset, computed once here.
  const float eps = bn.attrFloat("epsilon", 1e-5f);
  std::vector<float> affine(2 * static_cast<size_t>(channels));
  float* a = affine.data();
  float* b = a + channels;
  for (int64_t k = 0; k < channels; ++k) batchNormAffine(p[0][k], p[1][k], p[2][k], p[3][k], eps, &a[k], &b[k]);
  fusedParams_.push_back(std::move(affine));  // the vector's storage does not move with it
  *op = {PostOp::kBatchNorm};
  op->channel[0] = fusedParams_.back().data();
  op->channel[1] = fusedParams_.back().data() + channels;
  return true;
}

SimExecutionContext::~SimExecutionContext() {
  if (!profileOps_) return;
  // Per operator type: time, calls, and CPU time in runs that split over the pool's threads
  // (on more than one thread, the rest ran on the calling thread alone: Amdahl's serial part).
  std::map<std::string, StepProfile> byOp;
  StepProfile all;
  for (size_t s = 0; s < opTime_.size(); ++s) {
    for (StepProfile* sum : {&byOp[engine_->steps()[s].node->opType], &all}) {
      sum->wall += opTime_[s].wall;
      sum->cpu += opTime_[s].cpu;
      sum->split += opTime_[s].split;
      sum->calls += opTime_[s].calls;
    }
  }
  const double total = all.wall;
  std::fprintf(stderr, "[sim profile] %d thread(s), %.3f ms in kernels, %.3f ms CPU, %.3f ms CPU in split runs\n",
               threadPool_.threads(), total * 1e3, all.cpu * 1e3, all.split * 1e3);
  std::fprintf(stderr, "[sim profile] a thread CPU clock read costs %.2f us, taken off each step's CPU time\n",
               cpuClockCost_ * 1e6);
  std::fprintf(stderr, "[sim profile] %llu split runs, %llu tasks, %llu of them on the pool's other threads\n",
               static_cast<unsigned long long>(threadPool_.splitRuns()),
               static_cast<unsigned long long>(threadPool_.splitTasks()),
               static_cast<unsigned long long>(threadPool_.tasksOnWorkers()));
  for (const auto& [op, t] : byOp)
    std::fprintf(stderr, "[sim profile] %-24s %10.3f ms %5.1f%% %8lld calls %10.3f ms CPU %10.3f ms CPU split\n",
                 op.c_str(), t.wall * 1e3, total > 0 ? 100 * t.wall / total : 0.0, static_cast<long long>(t.calls),
                 t.cpu * 1e3, t.split * 1e3);
  // The slowest steps, with the shapes of their last run.
  std::vector<size_t> order(opTime_.size());
  for (size_t s = 0; s < order.size(); ++s) order[s] = s;
  std::sort(order.begin(), order.end(), [&](size_t x, size_t y) { return opTime_[x].wall > opTime_[y].wall; });
  const auto describe = [&](size_t s) {
    const Node& node = *engine_->steps()[s].node;
    std::string shapes;
    for (int32_t id : node.inputs)
      if (id >= 0) shapes += dimsToString(slots_[static_cast<size_t>(id)].shape) + " ";
    return node.label() + " " + shapes + "-> " +
           (node.outputs[0] >= 0 ? dimsToString(slots_[static_cast<size_t>(node.outputs[0])].shape) : std::string());
  };
  for (size_t r = 0; r < std::min<size_t>(profileLayers_, order.size()); ++r)
    std::fprintf(stderr, "[sim profile] %10.3f ms %s\n", opTime_[order[r]].wall * 1e3, describe(order[r]).c_str());
  // On more than one thread, the steps whose runs stayed on the calling thread for the most
  // CPU time: the serial part that a kernel's split could still take.
  if (threadPool_.threads() <= 1) return;
  const auto unsplit = [&](size_t s) { return opTime_[s].cpu - opTime_[s].split; };
  std::sort(order.begin(), order.end(), [&](size_t x, size_t y) { return unsplit(x) > unsplit(y); });
  for (size_t r = 0; r < std::min<size_t>(12, order.size()) && unsplit(order[r]) > 0; ++r)
    std::fprintf(stderr, "[sim profile] %10.3f ms CPU unsplit %s\n", unsplit(order[r]) * 1e3, describe(order[r]).c_str());
}

size_t SimExecutionContext::acquire(size_t bytes) {
  // Best fit among the free buffers; else grow the largest free one; else a new buffer.
  size_t best = SIZE_MAX, largest = SIZE_MAX;
  for (size_t f = 0; f < free_.size(); ++f) {
    const size_t size = pool_[free_[f]].size();
    if (size >= bytes && (best == SIZE_MAX || size < pool_[free_[best]].size())) best = f;
    if (largest == SIZE_MAX || size > pool_[free_[largest]].size()) largest = f;
  }
  const size_t pick = best != SIZE_MAX ? best : largest;
  if (pick == SIZE_MAX) {
    pool_.emplace_back();
    return pool_.size() - 1;
  }
  const size_t index = free_[pick];
  free_[pick] = free_.back();
  free_.pop_back();
  return index;
}

void SimExecutionContext::fakeQuantizeInputs(size_t s) {
  const SimEngine::Step& step = engine_->steps()[s];
  StepArgs& args = stepArgs_[s];
  for (size_t q = 0; q < step.activations.size(); ++q) {
    const SimEngine::QuantInput& in = step.activations[q];
    const Slot& slot = slots_[static_cast<size_t>(in.value)];
    if (slot.dtype != DataType::kFloat32) continue;
    const auto count = static_cast<size_t>(volume(slot.shape));
    const auto* x = static_cast<const float*>(slot.data);
    if (observer_) observer_(in.value, x, count);
    // A tensor without a scale stays in float, as TensorRT keeps a layer whose input has no
    // dynamic range in higher precision; a zero scale means calibration only saw zeros.
    if (!engine_->int8() || !(in.scale > 0.0f)) continue;
    std::vector<float>& copy = quantized_[s][q];
    copy.resize(count);
    const float inv = 1.0f / in.scale;
    for (size_t i = 0; i < count; ++i)
      copy[i] = std::clamp(std::nearbyint(x[i] * inv), -128.0f, 127.0f) * in.scale;
    args.ins[static_cast<size_t>(in.input)].data = copy.data();
  }
}

void SimExecutionContext::roundOutputsToHalf(size_t s) {
  const SimEngine::Step& step = engine_->steps()[s];
  const Node& node = *step.node;
  for (size_t k = 0; k < node.outputs.size(); ++k) {
    const int32_t id = node.outputs[k];
    if (id < 0 || (k == 0 && step.op->aliasesInput0)) continue;
    Slot& slot = slots_[static_cast<size_t>(id)];
    if (slot.dtype != DataType::kFloat32) continue;
    auto* x = static_cast<float*>(const_cast<void*>(slot.data));  // this step's own pooled buffer
    const int64_t count = volume(slot.shape);
    for (int64_t i = 0; i < count; ++i) x[i] = halfToFloat(floatToHalf(x[i]));
  }
}

void SimExecutionContext::setOptimizationProfile(int32_t profile) {
  if (profile < 0 || profile >= engine_->numOptimizationProfiles())
    fail(ErrorCode::kInvalidArgument, "optimization profile " + std::to_string(profile) +
                                          " does not exist; the engine has " +
                                          std::to_string(engine_->numOptimizationProfiles()) + " (0 to " +
                                          std::to_string(engine_->numOptimizationProfiles() - 1) + ")");
  profile_ = profile;
}

void SimExecutionContext::checkShapeValues(const TensorDesc& desc, const InputProfile& range,
                                           const HostTensorView& view) const {
  // TensorRT built kernels for this range of values only; outside it, refuse as it does.
  const bool int64 = desc.dtype == DataType::kInt64;
  const size_t count = range.minValues.size();
  const auto* bytes = static_cast<const uint8_t*>(view.data);
  for (size_t k = 0; k < count; ++k) {
    int64_t v;
    if (int64) {
      std::memcpy(&v, bytes + k * sizeof(int64_t), sizeof v);
    } else {
      int32_t v32;
      std::memcpy(&v32, bytes + k * sizeof v32, sizeof v32);
      v = v32;
    }
    if (v < range.minValues[k] || v > range.maxValues[k]) {
      auto list = [](const std::vector<int64_t>& values) {
        std::string s;
        for (size_t i = 0; i < values.size(); ++i) s += (i ? ", " : "") + std::to_string(values[i]);
        return "[" + s + "]";
      };
      fail(ErrorCode::kShape, "shape tensor '" + desc.name + "' value " + std::to_string(k) + " is " +
                                  std::to_string(v) + ", outside profile " + std::to_string(profile_) + "'s range " +
                                  rangeText(range.minValues[k], range.maxValues[k]) + " (min values " +
                                  list(range.minValues) + ", max values " + list(range.maxValues) + ")");
    }
  }
}

void SimExecutionContext::bindInputs(const std::vector<HostTensorView>& inputs) {
  const Graph& graph = engine_->graph();
  const std::vector<TensorDesc>& tensors = engine_->tensors();
  const size_t numInputs = graph.inputs.size();
  std::fill(bound_.begin(), bound_.end(), nullptr);
  for (const HostTensorView& view : inputs) {
    size_t i = 0;
    while (i < numInputs && tensors[i].name != view.name) ++i;
    if (i == numInputs) {
      std::string names;
      for (size_t k = 0; k < numInputs; ++k) names += (k ? ", '" : "'") + tensors[k].name + "'";
      fail(ErrorCode::kInvalidArgument,
           "'" + view.name + "' is not an input of the engine (inputs: " + (names.empty() ? "none" : names) + ")");
    }
    if (bound_[i]) fail(ErrorCode::kInvalidArgument, "input '" + view.name + "' is given more than once");
    bound_[i] = &view;
  }
  const InputProfile* ranges = engine_->profiles()[static_cast<size_t>(profile_)].inputs.data();
  for (size_t i = 0; i < numInputs; ++i) {
    const TensorDesc& desc = tensors[i];
    const HostTensorView* view = bound_[i];
    if (!view) fail(ErrorCode::kInvalidArgument, "input '" + desc.name + "' is missing");
    if (view->dtype != desc.dtype)
      fail(ErrorCode::kDType, "input '" + desc.name + "' expects " + dataTypeName(desc.dtype) + " but received " +
                                  dataTypeName(view->dtype));
    if (view->shape.size() != desc.shape.size())
      fail(ErrorCode::kShape, "input '" + desc.name + "' expects rank " + std::to_string(desc.shape.size()) + " (" +
                                  dimsToString(desc.shape) + ") but received shape " + dimsToString(view->shape));
    const InputProfile& range = ranges[i];
    for (size_t d = 0; d < desc.shape.size(); ++d) {
      const int64_t got = view->shape[d];
      if (desc.shape[d] >= 0 && got != desc.shape[d])
        fail(ErrorCode::kShape, "input '" + desc.name + "' dimension " + std::to_string(d) + " is " +
                                    std::to_string(got) + " but the engine fixes it at " + std::to_string(desc.shape[d]));
      if (got < range.min[d] || got > range.max[d])
        fail(ErrorCode::kShape, "input '" + desc.name + "' dimension " + std::to_string(d) + " is " +
                                    std::to_string(got) + ", outside profile " + std::to_string(profile_) +
                                    "'s range " + rangeText(range.min[d], range.max[d]));
    }
    const int64_t count = safeVolume(view->shape);
    if (count < 0) fail(ErrorCode::kShape, "input '" + desc.name + "' shape " + dimsToString(view->shape) + " is too large");
    const auto bytes = static_cast<size_t>(checkTensorBytesLazy([&] { return "input '" + desc.name + "'"; }, desc.dtype,
                                                                view->shape, engine_->maxTensorBytes()));
    if (view->bytes != bytes)
      fail(ErrorCode::kInvalidArgument, "input '" + desc.name + "' has " + std::to_string(view->bytes) +
                                            " bytes but shape " + dimsToString(view->shape) + " of " +
                                            dataTypeName(desc.dtype) + " needs " + std::to_string(bytes));
    if (bytes && !view->data) fail(ErrorCode::kInvalidArgument, "input '" + desc.name + "' has no data");
    if (desc.isShapeTensor) checkShapeValues(desc, range, *view);

    Slot& slot = slots_[static_cast<size_t>(graph.inputs[i])];
    slot.dtype = desc.dtype;
    slot.shape = view->shape;
    slot.data = bytes ? view->data : kEmptyTensorData;
    // Kernels read typed elements; copy a misaligned buffer (e.g. a Node Buffer slice).
    const size_t align = dataTypeBits(desc.dtype) >= 8 ? static_cast<size_t>(dataTypeBits(desc.dtype) / 8) : 1;
    if (reinterpret_cast<uintptr_t>(slot.data) % align != 0) {
      auto& copy = alignedInputs_[i];
      copy.assign(static_cast<const uint8_t*>(view->data), static_cast<const uint8_t*>(view->data) + bytes);
      slot.data = copy.data();
    }
  }
}

void SimExecutionContext::runStep(size_t s) {
  const SimEngine::Step& step = engine_->steps()[s];
  const Node& node = *step.node;
  StepArgs& args = stepArgs_[s];
  // A node of an If branch the condition did not take does not run; its outputs stay unset,
  // and only nodes of the same branch (skipped too) and the If, which reads the taken side,
  // refer to them (Graph::finalize checks). Outer conditions come first, so the first false
  // one stops the check before an inner condition that was never computed is read.
  for (const Guard& g : args.guards) {
    const Slot& c = slots_[static_cast<size_t>(g.cond)];
    if (!readCondition(node, c.dtype, c.shape, c.data, g.whenTrue)) {
      releaseInputs(s);
      return;
    }
  }
  for (size_t k = 0; k < node.inputs.size(); ++k) {
    if (node.inputs[k] < 0) continue;
    const Slot& in = slots_[static_cast<size_t>(node.inputs[k])];
    args.ins[k].dtype = in.dtype;
    args.ins[k].data = in.data;
  }
  step.op->infer(node, args.ins, &args.descs);
  for (size_t k = 0; k < node.outputs.size(); ++k) {
    OutputRef& out = args.outs[k];
    const int32_t id = node.outputs[k];
    if (id < 0) {
      // An omitted optional output still gets scratch memory for the kernel to write.
      out = {args.descs[k].dtype, &args.descs[k].shape, nullptr};
      const uint64_t n = checkTensorBytesLazy([&] { return node.label() + ": output " + std::to_string(k); },
                                              out.dtype, args.descs[k].shape, engine_->maxTensorBytes());
      out.data = KernelScratch::as<uint8_t>(scratch_.c, std::max<size_t>(1, static_cast<size_t>(n)));
      continue;
    }
    Slot& slot = slots_[static_cast<size_t>(id)];
    slot.dtype = args.descs[k].dtype;
    slot.shape = args.descs[k].shape;  // copy-assign: reuses the slot's capacity
    // Shapes here can come from input data (Reshape, Expand, Tile, ConstantOfShape, Resize
    // sizes), which the profile does not bound: refuse a too-large tensor before allocating it.
    const auto bytes = static_cast<size_t>(checkTensorBytesLazy(
        [&] { return node.label() + ": output '" + engine_->graph().values[static_cast<size_t>(id)].name + "'"; },
        slot.dtype, slot.shape, engine_->maxTensorBytes()));
    if (k == 0 && sharesInput_[s] >= 0) {
      slot.data = slots_[static_cast<size_t>(node.inputs[static_cast<size_t>(sharesInput_[s])])].data;
      continue;
    }
    bufferOf_[static_cast<size_t>(id)] = -1;
    if (!bytes) {
      slot.data = kEmptyTensorData;
      out = {slot.dtype, &slot.shape, nullptr};
      continue;
    }
    const size_t b = acquire(bytes);
    bufferOf_[static_cast<size_t>(id)] = static_cast<int64_t>(b);
    std::vector<uint8_t>& buf = pool_[b];
    if (buf.size() < bytes) buf.resize(bytes);
    slot.data = buf.data();
    out = {slot.dtype, &slot.shape, buf.data()};
  }
  if (!step.activations.empty() && (observer_ || engine_->int8())) fakeQuantizeInputs(s);
  // A fused step's Conv already computed its output into the shared buffer.
  const bool fused = sharesInput_[s] >= 0 && !step.op->aliasesInput0;
  if (!postOps_[s].empty()) {
    scratch_.post = postOps_[s].data();
    scratch_.postCount = static_cast<int32_t>(postOps_[s].size());
  }
  scratch_.packedWeights = packedWeights_[s].get();
  if (!fused && !(step.op->aliasesInput0 && node.outputs.size() == 1)) {
    try {
      step.op->kernel(node, args.ins, args.outs, scratch_);
    } catch (...) {
      scratch_.post = nullptr, scratch_.postCount = 0, scratch_.packedWeights = nullptr;
      throw;
    }
  }
  scratch_.post = nullptr, scratch_.postCount = 0, scratch_.packedWeights = nullptr;
  if (engine_->fp16()) roundOutputsToHalf(s);
  releaseInputs(s);
}

void SimExecutionContext::releaseInputs(size_t s) {
  for (int32_t id : releaseAfter_[s]) {
    const int64_t b = bufferOf_[static_cast<size_t>(id)];
    if (b >= 0) free_.push_back(static_cast<size_t>(b));
    bufferOf_[static_cast<size_t>(id)] = -1;
  }
}

MemoryUsage SimExecutionContext::memoryUsage() const {
  uint64_t host = scratch_.a.capacity() + scratch_.b.capacity() + scratch_.c.capacity() + bodies_.hostBytes();
  for (const auto& buffer : pool_) host += buffer.capacity();
  for (const auto& buffer : alignedInputs_) host += buffer.capacity();
  for (const auto& packed : packedWeights_)
    if (packed) host += packed->data.capacity() * sizeof(float);
  for (const auto& step : quantized_)
    for (const auto& input : step) host += input.capacity() * sizeof(float);
  MemoryUsage usage;
  usage.host = host;
  return usage;
}

std::vector<HostTensor> SimExecutionContext::execute(const std::vector<HostTensorView>& inputs) {
  const ActiveTensorLimit limit(engine_->maxTensorBytes());
  const ActiveSubgraphCache bodies(bodies_);
  bindInputs(inputs);
  // Every pooled buffer starts the call free (a failed call may have left some taken).
  free_.clear();
  for (size_t b = 0; b < pool_.size(); ++b) free_.push_back(b);
  std::fill(bufferOf_.begin(), bufferOf_.end(), -1);
  // The pool's threads poll for the layers' tasks until the last step is done.
  const ThreadPool::HotPhase hot(threadPool_);
  if (profileOps_) {
    opTime_.resize(stepArgs_.size());
    // One CPU clock read per step, shared by the end of a step and the start of the next: the
    // interval between two reads holds one read's cost, which is taken off.
    double cpuBefore = threadCpuSeconds();
    for (size_t s = 0; s < stepArgs_.size(); ++s) {
      const uint64_t splitsBefore = threadPool_.splitRuns();
      const auto start = std::chrono::steady_clock::now();
      runStep(s);
      StepProfile& p = opTime_[s];
      p.wall += std::chrono::duration<double>(std::chrono::steady_clock::now() - start).count();
      const double cpuAfter = threadCpuSeconds();
      const double cpu = std::max(0.0, cpuAfter - cpuBefore - cpuClockCost_);
      cpuBefore = cpuAfter;
      p.cpu += cpu;
      ++p.calls;
      if (threadPool_.splitRuns() != splitsBefore) p.split += cpu;
    }
  } else {
    for (size_t s = 0; s < stepArgs_.size(); ++s) runStep(s);
  }

  const Graph& graph = engine_->graph();
  std::vector<HostTensor> outputs(graph.outputs.size());
  for (size_t i = 0; i < graph.outputs.size(); ++i) {
    Slot& slot = slots_[static_cast<size_t>(graph.outputs[i])];
    HostTensor& out = outputs[i];
    out.name = graph.values[static_cast<size_t>(graph.outputs[i])].name;
    out.dtype = slot.dtype;
    out.shape = slot.shape;
    const size_t bytes = dataTypeBytes(slot.dtype, volume(slot.shape));
    if (!bytes) continue;
    // An output the context computed into its own buffer is handed over rather than copied:
    // the binding copies it into an ArrayBuffer anyway, and a copy here held a large output
    // three times at once (buffer, copy, ArrayBuffer). The buffer is regrown on the next call.
    // Not when the buffer is much larger than the output (a small output best-fitted into a
    // buffer that a large tensor used earlier in the call): handing it over made the next call
    // allocate and zero that large buffer again (PP-OCRv3's detector: its 200 KB map in a
    // buffer of 1.2 MB, regrown every call); the copy is of the output's bytes only.
    const int64_t b = bufferOf_[static_cast<size_t>(rootOf_[static_cast<size_t>(graph.outputs[i])])];
    std::vector<uint8_t>* ownPtr = b >= 0 ? &pool_[static_cast<size_t>(b)] : nullptr;
    if (ownPtr && !ownPtr->empty() && slot.data == ownPtr->data() && ownPtr->size() >= bytes && ownPtr->size() <= 2 * bytes) {
      std::vector<uint8_t>& own = *ownPtr;
      own.resize(bytes);
      out.data.swap(own);
      // A graph output listed twice copies from here (inner vectors' storage does not move).
      slot.data = out.data.data();
      continue;
    }
    const auto* src = static_cast<const uint8_t*>(slot.data);
    out.data.assign(src, src + bytes);
  }
  return outputs;
}

}  // namespace sim
}  // namespace tnrt
