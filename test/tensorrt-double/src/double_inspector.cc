#include "double_inspector.h"

#include "sim/engine_information.h"
#include "sim/sim_engine.h"

namespace tnrt_double {

DoubleInspector::DoubleInspector(const DoubleEngine& engine) : engine_(engine) {
  mImpl = this;
  const_cast<DoubleEngine&>(engine_).inspectors().add();
}

DoubleInspector::~DoubleInspector() noexcept {
  alive_.check("~IEngineInspector");
  const_cast<DoubleEngine&>(engine_).inspectors().remove();
}

bool DoubleInspector::setExecutionContext(nvinfer1::IExecutionContext const* context) noexcept {
  alive_.check("setExecutionContext");
  if (context && &context->getEngine() != &engine_) {
    engine_.logger().error("IEngineInspector::setExecutionContext: Error Code 3: the context belongs to another engine");
    return false;
  }
  context_ = context;
  return true;
}

char const* DoubleInspector::getEngineInformation(nvinfer1::LayerInformationFormat format) const noexcept {
  alive_.check("getEngineInformation");
  if (format != nvinfer1::LayerInformationFormat::kJSON) {
    engine_.logger().error("IEngineInspector::getEngineInformation: the TensorRT double models kJSON only");
    return nullptr;
  }
  try {
    const tnrt::sim::SimEngine* sim = engine_.simEngine();
    std::string bindings = "[";
    for (size_t i = 0; i < engine_.io().size(); ++i) bindings += (i ? "," : "") + tnrt::sim::jsonString(engine_.io()[i].name);
    bindings += "]";
    switch (engine_.getProfilingVerbosity()) {
      case nvinfer1::ProfilingVerbosity::kDETAILED: {
        // The sim's form, less its own "Precision" key, which TensorRT does not write (a
        // reader derives the precision from the tensors' formats).
        information_ = sim->engineInformation();
        for (size_t at; (at = information_.find(",\"Precision\":\"")) != std::string::npos;) {
          const size_t end = information_.find('"', at + 14);
          information_.erase(at, end + 1 - at);
        }
        break;
      }
      case nvinfer1::ProfilingVerbosity::kLAYER_NAMES_ONLY: {
        information_ = "{\"Layers\":[";
        bool first = true;
        for (const auto& step : sim->steps()) {
          information_ += (first ? "" : ",") + tnrt::sim::jsonString(tnrt::sim::layerName(*step.node));
          first = false;
        }
        information_ += "],\"Bindings\":" + bindings + "}";
        break;
      }
      default:  // kNONE: the plan kept nothing about its layers
        information_ = "{\"Layers\":[],\"Bindings\":" + bindings + "}";
    }
    return information_.c_str();
  } catch (const std::exception& e) {
    engine_.logger().error(std::string("IEngineInspector::getEngineInformation: ") + e.what());
    return nullptr;
  }
}

}  // namespace tnrt_double
