#include "int8_calibration.h"

#include <algorithm>
#include <cmath>
#include <cstdio>
#include <cstring>
#include <map>

#include "calibration/entropy.h"
#include "calibration/histogram.h"
#include "sim_backend.h"
#include "sim_engine.h"
#include "sim_execution_context.h"
#include "sim_log.h"

namespace tnrt {
namespace sim {

namespace {

// The most input bytes the first pass keeps for the second (see calibrateInt8).
constexpr size_t kKeepLimitBytes = size_t{1} << 30;

// The tensors the float engine reports (in first-use order; a tensor feeding several layers
// counts once per batch) and their statistics: max |x| over finite values during the first
// pass, then a histogram over [0, that max] once binning starts.
struct ObservedTensors {
  std::map<int32_t, size_t> index;
  std::vector<int32_t> order;
  std::vector<float> ranges;
  std::vector<std::unique_ptr<calibration::AbsHistogram>> histograms;
  std::vector<int64_t> seenInBatch;
  int64_t batch = -1;
  bool binning = false;

  void nextBatch() { ++batch; }

  void observe(int32_t value, const float* x, size_t count) {
    auto [it, inserted] = index.emplace(value, order.size());
    if (inserted) {
      order.push_back(value);
      ranges.push_back(0.0f);
      seenInBatch.push_back(-1);
      // A tensor first seen while binning (data read once, past the kept batches) starts empty.
      if (binning) histograms.push_back(std::make_unique<calibration::AbsHistogram>());
    }
    const size_t t = it->second;
    if (seenInBatch[t] == batch) return;
    seenInBatch[t] = batch;
    if (binning) {
      histograms[t]->add(x, count);
      return;
    }
    bool anyNonFinite = false;
    ranges[t] = std::max(ranges[t], calibration::AbsHistogram::scanFiniteMaxAbs(x, count, anyNonFinite));
  }

  // Ends the first pass: each tensor's histogram spans exactly its range.
  void startBinning() {
    binning = true;
    const calibration::HistogramCounts zeros{};
    for (float range : ranges) {
      histograms.push_back(std::make_unique<calibration::AbsHistogram>());
      histograms.back()->assign(zeros, range);
    }
  }
};

[[noreturn]] void badCache(size_t line, const std::string& expected, const std::string& text) {
  throw BackendError(ErrorCode::kInvalidArgument, "Expected " + expected + " for line " + std::to_string(line) +
                                                      " of the INT8 calibration cache but received '" + text + "'");
}

// The version digits TensorRT writes (major * 10000 + minor * 100 + patch) for the sim's own
// version, so the header looks like one TensorRT wrote.
std::string simVersionDigits() {
  int major = 0, minor = 0, patch = 0;
  std::sscanf(kSimVersion, "%d.%d.%d", &major, &minor, &patch);
  return std::to_string(major * 10000 + minor * 100 + patch);
}

}  // namespace

const char* calibrationAlgorithmName(CalibrationAlgorithm algorithm) {
  return algorithm == CalibrationAlgorithm::kMinMax ? "MinMaxCalibration" : "EntropyCalibration2";
}

std::vector<uint8_t> writeCalibrationCache(const std::string& version, CalibrationAlgorithm algorithm,
                                           const TensorScales& scales) {
  std::string text = "TRT-" + version + "-" + calibrationAlgorithmName(algorithm) + "\n";
  for (const auto& [name, scale] : scales) {
    uint32_t bits = 0;
    std::memcpy(&bits, &scale, sizeof bits);
    char hex[9];
    std::snprintf(hex, sizeof hex, "%08x", bits);
    text += name + ": " + hex + "\n";
  }
  return std::vector<uint8_t>(text.begin(), text.end());
}

bool readCalibrationCache(const std::vector<uint8_t>& bytes, CalibrationAlgorithm algorithm, TensorScales* scales,
                          std::string* foundAlgorithm) {
  scales->clear();
  const std::string text(bytes.begin(), bytes.end());
  size_t pos = 0, lineNumber = 0;
  while (pos < text.size()) {
    size_t end = text.find('\n', pos);
    if (end == std::string::npos) end = text.size();
    std::string line = text.substr(pos, end - pos);
    pos = end + 1;
    ++lineNumber;
    if (!line.empty() && line.back() == '\r') line.pop_back();
    if (lineNumber == 1) {
      // TRT-<digits>-<algorithm>
      const size_t dash = line.find('-', 4);
      if (line.compare(0, 4, "TRT-") != 0 || dash == std::string::npos || dash == 4 ||
          line.find_first_not_of("0123456789", 4) != dash)
        badCache(lineNumber, "a header 'TRT-<version>-<algorithm>'", line);
      *foundAlgorithm = line.substr(dash + 1);
      if (*foundAlgorithm != calibrationAlgorithmName(algorithm)) return false;
      continue;
    }
    if (line.empty() && pos >= text.size()) break;  // the final newline
    // Tensor names may contain ": " themselves; the scale follows the last one.
    const size_t colon = line.rfind(": ");
    if (colon == std::string::npos || colon == 0) badCache(lineNumber, "'<tensor name>: <8 hex digits>'", line);
    const std::string hex = line.substr(colon + 2);
    if (hex.size() != 8 || hex.find_first_not_of("0123456789abcdefABCDEF") != std::string::npos)
      badCache(lineNumber, "8 hex digits after the tensor name", line);
    const uint32_t bits = static_cast<uint32_t>(std::stoul(hex, nullptr, 16));
    float scale = 0.0f;
    std::memcpy(&scale, &bits, sizeof scale);
    if (!(scale >= 0.0f) || !std::isfinite(scale)) badCache(lineNumber, "a finite scale >= 0", line);
    scales->emplace_back(line.substr(0, colon), scale);
  }
  if (lineNumber == 0) badCache(1, "a header 'TRT-<version>-<algorithm>'", "");
  return true;
}

TensorScales calibrateInt8(const EngineData& data, Calibrator& calibrator, const std::shared_ptr<LogSink>& log,
                           uint64_t maxTensorBytes) {
  const CalibrationAlgorithm algorithm = calibrator.algorithm();
  const std::vector<uint8_t> cached = calibrator.readCache();
  if (!cached.empty()) {
    TensorScales scales;
    std::string found;
    if (readCalibrationCache(cached, algorithm, &scales, &found)) {
      logTo(log, Severity::kInfo,
            "[sim] int8: using the calibration cache (" + std::to_string(scales.size()) + " tensors), no batches needed");
      return scales;
    }
    logTo(log, Severity::kWarning,
          "[sim] int8: the calibration cache was made by " + found + ", not " + calibrationAlgorithmName(algorithm) +
              "; recalibrating");
  }

  // The float engine, run in-process: the same kernels the built engine will use.
  EngineData floatData = data;
  floatData.fp16 = false;
  floatData.int8 = false;
  floatData.int8Scales.clear();
  auto engine =
      std::make_shared<SimEngine>(nullptr, log, std::vector<uint8_t>(), std::move(floatData), maxTensorBytes);
  SimExecutionContext context(engine);

  // Batches come at profile 0's opt shapes, as TensorRT's default calibration profile.
  const std::vector<TensorDesc>& io = engine->tensors();
  const Profile& profile = engine->profiles().front();
  std::vector<CalibrationInput> inputs;
  std::vector<std::vector<uint8_t>> storage;
  for (size_t i = 0; i < engine->graph().inputs.size(); ++i) {
    CalibrationInput in;
    in.name = io[i].name;
    in.dtype = io[i].dtype;
    in.shape = profile.inputs[i].opt;
    in.bytes = dataTypeBytes(in.dtype, volume(in.shape));
    storage.emplace_back(std::max<size_t>(in.bytes, 1));
    in.data = storage.back().data();
    inputs.push_back(std::move(in));
  }

  // Two passes, as in quantizeInt8 (lib/calibration/collect-statistics.ts): the first finds
  // each observed tensor's max |x|, the second bins it over exactly that range, so that the
  // histograms depend on the values alone, not on how they were batched (histogram.h). The
  // calibrator hands out each batch once, so the first pass keeps the batches' inputs, up to
  // kKeepLimitBytes; past that, the rest of the data is binned as it comes, ranges growing.
  // MinMax needs the ranges alone: one pass, nothing kept.
  const bool histograms = algorithm != CalibrationAlgorithm::kMinMax;
  ObservedTensors observed;
  context.setObserver([&](int32_t value, const float* x, size_t count) { observed.observe(value, x, count); });

  std::vector<HostTensorView> views(inputs.size());
  auto run = [&](const std::vector<void*>& data) {
    for (size_t i = 0; i < inputs.size(); ++i)
      views[i] = {inputs[i].name, inputs[i].dtype, inputs[i].shape, data[i], inputs[i].bytes};
    observed.nextBatch();
    context.execute(views);
  };
  std::vector<void*> current(inputs.size());
  for (size_t i = 0; i < inputs.size(); ++i) current[i] = inputs[i].data;

  std::vector<std::vector<uint8_t>> kept;  // per batch, its inputs one after another
  size_t keptBytes = 0;
  bool exhausted = true;
  int64_t batch = 0;
  while (calibrator.getBatch(inputs)) {
    run(current);
    ++batch;
    if (!histograms) continue;
    std::vector<uint8_t>& copy = kept.emplace_back();
    copy.reserve(1);  // a valid address even for inputs of no bytes
    for (const CalibrationInput& in : inputs) {
      const auto* bytes = static_cast<const uint8_t*>(in.data);
      copy.insert(copy.end(), bytes, bytes + in.bytes);
    }
    keptBytes += copy.size();
    if (keptBytes > kKeepLimitBytes) {
      exhausted = false;
      break;
    }
  }
  if (batch == 0)
    throw BackendError(ErrorCode::kInvalidArgument,
                       "the INT8 calibrator supplied no batch; give it calibration data, or a calibration cache");

  if (histograms) {
    observed.startBinning();
    for (std::vector<uint8_t>& copy : kept) {
      size_t offset = 0;
      for (size_t i = 0; i < inputs.size(); ++i) {
        current[i] = copy.data() + offset;
        offset += inputs[i].bytes;
      }
      run(current);
    }
    kept.clear();
    if (!exhausted) {
      logTo(log, Severity::kWarning,
            "[sim] int8: the first " + std::to_string(batch) + " calibration batches passed " +
                std::to_string(kKeepLimitBytes) +
                " bytes, more than the sim keeps for the second pass; the rest is binned as it comes, histogram "
                "ranges growing, so thresholds may depend on the batches' order. Calibrate with fewer batches, or "
                "with quantizeInt8 on data that can be read twice, for exact histograms");
      for (size_t i = 0; i < inputs.size(); ++i) current[i] = inputs[i].data;
      while (calibrator.getBatch(inputs)) {
        run(current);
        ++batch;
      }
    }
  }

  const Graph& graph = engine->graph();
  TensorScales scales;
  for (size_t h = 0; h < observed.order.size(); ++h) {
    double threshold = histograms ? calibration::entropyThreshold(observed.histograms[h]->counts(),
                                                                   observed.histograms[h]->binWidth())
                                        .threshold
                                  : static_cast<double>(observed.ranges[h]);
    scales.emplace_back(graph.values[static_cast<size_t>(observed.order[h])].name, static_cast<float>(threshold / 127.0));
  }
  logTo(log, Severity::kInfo,
        "[sim] int8: calibrated " + std::to_string(scales.size()) + " tensors on " + std::to_string(batch) +
            " batches (" + calibrationAlgorithmName(algorithm) + ")");
  calibrator.writeCache(writeCalibrationCache(simVersionDigits(), algorithm, scales));
  return scales;
}

}  // namespace sim
}  // namespace tnrt
