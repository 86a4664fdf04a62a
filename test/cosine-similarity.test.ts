import { describe, expect, it } from 'vitest';

import { cosineSimilarity } from '../lib/cosine-similarity.js';
import { buildEngine, compareAccuracy, InferenceSession, Tensor } from '../lib/index.js';
import { makeModel, makeTensor } from '../lib/onnx/model-builder.js';
import { compareOutputs } from '../lib/output-comparison.js';
import { scoreOutputs } from '../lib/precision/validation-runs.js';

const tolerances = { atol: 1e-5, rtol: 1e-5 };

describe('cosineSimilarity', () => {
  it('is dot / (|a| |b|) from the sums', () => {
    // a = [1, 0], b = [1, 1]: dot 1, |a|² 1, |b|² 2, cosine 1/√2.
    expect(cosineSimilarity(1, 1, 2)).toBeCloseTo(Math.SQRT1_2, 15);
    // a = [1, 2], b = [-1, -2]: opposite directions.
    expect(cosineSimilarity(-5, 5, 5)).toBeCloseTo(-1, 15);
    // a = b = [1e154]: dot = |a|² = |b|² = 1e308, finite, but |a|² |b|² = 1e616 is not.
    expect(cosineSimilarity(1e308, 1e308, 1e308)).toBeCloseTo(1, 12);
  });

  it('is 1 for two all-zero vectors, 0 for one, NaN for non-finite sums', () => {
    expect(cosineSimilarity(0, 0, 0)).toBe(1);
    expect(cosineSimilarity(0, 0, 4)).toBe(0);
    expect(cosineSimilarity(0, 4, 0)).toBe(0);
    expect(cosineSimilarity(NaN, 1, 1)).toBeNaN();
    expect(cosineSimilarity(1, Infinity, 1)).toBeNaN();
  });
});

describe('the three comparisons agree on all-zero outputs', () => {
  const zeros = new Tensor('float32', new Float32Array(4), [4]);
  const ones = new Tensor('float32', new Float32Array(4).fill(1), [4]);

  it('compareOutputs', () => {
    expect(compareOutputs(zeros, zeros, tolerances).cosine).toBe(1);
    expect(compareOutputs(zeros, ones, tolerances).cosine).toBe(0);
    expect(compareOutputs(ones, zeros, tolerances).cosine).toBe(0);
  });

  it('scoreOutputs (the float16 search)', () => {
    const run = (t: Tensor) => [{ y: { values: t.toFloat32(), dims: [...t.dims] } }];
    expect(scoreOutputs(run(zeros), run(zeros)).worst).toBe(1);
    expect(scoreOutputs(run(zeros), run(ones)).worst).toBe(0);
  });

  it('compareAccuracy (the accuracy report)', async () => {
    // y = x * k: k = 0 gives an all-zero output whatever x is.
    const times = (k: number) => makeModel({
      inputs: [{ name: 'x', dtype: 'float32', shape: [1, 4] }],
      outputs: [{ name: 'y', dtype: 'float32', shape: [1, 4] }],
      initializers: [makeTensor('k', 'float32', [], [k])],
      nodes: [{ op: 'Mul', inputs: ['x', 'k'], outputs: ['y'] }],
    });
    const session = async (k: number) => InferenceSession.create(await buildEngine(times(k), { backend: 'sim' }), { backend: 'sim' });
    const [zero, also, one] = [await session(0), await session(0), await session(1)];
    try {
      const feeds = [{ x: new Tensor('float32', new Float32Array([1, 2, 3, 4]), [1, 4]) }];
      expect((await compareAccuracy(zero, also, feeds)).outputs[0]!.cosineSimilarity).toBe(1);
      expect((await compareAccuracy(zero, one, feeds)).outputs[0]!.cosineSimilarity).toBe(0);
      expect((await compareAccuracy(one, zero, feeds)).outputs[0]!.cosineSimilarity).toBe(0);
    } finally {
      for (const s of [zero, also, one]) s.dispose();
    }
  });
});
