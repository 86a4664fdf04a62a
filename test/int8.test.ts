// quantizeInt8 end to end. Each model is calibrated on the sim with 24 random batches drawn
// from one distribution (uniform in [-1, 1), seeded) and evaluated on 8 held-out batches from
// the same distribution. The reference is the float32 model run by onnxruntime-node, an
// independent implementation; the quantized model is run by the sim and by onnxruntime-node,
// and the two must agree. Scales are checked against arithmetic done here (min-max: max |x| /
// 127 over the batches; weights: max |w| per channel / 127), caches against their text.
import { mkdtempSync, readFileSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';

import { fromBinary, toBinary } from '@bufbuild/protobuf';
import * as ort from 'onnxruntime-node';
import { ModelProtoSchema, TensorProto_DataType, TensorProtoSchema, type GraphProto, type ModelProto, type NodeProto } from 'onnx-buf';
import { afterAll, describe, expect, it } from 'vitest';

import * as api from '../lib/index.js';
import { buildEngine, InferenceSession, InvalidArgumentError, Tensor, UnsupportedError } from '../lib/index.js';
import { formatCalibrationCache, parseCalibrationCache } from '../lib/calibration/calibration-cache.js';
import { parseModel, readModel } from '../lib/onnx/model-io.js';
import { makeModel, makeTensor } from '../lib/onnx/model-builder.js';
import { tensorToArray } from '../lib/onnx/tensor-data.js';
import { quantizeInt8 } from '../lib/precision/int8.js';
import { TESTDATA, tensorFromProto } from './conformance/onnx-test-case.js';
import { lenetModel, mobileModel, resnetBlockModel } from './fixtures/cnn-models.js';
import { mlpModel, randomFloats } from './fixtures/models.js';
import { expectClose } from './fixtures/oracle.js';
import { cosine } from './fixtures/cosine.js';

const PYTORCH = join(TESTDATA, 'pytorch-converted');
const CALIBRATION_BATCHES = 24;
const HELD_OUT = 8;
const dir = mkdtempSync(join(tmpdir(), 'tnrt-int8-'));
afterAll(() => rmSync(dir, { recursive: true, force: true }));

type Shapes = Record<string, number[]>;
const count = (dims: readonly number[]) => dims.reduce((a, b) => a * b, 1);

/** Batch `index` of the distribution: seeds never overlap between calibration (0..) and held-out (1000..). */
function batch(shapes: Shapes, index: number): Record<string, Tensor> {
  const feeds: Record<string, Tensor> = {};
  let seed = 7919 * (index + 1);
  for (const [name, dims] of Object.entries(shapes)) feeds[name] = new Tensor('float32', randomFloats(count(dims), seed++), dims);
  return feeds;
}
function* calibration(shapes: Shapes, n = CALIBRATION_BATCHES): Generator<Record<string, Tensor>> {
  for (let i = 0; i < n; i++) yield batch(shapes, i);
}
const heldOut = (shapes: Shapes) => Array.from({ length: HELD_OUT }, (_, i) => batch(shapes, 1000 + i));

async function runOrt(model: Uint8Array, feeds: Record<string, Tensor>): Promise<Record<string, Float32Array>> {
  const session = await ort.InferenceSession.create(model, { intraOpNumThreads: 1, interOpNumThreads: 1, logSeverityLevel: 3 });
  try {
    const input: Record<string, ort.Tensor> = {};
    for (const [name, t] of Object.entries(feeds)) input[name] = new ort.Tensor('float32', t.data as Float32Array, [...t.dims]);
    const out = await session.run(input);
    return Object.fromEntries(Object.entries(out).map(([k, v]) => [k, v.data as Float32Array]));
  } finally {
    await session.release();
  }
}

async function runSim(model: Uint8Array, batches: Record<string, Tensor>[], shapes: Shapes): Promise<Record<string, Float32Array>[]> {
  const session = await InferenceSession.create(await buildEngine(model, { backend: 'sim', shapes }), { backend: 'sim' });
  try {
    const results: Record<string, Float32Array>[] = [];
    for (const feeds of batches) {
      const out = await session.run(feeds);
      results.push(Object.fromEntries(Object.entries(out).map(([k, v]) => [k, v.toFloat32()])));
    }
    return results;
  } finally {
    session.dispose();
  }
}


const figures: string[] = [];
afterAll(() => console.log(`int8 figures:\n  ${figures.join('\n  ')}`));

interface Evaluation {
  /** Worst per-batch cosine of the sim's INT8 outputs against onnxruntime's float32 outputs. */
  cosine: number;
  /** Worst per-batch cosine between the sim's and onnxruntime's INT8 outputs. */
  agreementCosine: number;
  /** max |sim - ort| on the INT8 model, over max |float32 output|. */
  agreementMaxRel: number;
}

/** Quantized vs float on held-out data, and the sim vs onnxruntime on the quantized model. */
async function evaluate(label: string, float32: Uint8Array, int8: Uint8Array, shapes: Shapes): Promise<Evaluation> {
  const batches = heldOut(shapes);
  const sim = await runSim(int8, batches, shapes);
  let worst = 1;
  let agreement = 1;
  let maxRel = 0;
  for (let b = 0; b < batches.length; b++) {
    const reference = await runOrt(float32, batches[b]!);
    const ortInt8 = await runOrt(int8, batches[b]!);
    for (const name of Object.keys(reference)) {
      const magnitude = reference[name]!.reduce((m, v) => Math.max(m, Math.abs(v)), 0);
      worst = Math.min(worst, cosine(sim[b]![name]!, reference[name]!));
      agreement = Math.min(agreement, cosine(sim[b]![name]!, ortInt8[name]!));
      for (let i = 0; i < reference[name]!.length; i++) maxRel = Math.max(maxRel, Math.abs(sim[b]![name]![i]! - ortInt8[name]![i]!) / magnitude);
    }
  }
  figures.push(`${label}: cosine(int8 sim, fp32 ort) >= ${worst.toFixed(5)}; sim vs ort int8: cosine >= ${agreement.toFixed(7)}, max |diff| / max |y| = ${maxRel.toExponential(2)}`);
  return { cosine: worst, agreementCosine: agreement, agreementMaxRel: maxRel };
}

/**
 * The tolerance between the sim and onnxruntime on one INT8 model. Both compute the same
 * float graph, but x / scale can land on a rounding tie (or within float error of one) in one
 * and not the other, and onnxruntime fuses DQ -> Conv -> Q into integer kernels that round the
 * requantized value once where the sim rounds the float result: such an element moves by one
 * quantization step (threshold / 127, under 1% of the tensor's range) and the change
 * propagates, damped, to the outputs. Allowing 3% of the output range per element and a
 * cosine of 0.999 leaves room for a few such steps while still catching a wrong scale, axis
 * or zero point, each of which moves whole channels by far more.
 */
function expectAgreement(e: Evaluation): void {
  expect(e.agreementCosine).toBeGreaterThanOrEqual(0.999);
  expect(e.agreementMaxRel).toBeLessThanOrEqual(0.03);
}

const graphOf = (bytes: Uint8Array): GraphProto => parseModel(bytes).graph!;
const producer = (graph: GraphProto, name: string) => graph.node.find((n) => n.output.includes(name));
const initializer = (graph: GraphProto, name: string) => graph.initializer.find((t) => t.name === name);
const axisOf = (n: NodeProto) => Number(n.attribute.find((a) => a.name === 'axis')?.i ?? 1n);

/** Checks that input `index` of `node` is DQ(Q(source)) with a scalar scale and an int8 zero point 0; returns the scale. */
function expectActivationQdq(graph: GraphProto, node: NodeProto, index: number, source: string): number {
  const dq = producer(graph, node.input[index]!)!;
  expect(dq.opType, `${node.name} input ${index}`).toBe('DequantizeLinear');
  const q = producer(graph, dq.input[0]!)!;
  expect(q.opType).toBe('QuantizeLinear');
  expect(q.input[0]).toBe(source);
  expect(q.input[1]).toBe(dq.input[1]);
  const scale = tensorToArray(initializer(graph, q.input[1]!)!);
  expect(scale.dims).toEqual([]);
  const zero = tensorToArray(initializer(graph, q.input[2]!)!);
  expect(zero.dtype).toBe('int8');
  expect([...(zero.data as Int8Array)]).toEqual([0]);
  return (scale.data as Float32Array)[0]!;
}

/** Checks that input `index` of `node` is a per-axis DQ of an int8 initializer along `axis` reproducing `original` within half a step. */
function expectWeightDq(graph: GraphProto, node: NodeProto, index: number, axis: number, original: { values: Float32Array; dims: number[] }): void {
  const dq = producer(graph, node.input[index]!)!;
  expect(dq.opType, `${node.name} input ${index}`).toBe('DequantizeLinear');
  expect(axisOf(dq)).toBe(axis);
  const q = tensorToArray(initializer(graph, dq.input[0]!)!);
  expect(q.dtype).toBe('int8');
  expect(q.dims).toEqual(original.dims);
  const scales = tensorToArray(initializer(graph, dq.input[1]!)!).data as Float32Array;
  const zero = tensorToArray(initializer(graph, dq.input[2]!)!);
  expect(zero.dtype).toBe('int8');
  expect(zero.dims).toEqual([original.dims[axis]]);
  expect((zero.data as Int8Array).every((z) => z === 0)).toBe(true);
  // Independent arithmetic: scale_c = max |w_c| / 127, and q * scale_c within half a step of w.
  const inner = count(original.dims.slice(axis + 1));
  const channels = original.dims[axis]!;
  const maxAbs = new Array<number>(channels).fill(0);
  original.values.forEach((v, i) => {
    const c = Math.floor(i / inner) % channels;
    maxAbs[c] = Math.max(maxAbs[c]!, Math.abs(v));
  });
  for (let c = 0; c < channels; c++) expect(scales[c]).toBeCloseTo(maxAbs[c]! / 127, 7);
  (q.data as Int8Array).forEach((v, i) => {
    const s = scales[Math.floor(i / inner) % channels]!;
    expect(Math.abs(v * s - original.values[i]!)).toBeLessThanOrEqual(s / 2 + 1e-7);
  });
}

const floatInit = (model: Uint8Array, name: string) => {
  const t = tensorToArray(initializer(graphOf(model), name)!);
  return { values: t.data as Float32Array, dims: t.dims };
};

describe('quantizeInt8 on CNNs built in code', () => {
  it('LeNet: Q/DQ on Conv, pooling and Gemm inputs, per-channel weights, cosine >= 0.99', async () => {
    const float32 = lenetModel();
    const shapes = { x: [1, 1, 28, 28] };
    const int8 = await quantizeInt8(float32, { calibrationData: calibration(shapes), method: 'entropy', backend: 'sim' });
    const g = graphOf(int8);
    const byName = (name: string) => g.node.find((n) => n.name === name)!;
    expectActivationQdq(g, byName('Conv_0'), 0, 'x');
    expectWeightDq(g, byName('Conv_0'), 1, 0, floatInit(float32, 'c1w'));
    expect(byName('Conv_0').input[2]).toBe('c1b'); // biases stay float
    expectActivationQdq(g, byName('MaxPool_2'), 0, 'r1');
    expectActivationQdq(g, byName('Conv_3'), 0, 'p1');
    expectActivationQdq(g, byName('AveragePool_5'), 0, 'r2');
    expectActivationQdq(g, byName('Gemm_7'), 0, 'f');
    expectWeightDq(g, byName('Gemm_7'), 1, 0, floatInit(float32, 'f1w')); // transB = 1: B is [N, K]
    expect(byName('Relu_1').input).toEqual(['c1']);
    expect(byName('Softmax_10').input).toEqual(['g2']);
    expect(initializer(g, 'c1w')).toBeUndefined(); // the float copy is gone
    expect(initializer(g, 'c1b')!.dataType).toBe(TensorProto_DataType.FLOAT);
    const e = await evaluate('LeNet (entropy)', float32, int8, shapes);
    expect(e.cosine).toBeGreaterThanOrEqual(0.99);
    expectAgreement(e);
  });

  it('ResNet block: BatchNormalization, the residual Add and MatMul (weight axis 1) are quantized', async () => {
    const float32 = resnetBlockModel();
    const shapes = { x: [1, 16, 8, 8] };
    const int8 = await quantizeInt8(float32, { calibrationData: calibration(shapes), method: 'entropy', backend: 'sim' });
    const g = graphOf(int8);
    const byName = (name: string) => g.node.find((n) => n.name === name)!;
    expectActivationQdq(g, byName('BatchNormalization_1'), 0, 'a1');
    expectActivationQdq(g, byName('Add_5'), 0, 'b2');
    expectActivationQdq(g, byName('Add_5'), 1, 'x');
    // One Q/DQ pair per tensor, shared by Conv_0 and the residual Add.
    expect(byName('Add_5').input[1]).toBe(byName('Conv_0').input[0]);
    expectActivationQdq(g, byName('GlobalAveragePool_7'), 0, 'r2');
    expectWeightDq(g, byName('MatMul_9'), 1, 1, floatInit(float32, 'fw'));
    // The classifier bias is a constant input of Add: it stays float.
    expectActivationQdq(g, byName('Add_10'), 0, 'm');
    expect(byName('Add_10').input[1]).toBe('fb');
    const e = await evaluate('ResNet block (entropy)', float32, int8, shapes);
    expect(e.cosine).toBeGreaterThanOrEqual(0.99);
    expectAgreement(e);
  });

  it('MobileNet-style: depthwise and pointwise Convs quantized, Concat/Resize left alone', async () => {
    const float32 = mobileModel();
    const shapes = { x: [1, 8, 16, 16] };
    const int8 = await quantizeInt8(float32, { calibrationData: calibration(shapes), method: 'percentile', percentile: 99.99, backend: 'sim' });
    const g = graphOf(int8);
    const byName = (name: string) => g.node.find((n) => n.name === name)!;
    expectWeightDq(g, byName('Conv_0'), 1, 0, floatInit(float32, 'dw'));
    expectActivationQdq(g, byName('Conv_2'), 0, 'h');
    expect(byName('Concat_4').input).toEqual(['p', 'b']);
    const e = await evaluate('MobileNet-style (percentile 99.99)', float32, int8, shapes);
    expect(e.cosine).toBeGreaterThanOrEqual(0.99);
    expectAgreement(e);
  });

  it('MLP (MatMul + Add): min-max scales equal max |x| / 127 over the calibration batches', async () => {
    const float32 = mlpModel();
    const shapes = { x: [4, 8] };
    const int8 = await quantizeInt8(float32, { calibrationData: calibration(shapes), method: 'minmax', backend: 'sim' });
    const g = graphOf(int8);
    const fc1 = g.node.find((n) => n.name === 'fc1')!;
    let maxAbs = 0;
    for (const b of calibration(shapes)) for (const v of b.x!.data as Float32Array) maxAbs = Math.max(maxAbs, Math.abs(v));
    expect(expectActivationQdq(g, fc1, 0, 'x')).toBe(Math.fround(maxAbs / 127));
    expectWeightDq(g, fc1, 1, 1, floatInit(float32, 'W1'));
    const e = await evaluate('MLP (minmax)', float32, int8, shapes);
    expect(e.cosine).toBeGreaterThanOrEqual(0.99);
    expectAgreement(e);
  });
});

/** Shapes of a pytorch-converted model's real inputs, from its graph (its initializers are listed as inputs too: IR 3). */
function inputShapes(model: ModelProto): Shapes {
  const inits = new Set(model.graph!.initializer.map((t) => t.name));
  const shapes: Shapes = {};
  for (const input of model.graph!.input) {
    if (inits.has(input.name)) continue;
    const type = input.type!.value;
    if (type.case !== 'tensorType') continue;
    shapes[input.name] = type.value.shape!.dim.map((d) => (d.value.case === 'dimValue' ? Number(d.value.value) : 1));
  }
  return shapes;
}

/**
 * The float32 reference for a pytorch-converted model: the file itself where onnxruntime runs
 * it; otherwise (onnxruntime has no Gemm-6 kernel) the same graph relabelled opset 13 by hand
 * here, without the flags opset 7 retired (Gemm's `broadcast`, BatchNormalization's `is_test`). Either way the reference must
 * reproduce the expected output ONNX ships in test_data_set_0, which vouches for it.
 */
async function floatReference(name: string): Promise<Uint8Array> {
  const path = join(PYTORCH, name, 'model.onnx');
  let bytes: Uint8Array = readFileSync(path);
  try {
    await (await ort.InferenceSession.create(bytes, { logSeverityLevel: 3 })).release();
  } catch {
    const model = parseModel(bytes);
    model.opsetImport[0]!.version = 13n;
    model.irVersion = 7n;
    const dropped = ['broadcast', 'is_test', 'spatial', 'consumed_inputs'];
    for (const n of model.graph!.node) n.attribute = n.attribute.filter((a) => !dropped.includes(a.name));
    bytes = toBinary(ModelProtoSchema, model);
  }
  const proto = (file: string) => fromBinary(TensorProtoSchema, readFileSync(join(PYTORCH, name, 'test_data_set_0', file)));
  const model = parseModel(bytes);
  const inits = new Set(model.graph!.initializer.map((t) => t.name));
  const input = model.graph!.input.find((i) => !inits.has(i.name))!.name;
  const out = await runOrt(bytes, { [input]: tensorFromProto(proto('input_0.pb')) });
  expectClose(Object.values(out)[0]!, tensorFromProto(proto('output_0.pb')).data as Float32Array, 1e-4, 1e-5);
  return bytes;
}

describe('quantizeInt8 on PyTorch-converted networks (opset 6, raised to 13)', () => {
  const cases: [string, string, number][] = [
    // [model, quantized op, weight axis]
    ['test_Conv2d', 'Conv', 0],
    ['test_Conv2d_depthwise', 'Conv', 0],
    ['test_Conv2d_groups', 'Conv', 0],
    ['test_ConvTranspose2d', 'ConvTranspose', 1],
    ['test_Linear', 'Gemm', 0],
    ['test_Linear_no_bias', 'MatMul', 1],
  ];
  for (const [name, op, axis] of cases) {
    it(`${name}: ${op} weight per-axis along ${axis}, cosine >= 0.99`, async () => {
      const path = join(PYTORCH, name, 'model.onnx');
      const float32 = await floatReference(name);
      const { model } = await readModel(path);
      const shapes = inputShapes(model);
      const int8 = await quantizeInt8(path, { calibrationData: calibration(shapes), backend: 'sim' });
      const quantized = parseModel(int8);
      expect(quantized.opsetImport.find((o) => o.domain === '')!.version).toBe(13n);
      const g = quantized.graph!;
      const node = g.node.find((n) => n.opType === op)!;
      expectActivationQdq(g, node, 0, model.graph!.node.find((n) => n.opType === op)!.input[0]!);
      // test_Linear_no_bias reads its weight through Transpose(W): the transpose is folded into the int8 weight.
      const original = model.graph!.node.find((n) => n.opType === op)!;
      const wName = model.graph!.initializer.some((t) => t.name === original.input[1]) ? original.input[1]! : producer(model.graph!, original.input[1]!)!.input[0]!;
      let weight = floatInit(float32, wName);
      if (op === 'MatMul') {
        const [r, c] = weight.dims as [number, number];
        const t = new Float32Array(r * c);
        for (let i = 0; i < r; i++) for (let j = 0; j < c; j++) t[j * r + i] = weight.values[i * c + j]!;
        weight = { values: t, dims: [c, r] };
        expect(g.node.some((n) => n.opType === 'Transpose')).toBe(false);
      }
      expectWeightDq(g, node, 1, axis, weight);
      const e = await evaluate(`${name} (entropy)`, float32, int8, shapes);
      expect(e.cosine).toBeGreaterThanOrEqual(0.99);
      expectAgreement(e);
    });
  }
});

describe('quantizeInt8 on PyTorch-converted networks without weights', () => {
  // BatchNormalization-6 carries is_test, which opset 13 dropped; AveragePool is a fused op.
  for (const [name, op] of [['test_BatchNorm2d_eval', 'BatchNormalization'], ['test_AvgPool2d', 'AveragePool']] as const) {
    it(`${name}: Q/DQ on the ${op} input, opset 13, cosine >= 0.99`, async () => {
      const path = join(PYTORCH, name, 'model.onnx');
      const float32 = await floatReference(name);
      const { model } = await readModel(path);
      const shapes = inputShapes(model);
      const int8 = await quantizeInt8(path, { calibrationData: calibration(shapes), method: 'minmax', backend: 'sim' });
      const g = graphOf(int8);
      const node = g.node.find((n) => n.opType === op)!;
      expect(node.attribute.map((a) => a.name)).not.toContain('is_test');
      expectActivationQdq(g, node, 0, model.graph!.node[0]!.input[0]!);
      const e = await evaluate(`${name} (minmax)`, float32, int8, shapes);
      expect(e.cosine).toBeGreaterThanOrEqual(0.99);
      expectAgreement(e);
    });
  }
});

describe('quantizeInt8 calibration cache', () => {
  it('writes TensorRT cache text that round-trips byte for byte, and a second run from it skips calibration', async () => {
    const float32 = lenetModel();
    const shapes = { x: [1, 1, 28, 28] };
    const cachePath = join(dir, 'lenet.cache');
    const first = await quantizeInt8(float32, { calibrationData: calibration(shapes), backend: 'sim', calibrationCache: { write: cachePath } });
    const text = readFileSync(cachePath);
    const cache = parseCalibrationCache(text);
    expect(cache.version).toBe('101600');
    expect(cache.algorithm).toBe('EntropyCalibration2');
    expect([...cache.scales.keys()]).toEqual(['x', 'r1', 'p1', 'r2', 'f', 'r3']);
    expect(Buffer.from(formatCalibrationCache(cache))).toEqual(text);
    // The scales in the model are the ones in the cache.
    const g = graphOf(first);
    for (const [tensor, scale] of cache.scales) {
      const q = g.node.find((n) => n.opType === 'QuantizeLinear' && n.input[0] === tensor)!;
      expect((tensorToArray(initializer(g, q.input[1]!)!).data as Float32Array)[0]).toBe(scale);
    }

    const untouchable: Iterable<Record<string, Tensor>> = {
      [Symbol.iterator]() {
        throw new Error('calibration data must not be read when a cache is given');
      },
    };
    const fromFile = await quantizeInt8(float32, { calibrationData: untouchable, calibrationCache: { read: cachePath } });
    expect(Buffer.from(fromFile)).toEqual(Buffer.from(first));
    const fromText = await quantizeInt8(float32, { calibrationCache: { read: text.toString('utf8') } });
    expect(Buffer.from(fromText)).toEqual(Buffer.from(first));
    const rewritten = join(dir, 'lenet-again.cache');
    const fromBytes = await quantizeInt8(float32, { calibrationCache: { read: new Uint8Array(text), write: rewritten } });
    expect(Buffer.from(fromBytes)).toEqual(Buffer.from(first));
    expect(readFileSync(rewritten)).toEqual(text);
  });

  it('names the algorithm by method and refuses a cache that lacks a needed tensor', async () => {
    const float32 = mlpModel();
    const shapes = { x: [4, 8] };
    const cachePath = join(dir, 'mlp.cache');
    await quantizeInt8(float32, { calibrationData: calibration(shapes), method: 'minmax', backend: 'sim', calibrationCache: { write: cachePath, version: '100300' } });
    const cache = parseCalibrationCache(readFileSync(cachePath));
    expect(cache.algorithm).toBe('MinMaxCalibration');
    expect(cache.version).toBe('100300');
    await quantizeInt8(float32, { calibrationData: calibration(shapes), method: 'percentile', backend: 'sim', calibrationCache: { write: cachePath } });
    expect(parseCalibrationCache(readFileSync(cachePath)).algorithm).toBe('LegacyCalibration');
    cache.scales.delete('h2');
    await expect(quantizeInt8(float32, { calibrationCache: { read: formatCalibrationCache(cache) } })).rejects.toThrow(/lacks 'h2'/);
  });
});

describe('quantizeInt8 options', () => {
  it('exclude leaves named nodes and op types untouched; include narrows to what it lists', async () => {
    const float32 = lenetModel();
    const shapes = { x: [1, 1, 28, 28] };
    const excluded = graphOf(await quantizeInt8(float32, { calibrationData: calibration(shapes, 4), backend: 'sim', exclude: { nodeNames: ['Conv_3'], opTypes: ['MaxPool'] } }));
    const byName = (g: GraphProto, name: string) => g.node.find((n) => n.name === name)!;
    expect(byName(excluded, 'Conv_3').input).toEqual(['p1', 'c2w', 'c2b']);
    expect(initializer(excluded, 'c2w')!.dataType).toBe(TensorProto_DataType.FLOAT);
    expect(byName(excluded, 'MaxPool_2').input).toEqual(['r1']);
    expect(byName(excluded, 'Conv_0').input[0]).not.toBe('x');

    const included = graphOf(await quantizeInt8(float32, { calibrationData: calibration(shapes, 4), backend: 'sim', include: { opTypes: ['Gemm'] } }));
    expect(included.node.filter((n) => n.opType === 'QuantizeLinear').map((n) => n.input[0])).toEqual(['f', 'r3']);
    expect(byName(included, 'Conv_0').input).toEqual(['x', 'c1w', 'c1b']);
  });

  it("floatOpsIn 'float16' keeps quantized ops in float32 and runs the rest in float16", async () => {
    const float32 = resnetBlockModel();
    const shapes = { x: [1, 16, 8, 8] };
    // Min-max here: this block's global-pool outputs sit in a narrow band away from zero, where
    // the entropy search (TensorRT's algorithm) finds zero divergence at the band's lower edge.
    const int8 = await quantizeInt8(float32, { calibrationData: calibration(shapes), method: 'minmax', backend: 'sim', floatOpsIn: 'float16' });
    const g = graphOf(int8);
    expect(initializer(g, 'bn1s')).toBeDefined(); // BatchNormalization is quantized: its parameters stay float32
    expect(g.node.some((n) => n.opType === 'Cast')).toBe(true);
    const relu = g.node.find((n) => n.name === 'Relu_2')!;
    expect(producer(g, relu.input[0]!)!.opType).toBe('Cast'); // Relu runs in float16
    const e = await evaluate('ResNet block (minmax, float16 remainder)', float32, int8, shapes);
    expect(e.cosine).toBeGreaterThanOrEqual(0.99);
    expectAgreement(e);
  });

  it('throws typed errors for bad options, empty data and incomplete batches', async () => {
    const model = mlpModel();
    const shapes = { x: [4, 8] };
    await expect(quantizeInt8(model, {})).rejects.toThrow(InvalidArgumentError);
    await expect(quantizeInt8(model, {})).rejects.toThrow(/calibrationData/);
    await expect(quantizeInt8(model, { calibrationData: 42 as never })).rejects.toThrow(/Iterable or AsyncIterable/);
    await expect(quantizeInt8(model, { calibrationData: [], method: 'kl' as never })).rejects.toThrow(/for method/);
    await expect(quantizeInt8(model, { calibrationData: [], percentile: 99 })).rejects.toThrow(/percentile/);
    await expect(quantizeInt8(model, { calibrationData: [], include: { opTypes: ['Softmax'] } })).rejects.toThrow(/include.opTypes/);
    await expect(quantizeInt8(model, { calibrationData: [], exclude: { nodeNames: ['nope'] } })).rejects.toThrow(/exclude.nodeNames/);
    await expect(quantizeInt8(model, { calibrationData: [], backend: 'sim' })).rejects.toThrow(/at least one batch/);
    await expect(quantizeInt8(model, { calibrationData: [{ y: batch(shapes, 0).x! }], backend: 'sim' })).rejects.toThrow(/input 'x' in calibration batch 0/);
    await expect(quantizeInt8(model, { calibrationData: [{ x: [1, 2] as never }], backend: 'sim' })).rejects.toThrow(InvalidArgumentError);
    await expect(quantizeInt8(model, { calibrationData: [batch(shapes, 0), { x: new Tensor('float32', new Float32Array(8), [1, 8]) }], backend: 'sim', shapes })).rejects.toThrow(/calibration batch 1/);
    await expect(quantizeInt8(model, { calibrationCache: { read: join(dir, 'missing.cache') } })).rejects.toThrow(/cannot be read/);
  });

  it('refuses models it cannot convert to opset 13, and models already quantized', async () => {
    // Det has no version history upgradeOpset knows (the sim does not run it either).
    const det = makeModel({
      opset: 11,
      inputs: [{ name: 'x', dtype: 'float32', shape: [2, 4, 4] }],
      outputs: [{ name: 'y', dtype: 'float32', shape: [2] }],
      initializers: [makeTensor('w', 'float32', [4, 4], randomFloats(16, 5))],
      nodes: [
        { op: 'MatMul', inputs: ['x', 'w'], outputs: ['m'] },
        { op: 'Det', inputs: ['m'], outputs: ['y'] },
      ],
    });
    await expect(quantizeInt8(det, { calibrationData: [] })).rejects.toThrow(UnsupportedError);
    await expect(quantizeInt8(det, { calibrationData: [] })).rejects.toThrow(/needs opset 13 for per-axis QuantizeLinear. Cannot convert the model from opset 11 to 13: node 'Det_1' \(Det\)/);
    const int8 = await quantizeInt8(mlpModel(), { calibrationData: calibration({ x: [4, 8] }, 2), backend: 'sim' });
    await expect(quantizeInt8(int8, { calibrationData: [] })).rejects.toThrow(/already holds (Quantize|Dequantize)Linear/);
  });

  it('writes the model to outputPath and takes shapes as a spec string', async () => {
    const outputPath = join(dir, 'lenet.int8.onnx');
    const bytes = await quantizeInt8(lenetModel(), { calibrationData: calibration({ x: [2, 1, 28, 28] }, 2), shapes: 'x:2x1x28x28', backend: 'sim', outputPath });
    expect(Buffer.from(readFileSync(outputPath))).toEqual(Buffer.from(bytes));
  });

  it('is exported from the package entry point', () => {
    expect(api.quantizeInt8).toBe(quantizeInt8);
    expect(api.QUANTIZABLE_OPS).toContain('ConvTranspose');
  });
});

describe('quantizeInt8 streaming', () => {
  it('calibrates from an async generator of 384 MiB of batches holding one batch at a time', async () => {
    const float32 = resnetBlockModel();
    const shapes = { x: [8, 16, 32, 32] }; // 512 KiB per batch
    const batches = 768;
    const perBatch = count(shapes.x) * 4;
    const base = process.memoryUsage().arrayBuffers;
    let peak = 0;
    let produced = 0;
    async function* stream(): AsyncGenerator<Record<string, Tensor>> {
      for (let i = 0; i < batches; i++) {
        // An I/O-like pause, as when batches are read from disk.
        if (i % 32 === 0) await new Promise((resolve) => setImmediate(resolve));
        peak = Math.max(peak, process.memoryUsage().arrayBuffers - base);
        produced++;
        yield { x: new Tensor('float32', randomFloats(count(shapes.x), i + 1), shapes.x) };
      }
    }
    const int8 = await quantizeInt8(float32, { calibrationData: stream(), method: 'minmax', backend: 'sim' });
    expect(produced).toBe(batches);
    expect(graphOf(int8).node.filter((n) => n.opType === 'QuantizeLinear').length).toBeGreaterThan(0);
    figures.push(`streaming: ${batches} batches, ${((batches * perBatch) / 2 ** 20).toFixed(0)} MiB streamed, peak extra ArrayBuffer memory ${(peak / 2 ** 20).toFixed(1)} MiB`);
    // Holding every batch (or every activation) would need all 384 MiB and more; the live batch, its
    // activations and what the garbage collector has not yet reclaimed stay far below.
    expect(peak).toBeLessThan((batches * perBatch) / 4);
  }, 300_000);
});
