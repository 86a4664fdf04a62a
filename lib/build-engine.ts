/**
 * buildEngine: ONNX in, serialized engine out, in one call. The loader half of the API
 * (stateless; compare InferenceSession, which owns state): parse, configure, build.
 */
import { type BackendOption, resolveBackend } from './backend.js';
import { Builder } from './builder.js';
import { BUILD_DEFAULTS, HARDWARE_COMPATIBILITY_LEVELS, type HardwareCompatibilityLevel, type MemoryPoolType, type ProfilingVerbosity, type ProgressEvent } from './builder-config.js';
import { buildWithEngineCache, type CacheOutcome, type EngineCacheOptions } from './cache/engine-cache.js';
import type { DeviceAndPluginOptions } from './create-options.js';
import { InvalidArgumentError } from './errors.js';
import { getDefaultLogger, type Logger } from './logger.js';
import { type ModelSource, readModelSource } from './model-source.js';
import type { ShapeRange, ValueRange } from './optimization-profile.js';
import { parseShapeSpec, type ShapeMap } from './shapes.js';
import { convertModelToFloat16 } from './precision/float16.js';
import { type Int8Options, type Int8Report, quantizeInt8WithReport } from './precision/int8.js';
import { convertToFloat16WithReport, type Float16TargetOptions, type Float16TargetReport } from './precision/fp16-targets.js';
import { expectAbortSignal, expectObject, expectOneOf, invalid } from './validate.js';

export type Precision = 'fp32' | 'fp16' | 'int8';
export const PRECISIONS: readonly Precision[] = ['fp32', 'fp16', 'int8'];

export interface BuildEngineOptions extends DeviceAndPluginOptions {
  /**
   * 'fp32' (default) builds the model as it is. 'fp16' rewrites it to float16 first
   * (convertToFloat16); 'int8' calibrates and inserts Q/DQ (quantizeInt8). Both are the
   * explicit path (the precision lives in the model, not in builder flags), chosen on every
   * backend and TensorRT version: TensorRT 11 has no other, and TensorRT 10 runs it the same
   * way, so one engine recipe serves both.
   */
  precision?: Precision;
  /**
   * For precision 'int8': how to calibrate, as quantizeInt8 takes it (calibrationData and/or
   * calibrationCache, method, include/exclude, floatOpsIn). The model is quantized with explicit
   * QuantizeLinear/DequantizeLinear pairs, which TensorRT 10 and 11 and the sim all run.
   */
  calibration?: Omit<Int8Options, 'backend' | 'shapes' | 'outputPath' | 'baseDir' | 'device' | 'plugins'>;
  /**
   * For precision 'fp16': convertToFloat16's options, such as a `blockList`, calibrationData or
   * validationData to check activation ranges on (the check runs on this build's backend and
   * shapes, and reports through its logger), and an accuracy target (`minCosine` with
   * `validationData`) that keeps the most sensitive nodes in float32 as
   * convertToFloat16WithReport does; the result then carries its report.
   */
  float16?: Omit<Float16TargetOptions, 'minCosine' | 'validationData' | 'backend' | 'device' | 'plugins' | 'shapes' | 'logger' | 'outputPath' | 'externalDataPath' | 'baseDir'> &
    Partial<Pick<Float16TargetOptions, 'minCosine' | 'validationData'>>;
  /** 'auto' (default, or TENSORRT_NODE_BACKEND): TensorRT when it loads, else the sim. */
  backend?: BackendOption;
  /** The build's messages, and INT8 calibration's unless `calibration.logger` is given. */
  logger?: Logger;
  /** Fixes dynamic dimensions: one profile with min = opt = max. "x:1x3x224x224,..." or a map. */
  shapes?: ShapeMap | string;
  /**
   * Optimization profiles: each maps input names to { min, opt, max } dimensions, or, for a
   * shape-tensor input (TensorInfo.isShapeTensor), to { values: { min, opt, max } }: the range
   * of its values, one per element.
   */
  profiles?: Record<string, ProfileEntry>[];
  /** Memory pool limits in bytes, e.g. { workspace: 1 << 30 }. */
  memoryPoolLimits?: Partial<Record<MemoryPoolType, number>>;
  /**
   * The largest tensor the engine may hold, in bytes (default TENSORRT_NODE_MAX_TENSOR_BYTES,
   * else 4 GiB); see BuilderConfig.setMaxTensorBytes.
   */
  maxTensorBytes?: number;
  /** A timing cache from an earlier build, to speed this one up. */
  timingCache?: Uint8Array;
  /** TensorRT's builder optimization level, 0-5. */
  optimizationLevel?: number;
  /**
   * TF32 tensor-core math for float32 layers (TensorRT's kTF32 builder flag). Default: TensorRT's
   * (on), so float32 results differ from a float32 reference by about 1e-3 relative; false for
   * float32-exact results. The sim computes float32 exactly either way.
   */
  tf32?: boolean;
  /**
   * Builds a version-compatible plan (kVERSION_COMPATIBLE), which later TensorRT versions of the
   * same major load through the lean runtime it carries. Loading it needs
   * `engineHostCodeAllowed` on the Runtime or InferenceSession. Default false.
   */
  versionCompatible?: boolean;
  /** With versionCompatible: leave the lean runtime out of the plan (kEXCLUDE_LEAN_RUNTIME). */
  excludeLeanRuntime?: boolean;
  /** Which other GPUs the plan must run on; see BuilderConfig.setHardwareCompatibilityLevel. */
  hardwareCompatibility?: HardwareCompatibilityLevel;
  /** What the plan records about its layers for Engine.inspect(); see BuilderConfig.profilingVerbosity. */
  profilingVerbosity?: ProfilingVerbosity;
  /** Progress of the build; a build the engine cache answers makes no events. */
  onProgress?: (event: ProgressEvent) => void;
  signal?: AbortSignal;
  /**
   * Reuse plans across runs and processes: the plan is stored in `cache.dir` under a key
   * covering the model (external data included), every option that shapes the plan, the
   * backend and its version, the GPU and this package's version, and later builds with the
   * same key load it instead of building. See EngineCacheOptions.
   */
  cache?: EngineCacheOptions;
}

/** One input's entry in buildEngine's `profiles`: dimensions, values (shape tensors), or both. */
export type ProfileEntry = ShapeRange | { values: ValueRange } | (ShapeRange & { values: ValueRange });

export interface BuildEngineResult {
  /** The serialized engine. */
  engine: Uint8Array;
  /** The timing cache after the build (empty if the backend has none). */
  timingCache: Uint8Array;
  backend: 'sim' | 'tensorrt';
  /** With the `cache` option: whether the plan came from the cache, and its entry. */
  cache?: CacheOutcome;
  /**
   * For precision 'int8': what quantizeInt8WithReport reported (float nodes, accuracy, INT8
   * FLOP share). Absent when the plan came from the engine cache.
   */
  int8Report?: Int8Report;
  /** For precision 'fp16' with an accuracy target: what convertToFloat16WithReport reported (absent on a cache hit). */
  float16Report?: Float16TargetReport;
}

/**
 * Builds an engine from an ONNX file path or ONNX bytes and resolves to its serialized bytes.
 * Runs on worker threads; the event loop keeps turning.
 *
 * With the `cache` option the plan is looked up first and stored after a build; see
 * EngineCacheOptions. Problems of the cache directory or its entries are logged warnings
 * followed by a build, never errors.
 *
 * @throws OnnxParseError for a model the parser rejects; ShapeError for dynamic inputs with
 *   neither `shapes` nor `profiles`, ranges that disagree with the model, or a tensor larger
 *   than maxTensorBytes (or a layer's scratch larger than the workspace pool limit);
 *   BackendUnavailableError when backend 'tensorrt' cannot load; CancelledError on abort;
 *   InvalidArgumentError for bad `cache` options, or build options the cache key cannot cover
 *   (calibration data from a one-pass iterable without cache.calibrationDataKey)
 */
export async function buildEngineWithCache(model: string | Uint8Array | ArrayBufferLike, options: BuildEngineOptions = {}): Promise<BuildEngineResult> {
  expectObject(options, 'buildEngine options');
  if (options.cache !== undefined) {
    const { cache: _cache, ...uncached } = options;
    return buildWithEngineCache(model, options, (backend, source) => buildFromSource(source, { ...uncached, backend }), async (built) => built);
  }
  return buildFromSource(await readModelSource(model), options);
}

/** buildEngineWithCache without the cache, for a model already read (the cache reads it to key it). */
export async function buildFromSource(source: ModelSource, options: Omit<BuildEngineOptions, 'cache'>): Promise<BuildEngineResult> {
  if (options.shapes !== undefined && options.profiles !== undefined) {
    throw new InvalidArgumentError("give either 'shapes' (fixed) or 'profiles' (ranges), not both");
  }
  const signal = expectAbortSignal(options.signal, 'signal');
  const modelDir = source.modelDir;
  let bytes = source.bytes;
  const precision = options.precision === undefined ? BUILD_DEFAULTS.precision : expectOneOf(options.precision, PRECISIONS, 'precision');
  // Chosen once: INT8 calibration builds and runs a float engine before the real build, and
  // both must use the same backend (with one fallback warning, through the build's logger).
  let backend = options.backend;
  const reports: Pick<BuildEngineResult, 'int8Report' | 'float16Report'> = {};
  if (precision === 'fp16') {
    const float16 = expectObject(options.float16 ?? {}, 'float16') as NonNullable<BuildEngineOptions['float16']>;
    const checked = float16.calibrationData !== undefined || float16.validationData !== undefined;
    if (checked) backend = resolveBackend(backend, options.logger ?? getDefaultLogger()).name;
    const f16 = {
      ...float16,
      baseDir: modelDir,
      ...(checked && { backend }),
      ...(options.logger && { logger: options.logger }),
      ...(options.shapes !== undefined && { shapes: options.shapes }),
    };
    if (float16.minCosine !== undefined) {
      const where = { ...(options.device !== undefined && { device: options.device }), ...(options.plugins !== undefined && { plugins: options.plugins }) };
      const converted = await convertToFloat16WithReport(bytes, { ...f16, minCosine: float16.minCosine, validationData: float16.validationData!, ...where });
      bytes = converted.model;
      reports.float16Report = converted.report;
    } else {
      bytes = await convertModelToFloat16(bytes, f16);
    }
  } else if (options.float16 !== undefined) {
    throw new InvalidArgumentError(`the float16 option applies to precision 'fp16' only (precision is '${precision}')`);
  }
  if (precision === 'int8') {
    const calibration = expectObject(options.calibration ?? {}, 'calibration') as BuildEngineOptions['calibration'];
    if (!calibration?.calibrationData && !calibration?.calibrationCache?.read) {
      throw new InvalidArgumentError("precision 'int8' needs calibration.calibrationData (batches of inputs) or calibration.calibrationCache.read (a TensorRT calibration cache)");
    }
    backend = resolveBackend(backend, options.logger ?? getDefaultLogger()).name;
    const quantized = await quantizeInt8WithReport(bytes, {
      ...(options.logger && { logger: options.logger }),
      ...calibration,
      baseDir: modelDir,
      backend,
      ...(options.shapes !== undefined && { shapes: options.shapes }),
      ...(options.device !== undefined && { device: options.device }),
      ...(options.plugins !== undefined && { plugins: options.plugins }),
    });
    bytes = quantized.model;
    reports.int8Report = quantized.report;
  } else if (options.calibration !== undefined) {
    throw new InvalidArgumentError(`the calibration option applies to precision 'int8' only (precision is '${precision}')`);
  }

  for (const flag of ['tf32', 'versionCompatible', 'excludeLeanRuntime'] as const) {
    if (options[flag] !== undefined && typeof options[flag] !== 'boolean') invalid('a boolean', `buildEngine option ${flag}`, options[flag]);
  }
  if (options.hardwareCompatibility !== undefined) expectOneOf(options.hardwareCompatibility, HARDWARE_COMPATIBILITY_LEVELS, 'buildEngine option hardwareCompatibility');

  const builder = new Builder({
    ...(backend !== undefined && { backend }),
    ...(options.logger && { logger: options.logger }),
    ...(options.device !== undefined && { device: options.device }),
    ...(options.plugins !== undefined && { plugins: options.plugins }),
  });
  try {
    // A rewritten float16 or INT8 model states its precision in its tensor types: TensorRT 10
    // honours them only in a strongly typed network (11 always is one).
    const network = builder.createNetworkV2({ stronglyTyped: precision !== 'fp32' });
    await builder.createOnnxParser(network).parse(bytes, modelDir);
    const config = builder.createBuilderConfig();
    for (const [pool, limit] of Object.entries(options.memoryPoolLimits ?? {})) config.setMemoryPoolLimit(pool as MemoryPoolType, limit as number);
    if (options.maxTensorBytes !== undefined) config.setMaxTensorBytes(options.maxTensorBytes);
    if (options.timingCache) config.setTimingCache(options.timingCache);
    if (options.optimizationLevel !== undefined) config.setBuilderOptimizationLevel(options.optimizationLevel);
    if (options.onProgress) config.onProgress = options.onProgress;
    if (options.tf32 !== undefined) options.tf32 ? config.setFlag('tf32') : config.clearFlag('tf32');
    if (options.versionCompatible) config.setFlag('versionCompatible');
    if (options.excludeLeanRuntime) config.setFlag('excludeLeanRuntime');
    if (options.hardwareCompatibility !== undefined) config.setHardwareCompatibilityLevel(options.hardwareCompatibility);
    if (options.profilingVerbosity !== undefined) config.profilingVerbosity = options.profilingVerbosity;

    const ranges: Record<string, ProfileEntry>[] = [];
    if (options.shapes !== undefined) {
      const shapes = typeof options.shapes === 'string' ? parseShapeSpec(options.shapes) : expectObject(options.shapes, 'shapes') as ShapeMap;
      const fixed: Record<string, ShapeRange> = {};
      for (const [name, dims] of Object.entries(shapes)) fixed[name] = { min: dims, opt: dims, max: dims };
      ranges.push(fixed);
    } else if (options.profiles !== undefined) {
      if (!Array.isArray(options.profiles)) invalid('an array of profiles', 'profiles', options.profiles);
      ranges.push(...options.profiles);
    }
    for (const entry of ranges) {
      const profile = builder.createOptimizationProfile();
      for (const [name, range] of Object.entries(expectObject(entry, 'profile'))) {
        const given = expectObject(range, `profile entry '${name}'`) as Partial<ShapeRange> & { values?: ValueRange };
        if (given.values !== undefined) profile.setShapeValues(name, given.values);
        if (given.values === undefined || given.min !== undefined || given.opt !== undefined || given.max !== undefined) {
          profile.setDimensions(name, given as ShapeRange);
        }
      }
      // Inputs the spec leaves out that are static need no range; a missing dynamic one is
      // reported by the builder with the input's name.
      if (profile.inputs.length > 0) config.addOptimizationProfile(profile);
    }
    const engine = await builder.buildSerializedNetwork(network, config, signal ? { signal } : {});
    return { engine, timingCache: config.timingCache ?? new Uint8Array(0), backend: builder.backend, ...reports };
  } finally {
    builder.dispose();
  }
}

/** Like buildEngineWithCache, resolving to the serialized engine only. */
export async function buildEngine(model: string | Uint8Array | ArrayBufferLike, options: BuildEngineOptions = {}): Promise<Uint8Array> {
  return (await buildEngineWithCache(model, options)).engine;
}
