// The sim's intra-op threads (the `threads` option): results bitwise equal to one thread (every
// split keeps each output element's operations and their order), validation of the option and
// of TENSORRT_NODE_SIM_THREADS, and the threads joined when a session is disposed and when the
// worker that made one terminates.
import { readdirSync, readFileSync } from 'node:fs';
import { Worker } from 'node:worker_threads';

import * as ort from 'onnxruntime-node';
import { afterEach, describe, expect, it } from 'vitest';

import { buildEngine, InferenceSession, InvalidArgumentError, Runtime, Tensor } from '../lib/index.js';
import { makeModel, makeTensor } from '../lib/onnx/model-builder.js';
import { convertToFloat16 } from '../lib/precision/convert-float16.js';
import { randomFloats } from './fixtures/models.js';
import { expectClose } from './fixtures/oracle.js';

/**
 * Conv 3x3 and 1x1 (GEMMs split by columns), depthwise Conv (split by channels),
 * ConvTranspose (GEMM by columns, col2im by channels), a MatMul with 64 columns (one range)
 * and one with 16 columns and 1600 rows (split by rows), broadcast Mul, Add and LeakyRelu
 * (split into element ranges), all above the sim's thresholds for splitting.
 * x: [1, 16, 40, 40].
 */
function convNet(): Uint8Array {
  const w = (name: string, dims: number[], seed: number) => makeTensor(name, 'float32', dims, randomFloats(dims.reduce((a, b) => a * b, 1), seed));
  return makeModel({
    inputs: [{ name: 'x', dtype: 'float32', shape: [1, 16, 40, 40] }],
    outputs: [
      { name: 'up', dtype: 'float32', shape: [1, 8, 160, 160] },
      { name: 'mm', dtype: 'float32', shape: [1, 64, 64] },
      { name: 'rows', dtype: 'float32', shape: [1, 1600, 16] },
      { name: 'act', dtype: 'float32', shape: [1, 64, 40, 40] },
    ],
    initializers: [
      w('w1', [64, 16, 3, 3], 1),
      w('b1', [64], 2),
      w('wd', [64, 1, 3, 3], 3),
      w('ws', [256, 64, 1, 1], 4),
      w('wt', [256, 8, 2, 2], 5),
      w('wm', [1600, 64], 6),
      w('wq', [64, 16], 10),
      w('w2', [16, 8, 3, 3], 7),
      w('wt2', [16, 8, 2, 2], 8),
      makeTensor('shape', 'int64', [3], [1n, 64n, 1600n]),
    ],
    nodes: [
      { op: 'Conv', inputs: ['x', 'w1', 'b1'], outputs: ['c1'], attributes: { kernel_shape: [3, 3], pads: [1, 1, 1, 1] } },
      { op: 'Conv', inputs: ['c1', 'wd'], outputs: ['dw'], attributes: { kernel_shape: [3, 3], pads: [1, 1, 1, 1], group: 64 } },
      { op: 'Conv', inputs: ['dw', 'ws'], outputs: ['s'] },
      { op: 'ConvTranspose', inputs: ['s', 'wt'], outputs: ['t'], attributes: { kernel_shape: [2, 2], strides: [2, 2] } },
      { op: 'Conv', inputs: ['t', 'w2'], outputs: ['c2'], attributes: { kernel_shape: [3, 3], pads: [1, 1, 1, 1] } },
      { op: 'ConvTranspose', inputs: ['c2', 'wt2'], outputs: ['up'], attributes: { kernel_shape: [2, 2], strides: [2, 2] } },
      { op: 'Reshape', inputs: ['dw', 'shape'], outputs: ['r'] },
      { op: 'MatMul', inputs: ['r', 'wm'], outputs: ['mm'] },
      { op: 'Transpose', inputs: ['r'], outputs: ['rt'], attributes: { perm: [0, 2, 1] } },
      { op: 'MatMul', inputs: ['rt', 'wq'], outputs: ['rows'] },
      // Element-wise layers large enough to split: a broadcast Mul, an Add, an activation.
      { op: 'GlobalAveragePool', inputs: ['c1'], outputs: ['g'] },
      { op: 'Mul', inputs: ['c1', 'g'], outputs: ['se'] },
      { op: 'Add', inputs: ['se', 'c1'], outputs: ['sum'] },
      { op: 'LeakyRelu', inputs: ['sum'], outputs: ['act'], attributes: { alpha: 0.1 } },
    ],
  });
}

async function runWith(model: Uint8Array, threads: number, x: Float32Array) {
  const engine = await buildEngine(model, { backend: 'sim' });
  using session = await InferenceSession.create(engine, { backend: 'sim', threads });
  const out = await session.run({ x: new Tensor('float32', x, [1, 16, 40, 40]) });
  return Object.fromEntries(Object.entries(out).map(([n, t]) => [n, new Uint8Array((t.data as Float32Array).slice().buffer)]));
}

/**
 * The sim's pool threads in this process (named tnrt-sim on Linux), or undefined elsewhere.
 * Counting all threads is not enough: the builder's threads are detached and may still be
 * exiting after the build resolved, so the process's total drops on its own, more often and
 * later when the machine is loaded.
 */
function simThreadCount(): number | undefined {
  try {
    let count = 0;
    for (const task of readdirSync('/proc/self/task')) {
      try {
        if (readFileSync(`/proc/self/task/${task}/comm`, 'utf8').trim() === 'tnrt-sim') count++;
      } catch {
        // The thread exited between the listing and the read.
      }
    }
    return count;
  } catch {
    return undefined;
  }
}

/** Polls simThreadCount() until it is `expected` (up to 10 s: a loaded machine is slow to reap joined threads). */
async function settle(expected: number) {
  for (let i = 0; i < 500 && simThreadCount() !== expected; i++) await new Promise((r) => setTimeout(r, 20));
  return simThreadCount();
}

const savedEnv = process.env.TENSORRT_NODE_SIM_THREADS;
afterEach(() => {
  if (savedEnv === undefined) delete process.env.TENSORRT_NODE_SIM_THREADS;
  else process.env.TENSORRT_NODE_SIM_THREADS = savedEnv;
});

describe('sim intra-op threads', () => {
  it('gives bitwise the results of one thread on 2, 3 and 4 threads', async () => {
    const model = convNet();
    const x = randomFloats(16 * 40 * 40, 9);
    const one = await runWith(model, 1, x);
    for (const threads of [2, 3, 4]) {
      const many = await runWith(model, threads, x);
      for (const name of Object.keys(one)) expect(Buffer.compare(Buffer.from(many[name]!), Buffer.from(one[name]!)), `${name} on ${threads} threads`).toBe(0);
    }
  });

  it('validates the option and TENSORRT_NODE_SIM_THREADS', async () => {
    for (const bad of [0, -1, 1.5, 257, '2', Number.NaN]) {
      expect(() => new Runtime({ backend: 'sim', threads: bad as number })).toThrow(InvalidArgumentError);
      expect(() => new Runtime({ backend: 'sim', threads: bad as number })).toThrow(/Runtime option threads/);
    }
    const engine = await buildEngine(convNet(), { backend: 'sim' });
    await expect(InferenceSession.create(engine, { backend: 'sim', threads: 0 })).rejects.toThrow(/session option threads/);
    process.env.TENSORRT_NODE_SIM_THREADS = 'many';
    expect(() => new Runtime({ backend: 'sim' })).toThrow(/TENSORRT_NODE_SIM_THREADS/);
    process.env.TENSORRT_NODE_SIM_THREADS = '0';
    expect(() => new Runtime({ backend: 'sim' })).toThrow(/TENSORRT_NODE_SIM_THREADS/);
    process.env.TENSORRT_NODE_SIM_THREADS = '3';
    new Runtime({ backend: 'sim' }).dispose();
    new Runtime({ backend: 'sim', threads: 1 }).dispose();
  });

  it('joins its threads when the session is disposed', async (ctx) => {
    if (simThreadCount() === undefined) ctx.skip();
    // The sessions of the tests before were all disposed. A joined thread may stay listed for
    // a moment while the kernel reaps it, hence the polling.
    expect(await settle(0)).toBe(0);
    const engine = await buildEngine(convNet(), { backend: 'sim' });
    const session = await InferenceSession.create(engine, { backend: 'sim', threads: 4 });
    await session.run({ x: new Tensor('float32', randomFloats(16 * 40 * 40, 1), [1, 16, 40, 40]) });
    // The session's 3 threads started with its first run.
    expect(simThreadCount()).toBe(3);
    session.dispose();
    expect(await settle(0)).toBe(0);
  });

  it('joins its threads when the worker that made the session terminates', async (ctx) => {
    if (simThreadCount() === undefined) ctx.skip();
    const entry = new URL('../dist/index.js', import.meta.url).href;
    const model = convNet();
    const source = `
      const { parentPort, workerData } = require('node:worker_threads');
      (async () => {
        const { buildEngine, InferenceSession, Tensor } = await import(workerData.entry);
        const fs = require('node:fs');
        const count = () => fs.readdirSync('/proc/self/task').filter((t) => {
          try { return fs.readFileSync('/proc/self/task/' + t + '/comm', 'utf8').trim() === 'tnrt-sim'; } catch { return false; }
        }).length;
        const session = await InferenceSession.create(await buildEngine(workerData.model, { backend: 'sim' }), { backend: 'sim', threads: 4 });
        const before = count();
        await session.run({ x: new Tensor('float32', new Float32Array(16 * 40 * 40), [1, 16, 40, 40]) });
        // Never disposes, and stays alive until terminated: the environment's cleanup must join.
        setInterval(() => {}, 1000);
        parentPort.postMessage(count() - before);
      })().catch((e) => parentPort.postMessage(String(e && e.stack || e)));`;
    expect(await settle(0)).toBe(0);
    const worker = new Worker(source, { eval: true, workerData: { entry, model } });
    const started = await new Promise((resolve, reject) => worker.once('message', resolve).once('error', reject));
    // The session's 3 threads started with its first run.
    expect(started).toBe(3);
    expect(simThreadCount()).toBe(3);
    await worker.terminate();
    // The environment's cleanup joined them: none of the session's threads is left.
    expect(await settle(0)).toBe(0);
  });
});


describe('sim layers split over threads besides Conv and MatMul', () => {
  const X = [1, 32, 48, 48];
  /**
   * Pooling (split by planes), Softmax and LogSoftmax along the last, a middle and the channel
   * axis (split by rows), Resize nearest and linear (by output rows), Pow, Sigmoid, Tanh, Exp
   * and a broadcast Add (by element ranges), BatchNormalization (by planes), Transpose, a
   * reversing Slice and Expand (by output rows), Concat (by output ranges), ReduceMean and
   * ReduceSum over trailing axes (by outputs), a batched MatMul (by products), each large
   * enough for the sim to split it; in
   * float16, the Casts at the edges split too.
   */
  function layersNet(): Uint8Array {
    const f32 = (name: string, dims: number[], values: number[]) => makeTensor(name, 'float32', dims, values);
    const out = (name: string, shape: number[], dtype: 'float32' | 'int64' = 'float32') => ({ name, dtype, shape });
    const same = ['sig', 'tanh', 'exp', 'pow', 'add', 'bn', 'reversed', 'expanded', 'sm_last', 'sm_mid', 'sm_chan', 'lsm', 'maxpool', 'avgpool', 'mmb'];
    return makeModel({
      inputs: [{ name: 'x', dtype: 'float32', shape: X }],
      outputs: [
        ...same.map((n) => out(n, X)),
        out('maxpool_idx', X, 'int64'),
        out('maxpool2', [1, 32, 24, 24]),
        out('gap', [1, 32, 1, 1]),
        out('gmp', [1, 32, 1, 1]),
        out('nearest', [1, 32, 96, 96]),
        out('linear', [1, 32, 96, 96]),
        out('nhwc', [1, 48, 48, 32]),
        out('cat_chan', [1, 64, 48, 48]),
        out('cat_last', [1, 32, 48, 96]),
        out('rmean', [1, 32, 48, 1]),
        out('rsum', [1, 32, 1, 1]),
        out('rmax', [1, 1, 48, 48]),
      ],
      initializers: [
        f32('three', [], [3]),
        f32('scales', [4], [1, 1, 2, 2]),
        f32('gamma', [32], [...randomFloats(32, 31)]),
        f32('beta', [32], [...randomFloats(32, 32)]),
        f32('mean', [32], [...randomFloats(32, 33)]),
        f32('var', [32], [...randomFloats(32, 34)].map((v) => 0.5 + Math.abs(v))),
        makeTensor('starts', 'int64', [1], [47n]),
        makeTensor('ends', 'int64', [1], [-100n]),
        makeTensor('axes', 'int64', [1], [3n]),
        makeTensor('steps', 'int64', [1], [-1n]),
        makeTensor('xShape', 'int64', [4], X.map(BigInt)),
        makeTensor('sumAxes', 'int64', [2], [2n, 3n]),
      ],
      nodes: [
        { op: 'Sigmoid', inputs: ['x'], outputs: ['sig'] },
        { op: 'Tanh', inputs: ['x'], outputs: ['tanh'] },
        { op: 'Exp', inputs: ['x'], outputs: ['exp'] },
        { op: 'Pow', inputs: ['x', 'three'], outputs: ['pow'] },
        { op: 'GlobalAveragePool', inputs: ['x'], outputs: ['gap'] },
        { op: 'GlobalMaxPool', inputs: ['x'], outputs: ['gmp'] },
        { op: 'Add', inputs: ['x', 'gap'], outputs: ['add'] },
        { op: 'BatchNormalization', inputs: ['x', 'gamma', 'beta', 'mean', 'var'], outputs: ['bn'] },
        { op: 'Softmax', inputs: ['x'], outputs: ['sm_last'], attributes: { axis: -1 } },
        { op: 'Softmax', inputs: ['x'], outputs: ['sm_mid'], attributes: { axis: 2 } },
        { op: 'Softmax', inputs: ['x'], outputs: ['sm_chan'], attributes: { axis: 1 } },
        { op: 'LogSoftmax', inputs: ['x'], outputs: ['lsm'], attributes: { axis: 2 } },
        { op: 'MaxPool', inputs: ['x'], outputs: ['maxpool', 'maxpool_idx'], attributes: { kernel_shape: [3, 3], pads: [1, 1, 1, 1] } },
        { op: 'MaxPool', inputs: ['x'], outputs: ['maxpool2'], attributes: { kernel_shape: [2, 2], strides: [2, 2] } },
        { op: 'AveragePool', inputs: ['x'], outputs: ['avgpool'], attributes: { kernel_shape: [3, 3], pads: [1, 1, 1, 1], count_include_pad: 1 } },
        { op: 'Resize', inputs: ['x', '', 'scales'], outputs: ['nearest'], attributes: { mode: 'nearest' } },
        { op: 'Resize', inputs: ['x', '', 'scales'], outputs: ['linear'], attributes: { mode: 'linear' } },
        { op: 'Transpose', inputs: ['x'], outputs: ['nhwc'], attributes: { perm: [0, 2, 3, 1] } },
        { op: 'Slice', inputs: ['x', 'starts', 'ends', 'axes', 'steps'], outputs: ['reversed'] },
        { op: 'Expand', inputs: ['gap', 'xShape'], outputs: ['expanded'] },
        // Concat: along channels (batch 1: one row, split into ranges), along the last axis.
        { op: 'Concat', inputs: ['x', 'sig'], outputs: ['cat_chan'], attributes: { axis: 1 } },
        { op: 'Concat', inputs: ['tanh', 'x'], outputs: ['cat_last'], attributes: { axis: -1 } },
        // Reductions over trailing axes split by outputs; over the channels, one walk.
        { op: 'ReduceMean', inputs: ['x'], outputs: ['rmean'], attributes: { axes: [-1] } },
        { op: 'ReduceSum', inputs: ['x', 'sumAxes'], outputs: ['rsum'] },
        { op: 'ReduceMax', inputs: ['x'], outputs: ['rmax'], attributes: { axes: [1] } },
        // 32 products of 48 x 48 by 48 x 48, each too small to split: split by products.
        { op: 'MatMul', inputs: ['x', 'x'], outputs: ['mmb'] },
      ],
    });
  }

  async function runSim(model: Uint8Array, threads: number, x: Float32Array) {
    const engine = await buildEngine(model, { backend: 'sim' });
    using session = await InferenceSession.create(engine, { backend: 'sim', threads });
    const out = await session.run({ x: new Tensor('float32', x, X) });
    return Object.fromEntries(Object.entries(out).map(([n, t]) => [n, t.data as Float32Array | BigInt64Array]));
  }

  async function expectThreadsBitwise(model: Uint8Array, x: Float32Array) {
    const one = await runSim(model, 1, x);
    for (const threads of [2, 3]) {
      const many = await runSim(model, threads, x);
      for (const name of Object.keys(one)) {
        const a = Buffer.from(one[name]!.buffer, one[name]!.byteOffset, one[name]!.byteLength);
        const b = Buffer.from(many[name]!.buffer, many[name]!.byteOffset, many[name]!.byteLength);
        expect(Buffer.compare(b, a), `${name} on ${threads} threads`).toBe(0);
      }
    }
    return one;
  }

  it('gives bitwise the results of one thread, which match onnxruntime', async () => {
    const model = layersNet();
    const x = randomFloats(X.reduce((a, b) => a * b, 1), 21);
    const one = await expectThreadsBitwise(model, x);
    const session = await ort.InferenceSession.create(model, { intraOpNumThreads: 1, interOpNumThreads: 1, logSeverityLevel: 3 });
    try {
      const expected = await session.run({ x: new ort.Tensor('float32', x, X) });
      for (const [name, t] of Object.entries(expected)) {
        if (t.type === 'int64') expect([...(one[name] as BigInt64Array)], name).toEqual([...(t.data as BigInt64Array)]);
        else expectClose(one[name] as Float32Array, t.data as Float32Array);
      }
    } finally {
      await session.release();
    }
  });

  it('gives bitwise the results of one thread in float16 (each split range rounds its own outputs)', async () => {
    const x = randomFloats(X.reduce((a, b) => a * b, 1), 22);
    await expectThreadsBitwise(await convertToFloat16(layersNet()), x);
  });
});


describe('sim intra-op threads on a batch', () => {
  const X = [6, 8, 20, 24];

  /**
   * Convolutions that split over the batch's images: a 3x3 (the direct kernel where AVX-512
   * has it) with a LeakyRelu folded into it, a stride-2 3x3 and a 1x1 (both GEMMs per image),
   * and a 1x1 too small to split within an image ('q'). On 4 threads the batch is too small
   * to split the larger ones over the images: their images' own work splits.
   */
  function batchNet(): Uint8Array {
    const w = (name: string, dims: number[], seed: number) => makeTensor(name, 'float32', dims, randomFloats(dims.reduce((a, b) => a * b, 1), seed));
    return makeModel({
      inputs: [{ name: 'x', dtype: 'float32', shape: X }],
      outputs: [
        { name: 'a', dtype: 'float32', shape: [6, 16, 20, 24] },
        { name: 'p', dtype: 'float32', shape: [6, 32, 10, 12] },
        { name: 'q', dtype: 'float32', shape: [6, 4, 20, 24] },
      ],
      initializers: [w('w1', [16, 8, 3, 3], 41), w('b1', [16], 42), w('w2', [16, 16, 3, 3], 43), w('w3', [32, 16, 1, 1], 44), w('w4', [4, 8, 1, 1], 46)],
      nodes: [
        { op: 'Conv', inputs: ['x', 'w1', 'b1'], outputs: ['c'], attributes: { kernel_shape: [3, 3], pads: [1, 1, 1, 1] } },
        { op: 'LeakyRelu', inputs: ['c'], outputs: ['a'], attributes: { alpha: 0.1 } },
        { op: 'Conv', inputs: ['a', 'w2'], outputs: ['s'], attributes: { kernel_shape: [3, 3], pads: [1, 1, 1, 1], strides: [2, 2] } },
        { op: 'Conv', inputs: ['s', 'w3'], outputs: ['p'] },
        { op: 'Conv', inputs: ['x', 'w4'], outputs: ['q'] },
      ],
    });
  }

  it('gives bitwise the results of one thread on 2, 3 and 4 threads, which match onnxruntime', async () => {
    const model = batchNet();
    const x = randomFloats(X.reduce((a, b) => a * b, 1), 40);
    const engine = await buildEngine(model, { backend: 'sim' });
    const run = async (threads: number) => {
      using session = await InferenceSession.create(engine, { backend: 'sim', threads });
      const out = await session.run({ x: new Tensor('float32', x, X) });
      return Object.fromEntries(Object.entries(out).map(([n, t]) => [n, t.data as Float32Array]));
    };
    const one = await run(1);
    for (const threads of [2, 3, 4]) {
      const many = await run(threads);
      for (const name of ['a', 'p', 'q']) expect(Buffer.compare(Buffer.from(many[name]!.buffer), Buffer.from(one[name]!.buffer)), `${name} on ${threads} threads`).toBe(0);
    }
    const session = await ort.InferenceSession.create(model, { intraOpNumThreads: 1, interOpNumThreads: 1, logSeverityLevel: 3 });
    try {
      const expected = await session.run({ x: new ort.Tensor('float32', x, X) });
      // 'p' sums 144 then 16 products of values of order 1 to 10 (random weights, no
      // normalisation): float32 sums in another order differ by ~eps * sum |terms|, about 1e-4
      // absolute where terms cancel to a small result.
      expectClose(one.a!, expected.a!.data as Float32Array);
      expectClose(one.q!, expected.q!.data as Float32Array);
      expectClose(one.p!, expected.p!.data as Float32Array, 1e-4, 2e-4);
    } finally {
      await session.release();
    }
  });

  it('lets its threads sleep between calls (an idle session burns no CPU)', async () => {
    const engine = await buildEngine(batchNet(), { backend: 'sim' });
    using session = await InferenceSession.create(engine, { backend: 'sim', threads: 2 });
    const feed = { x: new Tensor('float32', randomFloats(X.reduce((a, b) => a * b, 1), 45), X) };
    for (let i = 0; i < 5; i++) await session.run(feed);
    // The threads poll during a call and for about 50 us after it; then they wait on a
    // condition variable. A thread still polling would cost about a full second of CPU here.
    await new Promise((r) => setTimeout(r, 50));
    const before = process.cpuUsage();
    await new Promise((r) => setTimeout(r, 1000));
    const used = process.cpuUsage(before);
    expect((used.user + used.system) / 1e6).toBeLessThan(0.25);
  });
});

describe('sim activation fusion', () => {
  /** Conv, then an activation chain the executor folds into the Conv's tiles. */
  function chainModel(): Uint8Array {
    const w = (name: string, dims: number[], seed: number) => makeTensor(name, 'float32', dims, randomFloats(dims.reduce((a, b) => a * b, 1), seed));
    const c = (name: string, v: number) => makeTensor(name, 'float32', [], [v]);
    return makeModel({
      inputs: [{ name: 'x', dtype: 'float32', shape: [1, 16, 40, 40] }],
      outputs: [
        { name: 'y', dtype: 'float32', shape: [1, 32, 40, 40] },
        { name: 'z', dtype: 'float32', shape: [1, 32, 40, 40] },
        { name: 'd', dtype: 'float32', shape: [1, 32, 40, 40] },
        { name: 'h', dtype: 'float32', shape: [1, 32, 40, 40] },
      ],
      initializers: [w('w', [32, 16, 3, 3], 1), w('b', [32], 2), w('wd', [32, 1, 3, 3], 3), c('k', 0.25), c('lo', -0.5), c('hi', 0.75), c('three', 3), c('six', 6)],
      nodes: [
        { op: 'Conv', inputs: ['x', 'w', 'b'], outputs: ['c'], attributes: { kernel_shape: [3, 3], pads: [1, 1, 1, 1] } },
        { op: 'LeakyRelu', inputs: ['c'], outputs: ['l'], attributes: { alpha: 0.1 } },
        { op: 'Max', inputs: ['l', 'k'], outputs: ['m'] },
        { op: 'Clip', inputs: ['m', 'lo', 'hi'], outputs: ['cl'] },
        { op: 'HardSigmoid', inputs: ['cl'], outputs: ['hs'], attributes: { alpha: 0.3, beta: 0.4 } },
        { op: 'Relu', inputs: ['hs'], outputs: ['y'] },
        { op: 'Conv', inputs: ['x', 'w'], outputs: ['c2'], attributes: { kernel_shape: [3, 3], pads: [1, 1, 1, 1] } },
        { op: 'Add', inputs: ['c2', 'three'], outputs: ['a'] },
        { op: 'Mul', inputs: ['a', 'k'], outputs: ['mu'] },
        { op: 'Div', inputs: ['mu', 'six'], outputs: ['dv'] },
        { op: 'Sub', inputs: ['dv', 'k'], outputs: ['sb'] },
        { op: 'Min', inputs: ['sb', 'hi'], outputs: ['z'] },
        // Depthwise Conv on a value another layer also reads: only the activation after it fuses.
        { op: 'Conv', inputs: ['z', 'wd'], outputs: ['dc'], attributes: { kernel_shape: [3, 3], pads: [1, 1, 1, 1], group: 32 } },
        { op: 'LeakyRelu', inputs: ['dc'], outputs: ['d'], attributes: { alpha: 0.2 } },
        // The HardSwish operator (opset 14), then a scalar Mul.
        { op: 'Conv', inputs: ['x', 'w', 'b'], outputs: ['c3'], attributes: { kernel_shape: [3, 3], pads: [1, 1, 1, 1] } },
        { op: 'HardSwish', inputs: ['c3'], outputs: ['hsw'] },
        { op: 'Mul', inputs: ['hsw', 'k'], outputs: ['h'] },
      ],
    });
  }

  it('gives bitwise the results of the separate layers, on 1 and 2 threads', async () => {
    const model = chainModel();
    const x = randomFloats(16 * 40 * 40, 4);
    const fused1 = await runWith(model, 1, x);
    const fused2 = await runWith(model, 2, x);
    process.env.TNRT_SIM_NO_FUSION = '1';
    try {
      const separate = await runWith(model, 1, x);
      for (const name of ['y', 'z', 'd', 'h']) {
        expect(Buffer.compare(Buffer.from(fused1[name]!), Buffer.from(separate[name]!)), name).toBe(0);
        expect(Buffer.compare(Buffer.from(fused2[name]!), Buffer.from(separate[name]!)), name).toBe(0);
      }
    } finally {
      delete process.env.TNRT_SIM_NO_FUSION;
    }
  });
});

describe('sim products with one column', () => {
  const C = 640;
  /**
   * Pointwise Convs on a 1x1 map (squeeze-and-excitation layers) and a MatMul by one column:
   * each also runs on a copy with two equal columns, which takes the tiled product. K = 640
   * spans three of the product's K blocks; 512 x 640 multiply-adds split over the threads.
   */
  function columnNet(): Uint8Array {
    const w = (name: string, dims: number[], seed: number) => makeTensor(name, 'float32', dims, randomFloats(dims.reduce((a, b) => a * b, 1), seed));
    const i64 = (name: string, values: number[]) => makeTensor(name, 'int64', [values.length], values.map(BigInt));
    return makeModel({
      inputs: [{ name: 'x', dtype: 'float32', shape: [1, C, 1, 2] }],
      outputs: [
        { name: 'one', dtype: 'float32', shape: [1, 512, 1, 1] },
        { name: 'wide', dtype: 'float32', shape: [1, 512, 1, 2] },
        { name: 'hs1', dtype: 'float32', shape: [1, 44, 1, 1] },
        { name: 'hs2', dtype: 'float32', shape: [1, 44, 1, 2] },
        { name: 'strided', dtype: 'float32', shape: [1, 16, 1, 1] },
        { name: 'mm1', dtype: 'float32', shape: [300, 1] },
        { name: 'mm2', dtype: 'float32', shape: [300, 2] },
      ],
      initializers: [
        w('w1', [512, C, 1, 1], 61),
        w('b1', [512], 62),
        w('w2', [44, C, 1, 1], 63),
        w('w3', [16, C, 3, 3], 64),
        w('wm', [300, C], 65),
        i64('starts', [0]),
        i64('ends', [1]),
        i64('axes', [3]),
        i64('col', [C, 1]),
        i64('cols', [C, 2]),
      ],
      nodes: [
        { op: 'Slice', inputs: ['x', 'starts', 'ends', 'axes'], outputs: ['x1'] },
        { op: 'Conv', inputs: ['x1', 'w1', 'b1'], outputs: ['one'] },
        { op: 'Conv', inputs: ['x', 'w1', 'b1'], outputs: ['wide'] },
        // Fused into the Conv: applied to the one column as to the tiles.
        { op: 'Conv', inputs: ['x1', 'w2'], outputs: ['c2'] },
        { op: 'HardSigmoid', inputs: ['c2'], outputs: ['hs1'], attributes: { alpha: 0.3, beta: 0.4 } },
        { op: 'Conv', inputs: ['x', 'w2'], outputs: ['c3'] },
        { op: 'HardSigmoid', inputs: ['c3'], outputs: ['hs2'], attributes: { alpha: 0.3, beta: 0.4 } },
        // A padded, strided 3x3 window on the 1x1 map: its column comes from the im2col packer.
        { op: 'Conv', inputs: ['x1', 'w3'], outputs: ['strided'], attributes: { kernel_shape: [3, 3], pads: [1, 1, 1, 1], strides: [2, 2] } },
        { op: 'Reshape', inputs: ['x1', 'col'], outputs: ['xc'] },
        { op: 'MatMul', inputs: ['wm', 'xc'], outputs: ['mm1'] },
        { op: 'Reshape', inputs: ['x', 'cols'], outputs: ['xcs'] },
        { op: 'MatMul', inputs: ['wm', 'xcs'], outputs: ['mm2'] },
      ],
    });
  }

  it('computes each element as the tiled product does, on 1 and 2 threads, and matches onnxruntime', async () => {
    const model = columnNet();
    const column = randomFloats(C, 66);
    const x = new Float32Array(2 * C);
    for (let c = 0; c < C; c++) x[2 * c] = x[2 * c + 1] = column[c]!;
    const engine = await buildEngine(model, { backend: 'sim' });
    const run = async (threads: number) => {
      using session = await InferenceSession.create(engine, { backend: 'sim', threads });
      const out = await session.run({ x: new Tensor('float32', x, [1, C, 1, 2]) });
      return Object.fromEntries(Object.entries(out).map(([n, t]) => [n, t.data as Float32Array]));
    };
    const one = await run(1);
    const two = await run(2);
    for (const name of Object.keys(one)) expect(Buffer.compare(Buffer.from(two[name]!.buffer), Buffer.from(one[name]!.buffer)), name).toBe(0);
    // Both columns of the wide products hold the one-column product's values, bit for bit.
    const evenOdd = (wide: Float32Array) => [wide.filter((_, i) => i % 2 === 0), wide.filter((_, i) => i % 2 === 1)];
    for (const [single, wide] of [['one', 'wide'], ['hs1', 'hs2'], ['mm1', 'mm2']] as const) {
      for (const half of evenOdd(one[wide]!)) expect(Buffer.compare(Buffer.from(half.buffer), Buffer.from(one[single]!.slice().buffer)), `${single} vs ${wide}`).toBe(0);
    }
    const session = await ort.InferenceSession.create(model, { intraOpNumThreads: 1, interOpNumThreads: 1, logSeverityLevel: 3 });
    try {
      const expected = await session.run({ x: new ort.Tensor('float32', x, [1, C, 1, 2]) });
      // Sums of 640 (5760 for the 3x3) products of values in [-1, 1): float32 sums in another
      // order differ by ~eps * sum |terms|, a few 1e-5 absolute.
      for (const [name, t] of Object.entries(expected)) expectClose(one[name]!, t.data as Float32Array, 1e-4, 1e-4);
    } finally {
      await session.release();
    }
  });
});
