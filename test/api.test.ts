// The TensorRT-shaped low-level API: Logger, Builder, NetworkDefinition, OnnxParser,
// BuilderConfig, OptimizationProfile, Runtime, Engine, ExecutionContext.
import { describe, expect, it, vi } from 'vitest';

import {
  backends,
  buildEngine,
  Builder,
  CancelledError,
  type Feeds,
  Logger,
  MinMaxCalibrator,
  OnnxParseError,
  Runtime,
  ShapeError,
  Tensor,
  type ProgressEvent,
  type Severity,
} from '../lib/index.js';
import { makeModel } from '../lib/onnx/model-builder.js';
import { mlpModel, randomFloats } from './fixtures/models.js';
import { expectClose, runOnnxRuntime } from './fixtures/oracle.js';

async function parsedMlp(builder: Builder) {
  const network = builder.createNetworkV2();
  await builder.createOnnxParser(network).parse(mlpModel());
  return network;
}

describe('backends()', () => {
  it('reports the sim as available and says why TensorRT is not', () => {
    const [sim, trt] = backends();
    expect(sim).toMatchObject({ name: 'sim', available: true });
    expect(sim!.version).toMatch(/^\d+\.\d+\.\d+$/);
    expect(trt!.name).toBe('tensorrt');
    if (!trt!.available) expect(trt!.reason).toMatch(/TensorRT|libnvinfer|driver|GPU/);
  });
});

describe('NetworkDefinition after parsing', () => {
  it('lists inputs and outputs with dtype and dynamic dims, and the layer count', async () => {
    using builder = new Builder({ backend: 'sim' });
    const network = await parsedMlp(builder);
    expect(network.inputs).toEqual([{ name: 'x', dtype: 'float32', shape: [-1, 8], isShapeTensor: false }]);
    expect(network.outputs).toEqual([{ name: 'y', dtype: 'float32', shape: [-1, 4], isShapeTensor: false }]);
    expect(network.numLayers).toBe(6);
  });
});

describe('OnnxParser errors', () => {
  it('lists every unsupported node with its operator', async () => {
    using builder = new Builder({ backend: 'sim' });
    const model = makeModel({
      inputs: [{ name: 'x', dtype: 'float32', shape: [4] }],
      outputs: [{ name: 'z', dtype: 'float32', shape: [4] }],
      nodes: [
        { op: 'FancyOp', inputs: ['x'], outputs: ['y'], name: 'first' },
        { op: 'OtherOp', inputs: ['y'], outputs: ['z'], name: 'second' },
      ],
    });
    const error = await builder.createOnnxParser(builder.createNetworkV2()).parse(model).catch((e: unknown) => e);
    expect(error).toBeInstanceOf(OnnxParseError);
    const { parserErrors } = error as OnnxParseError;
    expect(parserErrors.map((e) => [e.node, e.op])).toEqual([
      ['first', 'FancyOp'],
      ['second', 'OtherOp'],
    ]);
    expect((error as Error).message).toMatch(/FancyOp[\s\S]*OtherOp/);
  });

  it('refuses corrupt bytes with a parse error, not a crash', async () => {
    using builder = new Builder({ backend: 'sim' });
    const bytes = mlpModel();
    for (const corrupt of [bytes.slice(0, bytes.length / 2), randomBytes(1000), new Uint8Array([0xff, 0xff, 0xff])]) {
      await expect(builder.createOnnxParser(builder.createNetworkV2()).parse(corrupt)).rejects.toBeInstanceOf(OnnxParseError);
    }
  });

  it('names the file when it cannot be read', async () => {
    using builder = new Builder({ backend: 'sim' });
    await expect(builder.createOnnxParser(builder.createNetworkV2()).parseFromFile('/nonexistent/model.onnx')).rejects.toThrow(/cannot read the ONNX model \/nonexistent\/model.onnx/);
  });
});

function randomBytes(n: number): Uint8Array {
  return Uint8Array.from(randomFloats(n, 99), (v) => Math.floor((v + 1) * 128));
}

describe('Builder + BuilderConfig + OptimizationProfile', () => {
  it('builds with two profiles; a context selects one and output shapes follow inputs', async () => {
    using builder = new Builder({ backend: 'sim' });
    const network = await parsedMlp(builder);
    const config = builder.createBuilderConfig().setMemoryPoolLimit('workspace', 1 << 26);
    config.addOptimizationProfile(builder.createOptimizationProfile().setDimensions('x', { min: [1, 8], opt: [2, 8], max: [4, 8] }));
    config.addOptimizationProfile(builder.createOptimizationProfile().setDimensions('x', { min: [8, 8], opt: [16, 8], max: [32, 8] }));
    const plan = await builder.buildSerializedNetwork(network, config);

    using runtime = new Runtime({ backend: 'sim' });
    const engine = await runtime.deserializeCudaEngine(plan);
    expect(engine.numOptimizationProfiles).toBe(2);
    expect(engine.getProfileShape('x', 1)).toEqual({ min: [8, 8], opt: [16, 8], max: [32, 8] });
    expect(engine.ioTensors.map((t) => [t.name, t.mode])).toEqual([
      ['x', 'input'],
      ['y', 'output'],
    ]);
    expect(engine.deviceMemorySize).toBeGreaterThan(0);
    expect(Array.from(await engine.serialize())).toEqual(Array.from(plan));

    const context = engine.createExecutionContext();
    context.setOptimizationProfile(1);
    expect(() => context.setInputShape('x', [4, 8])).toThrow(ShapeError);
    expect(() => context.setInputShape('x', [4, 8])).toThrow(/range \[8, 32\]/);
    context.setInputShape('x', [20, 8]);
    const x = randomFloats(160, 3);
    const out = await context.execute({ x: new Tensor('float32', x, [20, 8]) });
    expect(out.y!.dims).toEqual([20, 4]);
    const expected = await runOnnxRuntime(mlpModel(), { x: { data: x, dims: [20, 8] } });
    expectClose(out.y!.data as Float32Array, expected.y!.data);
  });

  it('refuses a dynamic network without a profile, naming the input', async () => {
    using builder = new Builder({ backend: 'sim' });
    const network = await parsedMlp(builder);
    await expect(builder.buildSerializedNetwork(network, builder.createBuilderConfig())).rejects.toThrow(/'x' \[-1, 8\] has dynamic dimensions: add an optimization profile/);
  });

  it('refuses a profile that contradicts a fixed dimension', async () => {
    using builder = new Builder({ backend: 'sim' });
    const network = await parsedMlp(builder);
    const config = builder.createBuilderConfig();
    config.addOptimizationProfile(builder.createOptimizationProfile().setDimensions('x', { min: [1, 7], opt: [1, 7], max: [1, 7] }));
    await expect(builder.buildSerializedNetwork(network, config)).rejects.toThrow(/dimension 1 of 'x' is fixed at 8/);
  });

  it('reports progress and round-trips the timing cache', async () => {
    using builder = new Builder({ backend: 'sim' });
    const network = await parsedMlp(builder);
    const config = builder.createBuilderConfig();
    config.addOptimizationProfile(builder.createOptimizationProfile().setDimensions('x', { min: [1, 8], opt: [1, 8], max: [2, 8] }));
    const events: ProgressEvent[] = [];
    config.onProgress = (e) => events.push(e);
    await builder.buildSerializedNetwork(network, config);
    expect(events.some((e) => e.kind === 'phaseStart')).toBe(true);
    expect(events.filter((e) => e.kind === 'step').length).toBeGreaterThan(0);
    const cache = config.timingCache;
    expect(cache?.byteLength).toBeGreaterThan(0);
    // A second build accepts the first build's cache.
    await builder.buildSerializedNetwork(network, config);
    // Garbage is refused.
    config.setTimingCache(new Uint8Array([1, 2, 3]));
    await expect(builder.buildSerializedNetwork(network, config)).rejects.toThrow(/timing cache/i);
  });

  it('cancels a build through an AbortSignal', async () => {
    using builder = new Builder({ backend: 'sim' });
    const network = await parsedMlp(builder);
    const config = builder.createBuilderConfig();
    config.addOptimizationProfile(builder.createOptimizationProfile().setDimensions('x', { min: [1, 8], opt: [1, 8], max: [2, 8] }));
    const controller = new AbortController();
    controller.abort();
    await expect(builder.buildSerializedNetwork(network, config, { signal: controller.signal })).rejects.toBeInstanceOf(CancelledError);
    // Aborting a build queued behind another: builds on one builder run one at a time, so
    // first start an implicit-INT8 build whose calibrator holds it until the test lets go. A
    // builder's cancel() (what the AbortSignal calls) stops every build in flight on it: the
    // held one wakes from its wait, and the queued one never starts (no progress event).
    // (Backends without implicit precision, TensorRT 11 under the TensorRT double, have no
    // calibrator to hold a build with.)
    if (builder.backendInfo.implicitPrecision) {
      let asked!: () => void;
      const waiting = new Promise<void>((resolve) => (asked = resolve));
      const int8 = builder.createBuilderConfig().setFlag('int8');
      int8.addOptimizationProfile(builder.createOptimizationProfile().setDimensions('x', { min: [1, 8], opt: [1, 8], max: [1, 8] }));
      int8.int8Calibrator = new MinMaxCalibrator({
        batchSize: 1,
        batches: { [Symbol.asyncIterator]: () => ({ next: () => (asked(), new Promise<IteratorResult<Feeds>>(() => {})) }) },
      });
      const held = builder.buildSerializedNetwork(network, int8);
      await waiting;
      const events: unknown[] = [];
      config.onProgress = (event) => events.push(event);
      const running = new AbortController();
      const build = builder.buildSerializedNetwork(network, config, { signal: running.signal });
      running.abort();
      // Both settle on the same cancel(): await them together, so neither goes unhandled.
      await Promise.all([expect(build).rejects.toBeInstanceOf(CancelledError), expect(held).rejects.toBeInstanceOf(CancelledError)]);
      expect(events).toEqual([]);
      config.onProgress = undefined;
    }
    // The builder is still usable afterwards.
    expect((await builder.buildSerializedNetwork(network, config)).byteLength).toBeGreaterThan(0);
  });
});

describe('Logger', () => {
  it('delivers backend messages at or above its severity', async () => {
    const seen: [Severity, string][] = [];
    const logger = new Logger({ minSeverity: 'verbose', onMessage: (s, m) => seen.push([s, m]) });
    using builder = new Builder({ backend: 'sim', logger });
    const network = await parsedMlp(builder);
    const config = builder.createBuilderConfig();
    config.addOptimizationProfile(builder.createOptimizationProfile().setDimensions('x', { min: [1, 8], opt: [1, 8], max: [1, 8] }));
    await builder.buildSerializedNetwork(network, config);
    logger.log('warning', 'from JavaScript');
    // Delivered asynchronously: wait until it arrives rather than for a fixed time, which a
    // loaded machine can outlast.
    await vi.waitFor(() => expect(seen).toContainEqual(['warning', 'from JavaScript']), { timeout: 10_000 });
    expect(seen.length).toBeGreaterThan(1);

    const quiet: string[] = [];
    const errorsOnly = new Logger({ minSeverity: 'error', onMessage: (_s, m) => quiet.push(m) });
    errorsOnly.log('info', 'dropped');
    errorsOnly.log('error', 'kept');
    // Messages are delivered in order: once 'kept' is in, 'dropped' would have been too.
    await vi.waitFor(() => expect(quiet).toContain('kept'), { timeout: 10_000 });
    expect(quiet).toEqual(['kept']);
  });

  it('validates its options', () => {
    expect(() => new Logger({ minSeverity: 'loud' as never })).toThrow(/Expected one of 'internal-error', 'error', 'warning', 'info', 'verbose' for minSeverity but received the string "loud"/);
  });
});
