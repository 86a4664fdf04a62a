// Calibration data that fails reaches the caller the same way on every INT8 path: the implicit
// calibrator of Builder.buildSerializedNetwork, quantizeInt8 and buildEngine({ precision:
// 'int8' }). An iterator that throws (sync or async, in next() or through a yielded promise)
// becomes a TensorRTError with code ERR_TENSORRT_INTERNAL naming the calibration data and the
// batch, with the original error as `cause`; a batch that is not a feeds record or has the
// wrong element type or shape is an InvalidArgumentError naming the batch.
import { describe, expect, it } from 'vitest';

import { Builder, buildEngine, EntropyCalibrator2, type Feeds, InvalidArgumentError, quantizeInt8, Tensor, TensorRTError } from '../lib/index.js';
import { mlpModel, randomFloats } from './fixtures/models.js';

const shape = [4, 8];
const good = (seed: number): Feeds => ({ x: new Tensor('float32', randomFloats(32, seed), shape) });

type Data = Iterable<unknown> | AsyncIterable<unknown>;

/** The three INT8 paths, each calibrating the MLP (x: [batch, 8]) at batch 4 on `data`. */
const paths: Record<string, (data: Data) => Promise<unknown>> = {
  'implicit (Builder with EntropyCalibrator2)': async (data) => {
    const builder = new Builder({ backend: 'sim' });
    try {
      const network = builder.createNetworkV2();
      await builder.createOnnxParser(network).parse(mlpModel());
      const config = builder.createBuilderConfig().setFlag('int8');
      config.addOptimizationProfile(builder.createOptimizationProfile().setDimensions('x', { min: shape, opt: shape, max: shape }));
      config.int8Calibrator = new EntropyCalibrator2({ batches: data as Iterable<Feeds>, batchSize: 4 });
      return await builder.buildSerializedNetwork(network, config);
    } finally {
      builder.dispose();
    }
  },
  quantizeInt8: (data) => quantizeInt8(mlpModel(), { calibrationData: data as Iterable<Feeds>, backend: 'sim', shapes: { x: shape } }),
  "buildEngine({ precision: 'int8' })": (data) =>
    buildEngine(mlpModel(), { backend: 'sim', precision: 'int8', shapes: { x: shape }, calibration: { calibrationData: data as Iterable<Feeds> } }),
};

async function failure(promise: Promise<unknown>): Promise<Error> {
  const outcome = await promise.then(
    () => undefined,
    (e: unknown) => e,
  );
  expect(outcome, 'the build should have failed').toBeInstanceOf(Error);
  return outcome as Error;
}

/** Checks the wrapped shape of a failing iterator's error. */
function expectWrapped(error: Error, cause: unknown, batch: number): void {
  expect(error.constructor).toBe(TensorRTError);
  expect((error as TensorRTError).code).toBe('ERR_TENSORRT_INTERNAL');
  expect(error.message).toContain(`reading calibration batch ${batch} from the calibration data failed: Error: disk on fire`);
  expect(error.cause).toBe(cause);
}

for (const [path, calibrate] of Object.entries(paths)) {
  describe(`calibration data errors, ${path}`, () => {
    it('a sync iterable that throws in next()', async () => {
      const boom = new Error('disk on fire');
      function* batches() {
        yield good(1);
        throw boom;
      }
      expectWrapped(await failure(calibrate(batches())), boom, 1);
    });

    it('an async iterable that rejects in next()', async () => {
      const boom = new Error('disk on fire');
      async function* batches() {
        yield good(1);
        yield good(2);
        throw boom;
      }
      expectWrapped(await failure(calibrate(batches())), boom, 2);
    });

    it('a hand-written iterator that throws at once, and a sync iterable yielding a rejected promise', async () => {
      const boom = new Error('disk on fire');
      const throwing = { [Symbol.iterator]: () => ({ next: () => { throw boom; } }) };
      expectWrapped(await failure(calibrate(throwing)), boom, 0);
      const rejected = Promise.reject(boom);
      rejected.catch(() => {});
      expectWrapped(await failure(calibrate([good(1), rejected])), boom, 1);
    });

    it('a batch that is not a feeds record', async () => {
      const error = await failure(calibrate([good(1), 42]));
      expect(error).toBeInstanceOf(InvalidArgumentError);
      expect(error.message).toMatch(/calibration batch 1 but received number 42/);
    });

    it('a batch of the wrong element type', async () => {
      const error = await failure(calibrate([good(1), { x: new Tensor('int32', new Int32Array(32), shape) }]));
      expect(error).toBeInstanceOf(InvalidArgumentError);
      expect(error.message).toMatch(/calibration batch 1/);
      expect(error.message).toMatch(/float32/);
      expect(error.message).toMatch(/int32/);
    });

    it('a batch of the wrong shape', async () => {
      const error = await failure(calibrate([good(1), { x: new Tensor('float32', randomFloats(16, 2), [2, 8]) }]));
      expect(error).toBeInstanceOf(InvalidArgumentError);
      expect(error.message).toMatch(/calibration batch 1/);
      expect(error.message).toMatch(/\[2, 8\]|dimension 0 is 2|is 2/);
    });

    it('errors of our own from the data source pass through unchanged', async () => {
      const own = new InvalidArgumentError('calibration file 3 is truncated');
      function* batches() {
        yield good(1);
        throw own;
      }
      expect(await failure(calibrate(batches()))).toBe(own);
    });
  });
}

describe('cleanup of calibration data', () => {
  it("a generator left mid-way by a bad batch runs its finally block on the explicit path, as on the implicit one", async () => {
    for (const calibrate of Object.values(paths)) {
      let cleaned = false;
      function* batches() {
        try {
          yield good(1);
          yield 'not a batch';
          yield good(3);
        } finally {
          cleaned = true;
        }
      }
      await failure(calibrate(batches()));
      await new Promise((resolve) => setImmediate(resolve));
      expect(cleaned).toBe(true);
    }
  });
});
