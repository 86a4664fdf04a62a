// Method 'auto' of quantizeInt8: the per-layer choice (each candidate threshold judged by the
// error it causes in the outputs of the layers reading the tensor) against the same error
// computed here in float64 from the ONNX definitions of QuantizeLinear (round half to even,
// saturate to [-128, 127]) and MatMul; and the whole-model check that keeps the best set.
import { describe, expect, it } from 'vitest';

import { Logger, Tensor } from '../lib/index.js';
import type { AutoThreshold } from '../lib/calibration/histogram.js';
import { parseModel } from '../lib/onnx/model-io.js';
import { makeModel, makeTensor } from '../lib/onnx/model-builder.js';
import { bestSingle, chooseByLayerOutput, keepingFirstBatches, leastTensorErrorSet, MIX_MARGIN, pickSet, singleMethodSet } from '../lib/precision/auto-calibration.js';
import { quantizeInt8 } from '../lib/precision/int8.js';
import { GraphConstants } from '../lib/precision/qdq-insertion.js';
import { planQuantization } from '../lib/precision/qdq-plan.js';
import type { Feeds } from '../lib/execution-context.js';
import { mlpModel, randomFloats } from './fixtures/models.js';

const ROWS = 32;
const K = 8;
const N = 4;

/** Weights [K, N]: input channel 0 weighted by `first`, the others by 0.1 times a random sign-mixed value. */
function weights(first: number, seed: number): Float32Array {
  const w = randomFloats(K * N, seed).map((v) => 0.1 * v);
  for (let n = 0; n < N; n++) w[n] = first * (n % 2 === 0 ? 1 : -1);
  return w;
}

/** x [ROWS, K] in [-1, 1), with an outlier of ±20 in channel 0 of every eighth row. */
function batch(seed: number): Feeds {
  const x = randomFloats(ROWS * K, seed);
  for (let r = 0; r < ROWS; r += 8) x[r * K] = r % 16 === 0 ? 20 : -20;
  return { x: new Tensor('float32', x, [ROWS, K]) };
}

/** x read by two MatMuls: one weights channel 0 (where the outliers are) by `first`, the other by 0.0001. */
function twoConsumers(first: number): { bytes: Uint8Array; wa: Float32Array; wb: Float32Array } {
  const wa = weights(first, 3);
  const wb = weights(0.0001, 5);
  const bytes = makeModel({
    inputs: [{ name: 'x', dtype: 'float32', shape: [ROWS, K] }],
    outputs: [
      { name: 'ya', dtype: 'float32', shape: [ROWS, N] },
      { name: 'yb', dtype: 'float32', shape: [ROWS, N] },
    ],
    initializers: [makeTensor('Wa', 'float32', [K, N], wa), makeTensor('Wb', 'float32', [K, N], wb)],
    nodes: [
      { op: 'MatMul', name: 'a', inputs: ['x', 'Wa'], outputs: ['ya'] },
      { op: 'MatMul', name: 'b', inputs: ['x', 'Wb'], outputs: ['yb'] },
    ],
  });
  return { bytes, wa, wb };
}

/** ONNX QuantizeLinear then DequantizeLinear, int8, zero point 0, computed in float64. */
function fakeQuantize(x: Float32Array, threshold: number): Float64Array {
  const scale = Math.fround(threshold / 127);
  return Float64Array.from(x, (v) => {
    const q = v / scale;
    const floor = Math.floor(q);
    const diff = q - floor;
    // Round half to even, as QuantizeLinear does.
    const rounded = diff > 0.5 || (diff === 0.5 && floor % 2 !== 0) ? floor + 1 : floor;
    return Math.min(127, Math.max(-128, rounded)) * scale;
  });
}

function matmul(x: ArrayLike<number>, w: Float32Array): Float64Array {
  const y = new Float64Array(ROWS * N);
  for (let r = 0; r < ROWS; r++) for (let k = 0; k < K; k++) for (let n = 0; n < N; n++) y[r * N + n]! += x[r * K + k]! * w[k * N + n]!;
  return y;
}

/** sum((y(quantized x) - y(x))^2) / sum(y(x)^2) over every batch, for one consumer's weights. */
function relativeError(batches: Feeds[], w: Float32Array, threshold: number): number {
  let error = 0;
  let energy = 0;
  for (const b of batches) {
    const x = b.x!.data as Float32Array;
    const y = matmul(x, w);
    const yq = matmul(fakeQuantize(x, threshold), w);
    for (let i = 0; i < y.length; i++) {
      error += (yq[i]! - y[i]!) ** 2;
      energy += y[i]! ** 2;
    }
  }
  return error / energy;
}

// Two candidates for x: one clips the outliers (fine steps for the bulk), one keeps them.
const CANDIDATES: AutoThreshold = {
  method: 'entropy',
  threshold: 1,
  meanSquaredError: 0,
  candidates: [
    { method: 'entropy', threshold: 1, meanSquaredError: 0 },
    { method: 'minmax', threshold: 20, meanSquaredError: 0 },
  ],
};

describe("method 'auto': the per-layer choice", () => {
  const batches = [batch(11), batch(12), batch(13)];

  for (const first of [10, 0.0001]) {
    it(`picks the candidate with the least summed output error of the consumers (channel-0 weight ${first})`, async () => {
      const { bytes, wa, wb } = twoConsumers(first);
      const model = parseModel(bytes);
      const graph = model.graph!;
      const plan = planQuantization(graph, () => true, new GraphConstants(graph));
      expect(plan.activations).toEqual(['x']);
      const chosen = await chooseByLayerOutput(model, plan, new Map([['x', CANDIDATES]]), batches, { backend: 'sim' });
      const scores = CANDIDATES.candidates.map((c) => relativeError(batches, wa, c.threshold) + relativeError(batches, wb, c.threshold));
      const expected = scores[0]! <= scores[1]! ? CANDIDATES.candidates[0]! : CANDIDATES.candidates[1]!;
      // The two errors differ by far more than float32 rounding, so the winner is unambiguous.
      expect(Math.abs(scores[0]! - scores[1]!)).toBeGreaterThan(0.1 * Math.min(scores[0]!, scores[1]!));
      expect(chosen.get('x')).toEqual({ method: expected.method, threshold: expected.threshold });
      // The probe leaves the model as it was.
      expect(graph.node.map((n) => n.name)).toEqual(['a', 'b']);
      expect(graph.output.map((o) => o.name)).toEqual(['ya', 'yb']);
    });
  }

  it('keeps the outliers where a heavily weighted channel holds them, and clips them where it does not', async () => {
    // The float64 arithmetic says which candidate wins for each weighting; the probe must agree.
    const { wb } = twoConsumers(10);
    const total = (wa: Float32Array, t: number) => relativeError(batches, wa, t) + relativeError(batches, wb, t);
    for (const [first, keeps] of [[10, true], [0.0001, false]] as const) {
      const { bytes, wa } = twoConsumers(first);
      expect(total(wa, 20) < total(wa, 1)).toBe(keeps);
      const model = parseModel(bytes);
      const plan = planQuantization(model.graph!, () => true, new GraphConstants(model.graph!));
      const chosen = await chooseByLayerOutput(model, plan, new Map([['x', CANDIDATES]]), batches, { backend: 'sim' });
      expect(chosen.get('x')!.threshold, `channel-0 weight ${first}`).toBe(keeps ? 20 : 1);
    }
  });

  it('leaves the caller\'s model untouched while the probe runs', async () => {
    const model = parseModel(twoConsumers(10).bytes);
    const graph = model.graph!;
    const plan = planQuantization(graph, () => true, new GraphConstants(graph));
    const [nodes, initializers] = [graph.node, graph.initializer];
    const pending = chooseByLayerOutput(model, plan, new Map([['x', CANDIDATES]]), batches, { backend: 'sim' });
    // Other code may run while the probe awaits: it must see the model as it was.
    expect(graph.node).toBe(nodes);
    expect(graph.initializer).toBe(initializers);
    expect(graph.node.map((n) => n.name)).toEqual(['a', 'b']);
    await pending;
    expect(graph.node.map((n) => n.name)).toEqual(['a', 'b']);
  });

  it('keeps the default where no consumer says anything (all-zero weights)', async () => {
    // y = x · 0 is all zeros: every candidate's error is 0 of 0 energy. That informs nothing, so
    // the tensor keeps its least-error default (minmax here) rather than the first candidate.
    const bytes = makeModel({
      inputs: [{ name: 'x', dtype: 'float32', shape: [ROWS, K] }],
      outputs: [{ name: 'y', dtype: 'float32', shape: [ROWS, N] }],
      initializers: [makeTensor('W', 'float32', [K, N], new Float32Array(K * N))],
      nodes: [{ op: 'MatMul', name: 'zero', inputs: ['x', 'W'], outputs: ['y'] }],
    });
    const model = parseModel(bytes);
    const plan = planQuantization(model.graph!, () => true, new GraphConstants(model.graph!));
    const minmaxDefault: AutoThreshold = { ...CANDIDATES, method: 'minmax', threshold: 20 };
    const chosen = await chooseByLayerOutput(model, plan, new Map([['x', minmaxDefault]]), batches, { backend: 'sim' });
    expect(chosen.get('x')).toEqual({ method: 'minmax', threshold: 20 });
  });
});

describe("method 'auto': whole-model sets", () => {
  it("takes each tensor's least-error candidate for the per-tensor set", () => {
    const set = leastTensorErrorSet(new Map([['x', { ...CANDIDATES, method: 'minmax' as const, threshold: 20 }]]));
    expect(set.label).toBe('per-tensor');
    expect(set.thresholds.get('x')).toEqual({ method: 'minmax', threshold: 20 });
  });

  it("takes every tensor's candidate of one method, and refuses a method some tensor lacks", () => {
    const candidates = new Map([
      ['x', CANDIDATES],
      ['zero', { method: 'minmax' as const, threshold: 0, meanSquaredError: 0, candidates: [] }],
    ]);
    const minmax = singleMethodSet(candidates, 'minmax')!;
    expect(minmax.label).toBe('minmax');
    expect(minmax.thresholds.get('x')).toEqual({ method: 'minmax', threshold: 20 });
    expect(minmax.thresholds.get('zero')).toEqual({ method: 'minmax', threshold: 0 });
    expect(singleMethodSet(candidates, 'percentile', 99.99)).toBeUndefined();
    // The all-zero tensor is labelled with the set's method, whatever its own default was.
    expect(singleMethodSet(candidates, 'entropy')!.thresholds.get('zero')).toEqual({ method: 'entropy', threshold: 0 });
    const withPercentile = new Map([['zero', { method: 'minmax' as const, threshold: 0, meanSquaredError: 0, candidates: [] }]]);
    expect(singleMethodSet(withPercentile, 'percentile', 99.99)!.thresholds.get('zero')).toEqual({ method: 'percentile', percentile: 99.99, threshold: 0 });
  });
});

describe("method 'auto': which set step 2 keeps", () => {
  const set = (label: string, mixed: boolean) => ({ label, mixed, thresholds: new Map() });
  // [label, score on every kept batch, score on the check batches]
  const singles = (rows: [string, number, number][]) => rows.map(([label, cosine, checkCosine]) => ({ set: set(label, false), cosine, checkCosine }));
  const pick = (rows: [string, number, number][], mix?: number) => pickSet(singles(rows), mix === undefined ? undefined : { set: set('per-layer', true), cosine: mix }).label;

  it('ranks the single methods by their score on every kept batch, not on the check batches alone', () => {
    // minmax leads on every batch though entropy leads on the check batches: minmax.
    expect(pick([['entropy', 0.9989, 0.99981], ['percentile 99.99', 0.9998, 0.99976], ['minmax', 0.99985, 0.99977]])).toBe('minmax');
    // On a tie the earlier.
    expect(pick([['entropy', 0.99, 0.99], ['minmax', 0.995, 0.99], ['percentile 99.99', 0.995, 0.999]])).toBe('minmax');
    expect(bestSingle(singles([['entropy', Number.NaN, 0.9], ['minmax', 0.5, 0.5]]))!.set.label).toBe('minmax');
    expect(bestSingle(singles([['entropy', Number.NaN, 0.9]]))).toBeUndefined();
  });

  it("keeps the per-layer set only when it beats the best single method's check score by more than MIX_MARGIN", () => {
    expect(MIX_MARGIN).toBe(0.002);
    // Against percentile 99.99 (best on every batch), whose check score is 0.9679:
    // 0.9750 - 0.9679 = 0.0071 > 0.002: the mix.
    expect(pick([['entropy', 0.9546, 0.9505], ['percentile 99.99', 0.9748, 0.9679], ['minmax', 0.9524, 0.9463]], 0.975)).toBe('per-layer');
    // 0.9690 - 0.9679 = 0.0011 <= 0.002: the single method.
    expect(pick([['entropy', 0.9546, 0.9505], ['percentile 99.99', 0.9748, 0.9679], ['minmax', 0.9524, 0.9463]], 0.969)).toBe('percentile 99.99');
    // The comparison is with the best single method's check score, not with the best check
    // score: entropy's 0.9800 on the check batches does not hold the mix back.
    expect(pick([['entropy', 0.95, 0.98], ['minmax', 0.97, 0.96]], 0.97)).toBe('per-layer');
  });

  it('never keeps a NaN score, and falls back to the first single method when all are NaN', () => {
    expect(pick([['entropy', Number.NaN, Number.NaN]], 0.9)).toBe('per-layer');
    expect(pick([['entropy', 0.5, 0.5]], Number.NaN)).toBe('entropy');
    expect(pick([['entropy', Number.NaN, Number.NaN], ['minmax', Number.NaN, Number.NaN]], Number.NaN)).toBe('entropy');
  });
});

describe("method 'auto': end to end", () => {
  it('keeps copies of the first batches as calibration streams them, reading the data once', async () => {
    let pulled = 0;
    function* data(): Generator<Feeds> {
      for (let i = 0; i < 5; i++) {
        pulled++;
        yield { x: new Tensor('float32', Float32Array.of(i, -i), [1, 2]), extra: new Tensor('float32', Float32Array.of(1), [1]) };
      }
    }
    const kept: Feeds[] = [];
    const seen: Feeds[] = [];
    const wrapped = keepingFirstBatches(data(), ['x'], { atLeast: 3, atMost: 3, bytes: 0 }, kept);
    // A generator reads once; so does the wrapper (it is an iterator too).
    expect(typeof (wrapped as { next?: unknown }).next).toBe('function');
    for await (const b of wrapped as AsyncIterable<Feeds>) seen.push(b);
    expect(pulled).toBe(5);
    expect(seen).toHaveLength(5);
    expect(kept.map((b) => Object.keys(b))).toEqual([['x'], ['x'], ['x']]);
    expect(kept.map((b) => [...(b.x!.data as Float32Array)])).toEqual([[0, -0], [1, -1], [2, -2]]);
    // Copies: the caller may reuse its buffers.
    expect(kept[1]!.x!.data).not.toBe(seen[1]!.x!.data);
  });

  it('reports a failing or malformed calibration source as the other methods do', async () => {
    const failing = (method: 'entropy' | 'auto') => {
      function* data(): Generator<Feeds> {
        yield { x: new Tensor('float32', randomFloats(4 * 8, 1), [4, 8]) };
        throw new RangeError('disk gone');
      }
      return quantizeInt8(mlpModel(), { calibrationData: data(), method, backend: 'sim' }).catch((e: unknown) => e as Error);
    };
    const [entropy, auto] = [await failing('entropy'), await failing('auto')];
    expect(auto.constructor).toBe(entropy.constructor);
    expect(auto.message).toBe(entropy.message);
    expect((auto.cause as Error).message).toBe('disk gone');
    const malformed = (method: 'entropy' | 'auto') =>
      quantizeInt8(mlpModel(), { calibrationData: [{ y: new Tensor('float32', randomFloats(4 * 8, 1), [4, 8]) }], method, backend: 'sim' }).catch((e: unknown) => e as Error);
    const [e2, a2] = [await malformed('entropy'), await malformed('auto')];
    expect(a2.constructor).toBe(e2.constructor);
    expect(a2.message).toBe(e2.message);
  });

  it('keeps small batches past the first ones, up to a byte budget and a count', async () => {
    // Each batch's input is 2 float32 values: 8 bytes.
    const batches = [0, 1, 2, 3, 4, 5].map((i) => ({ x: new Tensor('float32', Float32Array.of(i, -i), [1, 2]) }));
    const keep = async (limit: { atLeast: number; atMost: number; bytes: number }) => {
      const kept: Feeds[] = [];
      for await (const _ of keepingFirstBatches(batches, ['x'], limit, kept) as AsyncIterable<Feeds>);
      return kept.map((b) => (b.x!.data as Float32Array)[0]);
    };
    // Two kept whatever their size (16 bytes, over a budget of 12), then none.
    expect(await keep({ atLeast: 2, atMost: 6, bytes: 12 })).toEqual([0, 1]);
    // Two, then a third while 24 bytes fit; the fourth would make 32.
    expect(await keep({ atLeast: 2, atMost: 6, bytes: 24 })).toEqual([0, 1, 2]);
    // Never more than atMost, however many bytes are allowed.
    expect(await keep({ atLeast: 2, atMost: 4, bytes: 1e9 })).toEqual([0, 1, 2, 3]);
  });

  it('keeps restartable data restartable, keeping batches from the first pass only', async () => {
    const batches = [0, 1, 2, 3].map((i) => ({ x: new Tensor('float32', Float32Array.of(i, -i), [1, 2]) }));
    const kept: Feeds[] = [];
    const wrapped = keepingFirstBatches(batches, ['x'], { atLeast: 8, atMost: 8, bytes: 0 }, kept) as AsyncIterable<Feeds>;
    expect(typeof (wrapped as { next?: unknown }).next).toBe('undefined');
    for (let pass = 0; pass < 2; pass++) {
      const seen: Feeds[] = [];
      for await (const b of wrapped) seen.push(b);
      expect(seen).toEqual(batches);
    }
    expect(kept.map((b) => (b.x!.data as Float32Array)[0])).toEqual([0, 1, 2, 3]);
  });

  /** x [512, K] -> MatMul: channel 0 weighted 0, with one outlier of 1000 in the first batch; the rest in [-1, 1). */
  function outlierOnUnusedChannel(): { bytes: Uint8Array; data: (count: number) => Feeds[] } {
    const rows = 512;
    const w = randomFloats(K * N, 9);
    for (let n = 0; n < N; n++) w[n] = 0;
    const bytes = makeModel({
      inputs: [{ name: 'x', dtype: 'float32', shape: [rows, K] }],
      outputs: [{ name: 'y', dtype: 'float32', shape: [rows, N] }],
      initializers: [makeTensor('W', 'float32', [K, N], w)],
      nodes: [{ op: 'MatMul', name: 'mm', inputs: ['x', 'W'], outputs: ['y'] }],
    });
    const data = (count: number) =>
      Array.from({ length: count }, (_, b) => {
        const x = randomFloats(rows * K, 70 + b);
        if (b === 0) x[0] = 1000;
        return { x: new Tensor('float32', x, [rows, K]) };
      });
    return { bytes, data };
  }

  async function runAuto(bytes: Uint8Array, data: Feeds[]) {
    const messages: string[] = [];
    const logger = new Logger({ minSeverity: 'info', onMessage: (_, m) => messages.push(m) });
    let chosen: ReadonlyMap<string, { method: string; percentile?: number; threshold: number }> | undefined;
    await quantizeInt8(bytes, { calibrationData: data, method: 'auto', backend: 'sim', logger, onThresholds: (t) => (chosen = t) });
    // Messages come through the native logger, delivered on a later turn of the event loop.
    await new Promise((resolve) => setImmediate(resolve));
    return { line: messages.find((m) => m.startsWith("quantizeInt8 method 'auto':")), chosen: chosen! };
  }

  it('says which set of thresholds it kept, with every set scored, and keeps the one that is known best', async () => {
    // The outlier sits on a channel the MatMul weights by 0: clipping it costs nothing. It is 1
    // of 24576 values (0.004%): percentile 99.99 clips it (a threshold near the bulk's 1, a
    // step of ~1/127), while percentile 99.999 and minmax keep it (a step of 1000/127 ~ 7.9,
    // which rounds every other value to 0), and so does entropy on this histogram. So
    // percentile 99.99's set is the best single method by far; the per-layer choice can only
    // match it (it picks the same candidate), so it does not beat it by MIX_MARGIN.
    const { bytes, data } = outlierOnUnusedChannel();
    const { line, chosen } = await runAuto(bytes, data(6));
    expect(line).toBeDefined();
    // Six batches: the single methods are scored on all six; three probe the layers, and the
    // per-layer set is checked on the other three.
    expect(line).toMatch(/worst output cosine on 6 calibration batches: entropy [\d.]+, percentile 99\.99 [\d.]+, percentile 99\.999 [\d.]+, minmax [\d.]+; per-layer choice \(.+\) [\d.]+ against percentile 99\.99 [\d.]+ on the 3 batches it was not fitted to$/);
    expect(line).toMatch(/every tensor by percentile 99\.99 kept/);
    expect(chosen.get('x')).toMatchObject({ method: 'percentile', percentile: 99.99 });
    // The premise: percentile 99.99 clipped the outlier.
    expect(chosen.get('x')!.threshold).toBeLessThan(2);
  });

  it('with one calibration batch, scores only the single methods (no batch is left to check a fit on)', async () => {
    const { bytes, data } = outlierOnUnusedChannel();
    const { line } = await runAuto(bytes, data(1));
    expect(line).toMatch(/worst output cosine on 1 calibration batches: entropy [\d.]+, percentile 99\.99 [\d.]+, percentile 99\.999 [\d.]+, minmax [\d.]+; per-layer choice not made \(one calibration batch, none left to check a fit on\)$/);
  });
});
