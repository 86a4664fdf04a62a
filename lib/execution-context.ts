/**
 * ExecutionContext: runs an engine, as TensorRT's IExecutionContext. One call runs at a time
 * per context (later calls wait their turn); separate contexts run in parallel on the libuv
 * pool. Inputs are checked here, against the engine and the active profile, before any
 * native work starts.
 */
import { STORAGE } from './dtype.js';
import type { Engine, IOTensorInfo } from './engine.js';
import { awaitNative, callNative, DataTypeError, InvalidArgumentError, ShapeError } from './errors.js';
import type { NativeExecutionContext, NativeHostTensor } from './native.js';
import { NativeResource } from './resource.js';
import { Tensor } from './tensor.js';
import { expectDims, expectInteger, expectObject, expectString } from './validate.js';

export type Feeds = Record<string, Tensor>;

export class ExecutionContext extends NativeResource {
  readonly engine: Engine;
  readonly #native: NativeExecutionContext;
  readonly #inputShapes = new Map<string, readonly number[]>();
  #profile = 0;
  #queue: Promise<unknown> = Promise.resolve();
  #inFlight = 0;

  /** @internal made by Engine.createExecutionContext */
  constructor(engine: Engine, context: NativeExecutionContext) {
    super('ExecutionContext', engine);
    this.engine = engine;
    this.#native = context;
  }

  /** The optimization profile used by later calls (default 0). */
  get optimizationProfile(): number {
    return this.#profile;
  }

  /**
   * Selects the optimization profile for later calls; clears shapes set with setInputShape.
   * @throws InvalidArgumentError for an index outside [0, numOptimizationProfiles)
   */
  setOptimizationProfile(profile: number): void {
    this.assertLive();
    expectInteger(profile, 'optimization profile', 0, this.engine.numOptimizationProfiles - 1);
    callNative(() => this.#native.setOptimizationProfile(profile));
    this.#profile = profile;
    this.#inputShapes.clear();
  }

  /**
   * Fixes the shape of an input for later calls, checked now against the active profile;
   * each later feed for it must have exactly these dims.
   * @throws ShapeError with the allowed range when the shape is outside the profile
   */
  setInputShape(name: string, dims: readonly number[]): void {
    this.assertLive();
    const input = this.#input(expectString(name, 'input name'));
    const shape = expectDims(dims, `shape of '${name}'`);
    this.#checkShape(input, shape);
    this.#inputShapes.set(name, Object.freeze(shape));
  }

  /** The shape set with setInputShape, if any. */
  getInputShape(name: string): readonly number[] | undefined {
    return this.#inputShapes.get(name);
  }

  /**
   * Runs the engine on `feeds` (one Tensor per input, by name) and resolves to every output.
   * Calls on one context queue behind each other.
   * @throws InvalidArgumentError for a missing or unknown input; DataTypeError for a tensor of
   *   the wrong dtype; ShapeError for a shape outside the engine or the active profile
   */
  async execute(feeds: Feeds): Promise<Record<string, Tensor>> {
    this.assertLive();
    const inputs = this.#prepare(feeds);
    const run = async (): Promise<Record<string, Tensor>> => {
      this.assertLive();
      const outputs = await awaitNative(() => this.#native.execute(inputs));
      const result: Record<string, Tensor> = {};
      for (const o of outputs) {
        const Storage = STORAGE[o.dtype];
        const data = new Storage(o.data, 0, o.data.byteLength / Storage.BYTES_PER_ELEMENT);
        result[o.name] = new Tensor(o.dtype, data, o.shape);
      }
      return result;
    };
    // An idle context starts at once (the native call is queued on the libuv pool before this
    // returns); a busy one chains behind the calls in flight.
    const next = (this.#inFlight++ === 0 ? run() : this.#queue.then(run, run)).finally(() => this.#inFlight--);
    this.#queue = next.catch(() => undefined);
    return next;
  }

  #input(name: string): IOTensorInfo {
    const t = this.engine.getTensor(name);
    if (!t || t.mode !== 'input') {
      throw new InvalidArgumentError(`'${name}' is not an input of this engine (inputs: ${this.engine.inputs.map((i) => i.name).join(', ')})`);
    }
    return t;
  }

  #checkShape(input: IOTensorInfo, dims: readonly number[]): void {
    if (dims.length !== input.shape.length) {
      throw new ShapeError(`input '${input.name}' expects rank ${input.shape.length} [${input.shape.join(', ')}] but received dims [${dims.join(', ')}]`);
    }
    const range = this.engine.getProfileShape(input.name, this.#profile);
    dims.forEach((d, i) => {
      const fixed = input.shape[i]!;
      if (fixed >= 0 && d !== fixed) {
        throw new ShapeError(`input '${input.name}' dimension ${i} must be ${fixed} but is ${d} (dims [${dims.join(', ')}])`);
      }
      if (d < range.min[i]! || d > range.max[i]!) {
        throw new ShapeError(
          `input '${input.name}' dimension ${i} is ${d}, outside optimization profile ${this.#profile}'s range [${range.min[i]}, ${range.max[i]}] ` +
            `(min [${range.min.join(', ')}], max [${range.max.join(', ')}])`,
        );
      }
    });
  }

  #prepare(feeds: Feeds): NativeHostTensor[] {
    expectObject(feeds, 'feeds');
    for (const name of Object.keys(feeds)) this.#input(name);
    const inputs: NativeHostTensor[] = [];
    for (const input of this.engine.inputs) {
      const tensor = feeds[input.name];
      if (tensor === undefined) {
        throw new InvalidArgumentError(`missing input '${input.name}' (${input.dtype} [${input.shape.join(', ')}]); the engine's inputs are ${this.engine.inputs.map((i) => i.name).join(', ')}`);
      }
      if (!(tensor instanceof Tensor)) throw new InvalidArgumentError(`input '${input.name}' must be a Tensor`);
      if (tensor.dtype !== input.dtype) {
        throw new DataTypeError(`input '${input.name}' expects ${input.dtype} but received a ${tensor.dtype} Tensor`);
      }
      const set = this.#inputShapes.get(input.name);
      if (set && (set.length !== tensor.dims.length || set.some((d, i) => d !== tensor.dims[i]))) {
        throw new ShapeError(`input '${input.name}' was set to [${set.join(', ')}] with setInputShape but received dims [${tensor.dims.join(', ')}]`);
      }
      this.#checkShape(input, tensor.dims);
      inputs.push({ name: input.name, dtype: tensor.dtype, shape: [...tensor.dims], data: tensor.data });
    }
    return inputs;
  }

  protected releaseNative(): void {
    this.#native.dispose();
  }
}
