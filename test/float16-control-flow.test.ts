// convertToFloat16 inside If, Loop and Scan bodies: the work in a body computes in float16 when
// its node does, values read from outside a body arrive in float16 (Casts outside the loop,
// not per iteration), a body's outputs have the type its node gives them, and a node kept in
// float32 keeps its bodies so. The converted models run on onnxruntime-node and on the sim and
// must match the float32 model on onnxruntime within float16 tolerance: |fp16 - fp32| <= atol +
// rtol * |fp32| with rtol = 1e-2, atol = 1e-3 * max(1, max |fp32|) (float16 keeps 11
// significant bits, ~5e-4 relative per rounding; weights, activations and sums all round, and
// the loop's tanh recurrence with ||W|| < 1 does not amplify the error from step to step).
import * as ort from 'onnxruntime-node';
import { type GraphProto, type NodeProto, TensorProto_DataType } from 'onnx-buf';
import { describe, expect, it } from 'vitest';

import { fromFloat16Bits } from '../lib/dtype.js';
import { buildEngine, InferenceSession, Logger, Tensor } from '../lib/index.js';
import { makeModel, makeTensor, type GraphSpec, type ValueSpec } from '../lib/onnx/model-builder.js';
import { parseModel } from '../lib/onnx/model-io.js';
import { inferElemTypes, valueInfoElemType } from '../lib/onnx/value-types.js';
import { convertToFloat16 } from '../lib/precision/convert-float16.js';
import { randomFloats } from './fixtures/models.js';
import { expectClose } from './fixtures/oracle.js';

const F32 = TensorProto_DataType.FLOAT;
const F16 = TensorProto_DataType.FLOAT16;
const WIDTH = 8;
const TRIPS = 6;

const f32 = (name: string, shape: (number | string)[]): ValueSpec => ({ name, dtype: 'float32', shape });
const i64 = (name: string): ValueSpec => ({ name, dtype: 'int64', shape: [] });
const bool = (name: string): ValueSpec => ({ name, dtype: 'bool', shape: [] });

/** Weights with a spectral norm below 1 (|w| <= 0.3 / sqrt(WIDTH) per entry), so the recurrence contracts. */
const weights = (name: string, seed: number) => makeTensor(name, 'float32', [WIDTH, WIDTH], randomFloats(WIDTH * WIDTH, seed).map((v) => (v * 0.3) / Math.sqrt(WIDTH)));

/**
 * y = If(cond, then: tanh(xr W), else: sigmoid(xr * 0.5)) + Loop's final h, rows = the Loop's
 * h per iteration, where xr = Relu(x) and the Loop runs TRIPS times h' = tanh(g) with
 * s = h W + xr + bias and g = If(i < 2, then: s * xr, else: s * bias): the branches and the
 * body read xr and W from the main graph (the inner If two scopes out), the body has its own
 * initializers and a Constant.
 */
function controlFlowModel(): Uint8Array {
  const thenBranch: GraphSpec = {
    inputs: [],
    outputs: [f32('t_out', [1, WIDTH])],
    nodes: [
      { op: 'MatMul', inputs: ['xr', 'W'], outputs: ['t_mm'] },
      { op: 'Tanh', inputs: ['t_mm'], outputs: ['t_out'] },
    ],
  };
  const elseBranch: GraphSpec = {
    inputs: [],
    outputs: [f32('e_out', [1, WIDTH])],
    initializers: [makeTensor('half', 'float32', [], [0.5])],
    nodes: [
      { op: 'Mul', inputs: ['xr', 'half'], outputs: ['e_mul'] },
      { op: 'Sigmoid', inputs: ['e_mul'], outputs: ['e_out'] },
    ],
  };
  const body: GraphSpec = {
    inputs: [i64('i'), bool('c'), f32('h', [1, WIDTH])],
    outputs: [bool('c_out'), f32('h_out', [1, WIDTH]), f32('row', [1, WIDTH])],
    initializers: [makeTensor('bias', 'float32', [WIDTH], randomFloats(WIDTH, 7).map((v) => v * 0.2)), makeTensor('two', 'int64', [], [2n])],
    nodes: [
      { op: 'Identity', inputs: ['c'], outputs: ['c_out'] },
      { op: 'MatMul', inputs: ['h', 'W'], outputs: ['mm'] },
      { op: 'Add', inputs: ['mm', 'xr'], outputs: ['s'] },
      { op: 'Add', inputs: ['s', 'bias'], outputs: ['s2'] },
      { op: 'Less', inputs: ['i', 'two'], outputs: ['early'] },
      {
        op: 'If',
        name: 'inner_if',
        inputs: ['early'],
        outputs: ['g'],
        attributes: {
          then_branch: { graph: { inputs: [], outputs: [f32('g_then', [1, WIDTH])], nodes: [{ op: 'Mul', inputs: ['s2', 'xr'], outputs: ['g_then'] }] } },
          else_branch: { graph: { inputs: [], outputs: [f32('g_else', [1, WIDTH])], nodes: [{ op: 'Mul', inputs: ['s2', 'bias'], outputs: ['g_else'] }] } },
        },
      },
      { op: 'Constant', inputs: [], outputs: ['damp'], attributes: { value_float: 0.9 } },
      { op: 'Mul', inputs: ['g', 'damp'], outputs: ['g2'] },
      { op: 'Tanh', inputs: ['g2'], outputs: ['h_out'] },
      { op: 'Identity', inputs: ['h_out'], outputs: ['row'] },
    ],
  };
  return makeModel({
    inputs: [f32('x', [1, WIDTH]), bool('cond'), f32('h0', [1, WIDTH])],
    outputs: [f32('y', [1, WIDTH]), f32('rows', [TRIPS, 1, WIDTH])],
    initializers: [weights('W', 3), makeTensor('M', 'int64', [], [BigInt(TRIPS)])],
    nodes: [
      { op: 'Relu', inputs: ['x'], outputs: ['xr'] },
      { op: 'If', name: 'branch', inputs: ['cond'], outputs: ['ya'], attributes: { then_branch: { graph: thenBranch }, else_branch: { graph: elseBranch } } },
      { op: 'Loop', name: 'loop', inputs: ['M', '', 'h0'], outputs: ['hT', 'rows'], attributes: { body: { graph: body } } },
      { op: 'Add', inputs: ['ya', 'hT'], outputs: ['y'] },
    ],
  });
}

const subgraph = (node: NodeProto, attr: string): GraphProto => node.attribute.find((a) => a.name === attr)!.g!;
const nodeNamed = (graph: GraphProto, name: string): NodeProto => graph.node.find((n) => n.name === name)!;
/** The element type each node's first output computes in, by op type, inside `graph` (outer values from `outer`). */
const computedTypes = (graph: GraphProto, outer: Map<string, number>) => {
  const types = inferElemTypes(graph, outer);
  return { types, of: (op: string) => [...new Set(graph.node.filter((n) => n.opType === op).map((n) => types.get(n.output[0]!)))] };
};

type Feeds = Record<string, Tensor>;
const feedsFor = (cond: boolean, seed: number): Feeds => ({
  x: new Tensor('float32', randomFloats(WIDTH, seed), [1, WIDTH]),
  cond: new Tensor('bool', Uint8Array.of(cond ? 1 : 0), []),
  h0: new Tensor('float32', randomFloats(WIDTH, seed + 1).map((v) => v * 0.5), [1, WIDTH]),
});

async function runOrt(model: Uint8Array, feeds: Feeds): Promise<Record<string, Float32Array>> {
  const session = await ort.InferenceSession.create(model, { intraOpNumThreads: 1, interOpNumThreads: 1, logSeverityLevel: 3 });
  try {
    const ortFeeds: Record<string, ort.Tensor> = {};
    for (const [name, t] of Object.entries(feeds)) ortFeeds[name] = new ort.Tensor(t.dtype as 'float32', t.data as Float32Array, [...t.dims]);
    const out = await session.run(ortFeeds);
    return Object.fromEntries(
      Object.entries(out).map(([name, t]) => [name, t.type === 'float16' ? Float32Array.from(t.data as Uint16Array, fromFloat16Bits) : (t.data as Float32Array)]),
    );
  } finally {
    await session.release();
  }
}

async function runSim(model: Uint8Array, feedsList: Feeds[]): Promise<Record<string, Float32Array>[]> {
  const engine = await buildEngine(model, { backend: 'sim' });
  using session = await InferenceSession.create(engine, { backend: 'sim' });
  const results = [];
  for (const feeds of feedsList) {
    const out = await session.run(feeds);
    results.push(Object.fromEntries(Object.entries(out).map(([name, t]) => [name, t.toFloat32()])));
  }
  return results;
}

function expectFloat16Close(actual: Float32Array, expected: Float32Array, what: string): void {
  const magnitude = expected.reduce((m, v) => Math.max(m, Math.abs(v)), 1);
  expect(actual.length, what).toBe(expected.length);
  expectClose(actual, expected, 1e-2, 1e-3 * magnitude);
}

/** The converted model on onnxruntime and on the sim against the float32 model on onnxruntime, both branches taken. */
async function expectSameOutputs(fp32: Uint8Array, fp16: Uint8Array): Promise<void> {
  const feedsList = [feedsFor(true, 21), feedsFor(false, 31)];
  const sim = await runSim(fp16, feedsList);
  for (const [k, feeds] of feedsList.entries()) {
    const expected = await runOrt(fp32, feeds);
    const onOrt = await runOrt(fp16, feeds);
    for (const name of ['y', 'rows']) {
      expectFloat16Close(onOrt[name]!, expected[name]!, `${name} on onnxruntime`);
      expectFloat16Close(sim[k]![name]!, expected[name]!, `${name} on the sim`);
    }
  }
}

describe('convertToFloat16 inside If and Loop bodies', () => {
  const fp32 = controlFlowModel();

  it('computes the branches and the loop body in float16, with the outer values they read converted outside', async () => {
    const graph = parseModel(await convertToFloat16(fp32)).graph!;
    const main = inferElemTypes(graph);
    // Graph I/O stays float32; the If and Loop outputs are float16.
    expect(['y', 'rows'].map((n) => valueInfoElemType(graph.output.find((o) => o.name === n)!))).toEqual([F32, F32]);
    expect([main.get('ya'), main.get('hT'), main.get('xr')]).toEqual([F16, F16, F16]);
    // W is read only in float16 (in two branches and the body), so it is converted in place.
    expect(graph.initializer.find((t) => t.name === 'W')!.dataType).toBe(F16);
    // The main graph's Casts: the two float inputs in, the two outputs back; none per branch or iteration.
    expect(graph.node.filter((n) => n.opType === 'Cast').map((n) => n.input[0]).sort()).toEqual(['h0', 'rows_fp16', 'x', 'y_fp16']);

    const ifNode = nodeNamed(graph, 'branch');
    const then = computedTypes(subgraph(ifNode, 'then_branch'), main);
    expect([then.of('MatMul'), then.of('Tanh')]).toEqual([[F16], [F16]]);
    const elseBranch = subgraph(ifNode, 'else_branch');
    expect(computedTypes(elseBranch, main).of('Sigmoid')).toEqual([F16]);
    expect(elseBranch.initializer.map((t) => t.dataType)).toEqual([F16]);
    for (const branch of [subgraph(ifNode, 'then_branch'), elseBranch]) expect(valueInfoElemType(branch.output[0]!)).toBe(F16);

    const body = subgraph(nodeNamed(graph, 'loop'), 'body');
    const inBody = computedTypes(body, main);
    expect([inBody.of('MatMul'), inBody.of('Add'), inBody.of('Mul'), inBody.of('Tanh'), inBody.of('Constant')]).toEqual([[F16], [F16], [F16], [F16], [F16]]);
    // The carried value and the scan row are float16 on both sides of the body.
    expect(body.input.map((i) => valueInfoElemType(i))).toEqual([TensorProto_DataType.INT64, TensorProto_DataType.BOOL, F16]);
    expect(body.output.map((o) => valueInfoElemType(o))).toEqual([TensorProto_DataType.BOOL, F16, F16]);
    expect(body.initializer.find((t) => t.name === 'bias')!.dataType).toBe(F16);
    expect(body.node.some((n) => n.opType === 'Cast')).toBe(false);
    // The If inside the body reads s2 (the body's) and xr (the main graph's) in float16.
    const inner = nodeNamed(body, 'inner_if');
    for (const attr of ['then_branch', 'else_branch']) {
      const branch = subgraph(inner, attr);
      expect(computedTypes(branch, inBody.types).of('Mul'), attr).toEqual([F16]);
      expect(branch.node.some((n) => n.opType === 'Cast')).toBe(false);
    }

    await expectSameOutputs(fp32, await convertToFloat16(fp32));
  });

  it('says that activations inside bodies were not checked when it measures the main graph\'s', async () => {
    const messages: string[] = [];
    const logger = new Logger({ onMessage: (_s, m) => messages.push(m) });
    await convertToFloat16(fp32, { validationData: [feedsFor(true, 51)], backend: 'sim', logger });
    // Logger messages arrive through native code: wait a turn before reading them.
    await new Promise((resolve) => setTimeout(resolve, 20));
    expect(messages.filter((m) => m.includes('bodies'))).toEqual([
      "convertToFloat16: activations inside the bodies of If 'branch', Loop 'loop' were not checked (only the main graph's values are measured); give the node in blockList to keep its body float32",
    ]);
  });

  it('keeps a blocked Loop\'s body in float32, reading float32 values, while the If around it converts', async () => {
    const converted = await convertToFloat16(fp32, { blockList: { nodeNames: ['loop'] } });
    const graph = parseModel(converted).graph!;
    const main = inferElemTypes(graph);
    expect([main.get('ya'), main.get('hT')]).toEqual([F16, F32]);
    // W is wanted in both types now: the body reads the float32 original, the branch a float16 copy.
    expect(graph.initializer.filter((t) => t.name.startsWith('W')).map((t) => [t.name, t.dataType])).toEqual([['W', F32], ['W_fp16', F16]]);
    expect(subgraph(nodeNamed(graph, 'branch'), 'then_branch').node[0]!.input).toEqual(['xr', 'W_fp16']);
    const body = subgraph(nodeNamed(graph, 'loop'), 'body');
    const inBody = computedTypes(body, main);
    expect([inBody.of('MatMul'), inBody.of('Tanh')]).toEqual([[F32], [F32]]);
    // xr is float16 outside; the body gets one float32 Cast of it, made outside the loop.
    const xrCast = graph.node.find((n) => n.opType === 'Cast' && n.input[0] === 'xr')!;
    expect(body.node.find((n) => n.opType === 'Add')!.input).toEqual(['mm', xrCast.output[0]]);
    expect(body.node.some((n) => n.opType === 'Cast')).toBe(false);
    await expectSameOutputs(fp32, converted);
  });

  it('converts a Scan body: float16 states and scanned rows, float32 at the model\'s edges', async () => {
    const steps = 5;
    const scanBody: GraphSpec = {
      inputs: [f32('h', [1, WIDTH]), f32('xt', [1, WIDTH])],
      outputs: [f32('h_out', [1, WIDTH]), f32('row', [1, WIDTH])],
      nodes: [
        { op: 'MatMul', inputs: ['h', 'W'], outputs: ['mm'] },
        { op: 'Add', inputs: ['mm', 'xt'], outputs: ['pre'] },
        { op: 'Tanh', inputs: ['pre'], outputs: ['h_out'] },
        { op: 'Sigmoid', inputs: ['h_out'], outputs: ['row'] },
      ],
    };
    const model = makeModel({
      inputs: [f32('xs', [steps, 1, WIDTH]), f32('h0', [1, WIDTH])],
      outputs: [f32('hT', [1, WIDTH]), f32('rows', [steps, 1, WIDTH])],
      initializers: [weights('W', 5)],
      nodes: [{ op: 'Scan', name: 'scan', inputs: ['h0', 'xs'], outputs: ['hT', 'rows'], attributes: { num_scan_inputs: 1, body: { graph: scanBody } } }],
    });
    const converted = await convertToFloat16(model);
    const graph = parseModel(converted).graph!;
    const body = subgraph(nodeNamed(graph, 'scan'), 'body');
    const inBody = computedTypes(body, inferElemTypes(graph));
    expect([inBody.of('MatMul'), inBody.of('Tanh'), inBody.of('Sigmoid')]).toEqual([[F16], [F16], [F16]]);
    expect([...body.input, ...body.output].map((v) => valueInfoElemType(v))).toEqual([F16, F16, F16, F16]);
    const feeds: Feeds = {
      xs: new Tensor('float32', randomFloats(steps * WIDTH, 41), [steps, 1, WIDTH]),
      h0: new Tensor('float32', randomFloats(WIDTH, 42), [1, WIDTH]),
    };
    const expected = await runOrt(model, feeds);
    const [sim] = await runSim(converted, [feeds]);
    const onOrt = await runOrt(converted, feeds);
    for (const name of ['hT', 'rows']) {
      expectFloat16Close(onOrt[name]!, expected[name]!, `${name} on onnxruntime`);
      expectFloat16Close(sim![name]!, expected[name]!, `${name} on the sim`);
    }
  });
});
