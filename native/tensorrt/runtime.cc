#include "tensorrt/runtime.h"

#include <NvInferVersion.h>

#include <cctype>
#include <utility>

#include "tensorrt/cuda_resources.h"
#include "tensorrt/engine.h"
#include "tensorrt/plugins.h"

namespace tnrt {
namespace trt {

namespace {

// Whether TensorRT's messages say that a plan was refused for the host code it carries. TensorRT
// reports no reason through its API (deserializeCudaEngine just returns null), so its log is
// all there is to tell this refusal from a plan of another version.
bool mentionsHostCode(const std::string& text) {
  std::string lower(text);
  for (char& c : lower) c = static_cast<char>(std::tolower(static_cast<unsigned char>(c)));
  for (const char* needle : {"host code", "hostcode", "version compatib", "version-compatib", "lean runtime"}) {
    if (lower.find(needle) != std::string::npos) return true;
  }
  return false;
}

}  // namespace

std::shared_ptr<TrtRuntime> TrtRuntime::create(std::shared_ptr<LogSink> sink, const CreateOptions& options) {
  checkDeviceIndex(options.device);
  DeviceScope device(options.device);
  auto logger = std::make_shared<TrtLogger>(std::move(sink));
  // Before any plan is deserialized: a plan's plugin layers find their creators in the registry.
  registerStandardPlugins(*logger);
  loadPluginLibraries(options.plugins, *logger);
  const uint64_t mark = logger->mark();
  std::unique_ptr<nvinfer1::IRuntime> runtime(nvinfer1::createInferRuntime(*logger));
  if (!runtime) {
    throw BackendError(ErrorCode::kUnavailable, logger->describeFailure("TensorRT could not create a runtime", mark));
  }
  // TensorRT's default is false too; set it either way so the choice is explicit in one place.
  runtime->setEngineHostCodeAllowed(options.engineHostCodeAllowed);
  return std::make_shared<TrtRuntime>(std::move(logger), std::move(runtime), options.device,
                                      options.engineHostCodeAllowed);
}

TrtRuntime::TrtRuntime(std::shared_ptr<TrtLogger> logger, std::unique_ptr<nvinfer1::IRuntime> runtime, int device,
                       bool engineHostCodeAllowed)
    : logger_(std::move(logger)),
      runtime_(std::move(runtime)),
      device_(device),
      engineHostCodeAllowed_(engineHostCodeAllowed) {}

TrtRuntime::~TrtRuntime() {
  DeviceScope device(device_, std::nothrow);
  runtime_.reset();
}

std::shared_ptr<Engine> TrtRuntime::deserializeEngine(const uint8_t* data, size_t size, const DeserializeOptions&) {
  if (!data || size == 0) throw BackendError(ErrorCode::kEngineInvalid, "the engine is empty");

  DeviceScope device(device_);
  ActiveLoggerScope active(*logger_);
  std::unique_ptr<nvinfer1::ICudaEngine> engine;
  uint64_t mark = 0;
  {
    std::lock_guard<std::mutex> lock(mutex_);
    mark = logger_->mark();
    engine.reset(runtime_->deserializeCudaEngine(data, size));
  }
  if (!engine) {
    const std::string logged = logger_->errorsSince(mark);
    if (!engineHostCodeAllowed_ && mentionsHostCode(logged)) {
      throw BackendError(ErrorCode::kEngineInvalid, logger_->describeFailure(hostCodeRefusalMessage(), mark));
    }
    // TensorRT's own message (logged just now) is precise but assumes the reader knows that
    // plans are tied to one TensorRT version and one GPU model; say so.
    std::string what =
        "TensorRT " + std::to_string(NV_TENSORRT_MAJOR) + ".x could not deserialize the engine. Likely causes: "
        "it was built by another TensorRT version or for another GPU (rebuild it here), it is truncated or "
        "corrupt, or it is not a TensorRT plan at all (a tensorrt-node sim engine must be loaded with backend "
        "'sim')";
    if (mentionsPlugin(logged)) {
      what = "TensorRT could not deserialize the engine: it has a plugin layer whose plugin is not registered. " +
             pluginSearchReport();
    } else if (!engineHostCodeAllowed_) {
      // TensorRT may refuse a version-compatible plan without a message this adapter recognizes.
      what += "; or it was built with versionCompatible and carries host code, which loads only with "
              "engineHostCodeAllowed: true";
    }
    throw BackendError(ErrorCode::kEngineInvalid, logger_->describeFailure(what, mark));
  }
  return std::make_shared<TrtEngine>(shared_from_this(), std::move(engine), size);
}

}  // namespace trt
}  // namespace tnrt
