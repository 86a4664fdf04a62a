// Hostile input: malformed models and engines get a typed error that names the
// problem, quickly and without a big allocation; never a crash, a hang or runaway memory.
// The fuzz campaign's reproductions live in test/fuzz-corpus/regressions/ (the fuzzers replay
// that folder too); each runs here in a child process, so a crash fails its test instead of
// killing vitest. The other models are built in code, one per overflow path the sim guards.
import { execFile } from 'node:child_process';
import { mkdtempSync, readFileSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { fileURLToPath } from 'node:url';
import { promisify } from 'node:util';

import { create, fromBinary, toBinary } from '@bufbuild/protobuf';
import {
  type AttributeProto,
  AttributeProto_AttributeType,
  AttributeProtoSchema,
  ModelProtoSchema,
  TensorProto_DataType,
  TensorProtoSchema,
} from 'onnx-buf';
import { describe, expect, it } from 'vitest';

import {
  Builder,
  buildEngine,
  EngineInvalidError,
  InvalidArgumentError,
  Logger,
  OnnxParseError,
  Runtime,
  ShapeError,
  Tensor,
  TensorRTError,
} from '../lib/index.js';
import { awaitNative } from '../lib/errors.js';
import { getDefaultLogger } from '../lib/logger.js';
import { native } from '../lib/native.js';
import { makeModel, makeTensor, type ModelSpec } from '../lib/onnx/model-builder.js';
import { cappedNodeEnv, cappedNodeShell } from './fixtures/memory-cap.js';
import { randomFloats } from './fixtures/models.js';

const here = fileURLToPath(new URL('.', import.meta.url));
const corpus = join(here, 'fuzz-corpus', 'regressions');
const run = promisify(execFile);
const GiB = 1024 ** 3;

// ---------------------------------------------------------------------------------------------
// The reproductions, each in its own process through the public API (dist/, built by pretest).

interface ChildReport {
  stage: string;
  ok: boolean;
  name?: string;
  code?: string;
  message?: string;
  parserErrors?: { node: string; op: string; description: string }[];
  ms: number;
  maxRssMiB: number;
}

// Parse, build with the model's own shapes (dynamic dims 1 to 4), deserialize, execute with
// zeros at profile 0's opt shapes: the first stage
// that throws is reported. maxRSS says whether anything big was allocated on the way.
const childScript = `
const api = await import(process.env.ENTRY);
const { readFileSync } = await import('node:fs');
const file = process.env.INPUT;
const bytes = new Uint8Array(readFileSync(file));
const t0 = performance.now();
let stage = 'start';
const report = (extra) => {
  const rss = process.resourceUsage().maxRSS / 1024;
  process.stdout.write(JSON.stringify({ stage, ms: performance.now() - t0, maxRssMiB: rss, ...extra }));
};
try {
  let plan = bytes;
  if (file.endsWith('.onnx')) {
    stage = 'parse';
    const builder = new api.Builder({ backend: 'sim' });
    const network = builder.createNetworkV2();
    await builder.createOnnxParser(network).parse(bytes);
    stage = 'build';
    const config = builder.createBuilderConfig();
    // Dynamic dims get a small range (1 to 4), as a user would give for a test run.
    const dynamic = network.inputs.filter((t) => t.shape.some((d) => d < 0));
    if (dynamic.length > 0) {
      const profile = builder.createOptimizationProfile();
      for (const t of dynamic) {
        profile.setDimensions(t.name, { min: t.shape.map((d) => (d < 0 ? 1 : d)), opt: t.shape.map((d) => (d < 0 ? 4 : d)), max: t.shape.map((d) => (d < 0 ? 4 : d)) });
      }
      config.addOptimizationProfile(profile);
    }
    plan = await builder.buildSerializedNetwork(network, config);
  }
  stage = 'deserialize';
  const runtime = new api.Runtime({ backend: 'sim' });
  const engine = await runtime.deserializeCudaEngine(plan);
  stage = 'execute';
  const context = engine.createExecutionContext();
  const feeds = {};
  for (const input of engine.inputs) {
    const dims = engine.getProfileShape(input.name, 0).opt;
    const n = dims.reduce((a, b) => a * b, 1);
    feeds[input.name] = new api.Tensor(input.dtype, new Float32Array(n), dims);
  }
  await context.execute(feeds);
  report({ ok: true });
} catch (e) {
  report({ ok: false, name: e.constructor.name, code: e.code, message: e.message, parserErrors: e.parserErrors });
}
`;

async function runRepro(name: string): Promise<ChildReport> {
  const entry = new URL('../dist/index.js', import.meta.url).href;
  // A crash (SIGSEGV, abort) rejects with the signal; a hang hits the timeout. Either fails.
  // The memory cap (fixtures/memory-cap.ts, 6 GB) makes "no big allocation" a hard rule and
  // keeps a regression from taking the memory of a shared test machine.
  const { stdout } = await run('/bin/sh', ['-c', cappedNodeShell, process.execPath, childScript], {
    env: cappedNodeEnv({ ENTRY: entry, INPUT: join(corpus, name) }),
    timeout: 30_000,
    maxBuffer: 1 << 20,
  });
  return JSON.parse(stdout) as ChildReport;
}

describe('fuzz regressions (test/fuzz-corpus/regressions, one child process each)', () => {
  it('constant-without-tensor.onnx: OnnxParseError naming the Constant node, no SIGSEGV', async () => {
    const r = await runRepro('constant-without-tensor.onnx');
    expect(r).toMatchObject({ ok: false, stage: 'parse', name: 'OnnxParseError', code: 'ERR_TENSORRT_PARSE' });
    expect(r.message).toMatch(/attribute 'value' is declared TENSOR but carries no tensor/);
    expect(r.parserErrors?.some((p) => p.op === 'Constant' && p.node !== '')).toBe(true);
  });

  it('conv-pads-overflow.onnx: ShapeError at build naming the overflowing output, no heap overflow', async () => {
    const r = await runRepro('conv-pads-overflow.onnx');
    expect(r).toMatchObject({ ok: false, stage: 'build', name: 'ShapeError', code: 'ERR_TENSORRT_SHAPE' });
    // A 2^62 pad makes the output about 2^61 columns wide; times 4 rows (the profile's max) of
    // float32 that is about 2^65 bytes, past 64 bits: refused before anything is sized from it.
    expect(r.message).toMatch(/output 'y' has shape 1x1x\d+x\d{19} of float32, whose size overflows 64 bits/);
    expect(r.maxRssMiB).toBeLessThan(1024);
  });

  it('conv-pads-16gib-output.onnx: ShapeError at build naming maxTensorBytes, quickly, no big allocation', async () => {
    const r = await runRepro('conv-pads-16gib-output.onnx');
    expect(r).toMatchObject({ ok: false, stage: 'build', name: 'ShapeError', code: 'ERR_TENSORRT_SHAPE' });
    expect(r.message).toMatch(/more than maxTensorBytes \(4294967296 bytes\)/);
    expect(r.message).toMatch(/raise the maxTensorBytes option/);
    expect(r.ms).toBeLessThan(5_000);
    expect(r.maxRssMiB).toBeLessThan(1024);
  });

  it('engine-declared-shape-mismatch.engine: EngineInvalidError naming the tensor and both shapes', async () => {
    const r = await runRepro('engine-declared-shape-mismatch.engine');
    expect(r).toMatchObject({ ok: false, stage: 'deserialize', name: 'EngineInvalidError', code: 'ERR_TENSORRT_ENGINE_INVALID' });
    expect(r.message).toMatch(/output '\w+' is declared 2x6x4x4 but its graph computes 2x6x16777220x4/);
    expect(r.maxRssMiB).toBeLessThan(1024);
  });

  it('engine-execution-memory-undeclared.engine: EngineInvalidError at load, before 2 GiB of execute', async () => {
    // A 405-byte Relu -> Relu engine whose profile max rows were forged from 8 to 2^26: each
    // tensor (1 GiB) is under maxTensorBytes, but execute held 2 GiB it never declared
    // (16 s and 5 GB RSS before this check).
    const r = await runRepro('engine-execution-memory-undeclared.engine');
    expect(r).toMatchObject({ ok: false, stage: 'deserialize', name: 'EngineInvalidError' });
    expect(r.message).toContain(`its graph needs ${2 * 2 ** 26 * 16} bytes of execution memory at optimization profile 0 (max shapes) but the engine declares 256`);
    expect(r.maxRssMiB).toBeLessThan(1024);
  });

  it('engine-opt-outside-range.engine: EngineInvalidError at load naming the profile rule', async () => {
    const r = await runRepro('engine-opt-outside-range.engine');
    expect(r).toMatchObject({ ok: false, stage: 'deserialize', name: 'EngineInvalidError', code: 'ERR_TENSORRT_ENGINE_INVALID' });
    expect(r.message).toMatch(/optimization profile 0, input '\w+', dimension \d: needs 0 <= min <= opt <= max but has min\/opt\/max \d+\/-\d+\/\d+/);
  });
});

// ---------------------------------------------------------------------------------------------
// Models built in code.

async function parseError(model: Uint8Array): Promise<unknown> {
  using builder = new Builder({ backend: 'sim' });
  const network = builder.createNetworkV2();
  return builder.createOnnxParser(network).parse(model).then(
    () => undefined,
    (e: unknown) => e,
  );
}

async function buildError(model: Uint8Array, options: Parameters<typeof buildEngine>[1] = {}): Promise<unknown> {
  return buildEngine(model, { backend: 'sim', ...options }).then(
    () => undefined,
    (e: unknown) => e,
  );
}

const f32 = (name: string, shape: readonly (number | string)[]) => ({ name, dtype: 'float32' as const, shape });

/** x -> Conv(3x3 weights, given pads) -> y; the output is [1, 1, 4 + p0 + p2 - 2, 4 + p1 + p3 - 2]. */
function convModel(pads: number[] | bigint[]): Uint8Array {
  return makeModel({
    inputs: [f32('x', [1, 1, 4, 4])],
    outputs: [f32('y', [1, 1, 'h', 'w'])],
    initializers: [makeTensor('w', 'float32', [1, 1, 3, 3], randomFloats(9, 3))],
    nodes: [{ op: 'Conv', inputs: ['x', 'w'], outputs: ['y'], name: 'conv', attributes: { pads } }],
  });
}

describe('attributes: declared type against content', () => {
  const constantWith = (): ModelSpec => ({
    inputs: [f32('x', [2])],
    outputs: [f32('y', [2])],
    nodes: [
      { op: 'Constant', inputs: [], outputs: ['c'], name: 'the_constant', attributes: { value: makeTensor('v', 'float32', [2], [1, 2]) } },
      { op: 'Add', inputs: ['x', 'c'], outputs: ['y'] },
    ],
  });

  it('TENSOR without a tensor is an OnnxParseError naming the node', async () => {
    // Built as the fuzzer found it: type TENSOR, field t absent.
    const bad = create(AttributeProtoSchema, { name: 'value', type: AttributeProto_AttributeType.TENSOR });
    const model = makeModelWithAttribute(constantWith(), bad);
    const error = await parseError(model);
    expect(error).toBeInstanceOf(OnnxParseError);
    expect((error as OnnxParseError).code).toBe('ERR_TENSORRT_PARSE');
    expect((error as Error).message).toMatch(/node 'the_constant' \(Constant\): attribute 'value' is declared TENSOR but carries no tensor/);
    expect((error as OnnxParseError).parserErrors[0]).toMatchObject({ node: 'the_constant', op: 'Constant' });
  });

  it('INTS carrying floats, or INT carrying a tensor, is an OnnxParseError', async () => {
    const floatsAsInts = create(AttributeProtoSchema, { name: 'value', type: AttributeProto_AttributeType.INTS, floats: [1.5] });
    const tensorAsInt = create(AttributeProtoSchema, {
      name: 'value',
      type: AttributeProto_AttributeType.INT,
      t: create(TensorProtoSchema, { dataType: TensorProto_DataType.FLOAT, dims: [1n], floatData: [1] }),
    });
    for (const [attr, message] of [
      [floatsAsInts, /declared INTS but carries a list of another type/],
      [tensorAsInt, /declared INT but carries a value of another type/],
    ] as const) {
      const error = await parseError(makeModelWithAttribute(constantWith(), attr));
      expect(error).toBeInstanceOf(OnnxParseError);
      expect((error as Error).message).toMatch(message);
    }
  });

  it('raw_data shorter than its dims is an OnnxParseError with both sizes', async () => {
    const short = create(TensorProtoSchema, { name: 'w', dataType: TensorProto_DataType.FLOAT, dims: [4n], rawData: new Uint8Array(8) });
    const error = await parseError(
      makeModel({ inputs: [f32('x', [4])], outputs: [f32('y', [4])], initializers: [short], nodes: [{ op: 'Add', inputs: ['x', 'w'], outputs: ['y'] }] }),
    );
    expect(error).toBeInstanceOf(OnnxParseError);
    // 4 float32 values need 4 * 4 = 16 bytes.
    expect((error as Error).message).toMatch(/raw_data holds 8 bytes but shape 4 of float32 needs 16/);
  });
});

/** makeModel, then swaps the Constant node's attributes for `attr`, written exactly as given (makeModel writes only well-formed ones). */
function makeModelWithAttribute(spec: ModelSpec, attr: AttributeProto): Uint8Array {
  const model = fromBinary(ModelProtoSchema, makeModel(spec));
  model.graph!.node.find((n) => n.opType === 'Constant')!.attribute = [attr];
  return toBinary(ModelProtoSchema, model);
}

describe('window geometry: Conv pads', () => {
  it('pads whose sum overflows int64 are refused, before any arithmetic can wrap', async () => {
    const error = await parseError(convModel([2n ** 62n, 0n, 2n ** 62n, 0n]));
    expect(error).toBeInstanceOf(OnnxParseError);
    expect((error as Error).message).toMatch(/the output size of spatial dim 0 overflows \(input 4, kernel 3, pads 4611686018427387904\+4611686018427387904\)/);
  });

  it('one pad of 2^62 gives an output whose byte size overflows: a typed error naming it', async () => {
    // 4 + 2^62 - 2 rows of float32: 4 * (2^62 + 2) bytes do not fit 64 bits.
    const error = await parseError(convModel([2n ** 62n, 0n, 0n, 0n]));
    expect(error).toBeInstanceOf(OnnxParseError);
    expect((error as Error).message).toMatch(/output 'y' has shape 1x1x4611686018427387906x2 of float32, whose size overflows 64 bits/);
  });

  it('strides and dilations beyond 2^31 - 1 are refused with the value', async () => {
    const model = makeModel({
      inputs: [f32('x', [1, 1, 4, 4])],
      outputs: [f32('y', [1, 1, 'h', 'w'])],
      initializers: [makeTensor('w', 'float32', [1, 1, 3, 3], randomFloats(9, 3))],
      nodes: [{ op: 'Conv', inputs: ['x', 'w'], outputs: ['y'], name: 'conv', attributes: { dilations: [2n ** 40n, 1n] } }],
    });
    const error = await parseError(model);
    expect(error).toBeInstanceOf(OnnxParseError);
    expect((error as Error).message).toMatch(/attribute 'dilations' value 1099511627776 exceeds 2147483647/);
  });

  it('pads inside the cap whose output exceeds maxTensorBytes fail the build with ShapeError, not at execute', async () => {
    // Output 1 x 1 x (4 + 40000 - 2) x (4 + 40000 - 2) float32 = 40002^2 * 4 bytes = 6.4 GB > 4 GiB.
    const error = await buildError(convModel([20000, 20000, 20000, 20000]));
    expect(error).toBeInstanceOf(ShapeError);
    expect((error as ShapeError).code).toBe('ERR_TENSORRT_SHAPE');
    const bytes = 40002 * 40002 * 4;
    expect((error as Error).message).toContain(`output 'y' has shape 1x1x40002x40002 of float32 (${bytes} bytes), more than maxTensorBytes (${4 * GiB} bytes)`);
  });

  it('maxTensorBytes is configurable at build: a small limit refuses a small model, naming the option', async () => {
    // y is 1 x 1 x (4 + 3 + 3 - 2)^2 = 8x8 float32 = 256 bytes.
    const model = convModel([3, 3, 3, 3]);
    const error = await buildError(model, { maxTensorBytes: 255 });
    expect(error).toBeInstanceOf(ShapeError);
    expect((error as Error).message).toMatch(/output 'y' has shape 1x1x8x8 of float32 \(256 bytes\), more than maxTensorBytes \(255 bytes\)/);
    await expect(buildEngine(model, { backend: 'sim', maxTensorBytes: 256 })).resolves.toBeInstanceOf(Uint8Array);
  });

  it('maxTensorBytes is validated with the one helper', async () => {
    for (const bad of [0, -1, 1.5, '1', Number.MAX_SAFE_INTEGER + 2]) {
      const error = await buildError(convModel([0, 0, 0, 0]), { maxTensorBytes: bad as number });
      expect(error).toBeInstanceOf(InvalidArgumentError);
      expect((error as Error).message).toMatch(/^Expected an integer in \[1, 9007199254740991\] for maxTensorBytes but received/);
    }
    expect(() => new Runtime({ backend: 'sim', maxTensorBytes: 0 })).toThrow(InvalidArgumentError);
  });
});

describe('shape-from-data operators', () => {
  const resizeModel = (scale: number) =>
    makeModel({
      inputs: [f32('x', [1, 1, 4, 4])],
      outputs: [f32('y', [1, 1, 'h', 'w'])],
      initializers: [makeTensor('scales', 'float32', [4], [1, 1, scale, scale])],
      nodes: [{ op: 'Resize', inputs: ['x', '', 'scales'], outputs: ['y'], name: 'resize', attributes: { mode: 'nearest' } }],
    });

  it('Resize scales beyond int64 are a typed error, not undefined behaviour', async () => {
    const error = await parseError(resizeModel(1e30));
    expect(error).toBeInstanceOf(OnnxParseError);
    expect((error as Error).message).toMatch(/node 'resize' \(Resize\): scale 1\d{30}\.\d+ on axis 2 \(size 4\) gives an output size that overflows/);
  });

  it('Resize scales making a too-large output fail the build with ShapeError', async () => {
    // 4 * 20000 = 80000 per side: 80000^2 * 4 bytes = 25.6 GB.
    const error = await buildError(resizeModel(20000));
    expect(error).toBeInstanceOf(ShapeError);
    expect((error as Error).message).toContain(`shape 1x1x80000x80000 of float32 (${80000 * 80000 * 4} bytes), more than maxTensorBytes`);
  });

  it('NaN and infinite Resize scales are refused', async () => {
    for (const scale of [Number.NaN, Number.POSITIVE_INFINITY]) {
      const error = await parseError(resizeModel(scale));
      expect(error).toBeInstanceOf(OnnxParseError);
      expect((error as Error).message).toMatch(/scales must be positive and finite/);
    }
  });

  const constantOfShape = (shape: bigint[]) =>
    makeModel({
      inputs: [f32('x', [1])],
      outputs: [f32('y', shape.map((_, i) => `d${i}`))],
      initializers: [makeTensor('shape', 'int64', [shape.length], shape)],
      nodes: [
        { op: 'ConstantOfShape', inputs: ['shape'], outputs: ['c'], name: 'fill' },
        { op: 'Add', inputs: ['c', 'x'], outputs: ['y'] },
      ],
    });

  it('ConstantOfShape with a shape whose volume overflows int64 is a typed error', async () => {
    // The shape is a constant, so the parser's shape inference meets it first.
    const error = await buildError(constantOfShape([2n ** 40n, 2n ** 40n]));
    expect(error).toBeInstanceOf(OnnxParseError);
    expect((error as Error).message).toMatch(/node 'fill' \(ConstantOfShape\): output 'c' has shape 1099511627776x1099511627776 of float32, whose size overflows 64 bits/);
  });

  it('ConstantOfShape with a 16 GiB shape fails the build, naming the limit', async () => {
    const error = await buildError(constantOfShape([65536n, 65536n]));
    expect(error).toBeInstanceOf(ShapeError);
    expect((error as Error).message).toContain(`shape 65536x65536 of float32 (${65536 * 65536 * 4} bytes), more than maxTensorBytes (${4 * GiB} bytes)`);
  });

  it('Tile repeats whose product overflows are refused with the dim and the repeats', async () => {
    const model = makeModel({
      inputs: [f32('x', [3, 2])],
      outputs: [f32('y', ['a', 'b'])],
      initializers: [makeTensor('reps', 'int64', [2], [2n ** 62n, 1n])],
      nodes: [{ op: 'Tile', inputs: ['x', 'reps'], outputs: ['y'], name: 'tile' }],
    });
    const error = await parseError(model);
    expect(error).toBeInstanceOf(OnnxParseError);
    expect((error as Error).message).toMatch(/dim 0 \(3\) times repeats 4611686018427387904 overflows/);
  });

  it('Expand to a huge shape fails the build with ShapeError', async () => {
    const model = makeModel({
      inputs: [f32('x', [1, 1])],
      outputs: [f32('y', ['a', 'b'])],
      initializers: [makeTensor('shape', 'int64', [2], [100000n, 100000n])],
      nodes: [{ op: 'Expand', inputs: ['x', 'shape'], outputs: ['y'], name: 'expand' }],
    });
    const error = await buildError(model);
    expect(error).toBeInstanceOf(ShapeError);
    expect((error as Error).message).toContain(`output 'y' has shape 100000x100000 of float32 (${1e10 * 4} bytes)`);
  });

  it('Pad amounts that overflow int64 are refused', async () => {
    const model = makeModel({
      inputs: [f32('x', [2, 2])],
      outputs: [f32('y', ['a', 'b'])],
      initializers: [makeTensor('pads', 'int64', [4], [2n ** 62n, 0n, 2n ** 62n, 0n])],
      nodes: [{ op: 'Pad', inputs: ['x', 'pads'], outputs: ['y'], name: 'pad' }],
    });
    const error = await parseError(model);
    expect(error).toBeInstanceOf(OnnxParseError);
    expect((error as Error).message).toMatch(/pads 4611686018427387904 and 4611686018427387904 on dim 0 \(2\) overflow/);
  });

  it('execute refuses a shape computed from input data above maxTensorBytes, before allocating', async () => {
    // y = ConstantOfShape(Cast(s)) with s a float32 run-time input: not a shape tensor (those
    // are int32/int64, and their profiles bound them), so nothing bounds the output but the limit.
    const model = makeModel({
      inputs: [f32('s', [2])],
      outputs: [f32('y', ['a', 'b'])],
      nodes: [
        { op: 'Cast', inputs: ['s'], outputs: ['s64'], attributes: { to: 7 } },
        { op: 'ConstantOfShape', inputs: ['s64'], outputs: ['y'], name: 'fill' },
      ],
    });
    const plan = await buildEngine(model, { backend: 'sim' });
    using runtime = new Runtime({ backend: 'sim', maxTensorBytes: 1000 });
    const engine = await runtime.deserializeCudaEngine(plan);
    const context = engine.createExecutionContext();
    // 10 x 25 float32 = 1000 bytes: allowed; 10 x 26 = 1040 bytes: refused.
    const ok = await context.execute({ s: new Tensor('float32', [10, 25], [2]) });
    expect(ok.y!.dims).toEqual([10, 25]);
    const error = await context.execute({ s: new Tensor('float32', [10, 26], [2]) }).catch((e: unknown) => e);
    expect(error).toBeInstanceOf(ShapeError);
    expect((error as Error).message).toMatch(/node 'fill' \(ConstantOfShape\): output 'y' has shape 10x26 of float32 \(1040 bytes\), more than maxTensorBytes \(1000 bytes\)/);
    // A 16 GiB request with the default limit is refused the same way, quickly.
    using big = new Runtime({ backend: 'sim' });
    const context2 = (await big.deserializeCudaEngine(plan)).createExecutionContext();
    const t0 = performance.now();
    await expect(context2.execute({ s: new Tensor('float32', [65536, 65536], [2]) })).rejects.toThrow(ShapeError);
    expect(performance.now() - t0).toBeLessThan(2000);
  });

  it('an engine whose profile max needs a tensor above the runtime limit is refused at load with ShapeError', async () => {
    const model = makeModel({
      inputs: [f32('x', ['n', 4])],
      outputs: [f32('y', ['n', 4])],
      nodes: [{ op: 'Relu', inputs: ['x'], outputs: ['y'], name: 'relu' }],
    });
    const plan = await buildEngine(model, { backend: 'sim', profiles: [{ x: { min: [1, 4], opt: [2, 4], max: [100, 4] } }] });
    using runtime = new Runtime({ backend: 'sim', maxTensorBytes: 1000 });
    // max: 100 x 4 float32 = 1600 bytes > 1000.
    const error = await runtime.deserializeCudaEngine(plan).catch((e: unknown) => e);
    expect(error).toBeInstanceOf(ShapeError);
    expect((error as Error).message).toMatch(/optimization profile 0 \(max shapes\).*input 'x' has shape 100x4 of float32 \(1600 bytes\), more than maxTensorBytes \(1000 bytes\)/);
  });

  it('TENSORRT_NODE_MAX_TENSOR_BYTES sets the default and is validated', async () => {
    const saved = process.env.TENSORRT_NODE_MAX_TENSOR_BYTES;
    try {
      process.env.TENSORRT_NODE_MAX_TENSOR_BYTES = '100';
      // 1x1x8x8 float32 = 256 bytes.
      const error = await buildError(convModel([3, 3, 3, 3]));
      expect(error).toBeInstanceOf(ShapeError);
      expect((error as Error).message).toMatch(/\(256 bytes\), more than maxTensorBytes \(100 bytes\)/);
      process.env.TENSORRT_NODE_MAX_TENSOR_BYTES = 'lots';
      expect(() => new Runtime({ backend: 'sim' })).toThrow(/for TENSORRT_NODE_MAX_TENSOR_BYTES but received the string "lots"/);
    } finally {
      if (saved === undefined) delete process.env.TENSORRT_NODE_MAX_TENSOR_BYTES;
      else process.env.TENSORRT_NODE_MAX_TENSOR_BYTES = saved;
    }
  });
});

describe('workspace memory pool', () => {
  // ConvTranspose x [1, 2, 5, 5], w [2, 3, 3, 3]: the column buffer is
  // (M/group = 3) x (kernel volume 9) x (input spatial 25) float32 = 3 * 9 * 25 * 4 = 2700 bytes.
  const model = makeModel({
    inputs: [f32('x', [1, 2, 5, 5])],
    outputs: [f32('y', [1, 3, 7, 7])],
    initializers: [makeTensor('w', 'float32', [2, 3, 3, 3], randomFloats(54, 9))],
    nodes: [{ op: 'ConvTranspose', inputs: ['x', 'w'], outputs: ['y'], name: 'deconv' }],
  });

  it('a layer whose scratch exceeds the workspace limit fails the build, naming both sizes', async () => {
    const error = await buildError(model, { memoryPoolLimits: { workspace: 2699 } });
    expect(error).toBeInstanceOf(ShapeError);
    expect((error as Error).message).toMatch(/node 'deconv' \(ConvTranspose\) needs 2700 bytes of scratch memory, more than the workspace memory pool limit \(2699 bytes\); raise it with setMemoryPoolLimit\('workspace', bytes\)/);
    await expect(buildEngine(model, { backend: 'sim', memoryPoolLimits: { workspace: 2700 } })).resolves.toBeInstanceOf(Uint8Array);
  });
});

// ---------------------------------------------------------------------------------------------
// Engines: forged in code from a real one, with the checksum recomputed, so that each reaches
// the check under test instead of stopping at the checksum.

const HEADER = 32;

function fnv1a64(bytes: Uint8Array): bigint {
  let h = 0xcbf29ce484222325n;
  for (const b of bytes) {
    h ^= BigInt(b);
    h = (h * 0x100000001b3n) & 0xffffffffffffffffn;
  }
  return h;
}

function reseal(plan: Uint8Array): Uint8Array {
  const out = plan.slice();
  new DataView(out.buffer).setBigUint64(24, fnv1a64(out.subarray(HEADER)), true);
  return out;
}

/** Offsets in a sim engine payload: the io table's dims and the first profile's dims. */
function layout(plan: Uint8Array) {
  const view = new DataView(plan.buffer, plan.byteOffset, plan.byteLength);
  let at = HEADER;
  const str = () => {
    const n = view.getUint32(at, true);
    at += 4 + n;
  };
  const dims = () => {
    const rank = view.getUint32(at, true);
    const offsets = Array.from({ length: rank }, (_, i) => at + 4 + 8 * i);
    at += 4 + 8 * rank;
    return offsets;
  };
  str(); // sim version
  const numIo = view.getUint32(at, true);
  at += 4;
  const io: number[][] = [];
  for (let i = 0; i < numIo; i++) {
    str();
    at += 4; // dtype
    io.push(dims());
    at += 1; // isInput
  }
  at += 4; // profile count
  at += 4; // entries of profile 0
  str();
  const profile = { min: dims(), opt: dims(), max: dims() };
  return { io, profile, set: (offset: number, v: bigint) => view.setBigInt64(offset, v, true) };
}

describe('engine files', () => {
  const model = makeModel({
    inputs: [f32('x', ['n', 4])],
    outputs: [f32('y', ['n', 4])],
    nodes: [{ op: 'Relu', inputs: ['x'], outputs: ['y'], name: 'relu' }],
  });
  const build = () => buildEngine(model, { backend: 'sim', profiles: [{ x: { min: [1, 4], opt: [2, 4], max: [8, 4] } }] });

  it('refuses every truncation of a small engine with EngineInvalidError', async () => {
    const plan = await build();
    using runtime = new Runtime({ backend: 'sim' });
    for (let n = 1; n < plan.length; n++) {
      const error = await runtime.deserializeCudaEngine(plan.slice(0, n)).catch((e: unknown) => e);
      expect(error, `prefix of ${n} bytes`).toBeInstanceOf(EngineInvalidError);
      expect((error as Error).message).toMatch(/truncated|malformed/);
    }
    // A truncated payload whose header claims the shorter length (resealed) is malformed, not a crash.
    for (let n = HEADER; n < plan.length; n += 7) {
      const cut = plan.slice(0, n);
      new DataView(cut.buffer).setBigUint64(16, BigInt(n - HEADER), true);
      const error = await runtime.deserializeCudaEngine(reseal(cut)).catch((e: unknown) => e);
      expect(error, `resealed prefix of ${n} bytes`).toBeInstanceOf(EngineInvalidError);
    }
  });

  it('refuses opt outside [min, max] and negative dims in a profile', async () => {
    const plan = await build();
    using runtime = new Runtime({ backend: 'sim' });
    for (const [part, value, shown] of [
      ['opt', -1n, '1/-1/8'],
      ['opt', 9n, '1/9/8'],
      ['min', -3n, '-3/2/8'],
    ] as const) {
      const forged = plan.slice();
      const l = layout(forged);
      l.set(l.profile[part][0]!, value);
      const error = await runtime.deserializeCudaEngine(reseal(forged)).catch((e: unknown) => e);
      expect(error).toBeInstanceOf(EngineInvalidError);
      expect((error as Error).message).toContain(`optimization profile 0, input 'x', dimension 0: needs 0 <= min <= opt <= max but has min/opt/max ${shown}`);
    }
  });

  it('refuses negative and huge dims in the io table, naming the tensor and both shapes', async () => {
    const plan = await build();
    using runtime = new Runtime({ backend: 'sim' });
    const negative = plan.slice();
    let l = layout(negative);
    l.set(l.io[1]![1]!, -7n);
    let error = await runtime.deserializeCudaEngine(reseal(negative)).catch((e: unknown) => e);
    expect(error).toBeInstanceOf(EngineInvalidError);
    expect((error as Error).message).toMatch(/output 'y' has dimension -7/);

    const huge = plan.slice();
    l = layout(huge);
    l.set(l.io[1]![1]!, 2n ** 40n);
    error = await runtime.deserializeCudaEngine(reseal(huge)).catch((e: unknown) => e);
    expect(error).toBeInstanceOf(EngineInvalidError);
    expect((error as Error).message).toMatch(/output 'y' is declared -1x1099511627776 but its graph computes 1x4/);
  });

  it('declares the memory execute allocates, and a forged larger profile is refused at load', async () => {
    // x -> Relu -> t -> Relu -> y: execute holds t and y, 2 x (8 x 4 float32) = 256 bytes at max.
    const chain = makeModel({
      inputs: [f32('x', ['n', 4])],
      outputs: [f32('y', ['n', 4])],
      nodes: [
        { op: 'Relu', inputs: ['x'], outputs: ['t'], name: 'r1' },
        { op: 'Relu', inputs: ['t'], outputs: ['y'], name: 'r2' },
      ],
    });
    const plan = await buildEngine(chain, { backend: 'sim', profiles: [{ x: { min: [1, 4], opt: [2, 4], max: [8, 4] } }] });
    using runtime = new Runtime({ backend: 'sim' });
    using engine = await runtime.deserializeCudaEngine(plan);
    expect(engine.deviceMemorySize).toBe(2 * 8 * 4 * 4);
    // The fuzzer's slow engine: max raised to 2^20 rows, nothing else changed. Executing at
    // that shape would allocate and compute 2 x 2^20 x 16 bytes the engine never declared.
    const forged = plan.slice();
    const l = layout(forged);
    l.set(l.profile.max[0]!, 2n ** 20n);
    const error = await runtime.deserializeCudaEngine(reseal(forged)).catch((e: unknown) => e);
    expect(error).toBeInstanceOf(EngineInvalidError);
    expect((error as Error).message).toContain(
      `its graph needs ${2 * 2 ** 20 * 16} bytes of execution memory at optimization profile 0 (max shapes) but the engine declares 256`,
    );
  });

  it("checks an engine's nodes against the operators' input counts, as the parser does", async () => {
    // The graph inside an engine is as untrusted as a model: a node whose required input is
    // forged to "absent" (id -1) must be refused at load, not reach Add's kernel.
    const add = makeModel({
      inputs: [f32('x', [2])],
      outputs: [f32('y', [2])],
      nodes: [{ op: 'Add', inputs: ['x', 'x'], outputs: ['y'], name: 'add' }],
    });
    const plan = await buildEngine(add, { backend: 'sim' });
    // graph_codec writes a node as name, op type, domain (u32 length + bytes each), opset
    // (i64), then its input ids (u32 count + i32 each).
    const needle = [3, 0, 0, 0, 0x41, 0x64, 0x64, 0, 0, 0, 0];
    let at = -1;
    for (let i = HEADER; i + needle.length <= plan.length && at < 0; i++) if (needle.every((b, k) => plan[i + k] === b)) at = i;
    expect(at).toBeGreaterThan(0);
    const inputs = at + needle.length + 8;
    const forged = plan.slice();
    const view = new DataView(forged.buffer);
    expect(view.getUint32(inputs, true)).toBe(2);
    view.setInt32(inputs + 8, -1, true);
    using runtime = new Runtime({ backend: 'sim' });
    const error = await runtime.deserializeCudaEngine(reseal(forged)).catch((e: unknown) => e);
    expect(error).toBeInstanceOf(EngineInvalidError);
    expect((error as Error).message).toMatch(/node 'add' \(Add\) leaves input 1 empty, but it is required: Add \(opset 17\) takes 2 inputs/);
  });

  it('every error above is a TensorRTError (never a crash or a plain Error)', async () => {
    const plan = await build();
    const forged = plan.slice();
    const l = layout(forged);
    l.set(l.io[0]![1]!, 2n ** 62n);
    using runtime = new Runtime({ backend: 'sim' });
    const error = await runtime.deserializeCudaEngine(reseal(forged)).catch((e: unknown) => e);
    expect(error).toBeInstanceOf(TensorRTError);
  });
});

describe('profiles at build, below the TypeScript validation', () => {
  it('the native builder itself refuses opt outside [min, max] and rank mismatches (ShapeError)', async () => {
    // OptimizationProfile.setDimensions validates in TypeScript; the native side must not rely
    // on it (DESIGN.md: C++ still refuses out-of-range sizes), so call the addon directly.
    const model = makeModel({
      inputs: [f32('x', ['n', 4])],
      outputs: [f32('y', ['n', 4])],
      nodes: [{ op: 'Relu', inputs: ['x'], outputs: ['y'], name: 'relu' }],
    });
    const builder = new native.Builder(getDefaultLogger().handle(), 'sim', undefined);
    try {
      const network = await builder.parseOnnx(model, '.', {});
      for (const [range, message] of [
        [{ min: [1, 4], opt: [9, 4], max: [8, 4] }, /dimension 0 needs 0 <= min <= opt <= max but has min\/opt\/max 1\/9\/8/],
        // -1 is the one negative the binding's cheap guard lets through (it means dynamic elsewhere).
        [{ min: [1, 4], opt: [-1, 4], max: [8, 4] }, /dimension 0 needs 0 <= min <= opt <= max but has min\/opt\/max 1\/-1\/8/],
        [{ min: [1, 4], opt: [2, 4, 1], max: [8, 4] }, /opt shape 2x4x1 has rank 3 but the input has rank 2/],
      ] as const) {
        const options = { profiles: [{ inputs: [{ name: 'x', min: [...range.min], opt: [...range.opt], max: [...range.max] }] }], memoryPoolLimits: {} };
        const error = await awaitNative(() => builder.buildSerializedNetwork(network, options)).catch((e: unknown) => e);
        expect(error).toBeInstanceOf(ShapeError);
        expect((error as Error).message).toMatch(message);
      }
      network.dispose();
    } finally {
      builder.dispose();
    }
  });
});

// A miniature of the fuzz campaign, deterministic and fast enough for every run: each byte of a
// small model or engine set to a few values, then the whole path (parse, build, load,
// execute). Every outcome must be a result or a typed error other than ERR_TENSORRT_INTERNAL;
// a crash would kill this test file's worker, which vitest reports as a failure.
describe('single-byte mutations', () => {
  const values = [0x00, 0x01, 0x7f, 0x80, 0xff];
  const mutate = (bytes: Uint8Array, i: number, v: number) => {
    const out = bytes.slice();
    out[i] = out[i] === v ? v ^ 0x40 : v;
    return out;
  };
  const untyped = (e: unknown) => !(e instanceof TensorRTError) || e.code === 'ERR_TENSORRT_INTERNAL';
  const quiet = new Logger({ minSeverity: 'error', onMessage: () => {} });

  it('of a small model: parse, build and run give results or typed errors', async () => {
    const model = makeModel({
      inputs: [f32('x', [1, 1, 4, 4])],
      outputs: [f32('y', [1, 2, 4, 4])],
      initializers: [makeTensor('w', 'float32', [2, 1, 3, 3], randomFloats(18, 5)), makeTensor('scales', 'float32', [4], [1, 1, 2, 2])],
      nodes: [
        { op: 'Conv', inputs: ['x', 'w'], outputs: ['c'], name: 'conv', attributes: { pads: [1, 1, 1, 1], strides: [2, 2] } },
        { op: 'Resize', inputs: ['c', '', 'scales'], outputs: ['y'], name: 'resize', attributes: { mode: 'nearest' } },
      ],
    });
    const problems: string[] = [];
    for (let i = 0; i < model.length; i++) {
      for (const v of values) {
        try {
          const plan = await buildEngine(mutate(model, i, v), { backend: 'sim', logger: quiet });
          // 64 MiB per tensor: a mutation may legally ask for up to the default 4 GiB, which
          // this test does not need to allocate to prove the path safe.
          using runtime = new Runtime({ backend: 'sim', logger: quiet, maxTensorBytes: 1 << 26 });
          const engine = await runtime.deserializeCudaEngine(plan);
          const input = engine.inputs[0];
          const count = input ? input.shape.reduce((a, b) => a * b, 1) : -1;
          if (input?.dtype === 'float32' && count >= 0 && count < 1 << 20) {
            await engine.createExecutionContext().execute({ [input.name]: new Tensor('float32', new Float32Array(count), input.shape) });
          }
        } catch (e) {
          if (untyped(e)) problems.push(`byte ${i} = ${v}: ${(e as Error).message}`);
        }
      }
    }
    expect(problems).toEqual([]);
  });

  it('of a small engine (checksum resealed): load and run give results or typed errors', async () => {
    const model = makeModel({
      inputs: [f32('x', ['n', 1, 4, 4])],
      outputs: [f32('y', ['n', 2, 2, 2])],
      initializers: [makeTensor('w', 'float32', [2, 1, 3, 3], randomFloats(18, 6)), makeTensor('shape', 'int64', [4], [0n, 2n, 2n, 2n])],
      nodes: [
        { op: 'Conv', inputs: ['x', 'w'], outputs: ['c'], name: 'conv', attributes: { pads: [1, 1, 1, 1], strides: [2, 2] } },
        { op: 'Reshape', inputs: ['c', 'shape'], outputs: ['y'], name: 'reshape' },
      ],
    });
    const plan = await buildEngine(model, { backend: 'sim', profiles: [{ x: { min: [1, 1, 4, 4], opt: [2, 1, 4, 4], max: [4, 1, 4, 4] } }] });
    using runtime = new Runtime({ backend: 'sim', logger: quiet, maxTensorBytes: 1 << 26 });
    const problems: string[] = [];
    for (let i = HEADER; i < plan.length; i++) {
      for (const v of values) {
        try {
          const engine = await runtime.deserializeCudaEngine(reseal(mutate(plan, i, v)));
          await engine.createExecutionContext().execute({ x: new Tensor('float32', new Float32Array(32), [2, 1, 4, 4]) });
        } catch (e) {
          if (untyped(e)) problems.push(`byte ${i} = ${v}: ${(e as Error).message}`);
        }
      }
    }
    expect(problems).toEqual([]);
  });
});

// The corpus files are read by the fuzzers too: keep them where those look.
it('the regression corpus holds the five reproductions', () => {
  for (const name of [
    'constant-without-tensor.onnx',
    'conv-pads-overflow.onnx',
    'conv-pads-16gib-output.onnx',
    'engine-declared-shape-mismatch.engine',
    'engine-opt-outside-range.engine',
  ]) {
    expect(readFileSync(join(corpus, name)).byteLength).toBeGreaterThan(0);
  }
});

describe('execution memory', () => {
  // x -> Relu x 8 -> y, each tensor 4M float32 = 16 MiB. A buffer per layer held 8 x 16 MiB;
  // pooled by liveness, a chain needs two buffers (one read, one written), and the output is
  // handed to the binding instead of copied. Measured in a child so that vitest's own heap
  // does not blur the figure; RSS is memory, not time, so a loaded machine does not change it.
  it('a chain of large layers reuses buffers: execute grows RSS by a few tensors, not one per layer', async () => {
    const n = 4 * 1024 * 1024;
    const layers = 8;
    const model = makeModel({
      inputs: [f32('x', [1, n])],
      outputs: [f32('y', [1, n])],
      nodes: Array.from({ length: layers }, (_, i) => ({
        op: 'Relu',
        inputs: [i === 0 ? 'x' : `t${i}`],
        outputs: [i === layers - 1 ? 'y' : `t${i + 1}`],
      })),
    });
    const plan = await buildEngine(model, { backend: 'sim' });
    const dir = mkdtempSync(join(tmpdir(), 'tnrt-chain-'));
    const file = join(dir, 'chain.engine');
    writeFileSync(file, plan);
    const script = `
      const api = await import(process.env.ENTRY);
      const { readFileSync } = await import('node:fs');
      const engine = await new api.Runtime({ backend: 'sim' }).deserializeCudaEngine(new Uint8Array(readFileSync(process.env.INPUT)));
      const context = engine.createExecutionContext();
      const x = new api.Tensor('float32', new Float32Array(${n}).fill(-1), [1, ${n}]);
      const before = process.resourceUsage().maxRSS / 1024;
      const out = await context.execute({ x });
      const after = process.resourceUsage().maxRSS / 1024;
      process.stdout.write(JSON.stringify({ grewMiB: after - before, first: out.y.data[0], declared: engine.deviceMemorySize }));`;
    try {
      const { stdout } = await run(process.execPath, ['--input-type=module', '-e', script], {
        env: { ...process.env, ENTRY: new URL('../dist/index.js', import.meta.url).href, INPUT: file },
        timeout: 60_000,
      });
      const r = JSON.parse(stdout) as { grewMiB: number; first: number; declared: number };
      expect(r.first).toBe(0);
      // The declared figure is the upper bound: every layer output (8 x 16 MiB).
      expect(r.declared).toBe(layers * n * 4);
      // Two pooled buffers and the output's ArrayBuffer: 48 MiB; allow slack for the heap, far
      // below the 128 MiB a buffer per layer took.
      expect(r.grewMiB).toBeLessThan(80);
    } finally {
      rmSync(dir, { recursive: true, force: true });
    }
  });
});
