// convertToFloat16 against onnxruntime-node: the float16 model and the float32 model it came
// from both run on onnxruntime (CPU), on the same random inputs, and must agree within float16
// tolerance: |fp16 - fp32| <= atol + rtol * |fp32| elementwise with rtol = 1e-2 and
// atol = 1e-3 * max(1, max |fp32|) (float16 keeps 11 significant bits, ~5e-4 relative per
// rounding, and weights, activations and sums all round). The structure is checked too: which
// initializers are float16, where the Casts are, and the graph I/O types.
import { mkdtempSync, readFileSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';

import { create, toBinary } from '@bufbuild/protobuf';
import * as ort from 'onnxruntime-node';
import {
  AttributeProto_AttributeType,
  AttributeProtoSchema,
  ModelProtoSchema,
  NodeProtoSchema,
  TensorProto_DataType,
  type GraphProto,
} from 'onnx-buf';
import { afterAll, describe, expect, it } from 'vitest';

import { fromFloat16Bits, toFloat16Bits } from '../lib/dtype.js';
import { InvalidArgumentError } from '../lib/errors.js';
import * as api from '../lib/index.js';
import { parseModel, writeModel } from '../lib/onnx/model-io.js';
import { makeModel, makeTensor } from '../lib/onnx/model-builder.js';
import { tensorToArray } from '../lib/onnx/tensor-data.js';
import { inferElemTypes } from '../lib/onnx/value-types.js';
import { convertToFloat16 } from '../lib/precision/convert-float16.js';
import { lenetModel, resnetBlockModel } from './fixtures/cnn-models.js';
import { randomFloats } from './fixtures/models.js';
import { expectClose } from './fixtures/oracle.js';
import { loadPytorchNetwork, pytorchNetworks } from './fixtures/pytorch-networks.js';

const F32 = TensorProto_DataType.FLOAT;
const F16 = TensorProto_DataType.FLOAT16;
type Feeds = Record<string, { data: Float32Array; dims: number[] }>;

/** Runs a model on onnxruntime; float16 inputs are fed as float16 and outputs read back as float32. */
async function run(model: Uint8Array | string, feeds: Feeds, half = false): Promise<Record<string, Float32Array>> {
  const session = await ort.InferenceSession.create(model as Uint8Array, { intraOpNumThreads: 1, interOpNumThreads: 1, logSeverityLevel: 3 });
  try {
    const ortFeeds: Record<string, ort.Tensor> = {};
    for (const [name, f] of Object.entries(feeds)) {
      ortFeeds[name] = half ? new ort.Tensor('float16', Uint16Array.from(f.data, toFloat16Bits), f.dims) : new ort.Tensor('float32', f.data, f.dims);
    }
    const out = await session.run(ortFeeds);
    const result: Record<string, Float32Array> = {};
    for (const [name, t] of Object.entries(out)) {
      result[name] = t.type === 'float16' ? Float32Array.from(t.data as Uint16Array, fromFloat16Bits) : (t.data as Float32Array);
    }
    return result;
  } finally {
    await session.release();
  }
}

function expectFloat16Close(actual: Float32Array, expected: Float32Array): void {
  const magnitude = expected.reduce((m, v) => Math.max(m, Math.abs(v)), 1);
  expectClose(actual, expected, 1e-2, 1e-3 * magnitude);
}

/** Runs both models on the same inputs and compares every output. */
async function compare(fp32: Uint8Array | string, fp16: Uint8Array | string, shapes: Record<string, number[]>, seed = 11, half = false): Promise<void> {
  const feeds: Feeds = {};
  for (const [name, dims] of Object.entries(shapes)) feeds[name] = { data: randomFloats(dims.reduce((a, b) => a * b, 1), seed++), dims };
  const expected = await run(fp32, feeds);
  const actual = await run(fp16, feeds, half);
  expect(Object.keys(actual).sort()).toEqual(Object.keys(expected).sort());
  for (const name of Object.keys(expected)) expectFloat16Close(actual[name]!, expected[name]!);
}

const elemType = (graph: GraphProto, which: 'input' | 'output', name: string) => {
  const v = graph[which].find((i) => i.name === name)!.type!.value;
  return v.case === 'tensorType' ? v.value.elemType : undefined;
};
const casts = (graph: GraphProto) => graph.node.filter((n) => n.opType === 'Cast');
const initializerType = (graph: GraphProto, name: string) => graph.initializer.find((t) => t.name === name)?.dataType;

/** MatMul, Add, Relu, Gemm, Softmax with a dynamic batch. x: [N, 8] -> y: [N, 4]. */
function mlp(): Uint8Array {
  return makeModel({
    inputs: [{ name: 'x', dtype: 'float32', shape: ['N', 8] }],
    outputs: [{ name: 'y', dtype: 'float32', shape: ['N', 4] }],
    initializers: [
      makeTensor('W1', 'float32', [8, 16], randomFloats(128, 1)),
      makeTensor('b1', 'float32', [16], randomFloats(16, 2)),
      makeTensor('W2', 'float32', [4, 16], randomFloats(64, 3)),
      makeTensor('b2', 'float32', [4], randomFloats(4, 4)),
    ],
    nodes: [
      { op: 'MatMul', inputs: ['x', 'W1'], outputs: ['h0'], name: 'fc1' },
      { op: 'Add', inputs: ['h0', 'b1'], outputs: ['h1'], name: 'fc1_bias' },
      { op: 'Relu', inputs: ['h1'], outputs: ['h2'], name: 'relu' },
      { op: 'Gemm', inputs: ['h2', 'W2', 'b2'], outputs: ['h3'], name: 'fc2', attributes: { transB: 1 } },
      { op: 'Softmax', inputs: ['h3'], outputs: ['y'], name: 'softmax', attributes: { axis: -1 } },
    ],
  });
}

/** Conv, BatchNormalization, Relu, MaxPool, Flatten, Gemm. x: [N, 3, 12, 12] -> y: [N, 10]. */
function smallCnn(): Uint8Array {
  const n = (name: string, dims: number[], seed: number, scale = 0.3, offset = 0) =>
    makeTensor(name, 'float32', dims, Array.from(randomFloats(dims.reduce((a, b) => a * b, 1), seed), (v) => offset + (offset ? Math.abs(v) : v) * scale));
  return makeModel({
    inputs: [{ name: 'x', dtype: 'float32', shape: ['N', 3, 12, 12] }],
    outputs: [{ name: 'y', dtype: 'float32', shape: ['N', 10] }],
    initializers: [
      n('cw', [8, 3, 3, 3], 21), n('cb', [8], 22),
      n('scale', [8], 23, 0.5, 0.5), n('bias', [8], 24), n('mean', [8], 25, 0.1), n('var', [8], 26, 0.5, 0.5),
      n('fw', [10, 288], 27, 0.05), n('fb', [10], 28),
    ],
    nodes: [
      { op: 'Conv', inputs: ['x', 'cw', 'cb'], outputs: ['c'], attributes: { kernel_shape: [3, 3], pads: [1, 1, 1, 1] } },
      { op: 'BatchNormalization', inputs: ['c', 'scale', 'bias', 'mean', 'var'], outputs: ['b'], attributes: { epsilon: { floats: [1e-5] } } },
      { op: 'Relu', inputs: ['b'], outputs: ['r'] },
      { op: 'MaxPool', inputs: ['r'], outputs: ['p'], attributes: { kernel_shape: [2, 2], strides: [2, 2] } },
      { op: 'Flatten', inputs: ['p'], outputs: ['f'] },
      { op: 'Gemm', inputs: ['f', 'fw', 'fb'], outputs: ['y'], attributes: { transB: 1 } },
    ],
  });
}

describe('convertToFloat16 on models built in code', () => {
  it('is exported from the package entry point', () => {
    expect(api.convertToFloat16).toBe(convertToFloat16);
  });

  it('MLP: float16 weights, float32 I/O with one Cast at each edge, outputs within float16 tolerance', async () => {
    const fp32 = mlp();
    const fp16 = await convertToFloat16(fp32);
    const graph = parseModel(fp16).graph!;
    expect(graph.initializer.map((t) => t.dataType)).toEqual([F16, F16, F16, F16]);
    expect(elemType(graph, 'input', 'x')).toBe(F32);
    expect(elemType(graph, 'output', 'y')).toBe(F32);
    const c = casts(graph);
    expect(c.map((n) => [n.input[0], n.output[0]])).toEqual([['x', 'x_to_fp16'], ['y_fp16', 'y']]);
    expect(graph.node[0]!.opType).toBe('Cast'); // first, before its consumer
    expect(graph.node.at(-1)!.opType).toBe('Cast');
    // W1's values are float16 roundings of the originals (arithmetic, not the converter).
    const w1 = tensorToArray(graph.initializer[0]!).data as Uint16Array;
    expect(Array.from(w1)).toEqual(Array.from(randomFloats(128, 1), toFloat16Bits));
    await compare(fp32, fp16, { x: [5, 8] });
  });

  it('keepIoTypes: false makes the graph I/O float16 with no Casts at all', async () => {
    const fp16 = await convertToFloat16(mlp(), { keepIoTypes: false });
    const graph = parseModel(fp16).graph!;
    expect(elemType(graph, 'input', 'x')).toBe(F16);
    expect(elemType(graph, 'output', 'y')).toBe(F16);
    expect(casts(graph)).toHaveLength(0);
    await compare(mlp(), fp16, { x: [4, 8] }, 11, true);
  });

  it('blockList by op type keeps Softmax in float32 between Casts, and the output needs no Cast', async () => {
    const fp16 = await convertToFloat16(mlp(), { blockList: { opTypes: ['Softmax'] } });
    const graph = parseModel(fp16).graph!;
    const softmax = graph.node.find((n) => n.opType === 'Softmax')!;
    expect(softmax.input).toEqual(['h3_to_fp32']);
    expect(softmax.output).toEqual(['y']);
    expect(casts(graph).map((n) => n.output[0])).toEqual(['x_to_fp16', 'h3_to_fp32']);
    await compare(mlp(), fp16, { x: [3, 8] });
  });

  it('blockList by node name keeps that node and its weights in float32', async () => {
    const fp16 = await convertToFloat16(mlp(), { blockList: { nodeNames: ['fc1'] } });
    const graph = parseModel(fp16).graph!;
    expect(initializerType(graph, 'W1')).toBe(F32); // blocked node's own weight
    expect(initializerType(graph, 'b1')).toBe(F16);
    const fc1 = graph.node.find((n) => n.name === 'fc1')!;
    expect(fc1.input).toEqual(['x', 'W1']); // float32 input used directly, no Cast
    expect(casts(graph).map((n) => n.output[0])).toEqual(['h0_to_fp16', 'y']);
    await compare(mlp(), fp16, { x: [3, 8] });
  });

  it('small CNN (Conv, BatchNormalization, Relu, MaxPool, Flatten, Gemm): all weights float16, Casts at the edges only', async () => {
    const fp32 = smallCnn();
    const fp16 = await convertToFloat16(fp32);
    const graph = parseModel(fp16).graph!;
    expect(graph.initializer.filter((t) => t.dataType !== F16)).toEqual([]);
    expect(casts(graph)).toHaveLength(2);
    await compare(fp32, fp16, { x: [2, 3, 12, 12] });
  });

  it('LeNet and a ResNet block from the fixtures', async () => {
    // Built once each: the fixtures draw fresh weights on every call.
    const lenet = lenetModel();
    await compare(lenet, await convertToFloat16(lenet), { x: [2, 1, 28, 28] });
    const resnet = resnetBlockModel();
    await compare(resnet, await convertToFloat16(resnet), { x: [2, 16, 12, 10] });
  });

  it('keeps consumers of values beyond float16 range in float32, and float32-only inputs and ops as float32', async () => {
    // y = ((x * 1e5) / 2e5 + Range(0, 4, 1) + ConstantOfShape(0.25) + c) resized by scales, and
    // Sub of a Constant 70000: each a case float16 must not touch.
    const fp32 = makeModel({
      inputs: [{ name: 'x', dtype: 'float32', shape: [1, 1, 2, 4] }],
      outputs: [{ name: 'y', dtype: 'float32', shape: [1, 1, 4, 8] }, { name: 'z', dtype: 'float32', shape: [1, 1, 2, 4] }],
      initializers: [
        makeTensor('big', 'float32', [1], [1e5]),
        makeTensor('half_big', 'float32', [1], [2e5]),
        makeTensor('start', 'float32', [], [0]),
        makeTensor('limit', 'float32', [], [4]),
        makeTensor('delta', 'float32', [], [1]),
        makeTensor('shape', 'int64', [4], [1n, 1n, 2n, 4n]),
        makeTensor('scales', 'float32', [4], [1, 1, 2, 2]),
      ],
      nodes: [
        { op: 'Mul', inputs: ['x', 'big'], outputs: ['m'], name: 'scale_up' },
        { op: 'Div', inputs: ['m', 'half_big'], outputs: ['d'], name: 'scale_down' },
        { op: 'Range', inputs: ['start', 'limit', 'delta'], outputs: ['r'] },
        { op: 'Add', inputs: ['d', 'r'], outputs: ['a'] },
        { op: 'ConstantOfShape', inputs: ['shape'], outputs: ['q'], attributes: { value: makeTensor('', 'float32', [1], [0.25]) } },
        { op: 'Add', inputs: ['a', 'q'], outputs: ['a2'] },
        { op: 'Constant', inputs: [], outputs: ['c'], attributes: { value_float: 0.5 } },
        { op: 'Add', inputs: ['a2', 'c'], outputs: ['a3'] },
        { op: 'Resize', inputs: ['a3', '', 'scales'], outputs: ['y'], attributes: { mode: 'nearest' } },
        { op: 'Constant', inputs: [], outputs: ['k'], attributes: { value: makeTensor('', 'float32', [1], [70000]) } },
        { op: 'Sub', inputs: ['x', 'k'], outputs: ['z'], name: 'sub_big' },
      ],
    });
    const fp16 = await convertToFloat16(fp32);
    const graph = parseModel(fp16).graph!;
    const node = (name: string) => graph.node.find((n) => n.name === name || n.output[0] === name)!;
    // Overflowing initializers stay float32 and so do their consumers.
    expect(initializerType(graph, 'big')).toBe(F32);
    expect(initializerType(graph, 'half_big')).toBe(F32);
    expect(node('scale_up').input).toEqual(['x', 'big']);
    expect(node('scale_down').input).toEqual(['m', 'half_big']);
    // Range has no float16 kernel in the schema: its inputs stay float32 and its result is cast.
    expect(node('r').input).toEqual(['start', 'limit', 'delta']);
    expect(initializerType(graph, 'start')).toBe(F32);
    // Resize's scales stay float32 while its data is float16.
    expect(initializerType(graph, 'scales')).toBe(F32);
    expect(node('y_fp16').input).toEqual(['a3', '', 'scales']);
    // Float attributes become float16 tensors.
    const q = node('q').attribute[0]!.t!;
    expect(q.dataType).toBe(F16);
    expect(Array.from(tensorToArray(q).data as Uint16Array)).toEqual([toFloat16Bits(0.25)]);
    const c = node('c').attribute[0]!;
    expect([c.name, c.t!.dataType, Array.from(tensorToArray(c.t!).data as Uint16Array)]).toEqual(['value', F16, [toFloat16Bits(0.5)]]);
    // 70000 is beyond float16: the Constant and the Sub that reads it stay float32.
    expect(node('k').attribute[0]!.t!.dataType).toBe(F32);
    expect(node('sub_big').input).toEqual(['x', 'k']);
    expect(casts(graph).map((n) => `${n.input[0]}->${n.output[0]}`).sort()).toEqual(['d->d_to_fp16', 'r->r_to_fp16', 'y_fp16->y'].sort());
    await compare(fp32, fp16, { x: [1, 1, 2, 4] });
  });

  it('keeps a Log and the arithmetic computing its argument in float32, so small powers keep their precision', async () => {
    // y = Log(Sqrt(Pow(x W, 2) + 1e-9)) with W = 0.01 I: for |x| <= 1 the squares are below
    // 1e-4, under float16's normal range (6.1e-5) or flushed to zero (below 2^-25 ~ 3e-8), where
    // Log turns the lost precision into errors of whole units. The chain stops at the MatMul,
    // which stays float16.
    const fp32 = makeModel({
      inputs: [{ name: 'x', dtype: 'float32', shape: [2, 8] }],
      outputs: [{ name: 'y', dtype: 'float32', shape: [2, 8] }],
      initializers: [
        makeTensor('W', 'float32', [8, 8], Array.from({ length: 64 }, (_, i) => (i % 9 === 0 ? 0.01 : 0))),
        makeTensor('two', 'float32', [], [2]),
        makeTensor('eps', 'float32', [], [1e-9]),
      ],
      nodes: [
        { op: 'MatMul', inputs: ['x', 'W'], outputs: ['s'], name: 'scale_x' },
        { op: 'Pow', inputs: ['s', 'two'], outputs: ['p'], name: 'square' },
        { op: 'Add', inputs: ['p', 'eps'], outputs: ['pe'], name: 'plus_eps' },
        { op: 'Sqrt', inputs: ['pe'], outputs: ['m'], name: 'magnitude' },
        { op: 'Log', inputs: ['m'], outputs: ['y'], name: 'log' },
      ],
    });
    const messages: string[] = [];
    const logger = new api.Logger({ minSeverity: 'info', onMessage: (_, m) => messages.push(m) });
    const graph = parseModel(await convertToFloat16(fp32, { logger })).graph!;
    const types = inferElemTypes(graph);
    expect(['s', 'p', 'pe', 'm', 'y'].map((v) => types.get(v))).toEqual([F16, F32, F32, F32, F32]);
    // The kept nodes are named through the logger, as other nodes kept in float32 are.
    await new Promise((resolve) => setImmediate(resolve));
    expect(messages).toContain(
      "convertToFloat16: 4 nodes kept in float32 because a Log reads what they compute (float16 loses small arguments, which the log turns into whole units of error): Pow 'square', Add 'plus_eps', Sqrt 'magnitude', Log 'log'",
    );
    expect(casts(graph).map((n) => `${n.input[0]}->${n.output[0]}`).sort()).toEqual(['s->s_to_fp32', 'x->x_to_fp16']);
    await compare(fp32, await convertToFloat16(fp32), { x: [2, 8] });
  });

  it('an initializer read by a blocked and an unblocked node is kept in float32 beside a float16 copy', async () => {
    const fp32 = makeModel({
      inputs: [{ name: 'x', dtype: 'float32', shape: [2, 3] }],
      outputs: [{ name: 'y', dtype: 'float32', shape: [2, 3] }],
      initializers: [makeTensor('w', 'float32', [3], [0.1, 0.2, 0.3])],
      nodes: [
        { op: 'Mul', inputs: ['x', 'w'], outputs: ['a'], name: 'kept' },
        { op: 'Add', inputs: ['a', 'w'], outputs: ['y'], name: 'converted' },
      ],
    });
    const graph = parseModel(await convertToFloat16(fp32, { blockList: { nodeNames: ['kept'] } })).graph!;
    expect(graph.initializer.map((t) => [t.name, t.dataType])).toEqual([['w', F32], ['w_fp16', F16]]);
    expect(graph.node.find((n) => n.name === 'converted')!.input).toEqual(['a_to_fp16', 'w_fp16']);
  });

  it('converts If branches like the main graph, and keeps a blocked If\'s branches float32 with float32 copies of the outer values they read', async () => {
    // y = If(cond, then: h * 2, else: h - 1) with h = Relu(x): the branches read h from outside.
    const base = parseModel(makeModel({
      inputs: [{ name: 'x', dtype: 'float32', shape: [2, 3] }, { name: 'cond', dtype: 'bool', shape: [] }],
      outputs: [{ name: 'y', dtype: 'float32', shape: [2, 3] }],
      initializers: [makeTensor('two', 'float32', [], [2]), makeTensor('one', 'float32', [], [1])],
      nodes: [{ op: 'Relu', inputs: ['x'], outputs: ['h'] }],
    }));
    const branch = (op: string, constant: string, out: string) =>
      parseModel(makeModel({ inputs: [], outputs: [{ name: out, dtype: 'float32', shape: [2, 3] }], nodes: [{ op, inputs: ['h', constant], outputs: [out] }] })).graph!;
    const graphAttribute = (name: string, g: GraphProto) => create(AttributeProtoSchema, { name, type: AttributeProto_AttributeType.GRAPH, g });
    base.graph!.node.push(create(NodeProtoSchema, {
      opType: 'If', name: 'if', input: ['cond'], output: ['y'],
      attribute: [graphAttribute('then_branch', branch('Mul', 'two', 't')), graphAttribute('else_branch', branch('Sub', 'one', 'e'))],
    }));
    const fp32 = toBinary(ModelProtoSchema, base);
    const converted = await convertToFloat16(fp32);
    const graph = parseModel(converted).graph!;
    const ifNode = graph.node.find((n) => n.opType === 'If')!;
    // The branches read h as the float16 value it now is and their constants in float16; the
    // If's float16 output gets the Cast back to the float32 graph output.
    expect(ifNode.attribute.map((a) => a.g!.node[0]!.input)).toEqual([['h', 'two'], ['h', 'one']]);
    expect(ifNode.attribute.map((a) => elemType(a.g!, 'output', a.g!.output[0]!.name))).toEqual([F16, F16]);
    expect([initializerType(graph, 'two'), initializerType(graph, 'one')]).toEqual([F16, F16]);
    expect(graph.node.filter((n) => n.opType === 'Cast').map((n) => n.input[0])).toEqual(['x', 'y_fp16']);
    const blocked = await convertToFloat16(fp32, { blockList: { opTypes: ['If'] } });
    const blockedGraph = parseModel(blocked).graph!;
    const blockedIf = blockedGraph.node.find((n) => n.opType === 'If')!;
    expect(blockedIf.attribute.map((a) => a.g!.node[0]!.input)).toEqual([['h_to_fp32', 'two'], ['h_to_fp32', 'one']]);
    expect(blockedIf.attribute.map((a) => elemType(a.g!, 'output', a.g!.output[0]!.name))).toEqual([F32, F32]);
    expect([initializerType(blockedGraph, 'two'), initializerType(blockedGraph, 'one')]).toEqual([F32, F32]);
    for (const cond of [true, false]) {
      const x = randomFloats(6, 5);
      const feeds = { x: new ort.Tensor('float32', x, [2, 3]), cond: new ort.Tensor('bool', Uint8Array.of(cond ? 1 : 0), []) };
      const results = [];
      for (const model of [fp32, converted, blocked]) {
        const session = await ort.InferenceSession.create(model, { logSeverityLevel: 3 });
        results.push((await session.run(feeds)).y!.data as Float32Array);
        await session.release();
      }
      expectFloat16Close(results[1]!, results[0]!);
      expectFloat16Close(results[2]!, results[0]!);
    }
  });

  it('refuses bad options with what was expected, for which option, and what arrived', async () => {
    await expect(convertToFloat16(mlp(), { keepIoTypes: 'no' as unknown as boolean })).rejects.toThrow(
      new InvalidArgumentError('Expected a boolean for keepIoTypes but received the string "no"'),
    );
    await expect(convertToFloat16(mlp(), { blockList: { opTypes: 'Softmax' as unknown as string[] } })).rejects.toThrow(
      /Expected an array of strings for blockList.opTypes but received the string "Softmax"/,
    );
    await expect(convertToFloat16(new Uint8Array([1, 2, 3]))).rejects.toThrow(/Expected an ONNX model/);
  });
});

describe('convertToFloat16 with external data', () => {
  const dir = mkdtempSync(join(tmpdir(), 'trt-fp16-'));
  afterAll(() => rmSync(dir, { recursive: true, force: true }));

  it('reads weights from external data and writes the float16 ones to external data next to outputPath', async () => {
    const source = join(dir, 'cnn.onnx');
    await writeModel(parseModel(smallCnn()), { path: source, externalDataPath: 'cnn.weights' });
    const target = join(dir, 'cnn.fp16.onnx');
    const bytes = await convertToFloat16(source, { outputPath: target });
    expect(Buffer.compare(readFileSync(target), bytes)).toBe(0);
    const graph = parseModel(bytes).graph!;
    const fw = graph.initializer.find((t) => t.name === 'fw')!;
    expect(fw.dataType).toBe(F16);
    expect(fw.externalData.map((e) => [e.key, e.value])).toEqual([['location', 'cnn.fp16.onnx.data'], ['offset', expect.any(String)], ['length', String(10 * 288 * 2)]]);
    await compare(source, target, { x: [1, 3, 12, 12] });
  });
});

describe.skipIf(pytorchNetworks.length === 0)('pytorch-converted networks: float16 model = float32 model on onnxruntime', () => {
  for (const name of pytorchNetworks) {
    it(name, async (ctx) => {
      const { model, floatInputShapes } = loadPytorchNetwork(name);
      if (!floatInputShapes) ctx.skip('integer inputs (indices) need valid values, not random floats');
      const shapes = floatInputShapes!;
      try {
        await ort.InferenceSession.create(model, { logSeverityLevel: 3 }).then((s) => s.release());
      } catch {
        ctx.skip('onnxruntime cannot run the float32 model (an opset it dropped)');
      }
      const fp16 = await convertToFloat16(model);
      const converted = parseModel(fp16).graph!;
      // No float32 weights left: nothing is blocked in these networks.
      expect(converted.initializer.filter((t) => t.dataType === F32).map((t) => t.name)).toEqual([]);
      for (const input of Object.keys(shapes)) expect(elemType(converted, 'input', input)).toBe(F32);
      for (const output of converted.output) expect(elemType(converted, 'output', output.name)).toBe(F32);
      await compare(model, fp16, shapes, 31);
    });
  }
});
