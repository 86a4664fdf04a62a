// compareAccuracy on small networks whose outputs differ by amounts worked out by hand.
import { describe, expect, it, vi } from 'vitest';

import { accuracyProblems, buildEngine, classScoreOutputs, compareAccuracy, formatAccuracyReport, InferenceSession, parseModel, Tensor } from '../lib/index.js';
import { reportAccuracy } from '../lib/cli/accuracy-report.js';
import { EngineInvalidError, ShapeError } from '../lib/errors.js';
import { makeModel, makeTensor } from '../lib/onnx/model-builder.js';
import { mlpModel } from './fixtures/models.js';

/** y = op(x, c) for x: [rows, 4]. */
function binary(op: string, c: number[], rows = 1): Uint8Array {
  return makeModel({
    inputs: [{ name: 'x', dtype: 'float32', shape: [rows, 4] }],
    outputs: [{ name: 'y', dtype: 'float32', shape: [rows, 4] }],
    initializers: [makeTensor('c', 'float32', [4], c)],
    nodes: [{ op, inputs: ['x', 'c'], outputs: ['y'] }],
  });
}

/** y = Softmax(x * k) over the last axis. */
function softmax(k: number, rows: number): Uint8Array {
  return makeModel({
    inputs: [{ name: 'x', dtype: 'float32', shape: [rows, 4] }],
    outputs: [{ name: 'y', dtype: 'float32', shape: [rows, 4] }],
    initializers: [makeTensor('k', 'float32', [], [k])],
    nodes: [
      { op: 'Mul', inputs: ['x', 'k'], outputs: ['s'] },
      { op: 'Softmax', inputs: ['s'], outputs: ['y'], attributes: { axis: -1 } },
    ],
  });
}

async function session(model: Uint8Array): Promise<InferenceSession> {
  return InferenceSession.create(await buildEngine(model, { backend: 'sim' }), { backend: 'sim' });
}

async function compare(reference: Uint8Array, candidate: Uint8Array, inputs: Float32Array[], rows = 1, options = {}) {
  const [r, c] = [await session(reference), await session(candidate)];
  try {
    return await compareAccuracy(r, c, inputs.map((x) => ({ x: new Tensor('float32', x, [rows, 4]) })), options);
  } finally {
    r.dispose();
    c.dispose();
  }
}

describe('compareAccuracy', () => {
  it('cosine, max abs and relative error from arithmetic; no top-1 for values that are not class scores', async () => {
    // reference y = x + 0 = [3, 4, 0, 0]; candidate y = x + [1, 0, 0, 0] = [4, 4, 0, 0]:
    // dot 28, |r| 5, |c| sqrt(32): cosine 28 / (5 sqrt 32); max |error| 1; relative error 1/5.
    const report = await compare(binary('Add', [0, 0, 0, 0]), binary('Add', [1, 0, 0, 0]), [Float32Array.of(3, 4, 0, 0)]);
    expect(report.samples).toBe(1);
    const [y] = report.outputs;
    expect(y!.cosineSimilarity).toBeCloseTo(28 / (5 * Math.sqrt(32)), 12);
    expect(y!.maxAbsError).toBe(1);
    expect(y!.relativeError).toBeCloseTo(0.2, 12);
    expect(y!.nanCount).toBe(0);
    expect(y!.infCount).toBe(0);
    expect(y!.values).toBe(4);
    expect(y!.top1Agreement).toBeUndefined();
    expect(formatAccuracyReport(report)).toBe('y: max |error| 1.00e+0, cosine 0.98995, relative error 2.00e-1 (1 samples)');
    expect(accuracyProblems(report)).toEqual(["output 'y' has cosine 0.98995 < 0.99"]);
    expect(accuracyProblems(report, 0.98)).toEqual([]);
  });

  it('counts NaN and Inf; their cosine is NaN and the report says so', async () => {
    // x / [0, 0, 0, 1] with x = [3, -4, 0, 2]: Inf, -Inf, NaN (0/0), 2.
    const report = await compare(binary('Div', [1, 1, 1, 1]), binary('Div', [0, 0, 0, 1]), [Float32Array.of(3, -4, 0, 2), Float32Array.of(1, 1, 1, 1)]);
    const [y] = report.outputs;
    expect(y!.nanCount).toBe(1);
    expect(y!.infCount).toBe(5); // 2 in the first sample, 3 in the second
    expect(y!.cosineSimilarity).toBeNaN();
    expect(formatAccuracyReport(report)).toMatch(/y: max \|error\| NaN, cosine NaN, relative error NaN, 1 NaN, 5 Inf of 8 values \(2 samples\)/);
    expect(accuracyProblems(report)).toEqual(["output 'y' has 1 NaN and 5 Inf values of 8"]);
  });

  it('top-1 agreement for rows that are probabilities, or for outputs named as class scores', async () => {
    // Softmax(x) against Softmax(2x): same argmax per row (monotonic), different values.
    const rows = [Float32Array.of(1, 3, 2, 0, -1, 0, 5, 2)];
    const probabilities = await compare(softmax(1, 2), softmax(2, 2), rows, 2);
    expect(probabilities.outputs[0]!.top1Agreement).toBe(1);
    // Softmax(x) against Softmax(-x): the argmax becomes the argmin in both rows.
    const flipped = await compare(softmax(1, 2), softmax(-1, 2), rows, 2);
    expect(flipped.outputs[0]!.top1Agreement).toBe(0);
    // x * 1 against x * [1, 1, 1, 10]: no row sums to 1, so no top-1 unless named.
    const logits = [Float32Array.of(1, 3, 2, 0.5)];
    expect((await compare(binary('Mul', [1, 1, 1, 1]), binary('Mul', [1, 1, 1, 10]), logits)).outputs[0]!.top1Agreement).toBeUndefined();
    const named = await compare(binary('Mul', [1, 1, 1, 1]), binary('Mul', [1, 1, 1, 10]), logits, 1, { classOutputs: ['y'] });
    expect(named.outputs[0]!.top1Agreement).toBe(0); // argmax 1 against argmax 3
  });

  it('classScoreOutputs finds outputs a Softmax produces', () => {
    expect(classScoreOutputs(parseModel(mlpModel()))).toEqual(['y']);
    expect(classScoreOutputs(parseModel(binary('Add', [0, 0, 0, 0])))).toEqual([]);
  });

  it('refuses classOutputs that is not an iterable of names', async () => {
    await expect(compare(binary('Add', [0, 0, 0, 0]), binary('Add', [0, 0, 0, 0]), [], 1, { classOutputs: 5 })).rejects.toThrow(/iterable of output names for classOutputs/);
  });

  it('refuses engines whose outputs differ in shape with a ShapeError', async () => {
    const transposed = makeModel({
      inputs: [{ name: 'x', dtype: 'float32', shape: [1, 4] }],
      outputs: [{ name: 'y', dtype: 'float32', shape: [4, 1] }],
      nodes: [{ op: 'Transpose', inputs: ['x'], outputs: ['y'], attributes: { perm: [1, 0] } }],
    });
    const result = compare(binary('Add', [0, 0, 0, 0]), transposed, [new Float32Array([1, 2, 3, 4])]);
    await expect(result).rejects.toThrow(ShapeError);
    await expect(result).rejects.toThrow("output 'y' differs in shape between the two engines ([1, 4] against [4, 1])");
  });

  it('reportAccuracy disposes the float32 session when the reduced engine does not load', async () => {
    const reference = await buildEngine(binary('Add', [0, 0, 0, 0]), { backend: 'sim' });
    const dispose = vi.spyOn(InferenceSession.prototype, 'dispose');
    try {
      const run = { modelPath: 'model.onnx', precision: 'fp16', reference, candidate: new Uint8Array(64), load: { backend: 'sim' as const }, data: undefined, failBelow: undefined };
      await expect(reportAccuracy(run)).rejects.toThrow(EngineInvalidError);
      expect(dispose).toHaveBeenCalledTimes(1);
    } finally {
      dispose.mockRestore();
    }
  });
});
