// The sim against onnxruntime-node on whole networks with random inputs: the small networks
// PyTorch exported for ONNX's test data, and CNNs built in code. Also dynamic shapes on a CNN:
// profiles, the refused shapes, and output shapes that follow the inputs.
import { describe, expect, it } from 'vitest';

import { buildEngine, InferenceSession, Runtime, ShapeError, Tensor } from '../lib/index.js';
import { lenetModel, mobileModel, resnetBlockModel } from './fixtures/cnn-models.js';
import { randomFloats } from './fixtures/models.js';
import { expectClose, runOnnxRuntime } from './fixtures/oracle.js';
import { loadPytorchNetwork, pytorchNetworks } from './fixtures/pytorch-networks.js';

/** Returns false (compares nothing) when onnxruntime itself cannot run the model. */
async function compareWithOnnxRuntime(model: Uint8Array, shapes: Record<string, number[]>, seed: number, rtol = 1e-3, atol = 1e-4): Promise<boolean> {
  const feeds: Record<string, { data: Float32Array; dims: number[] }> = {};
  for (const [name, dims] of Object.entries(shapes)) feeds[name] = { data: randomFloats(dims.reduce((a, b) => a * b, 1), seed++), dims };
  let expected: Awaited<ReturnType<typeof runOnnxRuntime>>;
  try {
    expected = await runOnnxRuntime(model, feeds);
  } catch (error) {
    if (/Could not find an implementation/.test(String(error))) return false;
    throw error;
  }
  const engine = await buildEngine(model, { backend: 'sim', shapes });
  const session = await InferenceSession.create(engine, { backend: 'sim' });
  try {
    const out = await session.run(Object.fromEntries(Object.entries(feeds).map(([n, f]) => [n, new Tensor('float32', f.data, f.dims)])));
    for (const [name, e] of Object.entries(expected)) {
      expect(out[name]!.dims, name).toEqual(e.dims);
      expectClose(out[name]!.data as Float32Array, e.data, rtol, atol);
    }
    return true;
  } finally {
    session.dispose();
  }
}

describe.skipIf(pytorchNetworks.length === 0)('pytorch-converted networks, random inputs: sim = onnxruntime', () => {
  for (const name of pytorchNetworks) {
    it(name, async (ctx) => {
      const { model, floatInputShapes } = loadPytorchNetwork(name);
      if (!floatInputShapes) ctx.skip('integer inputs (indices) need valid values, not random floats; the conformance suite runs it');
      // onnxruntime dropped some opsets PyTorch once exported (Gemm-6); the conformance suite
      // checks those against the stored outputs instead.
      if (!(await compareWithOnnxRuntime(model, floatInputShapes!, 17))) ctx.skip('onnxruntime cannot run this opset');
    });
  }
});

describe('CNNs built in code, random inputs: sim = onnxruntime', () => {
  it('LeNet (conv, max/avg pool, gemm, softmax) at batch 3', async () => {
    expect(await compareWithOnnxRuntime(lenetModel(), { x: [3, 1, 28, 28] }, 1)).toBe(true);
  });
  it('a ResNet basic block with batch norm and global pooling', async () => {
    expect(await compareWithOnnxRuntime(resnetBlockModel(), { x: [2, 16, 12, 10] }, 2)).toBe(true);
  });
  it('depthwise/pointwise convolutions, HardSwish, Concat, Resize, Transpose, Reshape', async () => {
    expect(await compareWithOnnxRuntime(mobileModel(), { x: [1, 8, 16, 16] }, 3)).toBe(true);
  });
});

describe('dynamic shapes on a CNN', () => {
  it('selects a profile per context, refuses shapes outside it with the range, and output shapes follow inputs', async () => {
    const model = resnetBlockModel();
    const plan = await buildEngine(model, {
      backend: 'sim',
      profiles: [
        { x: { min: [1, 16, 8, 8], opt: [1, 16, 16, 16], max: [2, 16, 16, 16] } },
        { x: { min: [4, 16, 4, 4], opt: [8, 16, 8, 8], max: [8, 16, 32, 32] } },
      ],
    });
    using runtime = new Runtime({ backend: 'sim' });
    const engine = await runtime.deserializeCudaEngine(plan);
    expect(engine.numOptimizationProfiles).toBe(2);
    const small = engine.createExecutionContext();
    const large = engine.createExecutionContext();
    large.setOptimizationProfile(1);

    const x1 = randomFloats(2 * 16 * 9 * 13, 5);
    const x2 = randomFloats(5 * 16 * 30 * 4, 6);
    const [out1, out2] = await Promise.all([
      small.execute({ x: new Tensor('float32', x1, [2, 16, 9, 13]) }),
      large.execute({ x: new Tensor('float32', x2, [5, 16, 30, 4]) }),
    ]);
    expect(out1.y!.dims).toEqual([2, 8]);
    expect(out2.y!.dims).toEqual([5, 8]);
    const expected1 = await runOnnxRuntime(model, { x: { data: x1, dims: [2, 16, 9, 13] } });
    const expected2 = await runOnnxRuntime(model, { x: { data: x2, dims: [5, 16, 30, 4] } });
    expectClose(out1.y!.data as Float32Array, expected1.y!.data, 1e-3, 1e-4);
    expectClose(out2.y!.data as Float32Array, expected2.y!.data, 1e-3, 1e-4);

    await expect(small.execute({ x: new Tensor('float32', new Float32Array(4 * 16 * 8 * 8), [4, 16, 8, 8]) })).rejects.toThrow(ShapeError);
    await expect(small.execute({ x: new Tensor('float32', new Float32Array(4 * 16 * 8 * 8), [4, 16, 8, 8]) })).rejects.toThrow(/dimension 0 is 4, outside optimization profile 0's range \[1, 2\]/);
    expect(() => large.setInputShape('x', [8, 16, 33, 8])).toThrow(/dimension 2 is 33, outside optimization profile 1's range \[4, 32\]/);
  });
});
