// What the binding reads on other threads stays alive and consistent for the call: inputs,
// engine bytes and model bytes whose ArrayBuffer is transferred away mid-call, and memory
// backed by a SharedArrayBuffer. Expected values come from the same call on an untouched,
// ordinary copy of the data, or from arithmetic.
import { execFile } from 'node:child_process';
import { mkdtempSync, readFileSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { fileURLToPath } from 'node:url';
import { promisify } from 'node:util';

import { describe, expect, it } from 'vitest';

import {
  Builder,
  buildEngine,
  CalibrationHistogram,
  EntropyCalibrator2,
  type Feeds,
  InvalidArgumentError,
  quantizeInt8,
  Runtime,
  Tensor,
} from '../lib/index.js';
import { addModel, bigMatMulModel, mlpModel, randomFloats } from './fixtures/models.js';

const run = promisify(execFile);
const entry = new URL('../dist/index.js', import.meta.url).href;
const detachScript = fileURLToPath(new URL('./fixtures/detach-during-call.mjs', import.meta.url));

/** A copy of `data` in memory backed by a SharedArrayBuffer. */
function shared<T extends Float32Array | Uint8Array>(data: T): T {
  const Ctor = data.constructor as new (buffer: SharedArrayBuffer) => T;
  const copy = new Ctor(new SharedArrayBuffer(data.byteLength));
  copy.set(data as never);
  return copy;
}

describe('buffers transferred away while a call runs', () => {
  // Node 20 has ArrayBuffer.prototype.transfer behind a V8 flag; later versions always.
  const transferFlag = typeof (ArrayBuffer.prototype as { transfer?: unknown }).transfer === 'function' ? [] : ['--harmony-rab-gsab-transfer'];

  for (const how of ['structuredClone', 'postMessage', 'transfer']) {
    it(`${how}: deserialize and execute still compute from the data as it was at the call`, async () => {
      // A child process: it needs --expose-gc, and a binding that reads freed memory may crash.
      const { stdout } = await run(process.execPath, ['--expose-gc', ...transferFlag, detachScript, entry, how], { timeout: 120_000 });
      const result = JSON.parse(stdout.trim().split('\n').pop()!) as { ok: boolean; checks: string[] };
      expect(result.checks).toHaveLength(10);
      expect(result.checks.join('\n')).not.toMatch(/[1-9]\d* of \d+ (values|bins) differ|a different engine/);
      expect(result.ok).toBe(true);
    }, 150_000);
  }

  it('an input detached before its queued call starts is refused with an InvalidArgumentError that says why', async () => {
    using runtime = new Runtime({ backend: 'sim' });
    const engine = await runtime.deserializeCudaEngine(await buildEngine(bigMatMulModel(128, 8), { backend: 'sim' }));
    const context = engine.createExecutionContext();
    const x = randomFloats(128 * 128, 3);
    const first = context.execute({ x: new Tensor('float32', x.slice(), [128, 128]) });
    const input = x.slice();
    const queued = context.execute({ x: new Tensor('float32', input, [128, 128]) });
    structuredClone(input.buffer, { transfer: [input.buffer] });
    await first;
    const error = await queued.catch((e: unknown) => e);
    expect(error).toBeInstanceOf(InvalidArgumentError);
    expect((error as Error).message).toMatch(/the data of input 'x' was detached .* pass a copy/);
    // The context is free again afterwards.
    const again = await context.execute({ x: new Tensor('float32', x, [128, 128]) });
    expect(again.y!.data).toEqual((await first).y!.data);
  });

  it('a histogram batch of up to 1 MB may be transferred or changed as soon as add() returns', async () => {
    const values = randomFloats(1 << 18, 8); // 1 MB: binned before add() returns
    using histogram = new CalibrationHistogram();
    const batch = values.slice();
    const adding = histogram.add(batch);
    structuredClone(batch.buffer, { transfer: [batch.buffer] });
    await adding;
    const changed = values.slice();
    const addingChanged = histogram.add(changed);
    changed.fill(1e6);
    await addingChanged;
    using reference = new CalibrationHistogram();
    await reference.add(values.slice());
    await reference.add(values.slice());
    expect(histogram.counts).toEqual(reference.counts);
    expect(histogram.maxAbs).toBe(reference.maxAbs);
    expect(histogram.total).toBe(2 << 18);
  });

  it('a histogram batch transferred away while add() copies it is refused, and the histogram carries on', async () => {
    const values = randomFloats(1 << 21, 6); // 8 MB: copied a slice per event-loop turn
    using histogram = new CalibrationHistogram();
    const batch = values.slice();
    const adding = histogram.add(batch);
    structuredClone(batch.buffer, { transfer: [batch.buffer] });
    const error = await adding.catch((e: unknown) => e);
    expect(error).toBeInstanceOf(InvalidArgumentError);
    expect((error as Error).message).toMatch(/transferred away .* while add\(\) copied them.*pass a copy/);
    expect(histogram.total).toBe(0);
    // The next add bins what an untouched histogram bins from the same values.
    await histogram.add(values);
    using reference = new CalibrationHistogram();
    await reference.add(values.slice());
    expect(histogram.counts).toEqual(reference.counts);
    expect(histogram.total).toBe(1 << 21);
  });

  it('changes to an input after execute() returned do not reach the call', async () => {
    using runtime = new Runtime({ backend: 'sim' });
    const engine = await runtime.deserializeCudaEngine(await buildEngine(addModel(), { backend: 'sim' }));
    const context = engine.createExecutionContext();
    const a = new Float32Array([1, 2, 3, 4]);
    const pending = context.execute({ a: new Tensor('float32', a), b: new Tensor('float32', [10, 20, 30, 40]) });
    a.fill(1000);
    expect([...(await pending).y!.data]).toEqual([11, 22, 33, 44]);
  });
});

describe('SharedArrayBuffer-backed data', () => {
  it('execute() takes a Float32Array over a SharedArrayBuffer and computes what it computes on an ordinary one', async () => {
    using runtime = new Runtime({ backend: 'sim' });
    const engine = await runtime.deserializeCudaEngine(await buildEngine(mlpModel(), { backend: 'sim', shapes: { x: [3, 8] } }));
    const context = engine.createExecutionContext();
    const x = randomFloats(24, 9);
    const plain = await context.execute({ x: new Tensor('float32', x, [3, 8]) });
    const viaShared = await context.execute({ x: new Tensor('float32', shared(x), [3, 8]) });
    expect(viaShared.y!.data).toEqual(plain.y!.data);
    // An offset view into a larger shared buffer too.
    const big = new Float32Array(new SharedArrayBuffer(4 * 40));
    big.set(x, 16);
    const offset = await context.execute({ x: new Tensor('float32', big.subarray(16, 40), [3, 8]) });
    expect(offset.y!.data).toEqual(plain.y!.data);
  });

  it('engine and model bytes may live in a SharedArrayBuffer (a view or the buffer itself)', async () => {
    const plan = await buildEngine(addModel(), { backend: 'sim' });
    const feeds = { a: new Tensor('float32', [1, 2, 3, 4]), b: new Tensor('float32', [0.5, 0.5, 0.5, 0.5]) };
    for (const bytes of [shared(plan), shared(plan).buffer]) {
      using runtime = new Runtime({ backend: 'sim' });
      const engine = await runtime.deserializeCudaEngine(bytes);
      expect([...(await engine.createExecutionContext().execute(feeds)).y!.data]).toEqual([1.5, 2.5, 3.5, 4.5]);
    }
    // Parsing, and building with a timing cache held in shared memory.
    const builder = new Builder({ backend: 'sim' });
    try {
      const network = builder.createNetworkV2();
      await builder.createOnnxParser(network).parse(shared(addModel()).buffer);
      expect(network.inputs.map((i) => i.name)).toEqual(['a', 'b']);
      const config = builder.createBuilderConfig();
      const first = await builder.buildSerializedNetwork(network, config);
      config.setTimingCache(shared(config.timingCache ?? new Uint8Array(0)));
      expect(await builder.buildSerializedNetwork(network, config)).toEqual(first);
    } finally {
      builder.dispose();
    }
    expect(await buildEngine(shared(addModel()), { backend: 'sim' })).toEqual(plan);
  });

  it('calibration reads shared batches as it reads ordinary ones (explicit and implicit paths, histograms)', async () => {
    const shape = [4, 8];
    const batches = [1, 2, 3].map((seed) => randomFloats(32, seed));
    const feeds = (share: boolean): Feeds[] => batches.map((b) => ({ x: new Tensor('float32', share ? shared(b) : b.slice(), shape) }));
    // Explicit path: the quantized models (scales included) come out byte for byte the same.
    const explicit = (share: boolean) => quantizeInt8(mlpModel(), { calibrationData: feeds(share), backend: 'sim', shapes: { x: shape } });
    expect(await explicit(true)).toEqual(await explicit(false));
    // Implicit path: the calibration caches agree.
    const implicit = async (share: boolean, readCache?: Uint8Array) => {
      let cache: Uint8Array | undefined;
      let plan: Uint8Array | undefined;
      const builder = new Builder({ backend: 'sim' });
      try {
        const network = builder.createNetworkV2();
        await builder.createOnnxParser(network).parse(mlpModel());
        const config = builder.createBuilderConfig().setFlag('int8');
        config.addOptimizationProfile(builder.createOptimizationProfile().setDimensions('x', { min: shape, opt: shape, max: shape }));
        config.int8Calibrator = new EntropyCalibrator2({
          batches: feeds(share),
          batchSize: 4,
          writeCache: (c) => void (cache = c.slice()),
          ...(readCache && { readCache: () => readCache }),
        });
        plan = await builder.buildSerializedNetwork(network, config);
      } finally {
        builder.dispose();
      }
      return { cache, plan };
    };
    const fromShared = await implicit(true);
    const fromPlain = await implicit(false);
    expect(fromShared.cache?.byteLength).toBeGreaterThan(0);
    expect(fromShared.cache).toEqual(fromPlain.cache);
    expect(fromShared.plan).toEqual(fromPlain.plan);
    // A calibration cache handed back from shared memory gives the same engine.
    expect((await implicit(false, shared(fromPlain.cache!))).plan).toEqual(fromPlain.plan);
    // And the explicit path quantizes the same from its cache read out of shared memory.
    const dir = mkdtempSync(join(tmpdir(), 'tnrt-sab-'));
    try {
      const cachePath = join(dir, 'mlp.cache');
      const fromData = await quantizeInt8(mlpModel(), { calibrationData: feeds(false), backend: 'sim', shapes: { x: shape }, calibrationCache: { write: cachePath } });
      const fromCache = await quantizeInt8(mlpModel(), { backend: 'sim', shapes: { x: shape }, calibrationCache: { read: shared(new Uint8Array(readFileSync(cachePath))) } });
      expect(fromCache).toEqual(fromData);
    } finally {
      rmSync(dir, { recursive: true, force: true });
    }
    // A histogram fed shared memory counts what it counts from a copy.
    const values = randomFloats(100_000, 4);
    const histogramShared = new CalibrationHistogram();
    const histogramPlain = new CalibrationHistogram();
    await histogramShared.add(shared(values));
    await histogramPlain.add(values);
    expect(histogramShared.counts).toEqual(histogramPlain.counts);
    expect(histogramShared.total).toBe(100_000);
    histogramShared.dispose();
    histogramPlain.dispose();
  });
});
