// Accuracy-targeted mixed precision: the search that keeps the layers INT8 (or float16) hurts
// most in float, and the FLOP counts its report gives. The models are built so that which layer
// breaks, and by how much, follows from arithmetic stated beside them.
import { describe, expect, it } from 'vitest';

import { convertToFloat16, type Feeds, type Float16Report, InvalidArgumentError, Logger, Tensor } from '../lib/index.js';
import { makeModel, makeTensor } from '../lib/onnx/model-builder.js';
import { parseModel } from '../lib/onnx/model-io.js';
import { measureFlops } from '../lib/precision/compute-flops.js';
import { convertToFloat16WithReport } from '../lib/precision/fp16-targets.js';
import { quantizeInt8WithReport } from '../lib/precision/int8.js';
import { searchFloatLayers } from '../lib/precision/sensitivity-search.js';
import { randomFloats } from './fixtures/models.js';
import { cancellationModel, overflowModel, sensitiveModel } from './fixtures/precision-models.js';
import { runOrt, runSim } from './fixtures/runtimes.js';

const B = 4;
const feeds = (seed: number) => ({ x: new Tensor('float32', randomFloats(B * 8, seed), [B, 8]) });
const batches = (from: number, n: number) => Array.from({ length: n }, (_, i) => feeds(from + i));

/** Cosine of a run's y against x / 2, what cancellationModel computes exactly. */
function cosineToHalf(input: Feeds, output: Feeds): number {
  const x = input.x!.data as Float32Array;
  const y = output.y!.toFloat32();
  let dot = 0;
  let xx = 0;
  let yy = 0;
  for (let i = 0; i < x.length; i++) {
    dot += (x[i]! / 2) * y[i]!;
    xx += (x[i]! / 2) ** 2;
    yy += y[i]! ** 2;
  }
  return dot / Math.sqrt(xx * yy);
}

const quietLogger = () => new Logger({ minSeverity: 'error' });

describe('quantizeInt8 with an accuracy target', () => {
  it('keeps the one layer that min-max INT8 destroys in float, and quantizes the rest', async () => {
    const common = { calibrationData: batches(1, 16), method: 'minmax' as const, backend: 'sim' as const };
    const plain = await quantizeInt8WithReport(sensitiveModel(), { ...common, accuracy: { minCosine: 0, validationData: batches(100, 8) } });
    // Fully quantized: y is exactly zero, as the arithmetic above says.
    expect(plain.report.floatNodes).toEqual([]);
    expect(plain.report.accuracy!.cosine).toBe(0);

    const { report } = await quantizeInt8WithReport(sensitiveModel(), { ...common, accuracy: { minCosine: 0.99, validationData: batches(100, 8) } });
    expect(report.floatNodes.map((n) => n.name)).toEqual(['mm2']);
    expect(report.floatNodes[0]!.opType).toBe('MatMul');
    expect(report.floatNodes[0]!.cosine).toBe(0);
    expect(report.int8Nodes).toEqual(['mm1', 'add']);
    expect(report.accuracy!.met).toBe(true);
    expect(report.accuracy!.cosine).toBeGreaterThanOrEqual(0.99);
    expect(report.accuracy!.samples).toBe(8);
    // 1 (all INT8) + 1 (add, which has no MatMul FLOPs, in float: mm2 still ruins y) + 2 (one
    // per MatMul) + 1 (mm2 in float) + 1 (mm2 tried in INT8 again) + 1 (add back in INT8).
    expect(report.accuracy!.evaluations).toBe(7);
    // mm1: 2 * 4 * 8 * 8 = 512 FLOPs, mm2: 2 * 4 * 4 * 8 = 256; only mm1 runs in INT8.
    expect(report.flops!.nodes).toEqual([
      { node: 'mm1', opType: 'MatMul', flops: 512 },
      { node: 'mm2', opType: 'MatMul', flops: 256 },
    ]);
    expect(report.flops!.total).toBe(768);
    expect(report.flops!.int8).toBe(512);
    expect(report.flops!.int8Share).toBeCloseTo(2 / 3, 12);
  });

  it('returns a model whose float layers carry no Q/DQ', async () => {
    const { model } = await quantizeInt8WithReport(sensitiveModel(), {
      calibrationData: batches(1, 16),
      method: 'minmax',
      backend: 'sim',
      accuracy: { minCosine: 0.99, validationData: batches(100, 8) },
    });
    const graph = parseModel(model).graph!;
    const mm2 = graph.node.find((n) => n.name === 'mm2')!;
    // mm2 reads t and w2 straight, not through DequantizeLinear.
    expect(mm2.input).toEqual(['t', 'w2']);
    const mm1 = graph.node.find((n) => n.name === 'mm1')!;
    expect(graph.node.find((n) => n.output[0] === mm1.input[0])?.opType).toBe('DequantizeLinear');
  });

  it('refuses a malformed target with a typed error', async () => {
    const base = { calibrationData: batches(1, 2), backend: 'sim' as const };
    await expect(quantizeInt8WithReport(sensitiveModel(), { ...base, accuracy: { minCosine: 2, validationData: batches(100, 1) } })).rejects.toThrow(InvalidArgumentError);
    await expect(quantizeInt8WithReport(sensitiveModel(), { ...base, accuracy: { minCosine: 0.99, validationData: 5 as never } })).rejects.toThrow(/accuracy.validationData/);
    await expect(quantizeInt8WithReport(sensitiveModel(), { ...base, accuracy: { minCosine: 0.99, validationData: [] } })).rejects.toThrow(/at least one batch/);
    await expect(quantizeInt8WithReport(sensitiveModel(), { ...base, accuracy: { minCosine: 0.99, validationData: [{ z: feeds(1).x }] } })).rejects.toThrow(/input 'x'/);
  });
});

describe('convertToFloat16WithReport', () => {
  it('keeps the overflowing nodes in float32 through the activation check, before the search', async () => {
    const validationData = batches(200, 4);
    expect(Math.max(...validationData.flatMap((f) => [...(f.x.data as Float32Array)].map(Math.abs)))).toBeGreaterThan(0.86);
    const { model, report } = await convertToFloat16WithReport(overflowModel(), { minCosine: 0.999, validationData, backend: 'sim' });
    // sq exceeds 65504 on this data: its producer and its reader stay float32 before any
    // candidate is measured, so the fully converted rest already meets the target.
    expect(report.activations.activationsChecked).toBe(true);
    expect(report.activations.keptFloat32).toEqual(['square', 'shrink']);
    expect(report.activations.outOfRange.map((a) => a.tensor)).toEqual(['sq']);
    expect(report.floatNodes).toEqual([]);
    expect(report.accuracy).toMatchObject({ met: true, evaluations: 1 });
    expect(report.accuracy.cosine).toBeGreaterThan(0.999);
    // mm: 2 * 4 * 8 * 8 = 512 FLOPs, the only compute node, in float16.
    expect(report.flops).toMatchObject({ total: 512, float16: 512, float16Share: 1 });
    const graph = parseModel(model).graph!;
    expect(graph.initializer.find((t) => t.name === 'w')!.dataType).toBe(10); // FLOAT16
    expect(graph.initializer.find((t) => t.name === 'tiny')!.dataType).toBe(1); // FLOAT, shrink's
  });

  it('keeps the nodes float16 rounding ruins in float32 until the target holds', async () => {
    const validationData = batches(300, 4);
    const { model, report } = await convertToFloat16WithReport(cancellationModel(), { minCosine: 0.999, validationData, backend: 'sim' });
    expect(report.activations.keptFloat32).toEqual([]);
    expect(new Set(report.floatNodes.map((n) => n.name))).toEqual(new Set(['lift', 'drop']));
    // Each alone in float16: near 0.89 (see cancellationModel).
    for (const n of report.floatNodes) expect(n.cosine).toBeLessThan(0.95);
    expect(report.accuracy.met).toBe(true);
    expect(report.flops).toMatchObject({ total: 512, float16: 512 });
    expect(cosineToHalf(validationData[0]!, await runOrt(model, validationData[0]!))).toBeGreaterThan(0.999);
  });

  it('refuses a missing target', async () => {
    await expect(convertToFloat16WithReport(overflowModel(), { validationData: batches(1, 1) } as never)).rejects.toThrow(/minCosine/);
  });
});

describe('convertToFloat16 with minCosine', () => {
  it('returns the targeted model, which onnxruntime runs to y = x / 2; without the target float16 misses it on the sim', async () => {
    const validationData = batches(400, 4);
    const sample = feeds(500);
    const targeted = await convertToFloat16(cancellationModel(), { minCosine: 0.999, validationData, backend: 'sim' });
    const graph = parseModel(targeted).graph!;
    const types = Object.fromEntries(graph.initializer.map((t) => [t.name, t.dataType]));
    expect(types).toMatchObject({ w: 10, c: 1 }); // mm's weight in FLOAT16, lift's and drop's constant FLOAT
    expect(cosineToHalf(sample, await runOrt(targeted, sample))).toBeGreaterThan(0.999);
    const plain = await convertToFloat16(cancellationModel(), { validationData, backend: 'sim', logger: quietLogger() });
    // On the sim: onnxruntime's CPU provider runs float16 Add and Sub in float32 (it inserts
    // Casts), which would hide the rounding.
    const plainCosine = cosineToHalf(sample, await runSim(plain, sample));
    expect(plainCosine).toBeLessThan(0.99);
    expect(plainCosine).toBeGreaterThan(0.8);
  });

  it('reports its activation check through onReport and refuses a target without validation data', async () => {
    let seen: Float16Report | undefined;
    await convertToFloat16(overflowModel(), { minCosine: 0.999, validationData: batches(200, 4), backend: 'sim', onReport: (r) => (seen = r) });
    expect(seen?.keptFloat32).toEqual(['square', 'shrink']);
    await expect(convertToFloat16(overflowModel(), { minCosine: 0.999 })).rejects.toThrow(InvalidArgumentError);
    await expect(convertToFloat16(overflowModel(), { minCosine: 0.999 })).rejects.toThrow(/validationData/);
  });
});

describe('searchFloatLayers', () => {
  // A model whose score is 1 minus the sum of its reduced layers' costs: the smallest float set
  // meeting 0.9 drops the two costliest layers (0.5 and 0.2 of 0.78 in all leaves 0.08).
  const costs: Record<string, number> = { a: 0.02, b: 0.5, c: 0.03, d: 0.2, e: 0.03 };
  const evaluate = async (float: ReadonlySet<string>) => 1 - Object.entries(costs).reduce((s, [k, v]) => s + (float.has(k) ? 0 : v), 0);

  it('ranks by single-layer sensitivity and keeps the fewest layers that meet the target', async () => {
    const result = await searchFloatLayers(Object.keys(costs), 0.9, evaluate);
    expect(result.floatLayers).toEqual(['b', 'd']);
    expect(result.met).toBe(true);
    expect(result.cosine).toBeCloseTo(0.92, 12);
    expect(result.sensitivities!.map((s) => s.layer)).toEqual(['b', 'd', 'c', 'e', 'a']);
  });

  it('returns a layer of the prefix to reduced precision when the others make up for it', async () => {
    // Alone, a costs 0.3, b 0.2 and c 0.1: the ranking is a, b, c. With a and b float the
    // model meets 0.9 (c costs 0.1) and with only a it does not ({b, c} reduced costs 0.25);
    // but a and c together cost 0.05 (their errors cancel), so b alone needs to stay float.
    const cost: Record<string, number> = { '': 0, a: 0.3, b: 0.2, c: 0.1, 'b,c': 0.25, 'a,c': 0.05, 'a,b': 0.5, 'a,b,c': 0.6 };
    const score = async (float: ReadonlySet<string>) => 1 - cost[['a', 'b', 'c'].filter((l) => !float.has(l)).join(',')]!;
    const result = await searchFloatLayers(['a', 'b', 'c'], 0.9, score);
    expect(result.sensitivities!.map((s) => s.layer)).toEqual(['a', 'b', 'c']);
    expect(result.floatLayers).toEqual(['b']);
    expect(result.cosine).toBeCloseTo(0.95, 12);
    // The trials (the float set each leaves) go least sensitive first: b back (float {a}),
    // then a back (float {b}); heaviest first with weights: a back, then b (float {}).
    const trials = async (weights?: Map<string, number>) => {
      const float: string[] = [];
      await searchFloatLayers(['a', 'b', 'c'], 0.9, async (f, phase) => (phase === 'check' && float.push([...f].join()), score(f)), weights);
      return float.slice(-2);
    };
    expect(await trials()).toEqual(['a', 'b']);
    expect(await trials(new Map([['a', 5]]))).toEqual(['b', '']);
  });

  it('stops after one measurement when the reduced model already meets the target', async () => {
    const result = await searchFloatLayers(Object.keys(costs), 0.2, evaluate);
    expect(result).toMatchObject({ floatLayers: [], met: true, evaluations: 1, sensitivities: undefined });
  });

  describe('with free layers (no FLOPs counted), tried in float as one group first', () => {
    // Scores 1 minus the costs of the reduced layers; conv1 and conv2 are costly, add1 and add2 free.
    const scoreOf = (cost: Record<string, number>) => async (float: ReadonlySet<string>) =>
      1 - Object.entries(cost).reduce((s, [k, v]) => s + (float.has(k) ? 0 : v), 0);
    const layers = ['conv1', 'add1', 'conv2', 'add2'];
    const free = new Set(['add1', 'add2']);

    it('stops at the group when it alone meets the target, ranking nothing', async () => {
      // Full: 1 - 0.14 = 0.86; the adds float: 1 - (0.02 + 0.03) = 0.95.
      const result = await searchFloatLayers(layers, 0.9, scoreOf({ conv1: 0.02, add1: 0.05, conv2: 0.03, add2: 0.04 }), new Map(), free);
      expect(result).toMatchObject({ floatLayers: ['add1', 'add2'], met: true, sensitivities: undefined, evaluations: 2 });
      expect(result.cosine).toBeCloseTo(0.95, 12);
    });

    it('ranks only the costly layers with the group float, then tries the group back', async () => {
      // Full 0.86, adds float 0.89 (miss). With the adds float, conv1 alone reduced gives 0.92,
      // conv2 0.97: conv1 first. conv1 and the adds float: 0.97 (met); conv1 back: 0.89 (miss);
      // the adds back with conv1 float: 1 - (0.02 + 0.03 + 0.01) = 0.94 (met): conv1 alone.
      const result = await searchFloatLayers(layers, 0.9, scoreOf({ conv1: 0.08, add1: 0.02, conv2: 0.03, add2: 0.01 }), new Map(), free);
      expect(result.sensitivities!.map((s) => s.layer)).toEqual(['conv1', 'conv2']);
      expect(result.sensitivities![0]!.cosine).toBeCloseTo(0.92, 12);
      expect(result).toMatchObject({ floatLayers: ['conv1'], met: true, evaluations: 7 });
      expect(result.cosine).toBeCloseTo(0.94, 12);
    });

    it('keeps the group float when the target needs it as well', async () => {
      // As above, but the adds cost 0.05 and 0.04: with conv1 float and the adds back, 0.88 (miss).
      const result = await searchFloatLayers(layers, 0.9, scoreOf({ conv1: 0.08, add1: 0.05, conv2: 0.03, add2: 0.04 }), new Map(), free);
      expect(result).toMatchObject({ floatLayers: ['conv1', 'add1', 'add2'], met: true, evaluations: 7 });
      expect(result.cosine).toBeCloseTo(0.97, 12);
    });
  });

  it('says when even every layer in float misses the target', async () => {
    const result = await searchFloatLayers(['a'], 0.9, async () => NaN);
    expect(result).toMatchObject({ floatLayers: ['a'], met: false });
  });
});

describe('measureFlops', () => {
  it('counts Conv (grouped) and Gemm (transA) FLOPs from shapes', async () => {
    // Conv: x [2, 4, 8, 8], W [6, 2, 3, 3], group 2, pads 1 -> [2, 6, 8, 8]:
    //   2 * N * Cout * Hout * Wout * Cin/group * kh * kw = 2 * 2 * 6 * 8 * 8 * 2 * 3 * 3 = 27648.
    // Gemm: A = Transpose(Flatten) is [384, 2]; with transA
    //   gives M = 2, K = 384; B [384, 5] gives N = 5: 2 * 2 * 5 * 384 = 7680.
    const model = makeModel({
      inputs: [{ name: 'x', dtype: 'float32', shape: [2, 4, 8, 8] }],
      outputs: [{ name: 'y', dtype: 'float32', shape: [2, 5] }],
      initializers: [makeTensor('w', 'float32', [6, 2, 3, 3], randomFloats(108, 3)), makeTensor('b', 'float32', [384, 5], randomFloats(384 * 5, 4))],
      nodes: [
        { op: 'Conv', name: 'conv', inputs: ['x', 'w'], outputs: ['c'], attributes: { group: 2, pads: [1, 1, 1, 1], kernel_shape: [3, 3] } },
        { op: 'Flatten', name: 'flat', inputs: ['c'], outputs: ['f'] },
        { op: 'Transpose', name: 'tr', inputs: ['f'], outputs: ['ft'], attributes: { perm: [1, 0] } },
        { op: 'Gemm', name: 'gemm', inputs: ['ft', 'b'], outputs: ['y'], attributes: { transA: 1 } },
      ],
    });
    const flops = await measureFlops(parseModel(model), { x: new Tensor('float32', randomFloats(2 * 4 * 64, 5), [2, 4, 8, 8]) }, { backend: 'sim' });
    expect(flops).toEqual([
      { node: 'conv', opType: 'Conv', flops: 27648 },
      { node: 'gemm', opType: 'Gemm', flops: 7680 },
    ]);
  });
});
