// The cost of one execute() round trip on a tiny sim engine, next to its floor: a bare no-op
// AsyncWorker promise through the same addon. Both are measured in one run, interleaved in
// rounds so that machine noise hits them alike; the ratio is what matters. Goal: <= 1.5.
import { buildEngine, Runtime, Tensor } from 'tensorrt-node';
import { makeModel } from 'tensorrt-node/onnx';
import { native } from '../dist/native.js';

const CALLS = Number(process.env.BENCH_CALLS ?? 2000);
const ROUNDS = Number(process.env.BENCH_ROUNDS ?? 15);

const model = makeModel({
  inputs: [
    { name: 'a', dtype: 'float32', shape: [4] },
    { name: 'b', dtype: 'float32', shape: [4] },
  ],
  outputs: [{ name: 'y', dtype: 'float32', shape: [4] }],
  nodes: [{ op: 'Add', inputs: ['a', 'b'], outputs: ['y'] }],
});
const runtime = new Runtime({ backend: 'sim' });
const engine = await runtime.deserializeCudaEngine(await buildEngine(model, { backend: 'sim' }));
const context = engine.createExecutionContext();
const feeds = { a: new Tensor('float32', [1, 2, 3, 4]), b: new Tensor('float32', [5, 6, 7, 8]) };

async function time(fn) {
  const start = process.hrtime.bigint();
  for (let i = 0; i < CALLS; i++) await fn();
  return Number(process.hrtime.bigint() - start) / 1e3 / CALLS; // microseconds per call
}

const execute = () => context.execute(feeds);
const noop = () => native.noop();
for (let i = 0; i < 3; i++) {
  await time(execute);
  await time(noop);
}
const samples = { execute: [], noop: [] };
for (let r = 0; r < ROUNDS; r++) {
  samples.execute.push(await time(execute));
  samples.noop.push(await time(noop));
}
const median = (xs) => [...xs].sort((a, b) => a - b)[Math.floor(xs.length / 2)];
const e = median(samples.execute);
const n = median(samples.noop);
console.log(`execute() round trip, tiny sim engine: ${e.toFixed(1)} us (median of ${ROUNDS} rounds x ${CALLS} calls)`);
console.log(`no-op AsyncWorker round trip (floor):  ${n.toFixed(1)} us`);
console.log(`ratio execute / floor: ${(e / n).toFixed(2)} (goal <= 1.5)`);
runtime.dispose();
