// The sim's activation, math, reduction and normalization operators on what the ONNX node
// tests leave out: float16 (computed in float32, rounded once at the output), dynamic shapes,
// older opsets (attribute forms), axes known only at run time, and build-time refusals.
// onnxruntime-node, running the float32 form of each model, is the oracle.
import * as ort from 'onnxruntime-node';
import { describe, expect, it } from 'vitest';

import { buildEngine, InferenceSession, OnnxParseError, Tensor } from '../lib/index.js';
import { float32ToFloat16 } from '../lib/dtype.js';
import { makeModel, makeTensor, type NodeSpec } from '../lib/onnx/model-builder.js';
import { randomFloats } from './fixtures/models.js';
import { expectClose } from './fixtures/oracle.js';

type Feed = { dtype: 'float32' | 'int64'; data: Float32Array | BigInt64Array; dims: number[] };

async function runOrt(model: Uint8Array, feeds: Record<string, Feed>): Promise<Record<string, { data: Float32Array; dims: number[] }>> {
  const session = await ort.InferenceSession.create(model, { intraOpNumThreads: 1, interOpNumThreads: 1, logSeverityLevel: 3 });
  try {
    const ortFeeds: Record<string, ort.Tensor> = {};
    for (const [name, f] of Object.entries(feeds)) ortFeeds[name] = new ort.Tensor(f.dtype, f.data, f.dims);
    const out = await session.run(ortFeeds);
    return Object.fromEntries(Object.entries(out).map(([k, t]) => [k, { data: t.data as Float32Array, dims: [...t.dims] }]));
  } finally {
    await session.release();
  }
}

/** Builds and runs on the sim; profiles from `profile` when given, else fixed input shapes. */
async function runSim(model: Uint8Array, feeds: Record<string, Tensor>, profile?: Record<string, { min: number[]; opt: number[]; max: number[] }>) {
  const engine = await buildEngine(model, { backend: 'sim', ...(profile && { profiles: [profile] }) });
  using session = await InferenceSession.create(engine, { backend: 'sim' });
  return session.run(feeds);
}

/** float32 values rounded through float16, so both sides see identical inputs. */
function asHalf(values: Float32Array): { bits: Uint16Array; rounded: Float32Array } {
  const bits = float32ToFloat16(values);
  return { bits, rounded: new Tensor('float16', bits, [bits.length]).toFloat32() };
}

function scaled(count: number, seed: number, scale: number, offset = 0): Float32Array {
  return randomFloats(count, seed).map((v) => v * scale + offset);
}

describe('sim math operators: float16 against onnxruntime float32', () => {
  const unary: [string, Record<string, number | { floats: number[] }>, number, number][] = [
    // op, attributes, input scale, input offset
    ['LeakyRelu', { alpha: 0.2 }, 4, 0],
    ['HardSigmoid', {}, 6, 0],
    ['HardSwish', {}, 6, 0],
    ['Elu', { alpha: 1.5 }, 4, 0],
    ['Selu', {}, 4, 0],
    ['Softplus', {}, 8, 0],
    ['Softsign', {}, 8, 0],
    ['Exp', {}, 4, 0],
    ['Log', {}, 4, 4.5],
    ['Sqrt', {}, 4, 4.5],
    ['Abs', {}, 4, 0],
    ['Neg', {}, 4, 0],
    ['Reciprocal', {}, 1, 2.5],
    ['Erf', {}, 3, 0],
  ];
  for (const [op, attributes, scale, offset] of unary) {
    it(`${op}`, async () => {
      const model = (dtype: 'float32' | 'float16') =>
        makeModel({
          inputs: [{ name: 'x', dtype, shape: ['n', 7] }],
          outputs: [{ name: 'y', dtype, shape: ['n', 7] }],
          nodes: [{ op, inputs: ['x'], outputs: ['y'], attributes }],
        });
      const { bits, rounded } = asHalf(scaled(35, 3, scale, offset));
      const out = await runSim(model('float16'), { x: new Tensor('float16', bits, [5, 7]) }, { x: { min: [1, 7], opt: [5, 7], max: [8, 7] } });
      const expected = await runOrt(model('float32'), { x: { dtype: 'float32', data: rounded, dims: [5, 7] } });
      expect(out.y!.dtype).toBe('float16');
      expectClose(out.y!.toFloat32(), expected.y!.data, 1e-3, 1e-4);
    });
  }

  it('Softmax, LogSoftmax, ReduceSum, ReduceMax, LayerNormalization and InstanceNormalization in one graph', async () => {
    const model = (dtype: 'float32' | 'float16') =>
      makeModel({
        inputs: [{ name: 'x', dtype, shape: ['n', 3, 4, 5] }],
        outputs: [
          ...['sm', 'lsm', 'ln', 'inorm', 'bn'].map((name) => ({ name, dtype, shape: ['n', 3, 4, 5] })),
          { name: 'rs', dtype, shape: ['n', 4] },
          { name: 'rm', dtype, shape: [1, 3, 1, 5] },
        ],
        initializers: [
          makeTensor('axes', 'int64', [2], [1, -1]),
          makeTensor('w', dtype, [4, 5], dtype === 'float16' ? float32ToFloat16(scaled(20, 4, 1, 1)) : scaled(20, 4, 1, 1)),
          makeTensor('c3', dtype, [3], dtype === 'float16' ? float32ToFloat16([0.5, 1, 2]) : [0.5, 1, 2]),
          makeTensor('v3', dtype, [3], dtype === 'float16' ? float32ToFloat16([0.25, 1, 4]) : [0.25, 1, 4]),
        ],
        nodes: [
          { op: 'Softmax', inputs: ['x'], outputs: ['sm'], attributes: { axis: 1 } },
          { op: 'LogSoftmax', inputs: ['x'], outputs: ['lsm'], attributes: { axis: 2 } },
          { op: 'ReduceSum', inputs: ['x', 'axes'], outputs: ['rs'], attributes: { keepdims: 0 } },
          { op: 'ReduceMax', inputs: ['x'], outputs: ['rm'], attributes: { axes: [0, 2] } },
          { op: 'LayerNormalization', inputs: ['x', 'w', 'w'], outputs: ['ln'], attributes: { axis: 2 } },
          { op: 'InstanceNormalization', inputs: ['x', 'c3', 'v3'], outputs: ['inorm'] },
          { op: 'BatchNormalization', inputs: ['x', 'c3', 'v3', 'c3', 'v3'], outputs: ['bn'], attributes: { epsilon: 0.01 } },
        ],
      });
    const { bits, rounded } = asHalf(scaled(2 * 60, 9, 3));
    const out = await runSim(model('float16'), { x: new Tensor('float16', bits, [2, 3, 4, 5]) }, { x: { min: [1, 3, 4, 5], opt: [2, 3, 4, 5], max: [4, 3, 4, 5] } });
    const expected = await runOrt(model('float32'), { x: { dtype: 'float32', data: rounded, dims: [2, 3, 4, 5] } });
    for (const name of ['sm', 'lsm', 'rs', 'rm', 'ln', 'inorm', 'bn']) {
      expect(out[name]!.dims, name).toEqual(expected[name]!.dims);
      expectClose(out[name]!.toFloat32(), expected[name]!.data, 2e-3, 2e-3);
    }
  });

  it('Pow with a float16 base and int64 exponent, and variadic Max/Min/Sum/Mean broadcasting three shapes', async () => {
    const model = (dtype: 'float32' | 'float16') =>
      makeModel({
        inputs: [
          { name: 'a', dtype, shape: [2, 1, 4] },
          { name: 'b', dtype, shape: [3, 1] },
          { name: 'c', dtype, shape: [4] },
        ],
        outputs: [
          { name: 'p', dtype, shape: [2, 1, 4] },
          ...['mx', 'mn', 'sum', 'mean'].map((name) => ({ name, dtype, shape: [2, 3, 4] })),
        ],
        initializers: [makeTensor('e', 'int64', [4], [0, 1, 2, 3])],
        nodes: [
          { op: 'Pow', inputs: ['a', 'e'], outputs: ['p'] },
          { op: 'Max', inputs: ['a', 'b', 'c'], outputs: ['mx'] },
          { op: 'Min', inputs: ['a', 'b', 'c'], outputs: ['mn'] },
          { op: 'Sum', inputs: ['a', 'b', 'c'], outputs: ['sum'] },
          { op: 'Mean', inputs: ['a', 'b', 'c'], outputs: ['mean'] },
        ] satisfies NodeSpec[],
      });
    const a = asHalf(scaled(8, 21, 3));
    const b = asHalf(scaled(3, 22, 3));
    const c = asHalf(scaled(4, 23, 3));
    const out = await runSim(model('float16'), {
      a: new Tensor('float16', a.bits, [2, 1, 4]),
      b: new Tensor('float16', b.bits, [3, 1]),
      c: new Tensor('float16', c.bits, [4]),
    });
    const expected = await runOrt(model('float32'), {
      a: { dtype: 'float32', data: a.rounded, dims: [2, 1, 4] },
      b: { dtype: 'float32', data: b.rounded, dims: [3, 1] },
      c: { dtype: 'float32', data: c.rounded, dims: [4] },
    });
    for (const name of ['p', 'mx', 'mn', 'sum', 'mean']) {
      expect(out[name]!.dims, name).toEqual(name === 'p' ? [2, 1, 4] : [2, 3, 4]);
      expectClose(out[name]!.toFloat32(), expected[name]!.data, 1e-3, 1e-4);
    }
  });
});

describe('sim math operators: opsets, dynamic axes, refusals', () => {
  it('runs the opset-10 forms: LogSoftmax coerced to 2-D, Clip bounds as attributes, ReduceMean axes attribute', async () => {
    const model = makeModel({
      opset: 10,
      inputs: [{ name: 'x', dtype: 'float32', shape: ['n', 3, 4] }],
      outputs: [
        { name: 'lsm', dtype: 'float32', shape: ['n', 3, 4] },
        { name: 'clip', dtype: 'float32', shape: ['n', 3, 4] },
        { name: 'mean', dtype: 'float32', shape: ['n', 4] },
      ],
      nodes: [
        { op: 'LogSoftmax', inputs: ['x'], outputs: ['lsm'], attributes: { axis: 1 } },
        { op: 'Clip', inputs: ['x'], outputs: ['clip'], attributes: { min: -0.25, max: 0.5 } },
        { op: 'ReduceMean', inputs: ['x'], outputs: ['mean'], attributes: { axes: [1], keepdims: 0 } },
      ],
    });
    const x = scaled(24, 31, 2);
    const out = await runSim(model, { x: new Tensor('float32', x, [2, 3, 4]) }, { x: { min: [1, 3, 4], opt: [2, 3, 4], max: [3, 3, 4] } });
    const expected = await runOrt(model, { x: { dtype: 'float32', data: x, dims: [2, 3, 4] } });
    for (const name of ['lsm', 'clip', 'mean']) {
      expect(out[name]!.dims).toEqual(expected[name]!.dims);
      expectClose(out[name]!.data as Float32Array, expected[name]!.data);
    }
  });

  it('reduces over axes that arrive only at run time (ReduceSum opset 13, keepdims=0)', async () => {
    const model = makeModel({
      opset: 13,
      inputs: [
        { name: 'x', dtype: 'float32', shape: [2, 3, 4] },
        { name: 'axes', dtype: 'int64', shape: [1] },
      ],
      outputs: [{ name: 'y', dtype: 'float32', shape: ['a', 'b'] }],
      nodes: [{ op: 'ReduceSum', inputs: ['x', 'axes'], outputs: ['y'], attributes: { keepdims: 0 } }],
    });
    const x = scaled(24, 41, 2);
    const engine = await buildEngine(model, { backend: 'sim' });
    using session = await InferenceSession.create(engine, { backend: 'sim' });
    for (const axis of [0, 1, -1]) {
      const out = await session.run({ x: new Tensor('float32', x, [2, 3, 4]), axes: new Tensor('int64', [BigInt(axis)], [1]) });
      const expected = await runOrt(model, { x: { dtype: 'float32', data: x, dims: [2, 3, 4] }, axes: { dtype: 'int64', data: BigInt64Array.of(BigInt(axis)), dims: [1] } });
      expect(out.y!.dims).toEqual(expected.y!.dims);
      expectClose(out.y!.data as Float32Array, expected.y!.data);
    }
  });

  it('treats ReduceMean axes as an input from opset 18, with noop_with_empty_axes', async () => {
    const model = makeModel({
      opset: 18,
      inputs: [{ name: 'x', dtype: 'float32', shape: [2, 3, 4] }],
      outputs: [
        { name: 'm', dtype: 'float32', shape: [1, 3, 1] },
        { name: 'same', dtype: 'float32', shape: [2, 3, 4] },
      ],
      initializers: [makeTensor('axes', 'int64', [2], [0, 2]), makeTensor('none', 'int64', [0], [])],
      nodes: [
        { op: 'ReduceMean', inputs: ['x', 'axes'], outputs: ['m'] },
        { op: 'ReduceMax', inputs: ['x', 'none'], outputs: ['same'], attributes: { noop_with_empty_axes: 1 } },
      ],
    });
    const x = scaled(24, 51, 2);
    const out = await runSim(model, { x: new Tensor('float32', x, [2, 3, 4]) });
    expect(out.m!.dims).toEqual([1, 3, 1]);
    expect(out.same!.dims).toEqual([2, 3, 4]);
    expect(Array.from(out.same!.data as Float32Array)).toEqual(Array.from(x));
    const expected = await runOrt(model, { x: { dtype: 'float32', data: x, dims: [2, 3, 4] } });
    expectClose(out.m!.data as Float32Array, expected.m!.data);
  });

  it('computes integer Pow exactly and Clip on int8 with input bounds', async () => {
    const model = makeModel({
      opset: 13,
      inputs: [
        { name: 'b', dtype: 'int64', shape: [4] },
        { name: 'e', dtype: 'int32', shape: [4] },
        { name: 'q', dtype: 'int8', shape: [4] },
      ],
      outputs: [
        { name: 'p', dtype: 'int64', shape: [4] },
        { name: 'c', dtype: 'int8', shape: [4] },
      ],
      initializers: [makeTensor('lo', 'int8', [], [-5]), makeTensor('hi', 'int8', [], [7])],
      nodes: [
        { op: 'Pow', inputs: ['b', 'e'], outputs: ['p'] },
        { op: 'Clip', inputs: ['q', 'lo', 'hi'], outputs: ['c'] },
      ],
    });
    const out = await runSim(model, {
      b: new Tensor('int64', [3n, -2n, 7n, 10n], [4]),
      e: new Tensor('int32', [39, 5, 0, 18], [4]),
      q: new Tensor('int8', [-128, -3, 100, 7], [4]),
    });
    // 3^39 and 10^18 are beyond float64's exact integers: only integer arithmetic gets them.
    expect(Array.from(out.p!.data as BigInt64Array)).toEqual([3n ** 39n, -32n, 1n, 10n ** 18n]);
    expect(Array.from(out.c!.data as Int8Array)).toEqual([-5, -3, 7, 7]);
  });

  it('refuses training-mode BatchNormalization when the engine is built', async () => {
    const model = makeModel({
      opset: 15,
      inputs: [{ name: 'x', dtype: 'float32', shape: [2, 3, 4] }],
      outputs: [
        { name: 'y', dtype: 'float32', shape: [2, 3, 4] },
        { name: 'rm', dtype: 'float32', shape: [3] },
        { name: 'rv', dtype: 'float32', shape: [3] },
      ],
      initializers: ['s', 'b', 'm', 'v'].map((n) => makeTensor(n, 'float32', [3], [1, 1, 1])),
      nodes: [{ op: 'BatchNormalization', inputs: ['x', 's', 'b', 'm', 'v'], outputs: ['y', 'rm', 'rv'], attributes: { training_mode: 1 } }],
    });
    await expect(buildEngine(model, { backend: 'sim' })).rejects.toThrow(/BatchNormalization.*training_mode=1 is not supported/);
  });

  it('refuses LayerNormalization with a stash_type other than float32', async () => {
    const model = makeModel({
      opset: 17,
      inputs: [{ name: 'x', dtype: 'float32', shape: [2, 4] }],
      outputs: [{ name: 'y', dtype: 'float32', shape: [2, 4] }],
      initializers: [makeTensor('w', 'float32', [4], [1, 1, 1, 1])],
      nodes: [{ op: 'LayerNormalization', inputs: ['x', 'w'], outputs: ['y'], attributes: { stash_type: 11 } }],
    });
    await expect(buildEngine(model, { backend: 'sim' })).rejects.toThrow(/stash_type=11 is not supported/);
  });

  it('names the ONNX element type an attribute asks for when TensorRT has no tensors of it, and refuses Cast to int4 when parsing', async () => {
    // ONNX TensorProto.DataType numbers (onnx.proto): 11 double, 4 uint16, 22 int4. The sim's
    // parser refuses the node, as TensorRT's does.
    const cast = (to: number) => makeModel({
      inputs: [{ name: 'x', dtype: 'float32', shape: [4] }],
      outputs: [{ name: 'y', dtype: 'float32', shape: [4] }],
      nodes: [{ op: 'Cast', inputs: ['x'], outputs: ['y'], attributes: { to } }],
    });
    await expect(buildEngine(cast(11), { backend: 'sim' })).rejects.toThrow(OnnxParseError);
    await expect(buildEngine(cast(11), { backend: 'sim' })).rejects.toThrow(/to=11 names double, an element type TensorRT has no tensors of/);
    await expect(buildEngine(cast(22), { backend: 'sim' })).rejects.toThrow(/Cast.*element type int4 is not supported/);
    const eyeLike = makeModel({
      inputs: [{ name: 'x', dtype: 'float32', shape: [2, 2] }],
      outputs: [{ name: 'y', dtype: 'float32', shape: [2, 2] }],
      nodes: [{ op: 'EyeLike', inputs: ['x'], outputs: ['y'], attributes: { dtype: 4 } }],
    });
    await expect(buildEngine(eyeLike, { backend: 'sim' })).rejects.toThrow(/dtype=4 \(uint16\) is not a type TensorRT has tensors of/);
  });
});
