// The double's IEngineInspector: the sim's engine information, cut to what the plan's
// ProfilingVerbosity keeps, in TensorRT's JSON form.
#pragma once

#include <string>

#include "double_runtime.h"

namespace tnrt_double {

class DoubleInspector final : public nvinfer1::IEngineInspector, public nvinfer1::apiv::StubVEngineInspector {
 public:
  explicit DoubleInspector(const DoubleEngine& engine);
  ~DoubleInspector() noexcept override;

  nvinfer1::IEngineInspector* getPImpl() noexcept override { return this; }
  // TensorRT accepts only a context of the inspected engine (or null, to detach).
  bool setExecutionContext(nvinfer1::IExecutionContext const* context) noexcept override;
  nvinfer1::IExecutionContext const* getExecutionContext() const noexcept override { return context_; }
  // kJSON only (kONELINE is not modeled: it logs an error and returns null). The string lives
  // until the next call or the inspector's destruction, as TensorRT's does.
  char const* getEngineInformation(nvinfer1::LayerInformationFormat format) const noexcept override;

 private:
  Alive alive_{"IEngineInspector", Alive::kOnDevice};
  const DoubleEngine& engine_;
  nvinfer1::IExecutionContext const* context_ = nullptr;
  mutable std::string information_;
};

}  // namespace tnrt_double
