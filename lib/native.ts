/**
 * The one file that loads the addon and types its surface. Everything else talks to the
 * addon through these types. The addon does cheap guards only; lib/ validates first.
 */
import { loadAddon } from './addon-loader.js';
import type { DataType } from './dtype.js';

export interface NativeTensorDesc {
  name: string;
  dtype: DataType;
  /** -1 for dynamic dimensions. */
  shape: number[];
  mode: 'input' | 'output';
  /** An input whose values decide shapes (TensorRT's isShapeInferenceIO; kept in host memory). */
  isShapeTensor: boolean;
}

export interface NativeBackendInfo {
  name: string;
  version: string;
  available: boolean;
  reason?: string;
  /** The fp16/int8 builder flags and INT8 calibrators work (TensorRT 10, the sim). */
  implicitPrecision: boolean;
}

export interface NativeProgressEvent {
  kind: 'phaseStart' | 'step' | 'phaseFinish';
  phase: string;
  parent?: string;
  steps?: number;
  step?: number;
}

/** What the native INT8 calibrator asks JavaScript for (native/binding/js_calibrator.h). */
export type NativeCalibratorRequest =
  | { kind: 'getBatch'; inputs: { name: string; dtype: DataType; shape: number[]; bytes: number }[] }
  | { kind: 'readCache' }
  | { kind: 'writeCache'; cache: Uint8Array };

export interface NativeCalibrator {
  algorithm: 'entropy2' | 'minmax';
  batchSize: number;
  /** getBatch -> one Uint8Array per input (in request order) or null; readCache -> bytes or null. */
  request(request: NativeCalibratorRequest): Promise<Uint8Array[] | Uint8Array | null | undefined>;
}

export interface NativeBuildOptions {
  profiles: { inputs: { name: string; min: number[]; opt: number[]; max: number[]; minValues?: number[]; optValues?: number[]; maxValues?: number[] }[] }[];
  memoryPoolLimits: Record<string, number>;
  maxTensorBytes?: number;
  timingCache?: Uint8Array;
  optimizationLevel?: number;
  fp16?: boolean;
  int8?: boolean;
  calibrator?: NativeCalibrator;
  /** Absent: TensorRT's default (on). */
  tf32?: boolean;
  versionCompatible?: boolean;
  excludeLeanRuntime?: boolean;
  hardwareCompatibilityLevel?: 'none' | 'ampereplus' | 'sameComputeCapability';
  /** Absent: detailed. */
  profilingVerbosity?: 'layerNamesOnly' | 'none' | 'detailed';
}

/** Options fixed when a builder or runtime is created (native/backend/backend.h CreateOptions). */
export interface NativeCreateOptions {
  device: number;
  /** Absolute paths of existing files. */
  plugins: string[];
  engineHostCodeAllowed?: boolean;
  /** Runtime only: the sim's intra-op threads per context, 1 to 256. */
  threads?: number;
}

export interface NativeHostTensor {
  name: string;
  dtype: DataType;
  shape: number[];
  data: ArrayBufferView | ArrayBuffer;
}

export interface NativeLogger {
  log(severity: number, message: string): void;
  dispose(): void;
  readonly disposed: boolean;
}

export interface NativeNetwork {
  info(): { inputs: NativeTensorDesc[]; outputs: NativeTensorDesc[]; numLayers: number };
  dispose(): void;
}

export interface NativeBuilder {
  parseOnnx(bytes: Uint8Array, modelDir: string, options?: { stronglyTyped?: boolean }): Promise<NativeNetwork>;
  buildSerializedNetwork(
    network: NativeNetwork,
    options: NativeBuildOptions,
    onProgress?: (event: NativeProgressEvent) => void,
  ): Promise<{ plan: Uint8Array; timingCache: Uint8Array; progressEvents: number }>;
  cancel(): void;
  backendInfo(): NativeBackendInfo;
  dispose(): void;
}

export interface NativeExecutionContext {
  setOptimizationProfile(profile: number): void;
  getOptimizationProfile(): number;
  execute(inputs: NativeHostTensor[]): Promise<NativeOutputs>;
  /** A benchmark's call: transfers false runs compute only; timing null where the backend does not time parts apart (the sim). */
  execute(inputs: NativeHostTensor[], benchmark: { transfers: boolean; cudaGraph: boolean }): Promise<{ outputs: NativeOutputs; timing: NativeCallTiming | null }>;
  dispose(): void;
}

export type NativeOutputs = (NativeHostTensor & { data: ArrayBuffer })[];

/** ms from the call's first event on the stream. */
export interface NativeCallTiming {
  h2dStartMs: number;
  h2dEndMs: number;
  computeStartMs: number;
  computeEndMs: number;
  d2hStartMs: number;
  d2hEndMs: number;
}

export interface NativeEngine {
  ioTensors(): NativeTensorDesc[];
  numOptimizationProfiles(): number;
  /** minValues/optValues/maxValues only for a shape-tensor input. */
  profileShapes(profile: number, input: string): { min: number[]; opt: number[]; max: number[]; minValues?: number[]; optValues?: number[]; maxValues?: number[] };
  deviceMemorySize(): number;
  numLayers(): number;
  serialize(): Promise<Uint8Array>;
  /** TensorRT's IEngineInspector JSON (the sim writes the same form). */
  engineInformation(): Promise<string>;
  /** What the plan records about its layers (ICudaEngine::getProfilingVerbosity); the sim: 'detailed'. */
  profilingVerbosity(): 'layerNamesOnly' | 'none' | 'detailed';
  createExecutionContext(): NativeExecutionContext;
  dispose(): void;
}

export interface NativeRuntime {
  deserializeEngine(bytes: Uint8Array, options?: { maxTensorBytes?: number }): Promise<NativeEngine>;
  backendInfo(): NativeBackendInfo;
  dispose(): void;
}

/** Result of the entropy threshold search (native/calibration/entropy.h). */
export interface NativeEntropyResult {
  threshold: number;
  bins: number;
  divergence: number;
}

/** One tensor's 2048-bin |x| histogram (native/binding/calibration_histogram.h). */
export interface NativeCalibrationHistogram {
  /**
   * Calls must not overlap; CalibrationHistogram queues them. Bins `values` in place on
   * the calibration threads: only for arrays lib/ made and gives no one (never a caller's,
   * which JavaScript could transfer meanwhile).
   */
  add(values: Float32Array): Promise<void>;
  /**
   * Bins a batch of at most 262144 values (1 MB) before it returns, with the calibration
   * threads' help; nothing reads `values` afterwards (native/binding/histogram_add_now.h).
   */
  addNow(values: Float32Array): void;
  /** Bins up to two slices of the add() in flight on this thread; false when it took none. */
  help(): boolean;
  entropyThreshold(): Promise<NativeEntropyResult>;
  percentileThreshold(percent: number): number;
  readonly maxAbs: number;
  readonly binWidth: number;
  readonly total: number;
  readonly skipped: number;
  /** A copy of the 2048 counts. */
  readonly counts: Float64Array;
  dispose(): void;
}

export interface NativeAddon {
  Logger: new (minSeverity: number, onMessage?: (severity: number, message: string) => void) => NativeLogger;
  Builder: new (logger: NativeLogger, backend: string, adapterPath: string, options: NativeCreateOptions) => NativeBuilder;
  Runtime: new (logger: NativeLogger, backend: string, adapterPath: string, options: NativeCreateOptions) => NativeRuntime;
  CalibrationHistogram: {
    new (counts?: Float64Array, maxAbs?: number): NativeCalibrationHistogram;
    readonly bins: number;
    /** The number of calibration threads of this environment (native/binding/short_job_pool.h). */
    threads(): number;
  };
  probeBackend(name: string, adapterPath: string): NativeBackendInfo;
  /** The leading bytes of every sim engine. */
  simEngineMagic: Uint8Array;
  /** A bare AsyncWorker round trip (benchmark floor). */
  noop(): Promise<void>;
  /** Cancels this thread's builds and waits for their threads to return (native/binding/builder_queue.h). */
  stopBuilds(): void;
}

export { packageRoot } from './addon-loader.js';

/** The addon, loaded when this module is imported (where from: loadAddon in addon-loader). */
export const native = loadAddon() as NativeAddon;

// process.exit() ends the process without the environment cleanup that would stop the builds'
// threads, which would then run on while the process tears itself down (a build waiting for a
// calibrator that will never answer, a build in the middle of a kernel). 'exit' runs first,
// on process.exit() and on a natural end alike; by then no promise can be settled anyway.
process.once('exit', () => native.stopBuilds());
