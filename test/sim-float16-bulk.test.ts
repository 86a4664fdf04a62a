// The sim's float16 layers stage their operands through float32 in blocks (8 values per F16C
// instruction where the CPU has it) and round each output back to float16. Fed every float16
// value, Cast, Relu, LeakyRelu, Add and Mul (same shapes, a scalar, a row and a column
// broadcast) and MaxPool must give what onnxruntime gives computing in float32 and casting the
// result to float16, and the conversions must keep NaN payloads and subnormals exactly.
import { describe, expect, it } from 'vitest';

import { buildEngine, InferenceSession, Tensor } from '../lib/index.js';
import { fromFloat16Bits, toFloat16Bits } from '../lib/dtype.js';
import { makeModel, makeTensor } from '../lib/onnx/model-builder.js';
import { runOnnxRuntime } from './fixtures/oracle.js';

const DIMS = [1, 1, 256, 256];
const POOLED = [1, 1, 128, 128];
const THIRD = 0x3555; // the float16 nearest 1/3: most products with it need rounding
// A row and a column of float16 addends: each a different value, some tiny, some large.
const ROW = Array.from({ length: 256 }, (_, i) => (i * 0x0101 + 0x0007) & 0x7bff);
const COLUMN = Array.from({ length: 256 }, (_, i) => ((i * 0x3b) ^ 0x8000) & 0xfbff);

const isNaN16 = (h: number) => (h & 0x7c00) === 0x7c00 && (h & 0x3ff) !== 0;

/** float32 inputs for the narrowing Cast: exact float16 values, the midpoints between neighbours (ties), and random bit patterns. */
function narrowingInputs(): Float32Array {
  const out = new Float32Array(65536);
  const bits = new Uint32Array(out.buffer);
  let s = 0x2545f491;
  for (let i = 0; i < 65536; i++) {
    s ^= s << 13;
    s ^= s >>> 17;
    s ^= s << 5;
    const h = i & 0xffff;
    out[i] = fromFloat16Bits(h);
    if (i % 4 === 1 && !isNaN16(h)) bits[i] = bits[i]! + 0x1000; // halfway to the next float16
    if (i % 4 === 2) bits[i] = s >>> 0; // anything, NaNs and float32 subnormals included
  }
  return out;
}

const layers = (x: string) => [
  { op: 'Relu', inputs: [x], outputs: ['relu'] },
  { op: 'LeakyRelu', inputs: [x], outputs: ['leaky'], attributes: { alpha: 0.1 } },
  { op: 'Transpose', inputs: [x], outputs: ['xt'], attributes: { perm: [0, 1, 3, 2] } },
  { op: 'Add', inputs: [x, 'xt'], outputs: ['sum'] },
  { op: 'Mul', inputs: [x, 'third'], outputs: ['product'] },
  { op: 'Add', inputs: [x, 'row'], outputs: ['row_sum'] },
  { op: 'Sub', inputs: ['column', x], outputs: ['column_diff'] },
  { op: 'MaxPool', inputs: [x], outputs: ['pool'], attributes: { kernel_shape: [2, 2], strides: [2, 2] } },
];
const OUTPUTS = ['relu', 'leaky', 'sum', 'product', 'row_sum', 'column_diff', 'pool'];

describe('sim float16 bulk conversions', () => {
  it('widens, narrows and computes every float16 value as onnxruntime does in float32', async () => {
    const x = Uint16Array.from({ length: 65536 }, (_, h) => h);
    const y = narrowingInputs();
    const half = (name: string, dims: number[], bits: number[]) => makeTensor(name, 'float16', dims, bits);
    const out = (name: string, dtype: 'float16' | 'float32', shape = DIMS) => ({ name, dtype, shape });
    const sim = makeModel({
      inputs: [
        { name: 'x', dtype: 'float16', shape: DIMS },
        { name: 'y', dtype: 'float32', shape: DIMS },
      ],
      outputs: [
        out('wide', 'float32'),
        out('back', 'float16'),
        out('narrow', 'float16'),
        ...OUTPUTS.map((n) => out(n, 'float16', n === 'pool' ? POOLED : DIMS)),
      ],
      initializers: [half('third', [], [THIRD]), half('row', [256], ROW), half('column', [256, 1], COLUMN)],
      nodes: [
        { op: 'Cast', inputs: ['x'], outputs: ['wide'], attributes: { to: 1 } },
        { op: 'Cast', inputs: ['wide'], outputs: ['back'], attributes: { to: 10 } },
        { op: 'Cast', inputs: ['y'], outputs: ['narrow'], attributes: { to: 10 } },
        ...layers('x'),
      ],
    });
    const engine = await buildEngine(sim, { backend: 'sim' });
    using session = await InferenceSession.create(engine, { backend: 'sim', threads: 1 });
    const got = await session.run({ x: new Tensor('float16', x, DIMS), y: new Tensor('float32', y, DIMS) });

    // The reference: the same layers in float32 on the float16 values, each output cast to
    // float16 and back by onnxruntime.
    const f32 = (name: string, dims: number[], bits: number[]) => makeTensor(name, 'float32', dims, bits.map(fromFloat16Bits));
    const reference = makeModel({
      inputs: [
        { name: 'x', dtype: 'float32', shape: DIMS },
        { name: 'y', dtype: 'float32', shape: DIMS },
      ],
      outputs: [out('narrow', 'float32'), ...OUTPUTS.map((n) => out(n, 'float32', n === 'pool' ? POOLED : DIMS))],
      initializers: [f32('third', [], [THIRD]), f32('row', [256], ROW), f32('column', [256, 1], COLUMN)],
      nodes: [
        ...layers('x').map((n) => (OUTPUTS.includes(n.outputs[0]!) ? { ...n, outputs: [`${n.outputs[0]}_f32`] } : n)),
        ...['narrow', ...OUTPUTS].flatMap((n) => [
          { op: 'Cast', inputs: [n === 'narrow' ? 'y' : `${n}_f32`], outputs: [`${n}_h`], attributes: { to: 10 } },
          { op: 'Cast', inputs: [`${n}_h`], outputs: [n], attributes: { to: 1 } },
        ]),
      ],
    });
    const values = Float32Array.from(x, fromFloat16Bits);
    const expected = await runOnnxRuntime(reference, { x: { data: values, dims: DIMS }, y: { data: y, dims: DIMS } });

    // Widening is exact, NaN payloads and signs included (not quieted), as halfToFloat writes them.
    const wide = new Uint32Array((got.wide!.data as Float32Array).slice().buffer);
    const f = new Float32Array(1);
    const fBits = new Uint32Array(f.buffer);
    let wrong = 0;
    for (let h = 0; h < 65536; h++) {
      f[0] = fromFloat16Bits(h);
      const want = isNaN16(h) ? (((h & 0x8000) << 16) | 0x7f800000 | ((h & 0x3ff) << 13)) >>> 0 : fBits[0]!;
      if (wide[h] !== want && wrong++ < 3) expect(wide[h]!.toString(16), `widened 0x${h.toString(16)}`).toBe(want.toString(16));
    }
    expect(wrong).toBe(0);
    // Narrowing gives the value back, and one quiet NaN of the same sign for every NaN.
    const back = got.back!.data as Uint16Array;
    for (let h = 0; h < 65536; h++) {
      const want = isNaN16(h) ? (h & 0x8000) | 0x7e00 : h;
      if (back[h] !== want && wrong++ < 3) expect(back[h]!.toString(16), `narrowed 0x${h.toString(16)}`).toBe(want.toString(16));
    }
    expect(wrong).toBe(0);

    // Rounded results: the bits of onnxruntime's float16 value (exact in float32), any NaN as
    // the sim's one quiet NaN. The sim's Relu (x > 0 ? x : 0) maps NaN to 0 and -0 to +0,
    // where onnxruntime keeps both: NaN inputs are left out of its comparison, and its zeros
    // compare by value.
    for (const name of ['narrow', ...OUTPUTS]) {
      const simBits = got[name]!.data as Uint16Array;
      const ref = expected[name]!.data;
      expect(simBits.length, name).toBe(ref.length);
      let mismatches = 0;
      let first = '';
      for (let i = 0; i < ref.length; i++) {
        if (name === 'relu' && isNaN16(x[i]!)) continue;
        const ok = Number.isNaN(ref[i]!)
          ? (simBits[i]! & 0x7fff) === 0x7e00
          : simBits[i] === toFloat16Bits(ref[i]!) || (name === 'relu' && ref[i] === 0 && fromFloat16Bits(simBits[i]!) === 0);
        if (!ok && mismatches++ === 0) first = `element ${i}: sim 0x${simBits[i]!.toString(16)}, onnxruntime ${ref[i]}`;
      }
      expect(mismatches, `${name}: ${first}`).toBe(0);
    }
  });
});
