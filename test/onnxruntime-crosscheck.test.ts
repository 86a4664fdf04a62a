// The sim against onnxruntime-node on whole networks with random inputs: the small networks
// PyTorch exported for ONNX's test data, and CNNs built in code. Also dynamic shapes on a CNN:
// profiles, the refused shapes, and output shapes that follow the inputs.
import { describe, expect, it } from 'vitest';

import { buildEngine, InferenceSession, Runtime, ShapeError, Tensor } from '../lib/index.js';
import { makeModel, makeTensor } from '../lib/onnx/model-builder.js';
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

describe('depthwise convolutions of many geometries: sim = onnxruntime, and the same on 1 and 2 threads', () => {
  // The sim has three depthwise kernels, picked by the map's width and the channel count
  // (16 channels per vector block on narrow maps, a padded plane per channel on wide ones, a
  // general loop on tiny ones): these cross every boundary, with partial channel blocks,
  // strides, dilations, asymmetric pads, batches, and BatchNormalization + HardSwish fused in.
  const cases: { c: number; h: number; w: number; k: number; stride?: number; dilation?: number; pads?: number[]; n?: number; fused?: boolean }[] = [
    { c: 336, h: 6, w: 14, k: 3, fused: true },
    { c: 17, h: 5, w: 9, k: 3, pads: [0, 1, 2, 1] },
    { c: 40, h: 24, w: 56, k: 5, stride: 2, fused: true },
    { c: 33, h: 11, w: 13, k: 3, dilation: 2, n: 2 },
    { c: 48, h: 3, w: 7, k: 5, fused: true },
    { c: 24, h: 9, w: 70, k: 3, stride: 2 },
    { c: 16, h: 12, w: 80, k: 7 },
    { c: 8, h: 10, w: 20, k: 3, fused: true },
    { c: 32, h: 2, w: 3, k: 3, pads: [2, 2, 2, 2] },
  ];
  for (const { c, h, w, k, stride = 1, dilation = 1, pads, n = 1, fused = false } of cases) {
    const p = pads ?? [((k - 1) * dilation) >> 1, ((k - 1) * dilation) >> 1, ((k - 1) * dilation) >> 1, ((k - 1) * dilation) >> 1];
    it(`${n}x${c}x${h}x${w}, ${k}x${k}, stride ${stride}, dilation ${dilation}, pads ${p.join(',')}${fused ? ', BatchNormalization + HardSwish' : ''}`, async () => {
      const oh = Math.floor((h + p[0]! + p[2]! - (k - 1) * dilation - 1) / stride) + 1;
      const ow = Math.floor((w + p[1]! + p[3]! - (k - 1) * dilation - 1) / stride) + 1;
      const conv = { op: 'Conv', name: 'dw', inputs: ['x', 'w', 'b'], outputs: [fused ? 'c' : 'y'], attributes: { group: c, kernel_shape: [k, k], strides: [stride, stride], dilations: [dilation, dilation], pads: p } };
      const model = makeModel({
        inputs: [{ name: 'x', dtype: 'float32', shape: [n, c, h, w] }],
        outputs: [{ name: 'y', dtype: 'float32', shape: [n, c, oh, ow] }],
        initializers: [
          makeTensor('w', 'float32', [c, 1, k, k], randomFloats(c * k * k, c + k)),
          makeTensor('b', 'float32', [c], randomFloats(c, c)),
          makeTensor('scale', 'float32', [c], randomFloats(c, c + 1).map((v) => 1 + Math.abs(v))),
          makeTensor('shift', 'float32', [c], randomFloats(c, c + 2)),
          makeTensor('variance', 'float32', [c], randomFloats(c, c + 3).map((v) => 0.5 + Math.abs(v))),
        ],
        nodes: fused
          ? [conv, { op: 'BatchNormalization', name: 'bn', inputs: ['c', 'scale', 'shift', 'shift', 'variance'], outputs: ['d'] }, { op: 'HardSwish', name: 'hs', inputs: ['d'], outputs: ['y'] }]
          : [conv],
      });
      expect(await compareWithOnnxRuntime(model, { x: [n, c, h, w] }, c * h)).toBe(true);
      const engine = await buildEngine(model, { backend: 'sim' });
      const x = new Tensor('float32', randomFloats(n * c * h * w, w), [n, c, h, w]);
      const outputs = [];
      for (const threads of [1, 2]) {
        const session = await InferenceSession.create(engine, { backend: 'sim', threads });
        outputs.push((await session.run({ x })).y!.data);
        session.dispose();
      }
      expect(outputs[1]).toEqual(outputs[0]);
    });
  }
});

describe('broadcast arithmetic: sim = onnxruntime', () => {
  // The sim merges trailing dims that both operands read alike and runs contiguous and
  // scalar rows as vector loops: every pattern of one operand broadcast along some dims.
  const pairs: [number[], number[]][] = [
    [[1, 96, 40, 80], [1, 96, 1, 1]],
    [[1, 96, 1, 1], [1, 96, 12, 28]],
    [[2, 3, 4, 5], [3, 1, 5]],
    [[2, 3, 4, 5], [2, 1, 4, 1]],
    [[4, 1, 6], [1, 5, 1]],
    [[3, 7], [7]],
    [[2, 3, 4], [2, 3, 4]],
    [[5, 1, 1, 8], [5, 3, 2, 8]],
  ];
  for (const [a, b] of pairs) {
    for (const op of ['Add', 'Sub', 'Mul', 'Div']) {
      it(`${op} [${a.join(',')}] with [${b.join(',')}]`, async () => {
        const rank = Math.max(a.length, b.length);
        const pad = (d: number[]) => [...Array<number>(rank - d.length).fill(1), ...d];
        const out = pad(a).map((x, i) => Math.max(x, pad(b)[i]!));
        const model = makeModel({
          inputs: [
            { name: 'a', dtype: 'float32', shape: a },
            { name: 'b', dtype: 'float32', shape: b },
          ],
          outputs: [{ name: 'y', dtype: 'float32', shape: out }],
          nodes: [{ op, name: 'op', inputs: ['a', 'b'], outputs: ['y'] }],
        });
        expect(await compareWithOnnxRuntime(model, { a, b }, a.length * 7 + b.length)).toBe(true);
      });
    }
  }
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
