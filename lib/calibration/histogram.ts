/**
 * CalibrationHistogram: the per-tensor statistics of INT8 calibration, as TensorRT's entropy
 * calibrator collects them: a 2048-bin histogram of |x| over [0, max|x|], filled batch by
 * batch on the addon's calibration threads, and the ways to turn it into a clipping threshold
 * (entropy, min-max, percentile, and 'auto', the one of those with the least quantization
 * error). The scale of symmetric int8 quantization is threshold / 127.
 */
import { callNative, fromNativeError, InvalidArgumentError } from '../errors.js';
import { native, type NativeCalibrationHistogram } from '../native.js';
import { NativeResource } from '../resource.js';
import { expectObject, expectOneOf, invalid } from '../validate.js';
import { quantizationMeanSquaredError } from './quantization-error.js';

/**
 * How a threshold is chosen from the statistics. 'auto', for a histogram alone, picks whichever
 * of entropy, percentile 99.99, percentile 99.999 and minmax quantizes the calibration data
 * with the least mean squared error (estimated from the histogram); quantizeInt8, which has
 * the model, judges those candidates by the error of the layers reading the tensor instead.
 */
export type CalibrationMethod = 'entropy' | 'minmax' | 'percentile' | 'auto';

export const CALIBRATION_METHODS: readonly CalibrationMethod[] = ['entropy', 'minmax', 'percentile', 'auto'];

/** The percentiles method 'auto' tries. */
export const AUTO_PERCENTILES: readonly number[] = [99.99, 99.999];

/** One candidate threshold and its estimated error. */
export interface ThresholdCandidate {
  method: Exclude<CalibrationMethod, 'auto'>;
  /** For method 'percentile': the percentile. */
  percentile?: number;
  threshold: number;
  /** Estimated mean of (x - dequantize(quantize(x)))^2 over the calibration data. */
  meanSquaredError: number;
}

/** What method 'auto' chose for a tensor: the winner, and every candidate it weighed. */
export interface AutoThreshold extends ThresholdCandidate {
  candidates: ThresholdCandidate[];
}

/** The outcome of the entropy search. */
export interface EntropyThreshold {
  /** Clipping threshold, (bins + 0.5) * binWidth; 0 for an empty or all-zero histogram. */
  threshold: number;
  /** The winning number of histogram bins, 128..2048 (0 when threshold is 0). */
  bins: number;
  /** KL(P||Q) of the winner, in nats. */
  divergence: number;
}

export interface ThresholdOptions {
  /** For method 'percentile': the share of |x| values, in percent, kept unclipped. Default 99.99. */
  percentile?: number;
}

/** A tensor's threshold and the method that gave it (for 'auto', the winning candidate's). */
export type ChosenThreshold = Omit<ThresholdCandidate, 'meanSquaredError'>;

/** Number of int8 levels on each side of zero: scale = threshold / 127. */
export const INT8_MAX_LEVEL = 127;

// While native add() jobs are in flight, this thread does not let its event loop sleep: a
// chain of setImmediate callbacks makes libuv wait for I/O with a zero timeout, and each turn
// bins up to two 64 KB slices of a large batch (native help(), about 10 us; see
// native/binding/histogram_add.h) next to the calibration threads. Why: an add() of 1 MB takes
// about 90 us of binning, and a loop asleep in epoll_wait takes 15-50 us more to wake for its
// completion on a virtual machine (measured on a 2-vCPU VM: 36 us asleep, 4 us polling), while
// the core it sleeps on could have binned half the batch. The loop keeps turning and serving
// other callbacks; the cost is its core kept busy for as long as the adds run, which
// calibration, a batch job, can afford.
const addsInFlight = new Map<NativeCalibrationHistogram, number>();
let loopPolling = false;
let helpTurn = 0;

function pollWhileAddsRun(): void {
  if (addsInFlight.size === 0) {
    loopPolling = false;
    return;
  }
  // One help() per turn, to the in-flight adds in rotation.
  let skip = helpTurn++ % addsInFlight.size;
  for (const native of addsInFlight.keys()) {
    if (skip-- === 0) {
      native.help();
      break;
    }
  }
  setImmediate(pollWhileAddsRun);
}

function withLoopPolling(histogram: NativeCalibrationHistogram, job: Promise<void>): Promise<void> {
  addsInFlight.set(histogram, (addsInFlight.get(histogram) ?? 0) + 1);
  if (!loopPolling) {
    loopPolling = true;
    setImmediate(pollWhileAddsRun);
  }
  return job.finally(() => {
    const left = addsInFlight.get(histogram)! - 1;
    if (left === 0) {
      addsInFlight.delete(histogram);
    } else {
      addsInFlight.set(histogram, left);
    }
  });
}

// add() never lets the calibration threads read a caller's array after it returns: JavaScript
// may transfer (detach) its buffer, and the memory is then freed under them. A batch of up to
// ADD_NOW values (1 MB, 0.1-0.2 ms of binning) is binned in place before add() returns, the
// calibration threads helping (native addNow(), histogram_add_now.h): no copy, which on these
// machines costs as much as the binning. A larger one is copied here, in 256 KB slices for up
// to COPY_TURN_MS per event-loop turn, so that the loop keeps turning as it does while the
// batch is binned (a 64 MB batch takes some 5-10 ms to copy, which in one go would stall it),
// and the copy binned on the threads. Large arrays this library made and hands to no one (the
// engine outputs of collect-statistics.ts) are binned in place on the threads.
const ADD_NOW = 1 << 18; // 1 MB
const COPY_SLICE = 1 << 16; // 256 KB, about 20 us
const COPY_TURN_MS = 0.3;
const libraryOwned = new WeakSet<Float32Array>();

/**
 * @internal Marks an array that the library made and never hands out, so that add() bins it
 * in place instead of copying it. Returns it.
 */
export function ownedByLibrary(values: Float32Array): Float32Array {
  libraryOwned.add(values);
  return values;
}

/** Copies `values` into `into` (at least as long), a slice at a time between turns. */
async function copyInSlices(values: Float32Array, into: Float32Array): Promise<Float32Array> {
  const copy = into.length === values.length ? into : into.subarray(0, values.length);
  let turnStarted = performance.now();
  for (let at = 0; at < copy.length; at += COPY_SLICE) {
    if (performance.now() - turnStarted > COPY_TURN_MS) {
      await new Promise<void>((resolve) => setImmediate(resolve));
      turnStarted = performance.now();
    }
    if (values.length !== copy.length) {
      throw new InvalidArgumentError(
        `the values of CalibrationHistogram.add() were transferred away (or shrunk) while add() copied them: ${copy.length} values became ${values.length}; keep the array until the promise settles, or pass a copy`,
      );
    }
    copy.set(values.subarray(at, at + COPY_SLICE), at);
  }
  return copy;
}

function expectPercent(value: unknown, what: string): number {
  if (typeof value !== 'number' || !(value > 0 && value <= 100)) invalid('a number in (0, 100]', what, value);
  return value;
}

export class CalibrationHistogram extends NativeResource {
  /** Number of bins, as in TensorRT's entropy calibrator. */
  static readonly bins: number = 2048;

  #native: NativeCalibrationHistogram;
  // Where add() copies batches over 1 MB: reused, as the first copy into fresh memory costs
  // several times what later ones do (page faults). The adds are queued, so one at a time uses it.
  #scratch: Float32Array | undefined;
  // The addon refuses overlapping calls on one histogram; this chain makes them wait instead.
  #queue: Promise<unknown> = Promise.resolve();
  #pending = 0;

  /**
   * How many threads bin add() batches in this thread's environment: one per core but the
   * event loop's, from 1 to 4, unless TENSORRT_NODE_CALIBRATION_THREADS (0-64) says otherwise;
   * 0 means none: the event loop bins every batch, in slices between its turns.
   * @throws InvalidArgumentError when TENSORRT_NODE_CALIBRATION_THREADS is not a whole number from 0 to 64
   */
  static get threads(): number {
    return callNative(() => native.CalibrationHistogram.threads());
  }

  /** An empty histogram; its range is set by the first add(). */
  constructor() {
    super('CalibrationHistogram');
    this.#native = callNative(() => new native.CalibrationHistogram());
  }

  /**
   * A histogram with known counts over [0, maxAbs], for restoring saved statistics or merging
   * them elsewhere.
   * @param counts 2048 non-negative integers (a plain array or any typed array)
   * @param maxAbs the upper end of the range: a finite number > 0 (0 only when all counts are 0)
   * @throws InvalidArgumentError for counts of another length or with negative, fractional
   *   or non-finite entries, and for a maxAbs that is negative, not finite, or 0 with counts
   */
  static fromCounts(counts: ArrayLike<number>, maxAbs: number): CalibrationHistogram {
    const what = 'the counts of CalibrationHistogram.fromCounts()';
    if (typeof counts !== 'object' || counts === null || typeof counts.length !== 'number') invalid('an array of 2048 counts', what, counts);
    if (counts.length !== CalibrationHistogram.bins) invalid(`an array of ${CalibrationHistogram.bins} counts`, what, counts);
    const copy = Float64Array.from(counts);
    let any = false;
    for (let k = 0; k < copy.length; k++) {
      const c = copy[k]!;
      if (!Number.isSafeInteger(c) || c < 0) invalid('integers >= 0', `${what} (bin ${k})`, counts[k]);
      if (c > 0) any = true;
    }
    if (typeof maxAbs !== 'number' || !Number.isFinite(maxAbs) || maxAbs < 0 || !Number.isFinite(Math.fround(maxAbs)) || (any && maxAbs === 0)) {
      invalid(any ? 'a finite float32 > 0' : 'a finite float32 >= 0', 'maxAbs of CalibrationHistogram.fromCounts()', maxAbs);
    }
    const histogram = new CalibrationHistogram();
    histogram.#native.dispose();
    histogram.#native = callNative(() => new native.CalibrationHistogram(copy, maxAbs));
    return histogram;
  }

  /**
   * Adds |x| of a batch of activations, on the addon's calibration threads (one per core but
   * the event loop's, up to 4, or TENSORRT_NODE_CALIBRATION_THREADS) and the event loop: a
   * batch of 256 KB or more is binned by several at once; up to 1 MB within the call (0.1-0.2
   * ms), a larger one a few slices per event-loop turn. Calls may be
   * issued without awaiting the previous one: they run one after another, in order. A batch of
   * up to 1 MB (262,144 values) is binned before add() returns, when no earlier add() is
   * pending (else when its turn comes), and may be changed or transferred from then on; a
   * larger one is copied first, a slice per event-loop turn, and may be changed or transferred
   * once that copy is taken; one transferred away during it is refused.
   * NaN and ±Inf are not binned (see `skipped`). When the batch holds a larger |x| than the
   * range so far, the range grows to it and the existing counts are re-binned, which moves them
   * by up to a bin (see native/calibration/histogram.h). For counts that do not depend on the
   * batches' order, find max |x| first and add to `fromCounts(new Float64Array(2048), maxAbs)`,
   * as quantizeInt8 does.
   * @throws InvalidArgumentError if `values` is not a Float32Array, or its buffer is
   *   transferred away while add() copies it; DisposedError after dispose()
   */
  add(values: Float32Array): Promise<void> {
    this.assertLive();
    if (!(values instanceof Float32Array)) invalid('a Float32Array', 'the values of CalibrationHistogram.add()', values);
    // No call-site Error here, unlike entropyThreshold(): add() is the hot path (one call per
    // batch per tensor) and capturing a stack costs 4-7 us in V8 (it summarizes optimized,
    // inlined frames), 2-5% of a 1 MB add. Its native part cannot fail once the checks above
    // have passed (AbsHistogram::add allocates nothing and the queue keeps calls apart); if it
    // ever did, the typed error would carry a stack taken at rejection time instead.
    return this.#enqueue(() => {
      const native = this.#native;
      if (values.length <= ADD_NOW) {
        native.addNow(values);
        // Settled on the next turn of the loop, not now: a loop that awaits one add() after
        // another would otherwise run as one chain of microtasks, the event loop stalled
        // until the last batch.
        return new Promise<void>((resolve) => setImmediate(resolve));
      }
      if (libraryOwned.has(values)) return withLoopPolling(native, native.add(values));
      if (!this.#scratch || this.#scratch.length < values.length) this.#scratch = new Float32Array(values.length);
      return copyInSlices(values, this.#scratch).then((copy) => {
        this.assertLive();
        return withLoopPolling(this.#native, this.#native.add(copy));
      });
    }, undefined);
  }

  /**
   * Runs TensorRT's entropy threshold search (KL divergence over candidate widths of 128 to
   * 2048 bins, 128 quantization levels) on the libuv pool, after any pending add().
   * @throws DisposedError after dispose()
   */
  entropyThreshold(): Promise<EntropyThreshold> {
    this.assertLive();
    return this.#enqueue(() => this.#native.entropyThreshold(), new Error());
  }

  /**
   * The |x| below which `percent` percent of the values fall, from the histogram (linear
   * within a bin, so exact to one bin width).
   * @throws InvalidArgumentError for a percent outside (0, 100] or while an add() is pending;
   *   DisposedError after dispose()
   */
  percentileThreshold(percent: number): number {
    this.#assertIdle('percentileThreshold()');
    expectPercent(percent, 'the percent of percentileThreshold()');
    return callNative(() => this.#native.percentileThreshold(percent));
  }

  /**
   * The estimated mean squared error of quantizing the binned values to int8 with clipping
   * threshold `threshold` (scale threshold / 127): values are taken as spread evenly within
   * each bin. 0 for an empty histogram.
   * @throws InvalidArgumentError for a threshold that is not a finite number > 0 or while an
   *   add() is pending; DisposedError after dispose()
   */
  quantizationError(threshold: number): number {
    this.#assertIdle('quantizationError()');
    if (typeof threshold !== 'number' || !(threshold > 0) || !Number.isFinite(threshold)) invalid('a finite number > 0', 'the threshold of quantizationError()', threshold);
    return quantizationMeanSquaredError(this.#native.counts, this.#native.binWidth, threshold);
  }

  /**
   * Method 'auto': the thresholds of entropy, percentile 99.99 and 99.999 and minmax, each with
   * its estimated quantization error (see quantizationError()), and the one with the least
   * (the earlier in that order on a tie). Waits for pending add() calls. An empty or all-zero
   * histogram gives threshold 0 from 'minmax'.
   * @throws DisposedError after dispose()
   */
  autoThreshold(): Promise<AutoThreshold> {
    this.assertLive();
    // One queued job, so that an add() issued meanwhile cannot land between the searches.
    return this.#enqueue(async () => {
      const native = this.#native;
      const entropy = (await native.entropyThreshold()).threshold;
      const { counts, binWidth, maxAbs } = native;
      if (!(maxAbs > 0)) return { method: 'minmax', threshold: 0, meanSquaredError: 0, candidates: [] };
      const found: Omit<ThresholdCandidate, 'meanSquaredError'>[] = [
        { method: 'entropy', threshold: entropy },
        ...AUTO_PERCENTILES.map((percentile) => ({ method: 'percentile' as const, percentile, threshold: native.percentileThreshold(percentile) })),
        { method: 'minmax', threshold: maxAbs },
      ];
      const candidates = found.filter((c) => c.threshold > 0).map((c) => ({ ...c, meanSquaredError: quantizationMeanSquaredError(counts, binWidth, c.threshold) }));
      const best = candidates.reduce((a, b) => (b.meanSquaredError < a.meanSquaredError ? b : a));
      return { ...best, candidates };
    }, new Error());
  }

  /**
   * The clipping threshold by `method`: 'entropy' (TensorRT's EntropyCalibration2),
   * 'minmax' (max |x|, TensorRT's MinMaxCalibration), 'percentile' (`options.percentile`,
   * default 99.99) or 'auto' (see autoThreshold()). Waits for pending add() calls.
   * @throws InvalidArgumentError for an unknown method or a percentile outside (0, 100];
   *   DisposedError after dispose()
   */
  async threshold(method: CalibrationMethod, options: ThresholdOptions = {}): Promise<number> {
    this.assertLive();
    expectOneOf(method, CALIBRATION_METHODS, 'the calibration method');
    expectObject(options, 'the threshold options');
    const percent = options.percentile === undefined ? 99.99 : expectPercent(options.percentile, 'the percentile option');
    if (method === 'entropy') return (await this.entropyThreshold()).threshold;
    if (method === 'auto') return (await this.autoThreshold()).threshold;
    await this.#enqueue(() => Promise.resolve(), undefined);
    this.assertLive();
    return method === 'minmax' ? this.maxAbs : this.percentileThreshold(percent);
  }

  /**
   * threshold(), also saying which method gave it: for 'auto', the winning candidate.
   * @throws as threshold()
   */
  async chooseThreshold(method: CalibrationMethod, options: ThresholdOptions = {}): Promise<ChosenThreshold> {
    if (method === 'auto') {
      const { method: won, percentile, threshold } = await this.autoThreshold();
      return { method: won, ...(percentile !== undefined && { percentile }), threshold };
    }
    const threshold = await this.threshold(method, options);
    return { method, ...(method === 'percentile' && { percentile: options.percentile ?? 99.99 }), threshold };
  }

  /** The exact max |x| over the finite values added (the histogram's range). */
  get maxAbs(): number {
    this.#assertIdle('maxAbs');
    return this.#native.maxAbs;
  }

  /** maxAbs / 2048. */
  get binWidth(): number {
    this.#assertIdle('binWidth');
    return this.#native.binWidth;
  }

  /** Number of values binned. */
  get total(): number {
    this.#assertIdle('total');
    return this.#native.total;
  }

  /** Number of NaN and ±Inf values seen and left out. */
  get skipped(): number {
    this.#assertIdle('skipped');
    return this.#native.skipped;
  }

  /** A copy of the 2048 counts; bin k holds |x| in [k, k+1) * binWidth (the last includes maxAbs). */
  get counts(): Float64Array {
    this.#assertIdle('counts');
    return this.#native.counts;
  }

  #assertIdle(what: string): void {
    this.assertLive();
    if (this.#pending > 0) {
      throw new InvalidArgumentError(`CalibrationHistogram.${what} was read while ${this.#pending} call(s) were pending; await them first`);
    }
  }

  // `callSite`, when given, is created by the public method before the call, so that a rejection
  // points at the caller rather than at the queue.
  #enqueue<T>(start: () => Promise<T>, callSite: Error | undefined): Promise<T> {
    // An idle histogram starts the call now, so that it runs even if dispose() follows at once.
    const run =
      this.#pending === 0
        ? new Promise<T>((resolve) => resolve(start()))
        : this.#queue.then(() => {
            this.assertLive();
            return start();
          });
    this.#pending++;
    const settled = this.#settle(run, callSite);
    // Also marks the returned promise handled, so an add() issued without awaiting it (allowed,
    // see add()) does not end the process with an unhandled rejection.
    this.#queue = settled.catch(() => undefined);
    return settled;
  }

  // One async step instead of a .catch().finally() chain: fewer promises per call.
  async #settle<T>(run: Promise<T>, callSite: Error | undefined): Promise<T> {
    try {
      return await run;
    } catch (error) {
      throw fromNativeError(error, callSite ?? new Error());
    } finally {
      this.#pending--;
    }
  }

  protected releaseNative(): void {
    this.#native.dispose();
    this.#scratch = undefined;
  }
}

/** Symmetric int8 scale for a threshold: threshold / 127. */
export function scaleFromThreshold(threshold: number): number {
  if (typeof threshold !== 'number' || !(threshold >= 0) || !Number.isFinite(threshold)) invalid('a finite number >= 0', 'the threshold', threshold);
  return threshold / INT8_MAX_LEVEL;
}
