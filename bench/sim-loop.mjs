// The sim on control flow: milliseconds per call of models whose time goes into Loop and Scan
// bodies (a 1000-iteration Loop, a Loop of 100 iterations around an inner Loop of 10, a
// 1000-step Scan, all made here) and of silero VAD v5 and v6 from the zoo (If branches around
// their LSTM; when cached: `npm run zoo -- --fetch-only`), with onnxruntime-node on one thread
// beside them for scale. Per BENCH_ROUNDS rounds (each at least BENCH_MIN_MS long) the median
// and the fastest round: on a shared machine the fastest is the steadier figure.
// TENSORRT_NODE_ADDON=<path> times another build of the addon (before/after a change).
//
//   npm run bench:loop                   (BENCH_ROUNDS=7 BENCH_MIN_MS=200 by default)
//   BENCH_FILTER=Scan npm run bench:loop
import * as ort from 'onnxruntime-node';
import { buildEngine, InferenceSession, Tensor } from 'tensorrt-node';
import { makeModel, makeTensor } from 'tensorrt-node/onnx';

import { fixInputs, isCached, loadModel, makeContext } from '../test/zoo/harness.mjs';
import { manifest } from '../test/zoo/models.mjs';

const ROUNDS = Number(process.env.BENCH_ROUNDS ?? 7);
const MIN_MS = Number(process.env.BENCH_MIN_MS ?? 200);
const filter = process.env.BENCH_FILTER ? new RegExp(process.env.BENCH_FILTER, 'i') : undefined;
const WIDTH = 16;

const f32 = (name, shape) => ({ name, dtype: 'float32', shape });
const i64 = (name, shape = []) => ({ name, dtype: 'int64', shape });
const bool = (name, shape = []) => ({ name, dtype: 'bool', shape });

function weights(name, count, seed) {
  const values = new Float32Array(count);
  for (let i = 0; i < count; i++) values[i] = Math.sin(seed * 7.31 + i * 1.7) * (1 / Math.sqrt(WIDTH));
  return makeTensor(name, 'float32', [WIDTH, WIDTH], values);
}

// One recurrent step: h' = tanh(h W + x), W and x read from the outer scope.
const step = (h, out) => [
  { op: 'MatMul', inputs: [h, 'W'], outputs: [`${out}_mm`] },
  { op: 'Add', inputs: [`${out}_mm`, 'x'], outputs: [`${out}_pre`] },
  { op: 'Tanh', inputs: [`${out}_pre`], outputs: [out] },
];

// A Loop body carrying `h`; value names start with `p` (names are unique across nesting levels).
const loopBody = (p, extra) => ({
  inputs: [i64(`${p}i`), bool(`${p}c`), f32(`${p}h`, [1, WIDTH])],
  outputs: [bool(`${p}c_out`), f32(`${p}h_out`, [1, WIDTH]), f32(`${p}row`, [1, WIDTH])],
  nodes: [{ op: 'Identity', inputs: [`${p}c`], outputs: [`${p}c_out`] }, ...extra, { op: 'Identity', inputs: [`${p}h_out`], outputs: [`${p}row`] }],
});

function loopModel(trips) {
  return makeModel({
    inputs: [f32('x', [1, WIDTH]), f32('h0', [1, WIDTH])],
    outputs: [f32('h', [1, WIDTH]), f32('rows', [trips, 1, WIDTH])],
    initializers: [weights('W', WIDTH * WIDTH, 1), makeTensor('M', 'int64', [], [BigInt(trips)])],
    nodes: [{ op: 'Loop', inputs: ['M', '', 'h0'], outputs: ['h', 'rows'], attributes: { body: { graph: loopBody('', step('h', 'h_out')) } } }],
  });
}

// An outer Loop whose body runs an inner Loop of `inner` steps on its carried value.
function nestedLoopModel(outer, inner) {
  const innerBody = loopBody('inner_', step('inner_h', 'inner_h_out'));
  const outerBody = loopBody('', [{ op: 'Loop', inputs: ['N', '', 'h'], outputs: ['h_out', 'inner_rows'], attributes: { body: { graph: innerBody } } }]);
  return makeModel({
    inputs: [f32('x', [1, WIDTH]), f32('h0', [1, WIDTH])],
    outputs: [f32('h', [1, WIDTH]), f32('rows', [outer, 1, WIDTH])],
    initializers: [weights('W', WIDTH * WIDTH, 2), makeTensor('M', 'int64', [], [BigInt(outer)]), makeTensor('N', 'int64', [], [BigInt(inner)])],
    nodes: [{ op: 'Loop', inputs: ['M', '', 'h0'], outputs: ['h', 'rows'], attributes: { body: { graph: outerBody } } }],
  });
}

// Scan over `steps` rows of xs: h' = tanh(h W + x_t).
function scanModel(steps) {
  const body = {
    inputs: [f32('h', [1, WIDTH]), f32('xt', [1, WIDTH])],
    outputs: [f32('h_out', [1, WIDTH]), f32('row', [1, WIDTH])],
    nodes: [
      { op: 'MatMul', inputs: ['h', 'W'], outputs: ['mm'] },
      { op: 'Add', inputs: ['mm', 'xt'], outputs: ['pre'] },
      { op: 'Tanh', inputs: ['pre'], outputs: ['h_out'] },
      { op: 'Identity', inputs: ['h_out'], outputs: ['row'] },
    ],
  };
  return makeModel({
    inputs: [f32('xs', [steps, 1, WIDTH]), f32('h0', [1, WIDTH])],
    outputs: [f32('h', [1, WIDTH]), f32('rows', [steps, 1, WIDTH])],
    initializers: [weights('W', WIDTH * WIDTH, 3)],
    nodes: [{ op: 'Scan', inputs: ['h0', 'xs'], outputs: ['h', 'rows'], attributes: { num_scan_inputs: 1, body: { graph: body } } }],
  });
}

const ramp = (n, scale) => ({ dtype: 'float32', data: Float32Array.from({ length: n }, (_, i) => Math.cos(i * 0.37) * scale), dims: undefined });

function made() {
  const h0 = { ...ramp(WIDTH, 0.1), dims: [1, WIDTH] };
  const x = { ...ramp(WIDTH, 0.5), dims: [1, WIDTH] };
  return [
    { name: 'Loop, 1000 iterations', model: loopModel(1000), steps: [{ x, h0 }] },
    { name: 'Loop of 100 around a Loop of 10', model: nestedLoopModel(100, 10), steps: [{ x, h0 }] },
    { name: 'Scan, 1000 steps', model: scanModel(1000), steps: [{ xs: { ...ramp(1000 * WIDTH, 0.5), dims: [1000, 1, WIDTH] }, h0 }] },
  ];
}

// silero v5 and v6 as the zoo runs them: prepared (sr constant, static dims), state fed back.
async function silero() {
  const context = makeContext(manifest);
  const nets = [];
  for (const entry of manifest.filter((e) => /silero VAD v[56]/.test(e.name))) {
    if (!isCached(entry)) {
      console.log(`${entry.name} is not cached; run npm run zoo -- --fetch-only`);
      continue;
    }
    const original = loadModel(entry);
    const { steps, carry } = await entry.inputs(context);
    const constants = entry.prepare.constants;
    const simSteps = steps.map((s) => Object.fromEntries(Object.entries(s).filter(([n]) => !(n in constants))));
    nets.push({ name: entry.name, model: await fixInputs(original, constants, entry.prepare.shapes), ortModel: original, steps: simSteps, ortSteps: steps, carry });
  }
  return nets;
}

async function runners(net) {
  const engine = await buildEngine(net.model, { backend: 'sim' });
  const session = await InferenceSession.create(engine, { backend: 'sim' });
  const ortSession = await ort.InferenceSession.create(net.ortModel ?? net.model, { intraOpNumThreads: 1, interOpNumThreads: 1, logSeverityLevel: 3 });
  const feedAll = async (steps, run) => {
    let previous;
    for (const s of steps) {
      const feeds = { ...s };
      if (net.carry && previous) for (const [from, to] of Object.entries(net.carry)) feeds[to] = previous[from];
      previous = await run(feeds);
    }
  };
  return {
    sim: () =>
      feedAll(net.steps, async (feeds) => {
        const out = await session.run(Object.fromEntries(Object.entries(feeds).map(([n, f]) => [n, new Tensor(f.dtype, f.data, f.dims)])));
        return Object.fromEntries(Object.entries(out).map(([n, t]) => [n, { dtype: 'float32', data: t.toFloat32(), dims: [...t.dims] }]));
      }),
    ort: () =>
      feedAll(net.ortSteps ?? net.steps, async (feeds) => {
        const out = await ortSession.run(Object.fromEntries(Object.entries(feeds).map(([n, f]) => [n, new ort.Tensor(f.dtype, f.data, f.dims)])));
        return Object.fromEntries(Object.entries(out).map(([n, t]) => [n, { dtype: 'float32', data: t.data, dims: [...t.dims] }]));
      }),
    dispose: async () => {
      session.dispose();
      await ortSession.release();
    },
  };
}

async function msPerCall(fn) {
  const start = process.hrtime.bigint();
  let calls = 0;
  do {
    await fn();
    calls++;
  } while (Number(process.hrtime.bigint() - start) / 1e6 < MIN_MS);
  return Number(process.hrtime.bigint() - start) / 1e6 / calls;
}

const median = (xs) => [...xs].sort((a, b) => a - b)[Math.floor(xs.length / 2)];

const nets = [...made(), ...(await silero())].filter((n) => !filter || filter.test(n.name));
console.log('| model | sim ms/call (median, fastest) | onnxruntime ms/call, 1 thread (median, fastest) | sim / ort (medians) |');
console.log('| --- | ---: | ---: | ---: |');
for (const net of nets) {
  const r = await runners(net);
  try {
    await r.sim();
    await r.ort();
    const sim = [];
    const ortMs = [];
    for (let k = 0; k < ROUNDS; k++) {
      sim.push(await msPerCall(r.sim));
      ortMs.push(await msPerCall(r.ort));
    }
    const [s, o] = [median(sim), median(ortMs)];
    const calls = net.steps.length > 1 ? ` (${net.steps.length} chunks)` : '';
    const pair = (m, xs) => `${m.toFixed(3)}, ${Math.min(...xs).toFixed(3)}`;
    console.log(`| ${net.name}${calls} | ${pair(s, sim)} | ${pair(o, ortMs)} | ${(s / o).toFixed(2)} |`);
  } finally {
    await r.dispose();
  }
}
