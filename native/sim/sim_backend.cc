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
  std::shared_ptr<Builder> createBuilder(std::shared_ptr<LogSink> log) override {
    return std::make_shared<SimBuilder>(std::move(log));
  }
  std::shared_ptr<Runtime> createRuntime(std::shared_ptr<LogSink> log) override {
    return std::make_shared<SimRuntime>(std::move(log));
  }
};

}  // namespace

std::shared_ptr<Backend> createSimBackend() { return std::make_shared<SimBackend>(); }

}  // namespace sim
}  // namespace tnrt
