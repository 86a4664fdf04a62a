// The engine cache (lib/cache/): a build with the same key is answered from the directory
// (shown by the build's progress events and log, which a hit never produces), any change of
// the key misses, damaged entries are rebuilt with a warning, processes racing on one key both
// get a working engine, the size bound evicts the least recently used entries, and an
// unusable directory degrades to a plain build. Expected outputs are arithmetic: y = x·W with
// W all `w`, so every output is w times the sum of the inputs.
import { spawn } from 'node:child_process';
import { createHash } from 'node:crypto';
import { existsSync, mkdirSync, mkdtempSync, readdirSync, readFileSync, rmSync, statSync, utimesSync, writeFileSync } from 'node:fs';
import { hostname, tmpdir } from 'node:os';
import { join } from 'node:path';

import { afterAll, afterEach, describe, expect, it } from 'vitest';

import { buildEngineWithCache, type BuildEngineOptions, CancelledError, InferenceSession, InvalidArgumentError, Logger, Tensor } from '../lib/index.js';
import { gpuIdentity, overrideBuildEnvironment, parseGpuList } from '../lib/cache/build-environment.js';
import { tryLock } from '../lib/cache/build-lock.js';
import { makeModel, makeTensor } from '../lib/onnx/model-builder.js';
import { parseModel, writeModel } from '../lib/onnx/model-io.js';

const root = mkdtempSync(join(tmpdir(), 'tensorrt-node-engine-cache-'));
afterAll(() => rmSync(root, { recursive: true, force: true }));
afterEach(() => overrideBuildEnvironment(undefined));

let dirs = 0;
/** A fresh directory under the test's root. */
function freshDir(name = 'cache'): string {
  const dir = join(root, `${name}-${++dirs}`);
  mkdirSync(dir, { recursive: true });
  return dir;
}

/** y = x·W, x [batch, k] with a dynamic batch, W [k, 3] all `w`. */
function matmulModel(w: number, k = 4): Uint8Array {
  return makeModel({
    inputs: [{ name: 'x', dtype: 'float32', shape: ['batch', k] }],
    outputs: [{ name: 'y', dtype: 'float32', shape: ['batch', 3] }],
    initializers: [makeTensor('W', 'float32', [k, 3], new Float32Array(k * 3).fill(w))],
    nodes: [{ op: 'MatMul', inputs: ['x', 'W'], outputs: ['y'] }],
  });
}

/** Records what a build did: its progress events (a real build makes some, a hit none) and its log. */
function recorder() {
  const log: { severity: string; message: string }[] = [];
  let events = 0;
  const logger = new Logger({ minSeverity: 'info', onMessage: (severity, message) => log.push({ severity, message }) });
  return {
    logger,
    onProgress: () => void events++,
    get events() {
      return events;
    },
    /** Log messages arrive on the event loop after the call that made them; let them land. */
    async messages(severity: string): Promise<string[]> {
      await new Promise((resolve) => setTimeout(resolve, 20));
      return log.filter((m) => m.severity === severity).map((m) => m.message);
    },
  };
}

async function cachedBuild(model: string | Uint8Array, dir: string, options: BuildEngineOptions = {}) {
  const rec = recorder();
  const result = await buildEngineWithCache(model, { backend: 'sim', shapes: 'x:1x4', logger: rec.logger, onProgress: rec.onProgress, ...options, cache: { dir, ...options.cache } });
  return { result, rec };
}

/** Runs an engine on x = [1, 2, 3, 4]: every output is 10·w. */
async function outputsOf(engine: Uint8Array | InferenceSession): Promise<number[]> {
  const session = engine instanceof InferenceSession ? engine : await InferenceSession.create(engine, { backend: 'sim' });
  try {
    const out = await session.run({ x: new Tensor('float32', new Float32Array([1, 2, 3, 4]), [1, 4]) });
    return [...(out.y!.data as Float32Array)];
  } finally {
    session.dispose();
  }
}

function entryFiles(dir: string): string[] {
  return readdirSync(dir).filter((n) => n.endsWith('.engine-cache')).map((n) => join(dir, n));
}

/** An entry's header line, parsed, and its plan bytes. */
function readEntry(path: string): { header: Record<string, unknown>; headerLines: string; plan: Buffer } {
  const bytes = readFileSync(path);
  const first = bytes.indexOf(0x0a);
  const second = bytes.indexOf(0x0a, first + 1);
  return { header: JSON.parse(bytes.subarray(first + 1, second).toString('utf8')) as Record<string, unknown>, headerLines: bytes.subarray(0, second + 1).toString('utf8'), plan: bytes.subarray(second + 1) };
}

const sha256 = (data: Uint8Array) => createHash('sha256').update(data).digest('hex');

/** Runs node with `args` (an ES module body after '--input-type=module -e', or a script) and collects its output. */
function runNode(args: string[], env: NodeJS.ProcessEnv = process.env): Promise<{ code: number | null; stdout: string; stderr: string }> {
  return new Promise((resolve) => {
    const proc = spawn(process.execPath, args, { env, stdio: ['ignore', 'pipe', 'pipe'] });
    let stdout = '';
    let stderr = '';
    proc.stdout.on('data', (d) => (stdout += d));
    proc.stderr.on('data', (d) => (stderr += d));
    proc.on('close', (code) => resolve({ code, stdout, stderr }));
  });
}

describe('engine cache: hits', () => {
  it('builds once, then answers from the cache with no build (no progress events, a logged hit) and the same plan', async () => {
    const dir = freshDir();
    const model = matmulModel(2);
    const first = await cachedBuild(model, dir);
    expect(first.result.cache).toMatchObject({ hit: false, stored: true });
    expect(first.rec.events).toBeGreaterThan(0);
    expect(await first.rec.messages('info')).toContainEqual(expect.stringContaining('[sim] building engine'));

    const second = await cachedBuild(model, dir);
    expect(second.result.cache).toMatchObject({ hit: true, stored: true, key: first.result.cache!.key });
    expect(second.rec.events).toBe(0);
    const info = await second.rec.messages('info');
    expect(info.some((m) => m.includes('[sim] building engine'))).toBe(false);
    expect(info).toContainEqual(expect.stringContaining('engine cache hit'));
    expect(Buffer.compare(Buffer.from(second.result.engine), Buffer.from(first.result.engine))).toBe(0);
    expect(await outputsOf(second.result.engine)).toEqual([20, 20, 20]);

    // One entry, whose header says what it is: the model's SHA-256 (computed here), the
    // options, the backend, the GPU ('cpu' for the sim) and the package version.
    const [entry] = entryFiles(dir);
    expect(entryFiles(dir)).toHaveLength(1);
    const { header, headerLines, plan } = readEntry(entry!);
    expect(headerLines.startsWith('tensorrt-node engine cache entry v1\n')).toBe(true);
    const pkg = JSON.parse(readFileSync(new URL('../package.json', import.meta.url), 'utf8')) as { version: string };
    expect(header).toMatchObject({
      key: first.result.cache!.key,
      model: { sha256: sha256(model), bytes: model.byteLength, externalData: [] },
      options: { shapes: { x: [1, 4] } },
      backend: { name: 'sim' },
      gpu: { name: 'cpu' },
      package: { name: 'tensorrt-node', version: pkg.version },
      planBytes: plan.byteLength,
      planSha256: sha256(plan),
    });
  });

  it('InferenceSession.create builds an ONNX file once and later sessions load the cached plan', async () => {
    const dir = freshDir();
    const path = join(freshDir('model'), 'model.onnx');
    writeFileSync(path, matmulModel(3));
    const first = recorder();
    const a = await InferenceSession.create(path, { backend: 'sim', shapes: 'x:1x4', cache: { dir }, logger: first.logger, onProgress: first.onProgress });
    expect(first.events).toBeGreaterThan(0);
    expect(await outputsOf(a)).toEqual([30, 30, 30]);
    const second = recorder();
    const b = await InferenceSession.create(path, { backend: 'sim', shapes: 'x:1x4', cache: { dir }, logger: second.logger, onProgress: second.onProgress });
    expect(second.events).toBe(0);
    expect(await second.messages('info')).toContainEqual(expect.stringContaining('engine cache hit'));
    expect(await outputsOf(b)).toEqual([30, 30, 30]);
    // Without a cache, a .onnx path is built for the session every time.
    const c = await InferenceSession.create(path, { backend: 'sim', shapes: 'x:1x4' });
    expect(await outputsOf(c)).toEqual([30, 30, 30]);
  });

  it('keys equivalent spellings alike: shapes as text or map, defaults spelled out, logger and callbacks', async () => {
    const dir = freshDir();
    const model = matmulModel(2);
    await cachedBuild(model, dir);
    const same = await cachedBuild(model, dir, { shapes: { x: [1, 4] }, precision: 'fp32', tf32: true, optimizationLevel: 3, versionCompatible: false, excludeLeanRuntime: false, hardwareCompatibility: 'none', profilingVerbosity: 'detailed', signal: new AbortController().signal });
    expect(same.result.cache!.hit).toBe(true);
    expect(entryFiles(dir)).toHaveLength(1);
  });
});

describe('engine cache: every part of the key', () => {
  // Each change must miss (a build, a new entry) and then hit on its own key.
  const changes: [string, BuildEngineOptions][] = [
    ['shapes', { shapes: 'x:2x4' }],
    ['profiles', { shapes: undefined, profiles: [{ x: { min: [1, 4], opt: [2, 4], max: [4, 4] } }] }],
    ['precision', { precision: 'fp16' }],
    ['memoryPoolLimits', { memoryPoolLimits: { workspace: 1 << 20 } }],
    ['maxTensorBytes', { maxTensorBytes: 1 << 20 }],
    ['optimizationLevel', { optimizationLevel: 2 }],
    ['tf32', { tf32: false }],
    ['versionCompatible', { versionCompatible: true }],
    ['hardwareCompatibility', { hardwareCompatibility: 'ampereplus' }],
  ];

  it.each(changes)('misses when %s changes', async (_name, change) => {
    const dir = freshDir();
    const model = matmulModel(2);
    const base = await cachedBuild(model, dir);
    const changed = await cachedBuild(model, dir, change);
    expect(changed.result.cache!.hit).toBe(false);
    expect(changed.rec.events).toBeGreaterThan(0);
    expect(changed.result.cache!.key).not.toBe(base.result.cache!.key);
    expect((await cachedBuild(model, dir, change)).result.cache!.hit).toBe(true);
    expect(entryFiles(dir)).toHaveLength(2);
  });

  it('misses when a plugin library changes, keyed by its contents', async () => {
    const dir = freshDir();
    const plugin = join(freshDir('plugins'), 'libmy_plugin.so');
    writeFileSync(plugin, 'version 1');
    const model = matmulModel(2);
    const none = await cachedBuild(model, dir, { plugins: [] });
    expect((await cachedBuild(model, dir)).result.cache!.key).toBe(none.result.cache!.key);
    const first = await cachedBuild(model, dir, { plugins: [plugin] });
    expect(first.result.cache!.hit).toBe(false);
    expect((await cachedBuild(model, dir, { plugins: [plugin] })).result.cache!.hit).toBe(true);
    writeFileSync(plugin, 'version 2');
    expect((await cachedBuild(model, dir, { plugins: [plugin] })).result.cache!.hit).toBe(false);
    expect(readEntry(first.result.cache!.path).header.options).toMatchObject({ plugins: [{ file: 'libmy_plugin.so', sha256: sha256(Buffer.from('version 1')) }] });
  });

  it('misses when the model bytes change', async () => {
    const dir = freshDir();
    await cachedBuild(matmulModel(2), dir);
    const other = await cachedBuild(matmulModel(5), dir);
    expect(other.result.cache!.hit).toBe(false);
    expect(await outputsOf(other.result.engine)).toEqual([50, 50, 50]);
  });

  it('misses when only the external data file changes (the ONNX bytes stay the same)', async () => {
    const dir = freshDir();
    const modelDir = freshDir('external');
    const path = join(modelDir, 'model.onnx');
    const write = async (w: number) => {
      const bytes = await writeModel(parseModel(matmulModel(w, 64)), { path, externalDataPath: 'model.onnx.data', sizeThreshold: 16 });
      return readFileSync(path).equals(Buffer.from(bytes)) ? bytes : undefined;
    };
    const onnx1 = await write(1);
    const x64 = new Tensor('float32', new Float32Array(64).fill(1), [1, 64]);
    const first = await cachedBuild(path, dir, { shapes: 'x:1x64' });
    expect(first.result.cache!.hit).toBe(false);
    expect((await cachedBuild(path, dir, { shapes: 'x:1x64' })).result.cache!.hit).toBe(true);
    const onnx2 = await write(2);
    expect(Buffer.compare(Buffer.from(onnx1!), Buffer.from(onnx2!))).toBe(0);
    const second = await cachedBuild(path, dir, { shapes: 'x:1x64' });
    expect(second.result.cache!.hit).toBe(false);
    using session = await InferenceSession.create(second.result.engine, { backend: 'sim' });
    expect([...((await session.run({ x: x64 })).y!.data as Float32Array)]).toEqual([128, 128, 128]);
    const { header } = readEntry(second.result.cache!.path);
    expect(header.model).toMatchObject({ externalData: [{ location: 'model.onnx.data', sha256: sha256(readFileSync(join(modelDir, 'model.onnx.data'))) }] });
  });

  it('misses when the backend version, the GPU or the package version differs', async () => {
    const dir = freshDir();
    const model = matmulModel(2);
    const keys = new Set([(await cachedBuild(model, dir)).result.cache!.key]);
    const environments = [
      { backend: { name: 'sim' as const, version: '999.0.0' } },
      { gpu: { name: 'NVIDIA H200', computeCapability: '9.0' } },
      { gpu: { name: 'NVIDIA GeForce RTX 4090', computeCapability: '8.9' } },
      { package: { name: 'tensorrt-node', version: '99.0.0' } },
    ];
    for (const environment of environments) {
      overrideBuildEnvironment(environment);
      const built = await cachedBuild(model, dir);
      expect(built.result.cache!.hit, JSON.stringify(environment)).toBe(false);
      expect(built.rec.events).toBeGreaterThan(0);
      keys.add(built.result.cache!.key);
      expect((await cachedBuild(model, dir)).result.cache!.hit).toBe(true);
    }
    expect(keys.size).toBe(environments.length + 1);
    overrideBuildEnvironment(undefined);
    expect((await cachedBuild(model, dir)).result.cache!.hit).toBe(true);
  });

  it('hashes INT8 calibration batches given as an array, and refuses a one-pass iterable unless calibrationDataKey names it', async () => {
    const dir = freshDir();
    const model = matmulModel(2);
    const batches = (v: number) => [{ x: new Tensor('float32', new Float32Array([1, 2, 3, v]), [1, 4]) }];
    const int8 = (v: number): BuildEngineOptions => ({ precision: 'int8', calibration: { method: 'minmax', calibrationData: batches(v) } });
    const first = await cachedBuild(model, dir, int8(4));
    expect(first.result.cache!.hit).toBe(false);
    expect((await cachedBuild(model, dir, int8(4))).result.cache!.hit).toBe(true);
    expect((await cachedBuild(model, dir, int8(8))).result.cache!.hit).toBe(false);

    const once = (v: number) => ({ *[Symbol.iterator]() { yield* batches(v); } });
    const refused = cachedBuild(model, dir, { precision: 'int8', calibration: { method: 'minmax', calibrationData: once(4) } });
    await expect(refused).rejects.toThrow(InvalidArgumentError);
    await expect(refused).rejects.toThrow(/calibrationData given as an iterable.*cache\.calibrationDataKey/);
    const named = { precision: 'int8' as const, calibration: { method: 'minmax' as const, calibrationData: once(4) }, cache: { dir, calibrationDataKey: 'batches-v1' } };
    expect((await cachedBuild(model, dir, named)).result.cache!.hit).toBe(false);
    expect((await cachedBuild(model, dir, { ...named, calibration: { method: 'minmax', calibrationData: once(4) } })).result.cache!.hit).toBe(true);
  });

  it("keys float16's range-check data as calibration data, and leaves report callbacks out", async () => {
    const dir = freshDir();
    const model = matmulModel(2);
    const batches = (v: number) => [{ x: new Tensor('float32', new Float32Array([1, 2, 3, v]), [1, 4]) }];
    const fp16 = (v: number, onReport = () => {}): BuildEngineOptions => ({ precision: 'fp16', float16: { validationData: batches(v), onReport } });
    expect((await cachedBuild(model, dir, fp16(4))).result.cache!.hit).toBe(false);
    expect((await cachedBuild(model, dir, fp16(4, () => undefined))).result.cache!.hit).toBe(true);
    expect((await cachedBuild(model, dir, fp16(8))).result.cache!.hit).toBe(false);
    const int8 = { precision: 'int8' as const, calibration: { method: 'auto' as const, calibrationData: batches(4), onThresholds: () => {} } };
    expect((await cachedBuild(model, dir, int8)).result.cache!.hit).toBe(false);
    expect((await cachedBuild(model, dir, { ...int8, calibration: { ...int8.calibration, onThresholds: () => undefined } })).result.cache!.hit).toBe(true);
  });

  it("keys float16's calibrationData and validationData each on its own", async () => {
    const dir = freshDir();
    const model = matmulModel(2);
    const batches = (v: number) => [{ x: new Tensor('float32', new Float32Array([1, 2, 3, v]), [1, 4]) }];
    const fp16 = (validation: number, calibration?: number): BuildEngineOptions => ({
      precision: 'fp16',
      float16: { minCosine: 0.5, validationData: batches(validation), ...(calibration !== undefined && { calibrationData: batches(calibration) }) },
    });
    expect((await cachedBuild(model, dir, fp16(4, 4))).result.cache!.hit).toBe(false);
    expect((await cachedBuild(model, dir, fp16(4, 4))).result.cache!.hit).toBe(true);
    // Only the activation check's data differs: a different plan may follow, so a different entry.
    expect((await cachedBuild(model, dir, fp16(4, 8))).result.cache!.hit).toBe(false);
    expect((await cachedBuild(model, dir, fp16(8, 4))).result.cache!.hit).toBe(false);
    expect((await cachedBuild(model, dir, fp16(4))).result.cache!.hit).toBe(false);
  });
});

describe('engine cache: damaged entries', () => {
  async function damaged(damage: (path: string) => void) {
    const dir = freshDir();
    const model = matmulModel(2);
    const { result } = await cachedBuild(model, dir);
    damage(result.cache!.path);
    const again = await cachedBuild(model, dir);
    return { again, path: result.cache!.path };
  }

  it.each([
    ['truncated', (path: string) => writeFileSync(path, readFileSync(path).subarray(0, statSync(path).size - 10))],
    ['without its header', (path: string) => writeFileSync(path, Buffer.concat([Buffer.from('garbage\n'), readFileSync(path)]))],
    ['with a flipped plan byte', (path: string) => {
      const bytes = readFileSync(path);
      bytes[bytes.length - 5]! ^= 0xff;
      writeFileSync(path, bytes);
    }],
    ['empty', (path: string) => writeFileSync(path, '')],
  ])('rebuilds an entry that is %s, with a warning', async (_what, damage) => {
    const { again, path } = await damaged(damage);
    expect(again.result.cache).toMatchObject({ hit: false, stored: true });
    expect(again.rec.events).toBeGreaterThan(0);
    expect(await again.rec.messages('warning')).toContainEqual(expect.stringMatching(/engine cache entry .* is unusable: .*; rebuilding it/));
    expect(await outputsOf(again.result.engine)).toEqual([20, 20, 20]);
    expect(readEntry(path).plan.byteLength).toBe(again.result.engine.byteLength);
  });

  it('rebuilds an intact entry whose plan the runtime refuses, when a session loads it', async () => {
    const dir = freshDir();
    const model = matmulModel(2);
    const { result } = await cachedBuild(model, dir);
    // A well-formed entry (size and digest match) around bytes that are no engine.
    const { header } = readEntry(result.cache!.path);
    const junk = Buffer.from('not an engine at all');
    writeFileSync(result.cache!.path, Buffer.concat([Buffer.from(`tensorrt-node engine cache entry v1\n${JSON.stringify({ ...header, planBytes: junk.byteLength, planSha256: sha256(junk) })}\n`), junk]));
    const rec = recorder();
    const session = await InferenceSession.create(model, { backend: 'sim', shapes: 'x:1x4', cache: { dir }, logger: rec.logger, onProgress: rec.onProgress });
    expect(await rec.messages('warning')).toContainEqual(expect.stringMatching(/does not load .*; rebuilding it/));
    expect(rec.events).toBeGreaterThan(0);
    expect(await outputsOf(session)).toEqual([20, 20, 20]);
    expect((await cachedBuild(model, dir)).result.cache!.hit).toBe(true);
    expect(Buffer.compare(readEntry(result.cache!.path).plan, Buffer.from(result.engine))).toBe(0);
  });
});

describe('engine cache: processes starting together', () => {
  const entry = new URL('../dist/index.js', import.meta.url).href;

  /** A node process that opens a session on `modelPath` through the cache and prints what happened. */
  function startProcess(modelPath: string, dir: string) {
    return runNode(['--input-type=module', '-e', `
      import { InferenceSession, Tensor } from ${JSON.stringify(entry)};
      let events = 0;
      const session = await InferenceSession.create(${JSON.stringify(modelPath)}, { backend: 'sim', shapes: 'x:1x4', cache: { dir: ${JSON.stringify(dir)} }, onProgress: () => events++ });
      const out = await session.run({ x: new Tensor('float32', new Float32Array([1, 2, 3, 4]), [1, 4]) });
      console.log(JSON.stringify({ built: events > 0, y: [...out.y.data] }));`]);
  }

  it('two processes on one key both get a working engine and leave one valid entry', async () => {
    const dir = freshDir();
    const modelPath = join(freshDir('model'), 'model.onnx');
    writeFileSync(modelPath, matmulModel(2));
    for (let round = 0; round < 3; round++) {
      rmSync(dir, { recursive: true, force: true });
      const results = await Promise.all([startProcess(modelPath, dir), startProcess(modelPath, dir)]);
      const reports = results.map((r) => {
        expect(r.code, r.stderr).toBe(0);
        return JSON.parse(r.stdout.trim().split('\n').pop()!) as { built: boolean; y: number[] };
      });
      for (const report of reports) expect(report.y).toEqual([20, 20, 20]);
      // Exactly one build: whichever process takes the lock builds and stores before it lets
      // go; the other either waited on the lock or started late, and found the entry either way.
      expect(reports.filter((r) => r.built)).toHaveLength(1);
      const entries = entryFiles(dir);
      expect(entries).toHaveLength(1);
      expect(readdirSync(dir).filter((n) => n.endsWith('.lock') || n.endsWith('.tmp'))).toEqual([]);
      const { header, plan } = readEntry(entries[0]!);
      expect(header.planSha256).toBe(sha256(plan));
      expect(await outputsOf(plan)).toEqual([20, 20, 20]);
    }
  });

  it('waits for the holder of the lock and takes its entry instead of building', async () => {
    const dir = freshDir();
    const model = matmulModel(2);
    // Find the key and the entry bytes by building elsewhere.
    const elsewhere = freshDir();
    const { result } = await cachedBuild(model, elsewhere);
    const key = result.cache!.key;
    const lock = await tryLock(join(dir, `${key}.lock`));
    expect(lock).not.toBe('held');
    const rec = recorder();
    let settled = false;
    const waiting = buildEngineWithCache(model, { backend: 'sim', shapes: 'x:1x4', cache: { dir }, logger: rec.logger, onProgress: rec.onProgress }).finally(() => (settled = true));
    await new Promise((resolve) => setTimeout(resolve, 300));
    expect(settled).toBe(false);
    // The "other process" finishes: its entry appears, then its lock goes.
    writeFileSync(join(dir, `${key}.engine-cache`), readFileSync(result.cache!.path));
    await (lock as Exclude<typeof lock, 'held'>).release();
    const waited = await waiting;
    expect(waited.cache!.hit).toBe(true);
    expect(rec.events).toBe(0);

    // A waiting build can be cancelled.
    const other = await cachedBuild(matmulModel(7), freshDir());
    const held = await tryLock(join(dir, `${other.result.cache!.key}.lock`));
    const controller = new AbortController();
    const cancelled = buildEngineWithCache(matmulModel(7), { backend: 'sim', shapes: 'x:1x4', cache: { dir }, signal: controller.signal });
    setTimeout(() => controller.abort(), 100);
    await expect(cancelled).rejects.toThrow(CancelledError);
    await (held as Exclude<typeof held, 'held'>).release();
  });

  it('takes over a lock whose process has exited, or that its holder stopped refreshing', async () => {
    const model = matmulModel(2);
    const key = (await cachedBuild(model, freshDir())).result.cache!.key;
    const exited = await new Promise<number>((resolve) => {
      const proc = spawn(process.execPath, ['-e', '']);
      proc.on('close', () => resolve(proc.pid!));
    });
    const deadOwner = freshDir();
    writeFileSync(join(deadOwner, `${key}.lock`), JSON.stringify({ pid: exited, host: hostname(), token: 'old' }));
    expect((await cachedBuild(model, deadOwner)).result.cache).toMatchObject({ hit: false, stored: true });

    const silent = freshDir();
    const lockPath = join(silent, `${key}.lock`);
    writeFileSync(lockPath, JSON.stringify({ pid: process.pid, host: 'another-host', token: 'old' }));
    const longAgo = new Date(Date.now() - 10 * 60_000);
    utimesSync(lockPath, longAgo, longAgo);
    expect((await cachedBuild(model, silent)).result.cache).toMatchObject({ hit: false, stored: true });
    expect(existsSync(lockPath)).toBe(false);
  });
});

describe('engine cache: size bound', () => {
  it('evicts the least recently used entries beyond maxBytes, never the one in use', async () => {
    const dir = freshDir();
    const a = await cachedBuild(matmulModel(1), dir);
    const b = await cachedBuild(matmulModel(2), dir);
    const entryBytes = statSync(a.result.cache!.path).size;
    // b was used longer ago than a: a is touched by a hit below.
    const past = (seconds: number) => new Date(Date.now() - seconds * 1000);
    utimesSync(a.result.cache!.path, past(20), past(20));
    utimesSync(b.result.cache!.path, past(10), past(10));
    expect((await cachedBuild(matmulModel(1), dir)).result.cache!.hit).toBe(true);
    // Room for two entries of this size (they differ by a few bytes at most).
    const maxBytes = 2 * entryBytes + 64;
    const c = await cachedBuild(matmulModel(3), dir, { cache: { dir, maxBytes } });
    expect(c.result.cache!.stored).toBe(true);
    expect(entryFiles(dir).sort()).toEqual([a.result.cache!.path, c.result.cache!.path].sort());
    expect((await cachedBuild(matmulModel(2), dir)).result.cache!.hit).toBe(false);

    // A bound below one entry keeps the entry just built (and only it).
    const d = await cachedBuild(matmulModel(4), dir, { cache: { dir, maxBytes: 1 } });
    expect(entryFiles(dir)).toEqual([d.result.cache!.path]);
  });
});

describe('engine cache: the directory and the options', () => {
  it('builds without the cache, with a warning, when the directory cannot be created', async () => {
    const file = join(freshDir(), 'a-file');
    writeFileSync(file, '');
    const { result, rec } = await cachedBuild(matmulModel(2), join(file, 'cache'));
    expect(result.cache).toMatchObject({ hit: false, stored: false });
    expect(await rec.messages('warning')).toContainEqual(expect.stringMatching(/the directory cannot be created \(ENOTDIR.*\); building without the cache/));
    expect(await outputsOf(result.engine)).toEqual([20, 20, 20]);
  });

  it('refuses bad cache options and build options given with an engine, with typed errors', async () => {
    const model = matmulModel(2);
    await expect(buildEngineWithCache(model, { backend: 'sim', cache: {} as never })).rejects.toThrow(/Expected a non-empty string for cache.dir but received undefined/);
    await expect(buildEngineWithCache(model, { backend: 'sim', cache: { dir: freshDir(), maxBytes: -1 } })).rejects.toThrow(InvalidArgumentError);
    await expect(buildEngineWithCache(model, { backend: 'sim', cache: 'dir' as never })).rejects.toThrow(/Expected an object for cache/);
    // An option the key cannot hash is refused by name rather than keyed as nothing.
    const unhashable = { backend: 'sim', shapes: 'x:1x4', cache: { dir: freshDir() }, memoryPoolLimits: { workspace: new Map() } } as unknown as BuildEngineOptions;
    await expect(buildEngineWithCache(model, unhashable)).rejects.toThrow(/cannot key the build options\.memoryPoolLimits\.workspace: it holds a Map/);
    const { result } = await cachedBuild(model, freshDir());
    await expect(InferenceSession.create(result.engine, { backend: 'sim', cache: { dir: freshDir() } })).rejects.toThrow(/serialized engine, not an ONNX model/);
    const float16 = InferenceSession.create(result.engine, { backend: 'sim', float16: { keepIoTypes: true } });
    await expect(float16).rejects.toThrow(InvalidArgumentError);
    await expect(float16).rejects.toThrow(/serialized engine, not an ONNX model/);
  });

  it('takes model bytes given with any build option as a model to build, profilingVerbosity and float16 included', async () => {
    const staticModel = makeModel({
      inputs: [{ name: 'x', dtype: 'float32', shape: [1, 4] }],
      outputs: [{ name: 'y', dtype: 'float32', shape: [1, 3] }],
      initializers: [makeTensor('W', 'float32', [4, 3], new Float32Array(12).fill(2))],
      nodes: [{ op: 'MatMul', inputs: ['x', 'W'], outputs: ['y'] }],
    });
    // x = [1, 2, 3, 4] times a column of 2s: 2 * (1 + 2 + 3 + 4) = 20 on each of the 3 outputs.
    expect(await outputsOf(await InferenceSession.create(staticModel, { backend: 'sim', profilingVerbosity: 'none' }))).toEqual([20, 20, 20]);
    // float16 alone reaches the build, which names what is missing, rather than the engine loader.
    await expect(InferenceSession.create(staticModel, { backend: 'sim', float16: { keepIoTypes: true } })).rejects.toThrow(/float16 option applies to precision 'fp16' only/);
  });

  it('`tensorrt-node build --cache DIR` builds once and then copies the cached engine, INT8 from a calibration directory too', async () => {
    const dir = freshDir();
    const work = freshDir('cli');
    const modelPath = join(work, 'model.onnx');
    writeFileSync(modelPath, matmulModel(2));
    const cli = new URL('../dist/cli/main.js', import.meta.url).pathname;
    const run = (out: string, ...more: string[]) => runNode([cli, 'build', modelPath, '-o', join(work, out), '--backend', 'sim', '--shapes', 'x:1x4', '--cache', dir, ...more]);
    const first = await run('a.engine');
    expect(first.code).toBe(0);
    expect(first.stdout).toMatch(/^built /);
    const second = await run('b.engine');
    expect(second.code).toBe(0);
    expect(second.stdout).toMatch(/^copied from the engine cache \(.*\.engine-cache\) /);
    expect(readFileSync(join(work, 'b.engine')).equals(readFileSync(join(work, 'a.engine')))).toBe(true);
    expect(await outputsOf(readFileSync(join(work, 'b.engine')))).toEqual([20, 20, 20]);

    // INT8 from a calibration directory: the batch files' contents are part of the key.
    const calib = join(work, 'calib');
    mkdirSync(calib);
    for (let i = 0; i < 3; i++) writeFileSync(join(calib, `${i}.bin`), new Uint8Array(new Float32Array([i, 1, 2, 3]).buffer));
    const int8 = ['--int8', '--calib-data', calib, '--no-accuracy'];
    expect((await run('c.engine', ...int8)).stdout).toMatch(/^built /);
    expect((await run('c.engine', ...int8)).stdout).toMatch(/^copied from the engine cache /);
    writeFileSync(join(calib, '1.bin'), new Uint8Array(new Float32Array([9, 1, 2, 3]).buffer));
    expect((await run('c.engine', ...int8)).stdout).toMatch(/^built /);
  });

  it('`build --fp16 --cache DIR` takes the accuracy report\'s float32 reference from the cache too', async () => {
    const dir = freshDir();
    const work = freshDir('cli');
    const modelPath = join(work, 'model.onnx');
    writeFileSync(modelPath, matmulModel(2));
    const cli = new URL('../dist/cli/main.js', import.meta.url).pathname;
    const run = () => runNode([cli, 'build', modelPath, '-o', join(work, 'h.engine'), '--backend', 'sim', '--shapes', 'x:1x4', '--fp16', '--cache', dir]);
    const first = await run();
    expect(first.code).toBe(0);
    // The float16 engine and its float32 reference.
    expect(entryFiles(dir)).toHaveLength(2);
    // A hit touches its entry (the eviction order); a build rewrites it, with a new build time.
    const built = () => entryFiles(dir).map((path) => readEntry(path).header.built);
    const before = built();
    const second = await run();
    expect(second.code).toBe(0);
    expect(second.stdout).toMatch(/^copied from the engine cache /);
    expect(second.stdout).toMatch(/accuracy of fp16 against fp32/);
    // Neither entry was built again.
    expect(entryFiles(dir)).toHaveLength(2);
    expect(built()).toEqual(before);
  });
});

describe('engine cache: the GPU in the key (tensorrt backend)', () => {
  it('reads name and compute capability from nvidia-smi, and names every GPU of a mixed machine', () => {
    const h200 = parseGpuList('NVIDIA H200, 9.0\nNVIDIA H200, 9.0\n');
    expect(h200).toEqual([{ name: 'NVIDIA H200', computeCapability: '9.0' }, { name: 'NVIDIA H200', computeCapability: '9.0' }]);
    // Same model everywhere: the device index does not matter.
    expect(gpuIdentity(h200, 1)).toEqual({ name: 'NVIDIA H200', computeCapability: '9.0' });
    expect(gpuIdentity(h200, 0)).toEqual(gpuIdentity(h200, 1));
    expect(parseGpuList('Tesla T4, 7.5\nNo devices were found\n')).toEqual([{ name: 'Tesla T4', computeCapability: '7.5' }]);
    const mixed = parseGpuList('NVIDIA GeForce RTX 4090, 8.9\nNVIDIA RTX A6000, 8.6\n');
    const first = gpuIdentity(mixed, 0);
    expect(first).toMatchObject({ gpus: ['NVIDIA GeForce RTX 4090 (compute capability 8.9)', 'NVIDIA RTX A6000 (compute capability 8.6)'], device: 0 });
    expect(gpuIdentity(mixed, 1)).not.toEqual(first);
    expect(gpuIdentity([], 0)).toBeUndefined();
  });

  it('asks nvidia-smi on PATH, and keys to the host with a warning when there is none', async () => {
    const bin = freshDir('bin');
    writeFileSync(join(bin, 'nvidia-smi'), '#!/bin/sh\necho "NVIDIA H200, 9.0"\n', { mode: 0o755 });
    const empty = freshDir('empty-bin');
    const moduleUrl = new URL('../dist/cache/build-environment.js', import.meta.url).href;
    const loggerUrl = new URL('../dist/logger.js', import.meta.url).href;
    const describeIn = async (path: string) => {
      const result = await runNode(['--input-type=module', '-e', `
        import { describeBuildEnvironment } from ${JSON.stringify(moduleUrl)};
        import { Logger } from ${JSON.stringify(loggerUrl)};
        const warnings = [];
        const logger = new Logger({ onMessage: (_s, m) => warnings.push(m) });
        const { gpu } = await describeBuildEnvironment('tensorrt', 0, logger);
        await new Promise((r) => setTimeout(r, 20));
        console.log(JSON.stringify({ gpu, warnings }));`], { ...process.env, PATH: path });
      expect(result.code, result.stderr).toBe(0);
      return JSON.parse(result.stdout) as { gpu: unknown; warnings: string[] };
    };
    expect(await describeIn(bin)).toEqual({ gpu: { name: 'NVIDIA H200', computeCapability: '9.0' }, warnings: [] });
    const none = await describeIn(empty);
    if (existsSync('/proc/driver/nvidia/gpus')) {
      // A driver without nvidia-smi still names its GPUs.
      expect(none.gpu).toMatchObject({ computeCapability: 'unknown' });
    } else {
      expect(none.gpu).toEqual({ name: 'unidentified', host: hostname() });
      expect(none.warnings).toEqual([expect.stringContaining('cannot identify the GPU')]);
    }
  });
});
