// Widening a float16 model to float32 (widen-float16.ts) and quantizeInt8 on such a model. The
// models here compute in float16 the way exported half-precision networks do: float16 weights,
// Casts to float16 behind float32 inputs, float32 islands behind Casts (a Resize), Constants,
// ConstantOfShape, CastLike, EyeLike, and If/Loop bodies with float16 state, initializers and
// outer-scope reads. The reference is onnxruntime-node running the float16 model itself. The
// widened model keeps the same graph without the float16 roundings between ops, so it must
// match within float16 tolerance: |wide - half| <= atol + rtol * |half| with rtol = 1e-2,
// atol = 1e-3 * max(1, max |half|) (float16 keeps 11 significant bits, ~5e-4 relative per
// rounding; a few roundings per value, no amplification in these small nets). The widened
// weights must be the float16 values exactly (every float16 is a float32).
import { clone, create } from '@bufbuild/protobuf';
import * as ort from 'onnxruntime-node';
import { TensorProto_DataType, TypeProtoSchema, ValueInfoProtoSchema, type GraphProto, type ModelProto } from 'onnx-buf';
import { describe, expect, it } from 'vitest';

import { float16ToFloat32, float32ToFloat16 } from '../lib/dtype.js';
import { buildEngine, InferenceSession, Logger, Tensor } from '../lib/index.js';
import { makeModel, makeTensor, type GraphSpec, type NodeSpec, type ValueSpec } from '../lib/onnx/model-builder.js';
import { parseModel, writeModel } from '../lib/onnx/model-io.js';
import { tensorToArray } from '../lib/onnx/tensor-data.js';
import { inferElemTypes, valueInfoElemType } from '../lib/onnx/value-types.js';
import { forEachGraph } from '../lib/onnx/walk.js';
import { quantizeInt8WithReport } from '../lib/precision/int8.js';
import { widenFloat16 } from '../lib/precision/widen-float16.js';
import { randomFloats } from './fixtures/models.js';
import { expectClose } from './fixtures/oracle.js';
import { cosine } from './fixtures/cosine.js';

const F32 = TensorProto_DataType.FLOAT;
const F16 = TensorProto_DataType.FLOAT16;

const half = (values: ArrayLike<number>) => float32ToFloat16(values);
const spec = (name: string, dtype: ValueSpec['dtype'], shape: (number | string)[]): ValueSpec => ({ name, dtype, shape });

type Feeds = Record<string, ort.Tensor>;
type Outputs = Record<string, Float32Array>;

/** Runs a model on onnxruntime-node; float16 outputs come back as their float32 values. */
async function runOrt(model: Uint8Array, feeds: Feeds): Promise<Outputs> {
  const session = await ort.InferenceSession.create(model, { intraOpNumThreads: 1, interOpNumThreads: 1, logSeverityLevel: 3 });
  try {
    const out = await session.run(feeds);
    return Object.fromEntries(
      Object.entries(out).map(([k, v]) => [k, v.type === 'float16' ? float16ToFloat32(v.data as Uint16Array) : Float32Array.from(v.data as Float32Array)]),
    );
  } finally {
    await session.release();
  }
}

function expectWithinHalf(actual: Outputs, reference: Outputs): void {
  expect(Object.keys(actual).sort()).toEqual(Object.keys(reference).sort());
  for (const [name, ref] of Object.entries(reference)) {
    const scale = Math.max(1, ...Array.from(ref, Math.abs));
    expectClose(actual[name]!, ref, 1e-2, 1e-3 * scale);
  }
}

/** Element types the model declares for its inputs and outputs, by name. */
function ioTypes(model: ModelProto): Record<string, number | undefined> {
  const g = model.graph!;
  return Object.fromEntries([...g.input, ...g.output].map((v) => [v.name, valueInfoElemType(v)]));
}

/** Every float16 thing left anywhere in a model: tensors, declared types, values the graphs compute. */
function float16Left(model: ModelProto): string[] {
  const left: string[] = [];
  forEachGraph(model.graph!, (g: GraphProto) => {
    for (const t of g.initializer) if (t.dataType === F16) left.push(`initializer ${t.name}`);
    for (const n of g.node) for (const a of n.attribute) if (a.t?.dataType === F16) left.push(`attribute ${a.name} of ${n.opType}`);
    for (const v of [...g.input, ...g.output, ...g.valueInfo]) if (valueInfoElemType(v) === F16) left.push(`declared ${v.name}`);
  });
  return left;
}

// ---- a float16 convolutional network, the way exported half-precision models look -------------

const C = 3;
const K = 4;
const H = 8;

/**
 * x (float32) -CastLike(k)-> Conv(W1, B1) -> Relu -> + m (a float16 input) -> * k (a float16
 * Constant) -> Cast float32 -> Resize x2 -> Cast float16 -> + ConstantOfShape(0.25, float16)
 * -> Conv(W2) = z (a float16 output, also read) -> Sigmoid -> Cast float32 = y.
 */
function convModel(): Uint8Array {
  const w1 = randomFloats(K * C * 9, 11).map((v) => v * 0.4);
  const b1 = randomFloats(K, 12).map((v) => v * 0.1);
  const w2 = randomFloats(2 * K * 9, 13).map((v) => v * 0.3);
  const nodes: NodeSpec[] = [
    { op: 'Constant', inputs: [], outputs: ['k'], attributes: { value: makeTensor('', 'float16', [], half([0.5])) } },
    { op: 'CastLike', inputs: ['x', 'k'], outputs: ['xh'] },
    { op: 'Conv', name: 'conv1', inputs: ['xh', 'W1', 'B1'], outputs: ['c1'], attributes: { kernel_shape: [3, 3], pads: [1, 1, 1, 1] } },
    { op: 'Relu', name: 'relu1', inputs: ['c1'], outputs: ['r1'] },
    { op: 'Add', name: 'add_m', inputs: ['r1', 'm'], outputs: ['a1'] },
    { op: 'Mul', name: 'mul_k', inputs: ['a1', 'k'], outputs: ['s1'] },
    { op: 'Cast', inputs: ['s1'], outputs: ['s1f'], attributes: { to: F32 } },
    { op: 'Resize', inputs: ['s1f', '', 'scales'], outputs: ['up'], attributes: { mode: 'nearest' } },
    { op: 'Cast', inputs: ['up'], outputs: ['uph'], attributes: { to: F16 } },
    { op: 'ConstantOfShape', inputs: ['big'], outputs: ['fill'], attributes: { value: makeTensor('', 'float16', [1], half([0.25])) } },
    { op: 'Add', name: 'add_fill', inputs: ['uph', 'fill'], outputs: ['u2'] },
    { op: 'Conv', name: 'conv2', inputs: ['u2', 'W2'], outputs: ['z'], attributes: { kernel_shape: [3, 3], pads: [1, 1, 1, 1] } },
    { op: 'Sigmoid', name: 'sigmoid', inputs: ['z'], outputs: ['sg'] },
    { op: 'Cast', inputs: ['sg'], outputs: ['y'], attributes: { to: F32 } },
  ];
  return makeModel({
    inputs: [spec('x', 'float32', [1, C, H, H]), spec('m', 'float16', [1, K, H, H])],
    outputs: [spec('y', 'float32', [1, 2, 2 * H, 2 * H]), spec('z', 'float16', [1, 2, 2 * H, 2 * H])],
    initializers: [
      makeTensor('W1', 'float16', [K, C, 3, 3], half(w1)),
      makeTensor('B1', 'float16', [K], half(b1)),
      makeTensor('W2', 'float16', [2, K, 3, 3], half(w2)),
      makeTensor('scales', 'float32', [4], [1, 1, 2, 2]),
      makeTensor('big', 'int64', [4], [1, K, 2 * H, 2 * H]),
    ],
    nodes,
    opset: 15,
  });
}

function convFeeds(seed: number): Feeds {
  return {
    x: new ort.Tensor('float32', randomFloats(C * H * H, seed), [1, C, H, H]),
    m: new ort.Tensor('float16', half(randomFloats(K * H * H, seed + 1).map((v) => v * 0.5)), [1, K, H, H]),
  };
}

describe('widenFloat16', () => {
  it('turns a float16 network into float32 that computes the same, keeping float16 inputs and outputs float16', async () => {
    const bytes = convModel();
    const model = parseModel(bytes);
    const summary = widenFloat16(model);
    const wide = await writeModel(model);

    // 3 float16 initializers, the Constant and the ConstantOfShape value, the Cast to float16;
    // m and z keep float16 through a Cast each.
    expect(summary).toEqual({ initializers: 3, constants: 2, typeAttributes: 1, declaredTypes: 0, edgeCasts: 2, foreignCasts: 0 });
    expect(ioTypes(model)).toEqual({ x: F32, m: F16, y: F32, z: F16 });
    // The only float16 values left are the edges: the input m and the output z.
    const types = inferElemTypes(model.graph!);
    expect([...types].filter(([, t]) => t === F16).map(([n]) => n).sort()).toEqual(['m', 'z']);
    expect(float16Left(model)).toEqual(['declared m', 'declared z']);
    // Exact: W1's float32 values are its float16 values.
    const w1 = model.graph!.initializer.find((t) => t.name === 'W1')!;
    expect(tensorToArray(w1).data).toEqual(float16ToFloat32(half(randomFloats(K * C * 9, 11).map((v) => v * 0.4))));

    for (const seed of [1, 2, 3]) {
      const feeds = convFeeds(seed * 100);
      const reference = await runOrt(bytes, feeds);
      expectWithinHalf(await runOrt(wide, feeds), reference);
    }
  });

  it('runs on the sim as on onnxruntime', async () => {
    const model = parseModel(convModel());
    widenFloat16(model);
    const wide = await writeModel(model);
    const feeds = convFeeds(700);
    const expected = await runOrt(wide, feeds);
    const session = await InferenceSession.create(await buildEngine(wide, { backend: 'sim' }), { backend: 'sim' });
    try {
      const out = await session.run({ x: new Tensor('float32', feeds.x!.data as Float32Array, [1, C, H, H]), m: new Tensor('float16', feeds.m!.data as Uint16Array, [1, K, H, H]) });
      expect(out.z!.dtype).toBe('float16');
      for (const name of ['y', 'z']) expectClose(out[name]!.toFloat32(), expected[name]!, 1e-3, 1e-3);
    } finally {
      session.dispose();
    }
  });

  it('retargets EyeLike and RandomUniformLike dtypes, and leaves a float16 input that is also an output as it is', async () => {
    // s = Cast(a, float16) + EyeLike(a, float16) + RandomUniformLike(a, float16, low = high = 2.5)
    // (a constant 2.5: uniform on [2.5, 2.5]); a is a float32 input, h a float16 one returned as is.
    const bytes = makeModel({
      inputs: [spec('a', 'float32', [3, 3]), spec('h', 'float16', [3])],
      outputs: [spec('s', 'float16', [3, 3]), spec('h', 'float16', [3]), spec('hs', 'float32', [3])],
      nodes: [
        { op: 'Cast', inputs: ['a'], outputs: ['ah'], attributes: { to: F16 } },
        { op: 'EyeLike', inputs: ['a'], outputs: ['eye'], attributes: { dtype: F16 } },
        { op: 'RandomUniformLike', inputs: ['a'], outputs: ['two'], attributes: { dtype: F16, low: 2.5, high: 2.5 } },
        { op: 'Sum', inputs: ['ah', 'eye', 'two'], outputs: ['s'] },
        { op: 'Softmax', inputs: ['h'], outputs: ['hsm'] },
        { op: 'Cast', inputs: ['hsm'], outputs: ['hs'], attributes: { to: F32 } },
      ],
      opset: 15,
    });
    const model = parseModel(bytes);
    const summary = widenFloat16(model);
    expect(summary.typeAttributes).toBe(3);
    expect(ioTypes(model)).toEqual({ a: F32, h: F16, s: F16, hs: F32 });
    for (const n of model.graph!.node.filter((x) => x.opType === 'EyeLike' || x.opType === 'RandomUniformLike')) {
      expect(Number(n.attribute.find((a) => a.name === 'dtype')!.i)).toBe(F32);
    }
    const a = randomFloats(9, 5);
    const h = half([0.5, -1, 2]);
    const out = await runOrt(await writeModel(model), { a: new ort.Tensor('float32', a, [3, 3]), h: new ort.Tensor('float16', h, [3]) });
    // Arithmetic: s = a + I + 2.5 in float32, then rounded once to float16 at the output.
    const expected = Array.from(a, (v, i) => v + (i % 4 === 0 ? 1 : 0) + 2.5);
    expect(out.s).toEqual(float16ToFloat32(half(expected)));
    expect(out.h).toEqual(float16ToFloat32(h));
    const e = Array.from(float16ToFloat32(h), Math.exp);
    expectClose(out.hs!, e.map((v) => v / e.reduce((x, y) => x + y)), 1e-3, 1e-4);
  });

  it('keeps the float16 inputs and outputs of a node of another domain, behind Casts', () => {
    // r = Relu(x); o = example.Half(r), declared float16; y = o + B, B a float16 initializer.
    const bytes = makeModel({
      inputs: [spec('x', 'float16', [4])],
      outputs: [spec('y', 'float16', [4])],
      initializers: [makeTensor('B', 'float16', [4], half([1, 2, 3, 4]))],
      nodes: [
        { op: 'Relu', inputs: ['x'], outputs: ['r'] },
        { op: 'Half', domain: 'example', inputs: ['r'], outputs: ['o'] },
        { op: 'Add', inputs: ['o', 'B'], outputs: ['y'] },
      ],
      opset: 15,
    });
    const model = parseModel(bytes);
    model.graph!.valueInfo.push(create(ValueInfoProtoSchema, { name: 'o', type: clone(TypeProtoSchema, model.graph!.output[0]!.type!) }));
    const summary = widenFloat16(model);
    expect(summary).toMatchObject({ initializers: 1, declaredTypes: 1, edgeCasts: 2, foreignCasts: 2 });
    const g = model.graph!;
    const producer = new Map(g.node.flatMap((n) => n.output.map((o) => [o, n] as const)));
    const foreign = g.node.find((n) => n.domain === 'example')!;
    // Its input: r (now float32) cast to float16. Its output: float16 under a new name, cast to the float32 o.
    const inCast = producer.get(foreign.input[0]!)!;
    expect([inCast.opType, Number(inCast.attribute[0]!.i), inCast.input[0]]).toEqual(['Cast', F16, 'r']);
    const outCast = g.node.find((n) => n.input[0] === foreign.output[0])!;
    expect([outCast.opType, Number(outCast.attribute[0]!.i), outCast.output[0]]).toEqual(['Cast', F32, 'o']);
    const types = inferElemTypes(g);
    expect([types.get('r'), types.get('o'), types.get(foreign.input[0]!)]).toEqual([F32, F32, F16]);
    expect(ioTypes(model)).toEqual({ x: F16, y: F16 });
  });
});

// ---- If and Loop bodies in float16 ------------------------------------------------------------

const W = 6;
const TRIPS = 4;

/**
 * xr = Relu(x) (x a float16 input); branch = If(flag, then: tanh(xr Wt), else: sigmoid(x * 0.5
 * from a float16 Constant in the branch)) reads x and Wt from outside; a Loop runs TRIPS times
 * h' = tanh(h Wl + xr + bb) from h = xr (bb a float16 initializer of the body, h float16 state
 * declared in the body), returning the last h and every h (rows, a float16 output); a Scan
 * over rows sums them weighted by its own float16 initializer, from xr. y = Cast(branch + h +
 * that sum, float32).
 */
function controlFlowModel(): Uint8Array {
  const thenBranch: GraphSpec = {
    inputs: [],
    outputs: [spec('t_out', 'float16', [1, W])],
    nodes: [
      { op: 'MatMul', inputs: ['xr', 'Wt'], outputs: ['t_mm'] },
      { op: 'Tanh', inputs: ['t_mm'], outputs: ['t_out'] },
    ],
  };
  const elseBranch: GraphSpec = {
    inputs: [],
    outputs: [spec('e_out', 'float16', [1, W])],
    nodes: [
      { op: 'Constant', inputs: [], outputs: ['e_half'], attributes: { value: makeTensor('', 'float16', [], half([0.5])) } },
      { op: 'Mul', inputs: ['x', 'e_half'], outputs: ['e_mul'] },
      { op: 'Sigmoid', inputs: ['e_mul'], outputs: ['e_out'] },
    ],
  };
  const body: GraphSpec = {
    inputs: [spec('i', 'int64', []), spec('c', 'bool', []), spec('h', 'float16', [1, W])],
    outputs: [spec('c_out', 'bool', []), spec('h_next', 'float16', [1, W]), spec('h_row', 'float16', [1, W])],
    initializers: [makeTensor('bb', 'float16', [W], half(randomFloats(W, 31).map((v) => v * 0.2)))],
    nodes: [
      { op: 'Identity', inputs: ['c'], outputs: ['c_out'] },
      { op: 'MatMul', inputs: ['h', 'Wl'], outputs: ['b_mm'] },
      { op: 'Add', inputs: ['b_mm', 'xr'], outputs: ['b_add'] },
      { op: 'Add', inputs: ['b_add', 'bb'], outputs: ['b_pre'] },
      { op: 'Tanh', inputs: ['b_pre'], outputs: ['h_next'] },
      { op: 'Identity', inputs: ['h_next'], outputs: ['h_row'] },
    ],
  };
  // Scan over the Loop's rows: acc' = acc + row * g, g a float16 initializer of the body.
  const scanBody: GraphSpec = {
    inputs: [spec('acc', 'float16', [1, W]), spec('row', 'float16', [1, W])],
    outputs: [spec('acc_next', 'float16', [1, W]), spec('acc_row', 'float16', [1, W])],
    initializers: [makeTensor('g', 'float16', [W], half(randomFloats(W, 32)))],
    nodes: [
      { op: 'Mul', inputs: ['row', 'g'], outputs: ['s_mul'] },
      { op: 'Add', inputs: ['acc', 's_mul'], outputs: ['acc_next'] },
      { op: 'Identity', inputs: ['acc_next'], outputs: ['acc_row'] },
    ],
  };
  const matrix = (seed: number) => half(randomFloats(W * W, seed).map((v) => (v * 0.3) / Math.sqrt(W)));
  return makeModel({
    inputs: [spec('x', 'float16', [1, W]), spec('flag', 'bool', [])],
    outputs: [spec('y', 'float32', [1, W]), spec('rows', 'float16', [TRIPS, 1, W])],
    initializers: [makeTensor('Wt', 'float16', [W, W], matrix(21)), makeTensor('Wl', 'float16', [W, W], matrix(22)), makeTensor('trips', 'int64', [], [TRIPS])],
    nodes: [
      { op: 'Relu', inputs: ['x'], outputs: ['xr'] },
      { op: 'If', inputs: ['flag'], outputs: ['branch'], attributes: { then_branch: { graph: thenBranch }, else_branch: { graph: elseBranch } } },
      { op: 'Loop', inputs: ['trips', '', 'xr'], outputs: ['h_last', 'rows'], attributes: { body: { graph: body } } },
      { op: 'Scan', inputs: ['xr', 'rows'], outputs: ['acc_last', 'accs'], attributes: { body: { graph: scanBody }, num_scan_inputs: 1 } },
      { op: 'Add', inputs: ['branch', 'h_last'], outputs: ['sum0'] },
      { op: 'Add', inputs: ['sum0', 'acc_last'], outputs: ['sum'] },
      { op: 'Cast', inputs: ['sum'], outputs: ['y'], attributes: { to: F32 } },
    ],
    opset: 15,
  });
}

describe('widenFloat16 in If and Loop bodies', () => {
  it('widens the bodies by the same rules, outer-scope reads of a float16 input included, and computes the same', async () => {
    const bytes = controlFlowModel();
    const model = parseModel(bytes);
    const summary = widenFloat16(model);
    // Wt, Wl, the Loop body's bb and the Scan body's g; the else branch's Constant; the
    // branches' outputs, the Loop body's h, h_next, h_row and the Scan body's four.
    expect(summary).toMatchObject({ initializers: 4, constants: 1, declaredTypes: 9, edgeCasts: 2 });
    expect(ioTypes(model)).toEqual({ x: F16, flag: TensorProto_DataType.BOOL, y: F32, rows: F16 });
    expect(float16Left(model)).toEqual(['declared x', 'declared rows']);
    // The else branch reads the float32 x that the Cast at the edge gives, not the float16 input.
    const ifNode = model.graph!.node.find((n) => n.opType === 'If')!;
    const elseMul = ifNode.attribute.find((a) => a.name === 'else_branch')!.g!.node.find((n) => n.opType === 'Mul')!;
    const castX = model.graph!.node.find((n) => n.opType === 'Cast' && n.input[0] === 'x')!;
    expect(elseMul.input[0]).toBe(castX.output[0]);
    expect(model.graph!.node[0]).toBe(castX);

    const wide = await writeModel(model);
    for (const [seed, flag] of [[41, true], [42, false]] as const) {
      const feeds = { x: new ort.Tensor('float16', half(randomFloats(W, seed)), [1, W]), flag: new ort.Tensor('bool', Uint8Array.from([flag ? 1 : 0]), []) };
      expectWithinHalf(await runOrt(wide, feeds), await runOrt(bytes, feeds));
    }
  });
});

// ---- quantizeInt8 on a float16 model ------------------------------------------------------------

const calibrationBatches = (n: number, from: number) =>
  Array.from({ length: n }, (_, i) => {
    const f = convFeeds(from + i * 10);
    return { x: new Tensor('float32', f.x!.data as Float32Array, [1, C, H, H]), m: new Tensor('float16', f.m!.data as Uint16Array, [1, K, H, H]) };
  });


/** Both Convs read a Q/DQ'd activation and int8 weights through a DequantizeLinear. */
function expectInt8Convs(model: ModelProto): void {
  const g = model.graph!;
  const producer = new Map(g.node.flatMap((n) => n.output.map((o) => [o, n] as const)));
  const int8 = new Set(g.initializer.filter((t) => t.dataType === TensorProto_DataType.INT8).map((t) => t.name));
  for (const name of ['conv1', 'conv2']) {
    const conv = g.node.find((n) => n.name === name)!;
    const [activation, weight] = [0, 1].map((i) => producer.get(conv.input[i]!));
    expect(activation?.opType).toBe('DequantizeLinear');
    expect(producer.get(activation!.input[0]!)?.opType).toBe('QuantizeLinear');
    expect(weight?.opType).toBe('DequantizeLinear');
    expect(int8.has(weight!.input[0]!)).toBe(true);
  }
}

async function quantize(bytes: Uint8Array, floatOpsIn: 'float32' | 'float16') {
  const messages: string[] = [];
  const logger = new Logger({ onMessage: (_, m) => messages.push(m) });
  const { model, report } = await quantizeInt8WithReport(bytes, { calibrationData: calibrationBatches(16, 5000), method: 'minmax', backend: 'sim', logger, floatOpsIn });
  // Messages come through the native logger, delivered on a later turn of the event loop.
  await new Promise((resolve) => setImmediate(resolve));
  return { model, report, messages };
}

describe('quantizeInt8 on a model computing in float16', () => {
  it('widens it first, says so, and quantizes its Convs; inputs and outputs keep their types', async () => {
    const bytes = convModel();
    const { model, report, messages } = await quantize(bytes, 'float32');
    // Conv1, Add(r1, m), Mul(a1, k), Add(uph, fill), Conv2: the quantizable nodes, all reading float16 before.
    expect(report.int8Nodes).toEqual(['conv1', 'add_m', 'mul_k', 'add_fill', 'conv2']);
    const note = messages.find((m) => m.includes('widened'));
    expect(note).toBe(
      'quantizeInt8: 5 nodes to quantize read float16 tensors, which QuantizeLinear cannot take: widened the model to float32 ' +
        '(3 initializers, 2 constant values, 1 Cast/dtype attributes, 0 declared types; 2 Casts keep its float16 inputs and outputs float16); ' +
        "the ops left unquantized run in float32 (floatOpsIn 'float16' keeps them in float16)",
    );
    const parsed = parseModel(model);
    expect(ioTypes(parsed)).toEqual({ x: F32, m: F16, y: F32, z: F16 });
    expectInt8Convs(parsed);
    for (const seed of [1, 2]) {
      const feeds = convFeeds(9000 + seed);
      const reference = await runOrt(bytes, feeds);
      const out = await runOrt(model, feeds);
      for (const name of ['y', 'z']) expect(cosine(out[name]!, reference[name]!)).toBeGreaterThan(0.99);
    }
  });

  it("with floatOpsIn 'float16', puts the unquantized ops back in float16", async () => {
    const bytes = convModel();
    const { model, report, messages } = await quantize(bytes, 'float16');
    expect(report.int8Nodes).toEqual(['conv1', 'add_m', 'mul_k', 'add_fill', 'conv2']);
    expect(messages.find((m) => m.includes('widened'))).toMatch(/the ops left unquantized go back to float16$/);
    const parsed = parseModel(model);
    expect(ioTypes(parsed)).toEqual({ x: F32, m: F16, y: F32, z: F16 });
    const types = inferElemTypes(parsed.graph!);
    const byName = new Map(parsed.graph!.node.map((n) => [n.name, n]));
    // Relu and Sigmoid are not quantized: float16 again. The quantized ones compute in float32 between their DQ and the next Q.
    for (const name of ['relu1', 'sigmoid']) expect(types.get(byName.get(name)!.output[0]!)).toBe(F16);
    for (const name of ['conv1', 'conv2', 'add_m', 'mul_k']) expect(types.get(byName.get(name)!.output[0]!)).toBe(F32);
    expectInt8Convs(parsed);
    for (const seed of [1, 2]) {
      const feeds = convFeeds(9100 + seed);
      const reference = await runOrt(bytes, feeds);
      const out = await runOrt(model, feeds);
      for (const name of ['y', 'z']) expect(cosine(out[name]!, reference[name]!)).toBeGreaterThan(0.99);
    }
  });

  it('leaves a float32 model alone (no widening, no note)', async () => {
    const { model, report, messages } = await quantize(makeModel({
      inputs: [spec('x', 'float32', [1, C, H, H]), spec('m', 'float16', [1, K, H, H])],
      outputs: [spec('y', 'float32', [1, K, H, H])],
      initializers: [makeTensor('W', 'float32', [K, C, 1, 1], randomFloats(K * C, 3))],
      nodes: [
        { op: 'Conv', name: 'conv', inputs: ['x', 'W'], outputs: ['c'] },
        // The float16 input reaches only an unquantizable op.
        { op: 'Cast', inputs: ['m'], outputs: ['mf'], attributes: { to: F32 } },
        { op: 'Sub', inputs: ['c', 'mf'], outputs: ['y'] },
      ],
      opset: 15,
    }), 'float32');
    expect(messages.filter((m) => m.includes('widened'))).toEqual([]);
    expect(report.int8Nodes).toEqual(['conv']);
    expect(ioTypes(parseModel(model))).toEqual({ x: F32, m: F16, y: F32 });
  });
});
