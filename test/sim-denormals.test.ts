// Subnormal float32 values: the product kernels (Conv, ConvTranspose, MatMul, Gemm) and the
// element-wise Add/Sub/Mul/Div treat them as zero (a subnormal operand costs x86 a microcode
// assist per operation; trained weights hold many), and every other operator keeps them.
import { describe, expect, it } from 'vitest';

import { makeModel, makeTensor } from '../lib/onnx/model-builder.js';
import { randomFloats } from './fixtures/models.js';
import { expectClose, runOnnxRuntime } from './fixtures/oracle.js';
import { runSim } from './fixtures/sim-run.js';

const bytes = (a: Float32Array) => Buffer.from(a.buffer, a.byteOffset, a.byteLength);

describe('sim product kernels and subnormal weights', () => {
  // A third of the weights subnormal (as trained weights can be): the products treat them as
  // zero, which moves each result by less than 1e-37.
  for (const [name, attributes, w] of [
    ['pointwise', { kernel_shape: [1, 1] }, [48, 40, 1, 1]],
    ['depthwise 3x3', { kernel_shape: [3, 3], pads: [1, 1, 1, 1], group: 40 }, [40, 1, 3, 3]],
  ] as const) {
    it(`${name} Conv: equal to the weights with subnormals zeroed`, async () => {
      const count = w.reduce<number>((a, b) => a * b, 1);
      const weights = randomFloats(count, 21);
      const zeroed = weights.slice();
      for (let i = 0; i < count; i += 3) {
        weights[i] = 1e-39 * (i % 2 ? 1 : -1);
        zeroed[i] = 0;
      }
      const model = (data: Float32Array) =>
        makeModel({
          inputs: [{ name: 'x', dtype: 'float32', shape: [1, 40, 6, 7] }],
          outputs: [{ name: 'y', dtype: 'float32', shape: [1, w[0], 6, 7] }],
          initializers: [makeTensor('w', 'float32', [...w], data)],
          nodes: [{ op: 'Conv', inputs: ['x', 'w'], outputs: ['y'], attributes: { ...attributes } }],
        });
      const x = randomFloats(40 * 6 * 7, 22);
      const withSubnormals = await runSim(model(weights), [1, 40, 6, 7], x, 1);
      const reference = await runSim(model(zeroed), [1, 40, 6, 7], x, 1);
      expect(Buffer.compare(bytes(withSubnormals.y!), bytes(reference.y!))).toBe(0);
      const expected = await runOnnxRuntime(model(weights), { x: { data: x, dims: [1, 40, 6, 7] } });
      expectClose(withSubnormals.y!, expected.y!.data, 1e-5, 1e-6);
    });
  }

  it('keeps IEEE subnormals in the operators that do not flush them', async () => {
    // x = [2, 1e-38], the second subnormal: the Conv (times 1) reads it as 0, and Sum, which
    // runs after the Conv on the same thread, must still see it.
    const model = makeModel({
      inputs: [{ name: 'x', dtype: 'float32', shape: [1, 1, 1, 2] }],
      outputs: [{ name: 'y', dtype: 'float32', shape: [1, 1, 1, 2] }],
      initializers: [makeTensor('w', 'float32', [1, 1, 1, 1], [1])],
      nodes: [
        { op: 'Conv', inputs: ['x', 'w'], outputs: ['c'], attributes: { kernel_shape: [1, 1] } },
        { op: 'Sum', inputs: ['c', 'x'], outputs: ['y'] },
      ],
    });
    const x = new Float32Array([2, 1e-38]);
    const out = await runSim(model, [1, 1, 1, 2], x, 1);
    expect(Array.from(out.y!)).toEqual([4, x[1]]);
    expect(x[1]).toBeGreaterThan(0);
  });

  it('flushes subnormal operands of element-wise Mul and Add', async () => {
    const model = makeModel({
      inputs: [{ name: 'x', dtype: 'float32', shape: [1, 4] }],
      outputs: [{ name: 'y', dtype: 'float32', shape: [1, 4] }],
      initializers: [makeTensor('k', 'float32', [1, 4], [0.5, 0.5, 1e-39, 2])],
      nodes: [
        { op: 'Mul', inputs: ['x', 'k'], outputs: ['m'] },
        { op: 'Add', inputs: ['m', 'x'], outputs: ['y'] },
      ],
    });
    // 4e-38 * 0.5 = 2e-38 (normal); 2e-38 * 0.5 = 1e-38 (subnormal, flushed to 0); a
    // subnormal factor counts as 0; 1 * 2 + 1 = 3.
    const x = new Float32Array([4e-38, 2e-38, 3, 1]);
    const out = await runSim(model, [1, 4], x, 1);
    expect(Array.from(out.y!)).toEqual([Math.fround(x[0]! + Math.fround(x[0]! * 0.5)), x[1]!, 3, 3]);
  });
});
