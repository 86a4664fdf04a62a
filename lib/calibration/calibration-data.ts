/**
 * Reading calibration batches from the user's iterable, the same way on every INT8 path
 * (quantizeInt8 and buildEngine's explicit path through collect-statistics.ts, TensorRT 10's
 * implicit path through calibrators.ts): one batch at a time, with whatever the user's code
 * throws wrapped into one error shape, so that a caller handles a failing data source once
 * whichever path its build took.
 */
import { TensorRTError } from '../errors.js';

/**
 * The error for calibration data whose iterator failed: it threw in next() (or when the
 * iterator was made), or an async iterator rejected, or a sync one yielded a promise that
 * rejected. Errors of our own (TensorRTError, e.g. a file the CLI could not read) pass through
 * unchanged; anything else becomes a TensorRTError (code ERR_TENSORRT_INTERNAL, as the build's
 * failure on the implicit path has always been) whose message names the calibration data and
 * the batch, with the original as `cause`.
 */
export function calibrationDataError(cause: unknown, batch: number): TensorRTError {
  if (cause instanceof TensorRTError) return cause;
  const detail = cause instanceof Error ? `${cause.name}: ${cause.message}` : String(cause);
  return new TensorRTError(
    `reading calibration batch ${batch} from the calibration data failed: ${detail} (the error is this error's cause; fix the iterable that supplies the batches)`,
    'ERR_TENSORRT_INTERNAL',
    [],
    { cause },
  );
}

/** The next batch (or the end), with its index. */
export type CalibrationStep = { done: true } | { done: false; value: unknown; index: number };

/**
 * Pulls batches from an Iterable or AsyncIterable, as `for await` would (a sync iterable's
 * promise values are awaited), but with failures of the user's iterator wrapped by
 * calibrationDataError. Values are returned unchecked: each path validates them against its
 * model and says which batch and input is wrong.
 */
export class CalibrationBatchReader<T = unknown> {
  readonly #source: Iterable<T> | AsyncIterable<T>;
  #iterator: Iterator<T> | AsyncIterator<T> | undefined;
  #async = false;
  #done = false;
  #next = 0;

  constructor(source: Iterable<T> | AsyncIterable<T>) {
    this.#source = source;
  }

  /** Batches handed out so far. */
  get count(): number {
    return this.#next;
  }

  /** @throws TensorRTError (see calibrationDataError) when the iterator fails */
  async next(): Promise<CalibrationStep> {
    if (this.#done) return { done: true };
    const index = this.#next;
    try {
      if (!this.#iterator) {
        this.#async = Symbol.asyncIterator in this.#source;
        this.#iterator = this.#async
          ? (this.#source as AsyncIterable<T>)[Symbol.asyncIterator]()
          : (this.#source as Iterable<T>)[Symbol.iterator]();
      }
      const step = await this.#iterator.next();
      if (step.done) {
        this.#done = true;
        return { done: true };
      }
      const value: unknown = this.#async ? step.value : await step.value;
      this.#next++;
      return { done: false, value, index };
    } catch (error) {
      // An iterator that threw is finished (a generator cannot resume after throwing): do not
      // ask it again, nor call its return().
      this.#done = true;
      throw calibrationDataError(error, index);
    }
  }

  /**
   * Lets an iterator left mid-way run its cleanup (a generator's finally blocks, open files),
   * as `for await` does when its loop exits early. Never waits and never throws: the caller is
   * already failing or finished, and the cleanup's own error would only hide why.
   */
  close(): void {
    if (this.#done || !this.#iterator) return;
    this.#done = true;
    const iterator = this.#iterator;
    Promise.resolve()
      .then(() => iterator.return?.())
      .catch(() => {});
  }
}
