// The sim's latency next to onnxruntime-node on one CPU thread (intraOpNumThreads 1), side by
// side in one process: every network runs on both, interleaved in rounds so that machine noise
// hits both alike, and the table reports medians, the ratio sim / ort, and how far the two
// outputs are apart. Networks: the pytorch-converted cases of ONNX's test data that the sim
// can build, and ResNet-style blocks made here. Goal: ratio <= 3 on convolution-heavy networks.
//
//   npm run bench:sim                 (BENCH_ROUNDS=9 BENCH_MIN_MS=40 by default)
import { existsSync, readdirSync, readFileSync } from 'node:fs';
import { join } from 'node:path';

import { fromBinary } from '@bufbuild/protobuf';
import * as ort from 'onnxruntime-node';
import { ModelProtoSchema, TensorProtoSchema } from 'onnx-buf';
import { buildEngine, InferenceSession, Tensor } from 'tensorrt-node';
import { makeModel, makeTensor } from 'tensorrt-node/onnx';

const ROUNDS = Number(process.env.BENCH_ROUNDS ?? 9);
const MIN_MS = Number(process.env.BENCH_MIN_MS ?? 40); // time per round and engine, at least
const PYTORCH = '/usr/share/libonnx-testdata/data/pytorch-converted';

// ---- networks -----------------------------------------------------------------------------

// Deterministic pseudo-random weights (xorshift32), scaled like He initialization so that
// activations keep their magnitude through the blocks.
function random(count, scale, seed) {
  const out = new Float32Array(count);
  let s = seed >>> 0 || 1;
  for (let i = 0; i < count; i++) {
    s ^= s << 13;
    s ^= s >>> 17;
    s ^= s << 5;
    out[i] = ((s >>> 0) / 4294967296 - 0.5) * 2 * scale;
  }
  return out;
}

let seed = 1;
function conv(nodes, inits, x, y, cin, cout, k, { stride = 1, relu = false } = {}) {
  const w = `${y}_w`;
  const b = `${y}_b`;
  inits.push(makeTensor(w, 'float32', [cout, cin, k, k], random(cout * cin * k * k, Math.sqrt(6 / (cin * k * k)), seed++)));
  inits.push(makeTensor(b, 'float32', [cout], random(cout, 0.1, seed++)));
  const pad = (k - 1) >> 1;
  const out = relu ? `${y}_pre` : y;
  nodes.push({ op: 'Conv', inputs: [x, w, b], outputs: [out], attributes: { kernel_shape: [k, k], strides: [stride, stride], pads: [pad, pad, pad, pad] } });
  if (relu) nodes.push({ op: 'Relu', inputs: [out], outputs: [y] });
}

function built(name, inputShape, body) {
  const nodes = [];
  const inits = [];
  const { output, shape } = body(nodes, inits);
  const model = makeModel({
    inputs: [{ name: 'x', dtype: 'float32', shape: inputShape }],
    outputs: [{ name: output, dtype: 'float32', shape }],
    nodes,
    initializers: inits,
    opset: 13,
  });
  const count = inputShape.reduce((a, b) => a * b, 1);
  return { name, model, inputs: { x: { dims: inputShape, data: random(count, 1, 7) } }, convHeavy: true };
}

// Basic ResNet block (ResNet-18/34, stage 1): conv3x3-relu-conv3x3, identity skip, relu.
const basicBlock = built('resnet basic block 64x56x56', [1, 64, 56, 56], (nodes, inits) => {
  conv(nodes, inits, 'x', 'c1', 64, 64, 3, { relu: true });
  conv(nodes, inits, 'c1', 'c2', 64, 64, 3);
  nodes.push({ op: 'Add', inputs: ['c2', 'x'], outputs: ['sum'] });
  nodes.push({ op: 'Relu', inputs: ['sum'], outputs: ['y'] });
  return { output: 'y', shape: [1, 64, 56, 56] };
});

// Bottleneck block (ResNet-50, stage 1): 1x1 reduce, 3x3, 1x1 expand, identity skip, relu.
const bottleneck = built('resnet bottleneck 256x56x56', [1, 256, 56, 56], (nodes, inits) => {
  conv(nodes, inits, 'x', 'r', 256, 64, 1, { relu: true });
  conv(nodes, inits, 'r', 'm', 64, 64, 3, { relu: true });
  conv(nodes, inits, 'm', 'e', 64, 256, 1);
  nodes.push({ op: 'Add', inputs: ['e', 'x'], outputs: ['sum'] });
  nodes.push({ op: 'Relu', inputs: ['sum'], outputs: ['y'] });
  return { output: 'y', shape: [1, 256, 56, 56] };
});

// ResNet stem: 7x7 stride-2 conv, relu, 3x3 stride-2 max pool, then a strided 3x3 conv.
const stem = built('resnet stem 3x224x224', [1, 3, 224, 224], (nodes, inits) => {
  conv(nodes, inits, 'x', 's', 3, 64, 7, { stride: 2, relu: true });
  nodes.push({ op: 'MaxPool', inputs: ['s'], outputs: ['p'], attributes: { kernel_shape: [3, 3], strides: [2, 2], pads: [1, 1, 1, 1] } });
  conv(nodes, inits, 'p', 'y', 64, 128, 3, { stride: 2, relu: true });
  return { output: 'y', shape: [1, 128, 28, 28] };
});

function tensorFromProto(bytes) {
  const p = fromBinary(TensorProtoSchema, bytes);
  if (p.dataType !== 1) return undefined; // float32 only
  const dims = p.dims.map(Number);
  const data = p.rawData.byteLength > 0 ? new Float32Array(new Uint8Array(p.rawData).buffer) : Float32Array.from(p.floatData);
  return { dims, data };
}

function pytorchNetworks() {
  if (!existsSync(PYTORCH)) return [];
  const nets = [];
  for (const dir of readdirSync(PYTORCH).sort()) {
    const base = join(PYTORCH, dir);
    const model = readFileSync(join(base, 'model.onnx'));
    const graph = fromBinary(ModelProtoSchema, model).graph;
    const inits = new Set(graph.initializer.map((t) => t.name));
    const names = graph.input.map((i) => i.name).filter((n) => !inits.has(n));
    const set = join(base, 'test_data_set_0');
    if (!existsSync(set)) continue;
    const tensors = names.map((_, i) => (existsSync(join(set, `input_${i}.pb`)) ? tensorFromProto(readFileSync(join(set, `input_${i}.pb`))) : undefined));
    if (tensors.some((t) => !t)) continue;
    const convHeavy = graph.node.some((n) => n.opType === 'Conv' || n.opType === 'ConvTranspose');
    nets.push({ name: dir.replace(/^test_/, ''), model, inputs: Object.fromEntries(names.map((n, i) => [n, tensors[i]])), convHeavy });
  }
  return nets;
}

// ---- measurement --------------------------------------------------------------------------

async function prepare(net) {
  const shapes = Object.fromEntries(Object.entries(net.inputs).map(([n, t]) => [n, t.dims]));
  let sim;
  try {
    sim = await InferenceSession.create(await buildEngine(net.model, { backend: 'sim', shapes }), { backend: 'sim' });
  } catch {
    return undefined; // an operator the sim does not run yet
  }
  let ortSession;
  try {
    ortSession = await ort.InferenceSession.create(net.model, {
      intraOpNumThreads: 1,
      interOpNumThreads: 1,
      executionMode: 'sequential',
      graphOptimizationLevel: 'all',
      logSeverityLevel: 3,
    });
  } catch (error) {
    sim.dispose();
    return { ortError: error.message.split('\n')[0] };
  }
  const simFeeds = Object.fromEntries(Object.entries(net.inputs).map(([n, t]) => [n, new Tensor('float32', t.data, t.dims)]));
  const ortFeeds = Object.fromEntries(Object.entries(net.inputs).map(([n, t]) => [n, new ort.Tensor('float32', t.data, t.dims)]));
  return {
    sim,
    ortSession,
    runSim: () => sim.run(simFeeds),
    runOrt: () => ortSession.run(ortFeeds),
  };
}

// Mean milliseconds per call over `calls` calls.
async function time(fn, calls) {
  const start = process.hrtime.bigint();
  for (let i = 0; i < calls; i++) await fn();
  return Number(process.hrtime.bigint() - start) / 1e6 / calls;
}

const median = (xs) => [...xs].sort((a, b) => a - b)[Math.floor(xs.length / 2)];

function maxAbsDiff(simOut, ortOut) {
  let worst = 0;
  for (const [name, t] of Object.entries(ortOut)) {
    const a = simOut[name].toFloat32();
    const b = t.data;
    if (a.length !== b.length) return Infinity;
    for (let i = 0; i < b.length; i++) worst = Math.max(worst, Math.abs(a[i] - b[i]));
  }
  return worst;
}

async function measure(net) {
  const p = await prepare(net);
  if (!p) return { skip: 'sim' };
  if (p.ortError) return { skip: 'ort' };
  try {
    const diff = maxAbsDiff(await p.runSim(), await p.runOrt());
    // Warm up both, then size the rounds so each engine runs for at least MIN_MS per round.
    const simOnce = await time(p.runSim, 2);
    const ortOnce = await time(p.runOrt, 2);
    const simCalls = Math.max(1, Math.ceil(MIN_MS / simOnce));
    const ortCalls = Math.max(1, Math.ceil(MIN_MS / ortOnce));
    const simMs = [];
    const ortMs = [];
    for (let r = 0; r < ROUNDS; r++) {
      simMs.push(await time(p.runSim, simCalls));
      ortMs.push(await time(p.runOrt, ortCalls));
    }
    const sim = median(simMs);
    const ortMedian = median(ortMs);
    return { name: net.name, convHeavy: net.convHeavy, sim, ort: ortMedian, ratio: sim / ortMedian, diff };
  } finally {
    p.sim.dispose();
    await p.ortSession.release?.();
  }
}

// ---- report -------------------------------------------------------------------------------

const filter = process.env.BENCH_FILTER ? new RegExp(process.env.BENCH_FILTER) : undefined;
const networks = [basicBlock, bottleneck, stem, ...pytorchNetworks()].filter((n) => !filter || filter.test(n.name));
ort.env.logLevel = 'error';
const rows = [];
const skipped = { sim: [], ort: [] };
for (const net of networks) {
  const row = await measure(net);
  if (row.skip) skipped[row.skip].push(net.name);
  else rows.push(row);
}

const fmt = (ms) => (ms >= 1 ? `${ms.toFixed(2)} ms` : `${(ms * 1000).toFixed(1)} us`);
const width = Math.max(8, ...rows.map((r) => r.name.length));
console.log(`sim vs onnxruntime-node ${ort.env.versions?.common ?? ''} (1 thread), median of ${ROUNDS} rounds, >= ${MIN_MS} ms each`);
console.log(`${'network'.padEnd(width)}  ${'sim'.padStart(10)}  ${'ort'.padStart(10)}  ${'sim/ort'.padStart(7)}  max|diff|  conv`);
for (const r of rows) {
  console.log(
    `${r.name.padEnd(width)}  ${fmt(r.sim).padStart(10)}  ${fmt(r.ort).padStart(10)}  ${r.ratio.toFixed(2).padStart(7)}  ${r.diff.toExponential(1).padStart(9)}  ${r.convHeavy ? 'yes' : ''}`,
  );
}
if (skipped.sim.length) console.log(`not run, operators the sim lacks: ${skipped.sim.join(', ')}`);
if (skipped.ort.length) console.log(`not run, onnxruntime refuses the model (opset < 7): ${skipped.ort.join(', ')}`);
const heavy = rows.filter((r) => r.convHeavy && r.ort >= 0.5);
if (heavy.length) {
  const worst = heavy.reduce((a, b) => (b.ratio > a.ratio ? b : a));
  console.log(`worst ratio on convolution-heavy networks (ort >= 0.5 ms): ${worst.ratio.toFixed(2)} (${worst.name}); goal <= 3`);
}
