// Where the sim's time goes on the zoo's convolution-heavy models, and how much of it the
// intra-op threads can take: each model runs on 1 and on 2 threads with the per-layer profile
// (TNRT_SIM_PROFILE=1), each in a process of its own. The 2-thread profile tells which layer
// runs handed work to the pool; the layers that did not, plus everything outside the kernels
// (the call's round trip, input and output copies, JavaScript), run on one thread whatever the
// option says. That serial time over the 1-thread call is Amdahl's serial share s, and
// s + (1 - s) / 2 the best 2-thread / 1-thread ratio it allows (the goal, <= 0.65, needs
// s <= 0.3 even with perfect splitting). Everything is counted in CPU time of the threads
// involved, which other processes on a shared machine do not inflate (the wall ratio printed
// next to it is only meaningful on a quiet one).
//
//   node bench/sim-serial-share.mjs                 (BENCH_REPS=10 rounds per model)
//   BENCH_FILTER=OCR node bench/sim-serial-share.mjs  (any zoo model whose name has OCR)
import { spawnSync } from 'node:child_process';
import { loadavg } from 'node:os';
import { fileURLToPath } from 'node:url';

import { buildEngine, InferenceSession, Tensor } from 'tensorrt-node';

import { isCached, loadModel, makeContext } from '../test/zoo/harness.mjs';
import { manifest } from '../test/zoo/models.mjs';

const REPS = Number(process.env.BENCH_REPS ?? 10);
// The same goal set as bench/sim-vs-onnxruntime.mjs.
const MODELS = ['openWakeWord embedding', 'PP-OCRv4 text detection', 'PP-OCRv4 text recognition', 'PaddleOCR direction classifier'];

// Child: one model on `threads` threads, REPS rounds of its case's steps (the OCR models take
// two image sizes, the embedding a batch of 1 and of 24, as in bench:sim) after a warm-up
// round; prints the process's CPU milliseconds per step (all its threads: on one thread, the
// call and the JavaScript around it) and the wall milliseconds per step on stdout; the context
// prints its profile on stderr when disposed. The profile counts the warm-up round too (its
// weight packing is a one-off), so the CPU time here does as well.
async function child(name, threads) {
  const entry = manifest.find((e) => e.name === name);
  const { steps } = await entry.inputs(makeContext(manifest));
  const engine = await buildEngine(loadModel(entry), { backend: 'sim', ...entry.build });
  const session = await InferenceSession.create(engine, { backend: 'sim', threads });
  const feeds = steps.map((step) => Object.fromEntries(Object.entries(step).map(([n, t]) => [n, new Tensor(t.dtype, t.data, t.dims)])));
  const cpu = process.cpuUsage();
  for (const f of feeds) await session.run(f);
  const start = process.hrtime.bigint();
  for (let r = 0; r < REPS; r++) for (const f of feeds) await session.run(f);
  const wallMs = Number(process.hrtime.bigint() - start) / 1e6 / REPS / feeds.length;
  const used = process.cpuUsage(cpu);
  console.log(JSON.stringify({ cpuMs: (used.user + used.system) / 1e3 / (REPS + 1) / feeds.length, wallMs, steps: feeds.length }));
  session.dispose();
}

// Milliseconds per step (the profile's sums over REPS + 1 rounds).
function parse(stdout, stderr) {
  const { cpuMs, wallMs, steps } = JSON.parse(stdout.trim().split('\n').pop());
  const calls = (REPS + 1) * steps;
  const head = stderr.match(/([\d.]+) ms in kernels, ([\d.]+) ms CPU, ([\d.]+) ms CPU in split runs/);
  const ops = {};
  for (const m of stderr.matchAll(/\[sim profile\] (\S+)\s+[\d.]+ ms\s+[\d.]+% +\d+ calls +([\d.]+) ms CPU +([\d.]+) ms CPU split/g))
    ops[m[1]] = { cpu: Number(m[2]) / calls, unsplit: (Number(m[2]) - Number(m[3])) / calls };
  const kernelCpu = Number(head[2]) / calls;
  const tasks = stderr.match(/(\d+) split runs, (\d+) tasks, (\d+) of them on the pool's other threads/);
  const pool = tasks ? { runs: Number(tasks[1]) / calls, tasks: Number(tasks[2]) / calls, onWorkers: Number(tasks[3]) / calls } : undefined;
  return { cpuMs, wallMs, kernelCpu, split: Number(head[3]) / calls, unsplit: kernelCpu - Number(head[3]) / calls, ops, pool };
}

function run(name, threads) {
  const r = spawnSync(process.execPath, [fileURLToPath(import.meta.url), '--child', name, String(threads)], {
    env: { ...process.env, TNRT_SIM_PROFILE: '1' },
    encoding: 'utf8',
    maxBuffer: 16 << 20,
  });
  if (r.status !== 0) return { error: (r.stderr || r.error?.message || '').split('\n').find((l) => /Error/.test(l)) };
  return parse(r.stdout, r.stderr);
}

if (process.argv[2] === '--child') {
  await child(process.argv[3], Number(process.argv[4]));
} else {
  const filter = process.env.BENCH_FILTER;
  const pct = (x) => `${(100 * x).toFixed(1)}%`;
  // A filter picks from the whole zoo (e.g. silero, whose many small layers should not split).
  for (const entry of manifest.filter((e) => (filter ? e.name.includes(filter) : MODELS.includes(e.name)))) {
    if (!isCached(entry)) {
      console.log(`${entry.name}: not cached; run npm run zoo -- --fetch-only`);
      continue;
    }
    const [one, two] = [1, 2].map((t) => run(entry.name, t));
    // Stateful models need the zoo harness's input handling; this bench builds models as is.
    if (one.error || two.error) {
      console.log(`\n${entry.name}: skipped (${one.error ?? two.error})`);
      continue;
    }
    // On one thread, CPU time outside the kernels is the call's round trip and the JavaScript
    // around it: serial. So are the layer runs that did not split on 2 threads.
    const outside = Math.max(0, one.cpuMs - one.kernelCpu);
    const s = Math.min(1, (outside + two.unsplit) / one.cpuMs);
    console.log(
      `\n${entry.name}: 1 thread ${one.cpuMs.toFixed(2)} ms CPU per step (${one.kernelCpu.toFixed(2)} in kernels); ` +
        `2 threads ${two.cpuMs.toFixed(2)} ms CPU (all threads); wall 1 thread ${one.wallMs.toFixed(2)} ms, 2 threads ${two.wallMs.toFixed(2)} ms (ratio ${(two.wallMs / one.wallMs).toFixed(2)}, load ${loadavg()[0].toFixed(1)})`,
    );
    console.log(
      `  serial share ${pct(s)} (outside kernels ${pct(outside / one.cpuMs)}, layers that did not split ${pct(two.unsplit / one.cpuMs)}); ` +
        `Amdahl bound on 2 threads ${(s + (1 - s) / 2).toFixed(2)}x`,
    );
    // How well the split layers split: the calling thread's CPU in them on 2 threads against
    // their whole CPU time on 1 (0.5 is perfect; a worker slowed by other processes, or
    // ranges of unequal size, leave the caller waiting, which counts here).
    const splitOn1 = one.kernelCpu - two.unsplit;
    console.log(`  split layers: ${splitOn1.toFixed(2)} ms CPU on 1 thread, ${two.split.toFixed(2)} ms on the calling thread of 2 (${(two.split / splitOn1).toFixed(2)}x)`);
    // Near 0% here while the worker burns CPU: it came too late for the layers' tasks.
    if (two.pool) {
      const { runs, tasks, onWorkers } = two.pool;
      console.log(`  per step: ${runs.toFixed(1)} split runs, ${tasks.toFixed(1)} tasks, ${pct(onWorkers / Math.max(tasks, 1))} of them run by the other thread`);
    }
    console.log('  op                       1T CPU ms  share  2T unsplit CPU ms');
    for (const [op, t] of Object.entries(one.ops).sort((a, b) => b[1].cpu - a[1].cpu)) {
      if (t.cpu / one.cpuMs < 0.002) continue;
      const unsplit = two.ops[op]?.unsplit ?? 0;
      console.log(`  ${op.padEnd(24)} ${t.cpu.toFixed(3).padStart(9)} ${pct(t.cpu / one.cpuMs).padStart(6)} ${unsplit.toFixed(3).padStart(18)}`);
    }
  }
}
