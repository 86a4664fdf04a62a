// Implicit reduced precision (TensorRT 10's fp16/int8 builder flags with a JavaScript INT8
// calibrator), end to end on the sim. References are independent of the code under test:
// onnxruntime-node runs the float model, scales of the min-max calibrator are recomputed
// here from the batches (max |x| / 127), and caches are read with the TypeScript codec.
import { setTimeout as sleep } from 'node:timers/promises';
import { Worker } from 'node:worker_threads';

import { afterAll, describe, expect, it, vi } from 'vitest';

import {
  Builder,
  CancelledError,
  EntropyCalibrator2,
  type Feeds,
  InvalidArgumentError,
  MinMaxCalibrator,
  parseCalibrationCache,
  Runtime,
  Tensor,
  TensorRTError,
  UnsupportedError,
} from '../lib/index.js';
import type { Int8Calibrator } from '../lib/index.js';
import { lenetModel, resnetBlockModel } from './fixtures/cnn-models.js';
import { randomFloats } from './fixtures/models.js';
import { runOnnxRuntime } from './fixtures/oracle.js';
import { ticksDuring } from './fixtures/ticker.js';
import { cosine } from './fixtures/cosine.js';

// Two CNNs at fixed shapes, input 'x', output 'y'. ResNet basic block (Conv,
// BatchNormalization, Relu, Add, GlobalAveragePool, MatMul): x [2, 16, 8, 8] -> y [2, 8] logits.
// LeNet (Conv, pooling, Gemm, Softmax): x [4, 1, 28, 28] -> y [4, 10] probabilities.
interface Net {
  model: Uint8Array;
  shape: number[];
}
const resnet: Net = { model: resnetBlockModel(16), shape: [2, 16, 8, 8] };
const lenet: Net = { model: lenetModel(), shape: [4, 1, 28, 28] };
const volume = (dims: number[]) => dims.reduce((a, b) => a * b, 1);
const count = volume(resnet.shape);

function batch(seed: number, net: Net = resnet): Feeds {
  return { x: new Tensor('float32', randomFloats(volume(net.shape), seed), net.shape) };
}

interface BuildOptions {
  fp16?: boolean;
  int8?: boolean;
  calibrator?: Int8Calibrator;
  signal?: AbortSignal;
  stronglyTyped?: boolean;
  net?: Net;
}

const builders: Builder[] = [];
afterAll(() => builders.forEach((b) => b.dispose()));

async function build(options: BuildOptions, builder = new Builder({ backend: 'sim' })): Promise<Uint8Array> {
  builders.push(builder);
  const { model, shape } = options.net ?? resnet;
  const network = builder.createNetworkV2({ stronglyTyped: options.stronglyTyped ?? false });
  await builder.createOnnxParser(network).parse(model);
  const config = builder.createBuilderConfig();
  config.addOptimizationProfile(builder.createOptimizationProfile().setDimensions('x', { min: shape, opt: shape, max: shape }));
  if (options.fp16) config.setFlag('fp16');
  if (options.int8) config.setFlag('int8');
  config.int8Calibrator = options.calibrator;
  return builder.buildSerializedNetwork(network, config, { signal: options.signal });
}

async function run(plan: Uint8Array, seed: number, net: Net = resnet): Promise<Float32Array> {
  using runtime = new Runtime({ backend: 'sim' });
  const engine = await runtime.deserializeCudaEngine(plan);
  try {
    const out = await engine.createExecutionContext().execute(batch(seed, net));
    return out.y!.data as Float32Array;
  } finally {
    engine.dispose();
  }
}

async function reference(seed: number, net: Net = resnet): Promise<Float32Array> {
  const out = await runOnnxRuntime(net.model, { x: { data: randomFloats(volume(net.shape), seed), dims: net.shape } });
  return out.y!.data;
}


function maxAbsDiff(a: ArrayLike<number>, b: ArrayLike<number>): number {
  let m = 0;
  for (let i = 0; i < a.length; i++) m = Math.max(m, Math.abs(a[i]! - b[i]!));
  return m;
}

/** Batches from seeds, counting how many the builder pulled. */
function countingBatches(seeds: number[]) {
  const counter = { pulled: 0, finished: false };
  function* generate() {
    for (const seed of seeds) {
      counter.pulled++;
      yield batch(seed);
    }
    counter.finished = true;
  }
  return { counter, batches: generate() };
}

const calibrationSeeds = [11, 12, 13, 14, 15, 16, 17, 18];
const heldOutSeeds = [101, 102, 103];

describe('INT8 calibrator protocol on the sim', () => {
  let cache: Uint8Array | undefined;
  let firstPlan: Uint8Array | undefined;

  it('asks for batches until exhausted and writes the cache in TensorRT format', async () => {
    const { counter, batches } = countingBatches(calibrationSeeds);
    let reads = 0;
    const calibrator = new EntropyCalibrator2({
      batches,
      batchSize: 2,
      readCache: () => {
        reads++;
        return undefined;
      },
      writeCache: (bytes) => {
        cache = bytes.slice();
      },
    });
    firstPlan = await build({ int8: true, calibrator });
    expect(reads).toBe(1);
    expect(counter.pulled).toBe(calibrationSeeds.length);
    expect(counter.finished).toBe(true);
    expect(cache).toBeDefined();
    const parsed = parseCalibrationCache(cache!);
    expect(parsed.algorithm).toBe('EntropyCalibration2');
    expect(new TextDecoder().decode(cache!)).toMatch(/^TRT-\d+-EntropyCalibration2\n/);
    // The activation inputs of the two convolutions and of the MatMul.
    expect([...parsed.scales.keys()].sort()).toEqual(['f', 'r1', 'x']);
    for (const scale of parsed.scales.values()) expect(scale).toBeGreaterThan(0);
    // x is uniform on [-1, 1]; the entropy threshold is (i + 0.5) bin widths for the winning
    // i <= 2048 bins of width max|x| / 2048, so at most 2048.5 / 2048 of max |x| <= 1.
    expect(parsed.scales.get('x')! * 127).toBeLessThanOrEqual((2048.5 / 2048) * (1 + 1e-6));
  });

  it('a second build reads the cache and asks for no batch', async () => {
    const { counter, batches } = countingBatches(calibrationSeeds);
    let written = 0;
    const calibrator = new EntropyCalibrator2({ batches, batchSize: 2, readCache: async () => cache, writeCache: () => void written++ });
    const plan = await build({ int8: true, calibrator });
    expect(counter.pulled).toBe(0);
    expect(written).toBe(0);
    // The same scales give the same engine behaviour.
    expect(await run(plan, heldOutSeeds[0]!)).toEqual(await run(firstPlan!, heldOutSeeds[0]!));
  });

  it('MinMaxCalibrator: each scale is max |x| over all batches / 127', async () => {
    let written: Uint8Array | undefined;
    const seeds = [21, 22, 23];
    const calibrator = new MinMaxCalibrator({ batches: seeds.map((s) => batch(s)), batchSize: 2, writeCache: (b) => void (written = b) });
    await build({ int8: true, calibrator });
    const parsed = parseCalibrationCache(written!);
    expect(parsed.algorithm).toBe('MinMaxCalibration');
    let maxAbs = 0;
    for (const seed of seeds) for (const v of randomFloats(count, seed)) maxAbs = Math.max(maxAbs, Math.abs(v));
    expect(parsed.scales.get('x')).toBe(Math.fround(Math.fround(maxAbs) / 127));
  });
});

describe('INT8 and FP16 engines against float32 (onnxruntime-node)', () => {
  // The min-max calibrator on the ResNet block: the classifier's input is a globally pooled,
  // positive tensor far from zero, where the entropy search (which starts at 128 bins and
  // folds every outlier into the last one) finds a zero divergence at a tiny threshold and
  // clips everything; TensorRT's published algorithm has the same blind spot.
  it('int8 (MinMaxCalibrator, ResNet block) on held-out inputs: cosine >= 0.99, and not equal to float32', async () => {
    const calibrator = new MinMaxCalibrator({ batches: calibrationSeeds.map((s) => batch(s)), batchSize: 2 });
    const int8 = await build({ int8: true, calibrator });
    const fp32 = await build({});
    for (const seed of heldOutSeeds) {
      const expected = await reference(seed);
      const got = await run(int8, seed);
      const float = await run(fp32, seed);
      expect(cosine(got, expected), `seed ${seed}`).toBeGreaterThanOrEqual(0.99);
      // Quantization is applied: the int8 engine's error is far above float32 rounding.
      expect(maxAbsDiff(float, expected)).toBeLessThan(1e-4);
      expect(maxAbsDiff(got, expected)).toBeGreaterThan(1e-3);
    }
  });

  it('int8 (EntropyCalibrator2, LeNet) on held-out inputs: cosine >= 0.99, top-1 agrees, not equal to float32', async () => {
    const calibrator = new EntropyCalibrator2({ batches: calibrationSeeds.map((s) => batch(s, lenet)), batchSize: 4 });
    const int8 = await build({ int8: true, calibrator, net: lenet });
    let agree = 0;
    let rows = 0;
    for (const seed of heldOutSeeds) {
      const expected = await reference(seed, lenet);
      const got = await run(int8, seed, lenet);
      expect(cosine(got, expected), `seed ${seed}`).toBeGreaterThanOrEqual(0.99);
      expect(maxAbsDiff(got, expected)).toBeGreaterThan(1e-4);
      for (let r = 0; r < lenet.shape[0]!; r++, rows++) {
        const argmax = (v: Float32Array) => v.subarray(r * 10, r * 10 + 10).reduce((best, x, i, a) => (x > a[best]! ? i : best), 0);
        if (argmax(got) === argmax(expected)) agree++;
      }
    }
    expect(agree / rows).toBeGreaterThanOrEqual(0.75);
  });

  it('fp16 outputs within float16 tolerance, and rounded', async () => {
    const fp16 = await build({ fp16: true });
    for (const seed of heldOutSeeds) {
      const expected = await reference(seed);
      const got = await run(fp16, seed);
      const scale = Math.max(...Array.from(expected, Math.abs));
      // float16 keeps 11 significant bits (relative step 2^-10 ~ 1e-3); a few layers of
      // accumulated rounding stay within 1% of the output's magnitude.
      expect(maxAbsDiff(got, expected), `seed ${seed}`).toBeLessThan(1e-2 * scale);
      expect(maxAbsDiff(got, expected)).toBeGreaterThan(0);
      // Every output is a float16 value.
      const halves = new Float32Array(got.length);
      for (let i = 0; i < got.length; i++) halves[i] = roundToHalf(got[i]!);
      expect(got).toEqual(halves);
    }
  });
});

/** float32 -> nearest float16 value (for normal magnitudes): keep 11 significant bits. */
function roundToHalf(v: number): number {
  if (v === 0) return v;
  const exponent = Math.floor(Math.log2(Math.abs(v)));
  const step = 2 ** (exponent - 10);
  const q = v / step;
  const r = Math.round(q);
  // round half to even, as IEEE does
  const even = Math.abs(q - Math.trunc(q)) === 0.5 ? 2 * Math.round(q / 2) : r;
  return even * step;
}

describe('calibrator failures, aborts and the event loop', () => {
  it('a calibrator that throws fails the build with its message and cause', async () => {
    const boom = new Error('calibration images are unreadable');
    async function* batches() {
      yield batch(1);
      throw boom;
    }
    const calibrator = new EntropyCalibrator2({ batches: batches(), batchSize: 2 });
    const error = await build({ int8: true, calibrator }).catch((e: unknown) => e);
    expect(error).toBeInstanceOf(TensorRTError);
    expect((error as Error).message).toContain('calibration images are unreadable');
    expect((error as Error).cause).toBe(boom);
  });

  it('a writeCache that rejects fails the build', async () => {
    const calibrator = new MinMaxCalibrator({
      batches: [batch(1)],
      batchSize: 2,
      writeCache: async () => {
        throw new Error('disk full');
      },
    });
    await expect(build({ int8: true, calibrator })).rejects.toThrow(/writeCache failed: disk full/);
  });

  it('a batch of the wrong shape is an InvalidArgumentError naming the input', async () => {
    const calibrator = new EntropyCalibrator2({ batches: [{ x: new Tensor('float32', new Float32Array(4), [1, 4]) }], batchSize: 2 });
    await expect(build({ int8: true, calibrator })).rejects.toThrow(InvalidArgumentError);
    await expect(build({ int8: true, calibrator: new EntropyCalibrator2({ batches: [{ x: new Tensor('float32', new Float32Array(4), [1, 4]) }], batchSize: 2 }) })).rejects.toThrow(
      /Expected a float32 Tensor of dims \[2, 16, 8, 8\] for input 'x' of calibration batch 0/,
    );
  });

  it('an abort while the calibrator waits for a batch rejects with CancelledError', async () => {
    const controller = new AbortController();
    async function* batches() {
      yield batch(1);
      // Asked for the second batch: abort while the build thread waits for it, which never comes.
      controller.abort();
      await new Promise(() => {});
    }
    const calibrator = new EntropyCalibrator2({ batches: batches(), batchSize: 2 });
    const started = performance.now();
    await expect(build({ int8: true, calibrator, signal: controller.signal })).rejects.toThrow(CancelledError);
    expect(performance.now() - started).toBeLessThan(5000);
  });

  it('the event loop keeps ticking, with no deadlock, while batches come from an async generator that awaits', async () => {
    let pulled = 0;
    async function* batches() {
      for (const seed of calibrationSeeds) {
        await sleep(5); // as if reading from disk
        await Promise.resolve();
        pulled++;
        yield batch(seed);
      }
    }
    const { ticks, ms, result: plan } = await ticksDuring(() => build({ int8: true, calibrator: new EntropyCalibrator2({ batches: batches(), batchSize: 2 }) }));
    expect(plan.byteLength).toBeGreaterThan(0);
    expect(pulled).toBe(calibrationSeeds.length);
    // Eight 5 ms sleeps alone take 40 ms; a blocked loop would see no tick at all. Both bounds
    // hold on a loaded machine: each sleep ends in a turn of its own, however late.
    expect(ms).toBeGreaterThan(40);
    expect(ticks, `${ticks} ticks in ${ms.toFixed(1)} ms`).toBeGreaterThanOrEqual(8);
  });
});

// A worker that starts a calibrating build whose second batch never comes, then is terminated:
// the environment's teardown must wake the waiting build thread (the thread-safe function's
// finalizer) instead of leaving a libuv pool thread blocked forever or crashing the process.
const teardownWorker = `
const { parentPort, workerData } = require('node:worker_threads');
(async () => {
  const { Builder, EntropyCalibrator2, Tensor } = await import(workerData.entry);
  const builder = new Builder({ backend: 'sim' });
  const network = builder.createNetworkV2();
  await builder.createOnnxParser(network).parse(workerData.model);
  const config = builder.createBuilderConfig();
  config.setFlag('int8');
  async function* batches() {
    yield { x: new Tensor('float32', new Float32Array(2048), [2, 16, 8, 8]) };
    parentPort.postMessage('waiting');
    await new Promise(() => {});
  }
  config.int8Calibrator = new EntropyCalibrator2({ batches: batches(), batchSize: 2 });
  const shape = [2, 16, 8, 8];
  config.addOptimizationProfile(builder.createOptimizationProfile().setDimensions('x', { min: shape, opt: shape, max: shape }));
  await builder.buildSerializedNetwork(network, config);
})().catch((e) => parentPort.postMessage({ error: String(e && e.stack || e) }));
`;

describe('environment teardown during calibration', () => {
  it('terminating a worker whose build waits for a batch neither hangs nor crashes', async () => {
    const entry = new URL('../dist/index.js', import.meta.url).href;
    const worker = new Worker(teardownWorker, { eval: true, workerData: { entry, model: resnet.model } });
    const message = await new Promise((resolve, reject) => {
      worker.once('message', resolve);
      worker.once('error', reject);
    });
    expect(message).toBe('waiting');
    await sleep(20);
    const started = performance.now();
    await worker.terminate();
    expect(performance.now() - started).toBeLessThan(5000);
    // The pool thread the build held is free again: builds on this thread still complete.
    const plans = await Promise.all([1, 2, 3, 4].map(() => build({})));
    expect(plans.every((p) => p.byteLength > 0)).toBe(true);
  });
});

describe('flags and options', () => {
  it('setFlag / clearFlag / getFlag, with validation', () => {
    using builder = new Builder({ backend: 'sim' });
    const config = builder.createBuilderConfig();
    expect(config.getFlag('fp16')).toBe(false);
    config.setFlag('fp16').setFlag('int8');
    expect(config.getFlag('fp16') && config.getFlag('int8')).toBe(true);
    config.clearFlag('int8');
    expect(config.getFlag('int8')).toBe(false);
    expect(() => config.setFlag('fp8' as never)).toThrow(InvalidArgumentError);
    expect(() => {
      config.int8Calibrator = {} as never;
    }).toThrow(/Expected an EntropyCalibrator2, a MinMaxCalibrator or undefined for int8Calibrator/);
    expect(() => new EntropyCalibrator2({ batches: 3 as never, batchSize: 1 })).toThrow(/Expected an iterable or async iterable of feeds for calibrator option batches/);
    expect(() => new MinMaxCalibrator({ batches: [], batchSize: 0 })).toThrow(/calibrator option batchSize/);
    expect(() => builder.createNetworkV2({ stronglyTyped: 'yes' as never })).toThrow(InvalidArgumentError);
    expect(builder.backendInfo.implicitPrecision).toBe(true);
  });

  it('int8 without a calibrator, and flags on a strongly typed network, are refused', async () => {
    await expect(build({ int8: true })).rejects.toThrow(/needs config.int8Calibrator/);
    await expect(build({ fp16: true, stronglyTyped: true })).rejects.toThrow(/strongly typed network/);
  });

  it('a strongly typed network builds and runs as float32 without flags', async () => {
    const plan = await build({ stronglyTyped: true });
    expect(maxAbsDiff(await run(plan, 7), await reference(7))).toBeLessThan(1e-4);
  });

  it('a backend without implicit precision (TensorRT 11) refuses the flags, naming the explicit path', async () => {
    const builder = new Builder({ backend: 'sim' });
    // Stand in for TensorRT 11's answer: the sim itself implements TensorRT 10's behaviour.
    vi.spyOn(builder, 'backendInfo', 'get').mockReturnValue({ name: 'tensorrt', version: '11.1.0', available: true, implicitPrecision: false });
    const error = await build({ fp16: true }, builder).catch((e: unknown) => e);
    expect(error).toBeInstanceOf(UnsupportedError);
    expect((error as Error).message).toMatch(/convertToFloat16.*quantizeInt8/);
  });
});
