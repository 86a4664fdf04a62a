/**
 * tensorrt-node: NVIDIA TensorRT for Node.js. Build engines from ONNX, serialize them, load
 * them back and run inference without blocking the event loop, on TensorRT where it is
 * installed and on the built-in CPU simulator everywhere else.
 */
export { backends, type BackendInfo, type BackendName, type BackendOption } from './backend.js';
export { buildEngine, buildEngineWithCache, type BuildEngineOptions, type BuildEngineResult, type ProfileEntry } from './build-engine.js';
export type { CacheOutcome, EngineCacheOptions } from './cache/engine-cache.js';
export { type BenchmarkOptions, type BenchmarkResult, type BenchmarkTiming, type LatencySummary } from './benchmark.js';
export { Builder, type BuilderOptions, type BuildCallOptions, type NetworkOptions } from './builder.js';
export {
  CALIBRATION_ALGORITHMS,
  type CalibrationAlgorithm,
  type CalibrationCache,
  float32ToHex,
  formatCalibrationCache,
  hexToFloat32,
  parseCalibrationCache,
} from './calibration/calibration-cache.js';
export {
  AUTO_PERCENTILES,
  type AutoThreshold,
  CALIBRATION_METHODS,
  CalibrationHistogram,
  type CalibrationMethod,
  type ChosenThreshold,
  type EntropyThreshold,
  type ThresholdCandidate,
  scaleFromThreshold,
  type ThresholdOptions,
} from './calibration/histogram.js';
export { BUILDER_FLAGS, type BuilderFlag, BuilderConfig, HARDWARE_COMPATIBILITY_LEVELS, type HardwareCompatibilityLevel, type MemoryPoolType, PROFILING_VERBOSITIES, type ProfilingVerbosity, type ProgressEvent } from './builder-config.js';
export {
  type CalibrationBatches,
  type CalibratorAlgorithm,
  type CalibratorOptions,
  EntropyCalibrator2,
  Int8Calibrator,
  MinMaxCalibrator,
} from './calibration/calibrators.js';
export {
  type DataType,
  type DataTypeStorage,
  bfloat16ToFloat32,
  float16ToFloat32,
  float32ToBfloat16,
  float32ToFloat16,
  fromFloat16Bits,
  toFloat16Bits,
} from './dtype.js';
export { Engine, type IOTensorInfo } from './engine.js';
export type { EngineInspection, InspectedIOTensor, InspectedProfileInput, LayerDetail, LayerInformation, LayerTensor, LayerWeights } from './engine-inspection.js';
export { inspectModel, type InspectModelOptions, type ModelInspection, type ModelIOTensor } from './model-inspection.js';
export {
  BackendUnavailableError,
  CancelledError,
  DataTypeError,
  DisposedError,
  EngineInvalidError,
  InvalidArgumentError,
  OnnxParseError,
  OutOfRangeError,
  type ParserErrorDetail,
  ShapeError,
  TensorRTError,
  type TensorRTErrorCode,
  UnsupportedError,
} from './errors.js';
export { ExecutionContext, type Feeds } from './execution-context.js';
export { InferenceSession, type ModelSessionOptions, type SessionOptions } from './inference-session.js';
export { Logger, type LoggerOptions, type Severity } from './logger.js';
export { NetworkDefinition, type TensorInfo } from './network-definition.js';
export { OnnxParser } from './onnx-parser.js';
export { DEFAULT_TARGET_OPSET, defaultOpset, MAX_TARGET_OPSET, type OpsetUpgrade, upgradeOpset } from './onnx/opset/upgrade-opset.js';
export { type LoadedModel, parseModel, readModel, type ReadModelOptions, writeModel, type WriteModelOptions } from './onnx/model-io.js';
export {
  accuracyProblems,
  type AccuracyReport,
  classScoreOutputs,
  compareAccuracy,
  type CompareOptions,
  formatAccuracyReport,
  type OutputAccuracy,
} from './precision/accuracy.js';
export { convertToFloat16 } from './precision/convert-float16.js';
export type { Float16Options, Float16Report } from './precision/float16.js';
export type { OutOfRangeActivation } from './precision/float16-ranges.js';
export { type CalibrationData, type CalibrationFeeds, type Int8Options, type Int8Report, type NodeSelection, quantizeInt8, quantizeInt8WithReport } from './precision/int8.js';
export { convertToFloat16WithReport, type Float16TargetOptions, type Float16TargetReport } from './precision/fp16-targets.js';
export type { FloatNode, TargetAccuracy } from './precision/sensitivity-search.js';
export type { NodeFlops } from './precision/compute-flops.js';
export type { OutputCosine } from './precision/validation-runs.js';
export { QUANTIZABLE_OPS } from './precision/qdq-plan.js';
export { OptimizationProfile, type ShapeRange, type ValueRange } from './optimization-profile.js';
export { Runtime, type RuntimeOptions } from './runtime.js';
export type { DeviceAndPluginOptions } from './create-options.js';
export { formatShapeSpec, parseShapeSpec, type ShapeMap } from './shapes.js';
export { type AnyTensor, Tensor, type TensorArray } from './tensor.js';
export type { NumericDataType } from './tensor-values.js';
export { DEFAULT_MAX_TENSOR_BYTES } from './tensor-limits.js';
