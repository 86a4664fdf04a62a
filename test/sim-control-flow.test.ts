// The newer operators where ONNX's node test data leaves gaps. If: branches that
// read outer-scope values, nested Ifs, conditions known only at run time (only the taken
// branch runs) or at build time (the If folds to its branch, including conditions computed
// from static dims), per-branch output shapes, the refusals TensorRT makes, error paths into
// branches, hostile subgraphs. Also bool tensors through the I/O layer, bfloat16, float32
// CumSum, the activations without node test data here (Mish, Gelu, ...), and LSTM in every
// direction and inside an If. onnxruntime-node is the oracle for values.
import { create, fromBinary, toBinary } from '@bufbuild/protobuf';
import * as ort from 'onnxruntime-node';
import {
  AttributeProto_AttributeType,
  AttributeProtoSchema,
  type GraphProto,
  ModelProtoSchema,
} from 'onnx-buf';
import { describe, expect, it } from 'vitest';

import { buildEngine, InferenceSession, OnnxParseError, Tensor } from '../lib/index.js';
import { makeModel, makeTensor, type ModelSpec, type NodeSpec, type ValueSpec } from '../lib/onnx/model-builder.js';
import { expectClose } from './fixtures/oracle.js';

/** A branch graph: nodes and outputs, no inputs (it reads outer-scope values by name). */
interface Branch {
  nodes: NodeSpec[];
  outputs: ValueSpec[];
  initializers?: ModelSpec['initializers'];
}

/** The GraphProto of a branch, through makeModel (which does not check scoping). */
function branchGraph(b: Branch): GraphProto {
  return fromBinary(ModelProtoSchema, makeModel({ inputs: [], outputs: b.outputs, nodes: b.nodes, initializers: b.initializers ?? [] })).graph!;
}

/** An If node spec whose branches are attached by withBranches(). */
type IfSpec = { name: string; cond: string; outputs: string[]; then: Branch; else: Branch };

/** Serializes `spec` with each If's then_branch/else_branch attached as GRAPH attributes. */
function modelWithIfs(spec: ModelSpec, ifs: IfSpec[]): Uint8Array {
  const nodes = [...spec.nodes, ...ifs.map((i) => ({ op: 'If', name: i.name, inputs: [i.cond], outputs: i.outputs }))];
  const model = fromBinary(ModelProtoSchema, makeModel({ ...spec, nodes }));
  for (const i of ifs) {
    const node = model.graph!.node.find((n) => n.name === i.name)!;
    for (const [attr, b] of [['then_branch', i.then], ['else_branch', i.else]] as const)
      node.attribute.push(create(AttributeProtoSchema, { name: attr, type: AttributeProto_AttributeType.GRAPH, g: branchGraph(b) }));
  }
  return toBinary(ModelProtoSchema, model);
}

/** A branch graph attached to a node inside another branch (for nesting). */
function nestIf(branch: Branch, inner: IfSpec): Branch {
  return { ...branch, nodes: [...branch.nodes, { op: 'If', name: inner.name, inputs: [inner.cond], outputs: inner.outputs }], inner } as Branch & { inner: IfSpec };
}

/** Like modelWithIfs, but also attaches nested Ifs recorded by nestIf (one level deep per call). */
function attachNested(graph: GraphProto, b: Branch & { inner?: IfSpec }): void {
  if (!b.inner) return;
  const node = graph.node.find((n) => n.name === b.inner!.name)!;
  for (const [attr, sub] of [['then_branch', b.inner.then], ['else_branch', b.inner.else]] as const) {
    const g = branchGraph(sub);
    attachNested(g, sub as Branch & { inner?: IfSpec });
    node.attribute.push(create(AttributeProtoSchema, { name: attr, type: AttributeProto_AttributeType.GRAPH, g }));
  }
}

function modelWithNestedIfs(spec: ModelSpec, top: IfSpec): Uint8Array {
  const nodes = [...spec.nodes, { op: 'If', name: top.name, inputs: [top.cond], outputs: top.outputs }];
  const model = fromBinary(ModelProtoSchema, makeModel({ ...spec, nodes }));
  const node = model.graph!.node.find((n) => n.name === top.name)!;
  for (const [attr, b] of [['then_branch', top.then], ['else_branch', top.else]] as const) {
    const g = branchGraph(b);
    attachNested(g, b as Branch & { inner?: IfSpec });
    node.attribute.push(create(AttributeProtoSchema, { name: attr, type: AttributeProto_AttributeType.GRAPH, g }));
  }
  return toBinary(ModelProtoSchema, model);
}

async function runOrt(model: Uint8Array, feeds: Record<string, ort.Tensor>): Promise<Record<string, ort.Tensor>> {
  const session = await ort.InferenceSession.create(model, { intraOpNumThreads: 1, interOpNumThreads: 1, logSeverityLevel: 3 });
  try {
    return await session.run(feeds);
  } finally {
    await session.release();
  }
}

async function parseError(model: Uint8Array): Promise<OnnxParseError> {
  const error = await buildEngine(model, { backend: 'sim' }).then(
    () => undefined,
    (e: unknown) => e,
  );
  expect(error).toBeInstanceOf(OnnxParseError);
  return error as OnnxParseError;
}

const f32 = (name: string, shape: (number | string)[]): ValueSpec => ({ name, dtype: 'float32', shape });

describe('If on the sim', () => {
  // x [n, 4]; flag (int64 scalar). cond = flag > 0. then: x * 2 + bias (a branch constant);
  // else: the first 2 columns of x, negated (a different dim: the output's second dim is
  // dynamic and set by the taken branch at run time).
  const spec: ModelSpec = {
    opset: 17,
    inputs: [f32('x', ['n', 4]), { name: 'flag', dtype: 'int64', shape: [] }],
    outputs: [f32('y', ['n', 'm'])],
    initializers: [makeTensor('zero', 'int64', [], [0n])],
    nodes: [{ op: 'Greater', inputs: ['flag', 'zero'], outputs: ['cond'] }],
  };
  const ifNode: IfSpec = {
    name: 'If_7',
    cond: 'cond',
    outputs: ['y'],
    then: {
      initializers: [makeTensor('two', 'float32', [], [2]), makeTensor('bias', 'float32', [4], [1, 2, 3, 4])],
      nodes: [
        { op: 'Mul', inputs: ['x', 'two'], outputs: ['t'] },
        { op: 'Add', inputs: ['t', 'bias'], outputs: ['y_then'] },
      ],
      outputs: [f32('y_then', ['n', 4])],
    },
    else: {
      initializers: [makeTensor('starts', 'int64', [1], [0n]), makeTensor('ends', 'int64', [1], [2n]), makeTensor('axes', 'int64', [1], [1n])],
      nodes: [
        { op: 'Slice', inputs: ['x', 'starts', 'ends', 'axes'], outputs: ['s'] },
        { op: 'Neg', inputs: ['s'], outputs: ['y_else'] },
      ],
      outputs: [f32('y_else', ['n', 2])],
    },
  };
  const model = modelWithIfs(spec, [ifNode]);
  const x = Float32Array.from({ length: 12 }, (_, i) => i - 5);

  it('runs only the taken branch, with outer-scope values, and its shape, matching onnxruntime', async () => {
    const engine = await buildEngine(model, { backend: 'sim', profiles: [{ x: { min: [1, 4], opt: [3, 4], max: [8, 4] }, flag: { min: [], opt: [], max: [] } }] });
    using session = await InferenceSession.create(engine, { backend: 'sim' });
    for (const flag of [1n, -1n, 5n, 0n]) {
      const sim = await session.run({ x: new Tensor('float32', x, [3, 4]), flag: new Tensor('int64', BigInt64Array.of(flag), []) });
      const ref = await runOrt(model, { x: new ort.Tensor('float32', x, [3, 4]), flag: new ort.Tensor('int64', BigInt64Array.of(flag), []) });
      expect(sim.y!.dims).toEqual([...ref.y!.dims]);
      expectClose(sim.y!.data as Float32Array, ref.y!.data as Float32Array);
    }
  });

  it('folds a build-time constant condition to its branch, whose rank may differ from the other', async () => {
    const constSpec: ModelSpec = {
      opset: 17,
      inputs: [f32('x', [3, 4])],
      outputs: [f32('y', [3, 4])],
      initializers: [makeTensor('c', 'bool', [], [1])],
      nodes: [],
    };
    const m = modelWithIfs(constSpec, [
      {
        name: 'If_c',
        cond: 'c',
        outputs: ['y'],
        then: { nodes: [{ op: 'Relu', inputs: ['x'], outputs: ['r'] }], outputs: [f32('r', [3, 4])] },
        // Rank 1: TensorRT refuses this only when the condition is not a build-time constant.
        else: { nodes: [{ op: 'ReduceSum', inputs: ['x'], outputs: ['s'], attributes: { keepdims: 0 } }], outputs: [f32('s', [])] },
      },
    ]);
    const engine = await buildEngine(m, { backend: 'sim' });
    using session = await InferenceSession.create(engine, { backend: 'sim' });
    const out = await session.run({ x: new Tensor('float32', x, [3, 4]) });
    expect(out.y!.dims).toEqual([3, 4]);
    expect([...(out.y!.data as Float32Array)]).toEqual([...x].map((v) => Math.max(v, 0)));
  });

  it('folds a condition computed from static dims (the exported squeeze-if-size-1 pattern of silero VAD)', async () => {
    // cond = Shape(x)[-1] == 1; then Squeeze(x, -1) (rank 2), else Identity (rank 3). With
    // x's last dim static the condition is a build-time constant; with it dynamic the ranks
    // differ under an unknown condition, which TensorRT refuses and so does the sim.
    const squeezeIf = (last: number | string) =>
      modelWithIfs(
        {
          opset: 17,
          inputs: [f32('x', [2, 3, last])],
          outputs: [f32('y', [2, 3])],
          initializers: [makeTensor('minus1', 'int64', [1], [-1n]), makeTensor('one', 'int64', [1], [1n])],
          nodes: [
            { op: 'Shape', inputs: ['x'], outputs: ['s'] },
            { op: 'Gather', inputs: ['s', 'minus1'], outputs: ['g'], attributes: { axis: 0 } },
            { op: 'Equal', inputs: ['g', 'one'], outputs: ['c'] },
          ],
        },
        [
          {
            name: 'decoder/If',
            cond: 'c',
            outputs: ['y'],
            then: {
              initializers: [makeTensor('axes', 'int64', [1], [-1n])],
              nodes: [{ op: 'Squeeze', inputs: ['x', 'axes'], outputs: ['sq'] }],
              outputs: [f32('sq', [2, 3])],
            },
            else: { nodes: [{ op: 'Identity', inputs: ['x'], outputs: ['id'] }], outputs: [f32('id', [2, 3, 'k'])] },
          },
        ],
      );
    const engine = await buildEngine(squeezeIf(1), { backend: 'sim' });
    using session = await InferenceSession.create(engine, { backend: 'sim' });
    const out = await session.run({ x: new Tensor('float32', Float32Array.from({ length: 6 }, (_, i) => i), [2, 3, 1]) });
    expect(out.y!.dims).toEqual([2, 3]);
    expect([...(out.y!.data as Float32Array)]).toEqual([0, 1, 2, 3, 4, 5]);
    expect((await parseError(squeezeIf('t'))).message).toMatch(/decoder\/If.*rank 2 in then_branch but 3 in else_branch/);
  });

  it('refuses branches of different ranks when the condition is known only at run time, as TensorRT does', async () => {
    const m = modelWithIfs(
      { opset: 17, inputs: [f32('x', [3, 4]), { name: 'c', dtype: 'bool', shape: [] }], outputs: [f32('y', [3, 4])], nodes: [] },
      [
        {
          name: 'If_r',
          cond: 'c',
          outputs: ['y'],
          then: { nodes: [{ op: 'Relu', inputs: ['x'], outputs: ['r'] }], outputs: [f32('r', [3, 4])] },
          else: { nodes: [{ op: 'ReduceSum', inputs: ['x'], outputs: ['s'], attributes: { keepdims: 0 } }], outputs: [f32('s', [])] },
        },
      ],
    );
    const error = await parseError(m);
    expect(error.message).toMatch(/If_r.*rank 2 in then_branch but 0 in else_branch; TensorRT requires both branches/);
  });

  it('nests Ifs; an inner branch reads values of every enclosing scope', async () => {
    // a, b bool scalars; x [2]. then(a): If(b) { x + u } else { x - u } with u = x * 3 from
    // the outer branch; else(a): x * 10.
    const nested = modelWithNestedIfs(
      {
        opset: 17,
        inputs: [f32('x', [2]), { name: 'a', dtype: 'bool', shape: [] }, { name: 'b', dtype: 'bool', shape: [] }],
        outputs: [f32('y', [2])],
        initializers: [makeTensor('three', 'float32', [], [3]), makeTensor('ten', 'float32', [], [10])],
        nodes: [],
      },
      {
        name: 'outer',
        cond: 'a',
        outputs: ['y'],
        then: nestIf(
          { nodes: [{ op: 'Mul', inputs: ['x', 'three'], outputs: ['u'] }], outputs: [f32('v', [2])] },
          {
            name: 'inner',
            cond: 'b',
            outputs: ['v'],
            then: { nodes: [{ op: 'Add', inputs: ['x', 'u'], outputs: ['p'] }], outputs: [f32('p', [2])] },
            else: { nodes: [{ op: 'Sub', inputs: ['x', 'u'], outputs: ['q'] }], outputs: [f32('q', [2])] },
          },
        ),
        else: { nodes: [{ op: 'Mul', inputs: ['x', 'ten'], outputs: ['w'] }], outputs: [f32('w', [2])] },
      },
    );
    const engine = await buildEngine(nested, { backend: 'sim' });
    using session = await InferenceSession.create(engine, { backend: 'sim' });
    const xs = Float32Array.of(1, -2);
    for (const [a, b, want] of [
      [1, 1, [4, -8]],
      [1, 0, [-2, 4]],
      [0, 1, [10, -20]],
      [0, 0, [10, -20]],
    ] as const) {
      const out = await session.run({
        x: new Tensor('float32', xs, [2]),
        a: new Tensor('bool', Uint8Array.of(a), []),
        b: new Tensor('bool', Uint8Array.of(b), []),
      });
      expect([...(out.y!.data as Float32Array)]).toEqual(want);
    }
  });

  it('names each unsupported node inside a branch by its path, once, and says whether TensorRT has it', async () => {
    const m = modelWithIfs(
      // Opset 7: before ONNX's Scan, which TensorRT's parser has and the sim runs from opset 8.
      { opset: 7, inputs: [f32('x', [1, 2, 3]), { name: 'c', dtype: 'bool', shape: [] }], outputs: [f32('y', [1, 2, 3])], nodes: [] },
      [
        {
          name: 'If_25',
          cond: 'c',
          outputs: ['y'],
          then: { nodes: [{ op: 'Scan', name: 'Scan_3', inputs: ['x'], outputs: ['l'] }], outputs: [f32('l', [1, 2, 3])] },
          else: { nodes: [{ op: 'Det', name: 'Det_1', inputs: ['x'], outputs: ['d'] }], outputs: [f32('d', [1, 2, 3])] },
        },
      ],
    );
    const error = await parseError(m);
    const nodes = error.parserErrors.map((p) => p.node);
    expect(nodes.filter((n) => n === 'If_25/then_branch/Scan_3')).toHaveLength(1);
    expect(nodes.filter((n) => n === 'If_25/else_branch/Det_1')).toHaveLength(1);
    const lp = error.parserErrors.find((p) => p.node === 'If_25/then_branch/Scan_3')!;
    expect(lp.description).toMatch(/TensorRT's ONNX parser supports it/);
    const det = error.parserErrors.find((p) => p.node === 'If_25/else_branch/Det_1')!;
    expect(det.description).toMatch(/TensorRT's ONNX parser does not support it either/);
  });

  it('names unsupported nodes inside Loop bodies, with their path', async () => {
    const bytes = makeModel({
      opset: 17,
      inputs: [f32('x', [2]), { name: 'n', dtype: 'int64', shape: [] }, { name: 'c', dtype: 'bool', shape: [] }],
      outputs: [f32('y', [2])],
      nodes: [{ op: 'Loop', name: 'Loop_3', inputs: ['n', 'c', 'x'], outputs: ['y'] }],
    });
    const model = fromBinary(ModelProtoSchema, bytes);
    const body = branchGraph({ nodes: [{ op: 'Det', name: 'Det_0', inputs: ['x'], outputs: ['d'] }, { op: 'Relu', name: 'Relu_1', inputs: ['d'], outputs: ['r'] }], outputs: [f32('r', [2])] });
    model.graph!.node[0]!.attribute.push(create(AttributeProtoSchema, { name: 'body', type: AttributeProto_AttributeType.GRAPH, g: body }));
    const error = await parseError(toBinary(ModelProtoSchema, model));
    expect(error.parserErrors.map((p) => p.node)).toEqual(['Loop_3/body/Det_0']);
    expect(error.parserErrors[0]!.description).toMatch(/'Det'.*TensorRT's ONNX parser does not support it either/);
  });

  it('refuses hostile subgraphs with typed errors: nesting too deep, a branch value read from outside, a reserved attribute', async () => {
    // 40 nested Ifs (the sim reads 32).
    let branch: Branch = { nodes: [{ op: 'Identity', inputs: ['x'], outputs: ['o40'] }], outputs: [f32('o40', [1])] };
    for (let d = 39; d >= 0; d--) {
      const other: Branch = { nodes: [{ op: 'Identity', inputs: ['x'], outputs: [`e${d}`] }], outputs: [f32(`e${d}`, [1])] };
      const inner: IfSpec = { name: `if${d}`, cond: 'c', outputs: [`o${d}`], then: branch, else: other };
      branch = nestIf({ nodes: [], outputs: [f32(`o${d}`, [1])] }, inner);
    }
    const deepSpec: ModelSpec = { opset: 17, inputs: [f32('x', [1]), { name: 'c', dtype: 'bool', shape: [] }], outputs: [f32('y', [1])], nodes: [] };
    const top = (branch as Branch & { inner: IfSpec }).inner;
    const deep = modelWithNestedIfs(deepSpec, { ...top, outputs: ['y'] });
    expect((await parseError(deep)).message).toMatch(/nests If branches more than 32 deep/);

    // A main-graph node reading a tensor only the then_branch computes, by its flattened name.
    const leak = modelWithIfs(
      {
        opset: 17,
        inputs: [f32('x', [2]), { name: 'c', dtype: 'bool', shape: [] }],
        outputs: [f32('y', [2]), f32('z', [2])],
        nodes: [{ op: 'Identity', inputs: ['If_0/then_branch/t'], outputs: ['z'] }],
      },
      [
        {
          name: 'If_0',
          cond: 'c',
          outputs: ['y'],
          then: { nodes: [{ op: 'Relu', inputs: ['x'], outputs: ['t'] }], outputs: [f32('t', [2])] },
          else: { nodes: [{ op: 'Neg', inputs: ['x'], outputs: ['e'] }], outputs: [f32('e', [2])] },
        },
      ],
    );
    expect((await parseError(leak)).message).toMatch(/which an If branch computes only where the node does not run/);

    const reserved = makeModel({
      opset: 17,
      inputs: [f32('x', [2])],
      outputs: [f32('y', [2])],
      nodes: [{ op: 'Relu', inputs: ['x'], outputs: ['y'], attributes: { 'tnrt.guard': [0, 1] } }],
    });
    expect((await parseError(reserved)).message).toMatch(/'tnrt\.guard' is reserved/);

    // Branch output count differing from the If's.
    const counts = modelWithIfs(
      { opset: 17, inputs: [f32('x', [2]), { name: 'c', dtype: 'bool', shape: [] }], outputs: [f32('y', [2])], nodes: [] },
      [{ name: 'If_n', cond: 'c', outputs: ['y'], then: { nodes: [], outputs: [f32('x', [2]), f32('x', [2])] }, else: { nodes: [], outputs: [f32('x', [2])] } }],
    );
    expect((await parseError(counts)).message).toMatch(/has 1 outputs but its then_branch has 2/);
  });
});

describe('element-wise operators: bool tensors, bfloat16, CumSum', () => {
  it('bool tensors in and out: Equal, Not, And, Where, against onnxruntime', async () => {
    const m = makeModel({
      opset: 17,
      inputs: [{ name: 'a', dtype: 'int64', shape: [2, 3] }, { name: 'b', dtype: 'int64', shape: [3] }, { name: 'm', dtype: 'bool', shape: [2, 1] }],
      outputs: [{ name: 'eq', dtype: 'bool', shape: [2, 3] }, { name: 'sel', dtype: 'int64', shape: [2, 3] }],
      nodes: [
        { op: 'Equal', inputs: ['a', 'b'], outputs: ['e'] },
        { op: 'Not', inputs: ['m'], outputs: ['nm'] },
        { op: 'And', inputs: ['e', 'nm'], outputs: ['eq'] },
        { op: 'Where', inputs: ['m', 'a', 'b'], outputs: ['sel'] },
      ],
    });
    const a = BigInt64Array.of(1n, 2n, 3n, 4n, 2n, 6n);
    const b = BigInt64Array.of(1n, 2n, 0n);
    const mask = Uint8Array.of(0, 1);
    const engine = await buildEngine(m, { backend: 'sim' });
    using session = await InferenceSession.create(engine, { backend: 'sim' });
    const sim = await session.run({ a: new Tensor('int64', a, [2, 3]), b: new Tensor('int64', b, [3]), m: new Tensor('bool', mask, [2, 1]) });
    const ref = await runOrt(m, { a: new ort.Tensor('int64', a, [2, 3]), b: new ort.Tensor('int64', b, [3]), m: new ort.Tensor('bool', mask, [2, 1]) });
    expect(sim.eq!.dtype).toBe('bool');
    expect([...(sim.eq!.data as Uint8Array)]).toEqual([...(ref.eq!.data as Uint8Array)].map(Number));
    expect([...(sim.sel!.data as BigInt64Array)]).toEqual([...(ref.sel!.data as BigInt64Array)]);
  });

  it('bfloat16 unary math computes in float32 and rounds once at the output', async () => {
    // 1.5, -0.75, 3, 0.1015625 are exact in bfloat16 (bits 0x3fc0, 0xbf40, 0x4040, 0x3dd0).
    const bits = Uint16Array.of(0x3fc0, 0xbf40, 0x4040, 0x3dd0);
    const values = [1.5, -0.75, 3, 0.1015625];
    const m = makeModel({
      opset: 17,
      inputs: [{ name: 'x', dtype: 'bfloat16', shape: [4] }],
      outputs: [{ name: 'y', dtype: 'bfloat16', shape: [4] }],
      nodes: [{ op: 'Sin', inputs: ['x'], outputs: ['y'] }],
    });
    const engine = await buildEngine(m, { backend: 'sim' });
    using session = await InferenceSession.create(engine, { backend: 'sim' });
    const out = await session.run({ x: new Tensor('bfloat16', bits, [4]) });
    // Expected: Math.sin in double, rounded to float32, then to bfloat16 (nearest even).
    const expected = values.map((v) => {
      const f = new Float32Array([Math.sin(v)]);
      const u = new Uint32Array(f.buffer)[0]!;
      return (u + 0x7fff + ((u >>> 16) & 1)) >>> 16;
    });
    expect([...(out.y!.data as Uint16Array)]).toEqual(expected);
  });

  for (const [op, opset, attributes] of [
    ['Mish', 18, {}],
    ['Gelu', 20, {}],
    ['Gelu', 20, { approximate: 'tanh' }],
    ['Celu', 12, { alpha: { floats: [0.7] } }],
    ['ThresholdedRelu', 10, { alpha: { floats: [0.3] } }],
    ['Shrink', 9, { lambd: { floats: [0.4] }, bias: { floats: [0.1] } }],
    ['Round', 11, {}],
  ] as const) {
    it(`${op} ${JSON.stringify(attributes)} (no ONNX node test data for it here) matches onnxruntime`, async () => {
      const m = makeModel({ opset, inputs: [f32('x', [16])], outputs: [f32('y', [16])], nodes: [{ op, inputs: ['x'], outputs: ['y'], attributes }] });
      const xs = Float32Array.from({ length: 16 }, (_, i) => (i - 7.5) * 0.5);
      const engine = await buildEngine(m, { backend: 'sim' });
      using session = await InferenceSession.create(engine, { backend: 'sim' });
      const sim = await session.run({ x: new Tensor('float32', xs, [16]) });
      const ref = await runOrt(m, { x: new ort.Tensor('float32', xs, [16]) });
      expectClose(sim.y!.data as Float32Array, ref.y!.data as Float32Array);
    });
  }

  it('ReduceLogSumExp in float32 (ONNX\'s node tests use double) matches onnxruntime, large inputs included', async () => {
    const m = makeModel({ opset: 13, inputs: [f32('x', [2, 3])], outputs: [f32('y', [2, 1])], nodes: [{ op: 'ReduceLogSumExp', inputs: ['x'], outputs: ['y'], attributes: { axes: [1], keepdims: 1 } }] });
    const xs = Float32Array.of(1, 2, 3, 100, 101, 99);
    const engine = await buildEngine(m, { backend: 'sim' });
    using session = await InferenceSession.create(engine, { backend: 'sim' });
    const sim = await session.run({ x: new Tensor('float32', xs, [2, 3]) });
    const ref = await runOrt(m, { x: new ort.Tensor('float32', xs, [2, 3]) });
    expectClose(sim.y!.data as Float32Array, ref.y!.data as Float32Array);
  });

  it('ScaledTanh, ParametricSoftplus, ImageScaler (experimental before opset 10; onnxruntime lacks them) by arithmetic', async () => {
    const xs = Float32Array.from({ length: 8 }, (_, i) => (i - 3.5) * 0.75);
    const run = async (op: string, attributes: NodeSpec['attributes'], dims: number[]) => {
      const m = makeModel({ opset: 9, inputs: [f32('x', dims)], outputs: [f32('y', dims)], nodes: [{ op, inputs: ['x'], outputs: ['y'], attributes }] });
      const engine = await buildEngine(m, { backend: 'sim' });
      using session = await InferenceSession.create(engine, { backend: 'sim' });
      return (await session.run({ x: new Tensor('float32', xs, dims) })).y!.data as Float32Array;
    };
    // alpha * tanh(beta * x); alpha * ln(1 + exp(beta * x)); scale * x + bias[channel].
    expectClose(await run('ScaledTanh', { alpha: { floats: [1.5] }, beta: { floats: [0.5] } }, [8]), [...xs].map((v) => 1.5 * Math.tanh(0.5 * v)));
    expectClose(await run('ParametricSoftplus', { alpha: { floats: [2] }, beta: { floats: [0.25] } }, [8]), [...xs].map((v) => 2 * Math.log1p(Math.exp(0.25 * v))));
    expectClose(await run('ImageScaler', { scale: { floats: [3] }, bias: { floats: [1, -1] } }, [1, 2, 2, 2]), [...xs].map((v, i) => 3 * v + (i < 4 ? 1 : -1)));
  });

  it('CumSum in float32 (ONNX\'s node tests use double) matches onnxruntime, exclusive and reverse', async () => {
    for (const attributes of [{}, { exclusive: 1 }, { reverse: 1 }, { exclusive: 1, reverse: 1 }] as Record<string, number>[]) {
      const m = makeModel({
        opset: 14,
        inputs: [f32('x', [2, 3])],
        outputs: [f32('y', [2, 3])],
        initializers: [makeTensor('axis', 'int32', [], [1])],
        nodes: [{ op: 'CumSum', inputs: ['x', 'axis'], outputs: ['y'], attributes }],
      });
      const xs = Float32Array.of(1, 2, 3, 4, 5, 6);
      const engine = await buildEngine(m, { backend: 'sim' });
      using session = await InferenceSession.create(engine, { backend: 'sim' });
      const sim = await session.run({ x: new Tensor('float32', xs, [2, 3]) });
      const ref = await runOrt(m, { x: new ort.Tensor('float32', xs, [2, 3]) });
      expectClose(sim.y!.data as Float32Array, ref.y!.data as Float32Array);
    }
  });
});

describe('LSTM on the sim against onnxruntime', () => {
  const I = 3;
  const Hd = 4;
  const seeded = (n: number, seed: number, scale = 0.5) => Float32Array.from({ length: n }, (_, i) => Math.sin(seed * 7.1 + i * 1.3) * scale);

  /** An LSTM model with every optional input given (W, R, B, P as initializers). */
  function lstmModel(direction: string, dirs: number, extra: Record<string, unknown> = {}): Uint8Array {
    // makeModel writes no STRINGS attributes: activations is attached to the proto below.
    const { activations, ...rest } = extra as { activations?: string[] } & Record<string, number | { floats: number[] }>;
    const bytes = makeModel({
      opset: 14,
      inputs: [
        f32('x', [5, 2, I]),
        { name: 'lens', dtype: 'int32', shape: [2] },
        f32('h0', [dirs, 2, Hd]),
        f32('c0', [dirs, 2, Hd]),
      ],
      outputs: [f32('y', [5, dirs, 2, Hd]), f32('yh', [dirs, 2, Hd]), f32('yc', [dirs, 2, Hd])],
      initializers: [
        makeTensor('W', 'float32', [dirs, 4 * Hd, I], seeded(dirs * 4 * Hd * I, 1)),
        makeTensor('R', 'float32', [dirs, 4 * Hd, Hd], seeded(dirs * 4 * Hd * Hd, 2)),
        makeTensor('B', 'float32', [dirs, 8 * Hd], seeded(dirs * 8 * Hd, 3)),
        makeTensor('P', 'float32', [dirs, 3 * Hd], seeded(dirs * 3 * Hd, 4)),
      ],
      nodes: [{ op: 'LSTM', inputs: ['x', 'W', 'R', 'B', 'lens', 'h0', 'c0', 'P'], outputs: ['y', 'yh', 'yc'], attributes: { direction, hidden_size: Hd, ...rest } }],
    });
    if (!activations) return bytes;
    const model = fromBinary(ModelProtoSchema, bytes);
    model.graph!.node[0]!.attribute.push(
      create(AttributeProtoSchema, { name: 'activations', type: AttributeProto_AttributeType.STRINGS, strings: activations.map((a) => new TextEncoder().encode(a)) }),
    );
    return toBinary(ModelProtoSchema, model);
  }

  for (const [direction, dirs, extra] of [
    ['forward', 1, {}],
    ['reverse', 1, { clip: { floats: [0.7] } }],
    ['bidirectional', 2, {}],
    ['bidirectional', 2, { activations: ['HardSigmoid', 'Tanh', 'Softsign', 'HardSigmoid', 'Tanh', 'Softsign'], activation_alpha: { floats: [0.3, 0.3] }, activation_beta: { floats: [0.4, 0.4] } }],
  ] as const) {
    it(`${direction} ${JSON.stringify(extra)} with sequence_lens, initial states and peepholes`, async () => {
      const m = lstmModel(direction, dirs, extra);
      const xs = seeded(5 * 2 * I, 5, 1);
      const lens = Int32Array.of(5, 3);
      const h0 = seeded(dirs * 2 * Hd, 6);
      const c0 = seeded(dirs * 2 * Hd, 7);
      const engine = await buildEngine(m, { backend: 'sim' });
      using session = await InferenceSession.create(engine, { backend: 'sim' });
      const sim = await session.run({
        x: new Tensor('float32', xs, [5, 2, I]),
        lens: new Tensor('int32', lens, [2]),
        h0: new Tensor('float32', h0, [dirs, 2, Hd]),
        c0: new Tensor('float32', c0, [dirs, 2, Hd]),
      });
      const ref = await runOrt(m, {
        x: new ort.Tensor('float32', xs, [5, 2, I]),
        lens: new ort.Tensor('int32', lens, [2]),
        h0: new ort.Tensor('float32', h0, [dirs, 2, Hd]),
        c0: new ort.Tensor('float32', c0, [dirs, 2, Hd]),
      });
      for (const k of ['y', 'yh', 'yc']) {
        expect(sim[k]!.dims).toEqual([...ref[k]!.dims]);
        expectClose(sim[k]!.data as Float32Array, ref[k]!.data as Float32Array);
      }
    });
  }

  it('runs inside an If branch (the silero VAD pattern), reading the outer state', async () => {
    const W = makeTensor('W', 'float32', [1, 4 * Hd, I], seeded(4 * Hd * I, 1));
    const R = makeTensor('R', 'float32', [1, 4 * Hd, Hd], seeded(4 * Hd * Hd, 2));
    const m = modelWithIfs(
      {
        opset: 14,
        inputs: [f32('x', [5, 1, I]), f32('h0', [1, 1, Hd]), { name: 'c', dtype: 'bool', shape: [] }],
        outputs: [f32('yh', [1, 1, Hd])],
        initializers: [W, R],
        nodes: [],
      },
      [
        {
          name: 'If_25',
          cond: 'c',
          outputs: ['yh'],
          then: { nodes: [{ op: 'LSTM', name: 'LSTM_3', inputs: ['x', 'W', 'R', '', '', 'h0'], outputs: ['', 'hn'], attributes: { hidden_size: Hd } }], outputs: [f32('hn', [1, 1, Hd])] },
          else: { nodes: [{ op: 'Identity', inputs: ['h0'], outputs: ['same'] }], outputs: [f32('same', [1, 1, Hd])] },
        },
      ],
    );
    const xs = seeded(5 * I, 8, 1);
    const h0 = seeded(Hd, 9);
    const engine = await buildEngine(m, { backend: 'sim' });
    using session = await InferenceSession.create(engine, { backend: 'sim' });
    for (const c of [1, 0]) {
      const sim = await session.run({ x: new Tensor('float32', xs, [5, 1, I]), h0: new Tensor('float32', h0, [1, 1, Hd]), c: new Tensor('bool', Uint8Array.of(c), []) });
      const ref = await runOrt(m, { x: new ort.Tensor('float32', xs, [5, 1, I]), h0: new ort.Tensor('float32', h0, [1, 1, Hd]), c: new ort.Tensor('bool', Uint8Array.of(c), []) });
      expectClose(sim.yh!.data as Float32Array, ref.yh!.data as Float32Array);
    }
  });
});
