#!/usr/bin/env node
// What only a GPU can prove, on a machine with one and TensorRT: each check below builds and runs
// engines on the tensorrt backend and compares every result with the sim (or, where the sim has
// no such operator, with arithmetic done here). It prints one table row per check and exits 1
// if any check fails.
//
//   npm run smoke:tensorrt                                   # real TensorRT on this GPU
//   npm run smoke:tensorrt -- --double <TensorRT include>    # through the adapter and the TensorRT double
//   npm run smoke:tensorrt -- --sim                          # the sim against itself: a self-check of the script
//
// --double builds the double and the adapter against the headers (scripts/build-tensorrt-double.mjs)
// and runs this script again with the environment test:tensorrt-double uses, so the script is
// proven end to end without a GPU.
//
// Tolerances, tensorrt against the sim:
// - float32: TensorRT runs float32 matrix products with TF32 by default, which rounds both
//   operands to a 10-bit mantissa (relative error 2^-11 each, so 2^-10 per product) and
//   accumulates in float32 (at most K * 2^-24 relative more over K terms). Each output of
//   y = relu(x W1 + b1) W2 is therefore within
//     u2 * sum_j |relu(h_j) W2_jk| + sum_j dh_j |W2_jk|,  dh_j = u1 * (sum_i |x_i W1_ij| + |b1_j|)
//   of the sim's value, u = 2^-10 + 2K * 2^-24 for the layer's K (the sim's own float32
//   accumulation error counted too); computed below per output.
//   With TF32 off (clearFlag('tf32')) the same bound holds with u = 2 (K + 2) 2^-24: products
//   rounded once, float32 accumulation over K terms, and the sim's own float32 error.
// - float16: the same bound with u = (K + 2) * 2^-11: operands are already float16 in the model,
//   the worst case is float16 accumulation over K terms plus rounding the layer's output.
// - int8: symmetric int8 has a step of max|t| / 127 per tensor; TensorRT accumulates int8
//   products exactly in int32 and the sim in float32, so a value next to a rounding boundary
//   can quantize one step apart. A handful of such flips in a dot product of 128 terms stays
//   under 5% of the output's range, the tolerance used (max |tensorrt - sim| <= 0.05 max |sim|).
import { spawnSync } from 'node:child_process';
import { mkdtempSync, readdirSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import path from 'node:path';
import { fileURLToPath, pathToFileURL } from 'node:url';
import { Worker } from 'node:worker_threads';

const root = path.resolve(path.dirname(fileURLToPath(import.meta.url)), '..');
const args = process.argv.slice(2);

if (args.includes('--double')) {
  // Build the double, then run again with its libraries on the search path (read at start).
  const include = args[args.indexOf('--double') + 1];
  if (!include) {
    console.error('smoke:tensorrt: --double needs a TensorRT include directory');
    process.exit(2);
  }
  const built = spawnSync(process.execPath, [path.join(root, 'scripts', 'build-tensorrt-double.mjs'), include], {
    stdio: ['ignore', 'pipe', 'inherit'],
    encoding: 'utf8',
  });
  if (built.status !== 0) process.exit(built.status ?? 1);
  const out = built.stdout.trim().split('\n').pop();
  const adapter = readdirSync(out).find((f) => /^libtensorrt_node_trt\d+\.so$/.test(f));
  const tsc = spawnSync(process.execPath, [path.join(root, 'node_modules', 'typescript', 'bin', 'tsc'), '-p', path.join(root, 'tsconfig.json')], { stdio: 'inherit', cwd: root });
  if (tsc.status !== 0) process.exit(tsc.status ?? 1);
  const env = {
    ...process.env,
    TENSORRT_NODE_ADAPTER: path.join(out, adapter),
    LD_LIBRARY_PATH: [out, process.env.LD_LIBRARY_PATH].filter(Boolean).join(path.delimiter),
    TNRT_SMOKE_UNDER_DOUBLE: path.basename(out),
  };
  const rest = args.filter((a, i) => a !== '--double' && i !== args.indexOf('--double') + 1);
  const run = spawnSync(process.execPath, [fileURLToPath(import.meta.url), ...rest], { stdio: 'inherit', env, cwd: root });
  process.exit(run.status ?? 1);
}

const lib = pathToFileURL(path.join(root, 'dist', 'index.js')).href;
const { backends, Builder, CancelledError, convertToFloat16, EntropyCalibrator2, Logger, quantizeInt8, Runtime, Tensor } = await import(lib);
const { makeModel, makeTensor } = await import(pathToFileURL(path.join(root, 'dist', 'onnx', 'model-builder.js')).href);

const underDouble = process.env.TNRT_SMOKE_UNDER_DOUBLE;
const backend = args.includes('--sim') ? 'sim' : 'tensorrt';
const info = backends().find((b) => b.name === backend);
if (!info?.available) {
  console.error(`smoke:tensorrt needs the ${backend} backend, which cannot run here:\n${info?.reason}`);
  process.exit(1);
}
const where = underDouble ? `TensorRT double (${underDouble})` : backend === 'sim' ? 'sim (self-check)' : `TensorRT ${info.version}`;
const logger = new Logger({ minSeverity: 'error' });

// ---- data --------------------------------------------------------------------------------------

let seed = 12345;
/** Uniform in [-1, 1); a new stream of values on every call. */
function random(n, scale = 1) {
  return Float32Array.from({ length: n }, () => {
    seed = (seed * 1103515245 + 12345) % 2147483648;
    return (seed / 1073741824 - 1) * scale;
  });
}

const IN = 64, HID = 128, OUT = 16;
const W1 = random(IN * HID, 0.2), B1 = random(HID, 0.1), W2 = random(HID * OUT, 0.2);
const mlp = makeModel({
  opset: 13,
  inputs: [{ name: 'x', dtype: 'float32', shape: ['batch', IN] }],
  outputs: [{ name: 'y', dtype: 'float32', shape: ['batch', OUT] }],
  initializers: [makeTensor('W1', 'float32', [IN, HID], W1), makeTensor('b1', 'float32', [HID], B1), makeTensor('W2', 'float32', [HID, OUT], W2)],
  nodes: [
    { op: 'Gemm', inputs: ['x', 'W1', 'b1'], outputs: ['h'] },
    { op: 'Relu', inputs: ['h'], outputs: ['r'] },
    { op: 'MatMul', inputs: ['r', 'W2'], outputs: ['y'] },
  ],
});
const batchProfile = (min, opt, max) => ({ x: { min: [min, IN], opt: [opt, IN], max: [max, IN] } });
const input = (batch) => new Tensor('float32', random(batch * IN), [batch, IN]);

/** Per-output error bound of the MLP for relative product error u(K) (see the header). */
function mlpBound(x, batch, u) {
  const bound = new Float64Array(batch * OUT);
  const u1 = u(IN), u2 = u(HID);
  for (let b = 0; b < batch; b++) {
    const relu = new Float64Array(HID), dh = new Float64Array(HID);
    for (let j = 0; j < HID; j++) {
      let h = B1[j], mag = Math.abs(B1[j]);
      for (let i = 0; i < IN; i++) {
        h += x[b * IN + i] * W1[i * HID + j];
        mag += Math.abs(x[b * IN + i] * W1[i * HID + j]);
      }
      relu[j] = Math.max(0, h);
      dh[j] = u1 * mag;
    }
    for (let k = 0; k < OUT; k++) {
      let e = 0;
      for (let j = 0; j < HID; j++) e += u2 * Math.abs(relu[j] * W2[j * OUT + k]) + dh[j] * Math.abs(W2[j * OUT + k]);
      bound[b * OUT + k] = e;
    }
  }
  return bound;
}
const tf32 = (k) => 2 ** -10 + 2 * k * 2 ** -24;
const fp32 = (k) => 2 * (k + 2) * 2 ** -24;
const fp16 = (k) => (k + 2) * 2 ** -11;

/** Largest |a - b| / tolerance; <= 1 passes. `tol` is a per-element array or a number. */
function compare(actual, expected, tol) {
  if (actual.dims.join('x') !== expected.dims.join('x')) return { ok: false, detail: `shape ${actual.dims.join('x')} vs sim ${expected.dims.join('x')}` };
  let worst = 0, maxAbs = 0;
  for (let i = 0; i < expected.data.length; i++) {
    const d = Math.abs(Number(actual.data[i]) - Number(expected.data[i]));
    const t = (typeof tol === 'number' ? tol : tol[i]) + 1e-6 * Math.abs(Number(expected.data[i]));
    maxAbs = Math.max(maxAbs, d);
    worst = Math.max(worst, t > 0 ? d / t : d === 0 ? 0 : Infinity);
    if (!(d <= t)) return { ok: false, detail: `element ${i}: ${actual.data[i]} vs sim ${expected.data[i]} (tolerance ${t.toExponential(2)})`, worst, maxAbs };
  }
  return { ok: true, worst, maxAbs };
}

// ---- building and running ------------------------------------------------------------------------

async function build(on, model, { profiles = [], stronglyTyped = false, flags = [], clearFlags = [], calibrator, timingCache, signal, onProgress, beforeBuild } = {}) {
  const builder = new Builder({ backend: on, logger });
  try {
    const network = builder.createNetworkV2({ stronglyTyped });
    await builder.createOnnxParser(network).parse(model);
    const config = builder.createBuilderConfig();
    for (const p of profiles) {
      const profile = builder.createOptimizationProfile();
      for (const [name, entry] of Object.entries(p)) {
        if (entry.values) profile.setShapeValues(name, entry.values);
        if (entry.min) profile.setDimensions(name, entry);
      }
      config.addOptimizationProfile(profile);
    }
    for (const f of flags) config.setFlag(f);
    for (const f of clearFlags) config.clearFlag(f);
    if (calibrator) config.int8Calibrator = calibrator;
    if (timingCache) config.setTimingCache(timingCache);
    if (onProgress) config.onProgress = onProgress;
    beforeBuild?.();
    const start = performance.now();
    const plan = await builder.buildSerializedNetwork(network, config, signal ? { signal } : {});
    return { plan, timingCache: config.timingCache, ms: performance.now() - start };
  } finally {
    builder.dispose();
  }
}

async function load(on, plan) {
  const runtime = new Runtime({ backend: on, logger });
  return { runtime, engine: await runtime.deserializeCudaEngine(plan) };
}

/** Builds `model` on both backends with the same options; contexts on each. */
async function pair(model, options) {
  const [a, b] = [await build(backend, model, options), await build('sim', model, options)];
  const [real, sim] = [await load(backend, a.plan), await load('sim', b.plan)];
  return { real, sim, plans: { real: a.plan, sim: b.plan }, dispose: () => (real.runtime.dispose(), sim.runtime.dispose()) };
}

// ---- the checks ----------------------------------------------------------------------------------

const rows = [];
async function check(name, fn) {
  const start = performance.now();
  try {
    const result = (await fn()) ?? {};
    rows.push({ name, status: result.skip ? 'SKIP' : 'PASS', detail: result.skip ?? result.detail ?? '', ms: performance.now() - start });
  } catch (error) {
    rows.push({ name, status: 'FAIL', detail: String(error?.message ?? error).split('\n')[0], ms: performance.now() - start });
  }
}
const fail = (what) => {
  throw new Error(what);
};
const expectClose = (actual, expected, tol, what) => {
  const r = compare(actual, expected, tol);
  if (!r.ok) fail(`${what}: ${r.detail}`);
  return r;
};

await check('fp32: new inputs on every call vs sim (TF32 bound)', async () => {
  const p = await pair(mlp, { profiles: [batchProfile(1, 16, 64)] });
  try {
    const [ctx, ref] = [p.real.engine.createExecutionContext(), p.sim.engine.createExecutionContext()];
    let worst = 0;
    for (let call = 0; call < 20; call++) {
      const x = input(16);
      const [y, r] = [(await ctx.execute({ x })).y, (await ref.execute({ x })).y];
      worst = Math.max(worst, expectClose(y, r, mlpBound(x.data, 16, tf32), `call ${call}`).worst);
    }
    const iterations = 100, x = input(16);
    let t = performance.now();
    for (let i = 0; i < iterations; i++) await ctx.execute({ x });
    const realMs = (performance.now() - t) / iterations;
    t = performance.now();
    for (let i = 0; i < iterations; i++) await ref.execute({ x });
    const simMs = (performance.now() - t) / iterations;
    return { detail: `20 calls, worst error ${(worst * 100).toFixed(1)}% of bound; batch 16: ${realMs.toFixed(3)} ms vs sim ${simMs.toFixed(3)} ms` };
  } finally {
    p.dispose();
  }
});

await check('fp32 with TF32 off (clearFlag tf32): float32 bound', async () => {
  const p = await pair(mlp, { profiles: [batchProfile(1, 16, 64)], clearFlags: ['tf32'] });
  try {
    const [ctx, ref] = [p.real.engine.createExecutionContext(), p.sim.engine.createExecutionContext()];
    let worst = 0;
    for (let call = 0; call < 5; call++) {
      const x = input(16);
      worst = Math.max(worst, expectClose((await ctx.execute({ x })).y, (await ref.execute({ x })).y, mlpBound(x.data, 16, fp32), `call ${call}`).worst);
    }
    return { detail: `5 calls, worst error ${(worst * 100).toFixed(1)}% of the float32 bound` };
  } finally {
    p.dispose();
  }
});

await check('shapes: buffers grow and shrink', async () => {
  const p = await pair(mlp, { profiles: [batchProfile(1, 16, 64)] });
  try {
    const [ctx, ref] = [p.real.engine.createExecutionContext(), p.sim.engine.createExecutionContext()];
    const batches = [1, 64, 8, 64, 2, 33, 1];
    for (const batch of batches) {
      const x = input(batch);
      expectClose((await ctx.execute({ x })).y, (await ref.execute({ x })).y, mlpBound(x.data, batch, tf32), `batch ${batch}`);
    }
    return { detail: `batches ${batches.join(', ')}` };
  } finally {
    p.dispose();
  }
});

await check('profiles: switch between two and back', async () => {
  const p = await pair(mlp, { profiles: [batchProfile(1, 4, 8), batchProfile(9, 32, 64)] });
  try {
    const [ctx, ref] = [p.real.engine.createExecutionContext(), p.sim.engine.createExecutionContext()];
    const steps = [[0, 4], [1, 32], [1, 64], [0, 1], [1, 9]];
    for (const [profile, batch] of steps) {
      ctx.setOptimizationProfile(profile);
      ref.setOptimizationProfile(profile);
      const x = input(batch);
      expectClose((await ctx.execute({ x })).y, (await ref.execute({ x })).y, mlpBound(x.data, batch, tf32), `profile ${profile} batch ${batch}`);
    }
    // Batch 32 is outside profile 0: refused before it reaches the GPU.
    ctx.setOptimizationProfile(0);
    const refused = await ctx.execute({ x: input(32) }).then(() => false, (e) => e.name === 'ShapeError');
    if (!refused) fail('batch 32 on profile 0 was not refused with ShapeError');
    return { detail: steps.map(([p, b]) => `p${p}:b${b}`).join(' ') + ', out-of-profile refused' };
  } finally {
    p.dispose();
  }
});

await check('two contexts in parallel', async () => {
  const p = await pair(mlp, { profiles: [batchProfile(1, 16, 64)] });
  try {
    const contexts = [p.real.engine.createExecutionContext(), p.real.engine.createExecutionContext()];
    const ref = p.sim.engine.createExecutionContext();
    const jobs = [];
    for (let i = 0; i < 16; i++) {
      const x = input(1 + ((i * 7) % 64));
      jobs.push(contexts[i % 2].execute({ x }).then((out) => ({ x, y: out.y })));
    }
    const start = performance.now();
    const done = await Promise.all(jobs);
    const ms = performance.now() - start;
    for (const [i, { x, y }] of done.entries()) expectClose(y, (await ref.execute({ x })).y, mlpBound(x.data, x.dims[0], tf32), `job ${i}`);
    return { detail: `16 calls on 2 contexts in ${ms.toFixed(1)} ms` };
  } finally {
    p.dispose();
  }
});

await check('serialize, deserialize in a fresh process', async () => {
  const p = await pair(mlp, { profiles: [batchProfile(1, 16, 64)] });
  try {
    const again = await p.real.engine.serialize();
    const dir = mkdtempSync(path.join(tmpdir(), 'tnrt-smoke-'));
    writeFileSync(path.join(dir, 'mlp.engine'), again);
    const x = input(5);
    writeFileSync(path.join(dir, 'x.bin'), x.data);
    const child = `
      const { readFileSync } = await import('node:fs');
      const { Runtime, Tensor } = await import(${JSON.stringify(lib)});
      const runtime = new Runtime({ backend: ${JSON.stringify(backend)} });
      const engine = await runtime.deserializeCudaEngine(readFileSync(${JSON.stringify(path.join(dir, 'mlp.engine'))}));
      const buf = readFileSync(${JSON.stringify(path.join(dir, 'x.bin'))});
      const x = new Tensor('float32', new Float32Array(buf.buffer, buf.byteOffset, buf.byteLength / 4), [5, ${IN}]);
      const { y } = await engine.createExecutionContext().execute({ x });
      console.log(JSON.stringify({ dims: y.dims, data: Array.from(y.data) }));
      runtime.dispose();`;
    const r = spawnSync(process.execPath, ['--input-type=module', '-e', child], { encoding: 'utf8', cwd: root, env: process.env });
    if (r.status !== 0) fail(`the child process exited ${r.status}: ${r.stderr.trim().split('\n').pop()}`);
    const y = JSON.parse(r.stdout.trim().split('\n').pop());
    const ref = (await p.sim.engine.createExecutionContext().execute({ x })).y;
    expectClose(y, ref, mlpBound(x.data, 5, tf32), 'fresh process');
    return { detail: `${again.byteLength}-byte plan, reloaded by pid ${r.pid}` };
  } finally {
    p.dispose();
  }
});

await check('timing cache: a second build starts from the first', async () => {
  const first = await build(backend, mlp, { profiles: [batchProfile(1, 16, 64)] });
  if (!first.timingCache || first.timingCache.byteLength === 0) fail('the first build returned no timing cache');
  const second = await build(backend, mlp, { profiles: [batchProfile(1, 16, 64)], timingCache: first.timingCache });
  const { runtime, engine } = await load(backend, second.plan);
  const ref = await load('sim', (await build('sim', mlp, { profiles: [batchProfile(1, 16, 64)] })).plan);
  try {
    const x = input(16);
    expectClose((await engine.createExecutionContext().execute({ x })).y, (await ref.engine.createExecutionContext().execute({ x })).y, mlpBound(x.data, 16, tf32), 'cached build');
    return { detail: `cache ${first.timingCache.byteLength} B; build ${first.ms.toFixed(0)} ms, then ${second.ms.toFixed(0)} ms` };
  } finally {
    runtime.dispose();
    ref.runtime.dispose();
  }
});

await check('fp16 explicit (convertToFloat16, strongly typed)', async () => {
  const model = await convertToFloat16(mlp);
  const p = await pair(model, { profiles: [batchProfile(1, 16, 64)], stronglyTyped: true });
  try {
    const x = input(16);
    const r = expectClose((await p.real.engine.createExecutionContext().execute({ x })).y, (await p.sim.engine.createExecutionContext().execute({ x })).y, mlpBound(x.data, 16, fp16), 'fp16');
    return { detail: `max |diff| ${r.maxAbs.toExponential(2)}, ${(r.worst * 100).toFixed(1)}% of bound` };
  } finally {
    p.dispose();
  }
});

const calibrationBatches = () => Array.from({ length: 8 }, () => ({ x: input(16) }));
const int8Tolerance = (ref) => 0.05 * Math.max(...Array.from(ref.data, Math.abs));

await check('int8 explicit (quantizeInt8 Q/DQ, strongly typed)', async () => {
  const model = await quantizeInt8(mlp, { calibrationData: calibrationBatches(), backend: 'sim', shapes: { x: [16, IN] } });
  const p = await pair(model, { profiles: [batchProfile(1, 16, 64)], stronglyTyped: true });
  try {
    const x = input(16);
    const ref = (await p.sim.engine.createExecutionContext().execute({ x })).y;
    const r = expectClose((await p.real.engine.createExecutionContext().execute({ x })).y, ref, int8Tolerance(ref), 'int8');
    return { detail: `max |diff| ${r.maxAbs.toExponential(2)} (tolerance ${int8Tolerance(ref).toExponential(2)})` };
  } finally {
    p.dispose();
  }
});

const implicit = new Builder({ backend, logger });
const implicitPrecision = implicit.backendInfo.implicitPrecision !== false;
implicit.dispose();
await check('fp16 + int8 implicit (builder flags, TensorRT 10)', async () => {
  if (!implicitPrecision) return { skip: `${where} has no implicit precision (TensorRT 11 removed the flags); the explicit checks cover it` };
  const half = await pair(mlp, { profiles: [batchProfile(1, 16, 64)], flags: ['fp16'] });
  let x = input(16);
  try {
    expectClose((await half.real.engine.createExecutionContext().execute({ x })).y, (await half.sim.engine.createExecutionContext().execute({ x })).y, mlpBound(x.data, 16, fp16), 'fp16 flag');
  } finally {
    half.dispose();
  }
  // One calibration for both: the sim writes TensorRT's cache format, which TensorRT then reads,
  // so both engines quantize with the same scales.
  let cache;
  const simCalibrator = new EntropyCalibrator2({ batches: calibrationBatches(), batchSize: 16, writeCache: (c) => (cache = c) });
  const simPlan = (await build('sim', mlp, { profiles: [batchProfile(1, 16, 64)], flags: ['int8'], calibrator: simCalibrator })).plan;
  const realCalibrator = new EntropyCalibrator2({ batches: [], batchSize: 16, readCache: () => cache });
  const realPlan = (await build(backend, mlp, { profiles: [batchProfile(1, 16, 64)], flags: ['int8'], calibrator: realCalibrator })).plan;
  const [real, sim] = [await load(backend, realPlan), await load('sim', simPlan)];
  try {
    x = input(16);
    const ref = (await sim.engine.createExecutionContext().execute({ x })).y;
    const r = expectClose((await real.engine.createExecutionContext().execute({ x })).y, ref, int8Tolerance(ref), 'int8 flag');
    return { detail: `shared calibration cache ${cache?.byteLength ?? 0} B; int8 max |diff| ${r.maxAbs.toExponential(2)}` };
  } finally {
    real.runtime.dispose();
    sim.runtime.dispose();
  }
});

await check('cancel: abort a build in progress', async () => {
  // A long chain of layers, so that the build is still running when the abort, sent from the
  // first progress event, arrives (a TensorRT build of anything takes far longer).
  // The sim builds a layer in microseconds: it needs ten times the chain for the build to
  // outlast the trip of the first progress event to this thread on a loaded machine.
  const layers = backend === 'sim' ? 30000 : 3000;
  const chain = makeModel({
    opset: 13,
    inputs: [{ name: 'x', dtype: 'float32', shape: ['batch', IN] }],
    outputs: [{ name: `t${layers}`, dtype: 'float32', shape: ['batch', IN] }],
    initializers: [makeTensor('c', 'float32', [IN], random(IN))],
    nodes: Array.from({ length: layers }, (_, i) => ({ op: i % 2 ? 'Relu' : 'Add', inputs: i % 2 ? [i ? `t${i}` : 'x'] : [i ? `t${i}` : 'x', 'c'], outputs: [`t${i + 1}`] })),
  });
  const controller = new AbortController();
  let events = 0;
  let start = 0;
  const outcome = await build(backend, chain, {
    profiles: [batchProfile(1, 16, 64)],
    signal: controller.signal,
    beforeBuild: () => (start = performance.now()),
    onProgress: () => {
      events++;
      controller.abort();
    },
  }).then(
    () => 'finished',
    (e) => e,
  );
  if (!(outcome instanceof CancelledError)) fail(`expected CancelledError, got ${outcome?.name ?? outcome}`);
  if (/before it started/.test(outcome.message)) fail('the abort came before the build started');
  return { detail: `${layers}-layer build cancelled after ${events} progress event(s), ${(performance.now() - start).toFixed(0)} ms` };
});

await check('data-dependent output (NonZero)', async () => {
  const model = makeModel({
    opset: 13,
    inputs: [{ name: 'x', dtype: 'float32', shape: ['n'] }],
    outputs: [{ name: 'y', dtype: 'int64', shape: [1, 'k'] }],
    nodes: [{ op: 'NonZero', inputs: ['x'], outputs: ['y'] }],
  });
  const { runtime, engine } = await load(backend, (await build(backend, model, { profiles: [{ x: { min: [1], opt: [16], max: [64] } }] })).plan);
  try {
    const ctx = engine.createExecutionContext();
    const counts = [];
    for (const n of [16, 64, 3, 40]) {
      const data = random(n).map((v) => (v > 0.2 ? v : 0));
      const expected = [];
      data.forEach((v, i) => v !== 0 && expected.push(i));
      const { y } = await ctx.execute({ x: new Tensor('float32', data, [n]) });
      if (y.dims.join('x') !== `1x${expected.length}` || Array.from(y.data, Number).join() !== expected.join()) {
        fail(`n=${n}: got ${y.dims.join('x')} [${Array.from(y.data).slice(0, 8)}], expected 1x${expected.length}`);
      }
      counts.push(expected.length);
    }
    return { detail: `nonzero counts ${counts.join(', ')} checked by index` };
  } finally {
    runtime.dispose();
  }
});

await check('shape-tensor input (Reshape by values)', async () => {
  const model = makeModel({
    opset: 13,
    inputs: [
      { name: 'x', dtype: 'float32', shape: ['n'] },
      { name: 's', dtype: 'int64', shape: [2] },
    ],
    outputs: [{ name: 'y', dtype: 'float32', shape: ['a', 'b'] }],
    nodes: [{ op: 'Reshape', inputs: ['x', 's'], outputs: ['y'] }],
  });
  const p = await pair(model, { profiles: [{ x: { min: [1], opt: [12], max: [64] }, s: { values: { min: [1, 1], opt: [3, 4], max: [8, 8] } } }] });
  try {
    if (!p.real.engine.getTensor('s').isShapeTensor) fail("'s' is not reported as a shape tensor");
    const ctx = p.real.engine.createExecutionContext();
    const shapes = [[3, 4], [8, 8], [1, 5], [2, 2]];
    for (const [a, b] of shapes) {
      const x = new Tensor('float32', random(a * b), [a * b]);
      const { y } = await ctx.execute({ x, s: new Tensor('int64', [BigInt(a), BigInt(b)], [2]) });
      // Reshape moves no data: y is x, with s's values as its shape.
      if (y.dims.join('x') !== `${a}x${b}` || y.data.some((v, i) => v !== x.data[i])) fail(`s=[${a}, ${b}]: got ${y.dims.join('x')}`);
    }
    const refused = await ctx.execute({ x: new Tensor('float32', random(9), [9]), s: new Tensor('int64', [9n, 1n], [2]) }).then(() => false, (e) => e.name === 'ShapeError');
    if (!refused) fail('s = [9, 1] outside the profile was not refused with ShapeError');
    return { detail: `s = ${shapes.map((s) => s.join('x')).join(', ')}; out-of-range refused` };
  } finally {
    p.dispose();
  }
});

await check('worker_threads: two workers at once', async () => {
  const { plan } = await build(backend, mlp, { profiles: [batchProfile(1, 16, 64)] });
  const ref = await load('sim', (await build('sim', mlp, { profiles: [batchProfile(1, 16, 64)] })).plan);
  try {
    const code = `
      const { parentPort, workerData } = require('node:worker_threads');
      (async () => {
        const { Runtime, Tensor } = await import(workerData.lib);
        const runtime = new Runtime({ backend: workerData.backend });
        const engine = await runtime.deserializeCudaEngine(workerData.plan);
        const context = engine.createExecutionContext();
        const ys = [];
        for (const x of workerData.inputs) ys.push((await context.execute({ x: new Tensor('float32', x, [x.length / ${IN}, ${IN}]) })).y.data);
        runtime.dispose();
        parentPort.postMessage(ys);
      })().catch((e) => parentPort.postMessage({ error: String(e) }));`;
    const jobs = [0, 1].map(() => {
      const inputs = [input(4).data, input(16).data, input(1).data];
      const worker = new Worker(code, { eval: true, workerData: { lib, backend, plan, inputs } });
      return new Promise((resolve, reject) => {
        worker.once('message', (m) => (m.error ? reject(new Error(m.error)) : resolve({ inputs, ys: m })));
        worker.once('error', reject);
      }).finally(() => worker.terminate());
    });
    const results = await Promise.all(jobs);
    const context = ref.engine.createExecutionContext();
    for (const { inputs, ys } of results) {
      for (const [i, data] of inputs.entries()) {
        const x = new Tensor('float32', data, [data.length / IN, IN]);
        const expected = (await context.execute({ x })).y;
        expectClose({ dims: expected.dims, data: ys[i] }, expected, mlpBound(data, data.length / IN, tf32), `worker result ${i}`);
      }
    }
    return { detail: '2 workers x 3 calls' };
  } finally {
    ref.runtime.dispose();
  }
});

// ---- report --------------------------------------------------------------------------------------

const width = Math.max(...rows.map((r) => r.name.length));
console.log(`smoke:tensorrt on ${where}, compared with the sim\n`);
console.log(`${'check'.padEnd(width)}  backend${' '.repeat(Math.max(0, where.length - 7))}  status  time      detail`);
for (const r of rows) {
  console.log(`${r.name.padEnd(width)}  ${where.padEnd(7)}  ${r.status.padEnd(6)}  ${(r.ms.toFixed(0) + ' ms').padStart(8)}  ${r.detail}`);
}
const failed = rows.filter((r) => r.status === 'FAIL').length;
const skipped = rows.filter((r) => r.status === 'SKIP').length;
console.log(`\n${rows.length - failed - skipped} passed, ${failed} failed, ${skipped} skipped`);
process.exit(failed > 0 ? 1 : 0);
