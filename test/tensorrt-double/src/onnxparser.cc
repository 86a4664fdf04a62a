// The double's libnvonnxparser: a forwarder to the parser inside the double's libnvinfer,
// which owns the network objects the parser fills.
#include <NvOnnxParser.h>

#define DOUBLE_EXPORT extern "C" __attribute__((visibility("default")))

extern "C" void* tnrt_double_create_onnx_parser(void* network, void* logger, int version) noexcept;

DOUBLE_EXPORT void* createNvOnnxParser_INTERNAL(void* network, void* logger, int version) noexcept {
  return tnrt_double_create_onnx_parser(network, logger, version);
}

DOUBLE_EXPORT int getNvOnnxParserVersion() noexcept { return NV_ONNX_PARSER_VERSION; }
