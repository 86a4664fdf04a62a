// Shape-tensor inputs: int32/int64 inputs whose values decide output shapes. TensorRT keeps them
// in host memory, builds for the range of values each optimization profile gives
// (setShapeValuesV2) and refuses values outside it. Run on the sim here, and on the tensorrt
// adapter over the TensorRT double by npm run test:tensorrt-double (which lists this suite).
import { spawnSync } from 'node:child_process';
import { mkdtempSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';

import { describe, expect, it } from 'vitest';

import {
  Builder,
  buildEngine,
  InferenceSession,
  InvalidArgumentError,
  Logger,
  Runtime,
  ShapeError,
  Tensor,
  TensorRTError,
} from '../lib/index.js';
import { resolveBackend } from '../lib/backend.js';
import { makeModel } from '../lib/onnx/model-builder.js';

/** x float32 [n], s int64 [2] -> y = Reshape(x, s): y's shape is s's values. */
function reshapeModel(): Uint8Array {
  return makeModel({
    opset: 13,
    inputs: [
      { name: 'x', dtype: 'float32', shape: ['n'] },
      { name: 's', dtype: 'int64', shape: [2] },
    ],
    outputs: [{ name: 'y', dtype: 'float32', shape: ['a', 'b'] }],
    nodes: [{ op: 'Reshape', inputs: ['x', 's'], outputs: ['y'], name: 'reshape' }],
  });
}

/**
 * t float32 [2, 3], r int32 [2] -> y = Tile(t, Cast(r, int64)): an int32 shape tensor that
 * reaches the shape operand through another operator; y is [2 * r0, 3 * r1].
 */
function tileModel(): Uint8Array {
  return makeModel({
    opset: 13,
    inputs: [
      { name: 't', dtype: 'float32', shape: [2, 3] },
      { name: 'r', dtype: 'int32', shape: [2] },
    ],
    outputs: [{ name: 'y', dtype: 'float32', shape: ['a', 'b'] }],
    nodes: [
      { op: 'Cast', inputs: ['r'], outputs: ['r64'], attributes: { to: 7 } },
      { op: 'Tile', inputs: ['t', 'r64'], outputs: ['y'], name: 'tile' },
    ],
  });
}

// Consistent at both ends, as a TensorRT build needs: 1 element as 1x1, 24 as 4x6.
const reshapeProfile = { x: { min: [1], opt: [6], max: [24] }, s: { values: { min: [1, 1], opt: [2, 3], max: [4, 6] } } };

const iota = (n: number) => Float32Array.from({ length: n }, (_, i) => i * 0.5 - 3);

describe('shape-tensor inputs', () => {
  it('are reported as shape tensors, and their value ranges travel in the engine', async () => {
    using builder = new Builder({ backend: 'sim' });
    const network = builder.createNetworkV2();
    await builder.createOnnxParser(network).parse(reshapeModel());
    expect(network.inputs.map((i) => [i.name, i.isShapeTensor])).toEqual([
      ['x', false],
      ['s', true],
    ]);

    const plan = await buildEngine(reshapeModel(), { backend: 'sim', profiles: [reshapeProfile] });
    using runtime = new Runtime({ backend: 'sim' });
    const engine = await runtime.deserializeCudaEngine(plan);
    expect(engine.getTensor('s')).toMatchObject({ dtype: 'int64', shape: [2], isShapeTensor: true, mode: 'input' });
    expect(engine.getTensor('x')?.isShapeTensor).toBe(false);
    expect(engine.getTensor('y')?.isShapeTensor).toBe(false);
    expect(engine.getProfileShapeValues('s', 0)).toEqual({ min: [1, 1], opt: [2, 3], max: [4, 6] });
    expect(engine.getProfileShapeValues('x', 0)).toBeUndefined();
    expect(engine.getProfileShape('s', 0)).toEqual({ min: [2], opt: [2], max: [2] });
    // The same ranges after another serialize/deserialize round.
    const again = await runtime.deserializeCudaEngine(await engine.serialize());
    expect(again.getProfileShapeValues('s', 0)).toEqual({ min: [1, 1], opt: [2, 3], max: [4, 6] });
  });

  it('decide the output shape on every call: Reshape(x, s) for several values of s', async () => {
    const plan = await buildEngine(reshapeModel(), { backend: 'sim', profiles: [reshapeProfile] });
    using session = await InferenceSession.create(plan, { backend: 'sim' });
    // Reshape keeps the elements in order: y's data is x's, y's shape is s.
    for (const [a, b] of [
      [2, 3],
      [3, 4],
      [4, 6],
      [1, 1],
      [4, 1],
      [2, 3],
    ] as const) {
      const x = iota(a * b);
      const { y } = await session.run({ x: new Tensor('float32', x, [a * b]), s: new Tensor('int64', [BigInt(a), BigInt(b)], [2]) });
      expect(y!.dims).toEqual([a, b]);
      expect(Array.from(y!.data as Float32Array)).toEqual(Array.from(x));
    }
  });

  it('work as int32 through another operator: Tile(t, Cast(r)) is [2 r0, 3 r1] with y[i][j] = t[i mod 2][j mod 3]', async () => {
    using builder = new Builder({ backend: 'sim' });
    const network = builder.createNetworkV2();
    await builder.createOnnxParser(network).parse(tileModel());
    expect(network.inputs.find((i) => i.name === 'r')?.isShapeTensor).toBe(true);
    const config = builder.createBuilderConfig();
    config.addOptimizationProfile(builder.createOptimizationProfile().setShapeValues('r', { min: [1, 1], opt: [2, 2], max: [3, 2] }));
    const plan = await builder.buildSerializedNetwork(network, config);
    using session = await InferenceSession.create(plan, { backend: 'sim' });
    const t = Float32Array.of(1, 2, 3, 4, 5, 6);
    for (const [r0, r1] of [
      [1, 1],
      [3, 2],
      [2, 1],
    ] as const) {
      const { y } = await session.run({ t: new Tensor('float32', t, [2, 3]), r: new Tensor('int32', [r0, r1], [2]) });
      expect(y!.dims).toEqual([2 * r0, 3 * r1]);
      const expected: number[] = [];
      for (let i = 0; i < 2 * r0; i++) for (let j = 0; j < 3 * r1; j++) expected.push(t[(i % 2) * 3 + (j % 3)]!);
      expect(Array.from(y!.data as Float32Array)).toEqual(expected);
    }
    // r0 = 4 is past the profile's max of 3.
    await expect(session.run({ t: new Tensor('float32', t, [2, 3]), r: new Tensor('int32', [4, 1], [2]) })).rejects.toThrow(
      /shape tensor 'r' value 0 is 4, outside optimization profile 0's range \[1, 3\]/,
    );
  });

  it('refuse values outside the profile with ShapeError, and switch ranges with the profile', async () => {
    const second = { x: { min: [8], opt: [16], max: [32] }, s: { values: { min: [2, 4], opt: [4, 4], max: [4, 8] } } };
    const plan = await buildEngine(reshapeModel(), { backend: 'sim', profiles: [reshapeProfile, second] });
    using session = await InferenceSession.create(plan, { backend: 'sim' });
    const run = (s: [number, number]) =>
      session.run({ x: new Tensor('float32', iota(s[0] * s[1]), [s[0] * s[1]]), s: new Tensor('int64', s.map(BigInt), [2]) });
    const error = await run([5, 1]).catch((e: unknown) => e);
    expect(error).toBeInstanceOf(ShapeError);
    expect((error as Error).message).toMatch(/shape tensor 's' value 0 is 5, outside optimization profile 0's range \[1, 4\] \(min values \[1, 1\], max values \[4, 6\]\)/);
    await expect(run([1, 7])).rejects.toThrow(/shape tensor 's' value 1 is 7/);
    // Profile 1 allows 4x8 (32 elements) and refuses 1x8.
    using runtime = new Runtime({ backend: 'sim' });
    const context = (await runtime.deserializeCudaEngine(plan)).createExecutionContext();
    context.setOptimizationProfile(1);
    const { y } = await context.execute({ x: new Tensor('float32', iota(32), [32]), s: new Tensor('int64', [4n, 8n], [2]) });
    expect(y!.dims).toEqual([4, 8]);
    await expect(context.execute({ x: new Tensor('float32', iota(8), [8]), s: new Tensor('int64', [1n, 8n], [2]) })).rejects.toThrow(
      /shape tensor 's' value 0 is 1, outside optimization profile 1's range \[2, 4\]/,
    );
  });

  it('refuses values outside the profile in native code too, when the TypeScript check is bypassed', async () => {
    const { native } = await import('../lib/native.js');
    // 'sim' here, or the backend under test where the suite's setup redirects it.
    const resolved = resolveBackend('sim', new Logger());
    const runtime = new native.Runtime(new native.Logger(2), resolved.name, resolved.adapterPath);
    const plan = await buildEngine(reshapeModel(), { backend: 'sim', profiles: [reshapeProfile] });
    const engine = await runtime.deserializeEngine(plan);
    const context = engine.createExecutionContext();
    const feeds = (s: bigint[]) => [
      { name: 'x', dtype: 'float32' as const, shape: [6], data: iota(6) },
      { name: 's', dtype: 'int64' as const, shape: [2], data: BigInt64Array.from(s) },
    ];
    const ok = await context.execute(feeds([2n, 3n]));
    expect(ok.find((o) => o.name === 'y')?.shape).toEqual([2, 3]);
    await expect(context.execute(feeds([6n, 1n]))).rejects.toMatchObject({
      code: 'ERR_TENSORRT_SHAPE',
      message: expect.stringMatching(/'s'.*6.*(outside|not inside)/),
    });
    context.dispose();
    engine.dispose();
    runtime.dispose();
  });

  it('must have values in every profile; values for an ordinary input are refused', async () => {
    const missing = await buildEngine(reshapeModel(), { backend: 'sim', profiles: [{ x: { min: [1], opt: [6], max: [24] } }] }).catch((e: unknown) => e);
    expect(missing).toBeInstanceOf(ShapeError);
    expect((missing as Error).message).toMatch(/input 's' is a shape tensor .*setShapeValues\('s', \{ min, opt, max \}\).*optimization profile 0 has none/);
    const none = await buildEngine(tileModel(), { backend: 'sim' }).catch((e: unknown) => e);
    expect(none).toBeInstanceOf(ShapeError);
    expect((none as Error).message).toMatch(/input 'r' is a shape tensor.*no optimization profile/);
    const wrong = await buildEngine(reshapeModel(), {
      backend: 'sim',
      profiles: [{ ...reshapeProfile, x: { values: { min: [1], opt: [1], max: [1] } } }],
    }).catch((e: unknown) => e);
    expect(wrong).toBeInstanceOf(InvalidArgumentError);
    expect((wrong as Error).message).toMatch(/gives values for 'x', which is not a shape tensor/);
    const count = await buildEngine(reshapeModel(), {
      backend: 'sim',
      profiles: [{ ...reshapeProfile, s: { values: { min: [1], opt: [2], max: [4] } } }],
    }).catch((e: unknown) => e);
    expect(count).toBeInstanceOf(ShapeError);
    expect((count as Error).message).toMatch(/shape tensor 's' 1 values but it has 2 elements/);
    expect(() => new Builder({ backend: 'sim' }).createOptimizationProfile().setShapeValues('s', { min: [3], opt: [2], max: [4] })).toThrow(
      /entry 0 has 3, 2, 4/,
    );
  });

  it('are checked at both ends of the range when the engine is built', async () => {
    // Values up to 5x6 = 30 elements, but x holds at most 24: Reshape fails at the max values.
    const error = await buildEngine(reshapeModel(), {
      backend: 'sim',
      profiles: [{ ...reshapeProfile, s: { values: { min: [1, 1], opt: [2, 3], max: [5, 6] } } }],
    }).catch((e: unknown) => e);
    // The sim names it a ShapeError; TensorRT's builder only fails, logging why.
    expect(error).toBeInstanceOf(TensorRTError);
    expect((error as Error).message).toMatch(/cannot reshape 24 into 5x6/);
  });

  it('take their values on the command line (--min/--opt/--max-values); run feeds the opt values', () => {
    const dir = mkdtempSync(join(tmpdir(), 'tnrt-shape-'));
    writeFileSync(join(dir, 'reshape.onnx'), reshapeModel());
    const cli = new URL('../dist/cli/main.js', import.meta.url).pathname;
    const node = (...args: string[]) => spawnSync(process.execPath, [cli, ...args], { encoding: 'utf8', cwd: dir });
    const built = node('build', 'reshape.onnx', '-o', 'reshape.engine', '--min-shapes', 'x:1', '--opt-shapes', 'x:6', '--max-shapes', 'x:24',
      '--min-values', 's:1x1', '--opt-values', 's:2x3', '--max-values', 's:4x6');
    expect(built.stderr).not.toMatch(/Error/);
    expect(built.status).toBe(0);
    // No --input for s: run uses the profile's opt values [2, 3], so y is 2x3.
    const ran = node('run', 'reshape.engine', '--shapes', 'x:6');
    expect(ran.status).toBe(0);
    expect(ran.stdout).toMatch(/y\tfloat32 \[2, 3\]/);
    const missing = node('build', 'reshape.onnx', '-o', 'bad.engine', '--min-shapes', 'x:1', '--opt-shapes', 'x:6', '--max-shapes', 'x:24');
    expect(missing.status).not.toBe(0);
    expect(missing.stderr).toMatch(/'s' is a shape tensor/);
  });
});
