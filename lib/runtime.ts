/**
 * Runtime: deserializes engines, as TensorRT's IRuntime. Engines keep their runtime alive.
 */
import { availableParallelism } from 'node:os';

import { type BackendInfo, type BackendName, type BackendOption, backends, resolveBackend } from './backend.js';
import { Engine } from './engine.js';
import { awaitNative, callNative, EngineInvalidError } from './errors.js';
import { getDefaultLogger, type Logger } from './logger.js';
import { native, type NativeRuntime } from './native.js';
import { NativeResource } from './resource.js';
import { resolveMaxTensorBytes } from './tensor-limits.js';
import { type DeviceAndPluginOptions, resolveCreateOptions } from './create-options.js';
import { expectBytes, expectInteger, expectObject, invalid } from './validate.js';

export interface RuntimeOptions extends DeviceAndPluginOptions {
  /** 'auto' (default, or TENSORRT_NODE_BACKEND): TensorRT when it loads, else the sim. */
  backend?: BackendOption;
  logger?: Logger;
  /**
   * The largest tensor an engine loaded here may hold, in bytes (default:
   * TENSORRT_NODE_MAX_TENSOR_BYTES, else 4 GiB). The sim refuses an engine that needs a larger
   * one at its profiles' max shapes (ShapeError), and an execute whose shapes (including shapes
   * computed from input data) need one, before allocating it. TensorRT checks its own sizes.
   */
  maxTensorBytes?: number;
  /**
   * Whether engines that carry host code may be loaded: version-compatible plans
   * (`versionCompatible` builds) hold TensorRT's lean runtime, which runs in this process when
   * the plan loads, so only trusted plans should load with this on (TensorRT's
   * IRuntime::setEngineHostCodeAllowed). Default false: such a plan is refused with an
   * EngineInvalidError naming this option. The sim refuses its version-compatible engines the
   * same way.
   */
  engineHostCodeAllowed?: boolean;
  /**
   * Intra-op CPU threads of the sim: each execution context splits its convolutions and
   * matrix products over this many threads (the execute() call's own libuv thread and
   * `threads - 1` of the context's, started on its first run and joined when it is disposed,
   * as the runtime, or the worker or environment that made it, ends). Results are bitwise
   * equal for every thread count. Default: TENSORRT_NODE_SIM_THREADS, else the machine's
   * cores (os.availableParallelism()), at most 8. An integer from 1 to 256; anything else is an
   * InvalidArgumentError. TensorRT runs on the GPU and ignores it.
   */
  threads?: number;
}

/** The most intra-op threads a sim context takes by default (beyond it, returns fall off). */
const DEFAULT_MAX_SIM_THREADS = 8;

/**
 * Resolves the sim's `threads` option: the option, else TENSORRT_NODE_SIM_THREADS, else the
 * machine's cores up to 8.
 * @throws InvalidArgumentError for an option or environment value that is not an integer
 *   from 1 to 256
 */
export function resolveSimThreads(threads: unknown, what: string): number {
  if (threads !== undefined) return expectInteger(threads, what, 1, 256);
  const env = process.env.TENSORRT_NODE_SIM_THREADS;
  if (env !== undefined && env !== '') {
    return expectInteger(/^\d+$/.test(env.trim()) ? Number(env.trim()) : env, 'environment variable TENSORRT_NODE_SIM_THREADS', 1, 256);
  }
  return Math.max(1, Math.min(DEFAULT_MAX_SIM_THREADS, availableParallelism()));
}

/** True when `bytes` start like a sim engine (used to route 'auto' deserialization). */
export function isSimEngine(bytes: Uint8Array): boolean {
  const magic = native.simEngineMagic;
  if (bytes.byteLength < magic.byteLength) return false;
  for (let i = 0; i < magic.byteLength; i++) if (bytes[i] !== magic[i]) return false;
  return true;
}

/**
 * The backend that loads `bytes`: `option` unless it is 'auto' (the default, or
 * TENSORRT_NODE_BACKEND), which picks by the bytes: a sim engine on the sim, anything else
 * on TensorRT.
 * @throws EngineInvalidError for 'auto' with bytes that are not a sim engine where TensorRT cannot load
 */
export function engineBackend(bytes: Uint8Array, option: BackendOption | undefined): BackendOption {
  const backend = option ?? (process.env.TENSORRT_NODE_BACKEND as BackendOption | undefined) ?? 'auto';
  if (backend !== 'auto') return backend;
  if (isSimEngine(bytes)) return 'sim';
  const trt = backends()[1]!;
  if (trt.available) return 'tensorrt';
  throw new EngineInvalidError(
    `this is not a tensorrt-node sim engine, so it needs the tensorrt backend, which cannot load here: ${trt.reason}\n` +
      "If it is a TensorRT plan, run it on a machine with TensorRT; for this machine, build the engine with backend 'sim'.",
  );
}

export class Runtime extends NativeResource {
  readonly backend: BackendName;
  readonly logger: Logger;
  /** The maxTensorBytes every engine this runtime loads is held to. */
  readonly maxTensorBytes: number;
  /** The CUDA device engines load and run on. */
  readonly device: number;
  /** Whether engines carrying host code (version-compatible plans) may load. */
  readonly engineHostCodeAllowed: boolean;
  #native: NativeRuntime;

  /**
   * @throws BackendUnavailableError when backend 'tensorrt' is asked for and cannot load;
   *   InvalidArgumentError for a maxTensorBytes that is not an integer >= 1, a device the
   *   machine does not have, a plugin library that does not exist or does not load, or an
   *   engineHostCodeAllowed that is not a boolean
   */
  constructor(options: RuntimeOptions = {}) {
    super('Runtime');
    expectObject(options, 'Runtime options');
    this.maxTensorBytes = resolveMaxTensorBytes(options.maxTensorBytes, 'maxTensorBytes');
    if (options.engineHostCodeAllowed !== undefined && typeof options.engineHostCodeAllowed !== 'boolean') {
      invalid('a boolean', 'Runtime option engineHostCodeAllowed', options.engineHostCodeAllowed);
    }
    this.engineHostCodeAllowed = options.engineHostCodeAllowed === true;
    const threads = resolveSimThreads(options.threads, 'Runtime option threads');
    const create = { ...resolveCreateOptions(options, 'Runtime'), engineHostCodeAllowed: this.engineHostCodeAllowed, threads };
    this.device = create.device;
    this.logger = options.logger ?? getDefaultLogger();
    const resolved = resolveBackend(options.backend, this.logger);
    this.backend = resolved.name;
    this.#native = callNative(() => new native.Runtime(this.logger.handle(), resolved.name, resolved.adapterPath, create));
  }

  get backendInfo(): BackendInfo {
    this.assertLive();
    return callNative(() => this.#native.backendInfo()) as BackendInfo;
  }

  /**
   * Loads an engine from its serialized bytes (the TensorRT name; it also loads sim engines).
   * @throws EngineInvalidError for bytes that are corrupt, truncated, or from another backend
   *   or version, or whose tables disagree with their graph, naming which and what to do; for
   *   a version-compatible engine without engineHostCodeAllowed, naming that option; for an
   *   engine whose plugin layers have no registered plugin, naming the plugin libraries loaded;
   *   ShapeError when a tensor of the engine exceeds maxTensorBytes
   */
  async deserializeCudaEngine(bytes: Uint8Array | ArrayBufferLike): Promise<Engine> {
    this.assertLive();
    const plan = expectBytes(bytes, 'engine');
    if (plan.byteLength === 0) throw new EngineInvalidError('the engine is empty (0 bytes)');
    if (this.backend === 'tensorrt' && isSimEngine(plan)) {
      throw new EngineInvalidError("this is a tensorrt-node sim engine; load it with backend 'sim'");
    }
    const engine = await awaitNative(() => this.#native.deserializeEngine(plan, { maxTensorBytes: this.maxTensorBytes }));
    if (this.disposed) {
      engine.dispose();
      this.assertLive();
    }
    return new Engine(this, engine, this.backend, this.backendInfo.version);
  }

  protected releaseNative(): void {
    this.#native.dispose();
  }
}
