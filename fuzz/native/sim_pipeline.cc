#include "sim_pipeline.h"

#include <cstdio>
#include <cstdlib>
#include <exception>
#include <string>
#include <vector>

#include "sim/sim_backend.h"

namespace tnrt::fuzz {

namespace {

// Inputs larger than this are not executed: zero-filling gigabytes finds nothing new. The
// output side has no such cap on purpose: an engine whose outputs dwarf its inputs is what
// libFuzzer's -malloc_limit_mb is there to report.
constexpr size_t kMaxInputBytes = size_t{4} << 20;

class SilentLog : public LogSink {
 public:
  void log(Severity, const std::string&) override {}
};

// A BackendError is the contract; any other std::exception becomes ERR_TENSORRT_INTERNAL in
// the binding (promise_worker.h), still a typed error for the user, so it is not a crash
// either. Only sanitizer reports, timeouts and memory blow-ups are findings.
template <typename Fn>
void tolerateTypedErrors(Fn&& fn) {
  try {
    fn();
  } catch (const std::exception&) {
  }
}

bool inputsFit(const std::vector<HostTensorView>& inputs) {
  size_t total = 0;
  for (const HostTensorView& t : inputs) {
    total += t.bytes;
    if (t.bytes > kMaxInputBytes || total > kMaxInputBytes) return false;
  }
  return true;
}

// Zero-filled inputs for every engine input at the given profile's min (or max) shape.
// Returns false when a shape is unusable (negative dims, too large).
bool makeInputs(const Engine& engine, int32_t profile, bool useMax, std::vector<std::vector<uint8_t>>* storage,
                std::vector<HostTensorView>* views) {
  for (const TensorDesc& desc : engine.ioTensors()) {
    if (!desc.isInput) continue;
    Dims shape = desc.shape;
    bool dynamic = false;
    for (int64_t d : shape) dynamic = dynamic || d < 0;
    if (dynamic) {
      InputProfile range = engine.profileShapes(profile, desc.name);
      shape = useMax ? range.max : range.min;
    }
    int64_t count = 1;
    for (int64_t d : shape) {
      if (d < 0 || d > static_cast<int64_t>(kMaxInputBytes)) return false;
      count *= d;
      if (count > static_cast<int64_t>(kMaxInputBytes)) return false;
    }
    storage->emplace_back(dataTypeBytes(desc.dtype, count));
    views->push_back({desc.name, desc.dtype, shape, storage->back().data(), storage->back().size()});
  }
  return inputsFit(*views);
}

// What a loaded engine promises about each profile (TensorRT's rules): per dim
// 0 <= min <= opt <= max, equal to the input's static dims. An engine that loads but breaks
// them is a finding without any crash, so it is turned into one (abort) for libFuzzer.
void checkProfiles(const Engine& engine) {
  for (int32_t p = 0; p < engine.numOptimizationProfiles(); ++p) {
    for (const TensorDesc& desc : engine.ioTensors()) {
      if (!desc.isInput) continue;
      InputProfile r;
      try {
        r = engine.profileShapes(p, desc.name);
      } catch (const BackendError&) {
        continue;  // a static input may have no range to report; refusing is fine
      }
      bool ok = r.min.size() == desc.shape.size() && r.opt.size() == desc.shape.size() && r.max.size() == desc.shape.size();
      for (size_t i = 0; ok && i < desc.shape.size(); ++i) {
        ok = r.min[i] >= 0 && r.min[i] <= r.opt[i] && r.opt[i] <= r.max[i] &&
             (desc.shape[i] < 0 || (r.min[i] == desc.shape[i] && r.max[i] == desc.shape[i]));
      }
      if (!ok) {
        std::fprintf(stderr, "profile invariant broken: engine loaded with profile %d of input '%s' outside 0 <= min <= opt <= max\n",
                     p, desc.name.c_str());
        std::abort();
      }
    }
  }
}

}  // namespace

Backend& simBackend() {
  static std::shared_ptr<Backend> backend = sim::createSimBackend();
  return *backend;
}

std::shared_ptr<LogSink> silentLog() {
  static std::shared_ptr<LogSink> log = std::make_shared<SilentLog>();
  return log;
}

// Tensors up to 64 MiB, not the 4 GiB default: the fuzzers look for crashes, hangs and memory
// the limits fail to bound, and a case that legitimately computes a 4 GiB tensor (a Tile of a
// Tile) takes seconds under the sanitizers and reads as a hang. The limit's own checks run
// the same at any value, and are exercised far more often this way.
constexpr uint64_t kFuzzMaxTensorBytes = uint64_t{64} << 20;

void runEngine(const uint8_t* data, size_t size) {
  tolerateTypedErrors([&] {
    std::shared_ptr<Runtime> runtime = simBackend().createRuntime(silentLog(), {});
    DeserializeOptions loadOptions;
    loadOptions.maxTensorBytes = kFuzzMaxTensorBytes;
    std::shared_ptr<Engine> engine = runtime->deserializeEngine(data, size, loadOptions);
    if (!engine) return;
    // What the public API reads after a load (Engine.getTensorShape, getProfileShape).
    engine->numLayers();
    engine->deviceMemorySize();
    checkProfiles(*engine);
    for (int32_t p = 0; p < engine->numOptimizationProfiles() && p < 4; ++p) {
      for (const bool useMax : {false, true}) {
        tolerateTypedErrors([&] {
          std::vector<std::vector<uint8_t>> storage;
          std::vector<HostTensorView> inputs;
          if (!makeInputs(*engine, p, useMax, &storage, &inputs)) return;
          std::unique_ptr<ExecutionContext> context = engine->createExecutionContext();
          context->setOptimizationProfile(p);
          context->execute(inputs);
        });
      }
    }
  });
}

void runOnnxPipeline(const uint8_t* data, size_t size) {
  tolerateTypedErrors([&] {
    std::shared_ptr<Builder> builder = simBackend().createBuilder(silentLog(), {});
    std::vector<ParserError> errors;
    // No model directory: external data references must fail as typed errors, not open files.
    std::unique_ptr<Network> network = builder->parseOnnx(data, size, "", ParseOptions{}, &errors);
    if (!network) return;
    BuildOptions options;
    options.maxTensorBytes = kFuzzMaxTensorBytes;
    Profile profile;
    for (const TensorDesc& input : network->info().inputs) {
      Dims fixed = input.shape;
      bool dynamic = false;
      for (int64_t& d : fixed)
        if (d < 0) {
          d = 1;
          dynamic = true;
        }
      if (dynamic) profile.inputs.push_back({input.name, fixed, fixed, fixed});
    }
    if (!profile.inputs.empty()) options.profiles.push_back(profile);
    BuildResult built = builder->buildSerializedNetwork(*network, options);
    runEngine(built.plan.data(), built.plan.size());
  });
}

}  // namespace tnrt::fuzz
