#include "sim_backend.h"

#include "sim_builder.h"
#include "sim_runtime.h"

namespace tnrt {
namespace sim {

namespace {

class SimBackend : public Backend {
 public:
  BackendInfo info() const override {
    BackendInfo i;
    i.name = "sim";
    i.version = kSimVersion;
    i.available = true;
    i.implicitPrecision = true;  // fp16/int8 flags and calibrators, emulated on the CPU
    return i;
  }
  std::shared_ptr<Builder> createBuilder(std::shared_ptr<LogSink> log, const CreateOptions& options) override {
    acceptCreateOptions(*log, options);
    return std::make_shared<SimBuilder>(std::move(log));
  }
  std::shared_ptr<Runtime> createRuntime(std::shared_ptr<LogSink> log, const CreateOptions& options) override {
    acceptCreateOptions(*log, options);
    return std::make_shared<SimRuntime>(std::move(log), options.engineHostCodeAllowed, options.threads);
  }

 private:
  // The sim is one CPU "device", 0: another index is a mistake it reports rather than hides,
  // since the same code on TensorRT would run on another GPU. Plugin libraries hold GPU code
  // for TensorRT's plugin interfaces, which the sim cannot run: they are not loaded (lib/
  // checked that they exist), and a model that needs one of their layers fails to parse naming
  // the operator, as any operator outside the sim's list does.
  static void acceptCreateOptions(LogSink& log, const CreateOptions& options) {
    if (options.device != 0) {
      throw BackendError(ErrorCode::kInvalidArgument,
                         "device " + std::to_string(options.device) +
                             " does not exist on the sim backend, which has one device, 0 (it computes on the CPU); "
                             "use device 0, or backend 'tensorrt' on a machine with that GPU");
    }
    for (const std::string& path : options.plugins) {
      log.log(Severity::kWarning, "[sim] plugin library " + path +
                                      " is not loaded: the sim cannot run TensorRT plugins, so models that need its "
                                      "layers fail to parse here (they need backend 'tensorrt')");
    }
  }
};

}  // namespace

std::shared_ptr<Backend> createSimBackend() { return std::make_shared<SimBackend>(); }

}  // namespace sim
}  // namespace tnrt
