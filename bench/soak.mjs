// Soak: the library's lifecycles over and over for N minutes, watching the process's memory.
//
//   npm run soak -- --minutes 5      (default 5; --sample-seconds S, default 5)
//
// Each cycle, on the sim backend:
// - create-run-dispose: InferenceSession.create(plan), a few run()s, dispose();
// - the TensorRT vocabulary: Runtime -> engine -> context, execute(), runtime.dispose() (which
//   disposes its children first);
// - one long-lived session that stays for the whole soak and runs many times per cycle;
// - sessions and runtimes dropped without dispose(), for the GC finalizers to free;
// - calibration histograms: adds (small batches binned at once, large ones sliced), entropy
//   thresholds, dispose() or dropped;
// - every 20th cycle a build from ONNX (parse, build, serialize) and its disposal.
//
// Every sample the script collects garbage (node --expose-gc, which npm run soak passes) and
// prints RSS and process.memoryUsage().external (the native memory the addon reports to V8,
// plus ArrayBuffers): after a full collection neither should grow once the process is warm.
//
// Verdict, after a warm-up of the first quarter of the run (at least 20 s: V8's code and heap,
// glibc's malloc arenas for the pool threads and the allocator's caches settle):
// - RSS slope over the second half < 2 MB/min (least squares over its samples), and final RSS
//   < RSS at the end of the warm-up + 24 MB. Why these: the loop does tens of thousands of
//   runs and thousands of sessions a minute, so leaking even one output tensor (64 B here) per
//   run or one engine (~2 KB) per session would grow RSS by well over 2 MB/min; while what a
//   healthy process still does after warm-up (malloc arenas settling, V8 growing its heap
//   limit) stayed within a few MB over 5 minutes on a 2-vCPU VM.
// - external: final < end of warm-up + 4 MB. The addon reports its own host memory exactly,
//   so after a full GC anything still counted there is held.
// Exits 1 when a bound is broken, 0 otherwise.
import { buildEngine, CalibrationHistogram, InferenceSession, Runtime, Tensor } from 'tensorrt-node';
import { makeModel, makeTensor } from 'tensorrt-node/onnx';

function option(name, fallback) {
  const at = process.argv.indexOf(`--${name}`);
  if (at < 0) return fallback;
  const value = Number(process.argv[at + 1]);
  if (!(value > 0)) throw new Error(`--${name} takes a positive number, not ${process.argv[at + 1]}`);
  return value;
}
const MINUTES = option('minutes', 5);
const SAMPLE_MS = option('sample-seconds', 5) * 1000;
const RSS_SLOPE_MB_PER_MIN = 2;
const RSS_GROWTH_MB = 24;
const EXTERNAL_GROWTH_MB = 4;

if (typeof globalThis.gc !== 'function') {
  console.error('soak: run with node --expose-gc (npm run soak does), so that samples follow a full collection');
  process.exit(2);
}

let seed = 7;
const random = (n, scale = 1) =>
  Float32Array.from({ length: n }, () => {
    seed = (seed * 1103515245 + 12345) % 2147483648;
    return (seed / 1073741824 - 1) * scale;
  });

// An MLP of 16 -> 64 -> 16 with a dynamic batch: small, so that each cycle is mostly the
// library's own work (allocation, threads, handles) rather than arithmetic.
function mlp() {
  return makeModel({
    inputs: [{ name: 'x', dtype: 'float32', shape: ['N', 16] }],
    outputs: [{ name: 'y', dtype: 'float32', shape: ['N', 16] }],
    initializers: [
      makeTensor('w1', 'float32', [16, 64], random(16 * 64, 0.25)),
      makeTensor('b1', 'float32', [64], random(64, 0.1)),
      makeTensor('w2', 'float32', [64, 16], random(64 * 16, 0.125)),
    ],
    nodes: [
      { op: 'MatMul', inputs: ['x', 'w1'], outputs: ['h'] },
      { op: 'Add', inputs: ['h', 'b1'], outputs: ['hb'] },
      { op: 'Relu', inputs: ['hb'], outputs: ['r'] },
      { op: 'MatMul', inputs: ['r', 'w2'], outputs: ['y'] },
    ],
  });
}

const model = mlp();
const buildOptions = { backend: 'sim', profiles: [{ x: { min: [1, 16], opt: [4, 16], max: [8, 16] } }] };
const plan = await buildEngine(model, buildOptions);
const x = new Tensor('float32', random(4 * 16), [4, 16]);
const activations = random(1 << 18); // 1 MB: sliced adds
const smallActivations = activations.subarray(0, 4096);

const counts = { cycles: 0, runs: 0, sessions: 0, dropped: 0, builds: 0, adds: 0 };
const longLived = await InferenceSession.create(plan, { backend: 'sim' });

async function cycle(n) {
  // One session run many times.
  for (let i = 0; i < 20; i++) await longLived.run({ x });
  counts.runs += 20;

  // Create, run, dispose.
  {
    const session = await InferenceSession.create(plan, { backend: 'sim' });
    for (let i = 0; i < 3; i++) await session.run({ x });
    session.dispose();
    counts.runs += 3;
    counts.sessions++;
  }

  // The same in TensorRT's vocabulary; the runtime's dispose() takes its children with it.
  {
    const runtime = new Runtime({ backend: 'sim' });
    const engine = await runtime.deserializeCudaEngine(plan);
    const context = engine.createExecutionContext();
    context.setInputShape('x', [4, 16]);
    await context.execute({ x });
    runtime.dispose();
    counts.runs++;
    counts.sessions++;
  }

  // Dropped without dispose(): only the GC's finalizers free these.
  {
    const session = await InferenceSession.create(plan, { backend: 'sim' });
    await session.run({ x });
    const runtime = new Runtime({ backend: 'sim' });
    (await runtime.deserializeCudaEngine(plan)).createExecutionContext();
    counts.runs++;
    counts.dropped += 2;
  }

  // Calibration statistics.
  {
    const histogram = new CalibrationHistogram();
    await histogram.add(activations);
    await histogram.add(smallActivations);
    await histogram.entropyThreshold();
    histogram.dispose();
    const dropped = new CalibrationHistogram();
    await dropped.add(smallActivations);
    counts.adds += 3;
  }

  if (n % 20 === 0) {
    await buildEngine(model, buildOptions);
    counts.builds++;
  }
  counts.cycles++;
}

const MB = 1024 * 1024;
const samples = [];
function sample(startedAt) {
  globalThis.gc();
  const { rss, external, heapUsed } = process.memoryUsage();
  const s = { minutes: (performance.now() - startedAt) / 60000, rss: rss / MB, external: external / MB, heap: heapUsed / MB };
  samples.push(s);
  console.log(
    `${s.minutes.toFixed(2).padStart(6)} min  rss ${s.rss.toFixed(1).padStart(7)} MB  external ${s.external.toFixed(2).padStart(7)} MB  ` +
      `heap ${s.heap.toFixed(1).padStart(6)} MB  cycles ${counts.cycles}  runs ${counts.runs}  sessions ${counts.sessions}  ` +
      `dropped ${counts.dropped}  adds ${counts.adds}  builds ${counts.builds}`,
  );
  return s;
}

/** Least-squares slope of `key` against minutes. */
function slope(points, key) {
  const n = points.length;
  const mx = points.reduce((a, p) => a + p.minutes, 0) / n;
  const my = points.reduce((a, p) => a + p[key], 0) / n;
  let num = 0;
  let den = 0;
  for (const p of points) {
    num += (p.minutes - mx) * (p[key] - my);
    den += (p.minutes - mx) ** 2;
  }
  return den > 0 ? num / den : 0;
}

console.log(`soak: ${MINUTES} min, a sample every ${SAMPLE_MS / 1000} s after a full GC; warm-up: the first quarter (at least 20 s)`);
const startedAt = performance.now();
const endAt = startedAt + MINUTES * 60000;
const warmUpEnd = startedAt + Math.max(MINUTES * 60000 * 0.25, 20000);
let nextSample = startedAt;
let warm;
for (let n = 0; performance.now() < endAt; n++) {
  if (performance.now() >= nextSample) {
    const s = sample(startedAt);
    if (!warm && performance.now() >= warmUpEnd) warm = s;
    nextSample += SAMPLE_MS;
  }
  await cycle(n);
}
longLived.dispose();
const last = sample(startedAt);
warm ??= samples[0];

const secondHalf = samples.filter((s) => s.minutes >= MINUTES / 2);
const rssSlope = secondHalf.length >= 3 ? slope(secondHalf, 'rss') : 0;
const externalSlope = secondHalf.length >= 3 ? slope(secondHalf, 'external') : 0;
const checks = [
  [`RSS slope over the second half ${rssSlope.toFixed(2)} MB/min < ${RSS_SLOPE_MB_PER_MIN}`, rssSlope < RSS_SLOPE_MB_PER_MIN],
  [`final RSS ${last.rss.toFixed(1)} MB < ${warm.rss.toFixed(1)} (after warm-up) + ${RSS_GROWTH_MB} MB`, last.rss < warm.rss + RSS_GROWTH_MB],
  [
    `final external ${last.external.toFixed(2)} MB < ${warm.external.toFixed(2)} (after warm-up) + ${EXTERNAL_GROWTH_MB} MB (slope over the second half ${externalSlope.toFixed(3)} MB/min)`,
    last.external < warm.external + EXTERNAL_GROWTH_MB,
  ],
];
const perMinute = (k) => Math.round(counts[k] / MINUTES);
console.log(`per minute: ${perMinute('runs')} runs, ${perMinute('sessions')} sessions created and disposed, ${perMinute('dropped')} dropped, ${perMinute('adds')} histogram adds, ${perMinute('builds')} builds`);
for (const [text, ok] of checks) console.log(`${ok ? 'ok  ' : 'FAIL'} ${text}`);
process.exitCode = checks.every(([, ok]) => ok) ? 0 : 1;
