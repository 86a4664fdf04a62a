/**
 * Builder: makes networks, configs, profiles and parsers, and builds serialized engines, as
 * TensorRT's IBuilder. Building runs on a worker thread and never blocks the event loop.
 */
import { type BackendInfo, type BackendName, resolveBackend } from './backend.js';
import { BuilderConfig } from './builder-config.js';
import type { CalibrationSession } from './calibration/calibrators.js';
import { awaitNative, callNative, CancelledError, InvalidArgumentError, ShapeError, UnsupportedError } from './errors.js';
import { getDefaultLogger, Logger } from './logger.js';
import { native, type NativeBuilder, type NativeBuildOptions, type NativeProgressEvent } from './native.js';
import { NetworkDefinition, type TensorInfo } from './network-definition.js';
import { OnnxParser } from './onnx-parser.js';
import { OptimizationProfile } from './optimization-profile.js';
import { NativeResource } from './resource.js';
import { type DeviceAndPluginOptions, resolveCreateOptions } from './create-options.js';
import { expectAbortSignal, expectObject, invalid } from './validate.js';
import type { BackendOption } from './backend.js';

export interface BuilderOptions extends DeviceAndPluginOptions {
  /** 'auto' (default, or TENSORRT_NODE_BACKEND): TensorRT when it loads, else the sim. */
  backend?: BackendOption;
  logger?: Logger;
}

/** Options of createNetworkV2, as TensorRT's NetworkDefinitionCreationFlags. */
export interface NetworkOptions {
  /**
   * kSTRONGLY_TYPED: tensors keep the types the model declares, and precision comes from the
   * model (float16 tensors, Q/DQ nodes) rather than from the fp16/int8 builder flags. TensorRT
   * 11 networks are always strongly typed. Default false.
   */
  stronglyTyped?: boolean;
}

/** The way to reduced precision that every backend and TensorRT version supports. */
const EXPLICIT_PATH = 'convert the model instead: convertToFloat16(model) for FP16, quantizeInt8(model, { calibrationData }) for INT8 (or buildEngine(model, { precision }), which picks the path for the backend)';

export interface BuildCallOptions {
  /** Aborting cancels the build at its next progress step; the promise rejects with CancelledError. */
  signal?: AbortSignal;
}

export class Builder extends NativeResource {
  readonly backend: BackendName;
  readonly logger: Logger;
  /** The CUDA device this builder builds on. */
  readonly device: number;
  #native: NativeBuilder;

  /**
   * @throws BackendUnavailableError when backend 'tensorrt' is asked for and cannot load;
   *   InvalidArgumentError for a device the machine does not have or a plugin library that
   *   does not exist or does not load
   */
  constructor(options: BuilderOptions = {}) {
    super('Builder');
    expectObject(options, 'Builder options');
    const create = resolveCreateOptions(options, 'Builder');
    this.device = create.device;
    this.logger = options.logger ?? getDefaultLogger();
    const resolved = resolveBackend(options.backend, this.logger);
    this.backend = resolved.name;
    this.#native = callNative(() => new native.Builder(this.logger.handle(), resolved.name, resolved.adapterPath, create));
  }

  /** The backend this builder uses, with its version. */
  get backendInfo(): BackendInfo {
    this.assertLive();
    return callNative(() => this.#native.backendInfo()) as BackendInfo;
  }

  /**
   * An empty network for an OnnxParser to fill.
   * @throws InvalidArgumentError if `options` is not an object or stronglyTyped not a boolean
   */
  createNetworkV2(options: NetworkOptions = {}): NetworkDefinition {
    this.assertLive();
    const o = expectObject(options, 'createNetworkV2 options');
    if (o.stronglyTyped !== undefined && typeof o.stronglyTyped !== 'boolean') invalid('a boolean', 'createNetworkV2 option stronglyTyped', o.stronglyTyped);
    return new NetworkDefinition(
      this,
      () => {
        this.assertLive();
        return this.#native;
      },
      o.stronglyTyped === true,
    );
  }

  /** A parser that fills `network`; same as new OnnxParser(network). */
  createOnnxParser(network: NetworkDefinition): OnnxParser {
    this.assertLive();
    return new OnnxParser(network);
  }

  createBuilderConfig(): BuilderConfig {
    this.assertLive();
    return new BuilderConfig();
  }

  createOptimizationProfile(): OptimizationProfile {
    this.assertLive();
    return new OptimizationProfile();
  }

  /**
   * Builds an engine and resolves to its serialized bytes (a TensorRT plan on the tensorrt
   * backend, a sim engine on the sim). On success `config.timingCache` holds the updated cache.
   *
   * With the 'int8' flag, the build calibrates through `config.int8Calibrator` first: it reads
   * the calibrator's cache, or pulls batches from its iterable until it ends and then hands
   * the new cache to its writeCache.
   *
   * @throws ShapeError if a dynamic input has no range in a profile, or ranges disagree with
   *   the network; CancelledError when `signal` aborts (also while calibrating);
   *   UnsupportedError for what the backend cannot build, and for the fp16/int8 flags on a
   *   backend without implicit precision (TensorRT 11); InvalidArgumentError for 'int8'
   *   without a calibrator, flags on a strongly typed network, or a calibration batch that
   *   does not match the network's inputs; TensorRTError carrying the calibrator's own error
   *   as `cause` when its iterable or callbacks throw
   */
  async buildSerializedNetwork(network: NetworkDefinition, config: BuilderConfig, options: BuildCallOptions = {}): Promise<Uint8Array> {
    this.assertLive();
    if (!(network instanceof NetworkDefinition)) throw new InvalidArgumentError('buildSerializedNetwork needs a NetworkDefinition from builder.createNetworkV2()');
    if (!(config instanceof BuilderConfig)) throw new InvalidArgumentError('buildSerializedNetwork needs a BuilderConfig from builder.createBuilderConfig()');
    const signal = expectAbortSignal(options.signal, 'signal');
    const nativeNetwork = network.handle();
    const { onProgress, ...rest } = config.toNative();
    if (rest.excludeLeanRuntime && !rest.versionCompatible) {
      throw new InvalidArgumentError("the 'excludeLeanRuntime' builder flag applies to version-compatible builds only: set 'versionCompatible' too");
    }
    const nativeOptions: NativeBuildOptions = { ...rest, profiles: profilesFor(network, config) };
    const session = this.#precision(network, config, nativeOptions);
    if (signal?.aborted) throw new CancelledError('the build was aborted before it started');
    const cancel = () => this.#native.cancel();
    signal?.addEventListener('abort', cancel, { once: true });
    // Progress events and the build's result reach the event loop by different routes; count
    // deliveries so the promise settles only after the last event was handed to onProgress.
    let delivered = 0;
    let allDelivered: (() => void) | undefined;
    let expected = Infinity;
    try {
      const result = await awaitNative(() =>
        this.#native.buildSerializedNetwork(
          nativeNetwork,
          nativeOptions,
          onProgress &&
            ((event: NativeProgressEvent) => {
              delivered++;
              try {
                onProgress(event as Parameters<typeof onProgress>[0]);
              } catch {
                // A progress callback must not break the build.
              }
              if (delivered >= expected) allDelivered?.();
            }),
        ),
      );
      expected = result.progressEvents;
      if (delivered < expected) {
        // The rest are queued for this thread and arrive as the loop turns, but nothing of
        // theirs keeps the loop alive (the progress channel must not hold the process open
        // by itself), and the build's own promise has settled: hold the loop until they land,
        // or a process with nothing else to do would exit with this promise pending.
        const holdLoop = setInterval(() => {}, 1 << 30);
        try {
          await new Promise<void>((resolve) => (allDelivered = resolve));
        } finally {
          clearInterval(holdLoop);
        }
      }
      if (result.timingCache.byteLength > 0) config.setTimingCache(result.timingCache);
      return result.plan;
    } catch (error) {
      throw session ? session.explain(error) : error;
    } finally {
      signal?.removeEventListener('abort', cancel);
      session?.close();
    }
  }

  /**
   * Checks the precision flags against the backend and the network, and attaches the
   * calibrator of an int8 build; returns its session (undefined without int8).
   */
  #precision(network: NetworkDefinition, config: BuilderConfig, options: NativeBuildOptions): CalibrationSession | undefined {
    const flags = (['fp16', 'int8'] as const).filter((f) => config.getFlag(f));
    if (flags.length === 0) return undefined;
    const info = this.backendInfo;
    if (info.implicitPrecision === false) {
      throw new UnsupportedError(`the ${flags.join('/')} builder flag${flags.length > 1 ? 's are' : ' is'} not available on ${info.name} ${info.version} (TensorRT 11 removed implicit precision); ${EXPLICIT_PATH}`);
    }
    if (network.stronglyTyped) {
      throw new InvalidArgumentError(`the ${flags.join('/')} builder flag${flags.length > 1 ? 's do' : ' does'} not apply to a strongly typed network (its types come from the model); create the network without stronglyTyped, or ${EXPLICIT_PATH}`);
    }
    if (!config.getFlag('int8')) return undefined;
    const calibrator = config.int8Calibrator;
    if (!calibrator) throw new InvalidArgumentError("the 'int8' builder flag needs config.int8Calibrator (an EntropyCalibrator2 or MinMaxCalibrator) to choose the int8 scales");
    const session = calibrator.startSession();
    options.calibrator = { algorithm: calibrator.algorithm, batchSize: calibrator.batchSize, request: (r) => session.request(r) };
    return session;
  }

  protected releaseNative(): void {
    this.#native.dispose();
  }
}

/**
 * Checks the config's profiles against the network and flattens them for the addon. A network
 * whose inputs are all static needs no profile.
 */
function profilesFor(network: NetworkDefinition, config: BuilderConfig): NativeBuildOptions['profiles'] {
  const dynamic = network.inputs.filter((i) => i.shape.some((d) => d < 0));
  const profiles = config.optimizationProfiles;
  const shapeTensors = network.inputs.filter((i) => i.isShapeTensor);
  if (profiles.length === 0) {
    if (shapeTensors.length > 0) throw new ShapeError(`${needsValues(shapeTensors[0]!)}; the config has no optimization profile`);
    if (dynamic.length === 0) return [];
    const list = dynamic.map((i) => `'${i.name}' [${i.shape.join(', ')}]`).join(', ');
    throw new ShapeError(`input${dynamic.length > 1 ? 's' : ''} ${list} ha${dynamic.length > 1 ? 've' : 's'} dynamic dimensions: add an optimization profile (config.addOptimizationProfile) or fix the shapes (buildEngine's 'shapes' option)`);
  }
  const known = new Map(network.inputs.map((i) => [i.name, i]));
  return profiles.map((profile, p) => {
    for (const name of profile.inputs) {
      if (!known.has(name)) throw new InvalidArgumentError(`optimization profile ${p} sets '${name}', which is not an input of the network (inputs: ${[...known.keys()].join(', ')})`);
    }
    const inputs: NativeBuildOptions['profiles'][number]['inputs'] = [];
    for (const input of network.inputs) {
      const values = profile.getShapeValues(input.name);
      if (values && !input.isShapeTensor) {
        throw new InvalidArgumentError(`optimization profile ${p} gives values for '${input.name}', which is not a shape tensor (shape values apply to int32/int64 inputs of rank 0 or 1 whose values decide tensor shapes); give it min/opt/max dimensions with setDimensions instead`);
      }
      if (input.isShapeTensor) {
        if (!values) throw new ShapeError(`${needsValues(input)}; optimization profile ${p} has none`);
        const count = input.shape.reduce((a, d) => a * d, 1);
        if (values.min.length !== count) {
          throw new ShapeError(`optimization profile ${p} gives shape tensor '${input.name}' ${values.min.length} values but it has ${count} elements (shape [${input.shape.join(', ')}])`);
        }
      }
      const range = profile.getDimensions(input.name) ?? (values && { min: input.shape, opt: input.shape, max: input.shape });
      if (!range) {
        if (input.shape.some((d) => d < 0)) throw new ShapeError(`optimization profile ${p} has no range for the dynamic input '${input.name}' [${input.shape.join(', ')}]`);
        continue;
      }
      if (range.min.length !== input.shape.length) {
        throw new ShapeError(`optimization profile ${p} gives '${input.name}' rank ${range.min.length} but the network's input has rank ${input.shape.length} [${input.shape.join(', ')}]`);
      }
      input.shape.forEach((d, i) => {
        if (d >= 0 && (range.min[i] !== d || range.max[i] !== d)) {
          throw new ShapeError(`optimization profile ${p}: dimension ${i} of '${input.name}' is fixed at ${d} by the network but the profile gives [${range.min[i]}, ${range.max[i]}]`);
        }
      });
      inputs.push({
        name: input.name,
        min: [...range.min],
        opt: [...range.opt],
        max: [...range.max],
        ...(values && { minValues: [...values.min], optValues: [...values.opt], maxValues: [...values.max] }),
      });
    }
    return { inputs };
  });
}

function needsValues(input: TensorInfo): string {
  return `input '${input.name}' is a shape tensor (its values decide tensor shapes, so TensorRT reads it on the host and builds for a range of values): give the min/opt/max of its values in every optimization profile with profile.setShapeValues('${input.name}', { min, opt, max }) (buildEngine: profiles: [{ ${input.name}: { values: { min, opt, max } } }])`;
}
