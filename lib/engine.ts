/**
 * Engine: a deserialized engine, as TensorRT's ICudaEngine. Contexts keep their engine alive;
 * disposing the engine disposes its contexts first.
 */
import type { BackendName } from './backend.js';
import { type EngineInspection, type InspectedProfileInput, readEngineInformation } from './engine-inspection.js';
import { awaitNative, callNative, InvalidArgumentError, TensorRTError } from './errors.js';
import { ExecutionContext } from './execution-context.js';
import type { NativeEngine } from './native.js';
import { toTensorInfo, type TensorInfo } from './network-definition.js';
import type { ShapeRange, ValueRange } from './optimization-profile.js';
import { NativeResource } from './resource.js';
import { expectInteger } from './validate.js';

export interface IOTensorInfo extends TensorInfo {
  mode: 'input' | 'output';
}

export class Engine extends NativeResource {
  readonly backend: BackendName;
  /** The backend's version (the sim's, or TensorRT's). */
  readonly backendVersion: string;
  readonly #native: NativeEngine;
  readonly #io: readonly IOTensorInfo[];
  readonly #profiles: readonly ReadonlyMap<string, ShapeRange>[];
  readonly #values: readonly ReadonlyMap<string, ValueRange>[];

  /** @internal made by Runtime.deserializeCudaEngine */
  constructor(parent: NativeResource, engine: NativeEngine, backend: BackendName, backendVersion: string) {
    super('Engine', parent);
    this.#native = engine;
    this.backend = backend;
    this.backendVersion = backendVersion;
    // Metadata is immutable: read it once so validation on every execute() is pure JS.
    this.#io = Object.freeze(engine.ioTensors().map((d) => Object.freeze({ ...toTensorInfo(d), mode: d.mode })));
    const profiles: ReadonlyMap<string, ShapeRange>[] = [];
    const values: ReadonlyMap<string, ValueRange>[] = [];
    const count = engine.numOptimizationProfiles();
    for (let p = 0; p < count; p++) {
      const map = new Map<string, ShapeRange>();
      const valueMap = new Map<string, ValueRange>();
      for (const t of this.#io) {
        if (t.mode !== 'input') continue;
        const { min, opt, max, minValues, optValues, maxValues } = engine.profileShapes(p, t.name);
        map.set(t.name, Object.freeze({ min, opt, max }));
        if (minValues && optValues && maxValues) valueMap.set(t.name, Object.freeze({ min: minValues, opt: optValues, max: maxValues }));
      }
      profiles.push(map);
      values.push(valueMap);
    }
    this.#profiles = profiles;
    this.#values = values;
  }

  /** Every input and output, inputs first. */
  get ioTensors(): readonly IOTensorInfo[] {
    this.assertLive();
    return this.#io;
  }

  get inputs(): readonly IOTensorInfo[] {
    return this.ioTensors.filter((t) => t.mode === 'input');
  }

  get outputs(): readonly IOTensorInfo[] {
    return this.ioTensors.filter((t) => t.mode === 'output');
  }

  /** Looks up one I/O tensor by name. */
  getTensor(name: string): IOTensorInfo | undefined {
    return this.ioTensors.find((t) => t.name === name);
  }

  get numOptimizationProfiles(): number {
    this.assertLive();
    return this.#profiles.length;
  }

  /**
   * min/opt/max of an input in a profile, as ICudaEngine.getProfileShape.
   * @throws InvalidArgumentError for an unknown input or profile index
   */
  getProfileShape(input: string, profile = 0): ShapeRange {
    this.assertLive();
    expectInteger(profile, 'profile index', 0, this.#profiles.length - 1);
    const range = this.#profiles[profile]!.get(input);
    if (!range) throw new InvalidArgumentError(`'${input}' is not an input of this engine (inputs: ${this.inputs.map((i) => i.name).join(', ')})`);
    return range;
  }

  /**
   * The range of a shape-tensor input's values in a profile (as ICudaEngine.getProfileTensorValuesV2),
   * or undefined for an input that is not a shape tensor (see IOTensorInfo.isShapeTensor).
   * @throws InvalidArgumentError for an unknown input or profile index
   */
  getProfileShapeValues(input: string, profile = 0): ValueRange | undefined {
    this.getProfileShape(input, profile);
    return this.#values[profile]!.get(input);
  }

  /** Bytes of device memory (the sim: host scratch memory) a context needs at the largest shapes. */
  get deviceMemorySize(): number {
    this.assertLive();
    return callNative(() => this.#native.deviceMemorySize());
  }

  get numLayers(): number {
    this.assertLive();
    return callNative(() => this.#native.numLayers());
  }

  /**
   * Everything known about the engine: backend and version, inputs and outputs with their
   * dynamic dimensions, profiles, device memory, and its layers (name, type, precision,
   * tensors) as TensorRT's IEngineInspector reports them; on TensorRT a plan built with
   * profilingVerbosity 'layerNamesOnly' or 'none' reports names only or no layers
   * (`layerDetail` says which). The sim reports its steps in the same form. A report that is
   * not the JSON expected leaves the layers empty and says why in `layerError`.
   * @throws DisposedError after dispose(); TensorRTError when the backend cannot make the report
   */
  async inspect(): Promise<EngineInspection> {
    this.assertLive();
    const json = await awaitNative(() => this.#native.engineInformation());
    // An unreadable report costs the layers, not the rest: I/O and profiles come from the engine.
    let read: ReturnType<typeof readEngineInformation>;
    let layerError: string | undefined;
    try {
      read = readEngineInformation(json);
    } catch (error) {
      if (!(error instanceof TensorRTError)) throw error;
      read = { layerDetail: 'none', layers: [] };
      layerError = error.message;
    }
    const { layerDetail, layers } = read;
    const profiles = this.#profiles.map((profile, p) => {
      const entries: Record<string, InspectedProfileInput> = {};
      for (const [name, range] of profile) {
        const values = this.#values[p]!.get(name);
        entries[name] = { min: [...range.min], opt: [...range.opt], max: [...range.max], ...(values && { values: { min: [...values.min], opt: [...values.opt], max: [...values.max] } }) };
      }
      return entries;
    });
    return {
      backend: this.backend,
      version: this.backendVersion,
      io: this.#io.map((t) => ({
        name: t.name,
        mode: t.mode,
        dtype: t.dtype,
        shape: [...t.shape],
        dynamicDims: t.shape.flatMap((d, i) => (d < 0 ? [i] : [])),
        isShapeTensor: t.isShapeTensor,
      })),
      profiles,
      deviceMemorySize: this.deviceMemorySize,
      numLayers: this.numLayers,
      profilingVerbosity: callNative(() => this.#native.profilingVerbosity()),
      layerDetail,
      layers,
      ...(layerError !== undefined && { layerError }),
    };
  }

  /** The engine's bytes, as Runtime.deserializeCudaEngine accepts them. */
  async serialize(): Promise<Uint8Array> {
    this.assertLive();
    return awaitNative(() => this.#native.serialize());
  }

  /** A new context with its own scratch memory; contexts run in parallel with each other. */
  createExecutionContext(): ExecutionContext {
    this.assertLive();
    return new ExecutionContext(this, callNative(() => this.#native.createExecutionContext()));
  }

  protected releaseNative(): void {
    this.#native.dispose();
  }
}
