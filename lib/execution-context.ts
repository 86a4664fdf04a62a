/**
 * ExecutionContext: runs an engine, as TensorRT's IExecutionContext. One call runs at a time
 * per context (later calls wait their turn); separate contexts run in parallel on the libuv
 * pool. Inputs are checked here, against the engine and the active profile, before any
 * native work starts.
 */
import { STORAGE } from './dtype.js';
import type { Engine, IOTensorInfo } from './engine.js';
import { callNative, DataTypeError, fromNativeError, InvalidArgumentError, ShapeError } from './errors.js';
import type { NativeCallTiming, NativeExecutionContext, NativeHostTensor, NativeOutputs } from './native.js';
import type { ValueRange } from './optimization-profile.js';
import { NativeResource } from './resource.js';
import { type AnyTensor, Tensor } from './tensor.js';
import { expectDims, expectInteger, expectObject, expectString } from './validate.js';

export type Feeds = Record<string, Tensor>;

/** What execute() checks one input against under the active profile, computed once. */
interface InputCheck {
  info: IOTensorInfo;
  min: readonly number[];
  max: readonly number[];
  /** Set by setInputShape. */
  fixed: readonly number[] | undefined;
  /** For a shape tensor: the range of its values under the active profile. */
  values: ValueRange | undefined;
}

export class ExecutionContext extends NativeResource {
  readonly engine: Engine;
  readonly #native: NativeExecutionContext;
  #profile = 0;
  #checks: InputCheck[];
  #queue: Promise<unknown> = Promise.resolve();
  #inFlight = 0;

  /** @internal made by Engine.createExecutionContext */
  constructor(engine: Engine, context: NativeExecutionContext) {
    super('ExecutionContext', engine);
    this.engine = engine;
    this.#native = context;
    this.#checks = this.#checksFor(0);
  }

  #checksFor(profile: number): InputCheck[] {
    return this.engine.inputs.map((info) => {
      const range = this.engine.getProfileShape(info.name, profile);
      return { info, min: range.min, max: range.max, fixed: undefined, values: this.engine.getProfileShapeValues(info.name, profile) };
    });
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
    this.#checks = this.#checksFor(profile);
  }

  /**
   * Fixes the shape of an input for later calls, checked now against the active profile;
   * each later feed for it must have exactly these dims.
   * @throws ShapeError with the allowed range when the shape is outside the profile
   */
  setInputShape(name: string, dims: readonly number[]): void {
    this.assertLive();
    const check = this.#check(expectString(name, 'input name'));
    const shape = expectDims(dims, `shape of '${name}'`);
    this.#checkShape(check, shape);
    check.fixed = Object.freeze(shape);
  }

  /** The shape set with setInputShape, if any. */
  getInputShape(name: string): readonly number[] | undefined {
    return this.#check(name).fixed;
  }

  /**
   * Runs the engine on `feeds` (one Tensor per input, by name) and resolves to every output.
   * Calls on one context queue behind each other. A call copies its inputs when it starts (at
   * once on an idle context, else when the calls ahead of it finish); from then on their
   * buffers may be changed or transferred. Inputs may live in a SharedArrayBuffer. Each output
   * is an AnyTensor: checking its `dtype` narrows its `data`.
   * @throws InvalidArgumentError for a missing or unknown input, or one whose buffer was
   *   transferred away before the call started; DataTypeError for a tensor of the wrong
   *   dtype; ShapeError for a shape outside the engine or the active profile
   */
  execute(feeds: Feeds): Promise<Record<string, AnyTensor>> {
    return this.#call(feeds, async (inputs) => toTensors(await this.#native.execute(inputs)));
  }

  /**
   * @internal One call of InferenceSession.benchmark(): as execute(), or compute only
   * (`transfers: false`: inputs uploaded once, outputs not read back), or replayed from a CUDA
   * graph. Resolves to the outputs (without transfers: those an earlier call read back) and
   * the backend's event timing of the call's parts, null where the backend does not time them
   * apart (the sim).
   */
  executeForBenchmark(
    feeds: Feeds,
    options: { transfers: boolean; cudaGraph: boolean },
  ): Promise<{ outputs: Record<string, AnyTensor>; timing: NativeCallTiming | null }> {
    return this.#call(feeds, async (inputs) => {
      const { outputs, timing } = await this.#native.execute(inputs, options);
      return { outputs: toTensors(outputs), timing };
    });
  }

  #call<T>(feeds: Feeds, invoke: (inputs: NativeHostTensor[]) => Promise<T>): Promise<T> {
    // Not an async function: on the hot path each promise layer is a measurable share of a
    // tiny engine's round trip, so validation errors are turned into rejections by hand.
    let inputs: NativeHostTensor[];
    try {
      this.assertLive();
      inputs = this.#prepare(feeds);
    } catch (error) {
      return Promise.reject(error);
    }
    // No call-site Error is captured here (2-3 us, a tenth of a tiny engine's round trip): the
    // error is created inside this async chain, so V8's async stack traces already lead back
    // to the caller's await.
    const run = async (): Promise<T> => {
      try {
        this.assertLive();
        let result: Awaited<T>;
        try {
          result = await invoke(inputs);
        } catch (error) {
          throw fromNativeError(error);
        }
        return result;
      } finally {
        this.#inFlight--;
      }
    };
    // An idle context starts at once (the native call is queued on the libuv pool before this
    // returns); a busy one chains behind the calls in flight, whether they succeed or fail.
    const next = this.#inFlight++ === 0 ? run() : this.#queue.then(run, run);
    this.#queue = next;
    return next;
  }

  #check(name: string): InputCheck {
    const check = this.#checks.find((c) => c.info.name === name);
    if (!check) {
      throw new InvalidArgumentError(`'${name}' is not an input of this engine (inputs: ${this.#checks.map((c) => c.info.name).join(', ')})`);
    }
    return check;
  }

  #checkShape({ info, min, max }: InputCheck, dims: readonly number[]): void {
    if (dims.length !== info.shape.length) {
      throw new ShapeError(`input '${info.name}' expects rank ${info.shape.length} [${info.shape.join(', ')}] but received dims [${dims.join(', ')}]`);
    }
    for (let i = 0; i < dims.length; i++) {
      const d = dims[i]!;
      const fixed = info.shape[i]!;
      if (fixed >= 0 && d !== fixed) {
        throw new ShapeError(`input '${info.name}' dimension ${i} must be ${fixed} but is ${d} (dims [${dims.join(', ')}])`);
      }
      if (d < min[i]! || d > max[i]!) {
        throw new ShapeError(
          `input '${info.name}' dimension ${i} is ${d}, outside optimization profile ${this.#profile}'s range [${min[i]}, ${max[i]}] ` +
            `(min [${min.join(', ')}], max [${max.join(', ')}])`,
        );
      }
    }
  }

  /** A shape tensor's values must lie in the range the engine was built for, as on TensorRT. */
  #checkValues(name: string, range: ValueRange, tensor: Tensor): void {
    const data = tensor.data as Int32Array | BigInt64Array;
    for (let i = 0; i < range.min.length; i++) {
      const v = Number(data[i]!);
      if (v < range.min[i]! || v > range.max[i]!) {
        throw new ShapeError(
          `shape tensor '${name}' value ${i} is ${data[i]}, outside optimization profile ${this.#profile}'s range [${range.min[i]}, ${range.max[i]}] ` +
            `(min values [${range.min.join(', ')}], max values [${range.max.join(', ')}])`,
        );
      }
    }
  }

  #prepare(feeds: Feeds): NativeHostTensor[] {
    expectObject(feeds, 'feeds');
    const inputs: NativeHostTensor[] = [];
    let given = 0;
    for (const check of this.#checks) {
      const { info } = check;
      const tensor = feeds[info.name];
      if (tensor === undefined) {
        throw new InvalidArgumentError(`missing input '${info.name}' (${info.dtype} [${info.shape.join(', ')}]); the engine's inputs are ${this.#checks.map((c) => c.info.name).join(', ')}`);
      }
      given++;
      if (!(tensor instanceof Tensor)) throw new InvalidArgumentError(`input '${info.name}' must be a Tensor`);
      if (tensor.dtype !== info.dtype) {
        throw new DataTypeError(`input '${info.name}' expects ${info.dtype} but received a ${tensor.dtype} Tensor`);
      }
      const set = check.fixed;
      if (set && (set.length !== tensor.dims.length || set.some((d, i) => d !== tensor.dims[i]))) {
        throw new ShapeError(`input '${info.name}' was set to [${set.join(', ')}] with setInputShape but received dims [${tensor.dims.join(', ')}]`);
      }
      this.#checkShape(check, tensor.dims);
      if (check.values) this.#checkValues(check.info.name, check.values, tensor);
      inputs.push({ name: info.name, dtype: tensor.dtype, shape: tensor.dims as number[], data: tensor.data });
    }
    if (Object.keys(feeds).length !== given) {
      for (const name of Object.keys(feeds)) this.#check(name);
    }
    return inputs;
  }

  protected releaseNative(): void {
    this.#native.dispose();
  }
}

function toTensors(outputs: NativeOutputs): Record<string, AnyTensor> {
  const result: Record<string, AnyTensor> = {};
  for (const o of outputs) {
    const Storage = STORAGE[o.dtype];
    // The backend's outputs are consistent by construction: skip the constructor's checks.
    result[o.name] = Tensor.trusted(o.dtype, new Storage(o.data, 0, o.data.byteLength / Storage.BYTES_PER_ELEMENT), o.shape) as AnyTensor;
  }
  return result;
}
