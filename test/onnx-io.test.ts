// lib/onnx: reading and writing models (byte-for-byte round trips over ONNX's test models),
// TensorProto data in every storage form, external data (written, read back, refused when it
// points outside the model's directory), and models past 100 MB, checked with onnxruntime-node.
import { existsSync, mkdirSync, mkdtempSync, readdirSync, readFileSync, rmSync, statSync, symlinkSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';

import { create } from '@bufbuild/protobuf';
import * as ort from 'onnxruntime-node';
import { StringStringEntryProtoSchema, TensorProto_DataLocation, TensorProto_DataType, TensorProtoSchema } from 'onnx-buf';
import { afterAll, describe, expect, it } from 'vitest';

import { fromFloat16Bits } from '../lib/dtype.js';
import { InvalidArgumentError, OnnxParseError } from '../lib/errors.js';
import { makeModel, makeTensor } from '../lib/onnx/model-builder.js';
import { parseModel, readModel, writeModel } from '../lib/onnx/model-io.js';
import { arrayToTensor, tensorToArray } from '../lib/onnx/tensor-data.js';
import { convertToFloat16 } from '../lib/precision/convert-float16.js';
import { TESTDATA } from './conformance/onnx-test-case.js';
import { randomFloats } from './fixtures/models.js';

const T = TensorProto_DataType;
const dir = mkdtempSync(join(tmpdir(), 'trt-onnx-io-'));
afterAll(() => rmSync(dir, { recursive: true, force: true }));

async function runOrt(model: string | Uint8Array, x: Float32Array, dims: number[]): Promise<Float32Array> {
  const session = await ort.InferenceSession.create(model as string, { intraOpNumThreads: 1, logSeverityLevel: 3 });
  try {
    const out = await session.run({ x: new ort.Tensor('float32', x, dims) });
    const y = out.y!;
    return y.type === 'float16' ? Float32Array.from(y.data as Uint16Array, fromFloat16Bits) : (y.data as Float32Array);
  } finally {
    await session.release();
  }
}

describe('readModel and writeModel round-trip ONNX test models byte for byte', () => {
  for (const set of ['node', 'pytorch-converted']) {
    const root = join(TESTDATA, set);
    const cases = existsSync(root) ? readdirSync(root).filter((d) => existsSync(join(root, d, 'model.onnx'))) : [];
    it.skipIf(cases.length === 0)(`every model.onnx in ${set} (${cases.length} models)`, async () => {
      const different: string[] = [];
      for (const name of cases) {
        const path = join(root, name, 'model.onnx');
        const { model, path: from, hadExternalData } = await readModel(path);
        expect(from).toBe(path);
        expect(hadExternalData).toBe(false);
        const bytes = await writeModel(model);
        if (Buffer.compare(Buffer.from(bytes), readFileSync(path)) !== 0) different.push(name);
      }
      expect(different).toEqual([]);
    });
  }

  it('refuses what is not a model, with typed errors', async () => {
    await expect(readModel(new Uint8Array([0xff, 0xff, 0xff]))).rejects.toThrow(OnnxParseError);
    await expect(readModel(join(dir, 'missing.onnx'))).rejects.toThrow(/Expected a readable ONNX file for model but .*missing.onnx cannot be read: ENOENT/);
    await expect(readModel(42 as unknown as string)).rejects.toThrow(new InvalidArgumentError('Expected a Uint8Array, Buffer, ArrayBuffer or SharedArrayBuffer for model but received number 42'));
    await expect(writeModel(parseModel(tinyModel()), { externalDataPath: 'w.bin' })).rejects.toThrow(/Expected a path .* for path when externalDataPath is given/);
  });
});

describe('tensor data', () => {
  it('reads raw_data and each typed field the writers use', () => {
    const raw = arrayToTensor('a', 'float32', [2, 2], Float32Array.of(1, -2, 3.5, 0.25));
    expect(Array.from(tensorToArray(raw).data as Float32Array)).toEqual([1, -2, 3.5, 0.25]);
    expect(raw.rawData).toEqual(new Uint8Array(Float32Array.of(1, -2, 3.5, 0.25).buffer));

    const floats = create(TensorProtoSchema, { name: 'f', dataType: T.FLOAT, dims: [3n], floatData: [1.5, 2, -3] });
    expect(tensorToArray(floats)).toEqual({ dtype: 'float32', dims: [3], data: Float32Array.of(1.5, 2, -3) });
    const int64 = create(TensorProtoSchema, { name: 'i', dataType: T.INT64, dims: [2], int64Data: [-1n, 2n ** 40n] });
    expect(tensorToArray(int64).data).toEqual(BigInt64Array.of(-1n, 2n ** 40n));
    // float16 bit patterns travel in int32_data: 0x3c00 is 1.0, 0xc000 is -2.0.
    const half = create(TensorProtoSchema, { name: 'h', dataType: T.FLOAT16, dims: [2], int32Data: [0x3c00, 0xc000] });
    expect(Array.from(tensorToArray(half).data as Uint16Array, fromFloat16Bits)).toEqual([1, -2]);
    const bools = create(TensorProtoSchema, { name: 'b', dataType: T.BOOL, dims: [3], int32Data: [1, 0, 1] });
    expect(tensorToArray(bools)).toEqual({ dtype: 'bool', dims: [3], data: Uint8Array.of(1, 0, 1) });
    const int8 = create(TensorProtoSchema, { name: 'q', dataType: T.INT8, dims: [2], int32Data: [-128, 127] });
    expect(tensorToArray(int8).data).toEqual(Int8Array.of(-128, 127));
    const scalar = arrayToTensor('s', 'int32', [], Int32Array.of(7));
    expect(tensorToArray(scalar)).toEqual({ dtype: 'int32', dims: [], data: Int32Array.of(7) });
  });

  it('refuses mismatched sizes, unloaded external data and types the library lacks', () => {
    expect(() => arrayToTensor('a', 'float32', [3], Float32Array.of(1, 2))).toThrow(new InvalidArgumentError("Expected 3 elements for tensor 'a' with dims [3] but received 2"));
    expect(() => arrayToTensor('a', 'float32', [2], Int32Array.of(1, 2) as unknown as Float32Array)).toThrow(/Expected a Float32Array for the data of float32 tensor 'a' but received a Int32Array/);
    const short = create(TensorProtoSchema, { name: 'r', dataType: T.FLOAT, dims: [4n], rawData: new Uint8Array(8) });
    expect(() => tensorToArray(short)).toThrow(/tensor 'r' has dims \[4\] \(16 bytes of float32\) but raw_data holds 8 bytes/);
    const external = create(TensorProtoSchema, { name: 'e', dataType: T.FLOAT, dims: [1n], dataLocation: TensorProto_DataLocation.EXTERNAL });
    expect(() => tensorToArray(external)).toThrow(/loadExternalData: true/);
    const double = create(TensorProtoSchema, { name: 'd', dataType: T.DOUBLE, dims: [1n], doubleData: [1] });
    expect(() => tensorToArray(double)).toThrow(/ONNX element type DOUBLE has no tensorrt-node data type/);
  });
});

/** y = x · W with W [k, n] of pseudo-random values. */
function matmulModel(k: number, n: number, weights = randomFloats(k * n, 9)): Uint8Array {
  return makeModel({
    inputs: [{ name: 'x', dtype: 'float32', shape: [1, k] }],
    outputs: [{ name: 'y', dtype: 'float32', shape: [1, n] }],
    initializers: [makeTensor('W', 'float32', [k, n], weights), makeTensor('b', 'float32', [n], randomFloats(n, 10))],
    nodes: [{ op: 'MatMul', inputs: ['x', 'W'], outputs: ['h'] }, { op: 'Add', inputs: ['h', 'b'], outputs: ['y'] }],
  });
}
const tinyModel = () => matmulModel(4, 3);

describe('external data', () => {
  it('writes large tensors to a file next to the model, reads them back, and onnxruntime agrees', async () => {
    const inline = matmulModel(64, 32);
    const model = parseModel(inline);
    const path = join(dir, 'ext', 'model.onnx');
    mkdirSync(join(dir, 'ext'));
    const bytes = await writeModel(model, { path, externalDataPath: 'model.onnx.data', sizeThreshold: 1024 });
    // The caller's model is left inline.
    expect(Buffer.compare(Buffer.from(await writeModel(model)), Buffer.from(inline))).toBe(0);
    const written = parseModel(bytes).graph!.initializer;
    expect(written[0]!.dataLocation).toBe(TensorProto_DataLocation.EXTERNAL);
    expect(written[0]!.externalData.map((e) => [e.key, e.value])).toEqual([['location', 'model.onnx.data'], ['offset', '0'], ['length', String(64 * 32 * 4)]]);
    expect(written[1]!.rawData.byteLength).toBe(32 * 4); // under the threshold: inline
    expect(statSync(join(dir, 'ext', 'model.onnx.data')).size).toBe(64 * 32 * 4);
    // Loading puts the bytes back: the model serializes to the original inline bytes again.
    const loaded = await readModel(path);
    expect(loaded.hadExternalData).toBe(true);
    expect(loaded.externalBytesLoaded).toBe(64 * 32 * 4);
    expect(Buffer.compare(Buffer.from(await writeModel(loaded.model)), Buffer.from(inline))).toBe(0);
    // Not loading keeps the references: writing it back gives the same bytes.
    const unloaded = await readModel(path, { loadExternalData: false });
    expect(Buffer.compare(Buffer.from(await writeModel(unloaded.model)), Buffer.from(bytes))).toBe(0);
    const x = randomFloats(64, 3);
    expect(await runOrt(path, x, [1, 64])).toEqual(await runOrt(inline, x, [1, 64]));
    // Bytes alone need the directory.
    await expect(readModel(bytes)).rejects.toThrow(/Expected a path, or the baseDir option, for a model with external data/);
    expect((await readModel(bytes, { baseDir: join(dir, 'ext') })).externalBytesLoaded).toBe(64 * 32 * 4);
  });

  it('refuses locations that leave the model directory: absolute, .., and symbolic links out', async () => {
    const sub = join(dir, 'safe');
    mkdirSync(sub);
    writeFileSync(join(dir, 'secret.bin'), new Uint8Array(64 * 32 * 4));
    symlinkSync(join(dir, 'secret.bin'), join(sub, 'link.bin'));
    for (const [location, message] of [
      [join(dir, 'secret.bin'), /received the absolute path/],
      ['../secret.bin', /inside the model's directory .* but received "..\/secret.bin", which leaves it/],
      ['link.bin', /but "link.bin" links to .*secret.bin/],
      ['absent.bin', /Expected an existing external data file for location "absent.bin"/],
    ] as const) {
      const model = parseModel(matmulModel(64, 32));
      const w = model.graph!.initializer[0]!;
      w.rawData = new Uint8Array(0);
      w.dataLocation = TensorProto_DataLocation.EXTERNAL;
      w.externalData = [create(StringStringEntryProtoSchema, { key: 'location', value: location })];
      const path = join(sub, 'model.onnx');
      writeFileSync(path, await writeModel(model));
      await expect(readModel(path)).rejects.toThrow(message);
    }
    await expect(writeModel(parseModel(tinyModel()), { path: join(sub, 'm.onnx'), externalDataPath: '../out.bin' })).rejects.toThrow(
      /Expected a file name relative to the model's directory for externalDataPath but received "..\/out.bin"/,
    );
  });

  it('refuses a range past the end of the data file', async () => {
    const sub = join(dir, 'range');
    mkdirSync(sub);
    writeFileSync(join(sub, 'w.bin'), new Uint8Array(100));
    const model = parseModel(matmulModel(64, 32));
    const w = model.graph!.initializer[0]!;
    w.rawData = new Uint8Array(0);
    w.dataLocation = TensorProto_DataLocation.EXTERNAL;
    w.externalData = [
      create(StringStringEntryProtoSchema, { key: 'location', value: 'w.bin' }),
      create(StringStringEntryProtoSchema, { key: 'offset', value: '50' }),
      create(StringStringEntryProtoSchema, { key: 'length', value: '8192' }),
    ];
    writeFileSync(join(sub, 'model.onnx'), await writeModel(model));
    await expect(readModel(join(sub, 'model.onnx'))).rejects.toThrow(/within w.bin \(100 bytes\) but received offset 50 and length 8192/);
  });
});

describe('models over 100 MB', () => {
  // x · W for a few columns, in float64, as the reference.
  function expectedColumns(weights: Float32Array, x: Float32Array, n: number, bias: Float32Array, columns: number[]): number[] {
    return columns.map((j) => {
      let sum = 0;
      for (let i = 0; i < x.length; i++) sum += x[i]! * weights[i * n + j]!;
      return sum + bias[j]!;
    });
  }

  it('~120 MB of weights in external data: written, read back, converted to float16, run by onnxruntime', async () => {
    const [k, n] = [5000, 6000]; // 30M floats = 120 MB
    const weights = randomFloats(k * n, 9);
    const sub = join(dir, 'big-ext');
    mkdirSync(sub);
    const path = join(sub, 'big.onnx');
    const bytes = await writeModel(parseModel(matmulModel(k, n, weights)), { path, externalDataPath: 'big.data' });
    expect(bytes.byteLength).toBeLessThan(64 * 1024);
    expect(statSync(join(sub, 'big.data')).size).toBeGreaterThanOrEqual(k * n * 4);

    const x = randomFloats(k, 4);
    const bias = randomFloats(n, 10);
    const columns = [0, 1, 2999, 5999];
    const reference = expectedColumns(weights, x, n, bias, columns);
    const y = await runOrt(path, x, [1, k]);
    for (const [i, j] of columns.entries()) expect(y[j]).toBeCloseTo(reference[i]!, 3);

    const loaded = await readModel(path);
    expect(loaded.externalBytesLoaded).toBe(k * n * 4 + n * 4);
    expect(Buffer.compare(Buffer.from((tensorToArray(loaded.model.graph!.initializer[0]!).data as Float32Array).buffer), Buffer.from(weights.buffer))).toBe(0);

    const half = join(sub, 'big.fp16.onnx');
    await convertToFloat16(path, { outputPath: half });
    expect(statSync(join(sub, 'big.fp16.onnx.data')).size).toBeGreaterThanOrEqual(k * n * 2);
    const yHalf = await runOrt(half, x, [1, k]);
    // Sums of 5000 products of float16-rounded weights: relative error ~1e-3 of the terms' scale.
    for (const [i, j] of columns.entries()) expect(Math.abs(yHalf[j]! - reference[i]!)).toBeLessThan(0.05 * Math.max(1, Math.abs(reference[i]!)) + 0.1);
  }, 120_000);

  it('a ~110 MB model with inline weights round-trips byte for byte and onnxruntime loads it', async () => {
    const [k, n] = [5000, 5500]; // 27.5M floats = 110 MB
    const inline = matmulModel(k, n);
    expect(inline.byteLength).toBeGreaterThan(110_000_000);
    const path = join(dir, 'big-inline.onnx');
    writeFileSync(path, inline);
    const loaded = await readModel(path);
    expect(Buffer.compare(Buffer.from(await writeModel(loaded.model)), Buffer.from(inline))).toBe(0);
    const x = randomFloats(k, 4);
    const y = await runOrt(path, x, [1, k]);
    const weights = tensorToArray(loaded.model.graph!.initializer[0]!).data as Float32Array;
    let sum = 0;
    for (let i = 0; i < k; i++) sum += x[i]! * weights[i * n + 7]!;
    expect(y[7]).toBeCloseTo(sum + randomFloats(n, 10)[7]!, 3);
  }, 120_000);
});
