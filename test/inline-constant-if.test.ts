// Inlining an If whose condition is a build-time constant: the model with the taken branch in
// the If's place must compute what the original computes. The reference is onnxruntime-node
// running the original model (it evaluates the If itself); the inlined model is run by
// onnxruntime-node and by the sim, and the original by the sim too.
import { toBinary } from '@bufbuild/protobuf';
import { ModelProtoSchema, type ModelProto } from 'onnx-buf';
import { describe, expect, it, vi } from 'vitest';

import { buildEngine, InferenceSession, Logger, quantizeInt8WithReport, Tensor } from '../lib/index.js';
import { inlineConstantIfs } from '../lib/onnx/inline-constant-if.js';
import { makeModel, makeTensor, type GraphSpec, type ModelSpec, type NodeSpec, type ValueSpec } from '../lib/onnx/model-builder.js';
import { parseModel } from '../lib/onnx/model-io.js';
import { expectClose, runOnnxRuntime } from './fixtures/oracle.js';
// @ts-expect-error plain ESM shared with scripts/zoo.mjs, no type declarations
import { compare, fixInputs, isCached, loadModel, ortRunner, runSteps } from './zoo/harness.mjs';
// @ts-expect-error plain ESM shared with scripts/zoo.mjs, no type declarations
import { manifest } from './zoo/models.mjs';

const f32 = (name: string, shape: (number | string)[]): ValueSpec => ({ name, dtype: 'float32', shape });
type Feeds = Record<string, { data: Float32Array; dims: number[] }>;

/** A branch: no inputs, it reads outer values by name. */
const branch = (nodes: NodeSpec[], outputs: ValueSpec[], initializers: GraphSpec['initializers'] = []): { graph: GraphSpec } => ({
  graph: { inputs: [], outputs, nodes, initializers },
});

function inlined(bytes: Uint8Array): { model: ModelProto; bytes: Uint8Array; done: ReturnType<typeof inlineConstantIfs> } {
  const model = parseModel(bytes);
  const done = inlineConstantIfs(model);
  return { model, bytes: toBinary(ModelProtoSchema, model), done };
}

/** Every op type of the main graph, in order. */
const ops = (model: ModelProto) => model.graph!.node.map((n) => n.opType);

async function runSim(model: Uint8Array, feeds: Feeds): Promise<Record<string, Float32Array>> {
  const engine = await buildEngine(model, { backend: 'sim' });
  using session = await InferenceSession.create(engine, { backend: 'sim' });
  const out = await session.run(Object.fromEntries(Object.entries(feeds).map(([n, f]) => [n, new Tensor('float32', f.data, f.dims)])));
  return Object.fromEntries(Object.entries(out).map(([n, t]) => [n, (t.data as Float32Array).slice()]));
}

/** The inlined model against the original: same outputs on onnxruntime (exactly: same kernels), and on the sim. */
async function expectSameResults(original: Uint8Array, inlinedBytes: Uint8Array, feeds: Feeds): Promise<void> {
  const reference = await runOnnxRuntime(original, feeds);
  const ort = await runOnnxRuntime(inlinedBytes, feeds);
  expect(Object.keys(ort).sort()).toEqual(Object.keys(reference).sort());
  for (const [name, r] of Object.entries(reference)) {
    expect(ort[name]!.dims).toEqual(r.dims);
    expect(Array.from(ort[name]!.data)).toEqual(Array.from(r.data));
  }
  for (const model of [inlinedBytes, original]) {
    const sim = await runSim(model, feeds);
    for (const [name, r] of Object.entries(reference)) expectClose(sim[name]!, r.data);
  }
}

const x23 = (): Feeds => ({ x: { data: Float32Array.from({ length: 6 }, (_, i) => (i - 2.5) * 0.75), dims: [2, 3] } });

/** x [2, 3]; `sr` an int64 initializer compared with a Constant 16000, as silero VAD prepared for TensorRT. */
function sampleRateModel(sr: number): Uint8Array {
  return makeModel({
    inputs: [f32('x', [2, 3])],
    outputs: [f32('y', [2, 3])],
    initializers: [makeTensor('sr', 'int64', [], [BigInt(sr)])],
    nodes: [
      { op: 'Constant', inputs: [], outputs: ['c16k'], attributes: { value: makeTensor('', 'int64', [], [16000n]) } },
      { op: 'Equal', inputs: ['sr', 'c16k'], outputs: ['is16k'] },
      {
        op: 'If',
        inputs: ['is16k'],
        outputs: ['y'],
        name: 'If_sr',
        attributes: {
          then_branch: branch([{ op: 'Mul', inputs: ['x', 'x'], outputs: ['sq'] }, { op: 'Sub', inputs: ['sq', 'x'], outputs: ['then_y'] }], [f32('then_y', [2, 3])]),
          else_branch: branch([{ op: 'Neg', inputs: ['x'], outputs: ['else_y'] }], [f32('else_y', [2, 3])]),
        },
      },
    ],
  });
}

describe('inlineConstantIfs', () => {
  it('takes the then branch when the condition holds and the else branch when not', async () => {
    for (const [sr, taken, opTypes] of [[16000, 'then_branch', ['Constant', 'Equal', 'Mul', 'Sub']], [8000, 'else_branch', ['Constant', 'Equal', 'Neg']]] as const) {
      const original = sampleRateModel(sr);
      const result = inlined(original);
      expect(result.done).toEqual([{ node: 'If_sr', condition: 'is16k', branch: taken, nodes: opTypes.length - 2 }]);
      expect(ops(result.model)).toEqual(opTypes);
      // The branch's last node writes the If's output itself: no Identity needed.
      expect(result.model.graph!.node.at(-1)!.output).toEqual(['y']);
      await expectSameResults(original, result.bytes, x23());
    }
  });

  it('follows the condition through Cast, Squeeze, Reshape, Not, Or and comparisons of floats; a branch reads outer values and outputs its initializer', async () => {
    // flag: int32 [1] = 3 -> Cast to bool (true) -> Squeeze -> Or(false) -> Not -> Not = true;
    // and (0.5 < 0.25) = false, Xor true = true; And of both = true.
    const original = makeModel({
      inputs: [f32('x', [2, 3])],
      outputs: [f32('y', [2, 3]), f32('z', [2, 3])],
      initializers: [makeTensor('flag', 'int32', [1], [3]), makeTensor('half', 'float32', [1, 1], [0.5]), makeTensor('shape0', 'int64', [0], [])],
      nodes: [
        { op: 'Relu', inputs: ['x'], outputs: ['r'] },
        { op: 'Cast', inputs: ['flag'], outputs: ['fb'], attributes: { to: 9 } },
        { op: 'Squeeze', inputs: ['fb'], outputs: ['fs'] },
        { op: 'Constant', inputs: [], outputs: ['no'], attributes: { value: makeTensor('', 'bool', [], [0]) } },
        { op: 'Or', inputs: ['fs', 'no'], outputs: ['o'] },
        { op: 'Not', inputs: ['o'], outputs: ['n1'] },
        { op: 'Not', inputs: ['n1'], outputs: ['a'] },
        { op: 'Constant', inputs: [], outputs: ['quarter'], attributes: { value_float: 0.25 } },
        { op: 'Reshape', inputs: ['half', 'shape0'], outputs: ['half0'] },
        { op: 'Less', inputs: ['half0', 'quarter'], outputs: ['lt'] },
        { op: 'Constant', inputs: [], outputs: ['yes'], attributes: { value: makeTensor('', 'bool', [1], [1]) } },
        { op: 'Xor', inputs: ['lt', 'yes'], outputs: ['b'] },
        { op: 'And', inputs: ['a', 'b'], outputs: ['cond'] },
        {
          op: 'If',
          inputs: ['cond'],
          outputs: ['y', 'z'],
          name: 'If_outer_reads',
          attributes: {
            then_branch: branch(
              [{ op: 'Sub', inputs: ['r', 'x'], outputs: ['d'] }, { op: 'Mul', inputs: ['d', 'x'], outputs: ['m'] }],
              [f32('m', [2, 3]), f32('k', [2, 3])],
              [makeTensor('k', 'float32', [2, 3], [1, 2, 3, 4, 5, 6])],
            ),
            else_branch: branch([{ op: 'Identity', inputs: ['x'], outputs: ['i0'] }, { op: 'Identity', inputs: ['x'], outputs: ['i1'] }], [f32('i0', [2, 3]), f32('i1', [2, 3])]),
          },
        },
      ],
    });
    const result = inlined(original);
    expect(result.done.map((d) => [d.node, d.branch])).toEqual([['If_outer_reads', 'then_branch']]);
    expect(ops(result.model)).not.toContain('If');
    // The second output is the branch's initializer: it reaches `z` through an Identity.
    const identity = result.model.graph!.node.find((n) => n.opType === 'Identity')!;
    expect([identity.input, identity.output]).toEqual([['k'], ['z']]);
    await expectSameResults(original, result.bytes, x23());
  });

  it("renames a branch initializer whose name a main-graph value has, and a branch value a sibling If's branch defines", async () => {
    // Main graph: w (initializer) and p = x + w. The constant If's branch has its own `w` and
    // makes `v`; the other If (condition from an input, left as it is) also makes a `v` in its
    // branches, which must not end up shadowing a main-graph `v`.
    const original = makeModel({
      inputs: [f32('x', [2, 3]), f32('s', [1])],
      outputs: [f32('p', [2, 3]), f32('y', [2, 3]), f32('q', [2, 3])],
      initializers: [makeTensor('w', 'float32', [3], [1, 2, 3]), makeTensor('one', 'float32', [1], [1]), makeTensor('t', 'bool', [], [1])],
      nodes: [
        { op: 'Add', inputs: ['x', 'w'], outputs: ['p'] },
        {
          op: 'If',
          inputs: ['t'],
          outputs: ['y'],
          name: 'If_clash',
          attributes: {
            then_branch: branch(
              [{ op: 'Mul', inputs: ['p', 'w'], outputs: ['v'] }, { op: 'Add', inputs: ['v', 'w'], outputs: ['y_then'] }],
              [f32('y_then', [2, 3])],
              [makeTensor('w', 'float32', [3], [10, 20, 30])],
            ),
            else_branch: branch([{ op: 'Identity', inputs: ['p'], outputs: ['y_else'] }], [f32('y_else', [2, 3])]),
          },
        },
        { op: 'Greater', inputs: ['s', 'one'], outputs: ['runtime_cond'] },
        {
          op: 'If',
          inputs: ['runtime_cond'],
          outputs: ['q'],
          name: 'If_runtime',
          attributes: {
            then_branch: branch([{ op: 'Neg', inputs: ['y'], outputs: ['v'] }], [f32('v', [2, 3])]),
            else_branch: branch([{ op: 'Abs', inputs: ['y'], outputs: ['v'] }], [f32('v', [2, 3])]),
          },
        },
      ],
    });
    const result = inlined(original);
    expect(result.done.map((d) => d.node)).toEqual(['If_clash']);
    const graph = result.model.graph!;
    expect(ops(result.model)).toEqual(['Add', 'Mul', 'Add', 'Greater', 'If']);
    // The branch's `w` and `v` got names of their own; the main graph's `w` is untouched.
    const mul = graph.node[1]!;
    expect(mul.input[0]).toBe('p');
    expect(mul.input[1]).not.toBe('w');
    expect(mul.output[0]).not.toBe('v');
    expect(graph.initializer.map((t) => t.name)).toEqual(['w', 'one', 't', mul.input[1]]);
    for (const s of [0, 2]) {
      await expectSameResults(original, result.bytes, { ...x23(), s: { data: Float32Array.of(s), dims: [1] } });
    }
  });

  it('inlines a constant If inside a taken branch too, its branches reading the outer branch values under their new names', async () => {
    // Outer If (true) -> then: u = x + x (u is also made in the branches of a run-time If
    // after it), an inner If whose condition (Identity of a Constant false) is known once the
    // outer branch is inlined; the inner else branch reads u.
    const original = makeModel({
      inputs: [f32('x', [2, 3]), f32('s', [1])],
      outputs: [f32('y', [2, 3]), f32('q', [2, 3])],
      initializers: [makeTensor('t', 'bool', [1], [1]), makeTensor('one', 'float32', [1], [1])],
      nodes: [
        { op: 'Sigmoid', inputs: ['x'], outputs: ['sg'] },
        {
          op: 'If',
          inputs: ['t'],
          outputs: ['y'],
          name: 'If_outer',
          attributes: {
            then_branch: branch(
              [
                { op: 'Add', inputs: ['x', 'x'], outputs: ['u'] },
                { op: 'Constant', inputs: [], outputs: ['f'], attributes: { value: makeTensor('', 'bool', [], [0]) } },
                { op: 'Identity', inputs: ['f'], outputs: ['f2'] },
                {
                  op: 'If',
                  inputs: ['f2'],
                  outputs: ['inner_y'],
                  name: 'If_inner',
                  attributes: {
                    then_branch: branch([{ op: 'Neg', inputs: ['x'], outputs: ['neg'] }], [f32('neg', [2, 3])]),
                    else_branch: branch([{ op: 'Mul', inputs: ['u', 'x'], outputs: ['prod'] }], [f32('prod', [2, 3])]),
                  },
                },
              ],
              [f32('inner_y', [2, 3])],
            ),
            else_branch: branch([{ op: 'Identity', inputs: ['x'], outputs: ['y_else'] }], [f32('y_else', [2, 3])]),
          },
        },
        { op: 'Greater', inputs: ['s', 'one'], outputs: ['runtime_cond'] },
        {
          op: 'If',
          inputs: ['runtime_cond'],
          outputs: ['q'],
          name: 'If_runtime',
          attributes: {
            then_branch: branch([{ op: 'Add', inputs: ['y', 'sg'], outputs: ['u'] }], [f32('u', [2, 3])]),
            else_branch: branch([{ op: 'Sub', inputs: ['y', 'sg'], outputs: ['u'] }], [f32('u', [2, 3])]),
          },
        },
      ],
    });
    const result = inlined(original);
    expect(result.done.map((d) => [d.node, d.branch])).toEqual([['If_outer', 'then_branch'], ['If_inner', 'else_branch']]);
    expect(ops(result.model)).toEqual(['Sigmoid', 'Add', 'Constant', 'Identity', 'Mul', 'Greater', 'If']);
    const [, add, , , mul] = result.model.graph!.node;
    expect(add!.output[0]).not.toBe('u');
    expect(mul!.input).toEqual([add!.output[0], 'x']);
    expect(mul!.output).toEqual(['y']);
    for (const s of [0, 2]) await expectSameResults(original, result.bytes, { ...x23(), s: { data: Float32Array.of(s), dims: [1] } });
  });

  it('leaves an If alone when its condition is known only at run time', () => {
    const cases: ModelSpec[] = [
      // From the input's shape: the sim and TensorRT fold it once dims are fixed, but this pass reasons only on constants.
      {
        inputs: [f32('x', [2, 3])],
        outputs: [f32('y', [2, 3])],
        initializers: [makeTensor('two', 'int64', [1], [2n]), makeTensor('i0', 'int64', [1], [0n])],
        nodes: [
          { op: 'Shape', inputs: ['x'], outputs: ['shape'] },
          { op: 'Gather', inputs: ['shape', 'i0'], outputs: ['n'] },
          { op: 'Equal', inputs: ['n', 'two'], outputs: ['cond'] },
        ],
      },
      // An initializer that is also a graph input: its value is a default the caller may replace.
      {
        inputs: [f32('x', [2, 3]), { name: 'cond', dtype: 'bool', shape: [] }],
        outputs: [f32('y', [2, 3])],
        initializers: [makeTensor('cond', 'bool', [], [1])],
        nodes: [],
      },
      // A constant of more than one element reduced to one: not among the operators followed.
      {
        inputs: [f32('x', [2, 3])],
        outputs: [f32('y', [2, 3])],
        initializers: [makeTensor('flags', 'int64', [2], [1n, 1n])],
        nodes: [
          { op: 'ReduceMin', inputs: ['flags'], outputs: ['m'], attributes: { keepdims: 0 } },
          { op: 'Cast', inputs: ['m'], outputs: ['cond'], attributes: { to: 9 } },
        ],
      },
    ];
    for (const spec of cases) {
      const nodes: NodeSpec[] = [
        ...spec.nodes,
        {
          op: 'If',
          inputs: ['cond'],
          outputs: ['y'],
          attributes: {
            then_branch: branch([{ op: 'Neg', inputs: ['x'], outputs: ['a'] }], [f32('a', [2, 3])]),
            else_branch: branch([{ op: 'Abs', inputs: ['x'], outputs: ['b'] }], [f32('b', [2, 3])]),
          },
        },
      ];
      const original = makeModel({ ...spec, nodes });
      const result = inlined(original);
      expect(result.done).toEqual([]);
      expect(result.bytes).toEqual(toBinary(ModelProtoSchema, parseModel(original)));
    }
  });
});

describe('quantizeInt8 and a constant-condition If', () => {
  it("quantizes the Conv of the taken branch, named in include, and says it inlined the If", async () => {
    const weights = Array.from({ length: 4 * 2 * 3 * 3 }, (_, i) => Math.sin(i * 1.7) * 0.5);
    const model = makeModel({
      opset: 17,
      inputs: [f32('x', [1, 2, 8, 8])],
      outputs: [f32('y', [1, 4, 8, 8])],
      initializers: [makeTensor('sr', 'int64', [], [16000n]), makeTensor('sr16k', 'int64', [], [16000n])],
      nodes: [
        { op: 'Equal', inputs: ['sr', 'sr16k'], outputs: ['is16k'] },
        {
          op: 'If',
          inputs: ['is16k'],
          outputs: ['y'],
          name: 'If_0',
          attributes: {
            then_branch: branch(
              [{ op: 'Conv', name: 'conv16k', inputs: ['x', 'W'], outputs: ['c'], attributes: { pads: [1, 1, 1, 1] } }, { op: 'Relu', inputs: ['c'], outputs: ['then_y'] }],
              [f32('then_y', [1, 4, 8, 8])],
              [makeTensor('W', 'float32', [4, 2, 3, 3], weights)],
            ),
            else_branch: branch(
              [{ op: 'Conv', name: 'conv8k', inputs: ['x', 'W8'], outputs: ['else_y'], attributes: { pads: [1, 1, 1, 1] } }],
              [f32('else_y', [1, 4, 8, 8])],
              [makeTensor('W8', 'float32', [4, 2, 3, 3], weights)],
            ),
          },
        },
      ],
    });
    const batches = Array.from({ length: 4 }, (_, b) => ({ x: new Tensor('float32', Float32Array.from({ length: 128 }, (_, i) => Math.cos(i * 0.37 + b)), [1, 2, 8, 8]) }));
    const messages: string[] = [];
    const logger = new Logger({ minSeverity: 'info', onMessage: (_s, m) => messages.push(m) });
    // `include` may name a node of the branch: the names are checked after inlining.
    const { model: int8, report } = await quantizeInt8WithReport(model, { calibrationData: batches, method: 'minmax', backend: 'sim', logger, include: { nodeNames: ['conv16k'] } });
    expect(report.int8Nodes).toEqual(['conv16k']);
    const quantized = parseModel(int8);
    expect(quantized.graph!.node.map((n) => n.opType)).not.toContain('If');
    const conv = quantized.graph!.node.find((n) => n.name === 'conv16k')!;
    const producer = (name: string) => quantized.graph!.node.find((n) => n.output.includes(name))?.opType;
    expect([producer(conv.input[0]!), producer(conv.input[1]!)]).toEqual(['DequantizeLinear', 'DequantizeLinear']);
    await vi.waitFor(() => expect(messages.some((m) => m.includes("inlined the then_branch of If 'If_0'"))).toBe(true), { timeout: 10_000 });
  });
});

describe('the sim after quantization', () => {
  it('still folds a condition on the shapes once int8 weights read through DequantizeLinear have filled the folding budget', async () => {
    // Sixteen [32, 32] int8 weights, each 4 KiB once dequantized: 64 KiB, the sim's whole
    // parse-time folding budget. Then an If on Shape(m)[0] == 2 whose branches differ in rank,
    // which builds only if the condition is known at build time.
    const count = 16;
    const initializers = [makeTensor('scale', 'float32', [], [0.01]), makeTensor('zero', 'int8', [], [0]), makeTensor('i0', 'int64', [], [0n]), makeTensor('two', 'int64', [], [2n]), makeTensor('axes', 'int64', [1], [0n])];
    const nodes: NodeSpec[] = [];
    let previous = 'x';
    for (let k = 0; k < count; k++) {
      initializers.push(makeTensor(`w${k}_q`, 'int8', [32, 32], Array.from({ length: 1024 }, (_, i) => ((i * 37 + k * 11) % 255) - 127)));
      nodes.push({ op: 'DequantizeLinear', inputs: [`w${k}_q`, 'scale', 'zero'], outputs: [`w${k}`] });
      nodes.push({ op: 'MatMul', inputs: [previous, `w${k}`], outputs: [`m${k}`] });
      nodes.push({ op: 'Tanh', inputs: [`m${k}`], outputs: [`t${k}`] });
      previous = `t${k}`;
    }
    nodes.push(
      { op: 'Shape', inputs: [previous], outputs: ['shape'] },
      { op: 'Gather', inputs: ['shape', 'i0'], outputs: ['rows'] },
      { op: 'Equal', inputs: ['rows', 'two'], outputs: ['cond'] },
      {
        op: 'If',
        inputs: ['cond'],
        outputs: ['y'],
        attributes: {
          then_branch: branch([{ op: 'Unsqueeze', inputs: [previous, 'axes'], outputs: ['u'] }], [f32('u', [1, 2, 32])]),
          else_branch: branch([{ op: 'Identity', inputs: [previous], outputs: ['same'] }], [f32('same', [2, 32])]),
        },
      },
    );
    const model = makeModel({ opset: 17, inputs: [f32('x', [2, 32])], outputs: [{ name: 'y', dtype: 'float32', shape: [] }], initializers, nodes });
    const feeds = { x: { data: Float32Array.from({ length: 64 }, (_, i) => Math.sin(i) * 0.5), dims: [2, 32] } };
    const reference = await runOnnxRuntime(model, feeds);
    expect(reference.y!.dims).toEqual([1, 2, 32]);
    expectClose((await runSim(model, feeds)).y!, reference.y!.data);
  });
});

// silero VAD prepared as TensorRT users prepare it (sr an initializer of 16000, dims fixed),
// inlined, over its consecutive audio chunks with the state fed back: onnxruntime runs the
// prepared model, and the inlined one on onnxruntime and on the sim must follow it.
interface ZooFeed { dtype: string; data: Float32Array | BigInt64Array; dims: number[] }
interface ZooEntry { name: string; prepare: { constants: Record<string, ZooFeed>; shapes: Record<string, number[]> }; inputs: () => { steps: Record<string, ZooFeed>[]; carry: Record<string, string> } }
const silero = (manifest as ZooEntry[]).filter((e) => /silero/i.test(e.name));
describe('silero VAD inlined', () => {
  for (const entry of silero) {
    it.skipIf(!isCached(entry))(`${entry.name}: the inlined model follows the prepared one over consecutive chunks`, { timeout: 120_000 }, async () => {
      const prepared = (await fixInputs(loadModel(entry), entry.prepare.constants, entry.prepare.shapes)) as Uint8Array;
      const result = inlined(prepared);
      expect(result.done.map((d) => d.branch)).toEqual(['then_branch']);
      const { steps, carry } = entry.inputs();
      const fed = { steps: steps.map((s) => Object.fromEntries(Object.entries(s).filter(([n]) => !(n in entry.prepare.constants)))), carry };
      const engine = await buildEngine(result.bytes, { backend: 'sim' });
      using session = await InferenceSession.create(engine, { backend: 'sim' });
      const sim = {
        run: async (feeds: Record<string, ZooFeed>) => {
          const out = await session.run(Object.fromEntries(Object.entries(feeds).map(([n, f]) => [n, new Tensor('float32', f.data as Float32Array, f.dims)])));
          return Object.fromEntries(Object.entries(out).map(([n, t]) => [n, { data: t.toFloat32(), dims: [...t.dims] }]));
        },
      };
      // Without graph optimizations: onnxruntime inlines the Ifs the fixed dims make constant
      // itself, and fails on silero's (as the zoo's own check of the preparation notes).
      const ortPrepared = await ortRunner(prepared, { graphOptimizationLevel: 'disabled' });
      const ortInlined = await ortRunner(result.bytes, { graphOptimizationLevel: 'disabled' });
      try {
        const reference = (await runSteps(ortPrepared, fed)).outputs as Record<string, { data: Float32Array }>;
        const viaOrt = (await runSteps(ortInlined, fed)).outputs as Record<string, { data: Float32Array }>;
        const viaSim = (await runSteps(sim, fed)).outputs as Record<string, { data: Float32Array }>;
        expect(steps.length).toBeGreaterThan(10);
        for (const [name, r] of Object.entries(reference)) {
          expect(Array.from(viaOrt[name]!.data)).toEqual(Array.from(r.data));
          const c = compare(viaSim[name]!.data, r.data) as { cosine: number; maxAbs: number };
          expect(c.cosine, name).toBeGreaterThanOrEqual(0.9999);
          expect(c.maxAbs, name).toBeLessThan(1e-3);
        }
      } finally {
        await ortPrepared.dispose();
        await ortInlined.dispose();
      }
    });
  }
});
