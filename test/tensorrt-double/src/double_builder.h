// The double's build side: IBuilder, IBuilderConfig, IOptimizationProfile, INetworkDefinition,
// ITensor, ITimingCache, and the ONNX parser (nvonnxparser::IParser) over the sim.
#pragma once

#include <NvOnnxParser.h>

#include <map>
#include <memory>

#include "double_common.h"
#include "double_runtime.h"

namespace tnrt_double {

class DoubleBuilder;

class DoubleTensor final : public nvinfer1::ITensor, public nvinfer1::apiv::StubVTensor {
 public:
  DoubleTensor(const tnrt::TensorDesc& desc, nvinfer1::DataType type) : desc_(desc), type_(type) { mImpl = this; }
  char const* getName() const noexcept override { return desc_.name.c_str(); }
  nvinfer1::Dims getDimensions() const noexcept override { return toTrtDims(desc_.shape); }
  nvinfer1::DataType getType() const noexcept override { return type_; }
  bool isNetworkInput() const noexcept override { return desc_.isInput; }
  bool isNetworkOutput() const noexcept override { return !desc_.isInput; }
  // The sim decides which inputs are shape tensors; other tensors never are here.
  bool isShapeTensor() const noexcept override { return desc_.isShapeTensor; }

 private:
  tnrt::TensorDesc desc_;
  nvinfer1::DataType type_;
};

class DoubleNetwork final : public nvinfer1::INetworkDefinition, public nvinfer1::apiv::StubVNetworkDefinition {
 public:
  DoubleNetwork(DoubleBuilder& builder, nvinfer1::NetworkDefinitionCreationFlags flags);
  ~DoubleNetwork() noexcept override;

  int32_t getNbLayers() const noexcept override;
  int32_t getNbInputs() const noexcept override;
  nvinfer1::ITensor* getInput(int32_t index) const noexcept override;
  int32_t getNbOutputs() const noexcept override;
  nvinfer1::ITensor* getOutput(int32_t index) const noexcept override;
  char const* getName() const noexcept override { return ""; }
  nvinfer1::IBuilder& getBuilder() const noexcept override;
  nvinfer1::NetworkDefinitionCreationFlags getFlags() const noexcept override { return flags_; }
  bool getFlag(nvinfer1::NetworkDefinitionCreationFlag flag) const noexcept override;

  DoubleBuilder& builder() const { return builder_; }
  bool stronglyTyped() const;
  // Called by the parser once the sim has read the model; `plugins`: the plugin creators its
  // layers use.
  bool setParsed(std::unique_ptr<tnrt::Network> sim, std::vector<std::string> plugins, const Logger& logger);
  const std::vector<std::string>& plugins() const { return plugins_; }
  const tnrt::Network* sim() const { return sim_.get(); }
  Children& parsers() { return parsers_; }
  void check(const char* member) const { alive_.check(member); }

 private:
  Alive alive_{"INetworkDefinition", Alive::kOnDevice};
  DoubleBuilder& builder_;
  nvinfer1::NetworkDefinitionCreationFlags flags_;
  std::unique_ptr<tnrt::Network> sim_;
  std::vector<std::unique_ptr<DoubleTensor>> inputs_, outputs_;
  std::vector<std::string> plugins_;
  int32_t layers_ = 0;
  Children parsers_;
};

class DoubleProfile final : public nvinfer1::IOptimizationProfile, public nvinfer1::apiv::StubVOptimizationProfile {
 public:
  DoubleProfile() { mImpl = this; }
  bool setDimensions(char const* inputName, nvinfer1::OptProfileSelector select, nvinfer1::Dims const& dims) noexcept override;
  nvinfer1::Dims getDimensions(char const* inputName, nvinfer1::OptProfileSelector select) const noexcept override;
  bool isValid() const noexcept override;
  // Shape-tensor values: setShapeValues (int32_t) in 10.x, setShapeValuesV2 (int64_t) from 10.11.
  // As in TensorRT, the last of the two to be called for an input decides which getter answers.
#if NV_TENSORRT_MAJOR < 11
  bool setShapeValues(char const* inputName, nvinfer1::OptProfileSelector select, int32_t const* values,
                      int32_t nbValues) noexcept override;
  int32_t const* getShapeValues(char const* inputName, nvinfer1::OptProfileSelector select) const noexcept override;
#endif
#if TNRT_DOUBLE_HAS_SHAPE_VALUES_V2
  bool setShapeValuesV2(char const* inputName, nvinfer1::OptProfileSelector select, int64_t const* values,
                        int32_t nbValues) noexcept override;
  int64_t const* getShapeValuesV2(char const* inputName, nvinfer1::OptProfileSelector select) const noexcept override;
#endif
  int32_t getNbShapeValues(char const* inputName) const noexcept override;

  // Every input's min/opt/max (and values); empty string and false when a range is incomplete
  // or unordered.
  bool ranges(std::vector<tnrt::InputProfile>* out, std::string* why) const;

 private:
  struct Range {
    bool set[3] = {false, false, false};
    tnrt::Dims dims[3];
    bool valuesSet[3] = {false, false, false};
    std::vector<int64_t> values[3];
    std::vector<int32_t> values32[3];  // what getShapeValues hands out when set through it
    bool wide = false;                 // set last through setShapeValuesV2
  };
  bool storeValues(const char* inputName, nvinfer1::OptProfileSelector select, std::vector<int64_t> values,
                   bool wide);
  std::map<std::string, Range> ranges_;
};

class DoubleTimingCache final : public nvinfer1::ITimingCache, public nvinfer1::apiv::StubVTimingCache {
 public:
  explicit DoubleTimingCache(std::vector<uint8_t> bytes) : bytes_(std::move(bytes)) { mImpl = this; }
  nvinfer1::IHostMemory* serialize() const noexcept override;
  bool combine(nvinfer1::ITimingCache const& inputCache, bool ignoreMismatch) noexcept override;
  bool reset() noexcept override;
  void replace(std::vector<uint8_t> bytes) { bytes_ = std::move(bytes); }
  const std::vector<uint8_t>& bytes() const { return bytes_; }

 private:
  Alive alive_{"ITimingCache"};
  std::vector<uint8_t> bytes_;
};

class DoubleConfig final : public nvinfer1::IBuilderConfig, public nvinfer1::apiv::StubVBuilderConfig {
 public:
  explicit DoubleConfig(DoubleBuilder& builder);
  ~DoubleConfig() noexcept override;

#if NV_TENSORRT_MAJOR < 11
  void setInt8Calibrator(nvinfer1::IInt8Calibrator* calibrator) noexcept override { calibrator_ = calibrator; }
  nvinfer1::IInt8Calibrator* getInt8Calibrator() const noexcept override { return calibrator_; }
#endif
  nvinfer1::BuilderFlags getFlags() const noexcept override { return flags_; }
  void setFlag(nvinfer1::BuilderFlag flag) noexcept override {
    alive_.check("setFlag");
    flags_ |= 1U << static_cast<uint32_t>(flag);
  }
  void clearFlag(nvinfer1::BuilderFlag flag) noexcept override {
    alive_.check("clearFlag");
    flags_ &= ~(1U << static_cast<uint32_t>(flag));
  }
  bool getFlag(nvinfer1::BuilderFlag flag) const noexcept override {
    alive_.check("getFlag");
    return (flags_ & (1U << static_cast<uint32_t>(flag))) != 0;
  }
  void setHardwareCompatibilityLevel(nvinfer1::HardwareCompatibilityLevel level) noexcept override {
    alive_.check("setHardwareCompatibilityLevel");
    hardwareLevel_ = level;
  }
  nvinfer1::HardwareCompatibilityLevel getHardwareCompatibilityLevel() const noexcept override { return hardwareLevel_; }
  int32_t addOptimizationProfile(nvinfer1::IOptimizationProfile const* profile) noexcept override;
  int32_t getNbOptimizationProfiles() const noexcept override { return static_cast<int32_t>(profiles_.size()); }
  nvinfer1::ITimingCache* createTimingCache(void const* blob, std::size_t size) const noexcept override;
  bool setTimingCache(nvinfer1::ITimingCache const& cache, bool ignoreMismatch) noexcept override;
  nvinfer1::ITimingCache const* getTimingCache() const noexcept override { return timingCache_; }
  void setMemoryPoolLimit(nvinfer1::MemoryPoolType pool, std::size_t poolSize) noexcept override;
  std::size_t getMemoryPoolLimit(nvinfer1::MemoryPoolType pool) const noexcept override;
  void setBuilderOptimizationLevel(int32_t level) noexcept override;
  void setProgressMonitor(nvinfer1::IProgressMonitor* monitor) noexcept override { monitor_ = monitor; }
  void setProfilingVerbosity(nvinfer1::ProfilingVerbosity verbosity) noexcept override {
    alive_.check("setProfilingVerbosity");
    profilingVerbosity_ = verbosity;
  }
  nvinfer1::ProfilingVerbosity getProfilingVerbosity() const noexcept override { return profilingVerbosity_; }
  nvinfer1::IProgressMonitor* getProgressMonitor() const noexcept override { return monitor_; }

  // For the build.
  const std::vector<const DoubleProfile*>& profiles() const { return profiles_; }
  DoubleTimingCache* timingCache() const { return timingCache_; }
  int32_t optimizationLevel() const { return optimizationLevel_; }
#if NV_TENSORRT_MAJOR < 11
  nvinfer1::IInt8Calibrator* calibrator() const { return calibrator_; }
#endif
  const std::map<std::string, uint64_t>& pools() const { return pools_; }
  DoubleBuilder& builder() const { return builder_; }
  void check(const char* member) const { alive_.check(member); }

 private:
  Alive alive_{"IBuilderConfig", Alive::kOnDevice};
  DoubleBuilder& builder_;
  // As TensorRT's: a new config has kTF32 set.
  nvinfer1::BuilderFlags flags_ = 1U << static_cast<uint32_t>(nvinfer1::BuilderFlag::kTF32);
  nvinfer1::HardwareCompatibilityLevel hardwareLevel_ = nvinfer1::HardwareCompatibilityLevel::kNONE;
  std::vector<const DoubleProfile*> profiles_;
  DoubleTimingCache* timingCache_ = nullptr;
  std::map<std::string, uint64_t> pools_;
  int32_t optimizationLevel_ = -1;
  nvinfer1::IProgressMonitor* monitor_ = nullptr;
  // TensorRT's default: the plan keeps only the layers' names.
  nvinfer1::ProfilingVerbosity profilingVerbosity_ = nvinfer1::ProfilingVerbosity::kLAYER_NAMES_ONLY;
#if NV_TENSORRT_MAJOR < 11
  nvinfer1::IInt8Calibrator* calibrator_ = nullptr;
#endif
};

class DoubleBuilder final : public nvinfer1::IBuilder, public nvinfer1::apiv::StubVBuilder {
 public:
  explicit DoubleBuilder(nvinfer1::ILogger* logger);
  ~DoubleBuilder() noexcept override;

  nvinfer1::IBuilderConfig* createBuilderConfig() noexcept override;
  nvinfer1::INetworkDefinition* createNetworkV2(nvinfer1::NetworkDefinitionCreationFlags flags) noexcept override;
  nvinfer1::IOptimizationProfile* createOptimizationProfile() noexcept override;
  nvinfer1::IHostMemory* buildSerializedNetwork(nvinfer1::INetworkDefinition& network,
                                                nvinfer1::IBuilderConfig& config) noexcept override;
  int32_t getNbDLACores() const noexcept override { return 0; }
  nvinfer1::ILogger* getLogger() const noexcept override { return logger_.get(); }
  bool setMaxThreads(int32_t) noexcept override { return true; }
  int32_t getMaxThreads() const noexcept override { return 1; }

  const Logger& logger() const { return logger_; }
  tnrt::Builder& sim() const { return *sim_; }
  Children& networks() { return networks_; }
  Children& configs() { return configs_; }
  OneThread& thread() { return thread_; }
  void check(const char* member) const { alive_.check(member); }

 private:
  nvinfer1::IHostMemory* build(DoubleNetwork& network, DoubleConfig& config);

  Alive alive_{"IBuilder", Alive::kOnDevice};
  Logger logger_;
  std::shared_ptr<SimLogSink> sink_;
  std::shared_ptr<tnrt::Builder> sim_;
  std::vector<std::unique_ptr<DoubleProfile>> profiles_;  // profiles live as long as the builder
  Children networks_, configs_;
  OneThread thread_;
};

class DoubleParserError final : public nvonnxparser::StubIParserError {
 public:
  explicit DoubleParserError(const tnrt::ParserError& e) : e_(e) {}
  nvonnxparser::ErrorCode code() const override { return nvonnxparser::ErrorCode::kINVALID_GRAPH; }
  char const* desc() const override { return e_.description.c_str(); }
  char const* file() const override { return ""; }
  int line() const override { return 0; }
  char const* func() const override { return ""; }
  int node() const override { return e_.nodeIndex; }
  char const* nodeName() const override { return e_.node.c_str(); }
  char const* nodeOperator() const override { return e_.op.c_str(); }
  char const* const* localFunctionStack() const override { return nullptr; }
  int32_t localFunctionStackSize() const override { return 0; }

 private:
  tnrt::ParserError e_;
};

class DoubleParser final : public nvonnxparser::StubIParser {
 public:
  DoubleParser(DoubleNetwork& network, nvinfer1::ILogger* logger);
  ~DoubleParser() noexcept override;

  bool parse(void const* serialized_onnx_model, size_t serialized_onnx_model_size,
             const char* model_path = nullptr) noexcept override;
  int getNbErrors() const noexcept override { return static_cast<int>(errors_.size()); }
  nvonnxparser::IParserError const* getError(int index) const noexcept override;
  void clearErrors() noexcept override { errors_.clear(); }
  nvonnxparser::OnnxParserFlags getFlags() const noexcept override { return flags_; }
  void setFlag(nvonnxparser::OnnxParserFlag flag) noexcept override { flags_ |= 1U << static_cast<uint32_t>(flag); }
  bool getFlag(nvonnxparser::OnnxParserFlag flag) const noexcept override {
    return (flags_ & (1U << static_cast<uint32_t>(flag))) != 0;
  }

 private:
  Alive alive_{"IParser", Alive::kOnDevice};
  DoubleNetwork& network_;
  Logger logger_;
  std::vector<std::unique_ptr<DoubleParserError>> errors_;
  nvonnxparser::OnnxParserFlags flags_ = 1U << static_cast<uint32_t>(nvonnxparser::OnnxParserFlag::kNATIVE_INSTANCENORM);
};

}  // namespace tnrt_double
