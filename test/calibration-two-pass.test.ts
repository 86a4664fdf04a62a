// Calibration reads the data twice, ranges first and histograms second, so a tensor's histogram
// depends on its values alone: checked against a float64 histogram computed here from the raw
// values, and across batchings and orders of the same values (one batch of all rows, a batch
// per row, shuffled, a generator), down to the bits of the thresholds quantizeInt8 picks.
import { EventEmitter, on } from 'node:events';
import { Readable } from 'node:stream';

import { describe, expect, it } from 'vitest';

import { type CalibrationData, type CalibrationFeeds, collectStatistics, rereading } from '../lib/calibration/collect-statistics.js';
import {
  Builder,
  CalibrationHistogram,
  type ChosenThreshold,
  EntropyCalibrator2,
  InvalidArgumentError,
  Logger,
  parseCalibrationCache,
  quantizeInt8,
  Tensor,
} from '../lib/index.js';
import { makeModel, makeTensor } from '../lib/onnx/model-builder.js';
import { parseModel } from '../lib/onnx/model-io.js';
import { rng } from './fixtures/models.js';

const WIDTH = 16;
const ROWS = 24;
const BINS = 2048;

// x -> Relu -> r -> MatMul: x is calibrated from the feeds, r from the engine's output, and r is
// what quantizeInt8 quantizes (the MatMul's activation input). The batch dimension is dynamic.
const W = Float32Array.from({ length: WIDTH * 4 }, (_, i) => ((i % 7) - 3) / 8);
const modelBytes = makeModel({
  inputs: [{ name: 'x', dtype: 'float32', shape: ['n', WIDTH] }],
  outputs: [{ name: 'y', dtype: 'float32', shape: ['n', 4] }],
  initializers: [makeTensor('w', 'float32', [WIDTH, 4], W)],
  nodes: [
    { op: 'Relu', inputs: ['x'], outputs: ['r'] },
    { op: 'MatMul', name: 'fc', inputs: ['r', 'w'], outputs: ['y'] },
  ],
});
const model = parseModel(modelBytes);

// Largest |x| (from a negative value, so Relu drops it) and largest r; not powers of two, so
// the bins are not exact binary fractions.
const X_MAX = Math.fround(3.7);
const R_MAX = Math.fround(2.9);

/** Fractional position of |v| within its bin of [0, range] in float64, as bins of 2048ths. */
const binPosition = (v: number, range: number) => (Math.abs(v) * BINS) / range;

/**
 * ROWS rows of values whose spread grows row by row (row k within (k + 1) / ROWS of the
 * extremes), so a histogram that grows with its data would re-bin its counts many times. Every
 * value but the extremes lies at least 1% of a bin from a bin edge of both ranges in float64:
 * the addon bins in float32 (|v| * float32(2048 / range), then truncation), whose error is a
 * few ulps of a number below 2048, under 0.001 of a bin, so the float32 and float64 bins agree.
 */
function rows(): Float32Array[] {
  const next = rng(7);
  const out: Float32Array[] = [];
  for (let k = 0; k < ROWS; k++) {
    const row = new Float32Array(WIDTH);
    const spread = (k + 1) / ROWS;
    for (let i = 0; i < WIDTH; i++) {
      for (;;) {
        const v = Math.fround((next() * 2 - 1) * spread * R_MAX * 0.999);
        const clearOf = (range: number) => {
          const at = binPosition(v, range) % 1;
          return at > 0.01 && at < 0.99;
        };
        if (clearOf(X_MAX) && (v <= 0 || clearOf(R_MAX))) {
          row[i] = v;
          break;
        }
      }
    }
    out.push(row);
  }
  // The extremes come in the last row: a growing histogram meets them last.
  out[ROWS - 1]![0] = -X_MAX;
  out[ROWS - 1]![1] = R_MAX;
  return out;
}

const ROW_DATA = rows();

/** The float64 histogram of |v| over [0, max |v|], computed from the values. */
function referenceHistogram(values: number[]): { counts: number[]; maxAbs: number } {
  const maxAbs = Math.max(...values.map(Math.abs));
  const counts = new Array<number>(BINS).fill(0);
  for (const v of values) counts[Math.min(Math.floor(binPosition(v, maxAbs)), BINS - 1)]!++;
  return { counts, maxAbs };
}

const allValues = ROW_DATA.flatMap((row) => [...row]);
const REFERENCE = {
  x: referenceHistogram(allValues),
  r: referenceHistogram(allValues.map((v) => Math.max(v, 0))),
};

/** Batches of `size` rows taken in `order` (row indices). */
function batches(order: readonly number[], size: number): CalibrationFeeds[] {
  const out: CalibrationFeeds[] = [];
  for (let at = 0; at < order.length; at += size) {
    const picked = order.slice(at, at + size);
    const data = new Float32Array(picked.length * WIDTH);
    picked.forEach((row, i) => data.set(ROW_DATA[row]!, i * WIDTH));
    out.push({ x: new Tensor('float32', data, [picked.length, WIDTH]) });
  }
  return out;
}

const inOrder = Array.from({ length: ROWS }, (_, k) => k);
const shuffled = (() => {
  const next = rng(11);
  const order = [...inOrder];
  for (let i = order.length - 1; i > 0; i--) {
    const j = Math.floor(next() * (i + 1));
    [order[i], order[j]] = [order[j]!, order[i]!];
  }
  return order;
})();

function* once(feeds: CalibrationFeeds[]): Generator<CalibrationFeeds> {
  yield* feeds;
}

const DATA_SETS: [string, () => CalibrationData][] = [
  ['one batch of all rows', () => batches(inOrder, ROWS)],
  ['a batch per row', () => batches(inOrder, 1)],
  ['a batch per row, shuffled', () => batches(shuffled, 1)],
  ['batches of 6 rows, shuffled, from a generator', () => once(batches(shuffled, 6))],
  // A stream reads once but is no iterator: only its empty second read tells.
  ['batches of 6 rows, shuffled, from a Readable stream', () => Readable.from(batches(shuffled, 6))],
];

async function histogramsOf(data: CalibrationData, options: { logger?: Logger; keepLimitBytes?: number } = {}) {
  const { histograms, batches: count } = await collectStatistics(model, ['x'], ['x', 'r'], data, { backend: 'sim', shapes: undefined, ...options });
  try {
    const read = (name: string) => {
      const h = histograms.get(name)!;
      return { counts: [...h.counts], maxAbs: h.maxAbs, total: h.total, skipped: h.skipped };
    };
    return { x: read('x'), r: read('r'), batches: count };
  } finally {
    for (const h of histograms.values()) h.dispose();
  }
}

describe('two-pass calibration statistics', () => {
  it('the test data avoids bin edges and spreads over many bins', () => {
    expect(REFERENCE.x.maxAbs).toBe(X_MAX);
    expect(REFERENCE.r.maxAbs).toBe(R_MAX);
    expect(REFERENCE.x.counts.filter((c) => c > 0).length).toBeGreaterThan(300);
    expect(REFERENCE.r.counts.reduce((a, b) => a + b, 0)).toBe(ROWS * WIDTH);
  });

  it.each(DATA_SETS)('equals the float64 histogram of the raw values: %s', async (_what, data) => {
    const got = await histogramsOf(data());
    for (const name of ['x', 'r'] as const) {
      expect(got[name].maxAbs).toBe(REFERENCE[name].maxAbs);
      expect(got[name].counts).toEqual(REFERENCE[name].counts);
      expect(got[name].total).toBe(ROWS * WIDTH);
      expect(got[name].skipped).toBe(0);
    }
  });

  it('differs from what a histogram growing batch by batch gives on the same batches', async () => {
    // The reason for the second pass: re-binning moves counts, so the old one-pass result is
    // not the reference (the comparison above would catch a return to it).
    const growing = new CalibrationHistogram();
    try {
      for (const row of ROW_DATA) await growing.add(row);
      expect(growing.maxAbs).toBe(X_MAX);
      expect([...growing.counts]).not.toEqual(REFERENCE.x.counts);
    } finally {
      growing.dispose();
    }
  });

  it('gives quantizeInt8 the same thresholds, bit for bit, however the data is batched or ordered', async () => {
    for (const method of ['entropy', 'percentile', 'minmax'] as const) {
      const seen: number[] = [];
      for (const [, data] of DATA_SETS) {
        let chosen: ReadonlyMap<string, ChosenThreshold> | undefined;
        await quantizeInt8(modelBytes, { calibrationData: data(), method, backend: 'sim', onThresholds: (t) => (chosen = t) });
        seen.push(chosen!.get('r')!.threshold);
      }
      expect(seen[0]).toBeGreaterThan(0);
      expect(new Set(seen).size, `${method}: ${seen.join(', ')}`).toBe(1);
    }
  });

  it('counts NaN and Inf in the first pass and leaves them out of the bins', async () => {
    const data = batches(inOrder, 4);
    const poisoned = new Float32Array(data[2]!.x.data as Float32Array);
    poisoned[3] = NaN;
    poisoned[5] = -Infinity;
    data[2] = { x: new Tensor('float32', poisoned, data[2]!.x.dims) };
    const got = await histogramsOf(data);
    expect(got.x.skipped).toBe(2);
    expect(got.x.total).toBe(ROWS * WIDTH - 2);
    expect(got.x.maxAbs).toBe(X_MAX);
  });

  it('bins the rest in one pass, with a warning, when a generator gives more than it may keep', async () => {
    const messages: string[] = [];
    const logger = new Logger({ onMessage: (_severity, message) => messages.push(message) });
    // Each kept batch is 6 rows of 16 float32 (384 bytes): the cap is passed at the second.
    const got = await histogramsOf(once(batches(shuffled, 6)), { logger, keepLimitBytes: 400 });
    await new Promise((resolve) => setImmediate(resolve));
    expect(got.batches).toBe(4);
    expect(got.x.maxAbs).toBe(X_MAX);
    expect(got.x.total).toBe(ROWS * WIDTH);
    expect(messages.join('\n')).toMatch(/can be read only once \(a generator\) and its first 2 batches passed 400 bytes.*Pass an iterable that starts over when read again/);
  });

  it('refuses data that reads differently the second time, naming the fix', async () => {
    let reads = 0;
    const fewer = { [Symbol.iterator]: () => batches(inOrder, 1).slice(0, reads++ === 0 ? ROWS : 3)[Symbol.iterator]() };
    await expect(collectStatistics(model, ['x'], ['x', 'r'], fewer, { backend: 'sim', shapes: undefined })).rejects.toThrow(
      new InvalidArgumentError(
        `Expected the calibration data to give ${ROWS} batches on its second read but it gave 3; calibration reads the data twice (ranges, then histograms); pass batches that are the same on every read (an array, or an iterable that re-reads the same files)`,
      ),
    );
    reads = 0;
    const more = { [Symbol.iterator]: () => batches(reads++ === 0 ? inOrder.slice(0, 12) : inOrder, 2)[Symbol.iterator]() };
    await expect(collectStatistics(model, ['x'], ['x', 'r'], more, { backend: 'sim', shapes: undefined })).rejects.toThrow(
      /^Expected the calibration data to give 6 batches on its second read but it gave more; calibration reads the data twice/,
    );
    let scale = 1;
    const louder = {
      *[Symbol.iterator]() {
        for (const feeds of batches(inOrder, 6)) yield { x: new Tensor('float32', (feeds.x.data as Float32Array).map((v) => v * scale), feeds.x.dims) };
        scale *= 2;
      },
    };
    await expect(collectStatistics(model, ['x'], ['x', 'r'], louder, { backend: 'sim', shapes: undefined })).rejects.toThrow(
      /Expected the same values of 'x' on the second read of the calibration data but max \|x\| went from 3\.7\d* to 7\.4\d* \(NaN and Inf: from 0 to 0\)/,
    );
  });

  it("gives the sim's implicit calibration (EntropyCalibrator2) the same scales in any batch order, and quantizeInt8's", async () => {
    // Implicit calibration reads batches at the profile's shape: 4 rows each, here.
    const cacheOf = async (order: readonly number[]) => {
      using builder = new Builder({ backend: 'sim' });
      const network = builder.createNetworkV2({ stronglyTyped: false });
      await builder.createOnnxParser(network).parse(modelBytes);
      const config = builder.createBuilderConfig();
      config.addOptimizationProfile(builder.createOptimizationProfile().setDimensions('x', { min: [4, WIDTH], opt: [4, WIDTH], max: [4, WIDTH] }));
      config.setFlag('int8');
      let cache: Uint8Array | undefined;
      config.int8Calibrator = new EntropyCalibrator2({ batches: once(batches(order, 4)), batchSize: 4, writeCache: (bytes) => void (cache = bytes.slice()) });
      await builder.buildSerializedNetwork(network, config);
      return parseCalibrationCache(cache!).scales;
    };
    const inOrderScales = await cacheOf(inOrder);
    const shuffledScales = await cacheOf(shuffled);
    expect([...inOrderScales.keys()]).toEqual(['r']);
    expect(shuffledScales.get('r')).toBe(inOrderScales.get('r'));
    let chosen: ReadonlyMap<string, ChosenThreshold> | undefined;
    await quantizeInt8(modelBytes, { calibrationData: batches(shuffled, 1), method: 'entropy', backend: 'sim', onThresholds: (t) => (chosen = t) });
    expect(inOrderScales.get('r')).toBe(Math.fround(chosen!.get('r')!.threshold / 127));
  });

  it('reads data that restarts twice, holding one batch at a time', async () => {
    const rowsPerBatch = 8192; // 512 KiB per batch
    const count = 512; // 256 MiB per read
    const base = process.memoryUsage().arrayBuffers;
    let peak = 0;
    const reads: number[] = [];
    const source = {
      async *[Symbol.asyncIterator]() {
        reads.push(0);
        for (let b = 0; b < count; b++) {
          if (b % 16 === 0) await new Promise((resolve) => setImmediate(resolve));
          peak = Math.max(peak, process.memoryUsage().arrayBuffers - base);
          reads[reads.length - 1]!++;
          const data = new Float32Array(rowsPerBatch * WIDTH);
          for (let i = 0; i < data.length; i++) data[i] = ROW_DATA[(b + i) % ROWS]![i % WIDTH]!;
          yield { x: new Tensor('float32', data, [rowsPerBatch, WIDTH]) };
        }
      },
    };
    const { histograms } = await collectStatistics(model, ['x'], ['x', 'r'], source, { backend: 'sim', shapes: undefined });
    try {
      expect(reads).toEqual([count, count]);
      expect(histograms.get('r')!.total).toBe(count * rowsPerBatch * WIDTH);
      expect(histograms.get('r')!.maxAbs).toBe(R_MAX);
    } finally {
      for (const h of histograms.values()) h.dispose();
    }
    // Keeping the batches would need all 256 MiB; the live batch, its activations and what the
    // garbage collector has not yet reclaimed stay far below.
    expect(peak).toBeLessThan((count * rowsPerBatch * WIDTH * 4) / 4);
  }, 60_000);

  it('tells data that reads again from data that reads once by its kind, and streams by a second read', () => {
    expect(rereading(batches(inOrder, 1))).toBe('again');
    expect(rereading({ *[Symbol.iterator]() {} })).toBe('again');
    expect(rereading({ async *[Symbol.asyncIterator]() {} })).toBe('again');
    expect(rereading(once([]))).toBe('once');
    expect(rereading(on(new EventEmitter(), 'batch'))).toBe('once');
    expect(rereading(Readable.from([]))).toBe('unknown');
    expect(rereading({ [Symbol.iterator]: () => [][Symbol.iterator]() })).toBe('unknown');
  });

  it('gives quantizeInt8 (auto too) the same thresholds from a Readable stream as from an array', async () => {
    for (const method of ['entropy', 'auto'] as const) {
      const threshold = async (data: CalibrationData) => {
        let chosen: ReadonlyMap<string, ChosenThreshold> | undefined;
        await quantizeInt8(modelBytes, { calibrationData: data, method, backend: 'sim', onThresholds: (t) => (chosen = t) });
        return chosen!.get('r')!;
      };
      const fromArray = await threshold(batches(shuffled, 6));
      const fromStream = await threshold(Readable.from(batches(shuffled, 6)));
      expect(fromStream, method).toEqual(fromArray);
    }
  });

  it('refuses a stream whose inputs pass what it may keep, naming the fix', async () => {
    await expect(histogramsOf(Readable.from(batches(shuffled, 6)), { keepLimitBytes: 400 })).rejects.toThrow(
      new InvalidArgumentError(
        'Expected the calibration data to give its 4 batches again on its second read but it gave none: it can be read only once (a stream), and its inputs passed the 400 bytes kept for that case; calibration reads the data twice (ranges, then histograms), so pass an iterable that starts over when read again (an array, or an object whose async *[Symbol.asyncIterator]() opens the files afresh), or a generator (then the batches past the limit are binned in one pass)',
      ),
    );
  });

  it('reads a generator once, keeping nothing, when only the ranges are wanted (minmax)', async () => {
    const { histograms, batches: count } = await collectStatistics(model, ['x'], ['x', 'r'], once(batches(shuffled, 6)), { backend: 'sim', shapes: undefined, rangesOnly: true });
    try {
      expect(count).toBe(4);
      expect(histograms.get('x')!.maxAbs).toBe(X_MAX);
      expect(histograms.get('r')!.maxAbs).toBe(R_MAX);
      expect(histograms.get('r')!.total).toBe(0);
    } finally {
      for (const h of histograms.values()) h.dispose();
    }
  });
});
