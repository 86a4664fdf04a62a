// Where the sim's time goes on the zoo's convolution-heavy models, and how much of it the
// intra-op threads can take: each model runs on 1 and on 2 threads with the per-layer profile
// (TNRT_SIM_PROFILE=1), each in a process of its own. The 2-thread profile tells which layer
// runs handed work to the pool; the layers that did not, plus everything outside the kernels
// (the call's round trip, input and output copies), run on one thread whatever the option
// says. That serial time over the 1-thread call is Amdahl's serial share s, and
// s + (1 - s) / 2 the best 2-thread / 1-thread ratio it allows (the goal is <= 0.65, which
// needs s <= 0.3 even with perfect splitting). Times are CPU-honest only on a quiet machine;
// the shares are what to read on a busy one.
//
//   node bench/sim-serial-share.mjs                 (BENCH_REPS=10 calls per model)
//   BENCH_FILTER=OCR node bench/sim-serial-share.mjs
import { spawnSync } from 'node:child_process';
import { fileURLToPath } from 'node:url';

import { buildEngine, InferenceSession, Tensor } from 'tensorrt-node';

import { isCached, loadModel, makeContext } from '../test/zoo/harness.mjs';
import { manifest } from '../test/zoo/models.mjs';

const REPS = Number(process.env.BENCH_REPS ?? 10);
// The same goal set as bench/sim-vs-onnxruntime.mjs.
const MODELS = ['openWakeWord embedding', 'PP-OCRv4 text detection', 'PP-OCRv4 text recognition', 'PaddleOCR direction classifier'];

// Child: one model on `threads` threads; prints the wall milliseconds per call on stdout, and
// the context prints its profile on stderr when disposed. The profile counts the warm-up call
// too (its weight packing is a one-off), so calls = REPS + 1 there.
async function child(name, threads) {
  const entry = manifest.find((e) => e.name === name);
  const { steps } = await entry.inputs(makeContext(manifest));
  const engine = await buildEngine(loadModel(entry), { backend: 'sim', ...entry.build });
  const session = await InferenceSession.create(engine, { backend: 'sim', threads });
  const feeds = steps.map((step) => Object.fromEntries(Object.entries(step).map(([n, t]) => [n, new Tensor(t.dtype, t.data, t.dims)])));
  for (const f of feeds) await session.run(f);
  const start = process.hrtime.bigint();
  for (let r = 0; r < REPS; r++) for (const f of feeds) await session.run(f);
  console.log(JSON.stringify({ wallMs: Number(process.hrtime.bigint() - start) / 1e6 / REPS }));
  session.dispose();
}

function parse(stdout, stderr) {
  const calls = REPS + 1;
  const { wallMs } = JSON.parse(stdout.trim().split('\n').pop());
  const head = stderr.match(/in kernels, ([\d.]+) ms of it in split runs/);
  const total = Number(stderr.match(/([\d.]+) ms in kernels/)[1]) / calls;
  const ops = {};
  for (const m of stderr.matchAll(/\[sim profile\] (\S+)\s+([\d.]+) ms\s+[\d.]+% +\d+ calls +([\d.]+) ms split/g))
    ops[m[1]] = { ms: Number(m[2]) / calls, split: Number(m[3]) / calls };
  return { wallMs, kernelMs: total, splitMs: Number(head[1]) / calls, ops };
}

function run(name, threads) {
  const r = spawnSync(process.execPath, [fileURLToPath(import.meta.url), '--child', name, String(threads)], {
    env: { ...process.env, TNRT_SIM_PROFILE: '1' },
    encoding: 'utf8',
    maxBuffer: 16 << 20,
  });
  if (r.status !== 0) throw new Error(`${name} on ${threads} thread(s) failed: ${r.stderr || r.error?.message}`);
  return parse(r.stdout, r.stderr);
}

if (process.argv[2] === '--child') {
  await child(process.argv[3], Number(process.argv[4]));
} else {
  const filter = process.env.BENCH_FILTER;
  const pct = (x) => `${(100 * x).toFixed(1)}%`;
  for (const entry of manifest.filter((e) => MODELS.includes(e.name) && (!filter || e.name.includes(filter)))) {
    if (!isCached(entry)) {
      console.log(`${entry.name}: not cached; run npm run zoo -- --fetch-only`);
      continue;
    }
    const [one, two] = [1, 2].map((t) => run(entry.name, t));
    // Outside the kernels is serial; so are the layer runs that did not split on 2 threads
    // (about as long on 1 thread as on 2).
    const outside = Math.max(0, one.wallMs - one.kernelMs);
    const serial = outside + (two.kernelMs - two.splitMs);
    const s = Math.min(1, serial / one.wallMs);
    console.log(
      `\n${entry.name}: 1 thread ${one.wallMs.toFixed(2)} ms/call (${one.kernelMs.toFixed(2)} in kernels), ` +
        `2 threads ${two.wallMs.toFixed(2)} ms/call (ratio ${(two.wallMs / one.wallMs).toFixed(2)})`,
    );
    console.log(
      `  serial share ${pct(s)} (outside kernels ${pct(outside / one.wallMs)}, unsplit layers ${pct((two.kernelMs - two.splitMs) / one.wallMs)}); ` +
        `Amdahl bound on 2 threads ${(s + (1 - s) / 2).toFixed(2)}x`,
    );
    console.log('  op                       1T ms/call  share   2T ms/call  2T unsplit ms');
    const rows = Object.entries(one.ops).sort((a, b) => b[1].ms - a[1].ms);
    for (const [op, t] of rows) {
      if (t.ms / one.kernelMs < 0.002) continue;
      const u = two.ops[op] ?? { ms: 0, split: 0 };
      console.log(
        `  ${op.padEnd(24)} ${t.ms.toFixed(3).padStart(10)} ${pct(t.ms / one.wallMs).padStart(6)} ${u.ms.toFixed(3).padStart(11)} ${(u.ms - u.split).toFixed(3).padStart(14)}`,
      );
    }
  }
}
