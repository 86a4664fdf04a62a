// Generic hostile-input sweeps over every operator the sim registers: a node with too
// few or too many inputs, or with a required input left empty, is an OnnxParseError naming the
// node, the count it has and the count ONNX requires; an integer attribute set to an extreme
// (INT64_MAX, INT64_MIN, -1, 0) gives a result or a TensorRTError. Never a crash: each batch of
// models runs in a child process, so a SIGSEGV fails the batch's test instead of vitest.
//
// The operator list comes from native/sim/README.md's table (the documented set); a README
// entry the registry does not know fails the arity sweep with "not supported". The expected
// input counts are written here from the ONNX operator spec (onnx/docs/Operators.md and
// Changelog.md), independently of the registrations in native/sim/kernels/*.cc.
import { execFile } from 'node:child_process';
import { mkdtempSync, readFileSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { fileURLToPath } from 'node:url';
import { promisify } from 'node:util';

import { afterAll, describe, expect, it } from 'vitest';

import { cappedNodeEnv, cappedNodeShell } from './fixtures/memory-cap.js';

import { makeModel, makeTensor, type AttributeValue, type NodeSpec } from '../lib/onnx/model-builder.js';
import type { TensorProto } from 'onnx-buf';

const here = fileURLToPath(new URL('.', import.meta.url));
const run = promisify(execFile);
const work = mkdtempSync(join(tmpdir(), 'tnrt-op-sweep-'));
afterAll(() => rmSync(work, { recursive: true, force: true }));

/** The operators README.md documents, from its "Operators today" table. */
function documentedOperators(): string[] {
  const readme = readFileSync(join(here, '..', 'native', 'sim', 'README.md'), 'utf8');
  const ops = new Set<string>();
  for (const line of readme.split('\n')) {
    const m = /^\| `kernels\/\w+\.cc` \| (.+) \|$/.exec(line);
    if (!m) continue;
    // "Conv (1-3-D, groups, ...)" -> Conv; "Gemm (from opset 6)" -> Gemm.
    const cells = m[1]!.replace(/\([^)]*\)/g, '');
    for (const name of cells.split(',')) if (name.trim()) ops.add(name.trim());
  }
  return [...ops].sort();
}

/** [since opset, min inputs, max inputs] per ONNX spec revision; Infinity for variadic. */
type Arity = [since: number, min: number, max: number];
const UNARY: Arity[] = [[1, 1, 1]];
const BINARY: Arity[] = [[1, 2, 2]];
const VARIADIC: Arity[] = [[1, 1, Infinity]];
const SPEC: Record<string, { first: number; last?: number; arity: Arity[] }> = {
  Relu: { first: 1, arity: UNARY }, LeakyRelu: { first: 1, arity: UNARY }, Sigmoid: { first: 1, arity: UNARY },
  HardSigmoid: { first: 1, arity: UNARY }, HardSwish: { first: 14, arity: UNARY }, Tanh: { first: 1, arity: UNARY },
  Elu: { first: 1, arity: UNARY }, Selu: { first: 1, arity: UNARY }, Softplus: { first: 1, arity: UNARY },
  Softsign: { first: 1, arity: UNARY }, Exp: { first: 1, arity: UNARY }, Log: { first: 1, arity: UNARY },
  Sqrt: { first: 1, arity: UNARY }, Abs: { first: 1, arity: UNARY }, Neg: { first: 1, arity: UNARY },
  Reciprocal: { first: 1, arity: UNARY }, Erf: { first: 9, arity: UNARY },
  // min and max moved from attributes to optional inputs.
  Clip: { first: 1, arity: [[1, 1, 1], [11, 1, 3]] },
  Add: { first: 1, arity: BINARY }, Sub: { first: 1, arity: BINARY }, Mul: { first: 1, arity: BINARY },
  Div: { first: 1, arity: BINARY }, Pow: { first: 7, arity: BINARY }, PRelu: { first: 1, arity: BINARY },
  Max: { first: 1, arity: VARIADIC }, Min: { first: 1, arity: VARIADIC }, Sum: { first: 1, arity: VARIADIC },
  Mean: { first: 1, arity: VARIADIC },
  MatMul: { first: 1, arity: BINARY },
  // C optional from opset 11.
  Gemm: { first: 6, arity: [[6, 3, 3], [11, 2, 3]] },
  Conv: { first: 1, arity: [[1, 2, 3]] }, ConvTranspose: { first: 1, arity: [[1, 2, 3]] },
  MaxPool: { first: 1, arity: UNARY }, AveragePool: { first: 1, arity: UNARY },
  GlobalAveragePool: { first: 1, arity: UNARY }, GlobalMaxPool: { first: 1, arity: UNARY }, LRN: { first: 1, arity: UNARY },
  Softmax: { first: 1, arity: UNARY }, LogSoftmax: { first: 1, arity: UNARY },
  // X, scale, B, input_mean, input_var: all required.
  BatchNormalization: { first: 1, arity: [[1, 5, 5]] },
  InstanceNormalization: { first: 1, arity: [[1, 3, 3]] },
  LayerNormalization: { first: 17, arity: [[17, 2, 3]] },
  // axes became an input: ReduceSum in 13, ReduceMean and ReduceMax in 18.
  ReduceSum: { first: 1, arity: [[1, 1, 1], [13, 1, 2]] },
  ReduceMean: { first: 1, arity: [[1, 1, 1], [18, 1, 2]] },
  ReduceMax: { first: 1, arity: [[1, 1, 1], [18, 1, 2]] },
  Identity: { first: 1, arity: UNARY },
  Constant: { first: 1, arity: [[1, 0, 0]] },
  Reshape: { first: 5, arity: BINARY },
  Flatten: { first: 1, arity: UNARY }, Transpose: { first: 1, arity: UNARY },
  Concat: { first: 1, arity: VARIADIC },
  // Opset 1 had an optional split input, 2-12 an attribute, 13 an optional input again.
  Split: { first: 1, arity: [[1, 1, 2], [2, 1, 1], [13, 1, 2]] },
  Squeeze: { first: 1, arity: [[1, 1, 1], [13, 1, 2]] },
  Unsqueeze: { first: 1, arity: [[1, 1, 1], [13, 2, 2]] },
  Shape: { first: 1, arity: UNARY },
  // starts and ends (required), axes and steps (optional) from opset 10.
  Slice: { first: 1, arity: [[1, 1, 1], [10, 3, 5]] },
  // pads (required) and constant_value from 11, axes from 18.
  Pad: { first: 1, arity: [[1, 1, 1], [11, 2, 3], [18, 2, 4]] },
  Gather: { first: 1, arity: BINARY }, Expand: { first: 8, arity: BINARY },
  Tile: { first: 6, arity: BINARY },
  DepthToSpace: { first: 1, arity: UNARY }, ConstantOfShape: { first: 9, arity: UNARY },
  // 10: X, scales. 11-12: X, roi, scales, optional sizes. 13+: only X required.
  Resize: { first: 10, arity: [[10, 2, 2], [11, 3, 4], [13, 1, 4]] },
  Upsample: { first: 7, last: 9, arity: [[7, 1, 1], [9, 2, 2]] },
  Cast: { first: 6, arity: UNARY },
  // ratio and training_mode inputs from 12.
  Dropout: { first: 7, arity: [[7, 1, 1], [12, 1, 3]] },
  QuantizeLinear: { first: 10, arity: [[10, 2, 3]] },
  DequantizeLinear: { first: 10, arity: [[10, 2, 3]] },
  // Comparisons and logic: binary from the first opset with numpy broadcasting (7; 12 for the
  // OrEqual pair); Not unary; Where takes condition, X, Y.
  Equal: { first: 7, arity: BINARY }, Greater: { first: 7, arity: BINARY }, Less: { first: 7, arity: BINARY },
  GreaterOrEqual: { first: 12, arity: BINARY }, LessOrEqual: { first: 12, arity: BINARY },
  And: { first: 7, arity: BINARY }, Or: { first: 7, arity: BINARY }, Xor: { first: 7, arity: BINARY },
  Not: { first: 1, arity: UNARY }, Where: { first: 9, arity: [[9, 3, 3]] }, Mod: { first: 10, arity: BINARY },
  Ceil: { first: 1, arity: UNARY }, Floor: { first: 1, arity: UNARY }, Round: { first: 11, arity: UNARY },
  Sin: { first: 7, arity: UNARY }, Cos: { first: 7, arity: UNARY }, Tan: { first: 7, arity: UNARY },
  Asin: { first: 7, arity: UNARY }, Acos: { first: 7, arity: UNARY }, Atan: { first: 7, arity: UNARY },
  Sinh: { first: 9, arity: UNARY }, Cosh: { first: 9, arity: UNARY }, Asinh: { first: 9, arity: UNARY },
  Acosh: { first: 9, arity: UNARY }, Atanh: { first: 9, arity: UNARY },
  Mish: { first: 18, arity: UNARY }, Celu: { first: 12, arity: UNARY }, Gelu: { first: 20, arity: UNARY },
  ThresholdedRelu: { first: 1, arity: UNARY }, ScaledTanh: { first: 1, arity: UNARY },
  ParametricSoftplus: { first: 1, arity: UNARY }, ImageScaler: { first: 1, arity: UNARY },
  Sign: { first: 9, arity: UNARY }, Shrink: { first: 9, arity: UNARY },
  IsNaN: { first: 9, arity: UNARY }, IsInf: { first: 10, arity: UNARY },
  // axes became an optional input in opset 18.
  ReduceMin: { first: 1, arity: [[1, 1, 1], [18, 1, 2]] }, ReduceProd: { first: 1, arity: [[1, 1, 1], [18, 1, 2]] },
  ReduceL1: { first: 1, arity: [[1, 1, 1], [18, 1, 2]] }, ReduceL2: { first: 1, arity: [[1, 1, 1], [18, 1, 2]] },
  ReduceLogSum: { first: 1, arity: [[1, 1, 1], [18, 1, 2]] }, ReduceLogSumExp: { first: 1, arity: [[1, 1, 1], [18, 1, 2]] },
  ReduceSumSquare: { first: 1, arity: [[1, 1, 1], [18, 1, 2]] },
  ArgMax: { first: 1, arity: UNARY }, ArgMin: { first: 1, arity: UNARY },
  GatherElements: { first: 11, arity: BINARY }, GatherND: { first: 11, arity: BINARY },
  // data, indices, updates.
  ScatterElements: { first: 11, arity: [[11, 3, 3]] }, Scatter: { first: 9, last: 10, arity: [[9, 3, 3]] },
  ScatterND: { first: 11, arity: [[11, 3, 3]] },
  // x and axis.
  CumSum: { first: 11, arity: BINARY },
  // input and an optional k.
  Trilu: { first: 14, arity: [[14, 1, 2]] },
  // k was an attribute before opset 10.
  TopK: { first: 1, arity: [[1, 1, 1], [10, 2, 2]] },
  SpaceToDepth: { first: 1, arity: UNARY }, EyeLike: { first: 9, arity: UNARY },
  // start, limit, delta; indices, depth, values.
  Range: { first: 11, arity: [[11, 3, 3]] }, OneHot: { first: 9, arity: [[9, 3, 3]] },
  Size: { first: 1, arity: UNARY }, CastLike: { first: 15, arity: BINARY },
  // cond only; the branches are graph attributes.
  If: { first: 1, arity: UNARY },
  // M and cond, then the initial carried values; the body is a graph attribute. ONNX lists M
  // and cond always but lets either be "", which the registry's counts (whose first minInputs
  // are required) cannot say: the registry requires none and Loop's infer checks that both are
  // listed, as it checks opset 8 Scan's sequence_lens.
  Loop: { first: 1, arity: [[1, 0, Infinity]] },
  // Opset 8: sequence_lens (may be "") then states and scan inputs; from 9: states then scan inputs.
  Scan: { first: 8, arity: [[8, 0, Infinity], [9, 1, Infinity]] },
  // X, W, R required; B, sequence_lens, initial_h, initial_c, P optional.
  LSTM: { first: 7, arity: [[7, 3, 8]] },
  Hardmax: { first: 1, arity: UNARY },
  // X, scale, bias.
  GroupNormalization: { first: 18, arity: [[18, 3, 3]] },
  MeanVarianceNormalization: { first: 9, arity: UNARY }, LpNormalization: { first: 1, arity: UNARY },
  NonZero: { first: 9, arity: UNARY },
  // input, sequence_lens.
  ReverseSequence: { first: 10, arity: BINARY },
  Einsum: { first: 12, arity: VARIADIC },
  // X, W, R required; B, sequence_lens, initial_h optional.
  GRU: { first: 7, arity: [[7, 3, 6]] }, RNN: { first: 7, arity: [[7, 3, 6]] },
  // The generators take no input, the Like forms one.
  RandomNormal: { first: 1, arity: [[1, 0, 0]] }, RandomUniform: { first: 1, arity: [[1, 0, 0]] },
  RandomNormalLike: { first: 1, arity: UNARY }, RandomUniformLike: { first: 1, arity: UNARY },
  LpPool: { first: 2, arity: UNARY }, GlobalLpPool: { first: 2, arity: UNARY },
  // X, rois, batch_indices; X, grid.
  RoiAlign: { first: 10, arity: [[10, 3, 3]] }, GridSample: { first: 16, arity: BINARY },
  // boxes, scores; max_output_boxes_per_class, iou_threshold, score_threshold optional.
  NonMaxSuppression: { first: 10, arity: [[10, 2, 5]] },
  // X, W, offset; B and mask optional.
  DeformConv: { first: 19, arity: [[19, 3, 5]] },
};

interface CaseResult {
  file: string;
  ok: boolean;
  stage: string;
  name?: string;
  message?: string;
}

// Parses each model, then (when `execute`) builds it and runs it once with zeros: the first
// failing stage is reported per file.
const childScript = `
const api = await import(process.env.ENTRY);
const { readFileSync } = await import('node:fs');
const files = JSON.parse(process.env.FILES);
const execute = process.env.EXECUTE === '1';
const results = [];
for (const file of files) {
  let stage = 'parse';
  try {
    const bytes = new Uint8Array(readFileSync(file));
    const builder = new api.Builder({ backend: 'sim' });
    const network = builder.createNetworkV2();
    await builder.createOnnxParser(network).parse(bytes);
    if (execute) {
      stage = 'build';
      const plan = await builder.buildSerializedNetwork(network, builder.createBuilderConfig());
      stage = 'execute';
      const engine = await new api.Runtime({ backend: 'sim' }).deserializeCudaEngine(plan);
      const context = engine.createExecutionContext();
      const feeds = {};
      for (const input of engine.inputs) {
        const n = input.shape.reduce((a, b) => a * b, 1);
        const data = input.dtype === 'int64' ? new BigInt64Array(n) : input.dtype === 'int32' ? new Int32Array(n) : new Float32Array(n);
        feeds[input.name] = new api.Tensor(input.dtype, data, input.shape);
      }
      await context.execute(feeds);
    }
    results.push({ file, ok: true, stage });
  } catch (e) {
    results.push({ file, ok: false, stage, name: e instanceof api.TensorRTError ? e.constructor.name : 'untyped ' + e?.constructor?.name, message: String(e?.message) });
  }
}
process.stdout.write(JSON.stringify(results));
`;

/** Runs a batch in one child process; a crash or a hang rejects (and fails the test). */
async function runBatch(models: Map<string, Uint8Array>, execute: boolean): Promise<Map<string, CaseResult>> {
  const files: string[] = [];
  for (const [name, bytes] of models) {
    const file = join(work, `${name}.onnx`);
    writeFileSync(file, bytes);
    files.push(file);
  }
  const entry = new URL('../dist/index.js', import.meta.url).href;
  // The memory cap (fixtures/memory-cap.ts) makes a runaway allocation a failure rather than a swapping machine.
  const { stdout } = await run('/bin/sh', ['-c', cappedNodeShell, process.execPath, childScript], {
    env: cappedNodeEnv({ ENTRY: entry, FILES: JSON.stringify(files), EXECUTE: execute ? '1' : '0' }),
    timeout: 120_000,
    maxBuffer: 16 << 20,
  });
  const byName = new Map<string, CaseResult>();
  for (const r of JSON.parse(stdout) as CaseResult[]) byName.set(r.file.slice(work.length + 1, -'.onnx'.length), r);
  return byName;
}

const x = (i: number) => `x${i}`;

/** A model whose only node is `op` at `opset` with the given input names (float32 [2, 2] graph inputs, "" for empty). */
function arityModel(op: string, opset: number, inputs: string[]): Uint8Array {
  const named = inputs.filter((n) => n !== '');
  const attributes: Record<string, AttributeValue> =
    op === 'Constant' ? { value: makeTensor('v', 'float32', [1], [1]) } : {};
  return makeModel({
    opset,
    inputs: named.map((name) => ({ name, dtype: 'float32' as const, shape: [2, 2] })),
    outputs: [{ name: 'y', dtype: 'float32', shape: ['a', 'b'] }],
    nodes: [{ op, inputs, outputs: ['y'], name: `n_${op}`, attributes }],
  });
}

describe('input counts of every documented operator (child process per batch)', () => {
  const ops = documentedOperators();

  it('README documents the operators this sweep knows the spec of', () => {
    expect(ops.length).toBeGreaterThan(60);
    expect(ops.filter((op) => !(op in SPEC))).toEqual([]);
  });

  it('too few, too many, or an empty required input: OnnxParseError with both counts, no crash', { timeout: 240_000 }, async () => {
    const models = new Map<string, Uint8Array>();
    const expected = new Map<string, RegExp>();
    for (const op of ops) {
      const spec = SPEC[op]!;
      for (const [since, min, max] of spec.arity) {
        const opset = Math.max(since, spec.first);
        if (spec.last !== undefined && opset > spec.last) continue;
        const counts: number[] = [];
        for (let k = 0; k < min; ++k) counts.push(k);
        if (max !== Infinity) counts.push(max + 1);
        const takes = min === max ? `${min}` : max === Infinity ? `${min} or more` : `${min} to ${max}`;
        for (const k of counts) {
          const key = `${op}-opset${opset}-count${k}`;
          models.set(key, arityModel(op, opset, Array.from({ length: k }, (_, i) => x(i))));
          expected.set(key, new RegExp(`node 'n_${op}' \\(${op}\\) has ${k} inputs?; ${op} \\(opset ${opset}\\) takes ${takes} inputs?`));
        }
        // Every required input in turn left empty, the others given.
        for (let empty = 0; empty < min; ++empty) {
          const key = `${op}-opset${opset}-empty${empty}`;
          models.set(key, arityModel(op, opset, Array.from({ length: min }, (_, i) => (i === empty ? '' : x(i)))));
          expected.set(key, new RegExp(`node 'n_${op}' \\(${op}\\) leaves input ${empty} empty, but it is required`));
        }
      }
    }
    const results = await runBatch(models, false);
    const wrong: string[] = [];
    for (const [key, pattern] of expected) {
      const r = results.get(key);
      if (!r || r.ok || r.name !== 'OnnxParseError' || !pattern.test(r.message ?? '')) wrong.push(`${key}: ${JSON.stringify(r)}`);
    }
    expect(wrong).toEqual([]);
    // Sanity: the sweep covers every operator, at each opset where its inputs changed.
    expect(models.size).toBeGreaterThan(150);
  });

  it('the DequantizeLinear-without-inputs crasher is the same typed error', async () => {
    const results = await runBatch(new Map([['dq', new Uint8Array(readFileSync(join(here, 'fuzz-corpus', 'regressions', 'dequantize-without-inputs.onnx')))]]), false);
    const r = results.get('dq')!;
    expect(r).toMatchObject({ ok: false, stage: 'parse', name: 'OnnxParseError' });
    expect(r.message).toMatch(/\(DequantizeLinear\) has 0 inputs; DequantizeLinear \(opset \d+\) takes 2 to 3 inputs/);
  });
});

// ---------------------------------------------------------------------------------------------
// Integer attributes at extremes. Each operator gets one well-formed node (inputs as graph
// inputs of small shapes, shape-like inputs as constants) and its integer attributes from the
// ONNX spec, each in turn set to every extreme; INTS attributes get the extreme in every slot.

const EXTREMES: bigint[] = [2n ** 63n - 1n, -(2n ** 63n), -1n, 0n];
const f = (name: string, shape: number[]) => ({ name, dtype: 'float32' as const, shape });

interface OpCase {
  opset?: number;
  inputs: { name: string; shape: number[] }[];
  initializers?: TensorProto[];
  nodeInputs?: string[];
  outputs?: number;
  /** Whole numbers are INT attributes, arrays INTS: the sweep sets one INT, or every slot of one INTS, to each extreme. */
  attrs: Record<string, AttributeValue>;
}

const X4 = [{ name: 'x', shape: [1, 2, 4, 4] }];
const i64 = (name: string, values: number[]) => makeTensor(name, 'int64', [values.length], values.map(BigInt));
const f32 = (name: string, dims: number[], values: number[]) => makeTensor(name, 'float32', dims, values);

const CASES: Record<string, OpCase> = {
  Softmax: { inputs: X4, attrs: { axis: 1 } },
  LogSoftmax: { inputs: X4, attrs: { axis: 1 } },
  Concat: { inputs: [...X4, { name: 'z', shape: [1, 2, 4, 4] }], nodeInputs: ['x', 'z'], attrs: { axis: 1 } },
  Split: { opset: 18, inputs: X4, outputs: 2, attrs: { axis: 1, num_outputs: 2 } },
  Gather: { inputs: X4, initializers: [i64('idx', [0, 1])], nodeInputs: ['x', 'idx'], attrs: { axis: 1 } },
  Flatten: { inputs: X4, attrs: { axis: 1 } },
  LayerNormalization: { inputs: X4, initializers: [f32('s', [4], [1, 1, 1, 1])], nodeInputs: ['x', 's'], attrs: { axis: -1, stash_type: 1 } },
  QuantizeLinear: { opset: 21, inputs: X4, initializers: [f32('sc', [], [0.5])], nodeInputs: ['x', 'sc'], attrs: { axis: 1, saturate: 1, block_size: 0, output_dtype: 0 } },
  DequantizeLinear: { opset: 21, inputs: [], initializers: [makeTensor('q', 'int8', [2, 2], [1, 2, 3, 4]), f32('sc', [], [0.5])], nodeInputs: ['q', 'sc'], attrs: { axis: 1, block_size: 0 } },
  Cast: { inputs: X4, attrs: { to: 1, saturate: 1 } },
  DepthToSpace: { inputs: X4, attrs: { blocksize: 1 } },
  Conv: { inputs: X4, initializers: [f32('w', [2, 2, 1, 1], [1, 0, 0, 1])], nodeInputs: ['x', 'w'], attrs: { group: 1, kernel_shape: [1, 1], pads: [0, 0, 0, 0], strides: [1, 1], dilations: [1, 1] } },
  ConvTranspose: { inputs: X4, initializers: [f32('w', [2, 2, 1, 1], [1, 0, 0, 1])], nodeInputs: ['x', 'w'], attrs: { group: 1, pads: [0, 0, 0, 0], strides: [1, 1], dilations: [1, 1], output_padding: [0, 0] } },
  MaxPool: { inputs: X4, outputs: 2, attrs: { kernel_shape: [2, 2], ceil_mode: 0, storage_order: 0, pads: [0, 0, 0, 0], strides: [1, 1], dilations: [1, 1] } },
  AveragePool: { inputs: X4, attrs: { kernel_shape: [2, 2], ceil_mode: 0, count_include_pad: 0, pads: [0, 0, 0, 0], strides: [1, 1] } },
  LRN: { inputs: X4, attrs: { size: 3 } },
  ReduceSum: { inputs: X4, attrs: { keepdims: 1, noop_with_empty_axes: 0 } },
  ReduceMean: { opset: 13, inputs: X4, attrs: { keepdims: 1, axes: [1] } },
  ReduceMax: { opset: 13, inputs: X4, attrs: { keepdims: 1, axes: [1] } },
  Transpose: { inputs: X4, attrs: { perm: [0, 1, 2, 3] } },
  Squeeze: { opset: 11, inputs: [{ name: 'x', shape: [1, 2] }], attrs: { axes: [0] } },
  Unsqueeze: { opset: 11, inputs: [{ name: 'x', shape: [2] }], attrs: { axes: [0] } },
  Reshape: { opset: 14, inputs: X4, initializers: [i64('shape', [2, 16])], nodeInputs: ['x', 'shape'], attrs: { allowzero: 0 } },
  Gemm: { inputs: [{ name: 'a', shape: [2, 2] }, { name: 'b', shape: [2, 2] }], nodeInputs: ['a', 'b'], attrs: { transA: 0, transB: 0 } },
  BatchNormalization: {
    opset: 9,
    inputs: X4,
    initializers: ['s', 'b', 'm', 'v'].map((n) => f32(n, [2], [1, 1])),
    nodeInputs: ['x', 's', 'b', 'm', 'v'],
    attrs: { spatial: 1 },
  },
  Resize: { inputs: X4, initializers: [f32('scales', [4], [1, 1, 2, 2])], nodeInputs: ['x', '', 'scales'], attrs: { exclude_outside: 0, antialias: 0 } },
  Shape: { opset: 15, inputs: X4, attrs: { start: 0, end: 4 } },
  Add: { opset: 6, inputs: [...X4, { name: 'z', shape: [2] }], nodeInputs: ['x', 'z'], attrs: { broadcast: 1, axis: 1 } },
  Slice: { opset: 9, inputs: X4, attrs: { starts: [0], ends: [1], axes: [0] } },
  Split13: { inputs: X4, outputs: 2, attrs: { axis: 1 } },
  Dropout: { opset: 7, inputs: X4, attrs: {} },
  Pad: { opset: 2, inputs: X4, attrs: { pads: [0, 0, 0, 0, 0, 0, 1, 1] } },
  Upsample: { opset: 7, inputs: X4, attrs: { scales: { floats: [1, 1, 2, 2] } } },
  ConstantOfShape: { inputs: [], initializers: [i64('shape', [2, 2])], nodeInputs: ['shape'], attrs: {} },
  Tile: { inputs: X4, initializers: [i64('reps', [1, 1, 2, 2])], nodeInputs: ['x', 'reps'], attrs: {} },
  Expand: { inputs: [{ name: 'x', shape: [1, 4] }], initializers: [i64('shape', [2, 4])], nodeInputs: ['x', 'shape'], attrs: {} },
  ArgMax: { opset: 13, inputs: X4, attrs: { axis: 1, keepdims: 1, select_last_index: 0 } },
  ArgMin: { opset: 13, inputs: X4, attrs: { axis: 1, keepdims: 1, select_last_index: 1 } },
  ReduceMin: { opset: 13, inputs: X4, attrs: { keepdims: 1, axes: [1] } },
  ReduceLogSumExp: { opset: 13, inputs: X4, attrs: { keepdims: 1, axes: [1] } },
  ReduceProd: { opset: 18, inputs: X4, attrs: { keepdims: 1, noop_with_empty_axes: 0 } },
  IsInf: { inputs: X4, attrs: { detect_negative: 1, detect_positive: 1 } },
  Mod: { inputs: [...X4, { name: 'z', shape: [4] }], nodeInputs: ['x', 'z'], attrs: { fmod: 1 } },
  EyeLike: { inputs: [{ name: 'x', shape: [3, 4] }], attrs: { k: 1, dtype: 1 } },
  SpaceToDepth: { inputs: X4, attrs: { blocksize: 2 } },
  GatherElements: { inputs: X4, initializers: [makeTensor('idx', 'int64', [1, 1, 1, 1], [0n])], nodeInputs: ['x', 'idx'], attrs: { axis: 1 } },
  GatherND: { inputs: X4, initializers: [makeTensor('idx', 'int64', [1, 1], [0n])], nodeInputs: ['x', 'idx'], attrs: { batch_dims: 0 } },
  ScatterElements: {
    inputs: [...X4, { name: 'u', shape: [1, 1, 1, 1] }],
    initializers: [makeTensor('idx', 'int64', [1, 1, 1, 1], [1n])],
    nodeInputs: ['x', 'idx', 'u'],
    attrs: { axis: 1 },
  },
  CumSum: { inputs: X4, initializers: [i64('axis', [1])], nodeInputs: ['x', 'axis'], attrs: { exclusive: 0, reverse: 1 } },
  Trilu: { inputs: X4, attrs: { upper: 0 } },
  TopK: { inputs: X4, initializers: [i64('k', [2])], nodeInputs: ['x', 'k'], outputs: 2, attrs: { axis: -1, largest: 1, sorted: 1 } },
  LSTM: {
    opset: 14,
    inputs: [{ name: 'x', shape: [5, 1, 3] }],
    initializers: [f32('W', [1, 8, 3], Array(24).fill(0.1)), f32('R', [1, 8, 2], Array(16).fill(0.1))],
    nodeInputs: ['x', 'W', 'R'],
    outputs: 3,
    attrs: { hidden_size: 2, input_forget: 0, layout: 0 },
  },
  Hardmax: { opset: 13, inputs: X4, attrs: { axis: 1 } },
  GroupNormalization: {
    opset: 18,
    inputs: X4,
    initializers: [f32('s', [2], [1, 1]), f32('b', [2], [0, 0])],
    nodeInputs: ['x', 's', 'b'],
    attrs: { num_groups: 2 },
  },
  MeanVarianceNormalization: { inputs: X4, attrs: { axes: [0, 2, 3] } },
  LpNormalization: { inputs: X4, attrs: { axis: -1, p: 2 } },
  GRU: {
    opset: 14,
    inputs: [{ name: 'x', shape: [5, 1, 3] }],
    initializers: [f32('W', [1, 6, 3], Array(18).fill(0.1)), f32('R', [1, 6, 2], Array(12).fill(0.1))],
    nodeInputs: ['x', 'W', 'R'],
    outputs: 2,
    attrs: { hidden_size: 2, linear_before_reset: 1, layout: 0 },
  },
  RNN: {
    opset: 14,
    inputs: [{ name: 'x', shape: [5, 1, 3] }],
    initializers: [f32('W', [1, 2, 3], Array(6).fill(0.1)), f32('R', [1, 2, 2], Array(4).fill(0.1))],
    nodeInputs: ['x', 'W', 'R'],
    outputs: 2,
    attrs: { hidden_size: 2, layout: 0 },
  },
  LpPool: { opset: 18, inputs: X4, attrs: { kernel_shape: [2, 2], p: 2, ceil_mode: 0, pads: [0, 0, 0, 0], strides: [1, 1], dilations: [1, 1] } },
  GlobalLpPool: { inputs: X4, attrs: { p: 2 } },
  RoiAlign: {
    opset: 16,
    inputs: [...X4, { name: 'rois', shape: [1, 4] }],
    initializers: [i64('bi', [0])],
    nodeInputs: ['x', 'rois', 'bi'],
    attrs: { output_height: 2, output_width: 2, sampling_ratio: 0 },
  },
  GridSample: { opset: 16, inputs: [...X4, { name: 'g', shape: [1, 3, 3, 2] }], nodeInputs: ['x', 'g'], attrs: { align_corners: 0 } },
  NonMaxSuppression: { inputs: [{ name: 'b', shape: [1, 3, 4] }, { name: 's', shape: [1, 1, 3] }], attrs: { center_point_box: 1 } },
  DeformConv: {
    opset: 19,
    inputs: [...X4, { name: 'off', shape: [1, 2, 4, 4] }],
    initializers: [f32('w', [2, 2, 1, 1], [1, 0, 0, 1])],
    nodeInputs: ['x', 'w', 'off'],
    attrs: { group: 1, offset_group: 1, kernel_shape: [1, 1], pads: [0, 0, 0, 0], strides: [1, 1], dilations: [1, 1] },
  },
  RandomNormal: { inputs: [], attrs: { shape: [2, 3], dtype: 1 } },
  RandomUniformLike: { inputs: X4, attrs: { dtype: 1 } },
  ReverseSequence: { inputs: [{ name: 'x', shape: [3, 2, 2] }], initializers: [i64('lens', [3, 1])], nodeInputs: ['x', 'lens'], attrs: { time_axis: 0, batch_axis: 1 } },
  OneHot: {
    inputs: [{ name: 'i', shape: [3] }],
    initializers: [f32('depth', [], [4]), f32('vals', [2], [0, 1])],
    nodeInputs: ['i', 'depth', 'vals'],
    attrs: { axis: -1 },
  },
};

function attributeModel(op: string, c: OpCase, attrs: Record<string, AttributeValue>): Uint8Array {
  const realOp = op.replace(/\d+$/, '');
  const outputs = Array.from({ length: c.outputs ?? 1 }, (_, i) => `y${i}`);
  const node: NodeSpec = { op: realOp, inputs: c.nodeInputs ?? c.inputs.map((i) => i.name), outputs, name: `n_${op}`, attributes: attrs };
  return makeModel({
    opset: c.opset ?? 17,
    inputs: c.inputs.map((i) => f(i.name, i.shape)),
    outputs: outputs.map((name) => ({ name, dtype: 'float32' as const, shape: [] })),
    initializers: c.initializers ?? [],
    nodes: [node],
  });
}

describe('integer attributes at INT64_MAX, INT64_MIN, -1 and 0 (child process per batch)', () => {
  it('each gives a result or a TensorRTError, never a crash or an untyped error', { timeout: 300_000 }, async () => {
    const models = new Map<string, Uint8Array>();
    for (const [op, c] of Object.entries(CASES)) {
      for (const [name, base] of Object.entries(c.attrs)) {
        if (Array.isArray(base)) {
          for (const v of EXTREMES)
            models.set(`${op}-${name}=[${v}x${base.length}]`, attributeModel(op, c, { ...c.attrs, [name]: base.map(() => v) }));
        } else if (typeof base === 'number' || typeof base === 'bigint') {
          for (const v of EXTREMES) models.set(`${op}-${name}=${v}`, attributeModel(op, c, { ...c.attrs, [name]: v }));
        }
      }
    }
    const untyped: string[] = [];
    const entries = [...models];
    // Batches of 80: a crash names a small set, and no child runs near its timeout.
    for (let start = 0; start < entries.length; start += 80) {
      const results = await runBatch(new Map(entries.slice(start, start + 80)), true);
      for (const [key] of entries.slice(start, start + 80)) {
        const r = results.get(key);
        if (!r || (!r.ok && !/Error$/.test(r.name ?? '')) || r.name?.startsWith('untyped')) untyped.push(`${key}: ${JSON.stringify(r)}`);
      }
    }
    expect(untyped).toEqual([]);
    expect(models.size).toBeGreaterThan(200);
  });

  it('the well-formed base cases run (the sweep starts from models that work)', { timeout: 120_000 }, async () => {
    const models = new Map<string, Uint8Array>();
    for (const [op, c] of Object.entries(CASES)) models.set(op, attributeModel(op, c, c.attrs));
    const results = await runBatch(models, true);
    const failed = [...results.values()].filter((r) => !r.ok).map((r) => `${r.file}: ${r.stage}: ${r.message}`);
    expect(failed).toEqual([]);
  });
});
