// The sim's Conv fast paths. Epilogues: BatchNormalization, scalar Mul/Add with the constant
// on either side, and HardSwish written out as Add/Clip/Mul/Div (as paddle2onnx exports
// MobileNetV3 and PP-LCNet) folded into the Conv's output tiles. Constant weights packed for
// the GEMM once per context. Every convolution path (GEMM with im2col,
// pointwise GEMM, the direct kernel, depthwise) on odd channel counts, strides, padding,
// groups and dilation: bitwise the separate layers (TNRT_SIM_NO_FUSION=1) on 1 and 2 threads,
// and close to onnxruntime.
import { readFileSync } from 'node:fs';

import { describe, expect, it } from 'vitest';

import { buildEngine, InferenceSession, Tensor } from '../lib/index.js';

import { makeModel, makeTensor } from '../lib/onnx/model-builder.js';
import { randomFloats } from './fixtures/models.js';
import { expectClose, runOnnxRuntime } from './fixtures/oracle.js';
import { runSim, runSimInProcess } from './fixtures/sim-run.js';

interface Geometry {
  name: string;
  x: number[];
  w: number[];
  attributes: Record<string, number[] | number>;
  y: number[];
}

// Output shapes by the ONNX formula: floor((in + pads - dilation*(k-1) - 1) / stride) + 1.
const geometries: Geometry[] = [
  // im2col GEMM: 13 -> 21 channels, stride 2, asymmetric pads.
  { name: '3x3 stride 2, 13 -> 21 channels', x: [1, 13, 17, 19], w: [21, 13, 3, 3], attributes: { kernel_shape: [3, 3], strides: [2, 2], pads: [1, 0, 1, 1] }, y: [1, 21, 9, 9] },
  // Groups and dilation.
  { name: '3x3 dilation 2, 3 groups', x: [2, 9, 15, 14], w: [12, 3, 3, 3], attributes: { kernel_shape: [3, 3], dilations: [2, 2], group: 3, pads: [2, 2, 2, 2] }, y: [2, 12, 15, 14] },
  // Pointwise: the input itself is the GEMM's B; 70 output channels cross micro-tiles.
  { name: '1x1, 37 -> 70 channels', x: [1, 37, 11, 13], w: [70, 37, 1, 1], attributes: { kernel_shape: [1, 1] }, y: [1, 70, 11, 13] },
  // Few output channels, unit width stride: the direct kernel (where AVX-512 has it).
  { name: '1x3 direct, 11 -> 19 channels', x: [2, 11, 9, 37], w: [19, 11, 1, 3], attributes: { kernel_shape: [1, 3], pads: [0, 1, 0, 1] }, y: [2, 19, 9, 37] },
  // The direct kernel over the padded input's row-major positions (height stride 1): a map
  // 2 wide (a 16-wide piece spans 8 output rows), 70 channels (past 64, not a multiple of 8);
  // one input channel under a 3x3 window; a 3x2 window with height dilation and uneven pads.
  { name: '3x1 direct on a 8x2 map, 24 -> 70 channels', x: [3, 24, 10, 2], w: [70, 24, 3, 1], attributes: { kernel_shape: [3, 1] }, y: [3, 70, 8, 2] },
  { name: '3x3 direct, 1 -> 13 channels', x: [2, 1, 12, 21], w: [13, 1, 3, 3], attributes: { kernel_shape: [3, 3], pads: [1, 1, 1, 1] }, y: [2, 13, 12, 21] },
  { name: '3x2 direct, height dilation 2', x: [1, 6, 9, 5], w: [17, 6, 3, 2], attributes: { kernel_shape: [3, 2], dilations: [2, 1], pads: [1, 0, 2, 1] }, y: [1, 17, 8, 5] },
  { name: '3x3 direct, dilation 3', x: [1, 7, 13, 29], w: [20, 7, 3, 3], attributes: { kernel_shape: [3, 3], dilations: [3, 3], pads: [3, 3, 3, 3] }, y: [1, 20, 13, 29] },
  // Height stride 2: the direct kernel's pieces are 16 columns of one output row.
  { name: '3x3 direct, height stride 2 and dilation 2', x: [1, 5, 19, 40], w: [9, 5, 3, 3], attributes: { kernel_shape: [3, 3], strides: [2, 1], dilations: [2, 1], pads: [2, 1, 1, 1] }, y: [1, 9, 9, 40] },
  { name: '3x3 direct, height stride 2, width dilation 2', x: [1, 5, 19, 40], w: [9, 5, 3, 3], attributes: { kernel_shape: [3, 3], strides: [2, 1], dilations: [1, 2], pads: [1, 2, 1, 2] }, y: [1, 9, 10, 40] },
  // Depthwise: the register-blocked kernel (32 outputs or more) with stride 2, with dilation
  // and asymmetric pads (an output 34 wide: two full column blocks and a partial one), with
  // stride 2, no padding and an odd input width, on a small map; and the general loop on a
  // map of fewer than 32 outputs.
  { name: 'depthwise 5x5 stride 2', x: [1, 23, 39, 41], w: [23, 1, 5, 5], attributes: { kernel_shape: [5, 5], strides: [2, 2], pads: [2, 2, 2, 2], group: 23 }, y: [1, 23, 20, 21] },
  { name: 'depthwise 3x5 dilation 2', x: [1, 10, 9, 37], w: [10, 1, 3, 5], attributes: { kernel_shape: [3, 5], dilations: [2, 2], pads: [2, 3, 1, 2], group: 10 }, y: [1, 10, 8, 34] },
  // 50 wide: the register-blocked kernel's four-block step with a partial last block.
  { name: 'depthwise 3x3, 50 wide', x: [1, 5, 9, 50], w: [5, 1, 3, 3], attributes: { kernel_shape: [3, 3], pads: [1, 1, 1, 1], group: 5 }, y: [1, 5, 9, 50] },
  { name: 'depthwise 3x3 stride 2 unpadded', x: [1, 6, 31, 41], w: [6, 1, 3, 3], attributes: { kernel_shape: [3, 3], strides: [2, 2], group: 6 }, y: [1, 6, 15, 20] },
  { name: 'depthwise 3x3 on a small map', x: [2, 17, 12, 9], w: [17, 1, 3, 3], attributes: { kernel_shape: [3, 3], pads: [1, 1, 1, 1], group: 17 }, y: [2, 17, 12, 9] },
  { name: 'depthwise 3x3 on a 5x6 map', x: [2, 17, 5, 6], w: [17, 1, 3, 3], attributes: { kernel_shape: [3, 3], pads: [1, 1, 1, 1], group: 17 }, y: [2, 17, 5, 6] },
];

const floats = (name: string, dims: number[], seed: number, scale = 1, offset = 0) =>
  makeTensor(name, 'float32', dims, randomFloats(dims.reduce((a, b) => a * b, 1), seed).map((v) => v * scale + offset));
const scalar = (name: string, v: number) => makeTensor(name, 'float32', [], [v]);

/**
 * Conv -> BatchNormalization -> Mul(k, .) -> Add(., k) -> HardSwish as Add/Clip/Mul/Div (the
 * Mul with the clipped value first) -> Relu; `y` is the only output. With `leak`, the Add of
 * the HardSwish pattern is a graph output too, so the pattern must not fold.
 */
function epilogueModel(g: Geometry, { leak = false } = {}): Uint8Array {
  const channels = g.y[1]!;
  return makeModel({
    inputs: [{ name: 'x', dtype: 'float32', shape: g.x }],
    outputs: [{ name: 'y', dtype: 'float32', shape: g.y }, ...(leak ? [{ name: 'a3', dtype: 'float32' as const, shape: g.y }] : [])],
    initializers: [
      floats('w', g.w, 1, 0.5),
      floats('b', [channels], 2, 0.1),
      floats('scale', [channels], 3, 0.5, 1),
      floats('shift', [channels], 4, 0.2),
      floats('mean', [channels], 5, 0.1),
      floats('var', [channels], 6, 0.4, 0.6),
      scalar('k', 0.8),
      scalar('kb', -0.05),
      scalar('three', 3),
      scalar('zero', 0),
      scalar('six', 6),
    ],
    nodes: [
      { op: 'Conv', inputs: ['x', 'w', 'b'], outputs: ['c'], attributes: g.attributes },
      { op: 'BatchNormalization', inputs: ['c', 'scale', 'shift', 'mean', 'var'], outputs: ['bn'], attributes: { epsilon: 1e-3 } },
      { op: 'Mul', inputs: ['k', 'bn'], outputs: ['m'] },
      { op: 'Add', inputs: ['m', 'kb'], outputs: ['a'] },
      { op: 'Add', inputs: ['a', 'three'], outputs: ['a3'] },
      { op: 'Clip', inputs: ['a3', 'zero', 'six'], outputs: ['cl'] },
      { op: 'Mul', inputs: ['cl', 'a'], outputs: ['hm'] },
      { op: 'Div', inputs: ['hm', 'six'], outputs: ['hs'] },
      { op: 'Relu', inputs: ['hs'], outputs: ['y'] },
    ],
  });
}


async function unfused(model: Uint8Array, dims: number[], x: Float32Array) {
  process.env.TNRT_SIM_NO_FUSION = '1';
  try {
    return await runSim(model, dims, x, 1);
  } finally {
    delete process.env.TNRT_SIM_NO_FUSION;
  }
}

const bytes = (a: Float32Array) => Buffer.from(a.buffer, a.byteOffset, a.byteLength);

describe('sim Conv epilogue fusion', () => {
  for (const g of geometries) {
    it(`${g.name}: bitwise the separate layers, and onnxruntime's result`, async () => {
      const model = epilogueModel(g);
      const x = randomFloats(g.x.reduce((a, b) => a * b, 1), 11);
      const separate = await unfused(model, g.x, x);
      for (const threads of [1, 2]) {
        const fused = await runSim(model, g.x, x, threads);
        expect(fused.y!.length).toBe(g.y.reduce((a, b) => a * b, 1));
        expect(Buffer.compare(bytes(fused.y!), bytes(separate.y!)), `${threads} thread(s)`).toBe(0);
      }
      // The HardSwish output is mostly positive and nonzero, so the comparison has teeth.
      expect(separate.y!.filter((v) => v > 0).length).toBeGreaterThan(separate.y!.length / 4);
      const expected = await runOnnxRuntime(model, { x: { data: x, dims: g.x } });
      expectClose(separate.y!, expected.y!.data, 1e-4, 1e-5);
    });
  }

  it('leaves the HardSwish pattern alone when one of its values is also read elsewhere', async () => {
    const g = geometries[0]!;
    const model = epilogueModel(g, { leak: true });
    const x = randomFloats(g.x.reduce((a, b) => a * b, 1), 12);
    const fused = await runSim(model, g.x, x, 1);
    const separate = await unfused(model, g.x, x);
    const expected = await runOnnxRuntime(model, { x: { data: x, dims: g.x } });
    for (const name of ['y', 'a3']) {
      expect(Buffer.compare(bytes(fused[name]!), bytes(separate[name]!)), name).toBe(0);
      expectClose(fused[name]!, expected[name]!.data, 1e-4, 1e-5);
    }
  });
});

// The direct kernel runs where the CPU has AVX-512 (and the GEMM kernel is not capped below it).
const directKernel = /\bavx512f\b/.test(readFileSync('/proc/cpuinfo', 'utf8')) && !['generic', 'avx2'].includes(process.env.TNRT_SIM_GEMM_KERNEL ?? '');

describe.runIf(directKernel)('sim Conv direct kernel', () => {
  // The direct kernel sums each output's taps in the GEMM's order (input channel, then kernel
  // row, then column, one fused multiply-add each), so the two agree bit for bit: checked
  // against a run in another process with TNRT_SIM_DIRECT_CONV=0 (every convolution through
  // the GEMM; the switch is read once per process). Equal bits cannot show which kernel ran;
  // the geometries' comments above say which these take.
  for (const g of geometries.filter((x) => x.name.includes('direct'))) {
    it(`${g.name}: bitwise the GEMM path`, async () => {
      const model = epilogueModel(g);
      const x = randomFloats(g.x.reduce((a, b) => a * b, 1), 13);
      const here = (await runSim(model, g.x, x, 2)).y!;
      const gemm = runSimInProcess(model, g.x, x, 2, { TNRT_SIM_DIRECT_CONV: '0' }).y!;
      expect(Buffer.compare(bytes(gemm), bytes(here))).toBe(0);
    });
  }
});

describe('sim Conv with constant weights', () => {
  it('packs them once: every call bitwise the Conv whose weights are an input', async () => {
    for (const g of geometries) {
      const conv = (weightsAreInput: boolean) =>
        makeModel({
          inputs: [{ name: 'x', dtype: 'float32', shape: g.x }, ...(weightsAreInput ? [{ name: 'w', dtype: 'float32' as const, shape: g.w }] : [])],
          outputs: [{ name: 'y', dtype: 'float32', shape: g.y }],
          initializers: weightsAreInput ? [] : [floats('w', g.w, 1, 0.5)],
          nodes: [{ op: 'Conv', inputs: ['x', 'w'], outputs: ['y'], attributes: g.attributes }],
        });
      const w = randomFloats(g.w.reduce((a, b) => a * b, 1), 1).map((v) => v * 0.5);
      const [constant, input] = await Promise.all([buildEngine(conv(false), { backend: 'sim' }), buildEngine(conv(true), { backend: 'sim' })]);
      using packed = await InferenceSession.create(constant, { backend: 'sim', threads: 2 });
      using plain = await InferenceSession.create(input, { backend: 'sim', threads: 2 });
      for (const seed of [31, 32]) {
        const x = new Tensor('float32', randomFloats(g.x.reduce((a, b) => a * b, 1), seed), g.x);
        const a = (await packed.run({ x })).y!.data as Float32Array;
        const b = (await plain.run({ x, w: new Tensor('float32', w, g.w) })).y!.data as Float32Array;
        expect(Buffer.compare(bytes(a), bytes(b)), `${g.name}, call ${seed - 30}`).toBe(0);
      }
    }
  });
});
