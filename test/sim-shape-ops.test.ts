// The shape and data-movement operators with their shape-like inputs as initializers, so that
// the sim resolves output shapes at build time (the ONNX conformance cases feed those inputs
// at run time instead). Checked against onnxruntime-node on the same model.
import { describe, expect, it } from 'vitest';

import { buildEngine, InferenceSession, Tensor } from '../lib/index.js';
import { makeModel, makeTensor } from '../lib/onnx/model-builder.js';
import { randomFloats } from './fixtures/models.js';
import { expectClose, runOnnxRuntime } from './fixtures/oracle.js';

/** x: [batch, 3, 4, 4] -> y: [batch, 3, 6, 6] through Pad, Slice, Resize, Split, Squeeze, ... */
function movementModel(): Uint8Array {
  const i64 = (name: string, values: number[]) => makeTensor(name, 'int64', [values.length], values.map(BigInt));
  return makeModel({
    inputs: [{ name: 'x', dtype: 'float32', shape: ['batch', 3, 4, 4] }],
    outputs: [
      { name: 'y', dtype: 'float32', shape: ['batch', 3, 6, 6] },
      { name: 'z', dtype: 'float32', shape: ['batch', 2, 24, 18] },
    ],
    initializers: [
      i64('pads', [0, 0, 1, 1, 0, 0, 1, 1]),
      i64('starts', [-1, 0]),
      i64('ends', [-100, 6]),
      i64('axes23', [2, 3]),
      i64('steps', [-1, 2]),
      makeTensor('scales', 'float32', [4], [1, 1, 2, 2]),
      i64('split', [1, 2]),
      i64('axis1', [1]),
      i64('indices', [-1, 0, 3]),
      i64('repeats', [1, 1, 2, 1]),
      i64('target', [1, 3, 6, 6]),
      makeTensor('scales2', 'float32', [4], [1, 1, 2, 1.5]),
      i64('one', [1]),
      i64('nine', [9]),
    ],
    nodes: [
      { op: 'Pad', inputs: ['x', 'pads'], outputs: ['p'], attributes: { mode: 'reflect' } },
      { op: 'Slice', inputs: ['p', 'starts', 'ends', 'axes23', 'steps'], outputs: ['s'] },
      { op: 'Resize', inputs: ['s', '', 'scales'], outputs: ['r'], attributes: { mode: 'linear' } },
      { op: 'Split', inputs: ['r', 'split'], outputs: ['a', 'c'], attributes: { axis: 1 } },
      { op: 'Squeeze', inputs: ['a', 'axis1'], outputs: ['sq'] },
      { op: 'Unsqueeze', inputs: ['sq', 'axis1'], outputs: ['un'] },
      { op: 'Concat', inputs: ['c', 'un'], outputs: ['cat'], attributes: { axis: 1 } },
      { op: 'Gather', inputs: ['cat', 'indices'], outputs: ['g'], attributes: { axis: 2 } },
      { op: 'Tile', inputs: ['g', 'repeats'], outputs: ['t'] },
      { op: 'Expand', inputs: ['t', 'target'], outputs: ['y'] },
      // Nearest resize, then DepthToSpace (CRD) on the channel-stacked copies.
      { op: 'Concat', inputs: ['y', 'y', 'y'], outputs: ['wide'], attributes: { axis: 1 } },
      { op: 'Slice', inputs: ['wide', 'one', 'nine', 'axis1'], outputs: ['ws'] },
      { op: 'Resize', inputs: ['ws', '', 'scales2'], outputs: ['wr'], attributes: { mode: 'nearest', nearest_mode: 'floor' } },
      { op: 'DepthToSpace', inputs: ['wr'], outputs: ['z'], attributes: { blocksize: 2, mode: 'CRD' } },
    ],
  });
}

describe('shape and data-movement operators with constant parameters (sim)', () => {
  it('knows the output shapes at build time and computes what onnxruntime does', async () => {
    const model = movementModel();
    const engine = await buildEngine(model, { backend: 'sim', profiles: [{ x: { min: [1, 3, 4, 4], opt: [2, 3, 4, 4], max: [4, 3, 4, 4] } }] });
    using session = await InferenceSession.create(engine, { backend: 'sim' });
    expect(session.outputMetadata.map((o) => o.shape)).toEqual([
      [-1, 3, 6, 6],
      [-1, 2, 24, 18],
    ]);
    for (const batch of [1, 3]) {
      const x = randomFloats(batch * 48, 40 + batch);
      const out = await session.run({ x: new Tensor('float32', x, [batch, 3, 4, 4]) });
      const expected = await runOnnxRuntime(model, { x: { data: x, dims: [batch, 3, 4, 4] } });
      for (const name of ['y', 'z']) {
        expect(out[name]!.dims).toEqual(expected[name]!.dims);
        expectClose(out[name]!.data as Float32Array, expected[name]!.data);
      }
    }
  });

  it('quantizes per channel and casts like onnxruntime does', async () => {
    const model = makeModel({
      inputs: [{ name: 'x', dtype: 'float32', shape: [2, 3, 5] }],
      outputs: [{ name: 'y', dtype: 'float32', shape: [2, 3, 5] }],
      initializers: [
        makeTensor('scale', 'float32', [3], [0.01, 0.02, 0.005]),
        makeTensor('zero', 'int8', [3], [0, 3, -2]),
      ],
      nodes: [
        { op: 'QuantizeLinear', inputs: ['x', 'scale', 'zero'], outputs: ['q'], attributes: { axis: 1 } },
        { op: 'DequantizeLinear', inputs: ['q', 'scale', 'zero'], outputs: ['dq'], attributes: { axis: 1 } },
        { op: 'Cast', inputs: ['dq'], outputs: ['h'], attributes: { to: 10 } },
        { op: 'Dropout', inputs: ['h'], outputs: ['d'] },
        { op: 'Cast', inputs: ['d'], outputs: ['y'], attributes: { to: 1 } },
      ],
    });
    const engine = await buildEngine(model, { backend: 'sim' });
    using session = await InferenceSession.create(engine, { backend: 'sim' });
    const x = randomFloats(30, 11);
    const out = await session.run({ x: new Tensor('float32', x, [2, 3, 5]) });
    const expected = await runOnnxRuntime(model, { x: { data: x, dims: [2, 3, 5] } });
    expectClose(out.y!.data as Float32Array, expected.y!.data, 1e-3, 1e-6);
  });
});
