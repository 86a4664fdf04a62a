#include "sim_runtime.h"

#include "engine_format.h"
#include "sim_engine.h"
#include "sim_log.h"

namespace tnrt {
namespace sim {

std::shared_ptr<Engine> SimRuntime::deserializeEngine(const uint8_t* data, size_t size,
                                                      const DeserializeOptions& options) {
  EngineData engine;
  readEngine(data, size, &engine);
  // TensorRT refuses a version-compatible plan whose lean runtime it would have to run unless
  // the application trusts it; the sim has no such code to run, but refuses the same engines so
  // that an application tested on the sim passes the option TensorRT needs.
  if (engine.versionCompatible && !engine.excludeLeanRuntime && !engineHostCodeAllowed_)
    throw BackendError(ErrorCode::kEngineInvalid, hostCodeRefusalMessage());
  std::vector<uint8_t> plan(data, data + size);
  auto result = std::make_shared<SimEngine>(shared_from_this(), log_, std::move(plan), std::move(engine),
                                             options.maxTensorBytes);
  result->setThreads(threads_);
  logTo(log_, Severity::kInfo,
        "[sim] loaded engine: " + std::to_string(size) + " bytes, " + std::to_string(result->numLayers()) +
            " layers, " + std::to_string(result->numOptimizationProfiles()) + " optimization profile(s)");
  return result;
}

}  // namespace sim
}  // namespace tnrt
