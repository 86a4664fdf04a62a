// Loop and Scan on the sim where ONNX's node test data leaves gaps: outer-scope reads, Loop
// inside If and If inside Loop, Loop inside Loop, data-dependent scan-output lengths, Scan's
// axes and reverse directions, and hostile trip counts and scan outputs. onnxruntime-node is
// the oracle for values.
import { create, fromBinary, toBinary } from '@bufbuild/protobuf';
import * as ort from 'onnxruntime-node';
import { AttributeProto_AttributeType, AttributeProtoSchema, type GraphProto, ModelProtoSchema } from 'onnx-buf';
import { describe, expect, it } from 'vitest';

import { buildEngine, InferenceSession, OnnxParseError, Tensor } from '../lib/index.js';
import { makeModel, makeTensor, type ModelSpec, type ValueSpec } from '../lib/onnx/model-builder.js';
import { expectClose } from './fixtures/oracle.js';

/** A graph whose named nodes get graph attributes (bodies, branches), themselves nestable. */
type GraphSpec = ModelSpec & { subs?: { node: string; attr: string; graph: GraphSpec }[] };

function attachSubs(graph: GraphProto, spec: GraphSpec): void {
  for (const s of spec.subs ?? []) {
    const node = graph.node.find((n) => n.name === s.node)!;
    node.attribute.push(create(AttributeProtoSchema, { name: s.attr, type: AttributeProto_AttributeType.GRAPH, g: toGraph(s.graph) }));
  }
}

function toGraph(spec: GraphSpec): GraphProto {
  const graph = fromBinary(ModelProtoSchema, makeModel(spec)).graph!;
  attachSubs(graph, spec);
  return graph;
}

function toModel(spec: GraphSpec): Uint8Array {
  const model = fromBinary(ModelProtoSchema, makeModel(spec));
  attachSubs(model.graph!, spec);
  return toBinary(ModelProtoSchema, model);
}

const f32 = (name: string, shape: (number | string)[]): ValueSpec => ({ name, dtype: 'float32', shape });
const i64 = (name: string, shape: (number | string)[] = []): ValueSpec => ({ name, dtype: 'int64', shape });
const bool = (name: string, shape: (number | string)[] = []): ValueSpec => ({ name, dtype: 'bool', shape });

type Feeds = Record<string, Tensor>;

async function compare(model: Uint8Array, feedsList: Feeds[], options: Parameters<typeof buildEngine>[1] = { backend: 'sim' }): Promise<void> {
  const engine = await buildEngine(model, options);
  using session = await InferenceSession.create(engine, { backend: 'sim' });
  const ortSession = await ort.InferenceSession.create(model, { intraOpNumThreads: 1, interOpNumThreads: 1, logSeverityLevel: 3 });
  try {
    for (const feeds of feedsList) {
      const sim = await session.run(feeds);
      const ortFeeds: Record<string, ort.Tensor> = {};
      for (const [k, t] of Object.entries(feeds)) ortFeeds[k] = new ort.Tensor(t.dtype as 'float32', t.data as Float32Array, [...t.dims]);
      const ref = await ortSession.run(ortFeeds);
      for (const name of Object.keys(ref)) {
        expect(sim[name]!.dims, name).toEqual([...ref[name]!.dims]);
        const a = sim[name]!.data as ArrayLike<number | bigint>;
        const b = ref[name]!.data as ArrayLike<number | bigint>;
        if (typeof b[0] === 'bigint') expect([...(a as BigInt64Array)]).toEqual([...(b as BigInt64Array)]);
        else expectClose(a as Float32Array, b as Float32Array);
      }
    }
  } finally {
    await ortSession.release();
  }
}

const scalarI64 = (v: bigint): Tensor => new Tensor('int64', BigInt64Array.of(v), []);
const scalarBool = (v: boolean): Tensor => new Tensor('bool', Uint8Array.of(v ? 1 : 0), []);

// A Loop body: acc' = acc + x * i (x read from the outer scope), row = acc', cond' = i < limit
// (limit read from the outer scope too). Outputs: final acc and the rows, one per iteration.
const accumulateBody: GraphSpec = {
  inputs: [i64('i'), bool('cond_in'), f32('acc', [3])],
  outputs: [bool('cond_out'), f32('acc_out', [3]), f32('row', [3])],
  nodes: [
    { op: 'Cast', inputs: ['i'], outputs: ['fi'], attributes: { to: 1 } },
    { op: 'Mul', inputs: ['x', 'fi'], outputs: ['xi'] },
    { op: 'Add', inputs: ['acc', 'xi'], outputs: ['acc_out'] },
    { op: 'Identity', inputs: ['acc_out'], outputs: ['row'] },
    { op: 'Less', inputs: ['i', 'limit'], outputs: ['cond_out'] },
  ],
};

describe('Loop on the sim', () => {
  const spec: GraphSpec = {
    opset: 17,
    inputs: [f32('x', [3]), i64('M'), bool('c'), i64('limit'), f32('a0', [3])],
    outputs: [f32('acc', [3]), f32('rows', ['n', 3])],
    nodes: [{ op: 'Loop', name: 'Loop_0', inputs: ['M', 'c', 'a0'], outputs: ['acc', 'rows'] }],
    subs: [{ node: 'Loop_0', attr: 'body', graph: accumulateBody }],
  };
  const x = new Tensor('float32', Float32Array.of(1, -2, 0.5), [3]);
  const a0 = new Tensor('float32', Float32Array.of(0.25, 0, 3), [3]);

  it('reads outer-scope values, carries values and stacks a data-dependent number of rows, matching onnxruntime', async () => {
    const feeds: Feeds[] = [
      { x, M: scalarI64(5n), c: scalarBool(true), limit: scalarI64(100n), a0 }, // trip count ends it
      { x, M: scalarI64(50n), c: scalarBool(true), limit: scalarI64(3n), a0 }, // condition ends it
      { x, M: scalarI64(0n), c: scalarBool(true), limit: scalarI64(3n), a0 }, // no iteration: 0 rows
      { x, M: scalarI64(4n), c: scalarBool(false), limit: scalarI64(3n), a0 }, // false from the start
    ];
    await compare(toModel(spec), feeds);
  });

  it('declares the scan output\'s row count as -1 in engine metadata', async () => {
    const engine = await buildEngine(toModel(spec), { backend: 'sim' });
    using session = await InferenceSession.create(engine, { backend: 'sim' });
    expect(session.outputMetadata.find((o) => o.name === 'rows')!.shape).toEqual([-1, 3]);
  });

  it('runs inside an If branch, with an If inside its body and a Loop inside that, matching onnxruntime', async () => {
    // Outer If on p: then runs Loop_1 whose body branches on (i % 2 == 0) between adding x
    // and running an inner Loop (2 iterations adding y, read two scopes out); else Neg(a0).
    const inner: GraphSpec = {
      inputs: [i64('j'), bool('cj'), f32('s', [3])],
      outputs: [bool('cj_out'), f32('s_out', [3])],
      nodes: [
        { op: 'Identity', inputs: ['cj'], outputs: ['cj_out'] },
        { op: 'Add', inputs: ['s', 'y'], outputs: ['s_out'] },
      ],
    };
    const body: GraphSpec = {
      inputs: [i64('i'), bool('ci'), f32('acc', [3])],
      outputs: [bool('ci_out'), f32('acc_out', [3])],
      initializers: [makeTensor('two', 'int64', [], [2n]), makeTensor('zero', 'int64', [], [0n]), makeTensor('two_iter', 'int64', [], [2n])],
      nodes: [
        { op: 'Identity', inputs: ['ci'], outputs: ['ci_out'] },
        { op: 'Mod', inputs: ['i', 'two'], outputs: ['m'] },
        { op: 'Equal', inputs: ['m', 'zero'], outputs: ['even'] },
        { op: 'If', name: 'If_b', inputs: ['even'], outputs: ['acc_out'] },
      ],
      subs: [
        {
          node: 'If_b',
          attr: 'then_branch',
          graph: { inputs: [], outputs: [f32('t', [3])], nodes: [{ op: 'Add', inputs: ['acc', 'x'], outputs: ['t'] }] },
        },
        {
          node: 'If_b',
          attr: 'else_branch',
          graph: {
            inputs: [],
            outputs: [f32('e', [3])],
            nodes: [{ op: 'Loop', name: 'Loop_in', inputs: ['two_iter', '', 'acc'], outputs: ['e'] }],
            subs: [{ node: 'Loop_in', attr: 'body', graph: inner }],
          },
        },
      ],
    };
    const m: GraphSpec = {
      opset: 17,
      inputs: [f32('x', [3]), f32('y', [3]), i64('M'), bool('p'), f32('a0', [3])],
      outputs: [f32('out', [3])],
      nodes: [{ op: 'If', name: 'If_top', inputs: ['p'], outputs: ['out'] }],
      subs: [
        {
          node: 'If_top',
          attr: 'then_branch',
          graph: {
            inputs: [],
            outputs: [f32('l', [3])],
            nodes: [{ op: 'Loop', name: 'Loop_1', inputs: ['M', '', 'a0'], outputs: ['l'] }],
            subs: [{ node: 'Loop_1', attr: 'body', graph: body }],
          },
        },
        { node: 'If_top', attr: 'else_branch', graph: { inputs: [], outputs: [f32('n', [3])], nodes: [{ op: 'Neg', inputs: ['a0'], outputs: ['n'] }] } },
      ],
    };
    const y = new Tensor('float32', Float32Array.of(10, 20, 30), [3]);
    await compare(toModel(m), [
      { x, y, M: scalarI64(5n), p: scalarBool(true), a0 },
      { x, y, M: scalarI64(1n), p: scalarBool(true), a0 },
      { x, y, M: scalarI64(5n), p: scalarBool(false), a0 },
    ]);
  });

  it('stops a runaway Loop (M = INT64_MAX, condition always true) with a typed error instead of hanging', async () => {
    const body: GraphSpec = {
      inputs: [i64('i'), bool('c_in'), f32('v', [1])],
      outputs: [bool('c_out'), f32('v_out', [1])],
      nodes: [
        { op: 'Identity', inputs: ['c_in'], outputs: ['c_out'] },
        { op: 'Identity', inputs: ['v'], outputs: ['v_out'] },
      ],
    };
    const m = toModel({
      opset: 17,
      inputs: [f32('v0', [1]), i64('M'), bool('c')],
      outputs: [f32('v', [1])],
      nodes: [{ op: 'Loop', name: 'Loop_0', inputs: ['M', 'c', 'v0'], outputs: ['v'] }],
      subs: [{ node: 'Loop_0', attr: 'body', graph: body }],
    });
    const engine = await buildEngine(m, { backend: 'sim' });
    using session = await InferenceSession.create(engine, { backend: 'sim' });
    const started = Date.now();
    const error = await session
      .run({ v0: new Tensor('float32', Float32Array.of(1), [1]), M: scalarI64(0x7fffffffffffffffn), c: scalarBool(true) })
      .then(() => undefined, (e: unknown) => e as Error);
    expect(error?.message).toMatch(/Loop_0.*1048576 iterations/);
    expect(Date.now() - started).toBeLessThan(60_000);
  }, 120_000);

  it('holds a growing scan output to maxTensorBytes before taking its memory', async () => {
    const body: GraphSpec = {
      inputs: [i64('i'), bool('c_in')],
      outputs: [bool('c_out'), f32('row', [1024])],
      nodes: [
        { op: 'Identity', inputs: ['c_in'], outputs: ['c_out'] },
        { op: 'Identity', inputs: ['big'], outputs: ['row'] },
      ],
    };
    const m = toModel({
      opset: 17,
      inputs: [f32('big', [1024]), i64('M')],
      outputs: [f32('rows', ['n', 1024])],
      nodes: [{ op: 'Loop', name: 'Loop_0', inputs: ['M', ''], outputs: ['rows'] }],
      subs: [{ node: 'Loop_0', attr: 'body', graph: body }],
    });
    // 4 KiB rows under a 1 MiB limit: the 257th row would pass it.
    const engine = await buildEngine(m, { backend: 'sim', maxTensorBytes: 1 << 20 });
    using session = await InferenceSession.create(engine, { backend: 'sim', maxTensorBytes: 1 << 20 });
    const big = new Tensor('float32', new Float32Array(1024).fill(1), [1024]);
    const ok = await session.run({ big, M: scalarI64(256n) });
    expect(ok.rows!.dims).toEqual([256, 1024]);
    const error = await session.run({ big, M: scalarI64(1n << 40n) }).then(() => undefined, (e: unknown) => e as Error);
    expect(error?.name).toBe('ShapeError');
    expect(error?.message).toMatch(/Loop_0.*scan output 0 has shape 257x1024/);
    expect(error?.message).toMatch(/more than maxTensorBytes \(1048576 bytes\)/);
  });
});

describe('Scan on the sim', () => {
  // states: sum [2]; scan inputs: a [2, T] scanned along axis 1 (reversed), b [T, 2] along
  // axis 0; body: sum' = sum + a_t * b_t * w (w from the outer scope); rows: sum' stacked along
  // output axis 1, reversed, and a_t - b_t along axis 0.
  const body: GraphSpec = {
    inputs: [f32('sum', [2]), f32('at', [2]), f32('bt', [2])],
    outputs: [f32('sum_out', [2]), f32('r1', [2]), f32('r2', [2])],
    nodes: [
      { op: 'Mul', inputs: ['at', 'bt'], outputs: ['ab'] },
      { op: 'Mul', inputs: ['ab', 'w'], outputs: ['abw'] },
      { op: 'Add', inputs: ['sum', 'abw'], outputs: ['sum_out'] },
      { op: 'Identity', inputs: ['sum_out'], outputs: ['r1'] },
      { op: 'Sub', inputs: ['at', 'bt'], outputs: ['r2'] },
    ],
  };
  const spec = (opset: number): GraphSpec => ({
    opset,
    inputs: [f32('s0', [2]), f32('a', [2, 'T']), f32('b', ['T', 2]), f32('w', [2])],
    outputs: [f32('sum', [2]), f32('rows1', [2, 'T']), f32('rows2', ['T', 2])],
    nodes: [
      {
        op: 'Scan',
        name: 'Scan_0',
        inputs: ['s0', 'a', 'b'],
        outputs: ['sum', 'rows1', 'rows2'],
        attributes: { num_scan_inputs: 2, scan_input_axes: [1, 0], scan_input_directions: [1, 0], scan_output_axes: [1, 0], scan_output_directions: [1, 0] },
      },
    ],
    subs: [{ node: 'Scan_0', attr: 'body', graph: body }],
  });

  it('scans along axes in both directions with outer-scope reads, matching onnxruntime (opsets 11 and 17)', async () => {
    for (const opset of [11, 17]) {
      const feeds: Feeds[] = [4, 1].map((T) => ({
        s0: new Tensor('float32', Float32Array.of(0.5, -1), [2]),
        a: new Tensor('float32', Float32Array.from({ length: 2 * T }, (_, i) => i * 0.5 - 1), [2, T]),
        b: new Tensor('float32', Float32Array.from({ length: 2 * T }, (_, i) => 3 - i), [T, 2]),
        w: new Tensor('float32', Float32Array.of(2, -0.5), [2]),
      }));
      await compare(toModel(spec(opset)), feeds, {
        backend: 'sim',
        profiles: [{ s0: { min: [2], opt: [2], max: [2] }, a: { min: [2, 1], opt: [2, 4], max: [2, 8] }, b: { min: [1, 2], opt: [4, 2], max: [8, 2] }, w: { min: [2], opt: [2], max: [2] } }],
      });
    }
  });
});

describe('Loop and Scan bodies at parse time', () => {
  it('names an unsupported node inside a Scan body inside a Loop body inside an If branch by its path', async () => {
    const scanBody: GraphSpec = {
      inputs: [f32('s', [2]), f32('e', [2])],
      outputs: [f32('s2', [2]), f32('d', [2])],
      nodes: [
        { op: 'Add', inputs: ['s', 'e'], outputs: ['s2'] },
        { op: 'Det', name: 'Det_0', inputs: ['e'], outputs: ['d'] },
      ],
    };
    const loopBody: GraphSpec = {
      inputs: [i64('i'), bool('c_in'), f32('v', [2])],
      outputs: [bool('c_out'), f32('v2', [2])],
      nodes: [
        { op: 'Identity', inputs: ['c_in'], outputs: ['c_out'] },
        { op: 'Scan', name: 'Scan_2', inputs: ['v', 'xs'], outputs: ['v2', 'ds'], attributes: { num_scan_inputs: 1 } },
      ],
      subs: [{ node: 'Scan_2', attr: 'body', graph: scanBody }],
    };
    const m = toModel({
      opset: 17,
      inputs: [f32('xs', [3, 2]), f32('v0', [2]), i64('M'), bool('p')],
      outputs: [f32('y', [2])],
      nodes: [{ op: 'If', name: 'If_0', inputs: ['p'], outputs: ['y'] }],
      subs: [
        {
          node: 'If_0',
          attr: 'then_branch',
          graph: {
            inputs: [],
            outputs: [f32('l', [2])],
            nodes: [{ op: 'Loop', name: 'Loop_1', inputs: ['M', '', 'v0'], outputs: ['l'] }],
            subs: [{ node: 'Loop_1', attr: 'body', graph: loopBody }],
          },
        },
        { node: 'If_0', attr: 'else_branch', graph: { inputs: [], outputs: [f32('n', [2])], nodes: [{ op: 'Neg', inputs: ['v0'], outputs: ['n'] }] } },
      ],
    });
    const error = await buildEngine(m, { backend: 'sim' }).then(() => undefined, (e: unknown) => e);
    expect(error).toBeInstanceOf(OnnxParseError);
    expect((error as OnnxParseError).parserErrors.map((p) => p.node)).toEqual(['If_0/then_branch/Loop_1/body/Scan_2/body/Det_0']);
  });

  it('refuses a body that is not a graph, or reads a value no scope defines, with OnnxParseError', async () => {
    const body: GraphSpec = {
      inputs: [i64('i'), bool('c_in')],
      outputs: [bool('c_out')],
      nodes: [{ op: 'And', inputs: ['c_in', 'nowhere'], outputs: ['c_out'] }],
    };
    const m = toModel({
      opset: 17,
      inputs: [i64('M')],
      outputs: [],
      nodes: [{ op: 'Loop', name: 'Loop_0', inputs: ['M', ''], outputs: [] }],
      subs: [{ node: 'Loop_0', attr: 'body', graph: body }],
    });
    await expect(buildEngine(m, { backend: 'sim' })).rejects.toThrow(/nowhere/);
    // Body bytes cut short: the reader's wire checks refuse them.
    const model = fromBinary(ModelProtoSchema, m);
    const bytes = toBinary(ModelProtoSchema, model);
    const cut = bytes.slice(0, bytes.length - 3);
    await expect(buildEngine(cut, { backend: 'sim' })).rejects.toBeInstanceOf(Error);
  });
});

