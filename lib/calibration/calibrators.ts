/**
 * INT8 calibrators for implicit quantization (TensorRT 10's BuilderFlag.kINT8), driven from
 * JavaScript: `EntropyCalibrator2` and `MinMaxCalibrator`, as TensorRT's IInt8EntropyCalibrator2
 * and IInt8MinMaxCalibrator. The builder asks for batches on its build thread; each request
 * comes to the event loop, where the next batch is pulled from the (async) iterable, so batches
 * may be read from disk lazily. TensorRT 11 has no implicit path: use quantizeInt8 there.
 */
import type { DataType } from '../dtype.js';
import { InvalidArgumentError, TensorRTError } from '../errors.js';
import type { Feeds } from '../execution-context.js';
import type { NativeCalibratorRequest } from '../native.js';
import { Tensor } from '../tensor.js';
import { expectBytes, expectFunction, expectInteger, expectObject, invalid } from '../validate.js';
import { CalibrationBatchReader } from './calibration-data.js';

/** Calibration batches: feeds (input name -> Tensor) at the shapes the network calibrates with. */
export type CalibrationBatches = AsyncIterable<Feeds> | Iterable<Feeds>;

export interface CalibratorOptions {
  /**
   * The calibration data, one feeds record per batch, read once per build that calibrates (the
   * sim keeps the batches' inputs, up to 1 GiB, for the second of its two calibration passes).
   * Every network input must be given as a Tensor of its element type and of the shape the
   * build calibrates at: the network's shape, with profile 0's `opt` dimensions for dynamic ones.
   */
  batches: CalibrationBatches;
  /** The batch dimension of each batch (what TensorRT's getBatchSize reports). */
  batchSize: number;
  /** A previous calibration's cache (TensorRT's text format); when given, no batch is read. */
  readCache?: () => Uint8Array | undefined | Promise<Uint8Array | undefined>;
  /** Receives the cache a calibration produced, to save for the next build. */
  writeCache?: (cache: Uint8Array) => void | Promise<void>;
}

/** Which statistic a calibrator turns into each tensor's scale. */
export type CalibratorAlgorithm = 'entropy2' | 'minmax';

/** Common base of the INT8 calibrators; set one as `config.int8Calibrator`. */
export abstract class Int8Calibrator {
  abstract readonly algorithm: CalibratorAlgorithm;
  readonly batchSize: number;
  readonly #batches: CalibrationBatches;
  readonly #readCache: CalibratorOptions['readCache'];
  readonly #writeCache: CalibratorOptions['writeCache'];

  /**
   * @throws InvalidArgumentError when `batches` is not iterable, `batchSize` not a positive
   *   integer, or readCache/writeCache not functions
   */
  constructor(options: CalibratorOptions) {
    const o = expectObject(options, 'calibrator options');
    const batches = o.batches as CalibrationBatches | undefined;
    if (batches === null || typeof batches !== 'object' || (!(Symbol.asyncIterator in batches) && !(Symbol.iterator in batches))) {
      invalid('an iterable or async iterable of feeds', 'calibrator option batches', batches);
    }
    this.#batches = batches;
    this.batchSize = expectInteger(o.batchSize, 'calibrator option batchSize', 1, 2 ** 31 - 1);
    this.#readCache = o.readCache === undefined ? undefined : expectFunction(o.readCache, 'calibrator option readCache');
    this.#writeCache = o.writeCache === undefined ? undefined : expectFunction(o.writeCache, 'calibrator option writeCache');
  }

  /** @internal one build's conversation with the native calibrator */
  startSession(): CalibrationSession {
    return new CalibrationSession(this.#batches, this.#readCache, this.#writeCache);
  }
}

/** TensorRT's IInt8EntropyCalibrator2: per-tensor thresholds by KL divergence over a 2048-bin |x| histogram. */
export class EntropyCalibrator2 extends Int8Calibrator {
  readonly algorithm = 'entropy2' as const;
}

/** TensorRT's IInt8MinMaxCalibrator: per-tensor thresholds at the largest |x| seen. */
export class MinMaxCalibrator extends Int8Calibrator {
  readonly algorithm = 'minmax' as const;
}

/**
 * @internal Answers the native calibrator's requests for one build. Requests arrive one at a
 * time (the build thread waits for each answer). The first error is kept so the build's
 * rejection can carry it.
 */
export class CalibrationSession {
  readonly #reader: CalibrationBatchReader<Feeds>;
  /** The first error thrown while answering, by user code or by validation. */
  error: unknown;
  /** Batches handed to the builder so far. */
  get batchesRead(): number {
    return this.#reader.count;
  }

  constructor(
    batches: CalibrationBatches,
    private readonly readCache: CalibratorOptions['readCache'],
    private readonly writeCache: CalibratorOptions['writeCache'],
  ) {
    this.#reader = new CalibrationBatchReader(batches);
  }

  /** The native side's callback: resolves to the answer, rejects with the error. */
  async request(request: NativeCalibratorRequest): Promise<Uint8Array[] | Uint8Array | null | undefined> {
    try {
      if (request.kind === 'readCache') {
        const cache = await this.readCache?.();
        return cache === undefined || cache === null ? null : expectBytes(cache, 'the result of readCache');
      }
      if (request.kind === 'writeCache') {
        await this.writeCache?.(request.cache);
        return undefined;
      }
      return await this.#nextBatch(request.inputs);
    } catch (error) {
      this.error ??= error;
      throw error;
    }
  }

  async #nextBatch(inputs: { name: string; dtype: DataType; shape: number[]; bytes: number }[]): Promise<Uint8Array[] | null> {
    const step = await this.#reader.next();
    if (step.done) return null;
    const { index, value: feeds } = step;
    if (feeds === null || typeof feeds !== 'object' || Array.isArray(feeds)) invalid('a feeds record (input name -> Tensor)', `calibration batch ${index}`, feeds);
    const record = feeds as Record<string, unknown>;
    const expected = new Set(inputs.map((i) => i.name));
    for (const name of Object.keys(record)) {
      if (!expected.has(name)) throw new InvalidArgumentError(`calibration batch ${index} has '${name}', which is not an input of the network (inputs: ${[...expected].join(', ')})`);
    }
    return inputs.map((input) => {
      const tensor = record[input.name];
      const what = `input '${input.name}' of calibration batch ${index}`;
      const wanted = `a ${input.dtype} Tensor of dims [${input.shape.join(', ')}]`;
      if (!(tensor instanceof Tensor)) invalid(wanted, what, tensor);
      if (tensor.dtype !== input.dtype || tensor.dims.length !== input.shape.length || tensor.dims.some((d, i) => d !== input.shape[i])) {
        throw new InvalidArgumentError(`Expected ${wanted} for ${what} but received a ${tensor.dtype} Tensor of dims [${tensor.dims.join(', ')}]`);
      }
      const data = tensor.data as ArrayBufferView;
      return new Uint8Array(data.buffer, data.byteOffset, data.byteLength);
    });
  }

  /** Lets a generator left mid-way run its cleanup (finally blocks, open files). Never waits. */
  close(): void {
    this.#reader.close();
  }

  /**
   * The error a failed build should throw: the calibration's own error when it is one of ours
   * (a bad batch, or the batches' iterator failing, wrapped as on every INT8 path by
   * calibration-data.ts), else the build's error with the user's error as its cause (a
   * readCache or writeCache callback that threw).
   */
  explain(buildError: unknown): unknown {
    if (this.error === undefined) return buildError;
    if (this.error instanceof TensorRTError) return this.error;
    if (buildError instanceof Error && buildError.cause === undefined) (buildError as Error & { cause?: unknown }).cause = this.error;
    return buildError;
  }
}
