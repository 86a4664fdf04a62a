// ThreadSanitizer harness for the addon's threaded code that runs without N-API:
//  1. HistogramAdd (native/binding/histogram_add.*): pool parts on several threads while a
//     stand-in for the JavaScript thread calls help(), the way CalibrationHistogram.add()
//     runs them; batches that set the range, stay inside it, and grow it (round two). The
//     result must equal a serial AbsHistogram::add of the same batches.
//  2. The sim: one engine shared by contexts executing on several threads at once (separate
//     contexts run in parallel, DESIGN.md), and builders parsing and building concurrently;
//     every thread's outputs must equal a single-threaded run's.
// TSan inside Node through LD_PRELOAD is unreliable (Node is not instrumented), hence a
// standalone program. ShortJobPool is N-API through and through and is not covered here.
// Usage: threads_tsan <model.onnx>     (built and run by fuzz/tsan/run.sh)
#include <atomic>
#include <cstdio>
#include <cstring>
#include <fstream>
#include <iterator>
#include <memory>
#include <random>
#include <thread>
#include <vector>

#include "binding/histogram_add.h"
#include "sim/sim_backend.h"

namespace {

using namespace tnrt;

int failures = 0;

void check(bool ok, const char* what) {
  if (!ok) {
    std::fprintf(stderr, "FAIL: %s\n", what);
    ++failures;
  }
}

std::vector<float> batch(size_t count, float scale, unsigned seed) {
  std::mt19937 rng(seed);
  std::normal_distribution<float> normal(0.0f, scale);
  std::vector<float> out(count);
  for (float& v : out) v = normal(rng);
  return out;
}

void histogramAdds() {
  constexpr size_t kThreads = 3;
  const size_t n = binding::HistogramAdd::kMinSharedValues * 3 + 123;
  // Scales chosen so that the third batch exceeds the range the first two set.
  const std::vector<std::vector<float>> batches = {batch(n, 1.0f, 1), batch(n, 0.5f, 2), batch(n, 8.0f, 3), batch(n, 1.0f, 4)};

  auto state = std::make_shared<binding::HistogramState>();
  for (const auto& data : batches) {
    state->busy = true;
    auto add = std::make_shared<binding::HistogramAdd>(state, data.data(), data.size(), kThreads);
    std::vector<std::thread> pool;
    for (auto& part : add->poolParts(add)) pool.emplace_back(part);
    while (!add->finished()) add->help();  // the JavaScript thread's share
    for (auto& t : pool) t.join();
    check(!state->busy.load(), "the busy flag is cleared after an add");
  }

  calibration::AbsHistogram serial;
  for (const auto& data : batches) serial.add(data.data(), data.size());
  check(serial.counts() == state->histogram.counts(), "threaded adds bin exactly as serial adds");
  check(serial.maxAbs() == state->histogram.maxAbs(), "threaded adds reach the serial range");
  check(serial.total() == state->histogram.total(), "threaded adds count every value");
}

class SilentLog : public LogSink {
 public:
  void log(Severity, const std::string&) override {}
};

std::vector<uint8_t> readFile(const char* path) {
  std::ifstream in(path, std::ios::binary);
  return {std::istreambuf_iterator<char>(in), {}};
}

// Parses and builds with every dynamic dim fixed at 2; returns the plan.
std::vector<uint8_t> build(Backend& backend, const std::vector<uint8_t>& model) {
  auto builder = backend.createBuilder(std::make_shared<SilentLog>(), {});
  std::vector<ParserError> errors;
  auto network = builder->parseOnnx(model.data(), model.size(), "", ParseOptions{}, &errors);
  if (!network) return {};
  BuildOptions options;
  Profile profile;
  for (const TensorDesc& in : network->info().inputs) {
    Dims d = in.shape;
    bool dynamic = false;
    for (auto& x : d)
      if (x < 0) x = 2, dynamic = true;
    if (dynamic) profile.inputs.push_back({in.name, d, d, d});
  }
  if (!profile.inputs.empty()) options.profiles.push_back(profile);
  return builder->buildSerializedNetwork(*network, options).plan;
}

std::vector<HostTensor> run(Engine& engine, const std::vector<std::vector<uint8_t>>& storage) {
  std::vector<HostTensorView> inputs;
  size_t i = 0;
  for (const TensorDesc& d : engine.ioTensors()) {
    if (!d.isInput) continue;
    InputProfile range = engine.numOptimizationProfiles() > 0 ? engine.profileShapes(0, d.name) : InputProfile{};
    Dims shape = d.shape;
    for (size_t k = 0; k < shape.size(); ++k)
      if (shape[k] < 0) shape[k] = range.opt[k];
    inputs.push_back({d.name, d.dtype, shape, storage[i].data(), storage[i].size()});
    ++i;
  }
  return engine.createExecutionContext()->execute(inputs);
}

void simThreads(const char* modelPath) {
  std::shared_ptr<Backend> backend = sim::createSimBackend();
  const std::vector<uint8_t> model = readFile(modelPath);
  check(!model.empty(), "the model file reads");
  const std::vector<uint8_t> plan = build(*backend, model);
  check(!plan.empty(), "the model builds");
  if (plan.empty()) return;
  auto runtime = backend->createRuntime(std::make_shared<SilentLog>(), {});
  std::shared_ptr<Engine> engine = runtime->deserializeEngine(plan.data(), plan.size(), DeserializeOptions{});

  // Pseudo-random input bytes sized from the first run's own view of the inputs.
  std::vector<std::vector<uint8_t>> storage;
  for (const TensorDesc& d : engine->ioTensors()) {
    if (!d.isInput) continue;
    int64_t count = 1;
    InputProfile range = engine->numOptimizationProfiles() > 0 ? engine->profileShapes(0, d.name) : InputProfile{};
    for (size_t k = 0; k < d.shape.size(); ++k) count *= d.shape[k] < 0 ? range.opt[k] : d.shape[k];
    std::vector<float> values = batch(static_cast<size_t>(count), 1.0f, 7);
    storage.emplace_back(dataTypeBytes(d.dtype, count));
    std::memcpy(storage.back().data(), values.data(), std::min(storage.back().size(), values.size() * sizeof(float)));
  }
  const std::vector<HostTensor> expected = run(*engine, storage);

  std::atomic<int> mismatches{0};
  std::vector<std::thread> threads;
  for (int t = 0; t < 4; ++t) {
    threads.emplace_back([&] {
      for (int i = 0; i < 3; ++i) {
        std::vector<HostTensor> got = run(*engine, storage);
        for (size_t k = 0; k < got.size(); ++k)
          if (got[k].data != expected[k].data) ++mismatches;
      }
    });
  }
  // Concurrent parse + build + load next to the executions, on builders of their own.
  for (int t = 0; t < 2; ++t) {
    threads.emplace_back([&] {
      std::vector<uint8_t> again = build(*backend, model);
      if (again != plan) ++mismatches;
      auto rt = backend->createRuntime(std::make_shared<SilentLog>(), {});
      rt->deserializeEngine(again.data(), again.size(), DeserializeOptions{});
    });
  }
  for (auto& t : threads) t.join();
  check(mismatches == 0, "every thread computes the single-threaded outputs and plans");
}

}  // namespace

int main(int argc, char** argv) {
  if (argc < 2) {
    std::fprintf(stderr, "usage: %s <model.onnx>\n", argv[0]);
    return 2;
  }
  histogramAdds();
  for (int i = 1; i < argc; ++i) simThreads(argv[i]);
  std::printf(failures == 0 ? "threads_tsan: passed\n" : "threads_tsan: %d failure(s)\n", failures);
  return failures == 0 ? 0 : 1;
}
