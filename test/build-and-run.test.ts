// The main job end to end on the sim: ONNX -> engine bytes -> session -> outputs, checked
// against onnxruntime-node on the same model and inputs.
import { describe, expect, it } from 'vitest';

import { buildEngine, InferenceSession, Tensor } from '../lib/index.js';
import { everyOpModel, mlpModel, randomFloats } from './fixtures/models.js';
import { expectClose, runOnnxRuntime } from './fixtures/oracle.js';

describe('buildEngine + InferenceSession (sim)', () => {
  it('runs an MLP with a dynamic batch like onnxruntime does, at several batch sizes', async () => {
    const model = mlpModel();
    const engine = await buildEngine(model, { backend: 'sim', profiles: [{ x: { min: [1, 8], opt: [4, 8], max: [16, 8] } }] });
    using session = await InferenceSession.create(engine, { backend: 'sim' });
    expect(session.inputNames).toEqual(['x']);
    expect(session.outputNames).toEqual(['y']);
    expect(session.inputMetadata[0]).toMatchObject({ name: 'x', dtype: 'float32', shape: [-1, 8] });
    for (const batch of [1, 3, 16]) {
      const x = randomFloats(batch * 8, 100 + batch);
      const out = await session.run({ x: new Tensor('float32', x, [batch, 8]) });
      const expected = await runOnnxRuntime(model, { x: { data: x, dims: [batch, 8] } });
      expect(out.y!.dims).toEqual([batch, 4]);
      expectClose(out.y!.data as Float32Array, expected.y!.data);
    }
  });

  it('runs a model using every operator of the first cut like onnxruntime does', async () => {
    const model = everyOpModel();
    const engine = await buildEngine(model, { backend: 'sim' });
    using session = await InferenceSession.create(engine);
    const x = randomFloats(24, 5);
    const out = await session.run({ x: new Tensor('float32', x, [2, 3, 4]) });
    const expected = await runOnnxRuntime(model, { x: { data: x, dims: [2, 3, 4] } });
    for (const name of ['out', 'side']) {
      expect(out[name]!.dims).toEqual(expected[name]!.dims);
      expectClose(out[name]!.data as Float32Array, expected[name]!.data);
    }
  });

  it('fixes dynamic dimensions with the shapes option', async () => {
    const engine = await buildEngine(mlpModel(), { backend: 'sim', shapes: 'x:2x8' });
    using session = await InferenceSession.create(engine);
    expect(session.engine.getProfileShape('x', 0)).toEqual({ min: [2, 8], opt: [2, 8], max: [2, 8] });
    const out = await session.run({ x: new Tensor('float32', randomFloats(16, 9), [2, 8]) });
    // Softmax rows sum to one: arithmetic, not the code under test.
    const y = out.y!.data as Float32Array;
    for (let r = 0; r < 2; r++) expect(y[r * 4]! + y[r * 4 + 1]! + y[r * 4 + 2]! + y[r * 4 + 3]!).toBeCloseTo(1, 5);
  });

  it('computes a known answer: y = a + b', async () => {
    const { addModel } = await import('./fixtures/models.js');
    using session = await InferenceSession.create(await buildEngine(addModel(), { backend: 'sim' }));
    const out = await session.run({ a: new Tensor('float32', [1, 2, 3, 4]), b: new Tensor('float32', [10, 20, 30, 40]) });
    expect(Array.from(out.y!.data as Float32Array)).toEqual([11, 22, 33, 44]);
  });
});
