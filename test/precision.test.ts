// The one switch: buildEngine's `precision`, and the accuracy report that compares a
// reduced-precision engine with its float32 reference.
import { describe, expect, it, vi } from 'vitest';

import { backends, buildEngine, convertToFloat16, InferenceSession, Logger, Tensor } from '../lib/index.js';
import { makeModel, makeTensor } from '../lib/onnx/model-builder.js';
import { compareAccuracy } from '../lib/precision/accuracy.js';
import { lenetModel } from './fixtures/cnn-models.js';
import { randomFloats } from './fixtures/models.js';
import { runOnnxRuntime } from './fixtures/oracle.js';

function matmulModel(w: number[]): Uint8Array {
  return makeModel({
    inputs: [{ name: 'x', dtype: 'float32', shape: [2, 3] }],
    outputs: [{ name: 'y', dtype: 'float32', shape: [2, 3] }],
    initializers: [makeTensor('W', 'float32', [3, 3], w)],
    nodes: [{ op: 'MatMul', inputs: ['x', 'W'], outputs: ['y'] }],
  });
}

describe('compareAccuracy', () => {
  it('reports the arithmetic of known cases', async () => {
    const identity = await InferenceSession.create(await buildEngine(matmulModel([1, 0, 0, 0, 1, 0, 0, 0, 1]), { backend: 'sim' }));
    const doubled = await InferenceSession.create(await buildEngine(matmulModel([2, 0, 0, 0, 2, 0, 0, 0, 2]), { backend: 'sim' }));
    const negated = await InferenceSession.create(await buildEngine(matmulModel([-1, 0, 0, 0, -1, 0, 0, 0, -1]), { backend: 'sim' }));
    const x = new Tensor('float32', [1, 5, 2, -3, 0, 4], [2, 3]);
    // y = 2x: same direction (cosine 1), same argmax per row, largest error max|x| = 5,
    // relative error ||2x - x|| / ||x|| = 1. y is not class scores (its rows do not sum to 1),
    // so top-1 agreement comes only when the caller names it as such.
    const twice = await compareAccuracy(identity, doubled, [{ x }], { classOutputs: ['y'] });
    expect(twice.outputs[0]).toMatchObject({ name: 'y', maxAbsError: 5, top1Agreement: 1, nanCount: 0, infCount: 0, values: 6 });
    expect(twice.outputs[0]!.cosineSimilarity).toBeCloseTo(1, 12);
    expect(twice.outputs[0]!.relativeError).toBeCloseTo(1, 12);
    expect((await compareAccuracy(identity, doubled, [{ x }])).outputs[0]!.top1Agreement).toBeUndefined();
    // y = -x: opposite direction (cosine -1, relative error 2); argmax flips to the row minimum in both rows.
    const flipped = await compareAccuracy(identity, negated, [{ x }, { x }], { classOutputs: ['y'] });
    expect(flipped.outputs[0]!.relativeError).toBeCloseTo(2, 12);
    expect(flipped.samples).toBe(2);
    expect(flipped.outputs[0]!.cosineSimilarity).toBeCloseTo(-1, 12);
    expect(flipped.outputs[0]!.top1Agreement).toBe(0);
    expect(flipped.outputs[0]!.maxAbsError).toBe(10);
    for (const s of [identity, doubled, negated]) s.dispose();
  });
});

describe("buildEngine({ precision: 'fp16' })", () => {
  it('runs a float16 engine within float16 tolerance of onnxruntime in float32', async () => {
    const model = lenetModel();
    const fp16 = await InferenceSession.create(await buildEngine(model, { backend: 'sim', precision: 'fp16', shapes: 'x:4x1x28x28' }));
    const fp32 = await InferenceSession.create(await buildEngine(model, { backend: 'sim', shapes: 'x:4x1x28x28' }));
    expect(fp16.inputMetadata[0]!.dtype).toBe('float32'); // float32 I/O, float16 inside
    const inputs = [0, 1, 2].map((k) => ({ x: new Tensor('float32', randomFloats(4 * 784, 50 + k), [4, 1, 28, 28]) }));
    for (const feeds of inputs) {
      const expected = await runOnnxRuntime(model, { x: { data: feeds.x.data as Float32Array, dims: [4, 1, 28, 28] } });
      const out = (await fp16.run(feeds)).y!.data as Float32Array;
      // Softmax probabilities: float16 keeps ~3 significant digits through the network.
      for (let i = 0; i < out.length; i++) expect(Math.abs(out[i]! - expected.y!.data[i]!)).toBeLessThan(5e-3);
    }
    const report = await compareAccuracy(fp32, fp16, inputs);
    expect(report.outputs[0]!.cosineSimilarity).toBeGreaterThan(0.9999);
    expect(report.outputs[0]!.maxAbsError).toBeGreaterThan(0); // it really ran in float16
    expect(report.outputs[0]!.top1Agreement).toBe(1);
    fp16.dispose();
    fp32.dispose();
  });

  it('runs the float16 model as onnxruntime runs it', async () => {
    const converted = await convertToFloat16(lenetModel());
    const session = await InferenceSession.create(await buildEngine(converted, { backend: 'sim', shapes: 'x:2x1x28x28' }));
    const x = randomFloats(2 * 784, 77);
    const expected = await runOnnxRuntime(converted, { x: { data: x, dims: [2, 1, 28, 28] } });
    const out = await session.run({ x: new Tensor('float32', x, [2, 1, 28, 28]) });
    // Both compute the same float16 graph; they may round intermediate sums differently.
    for (let i = 0; i < out.y!.data.length; i++) expect(Math.abs((out.y!.data as Float32Array)[i]! - expected.y!.data[i]!)).toBeLessThan(2e-3);
    session.dispose();
  });

  it('refuses an unknown precision', async () => {
    await expect(buildEngine(lenetModel(), { backend: 'sim', calibration: {} })).rejects.toThrow(/applies to precision 'int8' only/);
    await expect(buildEngine(lenetModel(), { backend: 'sim', precision: 'fp8' as never })).rejects.toThrow(/Expected one of 'fp32', 'fp16', 'int8' for precision but received the string "fp8"/);
  });
});

describe("buildEngine({ precision: 'int8' })", () => {
  it('calibrates, quantizes and builds; held-out outputs stay close to float32', async () => {
    const model = lenetModel();
    const batch = (seed: number) => ({ x: new Tensor('float32', randomFloats(2 * 784, seed), [2, 1, 28, 28]) });
    const calibrationData = Array.from({ length: 16 }, (_, k) => batch(100 + k));
    const int8 = await InferenceSession.create(
      await buildEngine(model, { backend: 'sim', precision: 'int8', shapes: 'x:2x1x28x28', calibration: { calibrationData, method: 'minmax' } }),
    );
    const fp32 = await InferenceSession.create(await buildEngine(model, { backend: 'sim', shapes: 'x:2x1x28x28' }));
    const report = await compareAccuracy(fp32, int8, [200, 201, 202, 203].map(batch));
    expect(report.outputs[0]!.cosineSimilarity).toBeGreaterThan(0.99);
    expect(report.outputs[0]!.maxAbsError).toBeGreaterThan(1e-4); // quantization really happened
    int8.dispose();
    fp32.dispose();
    await expect(buildEngine(model, { backend: 'sim', precision: 'int8' })).rejects.toThrow(/needs calibration.calibrationData/);
  });

  it("with backend 'auto', calibration and the build use one backend, choosing it once", async () => {
    // Where TensorRT is missing, the fallback warning goes once through the build's logger and
    // nowhere else: the float engine that calibration runs is built on the same choice.
    const messages: string[] = [];
    const logger = new Logger({ onMessage: (_severity, message) => messages.push(message) });
    const stderr: string[] = [];
    const spy = vi.spyOn(process.stderr, 'write').mockImplementation((chunk: string | Uint8Array) => {
      stderr.push(String(chunk));
      return true;
    });
    try {
      const calibrationData = [1, 2, 3].map((seed) => ({ x: new Tensor('float32', randomFloats(784, seed), [1, 1, 28, 28]) }));
      await buildEngine(lenetModel(), { precision: 'int8', shapes: 'x:1x1x28x28', calibration: { calibrationData }, logger });
      await new Promise((resolve) => setTimeout(resolve, 50)); // log messages arrive asynchronously
    } finally {
      spy.mockRestore();
    }
    const fallbacks = messages.filter((m) => m.includes('TensorRT is unavailable'));
    const tensorrtLoads = backends().find((b) => b.name === 'tensorrt')!.available;
    expect(fallbacks).toHaveLength(tensorrtLoads || process.env.TENSORRT_NODE_BACKEND === 'sim' ? 0 : 1);
    expect(stderr.filter((line) => line.includes('TensorRT is unavailable'))).toEqual([]);
    logger.dispose();
  });
});
