// Drives the double directly through TensorRT's C++ API, right and wrong, so that a test can
// check that each documented rule the double enforces really aborts with the rule's name.
//
//   tnrt_double_contract_check <scenario> <model.onnx with input x: [-1, 8]>
//   tnrt_double_contract_check shape-tensor-<...> <model.onnx: y = Reshape(x [n], s int64 [2])>
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

// The shape-tensor scenarios: a model with x float [n] and s int64 [2] -> y = Reshape(x, s).
// "shape-tensor-ok" keeps every rule (s in host memory, values inside the profile);
// "shape-tensor-device" binds s to device memory (aborts); "shape-tensor-outside" gives values
// outside the profile (TensorRT's refusal: enqueueV3 returns false with an error logged).
int shapeTensorScenario(const std::string& scenario, const std::vector<char>& model, Logger& logger) {
  auto* builder = nvinfer1::createInferBuilder(logger);
  auto* network = builder->createNetworkV2(0);
  auto* parser = nvonnxparser::createParser(*network, logger);
  if (!parser->parse(model.data(), model.size())) return fail("parse failed");
  auto* config = builder->createBuilderConfig();
  auto* profile = builder->createOptimizationProfile();
  const nvinfer1::OptProfileSelector ends[] = {nvinfer1::OptProfileSelector::kMIN, nvinfer1::OptProfileSelector::kOPT,
                                              nvinfer1::OptProfileSelector::kMAX};
  const int64_t n[] = {1, 6, 24}, values[3][2] = {{1, 1}, {2, 3}, {4, 6}};
  for (int e = 0; e < 3; ++e) {
    nvinfer1::Dims x{};
    x.nbDims = 1;
    x.d[0] = n[e];
    profile->setDimensions("x", ends[e], x);
#if NV_TENSORRT_MAJOR > 10 || (NV_TENSORRT_MAJOR == 10 && NV_TENSORRT_MINOR >= 11)
    profile->setShapeValuesV2("s", ends[e], values[e], 2);
#else
    const int32_t narrow[2] = {static_cast<int32_t>(values[e][0]), static_cast<int32_t>(values[e][1])};
    profile->setShapeValues("s", ends[e], narrow, 2);
#endif
  }
  config->addOptimizationProfile(profile);
  auto* plan = builder->buildSerializedNetwork(*network, *config);
  if (!plan) return fail("build failed");
  delete config;
  delete parser;
  delete network;
  delete builder;
  auto* runtime = nvinfer1::createInferRuntime(logger);
  auto* engine = runtime->deserializeCudaEngine(plan->data(), plan->size());
  delete plan;
  if (!engine) return fail("deserialize failed");
  if (!engine->isShapeInferenceIO("s") || engine->getTensorLocation("s") != nvinfer1::TensorLocation::kHOST ||
      engine->isShapeInferenceIO("x"))
    return fail("s is not reported as a host shape tensor");
  auto* context = engine->createExecutionContext();
  cudaStream_t stream;
  cudaStreamCreate(&stream);
  std::vector<float> host(6);
  for (int i = 0; i < 6; ++i) host[static_cast<size_t>(i)] = static_cast<float>(i);
  void* x = nullptr;
  void* y = nullptr;
  void* sDevice = nullptr;
  cudaMalloc(&x, 6 * 4);
  cudaMalloc(&y, 6 * 4);
  cudaMalloc(&sDevice, 16);
  int64_t s[2] = {2, 3};
  if (scenario == "shape-tensor-outside") s[0] = 5;
  cudaMemcpy(sDevice, s, 16, cudaMemcpyHostToDevice);
  cudaMemcpy(x, host.data(), 6 * 4, cudaMemcpyHostToDevice);
  nvinfer1::Dims xShape{};
  xShape.nbDims = 1;
  xShape.d[0] = 6;
  context->setInputShape("x", xShape);
  context->setTensorAddress("x", x);
  context->setTensorAddress("s", scenario == "shape-tensor-device" ? sDevice : static_cast<void*>(s));
  const nvinfer1::Dims yShape = context->getTensorShape("y");  // shape-tensor-device: aborts here
  if (scenario == "shape-tensor-ok" && (yShape.nbDims != 2 || yShape.d[0] != 2 || yShape.d[1] != 3))
    return fail("y's shape does not follow s's values");
  context->setTensorAddress("y", y);
  const bool enqueued = context->enqueueV3(stream);
  std::vector<float> result(6);
  if (enqueued) cudaMemcpyAsync(result.data(), y, 6 * 4, cudaMemcpyDeviceToHost, stream);
  cudaStreamSynchronize(stream);
  delete context;
  delete engine;
  delete runtime;
  cudaFree(x);
  cudaFree(y);
  cudaFree(sDevice);
  cudaStreamDestroy(stream);
  if (scenario == "shape-tensor-outside") {
    if (enqueued) return fail("values outside the profile were accepted");
    std::printf("refused\n");
    return 0;
  }
  if (!enqueued) return fail("enqueueV3 failed");
  if (scenario != "shape-tensor-ok") return fail(("scenario " + scenario + " did not abort").c_str());
  std::printf("ok %g %g\n", result[0], result[5]);
  return 0;
}

}  // namespace

int main(int argc, char** argv) {
  if (argc < 3) return fail("usage: tnrt_double_contract_check <scenario> <model.onnx>");
  const std::string scenario = argv[1];
  std::ifstream file(argv[2], std::ios::binary);
  const std::vector<char> model((std::istreambuf_iterator<char>(file)), std::istreambuf_iterator<char>());
  Logger logger;
  if (scenario.rfind("shape-tensor", 0) == 0) return shapeTensorScenario(scenario, model, logger);

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
