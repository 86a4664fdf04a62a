// Implicit INT8 calibration on the sim, the protocol TensorRT 10 follows with an
// IInt8Calibrator: read the calibrator's cache and use it when it fits; otherwise ask for
// batches until the calibrator says it has no more, run the float network on each while
// collecting a |x| histogram of every activation input of a Conv, ConvTranspose, Gemm or
// MatMul, choose each tensor's threshold (entropy: TensorRT's KL search; minmax: max |x|),
// and hand the calibrator the new cache.
#pragma once

#include <memory>
#include <string>
#include <utility>
#include <vector>

#include "../backend/backend.h"
#include "engine_format.h"

namespace tnrt {
namespace sim {

using TensorScales = std::vector<std::pair<std::string, float>>;

// "EntropyCalibration2" / "MinMaxCalibration": the algorithm field of the cache header.
const char* calibrationAlgorithmName(CalibrationAlgorithm algorithm);

// TensorRT's calibration cache text: "TRT-<version>-<algorithm>\n" then "<tensor>: <hex>\n" per
// tensor, the hex being the scale's big-endian float32 bit pattern. `version` is digits.
std::vector<uint8_t> writeCalibrationCache(const std::string& version, CalibrationAlgorithm algorithm,
                                           const TensorScales& scales);
// Parses a cache. Returns false (leaving `scales` empty) when its header names another
// algorithm, which TensorRT also answers by recalibrating; `foundAlgorithm` then says which.
// Throws BackendError kInvalidArgument naming the line for text that is not a cache.
bool readCalibrationCache(const std::vector<uint8_t>& text, CalibrationAlgorithm algorithm, TensorScales* scales,
                          std::string* foundAlgorithm);

// [async] Calibrates the float engine `engine` (as built, without reduced precision) through
// `calibrator` and returns the scales, in the order the engine's layers use the tensors.
// Throws whatever the calibrator throws, and kInvalidArgument when it supplies no batch.
// `maxTensorBytes` is the build's limit: the float engine run here holds every tensor to it.
TensorScales calibrateInt8(const EngineData& engine, Calibrator& calibrator, const std::shared_ptr<LogSink>& log,
                           uint64_t maxTensorBytes);

}  // namespace sim
}  // namespace tnrt
