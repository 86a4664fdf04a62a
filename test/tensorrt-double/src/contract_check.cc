// Drives the double directly through TensorRT's C++ API, right and wrong, so that a test can
// check that each documented rule the double enforces really aborts with the rule's name.
//
//   tnrt_double_contract_check <scenario> <model.onnx with input x: [-1, 8]>
//
// "ok" runs everything in the documented order and exits 0; every other scenario breaks one
// rule and should end in SIGABRT with "CONTRACT VIOLATION: <rule>" (or "not implemented").
// "wrong-device" needs TNRT_DOUBLE_DEVICES=2.
#include <NvInfer.h>
#include <NvOnnxParser.h>
#include <cuda_runtime_api.h>

#include <cstdio>
#include <cstring>
#include <fstream>
#include <iterator>
#include <string>
#include <thread>
#include <vector>

namespace {

class Logger : public nvinfer1::ILogger {
 public:
  void log(Severity severity, char const* msg) noexcept override {
    if (severity <= Severity::kWARNING) std::fprintf(stderr, "[trt] %s\n", msg);
  }
};

int fail(const char* what) {
  std::fprintf(stderr, "contract_check: %s\n", what);
  return 2;
}

// Calls back into the same context from another thread while enqueueV3 runs.
class ReentrantAllocator : public nvinfer1::IOutputAllocator {
 public:
  explicit ReentrantAllocator(nvinfer1::IExecutionContext& context) : context_(context) {}
  void* reallocateOutputAsync(char const*, void*, uint64_t size, uint64_t, cudaStream_t) noexcept override {
    std::thread other([this] { (void)context_.getTensorShape("x"); });
    other.join();
    void* p = nullptr;
    (void)cudaMalloc(&p, size);
    return p;
  }
  void notifyShape(char const*, nvinfer1::Dims const&) noexcept override {}

 private:
  nvinfer1::IExecutionContext& context_;
};

}  // namespace

int main(int argc, char** argv) {
  if (argc < 3) return fail("usage: tnrt_double_contract_check <scenario> <model.onnx>");
  const std::string scenario = argv[1];
  std::ifstream file(argv[2], std::ios::binary);
  const std::vector<char> model((std::istreambuf_iterator<char>(file)), std::istreambuf_iterator<char>());
  Logger logger;

  auto* builder = nvinfer1::createInferBuilder(logger);
  auto* network = builder->createNetworkV2(0);
  auto* parser = nvonnxparser::createParser(*network, logger);
  if (!parser->parse(model.data(), model.size())) return fail("parse failed");
  auto* config = builder->createBuilderConfig();
  auto* profile = builder->createOptimizationProfile();
  profile->setDimensions("x", nvinfer1::OptProfileSelector::kMIN, nvinfer1::Dims2(1, 8));
  profile->setDimensions("x", nvinfer1::OptProfileSelector::kOPT, nvinfer1::Dims2(2, 8));
  profile->setDimensions("x", nvinfer1::OptProfileSelector::kMAX, nvinfer1::Dims2(4, 8));
  config->addOptimizationProfile(profile);
  auto* plan = builder->buildSerializedNetwork(*network, *config);
  if (!plan) return fail("build failed");

  if (scenario == "network-before-parser") delete network;  // aborts
  if (scenario == "builder-before-network") delete builder;  // aborts
  delete config;
  delete parser;
  delete network;
  delete builder;

  auto* runtime = nvinfer1::createInferRuntime(logger);
  // Made on device 0; "wrong-device" (run with TNRT_DOUBLE_DEVICES=2) calls it from device 1.
  if (scenario == "wrong-device") cudaSetDevice(1);
  auto* engine = runtime->deserializeCudaEngine(plan->data(), plan->size());  // wrong-device: aborts
  delete plan;
  if (!engine) return fail("deserialize failed");
  if (scenario == "unimplemented") (void)engine->isRefittable();  // aborts
  auto* context = engine->createExecutionContext();
  cudaStream_t stream;
  cudaStreamCreate(&stream);
  const char* out = engine->getIOTensorName(1);

  void* x = nullptr;
  void* y = nullptr;
  cudaMalloc(&x, scenario == "small-buffer" ? 2 * 8 * 4 - 4 : 2 * 8 * 4);
  cudaMalloc(&y, 2 * 4 * 4);
  std::vector<float> host(16, 0.5f);
  cudaMemcpyAsync(x, host.data(), 16 * 4, cudaMemcpyHostToDevice, stream);  // small-buffer: aborts here
  if (scenario != "missing-shape") context->setInputShape("x", nvinfer1::Dims2(2, 8));
  if (scenario != "missing-address") context->setTensorAddress("x", x);
  ReentrantAllocator allocator(*context);
  if (scenario == "two-threads") {
    context->setOutputAllocator(out, &allocator);
  } else {
    context->setTensorAddress(out, y);
  }
  if (!context->enqueueV3(stream)) return fail("enqueueV3 failed");  // the wrong scenarios abort here
  std::vector<float> result(8);
  cudaMemcpyAsync(result.data(), y, 8 * 4, cudaMemcpyDeviceToHost, stream);
  cudaStreamSynchronize(stream);

  if (scenario == "runtime-before-engine") delete runtime;  // aborts
  if (scenario == "engine-before-context") delete engine;   // aborts
  delete context;
  delete engine;
  delete runtime;
  cudaFree(x);
  cudaFree(y);
  cudaStreamDestroy(stream);
  if (scenario != "ok") return fail(("scenario " + scenario + " did not abort").c_str());
  std::printf("ok %f\n", result[0]);
  return 0;
}
