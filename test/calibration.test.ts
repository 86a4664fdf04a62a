// Calibration statistics: the native |x| histogram and threshold searches against plain
// arithmetic done here, and the calibration cache codec against bit patterns worked out by hand.
import { describe, expect, it } from 'vitest';

import {
  CalibrationHistogram,
  DisposedError,
  formatCalibrationCache,
  InvalidArgumentError,
  parseCalibrationCache,
  scaleFromThreshold,
} from '../lib/index.js';
import { BINS, referenceEntropy } from './fixtures/entropy-reference.js';
import { rng } from './fixtures/models.js';

function gaussian(n: number, seed: number, sigma = 1): Float32Array {
  const next = rng(seed);
  const out = new Float32Array(n);
  for (let i = 0; i < n; i++) {
    const u = 1 - next(); // (0, 1]: log stays finite
    out[i] = sigma * Math.sqrt(-2 * Math.log(u)) * Math.cos(2 * Math.PI * next());
  }
  return out;
}

async function expectEntropyMatchesReference(counts: number[], maxAbs: number): Promise<void> {
  const histogram = CalibrationHistogram.fromCounts(counts, maxAbs);
  try {
    const got = await histogram.entropyThreshold();
    const ref = referenceEntropy(counts);
    const refMin = ref.divergences.get(ref.bins)!;
    if (got.bins !== ref.bins) {
      // Only an exact tie (to rounding) may pick another candidate.
      expect(Math.abs(ref.divergences.get(got.bins)! - refMin)).toBeLessThan(1e-12);
    }
    expect(got.divergence).toBeCloseTo(ref.divergences.get(got.bins)!, 10);
    const binWidth = Math.fround(maxAbs) / BINS;
    expect(got.threshold).toBe((got.bins + 0.5) * binWidth);
    expect(got.bins).toBe(ref.bins);
  } finally {
    histogram.dispose();
  }
}

describe('entropy threshold = an independent reference computation', () => {
  it('uniform histogram', async () => {
    await expectEntropyMatchesReference(new Array<number>(BINS).fill(1000), 8);
  });

  it('gaussian-like (half-normal) histogram', async () => {
    const counts = Array.from({ length: BINS }, (_, k) => Math.round(1e6 * Math.exp(-0.5 * ((k + 0.5) / 400) ** 2)));
    await expectEntropyMatchesReference(counts, 6.5);
  });

  it('long-tailed histogram with outliers far beyond the bulk', async () => {
    // Laplace-like bulk over the first ~400 bins, then a few isolated outliers.
    const counts = Array.from({ length: BINS }, (_, k) => (k < 400 ? Math.round(5e5 * Math.exp(-k / 40)) : 0));
    counts[900] = 3;
    counts[1500] = 1;
    counts[2047] = 2;
    await expectEntropyMatchesReference(counts, 100);
  });

  it('sparse histogram with empty bins between non-empty ones', async () => {
    const next = rng(7);
    const counts = Array.from({ length: BINS }, (_, k) => (k % 7 === 3 ? 1 + Math.floor(next() * 500) : 0));
    await expectEntropyMatchesReference(counts, 1);
  });

  it('random histogram', async () => {
    const next = rng(11);
    const counts = Array.from({ length: BINS }, () => Math.floor(next() * next() * 1e4));
    await expectEntropyMatchesReference(counts, 3);
  });

  it('histogram filled by add() from gaussian data', async () => {
    const histogram = new CalibrationHistogram();
    await histogram.add(gaussian(1 << 18, 3));
    const counts = [...histogram.counts];
    const got = await histogram.entropyThreshold();
    expect(got.bins).toBe(referenceEntropy(counts).bins);
    expect(got.threshold).toBe((got.bins + 0.5) * (histogram.maxAbs / BINS));
    expect(await histogram.threshold('entropy')).toBe(got.threshold);
    histogram.dispose();
  });

  it('empty and all-zero histograms give threshold 0', async () => {
    const empty = new CalibrationHistogram();
    expect(await empty.entropyThreshold()).toEqual({ threshold: 0, bins: 0, divergence: 0 });
    await empty.add(new Float32Array(100));
    expect(empty.total).toBe(100);
    expect(empty.counts[0]).toBe(100);
    expect((await empty.entropyThreshold()).threshold).toBe(0);
    empty.dispose();
  });
});

describe('histogram, minmax and percentile against the raw data', () => {
  const data = gaussian(1 << 20, 42, 2.5);
  const sortedAbs = Float64Array.from(data, Math.abs).sort();
  const maxAbs = sortedAbs[sortedAbs.length - 1]!;

  it('counts are |x| binned over [0, max|x|]', async () => {
    const histogram = new CalibrationHistogram();
    await histogram.add(data);
    expect(histogram.maxAbs).toBe(maxAbs);
    expect(histogram.binWidth).toBe(maxAbs / BINS);
    expect(histogram.total).toBe(data.length);
    const got = histogram.counts;
    // Exactly: the bin is floor(min(|x| * s, 2047)) in float32 arithmetic, s = float32(2048 / max).
    const s = Math.fround(BINS / maxAbs);
    const inFloat32 = new Float64Array(BINS);
    for (const x of data) inFloat32[Math.floor(Math.min(Math.fround(Math.abs(x) * s), BINS - 1))]! += 1;
    expect(got).toEqual(inFloat32);
    // And close to float64 binning, floor(|x| * 2048 / max): float32 rounding puts |x| * s
    // within 2048 * 2^-23 of the exact value, so only values that close to an edge (a share of
    // at most ~5e-4) can move, by one bin, each move changing two counts.
    const inFloat64 = new Float64Array(BINS);
    for (const x of data) inFloat64[Math.min(BINS - 1, Math.floor((Math.abs(x) * BINS) / maxAbs))]! += 1;
    let moved = 0;
    for (let k = 0; k < BINS; k++) moved += Math.abs(got[k]! - inFloat64[k]!);
    expect(moved).toBeLessThanOrEqual(2 * 5e-4 * data.length);
    histogram.dispose();
  });

  it('minmax = max |x|, percentile within one bin of the sorted data', async () => {
    const histogram = new CalibrationHistogram();
    // Several batches, so the range grows on the way.
    for (let start = 0; start < data.length; start += 1 << 16) await histogram.add(data.subarray(start, start + (1 << 16)));
    expect(await histogram.threshold('minmax')).toBe(maxAbs);
    for (const percent of [50, 90, 99, 99.9, 99.99, 100]) {
      const exact = sortedAbs[Math.ceil((percent / 100) * sortedAbs.length) - 1]!;
      const got = histogram.percentileThreshold(percent);
      // Re-binning can displace earlier data by one more bin.
      expect(Math.abs(got - exact), `percentile ${percent}`).toBeLessThanOrEqual(2 * histogram.binWidth);
    }
    expect(await histogram.threshold('percentile')).toBe(histogram.percentileThreshold(99.99));
    expect(await histogram.threshold('percentile', { percentile: 99 })).toBe(histogram.percentileThreshold(99));
    histogram.dispose();
  });

  it('NaN and Inf are skipped, counted, and do not set the range', async () => {
    const histogram = new CalibrationHistogram();
    await histogram.add(new Float32Array([NaN, Infinity, 1, -2, -Infinity, 0.5]));
    expect(histogram.maxAbs).toBe(2);
    expect(histogram.total).toBe(3);
    expect(histogram.skipped).toBe(3);
    expect(histogram.counts[BINS - 1]).toBe(1); // |x| == max lands in the last bin
    histogram.dispose();
  });

  it('batches within the range so far bin exactly as one pass over all the data', async () => {
    // Once the range is final, add() bins in one checking pass (native fast path); batches of
    // odd sizes, and one holding NaN and Inf (which leaves that path), must still land exactly
    // where the float32 formula puts them.
    const ordered = Float32Array.from(data);
    const top = sortedAbs.length - 1;
    const at = ordered.findIndex((x) => Math.abs(x) === sortedAbs[top]);
    [ordered[0], ordered[at]] = [ordered[at]!, ordered[0]!];
    const withNonFinite = ordered.slice(300_000, 301_000);
    withNonFinite[17] = NaN;
    withNonFinite[999] = -Infinity;
    const histogram = new CalibrationHistogram();
    const batches = [ordered.subarray(0, 4096), ordered.subarray(4096, 5095), ordered.subarray(5095, 300_000), withNonFinite, ordered.subarray(301_000)];
    for (const batch of batches) await histogram.add(batch);
    expect(histogram.maxAbs).toBe(maxAbs);
    expect(histogram.skipped).toBe(2);
    const s = Math.fround(BINS / maxAbs);
    const expected = new Float64Array(BINS);
    for (const batch of batches) {
      for (const x of batch) if (Number.isFinite(x)) expected[Math.floor(Math.min(Math.fround(Math.abs(x) * s), BINS - 1))]! += 1;
    }
    expect(histogram.total).toBe(data.length - 2);
    expect(histogram.counts).toEqual(expected);
    histogram.dispose();
  });

  it("where a batch's new maximum sits in it does not change the result", async () => {
    // The checking pass stops at the chunk holding the new maximum; the batch is then binned
    // over the grown range from its start, wherever that chunk was.
    const first = gaussian(1 << 16, 3);
    const second = gaussian(100_003, 4, 1.5);
    const peak = second.reduce((best, x, i) => (Math.abs(x) > Math.abs(second[best]!) ? i : best), 0);
    const results: Float64Array[] = [];
    for (const position of [0, 50_000, second.length - 1]) {
      const moved = Float32Array.from(second);
      [moved[position], moved[peak]] = [moved[peak]!, moved[position]!];
      const histogram = new CalibrationHistogram();
      await histogram.add(first);
      await histogram.add(moved);
      expect(histogram.maxAbs).toBe(Math.abs(second[peak]!));
      results.push(histogram.counts);
      histogram.dispose();
    }
    expect(results[1]).toEqual(results[0]);
    expect(results[2]).toEqual(results[0]);
  });

  it('scaleFromThreshold is threshold / 127', () => {
    expect(scaleFromThreshold(127)).toBe(1);
    expect(() => scaleFromThreshold(-1)).toThrow(InvalidArgumentError);
  });
});

describe('re-binning when the range grows', () => {
  it('a batch at exactly twice the range merges bin pairs with no loss', async () => {
    const a = gaussian(1 << 16, 5);
    const alone = new CalibrationHistogram();
    await alone.add(a);
    const hA = alone.counts;
    alone.dispose();

    const histogram = new CalibrationHistogram();
    await histogram.add(a);
    await histogram.add(a.map((x) => 2 * x)); // max doubles exactly; its bins equal a's old ones
    const got = histogram.counts;
    // Old bin b covers new bin floor(b/2) exactly; the new batch bins like a did alone.
    for (let j = 0; j < BINS; j++) {
      const merged = j < BINS / 2 ? hA[2 * j]! + hA[2 * j + 1]! : 0;
      expect(got[j], `bin ${j}`).toBe(merged + hA[j]!);
    }
    expect(histogram.total).toBe(2 * a.length);
    histogram.dispose();
  });

  it('preserves the total and the shape within one bin for an arbitrary growth', async () => {
    const a = gaussian(1 << 17, 8, 1);
    const b = gaussian(1 << 17, 9, 1.37);
    const histogram = new CalibrationHistogram();
    await histogram.add(a);
    const firstRange = histogram.maxAbs;
    await histogram.add(b);
    const range = histogram.maxAbs;
    expect(range).toBeGreaterThan(firstRange);
    expect(histogram.total).toBe(a.length + b.length);
    const got = histogram.counts;
    expect(got.reduce((s, c) => s + c, 0)).toBe(a.length + b.length);

    // One-pass histogram of all the data over the final range, in float64.
    const binOf = (x: number) => Math.min(BINS - 1, Math.floor((Math.abs(x) * BINS) / range));
    const direct = new Float64Array(BINS);
    const directA = new Float64Array(BINS);
    for (const x of a) {
      direct[binOf(x)]! += 1;
      directA[binOf(x)]! += 1;
    }
    for (const x of b) direct[binOf(x)]! += 1;
    // An old bin straddles at most one new edge, so below every edge the cumulative counts can
    // differ by at most the earlier batch's values in the two new bins around it (+ float slack).
    let cumGot = 0;
    let cumDirect = 0;
    for (let k = 0; k < BINS; k++) {
      cumGot += got[k]!;
      cumDirect += direct[k]!;
      const slack = directA[k]! + (k + 1 < BINS ? directA[k + 1]! : 0) + 4;
      expect(Math.abs(cumGot - cumDirect), `edge ${k + 1}`).toBeLessThanOrEqual(slack);
    }
    histogram.dispose();
  });
});

describe('CalibrationHistogram API', () => {
  it('queues overlapping add() calls and refuses sync reads while they are pending', async () => {
    const histogram = new CalibrationHistogram();
    const batches = [gaussian(1 << 16, 1), gaussian(1 << 16, 2, 3), gaussian(1 << 16, 3, 0.5)];
    const pending = batches.map((batch) => histogram.add(batch));
    expect(() => histogram.maxAbs).toThrow(InvalidArgumentError);
    const entropy = histogram.entropyThreshold(); // queued behind the adds
    await Promise.all(pending);
    expect((await entropy).threshold).toBeGreaterThan(0);
    expect(histogram.total).toBe(3 << 16);
    histogram.dispose();
  });

  it('validates its arguments with typed errors', () => {
    const histogram = new CalibrationHistogram();
    expect(() => histogram.add([1, 2] as unknown as Float32Array)).toThrow(/Expected a Float32Array for the values of CalibrationHistogram.add\(\) but received an array of length 2/);
    expect(() => histogram.add(new Float64Array(2) as unknown as Float32Array)).toThrow(InvalidArgumentError);
    expect(() => histogram.percentileThreshold(0)).toThrow(/Expected a number in \(0, 100\] for the percent/);
    expect(() => histogram.percentileThreshold(101)).toThrow(InvalidArgumentError);
    expect(() => CalibrationHistogram.fromCounts([1, 2], 1)).toThrow(/Expected an array of 2048 counts/);
    expect(() => CalibrationHistogram.fromCounts(new Array(BINS).fill(-1), 1)).toThrow(/integers >= 0.*bin 0/);
    expect(() => CalibrationHistogram.fromCounts(new Array(BINS).fill(1), 0)).toThrow(/maxAbs/);
    expect(() => CalibrationHistogram.fromCounts(new Array(BINS).fill(1), 1e39)).toThrow(/maxAbs/);
    histogram.dispose();
  });

  it('rejects a wrong method', async () => {
    const histogram = new CalibrationHistogram();
    await expect(histogram.threshold('kl' as 'entropy')).rejects.toThrow(/Expected one of 'entropy', 'minmax', 'percentile'/);
    histogram.dispose();
  });

  it('dispose() is idempotent and later calls throw DisposedError', async () => {
    const histogram = new CalibrationHistogram();
    histogram.dispose();
    histogram.dispose();
    expect(() => histogram.counts).toThrow(DisposedError);
    expect(() => histogram.add(new Float32Array(1))).toThrow(DisposedError);
  });

  it('an add() queued before dispose() rejects with DisposedError', async () => {
    const histogram = new CalibrationHistogram();
    const first = histogram.add(gaussian(1 << 16, 4));
    const second = histogram.add(gaussian(1 << 16, 5));
    histogram.dispose();
    await first; // already running natively: it completes on its own state
    await expect(second).rejects.toBeInstanceOf(DisposedError);
  });
});

describe('calibration cache', () => {
  it('writes known scales as big-endian float32 hex', () => {
    // 1.0 = sign 0, exponent 127, mantissa 0 -> 0x3f800000; 0.5: exponent 126 -> 0x3f000000;
    // 2^-7: exponent 120 = 0x78 -> 0x78 << 23 = 0x3c000000; 3.0 = 1.5 * 2^1 -> 0x40400000.
    const text = formatCalibrationCache({
      version: '100300',
      algorithm: 'EntropyCalibration2',
      scales: new Map([['input', 1], ['conv1/Relu:0', 0.5], ['(Unnamed Layer* 3) [Activation]_output', 2 ** -7], ['y', 3]]),
    });
    expect(text).toBe(
      'TRT-100300-EntropyCalibration2\ninput: 3f800000\nconv1/Relu:0: 3f000000\n(Unnamed Layer* 3) [Activation]_output: 3c000000\ny: 40400000\n',
    );
  });

  it('parses known scales, including names that contain ": "', () => {
    const cache = parseCalibrationCache('TRT-8601-MinMaxCalibration\na: 3f800000\nb:0: 40490fdb\nc: 00000000\nd: 3C000000\n');
    expect(cache.version).toBe('8601');
    expect(cache.algorithm).toBe('MinMaxCalibration');
    expect([...cache.scales]).toEqual([
      ['a', 1],
      ['b:0', Math.fround(Math.PI)], // 0x40490fdb is float32 pi
      ['c', 0],
      ['d', 2 ** -7],
    ]);
    expect(cache.trailingNewline).toBe(true);
  });

  it('round-trips byte for byte a file it wrote and hand-written files', () => {
    const scales = new Map<string, number>();
    const next = rng(99);
    for (let i = 0; i < 50; i++) scales.set(`layer_${i}/output:0`, Math.fround(next() * 0.1));
    const written = formatCalibrationCache({ version: '100300', algorithm: 'EntropyCalibration2', scales });
    const bytes = new TextEncoder().encode(written);
    const reread = parseCalibrationCache(bytes);
    expect(reread.scales).toEqual(scales);
    expect(new TextEncoder().encode(formatCalibrationCache(reread))).toEqual(bytes);

    const handWritten = [
      'TRT-8601-EntropyCalibration2\ninput: 3c010a14\n(Unnamed Layer* 0) [Convolution]_output: 3d2ecb6a\nout: 3e1b5ad1\n',
      'TRT-100100-MinMaxCalibration\nx: 3f800000', // no final newline
      'TRT-1-EntropyCalibration\n', // header only
    ];
    for (const text of handWritten) expect(formatCalibrationCache(parseCalibrationCache(text))).toBe(text);
  });

  it('accepts CRLF and uppercase hex, writing them back canonical', () => {
    const cache = parseCalibrationCache('TRT-8601-EntropyCalibration2\r\na: 3F800000\r\n');
    expect(formatCalibrationCache(cache)).toBe('TRT-8601-EntropyCalibration2\na: 3f800000\n');
  });

  it('rejects malformed caches, naming the line', () => {
    const cases: [string, RegExp][] = [
      ['', /header for line 1 .* the cache is empty/],
      ['a: 3f800000\n', /`TRT-<version>-<algorithm>` header for line 1/],
      ['TRT-8601-FancyCalibration\n', /one of EntropyCalibration2.* for line 1/],
      ['TRT-8601-EntropyCalibration2\na 3f800000\n', /`<tensor name>: <8 hex digits>` for line 2 .* "a 3f800000"/],
      ['TRT-8601-EntropyCalibration2\na: 3f80000\n', /8 hex digits .* for line 2/],
      ['TRT-8601-EntropyCalibration2\na: 3f80000g\n', /8 hex digits .* for line 2/],
      ['TRT-8601-EntropyCalibration2\n: 3f800000\n', /tensor name .* for line 2/],
      ['TRT-8601-EntropyCalibration2\na: 3f800000\na: 3f800000\n', /not listed before .* for line 3/],
      ['TRT-8601-EntropyCalibration2\na: bf800000\n', /finite scale >= 0 .*bf800000 is -1.* for line 2/],
      ['TRT-8601-EntropyCalibration2\na: 7fc00000\n', /finite scale >= 0 .* for line 2/],
      ['TRT-8601-EntropyCalibration2\n\na: 3f800000\n', /for line 2 .* received the string ""/],
      ['TRT-8601-EntropyCalibration2\na: 3f800000\n\n', /for line 3/],
    ];
    for (const [text, message] of cases) {
      expect(() => parseCalibrationCache(text), JSON.stringify(text)).toThrow(InvalidArgumentError);
      expect(() => parseCalibrationCache(text), JSON.stringify(text)).toThrow(message);
    }
    expect(() => parseCalibrationCache(new Uint8Array([0xff, 0xfe]))).toThrow(/UTF-8/);
    expect(() => parseCalibrationCache(42 as unknown as string)).toThrow(/Expected a string or a Uint8Array/);
  });

  it('validates what it writes', () => {
    const base = { version: '8601', algorithm: 'EntropyCalibration2' as const };
    expect(() => formatCalibrationCache({ ...base, version: '8.6', scales: new Map() })).toThrow(/string of digits/);
    expect(() => formatCalibrationCache({ ...base, algorithm: 'Entropy' as 'EntropyCalibration2', scales: new Map() })).toThrow(/algorithm/);
    expect(() => formatCalibrationCache({ ...base, scales: { a: 1 } as unknown as Map<string, number> })).toThrow(/a Map/);
    expect(() => formatCalibrationCache({ ...base, scales: new Map([['a\nb', 1]]) })).toThrow(/line breaks/);
    expect(() => formatCalibrationCache({ ...base, scales: new Map([['a', -1]]) })).toThrow(/scale of tensor 'a'/);
    expect(() => formatCalibrationCache({ ...base, scales: new Map([['a', 1e39]]) })).toThrow(/float32/);
  });
});
