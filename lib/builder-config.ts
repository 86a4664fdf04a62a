/**
 * BuilderConfig: how to build (memory pools, optimization profiles, timing cache, progress),
 * as TensorRT's IBuilderConfig.
 */
import { InvalidArgumentError } from './errors.js';
import { Int8Calibrator } from './calibration/calibrators.js';
import type { NativeBuildOptions } from './native.js';
import type { OptimizationProfile } from './optimization-profile.js';
import { resolveMaxTensorBytes } from './tensor-limits.js';
import { expectBytes, expectFunction, expectInteger, expectOneOf, invalid } from './validate.js';

/**
 * Builder flags, as TensorRT's BuilderFlag: kFP16 and kINT8 (implicit precision, TensorRT 10
 * and the sim only), kTF32 (set by default, as on TensorRT), kVERSION_COMPATIBLE and
 * kEXCLUDE_LEAN_RUNTIME.
 */
export type BuilderFlag = 'fp16' | 'int8' | 'tf32' | 'versionCompatible' | 'excludeLeanRuntime';
export const BUILDER_FLAGS: readonly BuilderFlag[] = ['fp16', 'int8', 'tf32', 'versionCompatible', 'excludeLeanRuntime'];

/**
 * TensorRT's HardwareCompatibilityLevel: which GPUs besides the building one a plan must run on.
 * 'ampereplus': any Ampere or later GPU; 'sameComputeCapability' (TensorRT 10.9 and later): any
 * GPU of the building one's compute capability. Both cost some speed.
 */
export type HardwareCompatibilityLevel = 'none' | 'ampereplus' | 'sameComputeCapability';
export const HARDWARE_COMPATIBILITY_LEVELS: readonly HardwareCompatibilityLevel[] = ['none', 'ampereplus', 'sameComputeCapability'];

/**
 * TensorRT's ProfilingVerbosity: what a plan records about its layers for Engine.inspect().
 * 'detailed' (this library's default; TensorRT's own is 'layerNamesOnly') keeps each layer's
 * type, tensors and formats, and its parameters and constants, in a slightly larger plan.
 * TensorRT would also give a detailed plan's contexts detailed NVTX markers, which slow every
 * inference; tensorrt-node lowers them to layer names. Build plans you hand to others with
 * 'layerNamesOnly' or 'none' unless they may read the layers' parameters.
 */
export type ProfilingVerbosity = 'layerNamesOnly' | 'none' | 'detailed';
export const PROFILING_VERBOSITIES: readonly ProfilingVerbosity[] = ['layerNamesOnly', 'none', 'detailed'];

export type MemoryPoolType = 'workspace' | 'dlaManagedSram' | 'dlaLocalDram' | 'dlaGlobalDram' | 'tacticDram' | 'tacticSharedMemory';
export const MEMORY_POOL_TYPES: readonly MemoryPoolType[] = ['workspace', 'dlaManagedSram', 'dlaLocalDram', 'dlaGlobalDram', 'tacticDram', 'tacticSharedMemory'];

/** A build-progress event, from TensorRT's IProgressMonitor. */
export type ProgressEvent =
  | { kind: 'phaseStart'; phase: string; parent: string; steps: number }
  | { kind: 'step'; phase: string; step: number }
  | { kind: 'phaseFinish'; phase: string };

/**
 * What a build does with an option left out, as buildEngine's options spell them: the
 * config's own defaults, and TensorRT's where the config leaves the choice to it (kTF32 set,
 * optimization level 3). The engine cache drops options equal to these from its key.
 */
export const BUILD_DEFAULTS = {
  precision: 'fp32',
  tf32: true,
  optimizationLevel: 3,
  versionCompatible: false,
  excludeLeanRuntime: false,
  hardwareCompatibility: 'none',
  profilingVerbosity: 'detailed',
} as const satisfies Record<string, unknown>;

export class BuilderConfig {
  readonly #pools = new Map<MemoryPoolType, number>();
  readonly #profiles: OptimizationProfile[] = [];
  #timingCache: Uint8Array | undefined;
  #optimizationLevel: number | undefined;
  readonly #flags = new Set<BuilderFlag>();
  // undefined: TensorRT's default (kTF32 set), which the addon then leaves untouched.
  #tf32: boolean | undefined;
  #hardwareCompatibility: HardwareCompatibilityLevel = BUILD_DEFAULTS.hardwareCompatibility;
  #profilingVerbosity: ProfilingVerbosity = BUILD_DEFAULTS.profilingVerbosity;
  #calibrator: Int8Calibrator | undefined;
  #maxTensorBytes: number | undefined;
  /** Called on the event loop for each progress event of a build using this config. */
  onProgress: ((event: ProgressEvent) => void) | undefined;

  /**
   * Limits a memory pool, in bytes. On TensorRT it bounds what tactics may use. The sim honours
   * 'workspace' the same way: a layer whose scratch memory (beside its inputs and outputs; today
   * ConvTranspose's column buffer) exceeds it at a profile's max shapes fails the build with
   * ShapeError naming the layer, the bytes it needs and the limit. Other pools are accepted and
   * ignored by the sim.
   * @throws InvalidArgumentError for an unknown pool or a limit that is not an integer >= 0
   */
  setMemoryPoolLimit(pool: MemoryPoolType, bytes: number): this {
    expectOneOf(pool, MEMORY_POOL_TYPES, 'memory pool');
    this.#pools.set(pool, expectInteger(bytes, `${pool} pool limit`, 0, Number.MAX_SAFE_INTEGER));
    return this;
  }

  getMemoryPoolLimit(pool: MemoryPoolType): number | undefined {
    return this.#pools.get(pool);
  }

  /**
   * The largest tensor (constant, input, activation or output) the engine may hold, in bytes;
   * a build whose network needs a larger one at any shape of any profile fails with ShapeError
   * naming the tensor, its size and the limit. Default: TENSORRT_NODE_MAX_TENSOR_BYTES, else
   * 4 GiB. Enforced by the sim (a model is untrusted input); TensorRT checks its own sizes.
   * @throws InvalidArgumentError unless an integer from 1 to Number.MAX_SAFE_INTEGER
   */
  setMaxTensorBytes(bytes: number): this {
    this.#maxTensorBytes = resolveMaxTensorBytes(bytes, 'maxTensorBytes');
    return this;
  }

  /** The limit set with setMaxTensorBytes, or undefined for the default. */
  get maxTensorBytes(): number | undefined {
    return this.#maxTensorBytes;
  }

  /**
   * Adds an optimization profile; returns its index.
   * @throws InvalidArgumentError if the profile sets no input
   */
  addOptimizationProfile(profile: OptimizationProfile): number {
    if (profile.inputs.length === 0) throw new InvalidArgumentError('an optimization profile must set the dimensions of at least one input');
    this.#profiles.push(profile);
    return this.#profiles.length - 1;
  }

  get optimizationProfiles(): readonly OptimizationProfile[] {
    return this.#profiles;
  }

  /** Starts builds from a serialized timing cache (from a previous build's `timingCache`). */
  setTimingCache(cache: Uint8Array): this {
    this.#timingCache = expectBytes(cache, 'timing cache');
    return this;
  }

  get timingCache(): Uint8Array | undefined {
    return this.#timingCache;
  }

  /** TensorRT's builder optimization level, 0 (fastest build) to 5. */
  setBuilderOptimizationLevel(level: number): this {
    this.#optimizationLevel = expectInteger(level, 'builder optimization level', 0, 5);
    return this;
  }

  get builderOptimizationLevel(): number | undefined {
    return this.#optimizationLevel;
  }

  /**
   * Sets a builder flag. 'fp16' lets the builder run layers in float16, 'int8' in int8 with
   * scales from `int8Calibrator` (implicit precision: TensorRT 10 and the sim; on TensorRT 11
   * the build throws UnsupportedError, use convertToFloat16 / quantizeInt8 instead).
   * 'tf32' (set by default, as on TensorRT) lets float32 matrix multiplies and convolutions run
   * on TF32 tensor cores, which keep 10 mantissa bits: results move by about 1e-3 relative
   * from a float32 reference; clear it for float32-exact results (the sim is exact either way).
   * 'versionCompatible' builds a plan that later TensorRT versions of the same major load,
   * through a lean runtime the plan carries (host code: a runtime loads it only with
   * engineHostCodeAllowed); 'excludeLeanRuntime' leaves that runtime out (versionCompatible
   * builds only).
   * @throws InvalidArgumentError for an unknown flag
   */
  setFlag(flag: BuilderFlag): this {
    const f = expectOneOf(flag, BUILDER_FLAGS, 'builder flag');
    if (f === 'tf32') this.#tf32 = true;
    else this.#flags.add(f);
    return this;
  }

  /**
   * Clears a builder flag.
   * @throws InvalidArgumentError for an unknown flag
   */
  clearFlag(flag: BuilderFlag): this {
    const f = expectOneOf(flag, BUILDER_FLAGS, 'builder flag');
    if (f === 'tf32') this.#tf32 = false;
    else this.#flags.delete(f);
    return this;
  }

  /**
   * Whether a builder flag is set ('tf32' is, unless cleared).
   * @throws InvalidArgumentError for an unknown flag
   */
  getFlag(flag: BuilderFlag): boolean {
    const f = expectOneOf(flag, BUILDER_FLAGS, 'builder flag');
    return f === 'tf32' ? this.#tf32 !== false : this.#flags.has(f);
  }

  /**
   * TensorRT's hardware compatibility level (default 'none'). 'sameComputeCapability' needs
   * TensorRT 10.9 or later (UnsupportedError at build time before). The sim accepts every level.
   * @throws InvalidArgumentError for an unknown level
   */
  setHardwareCompatibilityLevel(level: HardwareCompatibilityLevel): this {
    this.#hardwareCompatibility = expectOneOf(level, HARDWARE_COMPATIBILITY_LEVELS, 'hardware compatibility level');
    return this;
  }

  get hardwareCompatibilityLevel(): HardwareCompatibilityLevel {
    return this.#hardwareCompatibility;
  }

  /** What the plan records about its layers (IBuilderConfig.profilingVerbosity); default 'detailed'. */
  get profilingVerbosity(): ProfilingVerbosity {
    return this.#profilingVerbosity;
  }

  /** @throws InvalidArgumentError for an unknown verbosity */
  set profilingVerbosity(verbosity: ProfilingVerbosity) {
    this.#profilingVerbosity = expectOneOf(verbosity, PROFILING_VERBOSITIES, 'profilingVerbosity');
  }

  /** The calibrator an 'int8' build takes its scales from (EntropyCalibrator2 or MinMaxCalibrator). */
  get int8Calibrator(): Int8Calibrator | undefined {
    return this.#calibrator;
  }

  /** @throws InvalidArgumentError unless given an EntropyCalibrator2, a MinMaxCalibrator or undefined */
  set int8Calibrator(calibrator: Int8Calibrator | undefined) {
    if (calibrator !== undefined && !(calibrator instanceof Int8Calibrator)) {
      invalid('an EntropyCalibrator2, a MinMaxCalibrator or undefined', 'int8Calibrator', calibrator);
    }
    this.#calibrator = calibrator;
  }

  /** @internal validated plain options for the addon */
  toNative(): Omit<NativeBuildOptions, 'profiles' | 'calibrator'> & { maxTensorBytes: number; onProgress?: (e: ProgressEvent) => void } {
    const out: ReturnType<BuilderConfig['toNative']> = {
      memoryPoolLimits: Object.fromEntries(this.#pools),
      maxTensorBytes: this.#maxTensorBytes ?? resolveMaxTensorBytes(undefined, 'maxTensorBytes'),
    };
    if (this.#flags.has('fp16')) out.fp16 = true;
    if (this.#flags.has('int8')) out.int8 = true;
    if (this.#tf32 !== undefined) out.tf32 = this.#tf32;
    if (this.#flags.has('versionCompatible')) out.versionCompatible = true;
    if (this.#flags.has('excludeLeanRuntime')) out.excludeLeanRuntime = true;
    if (this.#hardwareCompatibility !== 'none') out.hardwareCompatibilityLevel = this.#hardwareCompatibility;
    out.profilingVerbosity = this.#profilingVerbosity;
    if (this.#timingCache) out.timingCache = this.#timingCache;
    if (this.#optimizationLevel !== undefined) out.optimizationLevel = this.#optimizationLevel;
    if (this.onProgress !== undefined) out.onProgress = expectFunction<(e: ProgressEvent) => void>(this.onProgress, 'onProgress');
    return out;
  }
}
