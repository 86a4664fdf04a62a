/**
 * InferenceSession: onnxruntime-node's shape over an engine. The runner half of the API:
 * owns a runtime, an engine and one execution context, and runs calls one at a time.
 */
import { readFile } from 'node:fs/promises';

import type { BackendOption } from './backend.js';
import { type BuildEngineOptions, buildEngineWithCache, buildFromSource } from './build-engine.js';
import { buildWithEngineCache } from './cache/engine-cache.js';
import { type BenchmarkOptions, type BenchmarkResult, normalizeBenchmarkOptions, runBenchmark } from './benchmark.js';
import { STORAGE, storageLength } from './dtype.js';
import type { Engine, IOTensorInfo } from './engine.js';
import { InvalidArgumentError, UnsupportedError } from './errors.js';
import type { ExecutionContext, Feeds } from './execution-context.js';
import type { DeviceAndPluginOptions } from './create-options.js';
import type { Logger } from './logger.js';
import { engineBackend, isSimEngine, Runtime } from './runtime.js';
import { type AnyTensor, Tensor } from './tensor.js';
import { expectBytes, expectInteger, expectObject } from './validate.js';

export interface SessionOptions extends DeviceAndPluginOptions {
  /**
   * 'auto' (default, or TENSORRT_NODE_BACKEND) picks by the engine's bytes: a sim engine runs
   * on the sim, anything else on TensorRT.
   */
  backend?: BackendOption;
  logger?: Logger;
  /** Optimization profile to run with (default 0). */
  profile?: number;
  /** The largest tensor the engine may hold, in bytes; see RuntimeOptions.maxTensorBytes. */
  maxTensorBytes?: number;
  /** Whether a version-compatible plan (which carries host code) may load; see RuntimeOptions. */
  engineHostCodeAllowed?: boolean;
  /** The sim's intra-op CPU threads; see RuntimeOptions.threads. */
  threads?: number;
}

/**
 * InferenceSession.create's options for an ONNX model: how to build it (buildEngine's options,
 * `cache` among them) and how to run it.
 */
export type ModelSessionOptions = SessionOptions & BuildEngineOptions;

/**
 * Options that only a build reads: given with bytes, they say the bytes are an ONNX model.
 * A Record over every such key, so that a build option added later cannot be left out.
 */
const BUILD_ONLY_OPTIONS = Object.keys({
  cache: true, precision: true, calibration: true, float16: true, shapes: true, profiles: true, memoryPoolLimits: true,
  timingCache: true, optimizationLevel: true, profilingVerbosity: true, tf32: true, versionCompatible: true,
  excludeLeanRuntime: true, hardwareCompatibility: true, onProgress: true, signal: true,
} satisfies Record<Exclude<keyof BuildEngineOptions, keyof SessionOptions>, true>) as Exclude<keyof BuildEngineOptions, keyof SessionOptions>[];

export class InferenceSession {
  readonly #runtime: Runtime;
  readonly #engine: Engine;
  readonly #context: ExecutionContext;

  private constructor(runtime: Runtime, engine: Engine, context: ExecutionContext) {
    this.#runtime = runtime;
    this.#engine = engine;
    this.#context = context;
  }

  /**
   * Loads a serialized engine (bytes or a file path) and prepares it to run; or builds one
   * from an ONNX model first: a path ending in `.onnx`, or bytes given with build options
   * (`cache`, `shapes`, `precision`, ...; see BuildEngineOptions). With `cache`, the plan is
   * built once and reused by later sessions and processes, which is how an application
   * shipping an ONNX model builds on the user's GPU at first start only (`onProgress` reports
   * that build); a cached plan the runtime refuses is rebuilt with a warning.
   * @throws EngineInvalidError for a corrupt, truncated or foreign engine, or a version-compatible
   *   one without engineHostCodeAllowed; InvalidArgumentError for a device the machine does not
   *   have or a plugin library that does not exist or load, or build options given with an
   *   engine; ShapeError when a tensor of the engine exceeds maxTensorBytes;
   *   BackendUnavailableError when the engine needs TensorRT and it cannot load; for a model,
   *   also what buildEngine throws
   */
  static async create(engine: string | Uint8Array | ArrayBufferLike, options: SessionOptions | ModelSessionOptions = {}): Promise<InferenceSession> {
    expectObject(options, 'session options');
    const buildOptionGiven = BUILD_ONLY_OPTIONS.some((name) => (options as ModelSessionOptions)[name] !== undefined);
    if (buildOptionGiven || (typeof engine === 'string' && /\.onnx$/i.test(engine))) {
      return InferenceSession.#createFromModel(engine, options as ModelSessionOptions);
    }
    let bytes: Uint8Array;
    if (typeof engine === 'string') {
      try {
        bytes = await readFile(engine);
      } catch (error) {
        throw new InvalidArgumentError(`cannot read the engine ${engine}: ${(error as Error).message}`);
      }
    } else {
      bytes = expectBytes(engine, 'engine');
    }
    return InferenceSession.#load(bytes, options);
  }

  static async #createFromModel(model: string | Uint8Array | ArrayBufferLike, options: ModelSessionOptions): Promise<InferenceSession> {
    if (typeof model !== 'string' && isSimEngine(expectBytes(model, 'model'))) {
      throw new InvalidArgumentError('these bytes are a serialized engine, not an ONNX model: build options (such as cache, shapes or precision) apply to models only; pass the engine without them');
    }
    const { profile, threads, engineHostCodeAllowed, cache, ...build } = options;
    const run: SessionOptions = {
      ...(options.logger && { logger: options.logger }),
      ...(options.maxTensorBytes !== undefined && { maxTensorBytes: options.maxTensorBytes }),
      ...(options.device !== undefined && { device: options.device }),
      ...(options.plugins !== undefined && { plugins: options.plugins }),
      ...(profile !== undefined && { profile }),
      ...(threads !== undefined && { threads }),
      ...(engineHostCodeAllowed !== undefined && { engineHostCodeAllowed }),
    };
    const load = (built: { engine: Uint8Array; backend: 'sim' | 'tensorrt' }) => InferenceSession.#load(built.engine, { ...run, backend: built.backend });
    if (cache === undefined) return load(await buildEngineWithCache(model, build));
    return buildWithEngineCache(model, { ...build, cache }, (backend, source) => buildFromSource(source, { ...build, backend }), load);
  }

  static async #load(bytes: Uint8Array, options: SessionOptions): Promise<InferenceSession> {
    const backend = engineBackend(bytes, options.backend);
    const runtime = new Runtime({
      backend,
      ...(options.logger && { logger: options.logger }),
      ...(options.maxTensorBytes !== undefined && { maxTensorBytes: options.maxTensorBytes }),
      ...(options.device !== undefined && { device: options.device }),
      ...(options.plugins !== undefined && { plugins: options.plugins }),
      ...(options.engineHostCodeAllowed !== undefined && { engineHostCodeAllowed: options.engineHostCodeAllowed }),
      ...(options.threads !== undefined && { threads: expectInteger(options.threads, 'session option threads', 1, 256) }),
    });
    try {
      const loaded = await runtime.deserializeCudaEngine(bytes);
      const context = loaded.createExecutionContext();
      if (options.profile !== undefined) context.setOptimizationProfile(expectInteger(options.profile, 'profile', 0));
      return new InferenceSession(runtime, loaded, context);
    } catch (error) {
      runtime.dispose();
      throw error;
    }
  }

  get backend(): 'sim' | 'tensorrt' {
    return this.#runtime.backend;
  }

  get engine(): Engine {
    return this.#engine;
  }

  get inputNames(): string[] {
    return this.#engine.inputs.map((t) => t.name);
  }

  get outputNames(): string[] {
    return this.#engine.outputs.map((t) => t.name);
  }

  get inputMetadata(): readonly IOTensorInfo[] {
    return this.#engine.inputs;
  }

  get outputMetadata(): readonly IOTensorInfo[] {
    return this.#engine.outputs;
  }

  /**
   * Runs the engine. Calls queue behind each other. Checking an output's `dtype` narrows its
   * `data` (`if (y.dtype === 'float32') y.data` is a Float32Array).
   * @throws as ExecutionContext.execute
   */
  async run(feeds: Feeds): Promise<Record<string, AnyTensor>> {
    return this.#context.execute(feeds);
  }

  /**
   * Measures throughput and latency as trtexec does: calls for `warmUpMs` uncounted, then
   * until `durationMs` has passed and `iterations` calls have finished, on `concurrency`
   * execution contexts at once (the session's own and concurrency - 1 more, released after).
   * Feeds default to zeros at each input's static shape, else its profile's opt shape (a
   * shape tensor gets the profile's opt values). On TensorRT each call's H2D, compute and D2H
   * are timed apart with CUDA events (`transfers: 'timed'`); `noDataTransfers` times compute
   * only (inputs uploaded by one call per context before the warm-up) and `useCudaGraph`
   * replays the compute from a CUDA graph per context (captured again when shapes change; where
   * TensorRT cannot capture, e.g. outputs of data-dependent shape, a warning is logged and
   * calls run without one).
   * @throws InvalidArgumentError for a bad option; UnsupportedError for useCudaGraph or
   *   noDataTransfers on the sim; otherwise as run()
   */
  async benchmark(options: BenchmarkOptions & { feeds?: Feeds } = {}): Promise<BenchmarkResult> {
    const settings = normalizeBenchmarkOptions(options);
    if (this.backend === 'sim' && (settings.useCudaGraph || settings.noDataTransfers)) {
      const option = settings.useCudaGraph ? 'useCudaGraph' : 'noDataTransfers';
      throw new UnsupportedError(`benchmark option ${option} needs the tensorrt backend: the sim has no CUDA graphs or host-device transfers; leave it out on the sim`);
    }
    const feeds = options.feeds ?? this.#zeroFeeds();
    const contexts = [this.#context];
    try {
      for (let i = 1; i < settings.concurrency; i++) {
        const context = this.#engine.createExecutionContext();
        contexts.push(context);
        context.setOptimizationProfile(this.#context.optimizationProfile);
      }
      const call = { transfers: !settings.noDataTransfers, cudaGraph: settings.useCudaGraph };
      // Without transfers, the device must hold the inputs before anything is timed: one call
      // per context with its uploads, uncounted.
      if (settings.noDataTransfers) await Promise.all(contexts.map((context) => context.execute(feeds)));
      return await runBenchmark(
        contexts.map((context) => async () => (await context.executeForBenchmark(feeds, call)).timing),
        settings,
        this.backend === 'sim' ? 'none' : settings.noDataTransfers ? 'excluded' : 'timed',
      );
    } finally {
      for (const context of contexts.slice(1)) context.dispose();
    }
  }

  #zeroFeeds(): Feeds {
    const profile = this.#context.optimizationProfile;
    const feeds: Feeds = {};
    for (const input of this.#engine.inputs) {
      const values = input.isShapeTensor ? this.#engine.getProfileShapeValues(input.name, profile) : undefined;
      const dims = input.shape.every((d) => d >= 0) ? [...input.shape] : [...this.#engine.getProfileShape(input.name, profile).opt];
      if (values) feeds[input.name] = input.dtype === 'int64' ? new Tensor('int64', values.opt.map(BigInt), dims) : new Tensor(input.dtype, values.opt, dims);
      else feeds[input.name] = new Tensor(input.dtype, new STORAGE[input.dtype](storageLength(input.dtype, dims.reduce((a, b) => a * b, 1))), dims);
    }
    return feeds;
  }

  /** Releases the context, the engine and the runtime. Idempotent. */
  dispose(): void {
    this.#runtime.dispose();
  }

  /** Same as dispose(), for onnxruntime-node familiarity. */
  async release(): Promise<void> {
    this.dispose();
  }

  [Symbol.dispose](): void {
    this.dispose();
  }
}
