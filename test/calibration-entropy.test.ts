// The entropy search on histograms that real activations produce, against the float64
// reference of test/fixtures/entropy-reference.ts; the quantization error estimate behind
// method 'auto' against arithmetic; and 'auto' end to end, on a test network and on
// openWakeWord's embedding model (where the zoo's cache holds it) fed its real features.
import { mkdtempSync, readFileSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';

import * as ort from 'onnxruntime-node';
import { describe, expect, it } from 'vitest';

import { buildEngine, CalibrationHistogram, InferenceSession, Tensor } from '../lib/index.js';
import { collectStatistics } from '../lib/calibration/collect-statistics.js';
import { readModel } from '../lib/onnx/model-io.js';
import { quantizeInt8 } from '../lib/precision/int8.js';
import { upgradeOpset } from '../lib/onnx/opset/upgrade-opset.js';
import { GraphConstants } from '../lib/precision/qdq-insertion.js';
import { planQuantization, QUANTIZABLE_OPS } from '../lib/precision/qdq-plan.js';
import { BINS, referenceEntropy } from './fixtures/entropy-reference.js';
import { mlpModel, randomFloats } from './fixtures/models.js';
// @ts-expect-error plain ESM shared with scripts/zoo.mjs, no type declarations
import { isCached, makeContext, modelPath } from './zoo/harness.mjs';
// @ts-expect-error plain ESM shared with scripts/zoo.mjs, no type declarations
import { manifest } from './zoo/models.mjs';
// @ts-expect-error plain ESM, no type declarations
import { speechLike } from './zoo/signals.mjs';

/** Histogram counts of values spread evenly over [0, max]: `perBin` in every bin. */
function uniformCounts(perBin: number): number[] {
  return new Array<number>(BINS).fill(perBin);
}

describe('entropy search: what the reference fixes that the talk leaves open', () => {
  it('exact zeros (bin 0) do not move the threshold: ReLU outputs with 90% zeros calibrate as without them', async () => {
    const halfNormal = Array.from({ length: BINS }, (_, k) => Math.round(1e6 * Math.exp(-0.5 * ((k + 0.5) / 500) ** 2)));
    const withZeros = [...halfNormal];
    withZeros[0] = 9 * halfNormal.reduce((a, b) => a + b, 0);
    const a = CalibrationHistogram.fromCounts(halfNormal, 5);
    const b = CalibrationHistogram.fromCounts(withZeros, 5);
    const [ea, eb] = [await a.entropyThreshold(), await b.entropyThreshold()];
    expect(eb.bins).toBe(ea.bins);
    expect(eb.bins).toBe(referenceEntropy(withZeros).bins);
    // Far from the narrowest candidate the zero spike used to force.
    expect(eb.bins).toBeGreaterThan(1000);
    a.dispose();
    b.dispose();
  });

  it('a distribution offset from zero collapses to its lowest populated bin (a limit of KL(P||Q) itself)', async () => {
    // |x| only in bins 700..2047, as openWakeWord's features (all in [3.8, 12]): at i = 701, P
    // and Q are both a single spike in bin 700, a divergence of 0, however much is clipped.
    const counts = Array.from({ length: BINS }, (_, k) => (k >= 700 ? Math.round(1000 * Math.exp(-(k - 700) / 300)) : 0));
    const h = CalibrationHistogram.fromCounts(counts, 12);
    const e = await h.entropyThreshold();
    expect(e.bins).toBe(referenceEntropy(counts).bins);
    expect(e.bins).toBe(701);
    expect(e.divergence).toBeCloseTo(0, 12);
    // 'auto' sees the clipping error and keeps the full range.
    const auto = await h.autoThreshold();
    expect(auto.method).not.toBe('entropy');
    expect(auto.threshold).toBeGreaterThan(10);
    expect(auto.meanSquaredError).toBeLessThan(auto.candidates[0]!.meanSquaredError / 1000);
    h.dispose();
  });
});

describe('quantization error estimate (method auto) against arithmetic', () => {
  it('uniform |x| on [0, M] with threshold M: step s = M/127, mean squared error s^2/12', () => {
    const h = CalibrationHistogram.fromCounts(uniformCounts(1000), 4);
    const s = 4 / 127;
    expect(h.quantizationError(4)).toBeCloseTo(s ** 2 / 12, 12);
    h.dispose();
  });

  it('uniform |x| on [0, M] clipped at M/2: (t s^2/12 + (M - t)^3/3) / M', () => {
    const M = 4;
    const t = 2;
    const s = t / 127;
    const h = CalibrationHistogram.fromCounts(uniformCounts(1000), M);
    // Inside [0, t]: 127 whole periods of the sawtooth, each s^3/12; beyond: the clipping error.
    expect(h.quantizationError(t)).toBeCloseTo(((t * s * s) / 12 + (M - t) ** 3 / 3) / M, 12);
    h.dispose();
  });

  it('matches quantize-dequantize of the values themselves', async () => {
    // Values spread evenly within every bin, so the estimate's one assumption holds.
    const perBin = 64;
    const M = 3;
    const values = new Float32Array(BINS * perBin);
    for (let k = 0; k < BINS; k++) for (let j = 0; j < perBin; j++) values[k * perBin + j] = ((k + (j + 0.5) / perBin) * M) / BINS;
    const h = new CalibrationHistogram();
    await h.add(values);
    for (const t of [M, 2, 0.7]) {
      const s = t / 127;
      let sum = 0;
      for (const x of values) {
        const q = x > t ? t : s * Math.round(x / s);
        sum += (x - q) ** 2;
      }
      expect(h.quantizationError(t) / (sum / values.length)).toBeCloseTo(1, 2);
    }
    h.dispose();
  });

  it('autoThreshold picks the candidate with the least estimated error', async () => {
    const next = (() => {
      let s = 12345;
      return () => ((s = (s * 1103515245 + 12345) >>> 0) / 2 ** 32);
    })();
    const values = Float32Array.from({ length: 200_000 }, () => Math.sqrt(-2 * Math.log(1 - next())) * Math.cos(2 * Math.PI * next()));
    const h = new CalibrationHistogram();
    await h.add(values);
    const auto = await h.autoThreshold();
    expect(auto.candidates.map((c) => `${c.method}${c.percentile ?? ''}`)).toEqual(['entropy', 'percentile99.99', 'percentile99.999', 'minmax']);
    for (const c of auto.candidates) {
      expect(c.meanSquaredError).toBe(h.quantizationError(c.threshold));
      expect(auto.meanSquaredError).toBeLessThanOrEqual(c.meanSquaredError);
    }
    expect(await h.threshold('auto')).toBe(auto.threshold);
    expect((await h.entropyThreshold()).threshold).toBe(auto.candidates[0]!.threshold);
    expect(auto.candidates[3]!.threshold).toBe(h.maxAbs);
    h.dispose();
  });

  it('refuses a threshold that is not a positive number', () => {
    const h = CalibrationHistogram.fromCounts(uniformCounts(1), 1);
    expect(() => h.quantizationError(0)).toThrow(/finite number > 0/);
    expect(() => h.quantizationError(Number.NaN)).toThrow(/finite number > 0/);
    h.dispose();
  });
});

describe("quantizeInt8 with method 'auto'", () => {
  it('reports the method each tensor got, and the scales follow the chosen thresholds', async () => {
    const batches = Array.from({ length: 8 }, (_, b) => ({ x: new Tensor('float32', randomFloats(4 * 8, 50 + b), [4, 8]) }));
    let chosen: ReadonlyMap<string, { method: string; threshold: number }> | undefined;
    const dir = mkdtempSync(join(tmpdir(), 'tnrt-auto-'));
    const cache = join(dir, 'auto.cache');
    await quantizeInt8(mlpModel(), { calibrationData: batches, method: 'auto', backend: 'sim', onThresholds: (t) => (chosen = t), calibrationCache: { write: cache } });
    expect(chosen).toBeDefined();
    expect([...chosen!.keys()].sort()).toEqual(['h0', 'h2', 'h3', 'x']);
    const lines = readFileSync(cache, 'utf8').trim().split('\n');
    expect(lines[0]).toBe('TRT-101600-EntropyCalibration2');
    for (const [name, c] of chosen!) {
      expect(['entropy', 'percentile', 'minmax']).toContain(c.method);
      const hex = lines.find((l) => l.startsWith(`${name}: `))!.slice(name.length + 2);
      const scale = new DataView(Uint32Array.of(Number.parseInt(hex, 16)).buffer).getFloat32(0, true);
      expect(scale).toBe(Math.fround(c.threshold / 127));
    }
    rmSync(dir, { recursive: true, force: true });
  });
});

// ---- openWakeWord's embedding model on its real input features ----------------------------

const embeddingEntry = (manifest as { name: string }[]).find((e) => e.name === 'openWakeWord embedding');
const melEntry = (manifest as { name: string }[]).find((e) => e.name === 'openWakeWord melspectrogram');
const haveOww = embeddingEntry !== undefined && melEntry !== undefined && isCached(embeddingEntry) && isCached(melEntry);

/** 76-frame windows of openWakeWord's features (melspectrogram / 10 + 2), from onnxruntime on int16-scale speech. */
async function featureWindows(seeds: number[], perClip: number): Promise<Tensor[]> {
  const mel = await ort.InferenceSession.create(modelPath(melEntry) as string);
  const windows: Tensor[] = [];
  for (const seed of seeds) {
    const audio = speechLike(4, { seed, peak: 16000, leadingSilence: 0.1 }) as Float32Array;
    const out = (await mel.run({ input: new ort.Tensor('float32', audio, [1, audio.length]) })).output!;
    const [, , frames, bins] = out.dims as number[];
    const data = Float32Array.from(out.data as Float32Array, (v) => v / 10 + 2);
    for (let w = 0; w < perClip; w++) {
      const start = Math.floor((w * (frames! - 76)) / (perClip - 1));
      windows.push(new Tensor('float32', data.slice(start * bins!, (start + 76) * bins!), [1, 76, bins!, 1]));
    }
  }
  await mel.release();
  return windows;
}

describe.skipIf(!haveOww)('openWakeWord embedding: real activation histograms', () => {
  it('native entropy = the float64 reference on every calibrated tensor', { timeout: 120_000 }, async () => {
    const calibration = await featureWindows([100, 101, 102, 103, 104], 4);
    const { model } = await readModel(modelPath(embeddingEntry) as string);
    upgradeOpset(model, 13);
    const graph = model.graph!;
    const plan = planQuantization(graph, (n) => QUANTIZABLE_OPS.includes(n.opType), new GraphConstants(graph));
    const { histograms } = await collectStatistics(model, ['input_1'], plan.activations, calibration.map((x) => ({ input_1: x })), { backend: 'sim', shapes: undefined });
    try {
      expect(histograms.size).toBe(25);
      for (const [name, h] of histograms) {
        const counts = [...h.counts];
        const ref = referenceEntropy(counts);
        const got = await h.entropyThreshold();
        expect(got.bins, name).toBe(ref.bins);
        expect(got.divergence).toBeCloseTo(ref.divergences.get(ref.bins)!, 9);
      }
      // The input features sit in [3.8, 12]: entropy clips nearly all of them (see above).
      const input = histograms.get('model/conv2d/Conv2D__6:0')!;
      const e = await input.entropyThreshold();
      expect(e.threshold).toBeLessThan(input.maxAbs / 2);
      expect(e.divergence).toBeCloseTo(0, 12);
    } finally {
      for (const h of histograms.values()) h.dispose();
    }
  });

  it("'auto' is at least as accurate as the best single method, less 0.002", { timeout: 300_000 }, async () => {
    const calibration = await featureWindows([100, 101, 102, 103, 104], 4);
    const validation = await featureWindows([300, 301], 5);
    const bytes = readFileSync(modelPath(embeddingEntry) as string);
    const shapes = { input_1: [1, 76, 32, 1] };
    const reference = await InferenceSession.create(await buildEngine(bytes, { backend: 'sim', shapes }), { backend: 'sim' });
    const expected = await Promise.all(validation.map(async (v) => (await reference.run({ input_1: v })).conv2d_19!.toFloat32()));
    reference.dispose();
    const cosine = async (method: 'entropy' | 'minmax' | 'percentile' | 'auto'): Promise<number> => {
      const q = await quantizeInt8(bytes, { calibrationData: calibration.map((x) => ({ input_1: x })), method, backend: 'sim' });
      const s = await InferenceSession.create(await buildEngine(q, { backend: 'sim', shapes }), { backend: 'sim' });
      let dot = 0;
      let rr = 0;
      let cc = 0;
      for (let i = 0; i < validation.length; i++) {
        const c = (await s.run({ input_1: validation[i]! })).conv2d_19!.toFloat32();
        const r = expected[i]!;
        for (let k = 0; k < r.length; k++) {
          dot += r[k]! * c[k]!;
          rr += r[k]! * r[k]!;
          cc += c[k]! * c[k]!;
        }
      }
      s.dispose();
      return dot / Math.sqrt(rr * cc);
    };
    const results = { entropy: await cosine('entropy'), minmax: await cosine('minmax'), percentile: await cosine('percentile'), auto: await cosine('auto') };
    expect(results.auto).toBeGreaterThanOrEqual(Math.max(results.entropy, results.minmax, results.percentile) - 0.002);
    expect(results.auto).toBeGreaterThan(0.99);
  });
});

// ---- PP-OCRv4's text detector: ReLU-heavy, where the zero spike used to collapse thresholds --

const detEntry = (manifest as { name: string }[]).find((e) => e.name === 'PP-OCRv4 text detection');

describe.skipIf(detEntry === undefined || !isCached(detEntry))('PP-OCRv4 text detection: tensors that are mostly zeros', () => {
  it('calibrate as the reference does, none at the narrowest candidate', { timeout: 300_000 }, async () => {
    const context = makeContext(manifest);
    const { steps } = await (detEntry as unknown as { inputs: (c: unknown) => Promise<{ steps: Record<string, { dtype: 'float32'; data: Float32Array; dims: number[] }>[] }> }).inputs(context);
    const x = steps[0]!.x!;
    const { model } = await readModel(modelPath(detEntry) as string);
    upgradeOpset(model, 13);
    const graph = model.graph!;
    const plan = planQuantization(graph, (n) => QUANTIZABLE_OPS.includes(n.opType), new GraphConstants(graph));
    const feeds = [{ x: new Tensor('float32', x.data, x.dims) }];
    const { histograms } = await collectStatistics(model, ['x'], plan.activations, feeds, { backend: 'sim', shapes: { x: x.dims } });
    try {
      let mostlyZeros = 0;
      for (const [name, h] of histograms) {
        const counts = [...h.counts];
        const got = await h.entropyThreshold();
        expect(got.bins, name).toBeGreaterThan(128);
        if (counts[0]! < 0.3 * h.total) continue;
        // Over 30% zeros (ReLU, clipped activations): the reference must agree.
        mostlyZeros++;
        expect(got.bins, name).toBe(referenceEntropy(counts).bins);
      }
      expect(mostlyZeros).toBeGreaterThanOrEqual(2);
    } finally {
      for (const h of histograms.values()) h.dispose();
    }
  });
});
