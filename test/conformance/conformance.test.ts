// ONNX's own backend conformance tests (Debian's libonnx-testdata), run through the public API
// on the sim: parse, build, serialize, deserialize, execute, and compare with the stored
// outputs at ONNX's tolerances (rtol 1e-3, atol 1e-7). Prints a per-operator table.
//
// `npm run conformance` runs this file alone; `npm test` runs it with the rest.
import { existsSync, readdirSync } from 'node:fs';
import { join } from 'node:path';

import { afterAll, describe, expect, it } from 'vitest';

import { Builder, buildEngine, InferenceSession, OnnxParseError, type ProfileEntry, type Tensor } from '../../lib/index.js';
import { loadCase, TESTDATA, type TestCase, unsupportedTypeReason } from './onnx-test-case.js';

/** Operators the sim implements; every case of these must pass or carry a documented skip. */
export const OPERATORS = [
  // convolution, matrix products
  'Conv', 'ConvTranspose', 'Gemm', 'MatMul',
  // activations and unary math
  'Relu', 'LeakyRelu', 'PRelu', 'Sigmoid', 'HardSigmoid', 'HardSwish', 'Tanh', 'Clip', 'Elu', 'Selu', 'Softplus', 'Softsign',
  'Exp', 'Log', 'Sqrt', 'Abs', 'Neg', 'Reciprocal', 'Pow', 'Erf',
  // pooling
  'MaxPool', 'AveragePool', 'GlobalAveragePool', 'GlobalMaxPool', 'LRN',
  // elementwise with broadcasting
  'Add', 'Sub', 'Mul', 'Div', 'Max', 'Min', 'Sum', 'Mean',
  // normalization and reduction
  'Softmax', 'LogSoftmax', 'BatchNormalization', 'InstanceNormalization', 'LayerNormalization', 'ReduceMean', 'ReduceSum', 'ReduceMax',
  // shape and data movement
  'Flatten', 'Reshape', 'Transpose', 'Concat', 'Split', 'Slice', 'Squeeze', 'Unsqueeze', 'Pad', 'Gather', 'Shape', 'Expand', 'Tile',
  'Resize', 'Upsample', 'DepthToSpace', 'Identity', 'Constant', 'ConstantOfShape', 'Cast', 'Dropout',
  // quantization
  'QuantizeLinear', 'DequantizeLinear',
  // comparisons, logic and selection (bool tensors)
  'Equal', 'Greater', 'GreaterOrEqual', 'Less', 'LessOrEqual', 'Not', 'And', 'Or', 'Xor', 'Where', 'Mod',
  // unary math and activations
  'Sign', 'Ceil', 'Floor', 'Round', 'IsInf', 'IsNaN', 'Sin', 'Cos', 'Tan', 'Asin', 'Acos', 'Atan', 'Sinh', 'Cosh', 'Asinh',
  'Acosh', 'Atanh', 'Celu', 'Gelu', 'Mish', 'Shrink', 'ThresholdedRelu', 'ScaledTanh', 'ParametricSoftplus', 'ImageScaler',
  // more reductions
  'ReduceMin', 'ReduceProd', 'ReduceL1', 'ReduceL2', 'ReduceLogSum', 'ReduceLogSumExp', 'ReduceSumSquare', 'ArgMax', 'ArgMin',
  // indexing and generators
  'GatherElements', 'GatherND', 'ScatterElements', 'Scatter', 'ScatterND', 'CumSum', 'Trilu', 'TopK', 'SpaceToDepth',
  'EyeLike', 'Range', 'OneHot', 'Size', 'CastLike',
  // control flow
  'If', 'Loop', 'Scan',
  // recurrent
  'LSTM',
  // normalizations and selection
  'Hardmax', 'MeanVarianceNormalization', 'LpNormalization', 'GroupNormalization',
  // data-dependent shapes and per-batch selection
  'NonZero', 'ReverseSequence',
  // tensor contractions
  'Einsum',
  // recurrent
  'GRU', 'RNN',
  // pooling
  'LpPool', 'GlobalLpPool',
  // generators
  'RandomNormal', 'RandomNormalLike', 'RandomUniform', 'RandomUniformLike',
  // sampling at computed positions
  'RoiAlign', 'GridSample',
  'NonMaxSuppression', 'DeformConv',
];

/**
 * Cases that test what TensorRT itself does not have, so no TensorRT backend (real or
 * simulated) runs them. Keyed by case name; the value is the reason printed in the table.
 */
const TENSORRT_LACKS: Record<string, string> = {
  test_cast_FLOAT_to_BFLOAT16: "ONNX 1.12's expected output truncates float32 to bfloat16; TensorRT (and ONNX since 1.14) rounds to nearest even",
  test_castlike_FLOAT_to_BFLOAT16_expanded: "ONNX 1.12's expected output truncates float32 to bfloat16; TensorRT (and ONNX since 1.14) rounds to nearest even",
  test_castlike_BFLOAT16_to_FLOAT_expanded: "its stored 'like' input has shape [1] but the model declares [3, 4]; TensorRT enforces declared shapes",
  test_identity_sequence: 'sequence types: TensorRT tensors only',
  test_identity_opt: 'optional types: TensorRT tensors only',
  test_loop13_seq: 'sequence-typed loop-carried values: TensorRT tensors only',
  test_loop16_seq_none: 'optional sequence-typed loop-carried values: TensorRT tensors only',
  test_resize_tf_crop_and_resize: "coordinate_transformation_mode tf_crop_and_resize: TensorRT's resize layer has only align_corners, asymmetric and half_pixel transformations (no roi cropping or extrapolation)",
  test_training_dropout: 'Dropout with training_mode=true: TensorRT builds inference engines, where Dropout is an identity',
  test_training_dropout_default: 'Dropout with training_mode=true: TensorRT builds inference engines, where Dropout is an identity',
  test_training_dropout_default_mask: 'Dropout with training_mode=true: TensorRT builds inference engines, where Dropout is an identity',
  test_training_dropout_mask: 'Dropout with training_mode=true: TensorRT builds inference engines, where Dropout is an identity',
  test_training_dropout_zero_ratio: 'Dropout with training_mode=true: TensorRT builds inference engines, where Dropout is an identity',
  test_training_dropout_zero_ratio_mask: 'Dropout with training_mode=true: TensorRT builds inference engines, where Dropout is an identity',
  test_batchnorm_epsilon_training_mode: 'BatchNormalization training_mode=1 (batch statistics, running-mean/var outputs): TensorRT builds inference engines only',
  test_castlike_BFLOAT16_to_FLOAT: "its stored 'like' input has shape [1] but the model declares [3, 4]; TensorRT enforces declared shapes",
  test_castlike_FLOAT_to_BFLOAT16: "its stored 'like' input has shape [1] but the model declares [3, 4]; TensorRT enforces declared shapes (and ONNX 1.12's expected output truncates to bfloat16)",
  test_scatternd_add: "ScatterND reduction='add': TensorRT's ScatterND has no reduction (onnx-tensorrt docs/operators.md)",
  test_scatternd_multiply: "ScatterND reduction='mul': TensorRT's ScatterND has no reduction (onnx-tensorrt docs/operators.md)",
  test_lstm_batchwise: "LSTM layout=1 (batch-major): TensorRT's ONNX parser requires layout=0 (onnx-tensorrt docs/operators.md)",
  test_einsum_batch_diagonal: "Einsum with an ellipsis and a repeated label (a diagonal): TensorRT's Einsum supports neither (onnx-tensorrt docs/operators.md)",
  test_gru_batchwise: "GRU layout=1 (batch-major): TensorRT's ONNX parser requires layout=0 (onnx-tensorrt docs/operators.md)",
  test_simple_rnn_batchwise: "RNN layout=1 (batch-major): TensorRT's ONNX parser requires layout=0 (onnx-tensorrt docs/operators.md)",
  test_batchnorm_example_training_mode: 'BatchNormalization training_mode=1 (batch statistics, running-mean/var outputs): TensorRT builds inference engines only',
};

const RTOL = 1e-3;
const ATOL = 1e-7;

type Outcome = { status: 'passed' } | { status: 'failed'; reason: string } | { status: 'skipped'; reason: string };

function compare(actual: Tensor, expected: Tensor): string | undefined {
  if (actual.dtype !== expected.dtype) return `dtype ${actual.dtype}, expected ${expected.dtype}`;
  if (actual.dims.join() !== expected.dims.join()) return `dims [${actual.dims}], expected [${expected.dims}]`;
  const a = actual.dtype === 'int64' ? Array.from(actual.data as BigInt64Array, Number) : actual.toFloat32();
  const e = expected.dtype === 'int64' ? Array.from(expected.data as BigInt64Array, Number) : expected.toFloat32();
  for (let i = 0; i < e.length; i++) {
    const x = a[i]!;
    const y = e[i]!;
    if (Number.isNaN(y) ? !Number.isNaN(x) : x !== y && !(Math.abs(x - y) <= ATOL + RTOL * Math.abs(y))) return `element ${i}: ${x}, expected ${y}`;
  }
  return undefined;
}

async function shapeTensorInputs(model: Uint8Array): Promise<Set<string>> {
  using builder = new Builder({ backend: 'sim' });
  const network = builder.createNetworkV2();
  await builder.createOnnxParser(network).parse(model);
  return new Set(network.inputs.filter((i) => i.isShapeTensor).map((i) => i.name));
}

async function runCase(c: TestCase): Promise<Outcome> {
  const lack = TENSORRT_LACKS[c.name];
  if (lack) return { status: 'skipped', reason: lack };
  const others = c.nodeOps.filter((op) => !OPERATORS.includes(op));
  if (others.length > 0) return { status: 'skipped', reason: `its function body also uses ${others.join(', ')}, not in the sim's operator list yet` };
  const badType = c.ioTypes.find((t) => t === 0 || unsupportedTypeReason(t));
  if (badType !== undefined) return { status: 'skipped', reason: badType === 0 ? 'non-tensor inputs or outputs' : unsupportedTypeReason(badType)! };
  let inputs: Tensor[];
  let outputs: Tensor[];
  try {
    ({ inputs, outputs } = c.data());
  } catch (error) {
    return { status: 'skipped', reason: (error as Error).message };
  }
  if (inputs.length !== c.inputNames.length) return { status: 'skipped', reason: 'omitted optional inputs' };
  try {
    // Each input fixed at its shape; shape-tensor inputs (a Reshape's shape, Slice's bounds, ...
    // fed at run time) fixed at their values too, as TensorRT needs a value range for them.
    const shapeTensors = await shapeTensorInputs(c.model);
    const profile: Record<string, ProfileEntry> = {};
    c.inputNames.forEach((n, i) => {
      const dims = [...inputs[i]!.dims];
      const values = shapeTensors.has(n) ? Array.from(inputs[i]!.data as Int32Array | BigInt64Array, Number) : undefined;
      profile[n] = { min: dims, opt: dims, max: dims, ...(values && { values: { min: values, opt: values, max: values } }) };
    });
    const engine = await buildEngine(c.model, { backend: 'sim', profiles: [profile] });
    const session = await InferenceSession.create(engine, { backend: 'sim' });
    try {
      const out = await session.run(Object.fromEntries(c.inputNames.map((n, i) => [n, inputs[i]!])));
      for (let i = 0; i < c.outputNames.length; i++) {
        const problem = compare(out[c.outputNames[i]!]!, outputs[i]!);
        if (problem) return { status: 'failed', reason: `${c.outputNames[i]}: ${problem}` };
      }
      return { status: 'passed' };
    } finally {
      session.dispose();
    }
  } catch (error) {
    const detail = error instanceof OnnxParseError ? error.parserErrors.map((p) => p.description).join('; ') : (error as Error).message;
    return { status: 'failed', reason: `${(error as Error).name}: ${detail.split('\n')[0]}` };
  }
}

const NETWORKS = 'pytorch-converted networks';

function listCases(folder: string): string[] {
  const dir = join(TESTDATA, folder);
  return existsSync(dir) ? readdirSync(dir).filter((d) => d.startsWith('test_')).map((d) => join(dir, d)) : [];
}

// Per-operator cases from node/, and whole small networks from pytorch-converted/ (each
// network counts under one row; its operators must all be in the list).
const cases = [
  ...listCases('node').map((d) => loadCase(d, OPERATORS)).filter((c) => OPERATORS.includes(c.op)),
  ...listCases('pytorch-converted').map((d) => ({ ...loadCase(d, OPERATORS), op: NETWORKS })),
];
const results = new Map<string, Outcome>();

describe.skipIf(cases.length === 0)('ONNX backend tests on the sim', () => {
  for (const c of cases) {
    it(`${c.op}: ${c.name}`, async () => {
      const outcome = await runCase(c);
      results.set(c.name, outcome);
      expect(outcome.status === 'failed' ? outcome.reason : 'ok').toBe('ok');
    });
  }

  afterAll(() => {
    const rows = [...OPERATORS, NETWORKS].map((op) => {
      const mine = cases.filter((c) => c.op === op).map((c) => [c, results.get(c.name)] as const);
      const count = (s: string) => mine.filter(([, r]) => r?.status === s).length;
      return { op, passed: count('passed'), failed: count('failed'), skipped: count('skipped'), mine };
    });
    const row = (name: string, p: number, f: number, k: number) => `${name.padEnd(26)} ${String(p).padStart(6)}  ${String(f).padStart(6)}  ${String(k).padStart(7)}`;
    const lines = ['', `${'operator'.padEnd(26)} passed  failed  skipped`, ...rows.map((r) => row(r.op, r.passed, r.failed, r.skipped))];
    const total = (k: 'passed' | 'failed' | 'skipped') => rows.reduce((a, r) => a + r[k], 0);
    lines.push(row('total', total('passed'), total('failed'), total('skipped')));
    for (const r of rows) {
      for (const [c, o] of r.mine) if (o && o.status !== 'passed') lines.push(`  ${o.status} ${c.name}: ${o.reason}`);
    }
    console.log(lines.join('\n'));
  });
});
