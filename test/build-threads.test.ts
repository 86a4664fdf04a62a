// Builds and parses run on each Builder's own thread (native/binding/builder_queue.h), and
// nothing on the event loop or the libuv pool waits for them:
// - a network disposed or garbage-collected while a build of its builder runs is only queued
//   for teardown (the backends tear networks down under the builder's lock, which a build
//   holds for its whole length: waiting for it on the event loop froze the loop, and with a
//   JavaScript calibrator deadlocked it);
// - builds waiting for JavaScript calibrators hold no libuv pool thread, so calibrators that
//   read with fs.promises work with the pool smaller than the number of builds;
// - process.exit() and worker.terminate() end promptly while a build waits for a calibrator
//   that never answers.
// Each case runs in a child process: on code with the faults it hangs (or crashes), and a
// blocked event loop could not even time itself out. The timeout is generous, for a loaded
// machine: only a hang exceeds it. Whether the loop turned is shown by what it did (batches
// served, setImmediate turns counted at a point where the build could not have finished
// without them), never by how fast it was.
import { spawn } from 'node:child_process';
import { mkdtempSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';

import { afterAll, describe, expect, it } from 'vitest';

import { parseCalibrationCache } from '../lib/index.js';
import { makeModel, makeTensor } from '../lib/onnx/model-builder.js';
import { randomFloats } from './fixtures/models.js';

const entry = new URL('../dist/index.js', import.meta.url).href;
const nativeEntry = new URL('../dist/native.js', import.meta.url).href;
const HANG_MS = 120_000;

const dir = mkdtempSync(join(tmpdir(), 'tensorrt-node-build-threads-'));
afterAll(() => rmSync(dir, { recursive: true, force: true }));

// y = x·W, x [1, 8], W [8, 4]: the MatMul's activation input x is what int8 calibration
// measures, so a min-max calibration cache holds x's scale, max |x| / 127.
const modelPath = join(dir, 'matmul.onnx');
writeFileSync(
  modelPath,
  makeModel({
    inputs: [{ name: 'x', dtype: 'float32', shape: [1, 8] }],
    outputs: [{ name: 'y', dtype: 'float32', shape: [1, 4] }],
    initializers: [makeTensor('W', 'float32', [8, 4], randomFloats(32, 5))],
    nodes: [{ op: 'MatMul', inputs: ['x', 'W'], outputs: ['y'] }],
  }),
);

/** The scale a min-max calibration gives x for these batches, computed here. */
function minMaxScale(batches: Float32Array[]): number {
  let maxAbs = 0;
  for (const b of batches) for (const v of b) maxAbs = Math.max(maxAbs, Math.abs(v));
  return Math.fround(Math.fround(maxAbs) / 127);
}

interface ChildResult {
  code: number | null;
  signal: NodeJS.Signals | null;
  hung: boolean;
  stdout: string;
  stderr: string;
}

/** Runs an ES module body in a fresh node; kills it if it has not ended after HANG_MS. */
function child(body: string, options: { env?: Record<string, string>; args?: string[] } = {}): Promise<ChildResult> {
  const source = `const entry = ${JSON.stringify(entry)}; const nativeEntry = ${JSON.stringify(nativeEntry)};
const modelPath = ${JSON.stringify(modelPath)}; const dir = ${JSON.stringify(dir)};
const turns = (n) => new Promise((resolve) => { let k = 0; const f = () => (++k >= n ? resolve() : setImmediate(f)); setImmediate(f); });
${body}`;
  return new Promise((resolve) => {
    const proc = spawn(process.execPath, [...(options.args ?? []), '--input-type=module', '-e', source], {
      env: { ...process.env, ...options.env },
      stdio: ['ignore', 'pipe', 'pipe'],
    });
    let stdout = '';
    let stderr = '';
    let hung = false;
    proc.stdout.on('data', (d) => (stdout += d));
    proc.stderr.on('data', (d) => (stderr += d));
    const timer = setTimeout(() => {
      hung = true;
      proc.kill('SIGKILL');
    }, HANG_MS);
    proc.on('close', (code, signal) => {
      clearTimeout(timer);
      resolve({ code, signal, hung, stdout, stderr });
    });
  });
}

function lastJson(result: ChildResult): Record<string, unknown> {
  expect(result, `child output:\n${result.stdout}\n${result.stderr}`).toMatchObject({ hung: false, code: 0, signal: null });
  const lines = result.stdout.trim().split('\n');
  return JSON.parse(lines[lines.length - 1]!) as Record<string, unknown>;
}

// The batches the calibrators below are given: x [1, 8] each.
const batchValues = [0, 1, 2].map((i) => randomFloats(8, 40 + i));
const batchesSource = `const batchValues = ${JSON.stringify(batchValues.map((b) => Array.from(b)))};`;

describe('networks dropped while a build of their builder runs', () => {
  it('dispose() returns at once, the loop keeps turning, and both builds finish', async () => {
    const result = await child(`${batchesSource}
const { Builder, MinMaxCalibrator, Tensor } = await import(entry);
const { readFileSync } = await import('node:fs');
const model = readFileSync(modelPath);
const builder = new Builder({ backend: 'sim' });
const parsed = async () => { const n = builder.createNetworkV2(); await builder.createOnnxParser(n).parse(model); return n; };
const built = await parsed(), queued = await parsed(), other = await parsed();
let served = 0, turnsWhileHeld = 0, cache;
let queuedBuild;
async function* batches() {
  for (let i = 0; i < batchValues.length; i++) {
    if (i === 1) {
      // The int8 build runs, and waits for this batch: it cannot end until the loop serves it.
      // A plain build of the same builder queues behind it; then three networks go: one never
      // built, the queued build's, and the running build's own.
      queuedBuild = builder.buildSerializedNetwork(queued, builder.createBuilderConfig());
      other.dispose();
      queued.dispose();
      built.dispose();
      await turns(3);
      turnsWhileHeld = 3;
    }
    served++;
    yield { x: new Tensor('float32', Float32Array.from(batchValues[i]), [1, 8]) };
  }
}
const config = builder.createBuilderConfig().setFlag('int8');
config.int8Calibrator = new MinMaxCalibrator({ batchSize: 1, batches: batches(), writeCache: (c) => { cache = c; } });
const plan = await builder.buildSerializedNetwork(built, config);
const queuedPlan = await queuedBuild;
console.log(JSON.stringify({ served, turnsWhileHeld, plan: plan.byteLength > 0, queuedPlan: queuedPlan.byteLength > 0, cache: Array.from(cache) }));
`);
    const out = lastJson(result);
    expect(out).toMatchObject({ served: 3, turnsWhileHeld: 3, plan: true, queuedPlan: true });
    const parsed = parseCalibrationCache(Uint8Array.from(out.cache as number[]));
    expect(parsed.scales.get('x')).toBe(minMaxScale(batchValues));
  });

  it('a network collected by the GC is torn down without waiting for the build', async () => {
    // The native surface, where the GC can reach a network: lib/ keeps its networks reachable
    // from their Builder until disposed.
    const result = await child(
      `${batchesSource}
const { native } = await import(nativeEntry);
const { readFileSync } = await import('node:fs');
const model = readFileSync(modelPath);
const builder = new native.Builder(new native.Logger(1), 'sim', '');
const built = await builder.parseOnnx(model, '');
let doomed = await builder.parseOnnx(model, '');
let collected;
const registry = new FinalizationRegistry(() => collected());
const gone = new Promise((resolve) => (collected = resolve));
registry.register(doomed, 'doomed');
let served = 0, cache;
const request = async (r) => {
  if (r.kind === 'readCache') return null;
  if (r.kind === 'writeCache') { cache = r.cache; return undefined; }
  if (served === 1) {
    // The build waits for this batch. Collect the other network now; N-API runs its
    // finalizer on the event loop, within the turns below.
    doomed = undefined;
    globalThis.gc();
    await gone;
    await turns(5);
  }
  if (served === batchValues.length) return null;
  return [new Uint8Array(Float32Array.from(batchValues[served++]).buffer)];
};
const result = await builder.buildSerializedNetwork(built, { profiles: [], memoryPoolLimits: {}, int8: true,
  calibrator: { algorithm: 'minmax', batchSize: 1, request } });
console.log(JSON.stringify({ served, plan: result.plan.byteLength > 0, cache: Array.from(cache) }));
`,
      { args: ['--expose-gc'] },
    );
    const out = lastJson(result);
    expect(out).toMatchObject({ served: 3, plan: true });
    expect(parseCalibrationCache(Uint8Array.from(out.cache as number[])).scales.get('x')).toBe(minMaxScale(batchValues));
  });
});

describe('builds hold no libuv pool thread', () => {
  it('four int8 builds whose calibrators read with fs.promises, and parses, finish with a pool of two', async () => {
    const files = batchValues.map((values, i) => {
      const path = join(dir, `batch-${i}.bin`);
      writeFileSync(path, values);
      return path;
    });
    const result = await child(
      `const files = ${JSON.stringify(files)};
const { Builder, MinMaxCalibrator, Tensor } = await import(entry);
const { readFile } = await import('node:fs/promises');
const model = await readFile(modelPath);
const asked = [];
const builds = [], parses = [];
for (let b = 0; b < 4; b++) {
  const builder = new Builder({ backend: 'sim' });
  const network = builder.createNetworkV2();
  await builder.createOnnxParser(network).parse(model);
  let cache, read = 0, first;
  asked.push(new Promise((resolve) => (first = resolve)));
  async function* batches() {
    for (const file of files) {
      first();
      const bytes = await readFile(file);
      read++;
      yield { x: new Tensor('float32', new Float32Array(bytes.buffer, bytes.byteOffset, 8), [1, 8]) };
    }
  }
  const config = builder.createBuilderConfig().setFlag('int8');
  config.int8Calibrator = new MinMaxCalibrator({ batchSize: 1, batches: batches(), writeCache: (c) => { cache = c; } });
  builds.push(builder.buildSerializedNetwork(network, config).then((plan) => ({ plan: plan.byteLength > 0, read, cache: Array.from(cache) })));
  parses.push({ builder });
}
// Every build now waits for a batch that a pool thread must read.
await Promise.all(asked);
for (const p of parses) {
  const network = p.builder.createNetworkV2();
  p.done = p.builder.createOnnxParser(network).parse(model).then(() => network.inputs.map((i) => i.name));
}
const results = await Promise.all(builds);
const inputs = await Promise.all(parses.map((p) => p.done));
console.log(JSON.stringify({ results, inputs }));
`,
      { env: { UV_THREADPOOL_SIZE: '2' } },
    );
    const out = lastJson(result) as { results: { plan: boolean; read: number; cache: number[] }[]; inputs: string[][] };
    expect(out.inputs).toEqual([['x'], ['x'], ['x'], ['x']]);
    expect(out.results.map((r) => [r.plan, r.read])).toEqual(Array(4).fill([true, 3]));
    for (const r of out.results) expect(parseCalibrationCache(Uint8Array.from(r.cache)).scales.get('x')).toBe(minMaxScale(batchValues));
  });
});

// A build whose calibrator asks once and never answers; `onAsked` runs when it asks.
const stuckBuild = (onAsked: string) => `
const { Builder, EntropyCalibrator2 } = await import(entry);
const { readFileSync } = await import('node:fs');
const builder = new Builder({ backend: 'sim' });
const network = builder.createNetworkV2();
await builder.createOnnxParser(network).parse(readFileSync(modelPath));
const config = builder.createBuilderConfig().setFlag('int8');
config.int8Calibrator = new EntropyCalibrator2({ batchSize: 1,
  batches: { [Symbol.asyncIterator]: () => ({ next: () => { ${onAsked}; return new Promise(() => {}); } }) } });
builder.buildSerializedNetwork(network, config).then(() => console.log('built'), (e) => console.log('rejected', e.name));
`;

describe('ending while a build waits for a calibrator that never answers', () => {
  it('process.exit() ends the process', async () => {
    const result = await child(stuckBuild(`console.log('asked'); setImmediate(() => process.exit(7))`));
    expect(result).toMatchObject({ hung: false, code: 7, signal: null, stdout: 'asked\n' });
  });

  it('worker.terminate() ends the worker, and the main thread builds on', async () => {
    const workerPath = join(dir, 'stuck-worker.mjs');
    writeFileSync(
      workerPath,
      `import { parentPort } from 'node:worker_threads';
const entry = ${JSON.stringify(entry)}, modelPath = ${JSON.stringify(modelPath)};
${stuckBuild(`parentPort.postMessage('asked')`)}`,
    );
    const result = await child(`
const { Worker } = await import('node:worker_threads');
const worker = new Worker(${JSON.stringify(workerPath)}, { execArgv: [] });
await new Promise((resolve) => worker.once('message', resolve));
await worker.terminate();
const { buildEngine } = await import(entry);
const { readFileSync } = await import('node:fs');
const plan = await buildEngine(readFileSync(modelPath), { backend: 'sim' });
console.log(JSON.stringify({ terminated: true, plan: plan.byteLength > 0 }));
`);
    expect(lastJson(result)).toEqual({ terminated: true, plan: true });
  });
});

describe('progress events still queued when a build finishes', () => {
  it('are all delivered before the build resolves, in a process with nothing else keeping it alive', async () => {
    // 3000 layers: thousands of progress events, many still queued for the event loop when
    // the build thread returns. Before the fix, the build's promise waited for them with nothing
    // holding the loop, and node exited with the top-level await pending (exit code 13).
    const result = await child(`
const { Builder } = await import(entry);
const { makeModel, makeTensor } = await import(new URL('./onnx/model-builder.js', entry).href);
const layers = 3000;
const model = makeModel({
  opset: 13,
  inputs: [{ name: 'x', dtype: 'float32', shape: [1, 8] }],
  outputs: [{ name: 't' + layers, dtype: 'float32', shape: [1, 8] }],
  initializers: [makeTensor('c', 'float32', [8], new Float32Array(8).fill(0.5))],
  nodes: Array.from({ length: layers }, (_, i) => ({ op: i % 2 ? 'Relu' : 'Add', inputs: i % 2 ? ['t' + i] : [i ? 't' + i : 'x', 'c'], outputs: ['t' + (i + 1)] })),
});
let events = 0;
for (let round = 0; round < 3; round++) {
  const builder = new Builder({ backend: 'sim' });
  const network = builder.createNetworkV2();
  await builder.createOnnxParser(network).parse(model);
  const config = builder.createBuilderConfig();
  config.onProgress = () => events++;
  await builder.buildSerializedNetwork(network, config);
  builder.dispose();
}
console.log(JSON.stringify({ events }));`);
    expect(lastJson(result).events).toBeGreaterThan(3 * 3000);
  });
});
