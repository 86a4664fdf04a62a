// The calibration threads behind CalibrationHistogram.add() (native/binding/short_job_pool.h):
// a batch split across threads bins exactly as one thread does, the thread count follows
// TENSORRT_NODE_CALIBRATION_THREADS, and pending adds neither end nor hang the process. The
// pool is per environment and reads the variable once, so each case runs in a child process.
// (calibration.test.ts checks the shared path itself, batches of 256 KB and more binned by a
// calibration thread and the event loop, against float32 arithmetic done in the test.)
import { execFile } from 'node:child_process';
import { promisify } from 'node:util';
import { Worker } from 'node:worker_threads';

import { describe, expect, it } from 'vitest';

import { CalibrationHistogram } from '../lib/index.js';

const run = promisify(execFile);
const entry = new URL('../dist/index.js', import.meta.url).href;

/** Runs an ES module body with `CalibrationHistogram` in scope; resolves to its stdout. */
async function child(body: string, threads?: string): Promise<string> {
  const env = { ...process.env };
  delete env.TENSORRT_NODE_CALIBRATION_THREADS;
  if (threads !== undefined) env.TENSORRT_NODE_CALIBRATION_THREADS = threads;
  const source = `const { CalibrationHistogram } = await import(${JSON.stringify(entry)});\n${body}`;
  const { stdout } = await run(process.execPath, ['--input-type=module', '-e', source], { env, timeout: 60_000 });
  return stdout;
}

// Batches of 300,000 values (more than one slice per thread, not a multiple of the slice):
// steady ones, one whose larger maximum sits in its last slice (the parts find it late, and
// the batch is added again the serial way), and one holding NaN and Inf; then, with larger
// values, batches of less than two slices and of less than four.
const fillHistogram = `
let seed = 7;
const next = () => { seed = (seed * 1103515245 + 12345) % 2147483648; return seed / 2147483648; };
const batch = (sigma) => Float32Array.from({ length: 300000 }, () => sigma * (next() + next() + next() - 1.5));
const batches = [batch(1), batch(1), batch(0.5), batch(1), batch(1), batch(2).subarray(0, 1000), batch(2).subarray(0, 40000)];
batches[3][299999] = 9.5;
batches[4][1234] = NaN;
batches[4][200000] = -Infinity;
const histogram = new CalibrationHistogram();
for (const b of batches) await histogram.add(b);
console.log(JSON.stringify({ threads: CalibrationHistogram.threads, counts: Array.from(histogram.counts), total: histogram.total, skipped: histogram.skipped, maxAbs: histogram.maxAbs }));
`;

// The same for batches of up to 1 MB, which add() bins before it returns, the calibration
// threads helping (native/binding/histogram_add_now.h): exactly 1 MB, a first batch that sets
// the range, a later one whose maximum sits in its last slice (binned again after the range
// grows), one with NaN and -Inf (the serial way), one below four slices (no helpers), and an
// all-zero start.
const fillSmallBatches = `
let seed = 11;
const next = () => { seed = (seed * 1103515245 + 12345) % 2147483648; return seed / 2147483648; };
const batch = (n, sigma) => Float32Array.from({ length: n }, () => sigma * (next() + next() + next() - 1.5));
const batches = [new Float32Array(70000), batch(262144, 1), batch(200000, 1), batch(262144, 0.5), batch(100000, 1), batch(50000, 3)];
batches[2][199999] = 7.25;
batches[4][5] = NaN;
batches[4][99999] = -Infinity;
const histogram = new CalibrationHistogram();
for (const b of batches) await histogram.add(b);
console.log(JSON.stringify({ threads: CalibrationHistogram.threads, counts: Array.from(histogram.counts), total: histogram.total, skipped: histogram.skipped, maxAbs: histogram.maxAbs }));
`;

describe('calibration threads', () => {
  it('a batch of up to 1 MB, binned as add() returns, gives the same counts with 1, 3 or no threads helping', async () => {
    const [one, three, none] = await Promise.all([child(fillSmallBatches, '1'), child(fillSmallBatches, '3'), child(fillSmallBatches, '0')]);
    const a = JSON.parse(one);
    expect(a.threads).toBe(1);
    expect(a.total).toBe(70000 + 262144 + 200000 + 262144 + 100000 + 50000 - 2);
    expect(a.skipped).toBe(2);
    expect(a.maxAbs).toBe(7.25);
    // The all-zero first batch: 70,000 values in bin 0 before the range existed, and they stay there.
    expect(a.counts[0]).toBeGreaterThanOrEqual(70000);
    expect(JSON.parse(three)).toEqual({ ...a, threads: 3 });
    expect(JSON.parse(none)).toEqual({ ...a, threads: 0 });
  });

  it('a batch binned by three threads, or by the event loop alone, gives exactly the counts of one', async () => {
    const [one, three, none] = await Promise.all([child(fillHistogram, '1'), child(fillHistogram, '3'), child(fillHistogram, '0')]);
    const a = JSON.parse(one);
    expect(a.threads).toBe(1);
    expect(a.total).toBe(5 * 300000 + 41000 - 2);
    expect(a.skipped).toBe(2);
    expect(a.maxAbs).toBe(9.5);
    expect(JSON.parse(three)).toEqual({ ...a, threads: 3 });
    // No threads: every add runs on the loop (native/binding/histogram_add.h), the first batch
    // by a max scan in slices, the small ones at once.
    expect(JSON.parse(none)).toEqual({ ...a, threads: 0 });
  });

  it('defaults to one thread per core but the event loop, 1 to 4', () => {
    expect(CalibrationHistogram.threads).toBeGreaterThanOrEqual(1);
    expect(CalibrationHistogram.threads).toBeLessThanOrEqual(4);
  });

  it('refuses a TENSORRT_NODE_CALIBRATION_THREADS that is not 0-64, naming it', async () => {
    const body = `
try { await new CalibrationHistogram().add(new Float32Array(4)); console.log('accepted'); }
catch (e) { console.log(e.name + ': ' + e.message); }`;
    for (const bad of ['-1', '65', 'two', '2.5']) {
      expect(await child(body, bad)).toMatch(/^InvalidArgumentError: TENSORRT_NODE_CALIBRATION_THREADS must be a whole number from 0 to 64/);
    }
    expect(await child(body, '64')).toBe('accepted\n');
    expect(await child(body, '0')).toBe('accepted\n');
  });

  it('a pending add() keeps the process alive until it resolves, and the process then exits', async () => {
    const body = `
const histogram = new CalibrationHistogram();
histogram.add(new Float32Array(1 << 22).fill(0.25)).then(() => console.log('resolved', histogram.total));`;
    // execFile's timeout would fail the test if the idle threads kept the process from exiting.
    expect(await child(body, '2')).toBe(`resolved ${1 << 22}\n`);
  });

  it('a worker terminated while its adds run leaves the main thread working', async () => {
    const source = `
const { parentPort, workerData } = require('node:worker_threads');
(async () => {
  const { CalibrationHistogram } = await import(workerData.entry);
  const histogram = new CalibrationHistogram();
  const batch = new Float32Array(1 << 20).map((_, i) => Math.sin(i));
  parentPort.postMessage('adding');
  for (;;) await histogram.add(batch);
})();`;
    const worker = new Worker(source, { eval: true, workerData: { entry } });
    await new Promise((resolve) => worker.once('message', resolve));
    await new Promise((resolve) => setTimeout(resolve, 20));
    await worker.terminate();
    const histogram = new CalibrationHistogram();
    await histogram.add(new Float32Array([1, -2, 3]));
    expect(histogram.total).toBe(3);
    histogram.dispose();
  });
});
