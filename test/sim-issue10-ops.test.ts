// The newer operators on the sim, on what the ONNX node tests leave out:
// NonZero's data-dependent output length (-1 in the engine's metadata, set by each run),
// GroupNormalization and LpNormalization (no node test data in libonnx-testdata), float16, and
// build-time refusals. onnxruntime-node is the oracle; other expectations are worked by hand.
import { describe, expect, it } from 'vitest';

import { buildEngine, InferenceSession, Tensor } from '../lib/index.js';
import { float32ToFloat16 } from '../lib/dtype.js';
import { makeModel, makeTensor, type NodeSpec } from '../lib/onnx/model-builder.js';
import { randomFloats } from './fixtures/models.js';
import { expectClose, runOnnxRuntime } from './fixtures/oracle.js';

async function simSession(model: Uint8Array, shapes?: Record<string, number[]>) {
  const engine = await buildEngine(model, { backend: 'sim', ...(shapes && { shapes }) });
  return InferenceSession.create(engine, { backend: 'sim' });
}

function oneNode(node: NodeSpec, x: number[], y: (string | number)[], extra: { opset?: number; initializers?: ReturnType<typeof makeTensor>[] } = {}) {
  return makeModel({
    opset: extra.opset ?? 18,
    inputs: [{ name: 'x', dtype: 'float32', shape: x }],
    outputs: [{ name: 'y', dtype: 'float32', shape: y }],
    initializers: extra.initializers ?? [],
    nodes: [node],
  });
}

describe('NonZero: data-dependent output shape', () => {
  const model = makeModel({
    opset: 13,
    inputs: [{ name: 'x', dtype: 'float32', shape: [2, 3] }],
    outputs: [{ name: 'idx', dtype: 'int64', shape: [2, 'n'] }],
    nodes: [{ op: 'NonZero', inputs: ['x'], outputs: ['idx'] }],
  });

  it('reports the count as -1 and each run sets it from the data', async () => {
    using session = await simSession(model);
    expect(session.outputMetadata[0]!.shape).toEqual([2, -1]);
    const a = await session.run({ x: new Tensor('float32', new Float32Array([0, 1, 0, 2, 0, 3]), [2, 3]) });
    // Nonzeros at (0,1), (1,0), (1,2): rows then columns.
    expect(a.idx!.dims).toEqual([2, 3]);
    expect(Array.from(a.idx!.data as BigInt64Array, Number)).toEqual([0, 1, 1, 1, 0, 2]);
    const b = await session.run({ x: new Tensor('float32', new Float32Array(6), [2, 3]) });
    expect(b.idx!.dims).toEqual([2, 0]);
    const c = await session.run({ x: new Tensor('float32', new Float32Array([1, 1, 1, 1, 1, -0.5]), [2, 3]) });
    expect(c.idx!.dims).toEqual([2, 6]);
  });

  it('feeds later operators (Transpose, then a Gather of the coordinates)', async () => {
    const chain = makeModel({
      opset: 13,
      inputs: [{ name: 'x', dtype: 'float32', shape: ['r', 4] }],
      outputs: [{ name: 'y', dtype: 'float32', shape: ['k'] }],
      nodes: [
        { op: 'NonZero', inputs: ['x'], outputs: ['nz'] },
        { op: 'Transpose', inputs: ['nz'], outputs: ['pairs'], attributes: { perm: [1, 0] } },
        { op: 'GatherND', inputs: ['x', 'pairs'], outputs: ['y'] },
      ],
    });
    const engine = await buildEngine(chain, { backend: 'sim', profiles: [{ x: { min: [1, 4], opt: [2, 4], max: [4, 4] } }] });
    using session = await InferenceSession.create(engine, { backend: 'sim' });
    expect(session.outputMetadata[0]!.shape).toEqual([-1]);
    const out = await session.run({ x: new Tensor('float32', new Float32Array([0, 5, 0, 0, 7, 0, 0, 9]), [2, 4]) });
    expect(Array.from(out.y!.data as Float32Array)).toEqual([5, 7, 9]);
  });

  it('folds on a constant input to a static shape', async () => {
    const folded = makeModel({
      opset: 13,
      inputs: [{ name: 'x', dtype: 'float32', shape: [1] }],
      outputs: [{ name: 'idx', dtype: 'int64', shape: [1, 2] }],
      initializers: [makeTensor('c', 'int32', [4], [0, 3, 0, 4])],
      nodes: [{ op: 'NonZero', inputs: ['c'], outputs: ['idx'] }],
    });
    using session = await simSession(folded);
    expect(session.outputMetadata[0]!.shape).toEqual([1, 2]);
  });
});

describe('normalizations against onnxruntime', () => {
  const x = randomFloats(2 * 6 * 5, 11).map((v) => v * 3 + 1);

  it('GroupNormalization (opset 18, one scale per group)', async () => {
    const model = oneNode({ op: 'GroupNormalization', inputs: ['x', 's', 'b'], outputs: ['y'], attributes: { num_groups: 3, epsilon: 1e-3 } }, [2, 6, 5], [2, 6, 5], {
      initializers: [makeTensor('s', 'float32', [3], [0.5, 1, 2]), makeTensor('b', 'float32', [3], [0, -1, 0.25])],
    });
    const want = await runOnnxRuntime(model, { x: { data: x, dims: [2, 6, 5] } });
    using session = await simSession(model);
    const got = await session.run({ x: new Tensor('float32', x, [2, 6, 5]) });
    expectClose(got.y!.data as Float32Array, want.y!.data);
  });

  it('GroupNormalization (opset 21, one scale per channel), by arithmetic', async () => {
    // x = [[[1, 3], [5, 7]]]: one group of 4 values, mean 4, variance 5.
    const model = oneNode({ op: 'GroupNormalization', inputs: ['x', 's', 'b'], outputs: ['y'], attributes: { num_groups: 1, epsilon: 0 } }, [1, 2, 2], [1, 2, 2], {
      opset: 21,
      initializers: [makeTensor('s', 'float32', [2], [1, 2]), makeTensor('b', 'float32', [2], [0, 10])],
    });
    using session = await simSession(model);
    const got = await session.run({ x: new Tensor('float32', new Float32Array([1, 3, 5, 7]), [1, 2, 2]) });
    const r = Math.sqrt(5);
    expectClose(got.y!.data as Float32Array, [-3 / r, -1 / r, 2 / r + 10, (2 * 3) / r + 10]);
  });

  for (const p of [1, 2]) {
    for (const axis of [0, 1, -1]) {
      it(`LpNormalization p=${p} axis=${axis}`, async () => {
        const model = oneNode({ op: 'LpNormalization', inputs: ['x'], outputs: ['y'], attributes: { p, axis } }, [2, 6, 5], [2, 6, 5]);
        const want = await runOnnxRuntime(model, { x: { data: x, dims: [2, 6, 5] } });
        using session = await simSession(model);
        const got = await session.run({ x: new Tensor('float32', x, [2, 6, 5]) });
        expectClose(got.y!.data as Float32Array, want.y!.data);
      });
    }
  }

  it('MeanVarianceNormalization over custom axes', async () => {
    const model = oneNode({ op: 'MeanVarianceNormalization', inputs: ['x'], outputs: ['y'], attributes: { axes: [1, 2] } }, [2, 6, 5], [2, 6, 5], { opset: 13 });
    const want = await runOnnxRuntime(model, { x: { data: x, dims: [2, 6, 5] } });
    using session = await simSession(model);
    const got = await session.run({ x: new Tensor('float32', x, [2, 6, 5]) });
    expectClose(got.y!.data as Float32Array, want.y!.data);
  });

  it('refuses LpNormalization p=3 and a GroupNormalization whose groups do not divide the channels', async () => {
    await expect(buildEngine(oneNode({ op: 'LpNormalization', inputs: ['x'], outputs: ['y'], attributes: { p: 3 } }, [2, 3], [2, 3]), { backend: 'sim' })).rejects.toThrow(/p must be 1 or 2/);
    const bad = oneNode({ op: 'GroupNormalization', inputs: ['x', 's', 'b'], outputs: ['y'], attributes: { num_groups: 4 } }, [1, 6, 2], [1, 6, 2], {
      initializers: [makeTensor('s', 'float32', [4], [1, 1, 1, 1]), makeTensor('b', 'float32', [4], [0, 0, 0, 0])],
    });
    await expect(buildEngine(bad, { backend: 'sim' })).rejects.toThrow(/multiple of num_groups/);
  });
});

describe('Einsum against onnxruntime', () => {
  const cases: [string, number[][]][] = [
    ['bij,bjk->bik', [[2, 3, 4], [2, 4, 5]]],
    ['ij->ji', [[3, 4]]],
    ['ij->i', [[3, 4]]],
    ['i,i', [[5], [5]]],
    ['ij,jk', [[3, 4], [4, 2]]],
    ['bhqd,bhkd->bhqk', [[1, 2, 3, 4], [1, 2, 5, 4]]],
    ['i,j->ij', [[3], [4]]],
    ['abc,cd,de->ae', [[2, 3, 4], [4, 2], [2, 3]]],
    ['Ab,bA', [[3, 2], [2, 3]]],
  ];
  for (const [equation, shapes] of cases) {
    it(equation, async () => {
      const names = shapes.map((_, i) => `x${i}`);
      const model = makeModel({
        opset: 13,
        inputs: shapes.map((shape, i) => ({ name: names[i]!, dtype: 'float32' as const, shape })),
        outputs: [{ name: 'y', dtype: 'float32', shape: [] }],
        nodes: [{ op: 'Einsum', inputs: names, outputs: ['y'], attributes: { equation } }],
      });
      const data = shapes.map((s, i) => randomFloats(s.reduce((a, b) => a * b, 1), 20 + i));
      const want = await runOnnxRuntime(model, Object.fromEntries(names.map((n, i) => [n, { data: data[i]!, dims: shapes[i]! }])));
      using session = await simSession(model);
      const got = await session.run(Object.fromEntries(names.map((n, i) => [n, new Tensor('float32', data[i]!, shapes[i]!)])));
      expect(got.y!.dims).toEqual(want.y!.dims);
      expectClose(got.y!.data as Float32Array, want.y!.data);
    });
  }

  it('refuses what TensorRT refuses: ellipsis, diagonals, broadcasting', async () => {
    const model = (equation: string, shapes: number[][]) =>
      makeModel({
        opset: 13,
        inputs: shapes.map((shape, i) => ({ name: `x${i}`, dtype: 'float32' as const, shape })),
        outputs: [{ name: 'y', dtype: 'float32', shape: [] }],
        nodes: [{ op: 'Einsum', inputs: shapes.map((_, i) => `x${i}`), outputs: ['y'], attributes: { equation } }],
      });
    await expect(buildEngine(model('...ij->...ji', [[2, 3, 4]]), { backend: 'sim' })).rejects.toThrow(/ellipsis/);
    await expect(buildEngine(model('ii->i', [[3, 3]]), { backend: 'sim' })).rejects.toThrow(/diagonal/);
    await expect(buildEngine(model('ij,jk->ik', [[2, 3], [1, 4]]), { backend: 'sim' })).rejects.toThrow(/does not broadcast/);
  });
});

describe('GRU and RNN against onnxruntime', () => {
  const seq = 4, batch = 3, input = 5, hidden = 3;
  type Variant = { op: 'GRU' | 'RNN'; direction: string; attrs?: Record<string, number | string | { strings: string[] } | { floats: number[] }>; lens?: boolean; h0?: boolean };
  const variants: Variant[] = [
    { op: 'GRU', direction: 'forward' },
    { op: 'GRU', direction: 'reverse', attrs: { linear_before_reset: 1 }, h0: true },
    { op: 'GRU', direction: 'bidirectional', lens: true, h0: true },
    { op: 'GRU', direction: 'bidirectional', attrs: { linear_before_reset: 1, clip: 0.5 }, lens: true },
    { op: 'GRU', direction: 'forward', attrs: { activations: { strings: ['HardSigmoid', 'ScaledTanh'] }, activation_alpha: { floats: [0.3, 0.8] }, activation_beta: { floats: [0.4, 1.2] } } },
    { op: 'RNN', direction: 'forward', h0: true },
    { op: 'RNN', direction: 'reverse', lens: true },
    { op: 'RNN', direction: 'bidirectional', attrs: { activations: { strings: ['Relu', 'Relu'] } }, lens: true, h0: true },
  ];
  for (const v of variants) {
    it(`${v.op} ${v.direction} ${JSON.stringify(v.attrs ?? {})}${v.lens ? ' sequence_lens' : ''}${v.h0 ? ' initial_h' : ''}`, async () => {
      const dirs = v.direction === 'bidirectional' ? 2 : 1;
      const gates = v.op === 'GRU' ? 3 : 1;
      const inits = [
        makeTensor('W', 'float32', [dirs, gates * hidden, input], Array.from(randomFloats(dirs * gates * hidden * input, 3))),
        makeTensor('R', 'float32', [dirs, gates * hidden, hidden], Array.from(randomFloats(dirs * gates * hidden * hidden, 4))),
        makeTensor('B', 'float32', [dirs, 2 * gates * hidden], Array.from(randomFloats(dirs * 2 * gates * hidden, 5))),
        makeTensor('L', 'int32', [batch], [4, 2, 3]),
        makeTensor('H0', 'float32', [dirs, batch, hidden], Array.from(randomFloats(dirs * batch * hidden, 6))),
      ];
      const model = makeModel({
        opset: 14,
        inputs: [{ name: 'x', dtype: 'float32', shape: [seq, batch, input] }],
        outputs: [
          { name: 'y', dtype: 'float32', shape: [seq, dirs, batch, hidden] },
          { name: 'yh', dtype: 'float32', shape: [dirs, batch, hidden] },
        ],
        initializers: inits,
        nodes: [{ op: v.op, inputs: ['x', 'W', 'R', 'B', v.lens ? 'L' : '', v.h0 ? 'H0' : ''], outputs: ['y', 'yh'], attributes: { hidden_size: hidden, direction: v.direction, ...v.attrs } }],
      });
      const x = randomFloats(seq * batch * input, 7);
      const want = await runOnnxRuntime(model, { x: { data: x, dims: [seq, batch, input] } });
      using session = await simSession(model);
      const got = await session.run({ x: new Tensor('float32', x, [seq, batch, input]) });
      expectClose(got.y!.data as Float32Array, want.y!.data);
      expectClose(got.yh!.data as Float32Array, want.yh!.data);
    });
  }
});

describe('RandomNormal, RandomUniform and their Like forms', () => {
  const model = (op: string, attributes: Record<string, number | number[] | { floats: number[] }>, like = false) =>
    makeModel({
      opset: 13,
      inputs: [{ name: 'x', dtype: 'float32', shape: [100, 50] }],
      outputs: [{ name: 'y', dtype: 'float32', shape: [100, 50] }, { name: 'z', dtype: 'float32', shape: [100, 50] }],
      nodes: [
        like ? { op, inputs: ['x'], outputs: ['r'], attributes } : { op, inputs: [], outputs: ['r'], attributes: { shape: [100, 50], ...attributes } },
        { op: 'Identity', inputs: ['r'], outputs: ['y'] },
        { op: 'Add', inputs: ['x', 'r'], outputs: ['z'] },
      ],
    });
  const x = new Tensor('float32', new Float32Array(5000), [100, 50]);
  const stats = (v: Float32Array) => {
    const mean = v.reduce((a, b) => a + b, 0) / v.length;
    const sd = Math.sqrt(v.reduce((a, b) => a + (b - mean) ** 2, 0) / v.length);
    return { mean, sd, min: Math.min(...v), max: Math.max(...v) };
  };

  for (const op of ['RandomNormal', 'RandomUniform', 'RandomNormalLike', 'RandomUniformLike']) {
    it(`${op}: seeded is the same on every run and engine, unseeded differs per run`, async () => {
      const like = op.endsWith('Like');
      using a = await simSession(model(op, { seed: { floats: [3] } }, like));
      using b = await simSession(model(op, { seed: { floats: [3] } }, like));
      const a1 = (await a.run({ x })).y!.data as Float32Array;
      const a2 = (await a.run({ x })).y!.data as Float32Array;
      const b1 = (await b.run({ x })).y!.data as Float32Array;
      expect(a2).toEqual(a1);
      expect(b1).toEqual(a1);
      using c = await simSession(model(op, { seed: { floats: [4] } }, like));
      expect((await c.run({ x })).y!.data).not.toEqual(a1);
      using u = await simSession(model(op, {}, like));
      const u1 = (await u.run({ x })).y!.data as Float32Array;
      const u2 = (await u.run({ x })).y!.data as Float32Array;
      expect(u2).not.toEqual(u1);
    });
  }

  it('RandomNormal has the requested mean and scale; RandomUniform stays in [low, high)', async () => {
    using n = await simSession(model('RandomNormal', { mean: { floats: [2] }, scale: { floats: [0.5] }, seed: { floats: [1] } }));
    const s = stats((await n.run({ x })).y!.data as Float32Array);
    expect(Math.abs(s.mean - 2)).toBeLessThan(0.03);
    expect(Math.abs(s.sd - 0.5)).toBeLessThan(0.03);
    using u = await simSession(model('RandomUniform', { low: { floats: [-3] }, high: { floats: [5] } }));
    const t = stats((await u.run({ x })).y!.data as Float32Array);
    expect(t.min).toBeGreaterThanOrEqual(-3);
    expect(t.max).toBeLessThan(5);
    expect(Math.abs(t.mean - 1)).toBeLessThan(0.25);
  });

  it('dtype float16 rounds every value; int dtypes are refused', async () => {
    const half = makeModel({
      opset: 13,
      inputs: [],
      outputs: [{ name: 'y', dtype: 'float16', shape: [4] }],
      nodes: [{ op: 'RandomUniform', inputs: [], outputs: ['y'], attributes: { shape: [4], dtype: 10, seed: { floats: [2] } } }],
    });
    using h = await simSession(half);
    expect((await h.run({})).y!.dtype).toBe('float16');
    const bad = makeModel({
      opset: 13,
      inputs: [],
      outputs: [{ name: 'y', dtype: 'int32', shape: [4] }],
      nodes: [{ op: 'RandomUniform', inputs: [], outputs: ['y'], attributes: { shape: [4], dtype: 6 } }],
    });
    await expect(buildEngine(bad, { backend: 'sim' })).rejects.toThrow(/dtype=6 \(int32\) is not supported/);
    // The message quotes the model's attribute, so it names the type as ONNX does (FLOAT8E4M3FN),
    // not as this library does (float8e4m3).
    const fp8 = makeModel({
      opset: 13,
      inputs: [],
      outputs: [{ name: 'y', dtype: 'float32', shape: [4] }],
      nodes: [{ op: 'RandomUniform', inputs: [], outputs: ['y'], attributes: { shape: [4], dtype: 17 } }],
    });
    await expect(buildEngine(fp8, { backend: 'sim' })).rejects.toThrow(/dtype=17 \(float8e4m3fn\) is not supported/);
  });
});

describe('LpPool and GlobalLpPool against onnxruntime', () => {
  const x = randomFloats(2 * 3 * 7 * 6, 31).map((v) => v * 2 - 0.5);
  const cases: [string, Record<string, number | number[] | string>, number][] = [
    ['LpPool', { kernel_shape: [3, 3], p: 2 }, 11],
    ['LpPool', { kernel_shape: [2, 3], p: 1, strides: [2, 1], pads: [1, 0, 1, 1] }, 11],
    ['LpPool', { kernel_shape: [3, 2], p: 3, auto_pad: 'SAME_UPPER' }, 11],
    ['LpPool', { kernel_shape: [2, 2], p: 2, strides: [2, 2], ceil_mode: 1, dilations: [1, 2] }, 18],
    ['GlobalLpPool', { p: 2 }, 11],
    ['GlobalLpPool', { p: 3 }, 11],
  ];
  for (const [op, attributes, opset] of cases) {
    it(`${op} ${JSON.stringify(attributes)}`, async () => {
      const model = makeModel({
        opset,
        inputs: [{ name: 'x', dtype: 'float32', shape: [2, 3, 7, 6] }],
        outputs: [{ name: 'y', dtype: 'float32', shape: [] }],
        nodes: [{ op, inputs: ['x'], outputs: ['y'], attributes }],
      });
      const want = await runOnnxRuntime(model, { x: { data: x, dims: [2, 3, 7, 6] } });
      using session = await simSession(model);
      const got = await session.run({ x: new Tensor('float32', x, [2, 3, 7, 6]) });
      expect(got.y!.dims).toEqual(want.y!.dims);
      expectClose(got.y!.data as Float32Array, want.y!.data);
    });
  }
});

describe('RoiAlign and GridSample against onnxruntime', () => {
  const x = randomFloats(2 * 3 * 8 * 9, 41);
  const rois = new Float32Array([0, 0, 8, 7, 1.5, 2.25, 6.5, 7.75, -2, -1, 3, 4, 4, 4, 4.5, 4.2]);
  const roiCases: [number, Record<string, number | string | { floats: number[] }>][] = [
    [16, { output_height: 3, output_width: 2, sampling_ratio: 2, spatial_scale: { floats: [1] } }],
    [16, { output_height: 2, output_width: 4, sampling_ratio: 0, spatial_scale: { floats: [0.5] } }],
    [16, { output_height: 3, output_width: 3, mode: 'max', sampling_ratio: 2 }],
    [10, { output_height: 2, output_width: 2, sampling_ratio: 0 }],
    [16, { output_height: 2, output_width: 2, coordinate_transformation_mode: 'output_half_pixel' }],
  ];
  for (const [opset, attributes] of roiCases) {
    it(`RoiAlign opset ${opset} ${JSON.stringify(attributes)}`, async () => {
      const model = makeModel({
        opset,
        inputs: [{ name: 'x', dtype: 'float32', shape: [2, 3, 8, 9] }, { name: 'rois', dtype: 'float32', shape: [4, 4] }],
        outputs: [{ name: 'y', dtype: 'float32', shape: [] }],
        initializers: [makeTensor('bi', 'int64', [4], [0n, 1n, 1n, 0n])],
        nodes: [{ op: 'RoiAlign', inputs: ['x', 'rois', 'bi'], outputs: ['y'], attributes }],
      });
      const want = await runOnnxRuntime(model, { x: { data: x, dims: [2, 3, 8, 9] }, rois: { data: rois, dims: [4, 4] } });
      using session = await simSession(model);
      const got = await session.run({ x: new Tensor('float32', x, [2, 3, 8, 9]), rois: new Tensor('float32', rois, [4, 4]) });
      expect(got.y!.dims).toEqual(want.y!.dims);
      expectClose(got.y!.data as Float32Array, want.y!.data);
    });
  }

  it('RoiAlign refuses a batch index outside the batch at run time', async () => {
    const model = makeModel({
      opset: 16,
      inputs: [{ name: 'x', dtype: 'float32', shape: [1, 1, 4, 4] }, { name: 'rois', dtype: 'float32', shape: [1, 4] }, { name: 'bi', dtype: 'int64', shape: [1] }],
      outputs: [{ name: 'y', dtype: 'float32', shape: [1, 1, 1, 1] }],
      nodes: [{ op: 'RoiAlign', inputs: ['x', 'rois', 'bi'], outputs: ['y'] }],
    });
    using session = await simSession(model);
    await expect(
      session.run({ x: new Tensor('float32', new Float32Array(16), [1, 1, 4, 4]), rois: new Tensor('float32', new Float32Array(4), [1, 4]), bi: new Tensor('int64', new BigInt64Array([3n]), [1]) }),
    ).rejects.toThrow(/batch_indices\[0\] is 3/);
  });

  const grid = randomFloats(2 * 5 * 4 * 2, 43).map((v) => v * 2.6 - 1.3);
  for (const mode of ['bilinear', 'nearest', 'bicubic'])
    for (const padding_mode of ['zeros', 'border', 'reflection'])
      for (const align_corners of [0, 1])
        it(`GridSample ${mode} ${padding_mode} align_corners=${align_corners}`, async () => {
          const model = makeModel({
            opset: 16,
            inputs: [{ name: 'x', dtype: 'float32', shape: [2, 3, 8, 9] }, { name: 'g', dtype: 'float32', shape: [2, 5, 4, 2] }],
            outputs: [{ name: 'y', dtype: 'float32', shape: [2, 3, 5, 4] }],
            nodes: [{ op: 'GridSample', inputs: ['x', 'g'], outputs: ['y'], attributes: { mode, padding_mode, align_corners } }],
          });
          const want = await runOnnxRuntime(model, { x: { data: x, dims: [2, 3, 8, 9] }, g: { data: grid, dims: [2, 5, 4, 2] } });
          using session = await simSession(model);
          const got = await session.run({ x: new Tensor('float32', x, [2, 3, 8, 9]), g: new Tensor('float32', grid, [2, 5, 4, 2]) });
          expectClose(got.y!.data as Float32Array, want.y!.data);
        });
});

describe('NonMaxSuppression: data-dependent output shape', () => {
  it('reports [-1, 3] and each run selects from its own boxes', async () => {
    const model = makeModel({
      opset: 11,
      inputs: [{ name: 'boxes', dtype: 'float32', shape: [1, 'n', 4] }, { name: 'scores', dtype: 'float32', shape: [1, 1, 'n'] }],
      outputs: [{ name: 'sel', dtype: 'int64', shape: ['k', 3] }],
      initializers: [makeTensor('max', 'int64', [1], [10n]), makeTensor('iou', 'float32', [1], [0.5]), makeTensor('st', 'float32', [1], [0.1])],
      nodes: [{ op: 'NonMaxSuppression', inputs: ['boxes', 'scores', 'max', 'iou', 'st'], outputs: ['sel'] }],
    });
    const engine = await buildEngine(model, { backend: 'sim', profiles: [{ boxes: { min: [1, 1, 4], opt: [1, 3, 4], max: [1, 8, 4] }, scores: { min: [1, 1, 1], opt: [1, 1, 3], max: [1, 1, 8] } }] });
    using session = await InferenceSession.create(engine, { backend: 'sim' });
    expect(session.outputMetadata[0]!.shape).toEqual([-1, 3]);
    // Boxes 0 and 1 overlap (IoU 0.81 > 0.5): 1 scores higher, so 0 goes; 2 is apart; 3 scores under the threshold.
    const boxes = new Float32Array([0, 0, 1, 1, 0, 0, 0.9, 0.9, 5, 5, 6, 6, 9, 9, 10, 10]);
    const out = await session.run({ boxes: new Tensor('float32', boxes, [1, 4, 4]), scores: new Tensor('float32', new Float32Array([0.6, 0.9, 0.7, 0.05]), [1, 1, 4]) });
    expect(out.sel!.dims).toEqual([2, 3]);
    expect(Array.from(out.sel!.data as BigInt64Array, Number)).toEqual([0, 0, 1, 0, 0, 2]);
    const one = await session.run({ boxes: new Tensor('float32', boxes.slice(0, 4), [1, 1, 4]), scores: new Tensor('float32', new Float32Array([0.5]), [1, 1, 1]) });
    expect(one.sel!.dims).toEqual([1, 3]);
  });
});

describe('DeformConv against onnxruntime', () => {
  const cases: { name: string; x: number[]; w: number[]; attrs: Record<string, number | number[]>; mask: boolean; bias: boolean }[] = [
    { name: 'plain 3x3', x: [1, 2, 6, 7], w: [3, 2, 3, 3], attrs: {}, mask: false, bias: false },
    { name: 'pads, stride, bias, mask', x: [2, 2, 6, 7], w: [4, 2, 3, 3], attrs: { pads: [1, 1, 1, 1], strides: [2, 1] }, mask: true, bias: true },
    { name: 'groups, offset groups, dilation', x: [1, 4, 7, 7], w: [4, 2, 2, 2], attrs: { group: 2, offset_group: 2, dilations: [2, 1] }, mask: true, bias: false },
  ];
  for (const c of cases) {
    it(c.name, async () => {
      const g = (c.attrs.offset_group as number | undefined) ?? 1;
      const k = c.w[2]! * c.w[3]!;
      const st = (c.attrs.strides as number[] | undefined) ?? [1, 1];
      const p = (c.attrs.pads as number[] | undefined) ?? [0, 0, 0, 0];
      const d = (c.attrs.dilations as number[] | undefined) ?? [1, 1];
      const oh = Math.floor((c.x[2]! + p[0]! + p[2]! - d[0]! * (c.w[2]! - 1) - 1) / st[0]!) + 1;
      const ow = Math.floor((c.x[3]! + p[1]! + p[3]! - d[1]! * (c.w[3]! - 1) - 1) / st[1]!) + 1;
      const shapes: Record<string, number[]> = { x: c.x, w: c.w, off: [c.x[0]!, g * 2 * k, oh, ow], b: [c.w[0]!], m: [c.x[0]!, g * k, oh, ow] };
      const names = ['x', 'w', 'off', ...(c.bias || c.mask ? [c.bias ? 'b' : ''] : []), ...(c.mask ? ['m'] : [])];
      const used = names.filter((n) => n);
      const model = makeModel({
        opset: 19,
        inputs: used.map((n) => ({ name: n, dtype: 'float32' as const, shape: shapes[n]! })),
        outputs: [{ name: 'y', dtype: 'float32', shape: [] }],
        nodes: [{ op: 'DeformConv', inputs: names, outputs: ['y'], attributes: c.attrs }],
      });
      const size = (s: number[]) => s.reduce((a, b) => a * b, 1);
      const data: Record<string, Float32Array> = Object.fromEntries(used.map((n, i) => [n, randomFloats(size(shapes[n]!), 50 + i).map((v) => (n === 'off' ? v * 3 - 1.5 : v))]));
      const want = await runOnnxRuntime(model, Object.fromEntries(used.map((n) => [n, { data: data[n]!, dims: shapes[n]! }])));
      using session = await simSession(model);
      const got = await session.run(Object.fromEntries(used.map((n) => [n, new Tensor('float32', data[n]!, shapes[n]!)])));
      expect(got.y!.dims).toEqual(want.y!.dims);
      expectClose(got.y!.data as Float32Array, want.y!.data);
    });
  }
});

describe('float16: computed in float32, rounded once at the output (onnxruntime float32 on the same rounded inputs)', () => {
  const half = (v: Float32Array) => {
    const bits = float32ToFloat16(v);
    return { bits, rounded: new Tensor('float16', bits, [bits.length]).toFloat32() };
  };
  type Case = { op: string; inputs: [string, number[]][]; attrs?: Record<string, number | number[] | string>; consts?: (dtype: 'float32' | 'float16') => ReturnType<typeof makeTensor>[]; nodeInputs?: string[]; opset?: number };
  const cases: Case[] = [
    { op: 'Hardmax', inputs: [['x', [3, 7]]], opset: 13 },
    { op: 'LpNormalization', inputs: [['x', [3, 7]]], attrs: { p: 2, axis: 1 } },
    { op: 'MeanVarianceNormalization', inputs: [['x', [2, 3, 4, 5]]], opset: 13 },
    { op: 'Einsum', inputs: [['x', [2, 3, 4]], ['z', [2, 4, 5]]], attrs: { equation: 'bij,bjk->bik' }, opset: 13 },
    { op: 'LpPool', inputs: [['x', [1, 2, 6, 6]]], attrs: { kernel_shape: [2, 2], p: 2 }, opset: 11 },
    { op: 'GlobalLpPool', inputs: [['x', [1, 2, 6, 6]]], attrs: { p: 2 }, opset: 11 },
    { op: 'GridSample', inputs: [['x', [1, 2, 6, 6]], ['z', [1, 3, 3, 2]]], attrs: { mode: 'bilinear' }, opset: 16 },
    { op: 'ReverseSequence', inputs: [['x', [4, 2, 3]]], consts: () => [makeTensor('lens', 'int64', [2], [3n, 4n])], nodeInputs: ['x', 'lens'], opset: 10 },
  ];
  for (const c of cases) {
    it(c.op, async () => {
      const model = (dtype: 'float32' | 'float16') =>
        makeModel({
          opset: c.opset ?? 18,
          inputs: c.inputs.map(([name, shape]) => ({ name, dtype, shape })),
          outputs: [{ name: 'y', dtype, shape: [] }],
          initializers: c.consts?.(dtype) ?? [],
          nodes: [{ op: c.op, inputs: c.nodeInputs ?? c.inputs.map(([n]) => n), outputs: ['y'], attributes: c.attrs ?? {} }],
        });
      const data = c.inputs.map(([, shape], i) => half(randomFloats(shape.reduce((a, b) => a * b, 1), 70 + i).map((v) => v * 2 - 1)));
      const want = await runOnnxRuntime(model('float32'), Object.fromEntries(c.inputs.map(([n, shape], i) => [n, { data: data[i]!.rounded, dims: shape }])));
      using session = await simSession(model('float16'));
      const got = await session.run(Object.fromEntries(c.inputs.map(([n, shape], i) => [n, new Tensor('float16', data[i]!.bits, shape)])));
      expect(got.y!.dtype).toBe('float16');
      // The float32 result rounded to float16: within half a float16 ulp (2^-11 relative).
      expectClose(got.y!.toFloat32(), half(want.y!.data).rounded, 1e-3, 1e-4);
    });
  }
});

describe('hostile attributes and data on the new operators: typed errors, no allocation', () => {
  it('RandomNormal with a huge or overflowing shape is refused before anything is allocated', async () => {
    const model = (shape: number[] | bigint[]) =>
      makeModel({
        opset: 13,
        inputs: [],
        outputs: [{ name: 'y', dtype: 'float32', shape: [] }],
        nodes: [{ op: 'RandomNormal', inputs: [], outputs: ['y'], attributes: { shape } }],
      });
    await expect(buildEngine(model([1_000_000, 1_000_000]), { backend: 'sim' })).rejects.toThrow(/maxTensorBytes/);
    await expect(buildEngine(model([2n ** 62n, 2n ** 62n]), { backend: 'sim' })).rejects.toThrow(/overflows/);
  });

  it('RoiAlign with an adaptive grid over an enormous roi fails the run instead of sampling for hours', async () => {
    const model = makeModel({
      opset: 16,
      inputs: [{ name: 'x', dtype: 'float32', shape: [1, 1, 4, 4] }, { name: 'rois', dtype: 'float32', shape: [1, 4] }],
      outputs: [{ name: 'y', dtype: 'float32', shape: [1, 1, 1, 1] }],
      initializers: [makeTensor('bi', 'int64', [1], [0n])],
      nodes: [{ op: 'RoiAlign', inputs: ['x', 'rois', 'bi'], outputs: ['y'] }],
    });
    using session = await simSession(model);
    const rois = new Tensor('float32', new Float32Array([0, 0, 1e30, 1e30]), [1, 4]);
    await expect(session.run({ x: new Tensor('float32', new Float32Array(16), [1, 1, 4, 4]), rois })).rejects.toThrow(/samples per bin/);
  });

  it('ReverseSequence refuses lengths past the time axis; GRU refuses a sequence length past X', async () => {
    const rs = makeModel({
      opset: 10,
      inputs: [{ name: 'x', dtype: 'float32', shape: [3, 2] }, { name: 'lens', dtype: 'int64', shape: [2] }],
      outputs: [{ name: 'y', dtype: 'float32', shape: [3, 2] }],
      nodes: [{ op: 'ReverseSequence', inputs: ['x', 'lens'], outputs: ['y'] }],
    });
    using session = await simSession(rs);
    await expect(session.run({ x: new Tensor('float32', new Float32Array(6), [3, 2]), lens: new Tensor('int64', new BigInt64Array([1n, 99n]), [2]) })).rejects.toThrow(/sequence_lens\[1\] is 99/);
  });

  it('NonZero on a graph input that is all nonzero sizes its output from the data, within maxTensorBytes', async () => {
    const model = makeModel({
      opset: 13,
      inputs: [{ name: 'x', dtype: 'uint8', shape: [64, 64] }],
      outputs: [{ name: 'idx', dtype: 'int64', shape: [2, 'n'] }],
      nodes: [{ op: 'NonZero', inputs: ['x'], outputs: ['idx'] }],
    });
    const engine = await buildEngine(model, { backend: 'sim', maxTensorBytes: 32 * 1024 });
    using session = await InferenceSession.create(engine, { backend: 'sim', maxTensorBytes: 32 * 1024 });
    // 4096 nonzeros need 2 * 4096 * 8 = 64 KiB of int64 coordinates, past the 32 KiB limit.
    await expect(session.run({ x: new Tensor('uint8', new Uint8Array(4096).fill(1), [64, 64]) })).rejects.toThrow(/maxTensorBytes/);
    const sparse = new Uint8Array(4096);
    sparse[5] = 1;
    expect((await session.run({ x: new Tensor('uint8', sparse, [64, 64]) })).idx!.dims).toEqual([2, 1]);
  });
});
