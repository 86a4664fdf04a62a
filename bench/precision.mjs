// Reduced precision on real models, measured on the sim: for each model of the zoo (cached by
// `npm run zoo`, fed the realistic inputs of test/zoo/models.mjs) and a 25 MB convolutional
// test network, the worst output cosine against float32 of convertToFloat16 and of
// quantizeInt8 with each calibration method, then quantizeInt8 with an accuracy target of 0.99
// (layers kept float, the share of Conv/Gemm/MatMul FLOPs left in INT8), and the time each
// calibration took. Goals: the target met on every zoo model with at least 70% of its
// Conv/Gemm/MatMul FLOPs in INT8 where it has any; the 25 MB network calibrated on 100 inputs
// in under 30 s.
//
//   npm run bench:precision                       everything cached
//   npm run bench:precision -- --filter silero    models whose name matches
//   npm run bench:precision -- --no-zoo           the test network only
//   npm run bench:precision -- --int8-only        only the int8 methods (no fp16, no target)
//   npm run bench:precision -- --float-budget --filter silero
//       instead of the table: every set of a model's Conv/Gemm/MatMul layers that could stay
//       float with at least 70% of those FLOPs left in INT8 (past 1024 such sets, the largest
//       ones only: those no further layer fits), the other quantized ops float or not, each
//       quantized with each single method's scales; the best worst-output cosine each method
//       reaches. Under 0.99 for every method: no choice of float layers meets the target within
//       the FLOP goal with these thresholds, whatever the search (silero VAD's front Convs).
//
// Calibration and validation batches: a model's steps (stateful models' state carried from
// the float32 run, as their users' code does), the largest group of one input shape; with 5 or
// more, even steps calibrate and odd steps validate; with 2 to 4, the last one validates; with
// one, it does both (marked "same" in the table: the cosine then measures fitting, not
// generalization). The OCR detectors and recognizers and IS-Net get more pages, lines and
// scenes from the zoo's generators, silero VAD v4 more audio (MORE_INPUTS).
import { rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { parseArgs } from 'node:util';

import { buildEngine, CALIBRATION_METHODS, convertToFloat16, InferenceSession, Logger, quantizeInt8, quantizeInt8WithReport, Tensor } from 'tensorrt-node';
import { makeModel, makeTensor } from 'tensorrt-node/onnx';

import { compare, fixInputs, isCached, loadModel, makeContext } from '../test/zoo/harness.mjs';
import { manifest, V4_CHUNK, vadChunks } from '../test/zoo/models.mjs';
import { documentImage, sceneImage, textLineImage } from '../test/zoo/signals.mjs';

const TARGET = 0.99;
// The float16 conversion names each node it keeps float32 through its logger; the table is what counts here.
const quiet = new Logger({ minSeverity: 'error' });
const chatty = new Logger({ minSeverity: 'info' });
const { values } = parseArgs({ options: { filter: { type: 'string' }, 'no-zoo': { type: 'boolean' }, 'no-network': { type: 'boolean' }, 'int8-only': { type: 'boolean' }, 'float-budget': { type: 'boolean' } } });
const filter = values.filter ? new RegExp(values.filter, 'i') : undefined;

/** Runs `bytes` (built with `build`: shapes or profiles) on the sim over every batch. */
async function runAll(bytes, build, batches) {
  const engine = await buildEngine(bytes, { backend: 'sim', ...build });
  const session = await InferenceSession.create(engine, { backend: 'sim' });
  try {
    const out = [];
    for (const feeds of batches) {
      const result = await session.run(feeds);
      out.push(Object.fromEntries(Object.entries(result).map(([n, t]) => [n, t.toFloat32()])));
    }
    return out;
  } finally {
    session.dispose();
  }
}

/** The worst output's cosine over all batches (NaN when any value is NaN or Inf). */
function worstCosine(reference, runs) {
  let worst = 1;
  for (const name of Object.keys(reference[0])) {
    const concat = (list) => {
      const data = new Float32Array(list.reduce((a, r) => a + r[name].length, 0));
      let at = 0;
      for (const r of list) {
        data.set(r[name], at);
        at += r[name].length;
      }
      return data;
    };
    const c = compare(concat(runs), concat(reference));
    if (Number.isNaN(c.cosine)) return NaN;
    worst = Math.min(worst, c.cosine);
  }
  return worst;
}

const seconds = (start) => (performance.now() - start) / 1000;

/** The --float-budget search (see the top of this file); returns its lines. */
async function floatBudget(name, bytes, build, calibration, validation) {
  const INT8_SHARE = 0.7;
  const reference = await runAll(bytes, build, validation);
  // The FLOPs per layer, from a report that keeps nothing float (target 0).
  const { report } = await quantizeInt8WithReport(bytes, { calibrationData: calibration, method: 'minmax', backend: 'sim', accuracy: { minCosine: 0, validationData: validation } });
  const flops = new Map(report.flops.nodes.map((f) => [f.node, f.flops]));
  const compute = report.int8Nodes.filter((n) => (flops.get(n) ?? 0) > 0);
  const others = report.int8Nodes.filter((n) => !compute.includes(n));
  const total = report.flops.total;
  // The sets within the budget; past MAX_SETS of them (each tried twice per method), only
  // the largest ones: those to which no further layer fits the budget.
  const MAX_SETS = 1024;
  const budget = (1 - INT8_SHARE) * total;
  const floatFlopsOf = (mask) => compute.reduce((a, n, i) => a + (mask & (1 << i) ? flops.get(n) : 0), 0);
  if (compute.length > 24) return [`${name}: ${compute.length} Conv/Gemm/MatMul layers, too many sets to try`];
  let masks = [];
  for (let mask = 0; mask < 1 << compute.length; mask++) if (floatFlopsOf(mask) <= budget) masks.push(mask);
  const largestOnly = masks.length > MAX_SETS;
  if (largestOnly) masks = masks.filter((mask) => compute.every((n, i) => mask & (1 << i) || floatFlopsOf(mask) + flops.get(n) > budget));
  if (masks.length > MAX_SETS) return [`${name}: ${compute.length} Conv/Gemm/MatMul layers, more than ${MAX_SETS} largest sets within the budget: too many to try`];
  const lines = [
    `${name}: ${compute.length} Conv/Gemm/MatMul layers (${compute.map((n) => `${n} ${((100 * flops.get(n)) / total).toFixed(1)}%`).join(', ')}), ${others.length} other quantized ops; ${largestOnly ? `${masks.length} largest sets (no further layer fits the budget) of the too many within it` : 'every set within the budget'}`,
  ];
  for (const method of ['entropy', 'minmax', 'percentile']) {
    // Scales from one calibration, read back for every set (the accuracy search does the same).
    const cache = join(tmpdir(), `tensorrt-node-float-budget-${process.pid}-${method}.cache`);
    await quantizeInt8(bytes, { calibrationData: calibration, method, backend: 'sim', calibrationCache: { write: cache } });
    let best = { cosine: -Infinity };
    let sets = 0;
    for (const mask of masks) {
      const kept = compute.filter((_, i) => mask & (1 << i));
      const floatFlops = kept.reduce((a, n) => a + flops.get(n), 0);
      for (const exclude of others.length > 0 ? [kept, [...kept, ...others]] : [kept]) {
        const quantized = await quantizeInt8(bytes, { calibrationCache: { read: cache }, method, backend: 'sim', exclude: { nodeNames: exclude }, logger: quiet });
        const cosine = worstCosine(reference, await runAll(quantized, build, validation));
        sets++;
        if (cosine > best.cosine) best = { cosine, exclude, share: 1 - floatFlops / total };
      }
    }
    rmSync(cache, { force: true });
    lines.push(`  ${method}: ${sets} sets; best ${best.cosine.toFixed(4)} with ${(100 * best.share).toFixed(1)}% INT8 FLOPs, float: ${best.exclude.join(', ') || 'nothing'}`);
  }
  return lines;
}

/** Every measurement of one model, given its float bytes, build options and batches. */
async function measure(name, bytes, build, calibration, validation, same) {
  const row = { name, calib: calibration.length, val: validation.length, same, int8: {} };
  const reference = await runAll(bytes, build, validation);
  if (!values['int8-only']) {
    try {
      // The activation check runs on the calibration batches, as a user with data would have it.
      const float16 = await convertToFloat16(bytes, { calibrationData: calibration, backend: 'sim', ...(build.shapes && { shapes: build.shapes }), logger: quiet });
      row.fp16 = worstCosine(reference, await runAll(float16, build, validation));
    } catch (error) {
      row.fp16 = `error: ${error.message.split('\n')[0]}`;
    }
  }
  for (const method of CALIBRATION_METHODS) {
    const start = performance.now();
    try {
      // 'auto' says through the logger which thresholds it kept.
      const quantized = await quantizeInt8(bytes, { calibrationData: calibration, method, backend: 'sim', logger: method === 'auto' ? chatty : quiet });
      const time = seconds(start);
      row.int8[method] = { cosine: worstCosine(reference, await runAll(quantized, build, validation)), time };
    } catch (error) {
      row.int8[method] = { error: error.message.split('\n')[0] };
    }
    process.stderr.write(`  ${name}: ${method} ${JSON.stringify(row.int8[method])}\n`);
  }
  if (values['int8-only']) return row;
  // The target is sought from the method that did best on its own.
  const ranked = Object.entries(row.int8).filter(([, r]) => r.cosine !== undefined && !Number.isNaN(r.cosine)).sort((a, b) => b[1].cosine - a[1].cosine);
  const method = ranked[0]?.[0] ?? 'minmax';
  const targeted = async (m) => {
    const start = performance.now();
    try {
      const { report } = await quantizeInt8WithReport(bytes, { calibrationData: calibration, method: m, backend: 'sim', accuracy: { minCosine: TARGET, validationData: validation } });
      return { method: m, report, time: seconds(start) };
    } catch (error) {
      return { method: m, error: error.message.split('\n')[0] };
    }
  };
  row.target = await targeted(method);
  // From entropy too (TensorRT's default) where it is not the best: the search then has work to do.
  if (method !== 'entropy' && row.int8.entropy?.cosine !== undefined) row.fromEntropy = await targeted('entropy');
  return row;
}

const toTensors = (feeds) => Object.fromEntries(Object.entries(feeds).map(([n, f]) => [n, f instanceof Tensor ? f : new Tensor(f.dtype, f.data, f.dims)]));
const signature = (feeds) => Object.entries(feeds).map(([n, t]) => `${n}:${t.dims.join('x')}`).join(',');

// PaddleOCR's normalization (ImageNet mean and std for the detector, [-1, 1] for the recognizer).
const IMAGENET = [[0.485, 0.456, 0.406], [0.229, 0.224, 0.225]];
const PAGES = [
  ['ANNUAL REPORT', 'REVENUE UP 12%', 'PAGE 3 OF 40'],
  ['INVOICE 2291', 'TOTAL 1234.56', 'DUE 2025-01-31'],
  ['MEETING NOTES', 'ROOM 4B AT 10:30', 'BRING SLIDES'],
  ['SHIPPING LABEL', 'TO: J. DOE', 'ZIP 94107'],
  ['RECEIPT', 'COFFEE 3.50', 'CASH 5.00 CHANGE 1.50'],
  ['CHAPTER 7', 'THE QUICK BROWN FOX', 'JUMPS OVER THE DOG'],
];
// The text size goes by page, so that even and odd lines (calibration and validation) both hold both sizes.
const textLines = () => PAGES.flatMap((lines, i) => lines.map((line) => ({ x: textLineImage(320, 48, line, 4 + (i % 2)).toNCHW() })));
const pages = () => PAGES.map((lines) => ({ x: documentImage(320, 160, lines).toNCHW(...IMAGENET) }));
/**
 * Models whose manifest gives too few inputs of one shape for separate calibration and
 * validation sets get more from the zoo's own generators, at the manifest's first shape.
 */
/** silero v4's h and c before the first chunk; every later chunk gets the float32 run's. */
const zeroState = { dtype: 'float32', data: new Float32Array(2 * 64), dims: [2, 1, 64] };

const MORE_INPUTS = {
  'PP-OCRv4 text detection': pages,
  'PP-OCRv3 text detection (ch)': pages,
  'PP-OCRv3 text detection (en)': pages,
  'PP-OCRv4 text recognition': textLines,
  'PP-OCRv3 text recognition (en)': textLines,
  'PP-OCRv4 text recognition (en)': textLines,
  // Two more scenes (the manifest's is seed 5): 1024 x 1024 is slow on the sim, so few inputs.
  // vad-web's 1536-sample frames cut the manifest's 3 s into 31 chunks; 6 s more, from two
  // other voices (the state carried on, as over a pause), give it as many as v5 and v6 get.
  'silero VAD v4 (legacy)': () =>
    [12, 13].flatMap((voice) => vadChunks(voice, V4_CHUNK).map((chunk) => ({ input: { dtype: 'float32', data: chunk, dims: [1, V4_CHUNK] }, h: zeroState, c: zeroState }))),
  'IS-Net background removal (img.ly medium)': () => [6, 7].map((seed) => ({ input: sceneImage(1024, 1024, seed).toNCHW([128 / 255, 128 / 255, 128 / 255], [256 / 255, 256 / 255, 256 / 255]) })),
};

/**
 * A stateless step whose every input holds n > 1 items along axis 0, where the profile accepts
 * a batch of one, as n steps of one item (openWakeWord's embedding windows): more batches to
 * calibrate and validate on, from the same realistic data.
 */
function splitBatch(feeds, build) {
  const profile = build.profiles?.[0];
  const entries = Object.entries(feeds);
  const n = entries[0][1].dims[0];
  if (!profile || !(n > 1) || entries.some(([name, t]) => t.dims[0] !== n || profile[name]?.min?.[0] !== 1 || t.dtype !== 'float32')) return [feeds];
  return Array.from({ length: n }, (_, i) =>
    Object.fromEntries(
      entries.map(([name, t]) => {
        const size = t.data.length / n;
        return [name, new Tensor('float32', t.data.slice(i * size, (i + 1) * size), [1, ...t.dims.slice(1)])];
      }),
    ),
  );
}

/** A zoo entry's steps as feeds, state carried from the float32 run on the sim. */
async function zooBatches(entry, bytes, steps, build) {
  const engine = await buildEngine(bytes, { backend: 'sim', ...build });
  const session = await InferenceSession.create(engine, { backend: 'sim' });
  const feedsList = [];
  try {
    let previous;
    for (const step of steps.steps) {
      const feeds = toTensors(step);
      if (steps.carry && previous) for (const [from, to] of Object.entries(steps.carry)) feeds[to] = previous[from];
      feedsList.push(feeds);
      previous = await session.run(feeds);
    }
  } finally {
    session.dispose();
  }
  const groups = new Map();
  for (const f of feedsList.flatMap((feeds) => splitBatch(feeds, build))) groups.set(signature(f), [...(groups.get(signature(f)) ?? []), f]);
  const largest = [...groups.values()].sort((a, b) => b.length - a.length)[0];
  // Fewer than 5: the last one validates, unseen by calibration; a single one has to do both.
  if (largest.length === 1) return { calibration: largest, validation: largest, same: true };
  if (largest.length < 5) return { calibration: largest.slice(0, -1), validation: largest.slice(-1), same: false };
  return { calibration: largest.filter((_, i) => i % 2 === 0), validation: largest.filter((_, i) => i % 2 === 1), same: false };
}

async function zooRow(entry, context) {
  const original = loadModel(entry);
  const input = await entry.inputs(context);
  const constants = entry.prepare?.constants ?? {};
  const bytes = entry.prepare ? await fixInputs(original, constants, entry.prepare.shapes) : original;
  const given = [...input.steps, ...(MORE_INPUTS[entry.name]?.() ?? [])];
  const steps = { ...input, steps: given.map((s) => Object.fromEntries(Object.entries(s).filter(([n]) => !(n in constants)))) };
  const build = entry.build ?? {};
  const { calibration, validation, same } = await zooBatches(entry, bytes, steps, build);
  if (values['float-budget']) return { name: entry.name, budget: await floatBudget(entry.name, bytes, build, calibration, validation) };
  return measure(entry.name, bytes, build, calibration, validation, same);
}

// ---- the 25 MB test network: five Conv + ReLU and a MatMul, He-initialized --------------

let seed = 99;
const random = (n, scale) =>
  Float32Array.from({ length: n }, () => {
    seed = (seed * 1103515245 + 12345) % 2147483648;
    return (seed / 1073741824 - 1) * scale;
  });

function convNetwork() {
  const initializers = [];
  const nodes = [];
  let x = 'x';
  [[3, 64], [64, 128], [128, 256], [256, 512]].forEach(([cin, cout], i) => {
    initializers.push(makeTensor(`w${i}`, 'float32', [cout, cin, 3, 3], random(cout * cin * 9, Math.sqrt(6 / (cin * 9)))));
    initializers.push(makeTensor(`b${i}`, 'float32', [cout], random(cout, 0.1)));
    nodes.push({ op: 'Conv', name: `conv${i}`, inputs: [x, `w${i}`, `b${i}`], outputs: [`c${i}`], attributes: { kernel_shape: [3, 3], strides: [2, 2], pads: [1, 1, 1, 1] } });
    nodes.push({ op: 'Relu', inputs: [`c${i}`], outputs: [`r${i}`] });
    x = `r${i}`;
  });
  initializers.push(makeTensor('w4', 'float32', [512, 512, 3, 3], random(512 * 512 * 9, Math.sqrt(6 / 4608))));
  nodes.push({ op: 'Conv', name: 'conv4', inputs: [x, 'w4'], outputs: ['c4'], attributes: { kernel_shape: [3, 3], pads: [1, 1, 1, 1] } });
  nodes.push({ op: 'Relu', inputs: ['c4'], outputs: ['r4'] });
  nodes.push({ op: 'Flatten', inputs: ['r4'], outputs: ['f'] });
  initializers.push(makeTensor('fw', 'float32', [8192, 320], random(8192 * 320, Math.sqrt(3 / 8192))));
  nodes.push({ op: 'MatMul', name: 'fc', inputs: ['f', 'fw'], outputs: ['y'] });
  return makeModel({
    inputs: [{ name: 'x', dtype: 'float32', shape: [1, 3, 64, 64] }],
    outputs: [{ name: 'y', dtype: 'float32', shape: [1, 320] }],
    initializers,
    nodes,
  });
}

// ---- the table ---------------------------------------------------------------------------

/** Cosine, layers kept float and INT8 FLOP share of a targeted run, in one cell. */
function brief(t) {
  if (!t) return '-';
  if (t.error) return 'error';
  const f = t.report.flops;
  return `${fmt(t.report.accuracy.cosine)}${t.report.accuracy.met ? '' : ' (NOT met)'}, ${t.report.floatNodes.length} float, ${f.total === 0 ? '-' : `${(100 * f.int8Share).toFixed(1)}%`} INT8 FLOPs, ${t.time.toFixed(1)} s`;
}

const fmt = (c) => (typeof c === 'string' ? c : Number.isNaN(c) ? 'NaN' : c.toFixed(4));
const short = (text) => (text.length > 60 ? `${text.slice(0, 57)}...` : text);
function line(r) {
  const int8 = CALIBRATION_METHODS.map((m) => {
    const x = r.int8[m];
    return x.error ? `error: ${short(x.error)}` : `${fmt(x.cosine)} (${x.time.toFixed(1)} s)`;
  });
  let target;
  if (!r.target) target = ['-', '-', '-', '-'];
  else if (r.target.error) target = [`${r.target.method}: error`, '-', '-', '-'];
  else {
    const { report, time, method } = r.target;
    const f = report.flops;
    // quantizeInt8 and the FLOP count see the main graph only: If/Loop bodies stay float.
    const share = f.total === 0 ? 'none in the main graph' : `${(100 * f.int8Share).toFixed(1)}%`;
    target = [
      `${method}: ${fmt(report.accuracy.cosine)}${report.accuracy.met ? '' : ' (NOT met)'}`,
      `${report.floatNodes.length} of ${report.floatNodes.length + report.int8Nodes.length}${report.floatNodes.length ? ` (${report.floatNodes.map((n) => n.name).slice(0, 4).join(', ')}${report.floatNodes.length > 4 ? ', ...' : ''})` : ''}`,
      share,
      `${time.toFixed(1)} s, ${report.accuracy.evaluations} evals`,
    ];
  }
  return `| ${r.name} | ${r.calib}/${r.val}${r.same ? ' same' : ''} | ${r.fp16 === undefined ? '-' : short(fmt(r.fp16))} | ${int8.join(' | ')} | ${target.join(' | ')} | ${brief(r.fromEntropy)} |`;
}

const rows = [];
const header = [
  `| model | calib/val batches | fp16 | ${CALIBRATION_METHODS.map((m) => `int8 ${m} (calib time)`).join(' | ')} | target ${TARGET}: method, cosine | layers kept float | INT8 FLOP share | search time | target ${TARGET} from entropy |`,
  `| --- | --- | --- | ${CALIBRATION_METHODS.map(() => '---').join(' | ')} | --- | --- | --- | --- | --- |`,
];
if (!values['no-network'] && !values['float-budget'] && (!filter || filter.test('test network'))) {
  const bytes = convNetwork();
  const batch = () => ({ x: new Tensor('float32', random(3 * 64 * 64, 1), [1, 3, 64, 64]) });
  const calibration = Array.from({ length: 100 }, batch);
  const validation = Array.from({ length: 20 }, batch);
  process.stderr.write(`test network: ${(bytes.byteLength / 1e6).toFixed(1)} MB\n`);
  rows.push(await measure(`test network: 5 Conv + MatMul, ${(bytes.byteLength / 1e6).toFixed(1)} MB`, bytes, {}, calibration, validation, false));
  process.stderr.write(`${line(rows.at(-1))}\n`);
}
if (!values['no-zoo']) {
  const context = makeContext(manifest);
  for (const entry of manifest.filter((e) => !filter || filter.test(e.name))) {
    if (!isCached(entry)) {
      process.stderr.write(`${entry.name}: not cached (npm run zoo fetches it)\n`);
      continue;
    }
    process.stderr.write(`${entry.name}...\n`);
    try {
      rows.push(await zooRow(entry, context));
      if (!values['float-budget']) process.stderr.write(`${line(rows.at(-1))}\n`);
    } catch (error) {
      process.stderr.write(`${entry.name}: ${error.message.split('\n')[0]}\n`);
      rows.push({ name: entry.name, failed: error.message.split('\n')[0] });
    }
  }
}
if (values['float-budget']) console.log(rows.flatMap((r) => r.budget ?? [`${r.name}: failed: ${r.failed}`]).join('\n'));
else console.log([...header, ...rows.map((r) => (r.failed ? `| ${r.name} | failed: ${r.failed} |` : line(r)))].join('\n'));
