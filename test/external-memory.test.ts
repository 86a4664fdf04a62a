// Engines and contexts report the native memory they hold to V8 as external memory
// (native/binding/external_memory.h), so the garbage collector collects sessions dropped
// without dispose() before memory runs out, rather than when its own heap, a few kilobytes per
// session, fills.
//
// 2,000 sessions of a 10 MB engine (a 1600 x 1600 float32 MatMul weight) are created and
// dropped. Each holds about 20 MB on the sim (the plan, kept for serialize(), and the graph's
// weights): 40 GB if none were collected. The bound, 1 GiB, is the child's baseline (about
// 160 MB: node, the addon, the engine bytes) plus what V8 lets external memory grow between
// collections (its soft limit is 64 MB above the last mark, raised as the heap grows) plus
// engines awaiting their finalizers, with room for a loaded machine; measured: a plateau near
// 350 MB. The child stops as soon as RSS crosses the bound, so a regression fails fast instead
// of exhausting the machine. RSS is only sampled between sessions: no timing is involved.
import { spawn } from 'node:child_process';
import { mkdtempSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';

import { afterAll, describe, expect, it } from 'vitest';

import { buildEngine } from '../lib/index.js';
import { makeModel, makeTensor } from '../lib/onnx/model-builder.js';
import { randomFloats } from './fixtures/models.js';

const entry = new URL('../dist/index.js', import.meta.url).href;
const dir = mkdtempSync(join(tmpdir(), 'tensorrt-node-external-memory-'));
afterAll(() => rmSync(dir, { recursive: true, force: true }));

const SESSIONS = 2000;
const BOUND = 1 << 30;

function child(source: string): Promise<{ code: number | null; stdout: string; stderr: string }> {
  return new Promise((resolve) => {
    const proc = spawn(process.execPath, ['--input-type=module', '-e', source], { stdio: ['ignore', 'pipe', 'pipe'] });
    let stdout = '';
    let stderr = '';
    proc.stdout.on('data', (d) => (stdout += d));
    proc.stderr.on('data', (d) => (stderr += d));
    proc.on('close', (code) => resolve({ code, stdout, stderr }));
  });
}

describe('native memory reported to the garbage collector', () => {
  it(`${SESSIONS} sessions of a 10 MB engine dropped without dispose() stay under 1 GiB of RSS`, async () => {
    const n = 1600;
    const model = makeModel({
      inputs: [{ name: 'x', dtype: 'float32', shape: [1, n] }],
      outputs: [{ name: 'y', dtype: 'float32', shape: [1, n] }],
      initializers: [makeTensor('W', 'float32', [n, n], randomFloats(n * n, 9))],
      nodes: [{ op: 'MatMul', inputs: ['x', 'W'], outputs: ['y'] }],
    });
    const engine = await buildEngine(model, { backend: 'sim' });
    expect(engine.byteLength).toBeGreaterThan(10_000_000);
    const enginePath = join(dir, 'matmul.engine');
    writeFileSync(enginePath, engine);
    const x = randomFloats(n, 3);
    const result = await child(`
const { InferenceSession, Tensor } = await import(${JSON.stringify(entry)});
const { readFileSync } = await import('node:fs');
const engine = readFileSync(${JSON.stringify(enginePath)});
const x = new Tensor('float32', Float32Array.from(${JSON.stringify(Array.from(x.subarray(0, 4)))}.concat(new Array(${n - 4}).fill(0))), [1, ${n}]);
let peak = 0, first;
for (let i = 0; i < ${SESSIONS}; i++) {
  const session = await InferenceSession.create(engine, { backend: 'sim' });
  // Every 100th session runs once, so that contexts with grown buffers are dropped too.
  if (i % 100 === 0) first ??= Array.from((await session.run({ x })).y.data.subarray(0, 2));
  peak = Math.max(peak, process.memoryUsage.rss());
  if (peak > ${BOUND}) break;
}
console.log(JSON.stringify({ peak, first }));
`);
    expect(result.code, result.stderr).toBe(0);
    const out = JSON.parse(result.stdout) as { peak: number; first: number[] };
    expect(out.peak, `peak RSS ${(out.peak / 2 ** 20).toFixed(0)} MiB`).toBeLessThan(BOUND);
    // The sessions computed: y[j] = sum_i x[i] W[i][j], with only x[0..3] non-zero.
    const w = randomFloats(n * n, 9);
    const expected = [0, 1].map((j) => Math.fround([0, 1, 2, 3].reduce((s, i) => s + Math.fround(x[i]!) * w[i * n + j]!, 0)));
    out.first.forEach((v, j) => expect(v).toBeCloseTo(expected[j]!, 4));
  }, 600_000);

  it('500 sessions whose context grew 20 MB of activations in one run, dropped without dispose(), stay under 1 GiB of RSS', async () => {
    // A 600-byte engine whose run needs two 10 MB activations (Expand to [2048, 1280], then
    // Relu), which the context keeps for its next call. Without the context's report the
    // collector sees a few kilobytes per session and lets them pile up: past the bound within
    // about 50 sessions (measured before the report: 3 GB at 139). 500 leave a wide margin.
    const model = makeModel({
      inputs: [{ name: 'x', dtype: 'float32', shape: [1, 1280] }],
      outputs: [{ name: 'y', dtype: 'float32', shape: [1, 1] }],
      initializers: [makeTensor('s', 'int64', [2], [2048n, 1280n])],
      nodes: [
        { op: 'Expand', inputs: ['x', 's'], outputs: ['e'] },
        { op: 'Relu', inputs: ['e'], outputs: ['r'] },
        { op: 'ReduceSum', inputs: ['r'], outputs: ['y'], attributes: { keepdims: 1 } },
      ],
    });
    const enginePath = join(dir, 'expand.engine');
    writeFileSync(enginePath, await buildEngine(model, { backend: 'sim' }));
    const result = await child(`
const { InferenceSession, Tensor } = await import(${JSON.stringify(entry)});
const { readFileSync } = await import('node:fs');
const engine = readFileSync(${JSON.stringify(enginePath)});
const x = new Tensor('float32', new Float32Array(1280).fill(0.5), [1, 1280]);
let peak = 0, sums = new Set();
for (let i = 0; i < 500; i++) {
  const session = await InferenceSession.create(engine, { backend: 'sim' });
  sums.add((await session.run({ x })).y.data[0]);
  peak = Math.max(peak, process.memoryUsage.rss());
  if (peak > ${BOUND}) break;
}
console.log(JSON.stringify({ peak, sums: [...sums] }));
`);
    expect(result.code, result.stderr).toBe(0);
    const out = JSON.parse(result.stdout) as { peak: number; sums: number[] };
    expect(out.peak, `peak RSS ${(out.peak / 2 ** 20).toFixed(0)} MiB`).toBeLessThan(BOUND);
    // Every run summed 2048 x 1280 halves.
    expect(out.sums).toEqual([2048 * 1280 * 0.5]);
  }, 600_000);
});
