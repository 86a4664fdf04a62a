// Bad input gets a typed error that names the problem and the fix: never a crash or a hang.
import { describe, expect, it, vi } from 'vitest';

import {
  BackendUnavailableError,
  buildEngine,
  Builder,
  DataTypeError,
  DisposedError,
  EngineInvalidError,
  InferenceSession,
  InvalidArgumentError,
  Runtime,
  ShapeError,
  Tensor,
  TensorRTError,
  backends,
} from '../lib/index.js';
import { addModel, mlpModel, randomFloats } from './fixtures/models.js';

const mlpEngine = () => buildEngine(mlpModel(), { backend: 'sim', profiles: [{ x: { min: [1, 8], opt: [2, 8], max: [4, 8] } }] });

describe('engine files', () => {
  it('refuses truncated, corrupted, foreign and empty engines with EngineInvalidError', async () => {
    const plan = await mlpEngine();
    using runtime = new Runtime({ backend: 'sim' });
    const flipped = plan.slice();
    flipped[plan.length - 10]! ^= 0xff;
    const newer = plan.slice();
    newer[8] = 99; // format version field
    const cases: [Uint8Array, RegExp][] = [
      [plan.slice(0, plan.length - 7), /truncat/i],
      [plan.slice(0, 20), /truncat/i],
      [flipped, /checksum|corrupt/i],
      [newer, /version/i],
      [new TextEncoder().encode('this is not an engine at all, just text'), /tensorrt/i],
    ];
    for (const [bytes, message] of cases) {
      const error = await runtime.deserializeCudaEngine(bytes).catch((e: unknown) => e);
      expect(error).toBeInstanceOf(EngineInvalidError);
      expect((error as Error).message).toMatch(message);
    }
    await expect(runtime.deserializeCudaEngine(new Uint8Array(0))).rejects.toThrow(/empty/);
  });

  it('says where a non-sim engine needs to go when TensorRT is not here', async () => {
    if (backends()[1]!.available) return; // only meaningful without TensorRT
    await expect(InferenceSession.create(new Uint8Array(64).fill(7))).rejects.toThrow(/not a tensorrt-node sim engine/);
  });
});

describe('inputs', () => {
  it('names the input, the expected and the received dtype', async () => {
    using session = await InferenceSession.create(await mlpEngine());
    const error = await session.run({ x: new Tensor('int32', new Int32Array(16), [2, 8]) }).catch((e: unknown) => e);
    expect(error).toBeInstanceOf(DataTypeError);
    expect((error as Error).message).toBe("input 'x' expects float32 but received a int32 Tensor");
  });

  it('gives the allowed range for a shape outside the profile', async () => {
    using session = await InferenceSession.create(await mlpEngine());
    await expect(session.run({ x: new Tensor('float32', randomFloats(40, 1), [5, 8]) })).rejects.toThrow(ShapeError);
    await expect(session.run({ x: new Tensor('float32', randomFloats(40, 1), [5, 8]) })).rejects.toThrow(/dimension 0 is 5, outside optimization profile 0's range \[1, 4\]/);
    await expect(session.run({ x: new Tensor('float32', randomFloats(8, 1), [8]) })).rejects.toThrow(/expects rank 2/);
    await expect(session.run({ x: new Tensor('float32', randomFloats(14, 1), [2, 7]) })).rejects.toThrow(/dimension 1 must be 8/);
  });

  it('lists missing and unknown inputs', async () => {
    using session = await InferenceSession.create(await buildEngine(addModel(), { backend: 'sim' }));
    await expect(session.run({ a: new Tensor('float32', [1, 2, 3, 4]) })).rejects.toThrow(/missing input 'b'/);
    await expect(session.run({ a: new Tensor('float32', [1, 2, 3, 4]), b: new Tensor('float32', [1, 2, 3, 4]), c: new Tensor('float32', [1]) })).rejects.toThrow(/'c' is not an input of this engine \(inputs: a, b\)/);
    await expect(session.run({ a: [1, 2, 3, 4] as never, b: new Tensor('float32', [1, 2, 3, 4]) })).rejects.toThrow(InvalidArgumentError);
  });

  it('checks again in native code when the TypeScript checks are bypassed', async () => {
    // Reach the native context directly with a wrong dtype: the sim refuses it itself.
    const { native } = await import('../lib/native.js');
    const logger = new native.Logger(2);
    const runtime = new native.Runtime(logger, 'sim', '');
    const engine = await runtime.deserializeEngine(await buildEngine(addModel(), { backend: 'sim' }));
    const context = engine.createExecutionContext();
    const bad = [
      { name: 'a', dtype: 'int32' as const, shape: [4], data: new Int32Array(4) },
      { name: 'b', dtype: 'float32' as const, shape: [4], data: new Float32Array(4) },
    ];
    await expect(context.execute(bad)).rejects.toMatchObject({ code: 'ERR_TENSORRT_DTYPE' });
    const short = [
      { name: 'a', dtype: 'float32' as const, shape: [4], data: new Float32Array(3) },
      { name: 'b', dtype: 'float32' as const, shape: [4], data: new Float32Array(4) },
    ];
    await expect(context.execute(short)).rejects.toMatchObject({ code: expect.stringMatching(/ERR_TENSORRT_(INVALID_ARGUMENT|SHAPE)/) });
  });
});

describe('dispose', () => {
  it('is idempotent, cascades from parent to children, and any later call throws DisposedError', async () => {
    const runtime = new Runtime({ backend: 'sim' });
    const engine = await runtime.deserializeCudaEngine(await mlpEngine());
    const context = engine.createExecutionContext();
    runtime.dispose();
    runtime.dispose();
    expect(engine.disposed && context.disposed).toBe(true);
    await expect(context.execute({ x: new Tensor('float32', randomFloats(8, 1), [1, 8]) })).rejects.toBeInstanceOf(DisposedError);
    expect(() => engine.createExecutionContext()).toThrow(/Engine has been disposed/);
    await expect(runtime.deserializeCudaEngine(new Uint8Array(4))).rejects.toBeInstanceOf(DisposedError);
  });

  it('lets a context keep working when only the user dropped the engine reference', async () => {
    const runtime = new Runtime({ backend: 'sim' });
    let engine: Awaited<ReturnType<Runtime['deserializeCudaEngine']>> | undefined = await runtime.deserializeCudaEngine(await mlpEngine());
    const context = engine.createExecutionContext();
    engine = undefined;
    (globalThis as { gc?: () => void }).gc?.();
    const out = await context.execute({ x: new Tensor('float32', randomFloats(8, 1), [1, 8]) });
    expect(out.y!.dims).toEqual([1, 4]);
  });

  it('finishes a call in flight when its context is disposed, and rejects the queued ones', async () => {
    using runtime = new Runtime({ backend: 'sim' });
    const engine = await runtime.deserializeCudaEngine(await mlpEngine());
    const context = engine.createExecutionContext();
    const x = new Tensor('float32', randomFloats(8, 1), [1, 8]);
    const first = context.execute({ x });
    const second = context.execute({ x });
    context.dispose();
    // The first call was already on the libuv pool: it completes. The second never started.
    await expect(first).resolves.toHaveProperty('y');
    await expect(second).rejects.toBeInstanceOf(DisposedError);
  });

  it('supports using with Symbol.dispose', async () => {
    let outer: Builder;
    {
      using builder = new Builder({ backend: 'sim' });
      outer = builder;
    }
    expect(outer.disposed).toBe(true);
    expect(() => outer.createNetworkV2()).toThrow(DisposedError);
  });
});

describe('backend choice', () => {
  it('refuses an explicit tensorrt backend that cannot load, with the reason and the fix', () => {
    if (backends()[1]!.available) return;
    const error = (() => {
      try {
        new Builder({ backend: 'tensorrt' });
      } catch (e) {
        return e;
      }
    })();
    expect(error).toBeInstanceOf(BackendUnavailableError);
    expect((error as Error).message).toMatch(/TENSORRT_ROOT|libnvinfer|driver/);
    expect((error as Error).message).toMatch(/backend 'sim'/);
  });

  it('falls back from auto to the sim with one warning through the logger', async () => {
    if (backends()[1]!.available) return;
    const { Logger } = await import('../lib/index.js');
    const warnings: string[] = [];
    const logger = new Logger({ onMessage: (_s, m) => warnings.push(m) });
    new Builder({ backend: 'auto', logger }).dispose();
    new Runtime({ logger }).dispose();
    // Delivered asynchronously: wait for the first rather than for a fixed time, then give a
    // second (which must not come) the same turns of the loop to arrive.
    await vi.waitFor(() => expect(warnings.length).toBeGreaterThan(0), { timeout: 10_000 });
    await new Promise((r) => setTimeout(r, 20));
    expect(warnings).toHaveLength(1);
    expect(warnings[0]).toMatch(/using the sim \(CPU\) backend/);
  });

  it('reads TENSORRT_NODE_BACKEND and validates it', () => {
    process.env.TENSORRT_NODE_BACKEND = 'sim';
    try {
      using builder = new Builder();
      expect(builder.backend).toBe('sim');
      process.env.TENSORRT_NODE_BACKEND = 'gpu';
      expect(() => new Builder()).toThrow(/Expected one of 'auto', 'tensorrt', 'sim' for TENSORRT_NODE_BACKEND but received the string "gpu"/);
    } finally {
      delete process.env.TENSORRT_NODE_BACKEND;
    }
  });

  it('makes every error a TensorRTError with a code', async () => {
    const error = await buildEngine(new Uint8Array([1, 2, 3]), { backend: 'sim' }).catch((e: unknown) => e);
    expect(error).toBeInstanceOf(TensorRTError);
    expect((error as TensorRTError).code).toBe('ERR_TENSORRT_PARSE');
    expect((error as Error).stack).toMatch(/errors\.test\.ts/);
  });
});
