#include "double_inspector.h"

#include <chrono>
#include <cstdlib>
#include <thread>

#include "sim/engine_information.h"
#include "sim/shape_inference.h"
#include "sim/sim_engine.h"

namespace tnrt_double {

namespace {

bool isDynamicShape(const tnrt::Dims& d) {
  for (int64_t x : d)
    if (x < 0) return true;
  return false;
}

}  // namespace

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
    // TNRT_DOUBLE_INSPECT_MS: the report takes at least that long, as a large engine's does.
    if (const char* ms = std::getenv("TNRT_DOUBLE_INSPECT_MS")) std::this_thread::sleep_for(std::chrono::milliseconds(std::atoi(ms)));
    // TNRT_DOUBLE_INSPECTOR_TEXT: the report is this text instead, for readers of bad reports.
    if (const char* text = std::getenv("TNRT_DOUBLE_INSPECTOR_TEXT")) {
      information_ = text;
      return information_.c_str();
    }
    const tnrt::sim::SimEngine* sim = engine_.simEngine();
    const int32_t profiles = engine_.getNbOptimizationProfiles();
    // TensorRT repeats every layer and binding for each profile after the first, each name
    // suffixed " [profile N]".
    auto suffix = [](int32_t p) { return p == 0 ? std::string() : " [profile " + std::to_string(p) + "]"; };
    std::string bindings = "[";
    for (int32_t p = 0; p < profiles; ++p) {
      for (size_t i = 0; i < engine_.io().size(); ++i) {
        bindings += (bindings.size() > 1 ? "," : "") + tnrt::sim::jsonString(engine_.io()[i].name + suffix(p));
      }
    }
    bindings += "]";
    std::string layers;
    switch (engine_.getProfilingVerbosity()) {
      case nvinfer1::ProfilingVerbosity::kDETAILED: {
        // Shapes that depend on the inputs' are -1 and formats read "N/A due to dynamic
        // shapes", unless a context with every input shape set is attached: then its profile's
        // copy shows that context's shapes and the formats. The sim's own "Precision" key is left out: TensorRT writes
        // none (a reader derives the precision from the tensors' formats).
        bool dynamic = false;
        for (const auto& t : engine_.io())
          if (t.isInput && (isDynamicShape(t.shape) || t.isShapeTensor)) dynamic = true;
        std::unique_ptr<tnrt::sim::ShapeInference> concrete;
        int32_t concreteProfile = -1;
        if (dynamic && context_) {
          const auto* context = static_cast<const DoubleContext*>(context_);
          std::vector<tnrt::Dims> shapes;
          std::vector<std::vector<int64_t>> values;
          std::string why;
          if (context->inputShapes(&shapes, &values) && (concrete = engine_.inferShapes(shapes, values, &why))) {
            concreteProfile = context->getOptimizationProfile();
          }
        }
        for (int32_t p = 0; p < profiles; ++p) {
          tnrt::sim::LayerJsonOptions options;
          options.precision = false;
          options.location = "Device";
          options.suffix = suffix(p);
          options.formats = !dynamic || p == concreteProfile;
          options.unknownFormat = "N/A due to dynamic shapes";
          if (p == concreteProfile) options.shapes = concrete.get();
          layers += (layers.empty() ? "" : ",") + tnrt::sim::layersJson(*sim, options);
        }
        break;
      }
      case nvinfer1::ProfilingVerbosity::kLAYER_NAMES_ONLY:
        for (int32_t p = 0; p < profiles; ++p) {
          for (const auto& step : sim->steps()) {
            layers += (layers.empty() ? "" : ",") + tnrt::sim::jsonString(tnrt::sim::layerName(*step.node) + suffix(p));
          }
        }
        break;
      default:  // kNONE: the plan kept nothing about its layers
        break;
    }
    information_ = "{\"Layers\":[" + layers + "],\"Bindings\":" + bindings + "}";
    return information_.c_str();
  } catch (const std::exception& e) {
    engine_.logger().error(std::string("IEngineInspector::getEngineInformation: ") + e.what());
    return nullptr;
  }
}

}  // namespace tnrt_double
