/**
 * Builder: makes networks, configs, profiles and parsers, and builds serialized engines, as
 * TensorRT's IBuilder. Building runs on a worker thread and never blocks the event loop.
 */
import { type BackendInfo, type BackendName, resolveBackend } from './backend.js';
import { BuilderConfig } from './builder-config.js';
import { awaitNative, callNative, CancelledError, InvalidArgumentError, ShapeError } from './errors.js';
import { getDefaultLogger, Logger } from './logger.js';
import { native, type NativeBuilder, type NativeBuildOptions, type NativeProgressEvent } from './native.js';
import { NetworkDefinition } from './network-definition.js';
import { OnnxParser } from './onnx-parser.js';
import { OptimizationProfile } from './optimization-profile.js';
import { NativeResource } from './resource.js';
import { expectAbortSignal, expectObject } from './validate.js';
import type { BackendOption } from './backend.js';

export interface BuilderOptions {
  /** 'auto' (default, or TENSORRT_NODE_BACKEND): TensorRT when it loads, else the sim. */
  backend?: BackendOption;
  logger?: Logger;
}

export interface BuildCallOptions {
  /** Aborting cancels the build at its next progress step; the promise rejects with CancelledError. */
  signal?: AbortSignal;
}

export class Builder extends NativeResource {
  readonly backend: BackendName;
  readonly logger: Logger;
  #native: NativeBuilder;

  /**
   * @throws BackendUnavailableError when backend 'tensorrt' is asked for and cannot load
   */
  constructor(options: BuilderOptions = {}) {
    super('Builder');
    expectObject(options, 'Builder options');
    this.logger = options.logger ?? getDefaultLogger();
    const resolved = resolveBackend(options.backend, this.logger);
    this.backend = resolved.name;
    this.#native = callNative(() => new native.Builder(this.logger.handle(), resolved.name, resolved.adapterPath));
  }

  /** The backend this builder uses, with its version. */
  get backendInfo(): BackendInfo {
    this.assertLive();
    return callNative(() => this.#native.backendInfo()) as BackendInfo;
  }

  /** An empty network for an OnnxParser to fill. */
  createNetworkV2(): NetworkDefinition {
    this.assertLive();
    return new NetworkDefinition(this, () => {
      this.assertLive();
      return this.#native;
    });
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
   * @throws ShapeError if a dynamic input has no range in a profile, or ranges disagree with
   *   the network; CancelledError when `signal` aborts; UnsupportedError for what the backend
   *   cannot build
   */
  async buildSerializedNetwork(network: NetworkDefinition, config: BuilderConfig, options: BuildCallOptions = {}): Promise<Uint8Array> {
    this.assertLive();
    if (!(network instanceof NetworkDefinition)) throw new InvalidArgumentError('buildSerializedNetwork needs a NetworkDefinition from builder.createNetworkV2()');
    if (!(config instanceof BuilderConfig)) throw new InvalidArgumentError('buildSerializedNetwork needs a BuilderConfig from builder.createBuilderConfig()');
    const signal = expectAbortSignal(options.signal, 'signal');
    const nativeNetwork = network.handle();
    const { onProgress, ...rest } = config.toNative();
    const nativeOptions: NativeBuildOptions = { ...rest, profiles: profilesFor(network, config) };
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
      if (delivered < expected) await new Promise<void>((resolve) => (allDelivered = resolve));
      if (result.timingCache.byteLength > 0) config.setTimingCache(result.timingCache);
      return result.plan;
    } finally {
      signal?.removeEventListener('abort', cancel);
    }
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
  if (profiles.length === 0) {
    if (dynamic.length === 0) return [];
    const list = dynamic.map((i) => `'${i.name}' [${i.shape.join(', ')}]`).join(', ');
    throw new ShapeError(`input${dynamic.length > 1 ? 's' : ''} ${list} ha${dynamic.length > 1 ? 've' : 's'} dynamic dimensions: add an optimization profile (config.addOptimizationProfile) or fix the shapes (buildEngine's 'shapes' option)`);
  }
  const known = new Map(network.inputs.map((i) => [i.name, i]));
  return profiles.map((profile, p) => {
    for (const name of profile.inputs) {
      if (!known.has(name)) throw new InvalidArgumentError(`optimization profile ${p} sets '${name}', which is not an input of the network (inputs: ${[...known.keys()].join(', ')})`);
    }
    const inputs = [];
    for (const input of network.inputs) {
      const range = profile.getDimensions(input.name);
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
      inputs.push({ name: input.name, min: [...range.min], opt: [...range.opt], max: [...range.max] });
    }
    return { inputs };
  });
}
