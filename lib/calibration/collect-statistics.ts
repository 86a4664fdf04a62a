/**
 * The statistics half of post-training quantization: run the float model on calibration
 * batches with the tensors to quantize exposed as extra graph outputs, and turn each tensor's
 * values into a 2048-bin |x| histogram, in two passes over the data (TensorRT's calibrator makes
 * one, growing each range by powers of two, which its guide says ties the result to the batches'
 * order): the first finds each tensor's max |x| (and counts NaN and ±Inf), the second bins every
 * value over exactly that range. The histograms, and every threshold taken from them, then
 * depend on the values alone, not on how they were split into batches or in which order the
 * batches came (a histogram whose range grows batch by batch re-bins its earlier counts, which
 * moves them; see native/calibration/histogram.h).
 *
 * Reading the data twice. Data known to start over when iterated again is read twice and held
 * one batch at a time: an array, or an object whose [Symbol.iterator]() / [Symbol.asyncIterator]()
 * is a generator method (`*[Symbol.iterator]() {...}`, `async *[Symbol.asyncIterator]() {...}`,
 * e.g. one reading files from a directory), which makes a new generator on every call. An
 * iterator (a generator, `events.on()`) is read only once: its batches' inputs are copied and
 * kept for the second pass, up to KEEP_LIMIT_BYTES (1 GiB); data beyond that is binned in one
 * pass instead, its histograms growing as before, with a warning through the logger that says
 * how to get the exact ones. Any other iterable (a Node Readable stream, a readline interface,
 * a Set, a custom class) may or may not start over: its inputs are kept as for an iterator
 * while the first pass reads it to its end, then it is read again; a second read that gives
 * batches proves it restarts (the copies are dropped), one that gives none means it was read
 * once, and the copies are binned instead.
 */
import { create } from '@bufbuild/protobuf';
import { TensorProto_DataType, TypeProto_TensorSchema, TypeProtoSchema, ValueInfoProtoSchema, type ModelProto } from 'onnx-buf';

import type { BackendOption } from '../backend.js';
import { buildEngine } from '../build-engine.js';
import { DataTypeError, InvalidArgumentError, ShapeError, TensorRTError } from '../errors.js';
import { InferenceSession } from '../inference-session.js';
import type { Logger } from '../logger.js';
import { writeModel } from '../onnx/model-io.js';
import type { ShapeMap } from '../shapes.js';
import { Tensor } from '../tensor.js';
import { describe } from '../validate.js';
import { CalibrationBatchReader, type CalibrationStep } from './calibration-data.js';
import { CalibrationHistogram, ownedByLibrary } from './histogram.js';

/** One calibration batch: graph input name -> tensor. */
export type CalibrationFeeds = Record<string, Tensor>;

/** What calibration reads batches from: an array, a generator, or an async generator streaming from disk. */
export type CalibrationData = Iterable<CalibrationFeeds> | AsyncIterable<CalibrationFeeds>;

export interface CollectOptions {
  backend: BackendOption;
  /** For the float engine's builder and runtime (undefined: their defaults). */
  device?: number | undefined;
  plugins?: readonly string[] | undefined;
  /** Fixed input shapes for the float engine; taken from the first batch when absent. */
  shapes: ShapeMap | undefined;
  /** Where the note goes when data read once is too large to keep for the second pass. */
  logger?: Logger | undefined;
  /**
   * The first pass only, for method 'minmax', which reads max |x| alone: the data is read once
   * and nothing is kept, and each histogram holds no counts, only its range [0, max |x|].
   */
  rangesOnly?: boolean;
  /** @internal the cap on inputs kept from data read once (default KEEP_LIMIT_BYTES) */
  keepLimitBytes?: number;
}

/** A tensor's range over the calibration data. */
export interface TensorRange {
  /** max |x| over the finite values (0 when there are none). */
  maxAbs: number;
  /** How many values were NaN or ±Inf. */
  nonFinite: number;
}

export interface CollectedRanges {
  ranges: Map<string, TensorRange>;
  batches: number;
}

export interface CollectedStatistics {
  /** One histogram per requested tensor (the caller disposes them). */
  histograms: Map<string, CalibrationHistogram>;
  batches: number;
}

export function isCalibrationData(value: unknown): value is CalibrationData {
  return (
    typeof value === 'object' && value !== null &&
    (typeof (value as Iterable<unknown>)[Symbol.iterator] === 'function' || typeof (value as AsyncIterable<unknown>)[Symbol.asyncIterator] === 'function')
  );
}

/** Checks one batch: an object of Tensors holding every input the model needs, float32 where the model says so. */
function checkBatch(batch: unknown, index: number, inputs: readonly string[]): CalibrationFeeds {
  const what = `calibration batch ${index}`;
  if (typeof batch !== 'object' || batch === null || Array.isArray(batch)) {
    throw new InvalidArgumentError(`Expected an object of Tensors (input name -> Tensor) for ${what} but received ${describe(batch)}`);
  }
  const feeds = batch as Record<string, unknown>;
  for (const name of inputs) {
    if (!(name in feeds)) {
      throw new InvalidArgumentError(`Expected a Tensor for input '${name}' in ${what} but it has only ${Object.keys(feeds).map((k) => `'${k}'`).join(', ') || 'no inputs'}`);
    }
    if (!(feeds[name] instanceof Tensor)) throw new InvalidArgumentError(`Expected a Tensor for input '${name}' in ${what} but received ${describe(feeds[name])}`);
  }
  return feeds as CalibrationFeeds;
}

/**
 * The model with `tensors` appended to its graph outputs (as float32; their shapes are left
 * for the builder to infer). Works on a copy of the graph's output list only: nodes and
 * weights are shared with `model`, which is not changed.
 */
export async function withExposedOutputs(model: ModelProto, tensors: readonly string[]): Promise<Uint8Array> {
  const graph = model.graph!;
  const saved = graph.output;
  const present = new Set(saved.map((o) => o.name));
  const extra = tensors.filter((t) => !present.has(t)).map((name) =>
    create(ValueInfoProtoSchema, {
      name,
      type: create(TypeProtoSchema, { value: { case: 'tensorType', value: create(TypeProto_TensorSchema, { elemType: TensorProto_DataType.FLOAT }) } }),
    }),
  );
  graph.output = [...saved, ...extra];
  try {
    return await writeModel(model);
  } finally {
    graph.output = saved;
  }
}

/** The most input bytes kept from data that can be read only once, for the second pass. */
const KEEP_LIMIT_BYTES = 2 ** 30;

/**
 * How `data` reads a second time. 'once': it is its own iterator (a generator, an async
 * generator, `events.on()`), so a second [Symbol.iterator]() would resume it, not restart it.
 * 'again': an array, or an iterable whose iteration method is a generator function, which
 * starts a new generator on each call. 'unknown': anything else (a stream, a readline
 * interface, a class with a plain iteration method), which only a second read can tell.
 */
export function rereading(data: CalibrationData): 'once' | 'again' | 'unknown' {
  if (Array.isArray(data)) return 'again';
  if (typeof (data as { next?: unknown }).next === 'function') return 'once';
  const method = Symbol.asyncIterator in data ? (data as AsyncIterable<unknown>)[Symbol.asyncIterator] : (data as Iterable<unknown>)[Symbol.iterator];
  const tag = Object.prototype.toString.call(method);
  return tag === '[object GeneratorFunction]' || tag === '[object AsyncGeneratorFunction]' ? 'again' : 'unknown';
}

/** Folds `values` into `range`: one comparison per value while the maximum stands. */
function widenRange(range: TensorRange, values: Float32Array): void {
  let max = range.maxAbs;
  let nonFinite = 0;
  for (let i = 0; i < values.length; i++) {
    const a = Math.abs(values[i]!);
    if (a > max) {
      if (a === Infinity) nonFinite++;
      else max = a;
    } else if (a !== a) {
      nonFinite++;
    }
  }
  range.maxAbs = max;
  range.nonFinite += nonFinite;
}

/** A copy of the batch's inputs, for data that cannot be read again; and its size in bytes. */
export function keepInputs(feeds: CalibrationFeeds, inputs: readonly string[]): { kept: CalibrationFeeds; bytes: number } {
  let bytes = 0;
  const kept: CalibrationFeeds = {};
  for (const name of inputs) {
    const tensor = feeds[name]!;
    // Copied: a generator may refill the same array for its next batch.
    kept[name] = new Tensor(tensor.dtype, tensor.data.slice() as typeof tensor.data, tensor.dims);
    bytes += tensor.data.byteLength;
  }
  return { kept, bytes };
}

/**
 * The float model with the tensors to calibrate exposed, built on the first batch that needs
 * it (its shapes can fix dynamic dimensions) and run batch after batch, over both passes.
 */
class FloatRuns {
  readonly #inputSet: Set<string>;
  readonly #exposed: string[];
  #session: InferenceSession | undefined;

  constructor(
    private readonly model: ModelProto,
    private readonly inputs: readonly string[],
    private readonly tensors: readonly string[],
    private readonly options: CollectOptions,
  ) {
    this.#inputSet = new Set(inputs);
    this.#exposed = tensors.filter((t) => !this.#inputSet.has(t));
  }

  /**
   * Each tensor's float32 values for one batch, with whether the library made the array
   * (engine outputs, never handed out) rather than the caller (feeds).
   */
  async values(feeds: CalibrationFeeds, batch: number): Promise<{ name: string; values: Float32Array; ours: boolean }[]> {
    // Where every tensor to calibrate is a graph input, the feeds are all there is to bin: no engine is needed.
    let outputs: Record<string, Tensor> = {};
    if (this.#exposed.length > 0) {
      this.#session ??= await this.#start(feeds, batch);
      try {
        outputs = await this.#session.run(Object.fromEntries(this.inputs.map((name) => [name, feeds[name]!])));
      } catch (error) {
        throw batchMismatch(error, batch);
      }
    }
    return this.tensors.map((name) => {
      const input = this.#inputSet.has(name);
      const tensor = input ? feeds[name] : outputs[name];
      if (!tensor || tensor.dtype !== 'float32') {
        throw new InvalidArgumentError(`Expected a float32 tensor '${name}' in calibration batch ${batch} but received ${tensor ? tensor.dtype : 'none'}`);
      }
      return { name, values: tensor.data as Float32Array, ours: !input };
    });
  }

  async #start(feeds: CalibrationFeeds, batch: number): Promise<InferenceSession> {
    const { options, inputs } = this;
    const fromBatch = options.shapes === undefined;
    const shapes = options.shapes ?? Object.fromEntries(inputs.map((name) => [name, [...feeds[name]!.dims]]));
    try {
      const where = {
        ...(options.device !== undefined && { device: options.device }),
        ...(options.plugins !== undefined && { plugins: options.plugins }),
      };
      const engine = await buildEngine(await withExposedOutputs(this.model, this.#exposed), { backend: options.backend, shapes, ...where });
      return await InferenceSession.create(engine, { backend: options.backend, ...where });
    } catch (error) {
      // Shapes taken from the batch that the model refuses are the batch's fault.
      throw fromBatch ? batchMismatch(error, batch) : error;
    }
  }

  dispose(): void {
    this.#session?.dispose();
  }
}

/**
 * The first pass: each tensor's range. Reads `reader` to its end, or, with `keep`, until the
 * kept inputs pass `keep.limit` bytes (the batch that passes it included); says which. With
 * `keep.toEnd` it reads on to the end all the same, dropping the kept inputs (`keep.batches`
 * is then emptied and `keep.overflowed` set).
 */
async function readRanges(
  reader: CalibrationBatchReader,
  runs: FloatRuns,
  inputs: readonly string[],
  ranges: Map<string, TensorRange>,
  keep?: KeptInputs,
): Promise<{ ended: boolean }> {
  let bytes = 0;
  for (let step = await reader.next(); !step.done; step = await reader.next()) {
    const feeds = checkBatch(step.value, step.index, inputs);
    for (const { name, values } of await runs.values(feeds, step.index)) widenRange(ranges.get(name)!, values);
    if (keep && !keep.overflowed) {
      const { kept, bytes: more } = keepInputs(feeds, inputs);
      keep.batches.push(kept);
      bytes += more;
      if (bytes > keep.limit) {
        if (!keep.toEnd) return { ended: false };
        keep.overflowed = true;
        keep.batches.length = 0;
      }
    }
  }
  return { ended: true };
}

/** Copies of the batches' inputs kept from the first pass, for data that may not read again. */
interface KeptInputs {
  batches: CalibrationFeeds[];
  limit: number;
  /** Read the data to its end even when the copies pass `limit` (data that may restart). */
  toEnd: boolean;
  overflowed?: boolean;
}

/** Bins one batch's values into the histograms; resolves once they are binned (that bounds memory). */
async function binBatch(runs: FloatRuns, histograms: Map<string, CalibrationHistogram>, feeds: CalibrationFeeds, batch: number): Promise<void> {
  const pending = (await runs.values(feeds, batch)).map(({ name, values, ours }) =>
    // Engine outputs are this module's own, never handed out: binned without a copy.
    // Feeds are the caller's, and may be transferred meanwhile: add() copies them.
    histograms.get(name)!.add(ours ? ownedByLibrary(values) : values),
  );
  await Promise.all(pending);
}

/**
 * Runs the float model over every batch of `data` and returns max |x| and the count of NaN
 * and ±Inf per tensor in `tensors` (graph inputs among them are read straight from the feeds):
 * the first pass of collectStatistics alone, reading the data once and holding one batch.
 * Graph inputs the model reads are `inputs`; each batch must hold all of them.
 * @throws as collectStatistics
 */
export async function collectRanges(
  model: ModelProto,
  inputs: readonly string[],
  tensors: readonly string[],
  data: CalibrationData,
  options: CollectOptions,
): Promise<CollectedRanges> {
  const ranges = new Map(tensors.map((t): [string, TensorRange] => [t, { maxAbs: 0, nonFinite: 0 }]));
  const runs = new FloatRuns(model, inputs, tensors, options);
  const reader = new CalibrationBatchReader(data);
  try {
    await readRanges(reader, runs, inputs, ranges);
    if (reader.count === 0) throw emptyData();
    return { ranges, batches: reader.count };
  } finally {
    reader.close();
    runs.dispose();
  }
}

/**
 * Runs the float model over every batch of `data`, twice (see the top of this file), and
 * returns a histogram of |x| per tensor in `tensors` (graph inputs among them are binned
 * straight from the feeds), each over [0, that tensor's max |x|]. Graph inputs the model reads
 * are `inputs`; each batch must hold all of them.
 * @throws InvalidArgumentError for data that is not iterable, a batch that is not an object
 *   of Tensors or lacks an input, a batch of the wrong shape or type (naming the batch, with
 *   the engine's ShapeError or DataTypeError as cause), for empty data, and for data that
 *   reads differently the second time (another number of batches, or other values); TensorRTError
 *   with the original as `cause` when the iterator itself throws (calibrationDataError)
 */
export async function collectStatistics(
  model: ModelProto,
  inputs: readonly string[],
  tensors: readonly string[],
  data: CalibrationData,
  options: CollectOptions,
): Promise<CollectedStatistics> {
  const ranges = new Map(tensors.map((t): [string, TensorRange] => [t, { maxAbs: 0, nonFinite: 0 }]));
  const histograms = new Map<string, CalibrationHistogram>();
  const runs = new FloatRuns(model, inputs, tensors, options);
  const first = new CalibrationBatchReader(data);
  let second: CalibrationBatchReader | undefined;
  try {
    const kind = rereading(data);
    const keep: KeptInputs | undefined =
      kind !== 'again' && !options.rangesOnly ? { batches: [], limit: options.keepLimitBytes ?? KEEP_LIMIT_BYTES, toEnd: kind === 'unknown' } : undefined;
    const { ended } = await readRanges(first, runs, inputs, ranges, keep);
    if (first.count === 0) throw emptyData();
    const zeros = new Float64Array(CalibrationHistogram.bins);
    for (const [name, range] of ranges) histograms.set(name, CalibrationHistogram.fromCounts(zeros, range.maxAbs));
    if (options.rangesOnly) return { histograms, batches: first.count };

    let batches = 0;
    let step: CalibrationStep | undefined;
    if (kind !== 'once') {
      second = new CalibrationBatchReader(data);
      step = await second.next();
      if (keep && step.done) {
        // A second read with no batches at all: the data was read once (a stream).
        if (keep.overflowed) throw readOnceTooLarge(first.count, keep.limit);
        step = undefined;
      } else if (keep) {
        keep.batches.length = 0; // it restarts: the copies are not needed
      }
    }
    if (step === undefined) {
      for (const feeds of keep!.batches) await binBatch(runs, histograms, feeds, batches++);
    } else {
      for (; !step.done; step = await second!.next()) {
        if (batches === first.count) throw countChanged(first.count, `more`);
        await binBatch(runs, histograms, checkBatch(step.value, step.index, inputs), batches++);
      }
    }
    if (!ended) {
      // Data read once and too large to keep: the rest is binned as it comes, the ranges growing.
      options.logger?.log(
        'warning',
        `quantizeInt8: the calibration data can be read only once (a generator) and its first ${batches} batches passed ${keep!.limit} bytes, so the rest is binned in one pass, histogram ranges growing as larger values come; the thresholds may then depend on the batches' order. Pass an iterable that starts over when read again (an array, or an object with a generator method async *[Symbol.asyncIterator]() that opens the data afresh) for exact histograms`,
      );
      keep!.batches.length = 0;
      for (let step = await first.next(); !step.done; step = await first.next()) {
        await binBatch(runs, histograms, checkBatch(step.value, step.index, inputs), batches++);
      }
      return { histograms, batches };
    }
    checkSecondRead(ranges, histograms, first.count, batches);
    return { histograms, batches };
  } catch (error) {
    for (const h of histograms.values()) h.dispose();
    throw error;
  } finally {
    first.close();
    second?.close();
    runs.dispose();
  }
}

/**
 * Data that reads differently the second time has no one histogram: say so rather than bin a
 * mixture. Values a little beyond the first pass's range are let through (add() then grows the
 * range, by as little): a GPU backend need not compute the same activations bit for bit on
 * every run, while changed data moves the maximum by far more than RANGE_DRIFT.
 */
function checkSecondRead(ranges: Map<string, TensorRange>, histograms: Map<string, CalibrationHistogram>, firstCount: number, secondCount: number): void {
  if (secondCount !== firstCount) throw countChanged(firstCount, String(secondCount));
  for (const [name, range] of ranges) {
    const histogram = histograms.get(name)!;
    if (histogram.maxAbs > range.maxAbs * (1 + RANGE_DRIFT) || histogram.skipped !== range.nonFinite) {
      throw new InvalidArgumentError(
        `Expected the same values of '${name}' on the second read of the calibration data but max |x| went from ${range.maxAbs} to ${histogram.maxAbs} (NaN and Inf: from ${range.nonFinite} to ${histogram.skipped}); ${SAME_ON_EVERY_READ}`,
      );
    }
  }
}

const SAME_ON_EVERY_READ =
  'calibration reads the data twice (ranges, then histograms); pass batches that are the same on every read (an array, or an iterable that re-reads the same files)';

function countChanged(firstCount: number, secondCount: string): InvalidArgumentError {
  return new InvalidArgumentError(`Expected the calibration data to give ${firstCount} batches on its second read but it gave ${secondCount}; ${SAME_ON_EVERY_READ}`);
}

/** The relative excess of max |x| on the second read taken as the backend's arithmetic, not other data. */
const RANGE_DRIFT = 1e-3;

function readOnceTooLarge(firstCount: number, limit: number): InvalidArgumentError {
  return new InvalidArgumentError(
    `Expected the calibration data to give its ${firstCount} batches again on its second read but it gave none: it can be read only once (a stream), and its inputs passed the ${limit} bytes kept for that case; calibration reads the data twice (ranges, then histograms), so pass an iterable that starts over when read again (an array, or an object whose async *[Symbol.asyncIterator]() opens the files afresh), or a generator (then the batches past the limit are binned in one pass)`,
  );
}

function emptyData(): InvalidArgumentError {
  return new InvalidArgumentError('Expected at least one batch in calibrationData but the iterable was empty');
}

/**
 * A batch the float engine refused for its shape or element type is an InvalidArgumentError
 * naming the batch, as the implicit path reports such a batch (the engine's ShapeError or
 * DataTypeError is its cause); other errors only gain the batch's index.
 */
function batchMismatch(error: unknown, batch: number): unknown {
  if (error instanceof ShapeError || error instanceof DataTypeError) {
    return new InvalidArgumentError(`calibration batch ${batch} does not fit the model: ${error.message}`, error.logMessages, { cause: error });
  }
  if (error instanceof TensorRTError) error.message = `calibration batch ${batch}: ${error.message}`;
  return error;
}
