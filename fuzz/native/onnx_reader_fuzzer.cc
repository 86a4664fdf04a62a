// libFuzzer target: ONNX bytes -> the sim's ONNX reader, operator and graph checks, shape
// inference and constant folding (OnnxParser.parse), then the build at a fixed profile, the
// engine load and one execution (see sim_pipeline.h). Seeds: fuzz/corpus/onnx/.
#include <cstddef>
#include <cstdint>

#include "sim_pipeline.h"

extern "C" int LLVMFuzzerTestOneInput(const uint8_t* data, size_t size) {
  tnrt::fuzz::runOnnxPipeline(data, size);
  return 0;
}
