// A float16 Conv computes on float32 copies of its operands and rounds its output back to
// float16 (in bulk, with F16C where the CPU has it). Fed every float16 value, it must widen
// each exactly and round each product to nearest even, as onnxruntime's Casts do.
import { describe, expect, it } from 'vitest';

import { toFloat16Bits } from '../lib/dtype.js';
import { makeModel, makeTensor } from '../lib/onnx/model-builder.js';
import { runOnnxRuntime } from './fixtures/oracle.js';
import { randomFloats } from './fixtures/models.js';
import { runSim } from './fixtures/sim-run.js';

const DIMS = [1, 1, 256, 256];
const OUT = [1, 2, 256, 256];
// Weights: 1 (the output is the input itself) and 0x3555, the float16 nearest 1/3, whose
// products with most inputs need rounding to float16.
const ONE = 0x3c00;
const THIRD = 0x3555;
const THIRD_VALUE = 0.333251953125;

/** The value of float16 bit pattern `h`: (-1)^s * 2^(e-15) * (1 + m/1024), subnormals 2^-14 * m/1024. */
function halfValue(h: number): number {
  const sign = h & 0x8000 ? -1 : 1;
  const e = (h >> 10) & 0x1f;
  const m = h & 0x3ff;
  if (e === 0x1f) return m ? NaN : sign * Infinity;
  return e === 0 ? sign * 2 ** -14 * (m / 1024) : sign * 2 ** (e - 15) * (1 + m / 1024);
}

describe('sim float16 Conv', () => {
  it('widens every float16 value exactly and rounds products as onnxruntime casts them', async () => {
    const x = Float32Array.from({ length: 65536 }, (_, h) => halfValue(h));
    const conv = makeModel({
      inputs: [{ name: 'x', dtype: 'float32', shape: DIMS }],
      outputs: [{ name: 'y', dtype: 'float32', shape: OUT }],
      initializers: [makeTensor('w', 'float16', [2, 1, 1, 1], [ONE, THIRD])],
      nodes: [
        { op: 'Cast', inputs: ['x'], outputs: ['xh'], attributes: { to: 10 } },
        { op: 'Conv', inputs: ['xh', 'w'], outputs: ['yh'], attributes: { kernel_shape: [1, 1] } },
        { op: 'Cast', inputs: ['yh'], outputs: ['y'], attributes: { to: 1 } },
      ],
    });
    // The reference: the float32 product of the two float16 values, cast to float16 by onnxruntime.
    const reference = makeModel({
      inputs: [{ name: 'x', dtype: 'float32', shape: DIMS }],
      outputs: [{ name: 'y', dtype: 'float32', shape: OUT }],
      initializers: [makeTensor('w', 'float32', [1, 2, 1, 1], [1, THIRD_VALUE])],
      nodes: [
        { op: 'Mul', inputs: ['x', 'w'], outputs: ['p'] },
        { op: 'Cast', inputs: ['p'], outputs: ['ph'], attributes: { to: 10 } },
        { op: 'Cast', inputs: ['ph'], outputs: ['y'], attributes: { to: 1 } },
      ],
    });
    const sim = (await runSim(conv, DIMS, x, 1)).y!;
    const expected = (await runOnnxRuntime(reference, { x: { data: x, dims: DIMS } })).y!.data;
    expect(sim.length).toBe(2 * 65536);
    let mismatches = 0;
    let first = -1;
    for (let i = 0; i < sim.length; i++) {
      // === holds -0 equal to +0. The sim's epilogue adds the (zero) bias to every sum, as
      // TensorRT's convolution does, and -0 + 0 is +0; onnxruntime's Mul keeps -0. The sign of a
      // zero changes no sum, product or comparison downstream (only 1/x and atan2 see it), so
      // the sim keeps the cheaper uniform epilogue.
      const same = sim[i] === expected[i] || (Number.isNaN(sim[i]) && Number.isNaN(expected[i]));
      if (!same && mismatches++ === 0) first = i;
    }
    expect(mismatches, first >= 0 ? `first at ${first}: sim ${sim[first]}, onnxruntime ${expected[first]}` : '').toBe(0);
    // Channel 0 is the input itself: every value, subnormals and infinities included.
    for (let h = 0; h < 65536; h++) if (!Number.isNaN(x[h]) && sim[h] !== x[h]) expect(sim[h], `float16 0x${h.toString(16)}`).toBe(x[h]);
  });

  it('computes a 3x3 float16 Conv (the direct kernel where AVX-512 has it) as float32 sums rounded once to float16', async () => {
    // 4 -> 8 channels, 3x3, padded: unit width stride, few output channels and 12 tap rows,
    // which the direct kernel takes. Operands are float16 values; the reference is
    // onnxruntime's float32 Conv of the same values, its output cast to float16. Only sums
    // within float32 rounding of a float16 halfway point may round the other way: one ulp.
    const xDims = [1, 4, 20, 40];
    const yDims = [1, 8, 20, 40];
    const toHalf = (v: Float32Array) =>
      makeModel({ inputs: [{ name: 'x', dtype: 'float32', shape: [v.length] }], outputs: [{ name: 'y', dtype: 'float32', shape: [v.length] }], nodes: [
        { op: 'Cast', inputs: ['x'], outputs: ['h'], attributes: { to: 10 } },
        { op: 'Cast', inputs: ['h'], outputs: ['y'], attributes: { to: 1 } },
      ] });
    const roundHalf = async (v: Float32Array) => (await runOnnxRuntime(toHalf(v), { x: { data: v, dims: [v.length] } })).y!.data as Float32Array;
    const x = await roundHalf(randomFloats(xDims.reduce((a, b) => a * b, 1), 21).map((v) => 4 * v));
    const w = await roundHalf(randomFloats(8 * 4 * 9, 22));
    const attributes = { kernel_shape: [3, 3], pads: [1, 1, 1, 1] };
    const conv = (dtype: 'float16' | 'float32') =>
      makeModel({
        inputs: [{ name: 'x', dtype: 'float32', shape: xDims }],
        outputs: [{ name: 'y', dtype: 'float32', shape: yDims }],
        initializers: [dtype === 'float16' ? makeTensor('w', 'float16', [8, 4, 3, 3], Array.from(w, toFloat16Bits)) : makeTensor('w', 'float32', [8, 4, 3, 3], w)],
        nodes: dtype === 'float16'
          ? [
              { op: 'Cast', inputs: ['x'], outputs: ['xh'], attributes: { to: 10 } },
              { op: 'Conv', inputs: ['xh', 'w'], outputs: ['yh'], attributes },
              { op: 'Cast', inputs: ['yh'], outputs: ['y'], attributes: { to: 1 } },
            ]
          : [
              { op: 'Conv', inputs: ['x', 'w'], outputs: ['yf'], attributes },
              { op: 'Cast', inputs: ['yf'], outputs: ['yh'], attributes: { to: 10 } },
              { op: 'Cast', inputs: ['yh'], outputs: ['y'], attributes: { to: 1 } },
            ],
      });
    const sim = (await runSim(conv('float16'), xDims, x, 1)).y!;
    const expected = (await runOnnxRuntime(conv('float32'), { x: { data: x, dims: xDims } })).y!.data as Float32Array;
    let exact = 0;
    for (let i = 0; i < sim.length; i++) {
      if (sim[i] === expected[i]) {
        exact++;
        continue;
      }
      // One float16 ulp at the value's exponent (2^(e-10), subnormal spacing below 2^-14).
      const ulp = 2 ** (Math.max(Math.floor(Math.log2(Math.abs(expected[i]!))), -14) - 10);
      expect(Math.abs(sim[i]! - expected[i]!), `y[${i}]: sim ${sim[i]}, onnxruntime ${expected[i]}`).toBeLessThanOrEqual(ulp);
    }
    expect(exact).toBeGreaterThan(0.99 * sim.length);
  });
});
