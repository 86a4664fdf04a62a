/**
 * Throughput and latency measurement, as trtexec reports them: a warm-up that is not counted,
 * then calls until both a minimum duration and a minimum number of calls are reached, on one
 * or more execution contexts at once. InferenceSession.benchmark() runs it on an engine; the
 * loop itself only sees async functions, so its arithmetic can be checked on its own.
 */
import { invalid, expectInteger, expectObject } from './validate.js';

export interface BenchmarkOptions {
  /** Time spent calling before measuring, in ms; those calls are not counted (default 200). */
  warmUpMs?: number;
  /** Measure for at least this long, in ms (default 3000, trtexec's --duration=3). */
  durationMs?: number;
  /** Measure at least this many calls (default 10, trtexec's --iterations). */
  iterations?: number;
  /** Execution contexts calling in parallel, trtexec's --streams (default 1). */
  concurrency?: number;
  /** Latency percentiles to report, each in (0, 100] (default 90, 95, 99). */
  percentiles?: number[];
}

/**
 * One measured call, with trtexec's --exportTimes field names. Times are ms since measuring
 * began. Where the backend does not time its transfers apart (see BenchmarkResult.transfers),
 * the H2D and D2H spans are empty and compute spans the whole call.
 */
export interface BenchmarkTiming {
  startH2DMs: number;
  endH2DMs: number;
  startComputeMs: number;
  endComputeMs: number;
  startD2HMs: number;
  endD2HMs: number;
  h2dMs: number;
  computeMs: number;
  d2hMs: number;
  latencyMs: number;
}

export interface LatencySummary {
  min: number;
  mean: number;
  median: number;
  max: number;
  /** Nearest-rank percentiles, in the order asked for. */
  percentiles: { percentile: number; ms: number }[];
}

export interface BenchmarkResult {
  concurrency: number;
  /** Calls made during the warm-up, left out of everything below. */
  warmUpCalls: number;
  /** Measured calls. */
  calls: number;
  /** From the start of measuring to the end of the last measured call. */
  wallMs: number;
  /** Measured calls per second of wallMs. */
  throughputQps: number;
  /** Latency of one call as the caller sees it (from the call to its resolved outputs). */
  latencyMs: LatencySummary;
  /**
   * How host-device transfers figure in the timings: 'none' where there are none (the sim
   * computes in host memory), 'in-compute' where they happen inside the call but the backend
   * does not time them apart, so computeMs includes them.
   */
  transfers: 'none' | 'in-compute';
  timings: BenchmarkTiming[];
}

export const BENCHMARK_DEFAULTS = { warmUpMs: 200, durationMs: 3000, iterations: 10, concurrency: 1, percentiles: [90, 95, 99] } as const;

function expectMilliseconds(value: unknown, what: string): number {
  if (typeof value !== 'number' || !Number.isFinite(value) || value < 0) invalid('a number of milliseconds >= 0', what, value);
  return value;
}

/** Benchmark options with defaults filled in, checked. */
export function normalizeBenchmarkOptions(options: BenchmarkOptions): Required<BenchmarkOptions> {
  expectObject(options, 'benchmark options');
  const percentiles = options.percentiles ?? [...BENCHMARK_DEFAULTS.percentiles];
  if (!Array.isArray(percentiles) || percentiles.some((p) => typeof p !== 'number' || !(p > 0 && p <= 100))) {
    invalid('an array of numbers in (0, 100]', 'benchmark option percentiles', percentiles);
  }
  return {
    warmUpMs: options.warmUpMs === undefined ? BENCHMARK_DEFAULTS.warmUpMs : expectMilliseconds(options.warmUpMs, 'benchmark option warmUpMs'),
    durationMs: options.durationMs === undefined ? BENCHMARK_DEFAULTS.durationMs : expectMilliseconds(options.durationMs, 'benchmark option durationMs'),
    iterations: options.iterations === undefined ? BENCHMARK_DEFAULTS.iterations : expectInteger(options.iterations, 'benchmark option iterations', 1),
    concurrency: options.concurrency === undefined ? BENCHMARK_DEFAULTS.concurrency : expectInteger(options.concurrency, 'benchmark option concurrency', 1, 64),
    percentiles,
  };
}

/** Nearest rank: the smallest value with at least p% of the values at or below it. */
export function percentile(sorted: readonly number[], p: number): number {
  const rank = Math.max(1, Math.ceil((p / 100) * sorted.length));
  return sorted[rank - 1]!;
}

export function summarizeLatencies(latencies: readonly number[], percentiles: readonly number[]): LatencySummary {
  const sorted = [...latencies].sort((a, b) => a - b);
  const n = sorted.length;
  const middle = n >> 1;
  return {
    min: sorted[0]!,
    mean: sorted.reduce((a, b) => a + b, 0) / n,
    median: n % 2 === 1 ? sorted[middle]! : (sorted[middle - 1]! + sorted[middle]!) / 2,
    max: sorted[n - 1]!,
    percentiles: percentiles.map((p) => ({ percentile: p, ms: percentile(sorted, p) })),
  };
}

/**
 * Runs `loop` once per runner, all at once. The first failure stops every loop at its next
 * turn, and is thrown only once all of them have settled, so that no call is still running
 * on a context the caller then releases.
 */
async function inParallel(runners: readonly (() => Promise<unknown>)[], loop: (run: () => Promise<unknown>, stopped: () => boolean) => Promise<void>): Promise<void> {
  let failed = false;
  const settled = await Promise.allSettled(
    runners.map((run) =>
      loop(run, () => failed).catch((error: unknown) => {
        failed = true;
        throw error;
      }),
    ),
  );
  const failure = settled.find((s): s is PromiseRejectedResult => s.status === 'rejected');
  if (failure) throw failure.reason;
}

/**
 * Calls each runner in its own loop (one runner per context, so `runners.length` is the
 * concurrency): first for options.warmUpMs uncounted, then until durationMs has passed and
 * `iterations` calls have finished. A call in flight when the goal is reached still counts.
 * @throws what a runner throws, after every loop has stopped
 */
export async function runBenchmark(
  runners: readonly (() => Promise<unknown>)[],
  options: Required<BenchmarkOptions>,
  transfers: BenchmarkResult['transfers'],
): Promise<BenchmarkResult> {
  let warmUpCalls = 0;
  const warmUpEnd = performance.now() + options.warmUpMs;
  await inParallel(runners, async (run, stopped) => {
    while (!stopped() && performance.now() < warmUpEnd) {
      await run();
      warmUpCalls++;
    }
  });

  const origin = performance.now();
  const timings: BenchmarkTiming[] = [];
  const done = () => timings.length >= options.iterations && performance.now() - origin >= options.durationMs;
  await inParallel(runners, async (run, stopped) => {
    while (!stopped() && !done()) {
      const start = performance.now() - origin;
      await run();
      const end = performance.now() - origin;
      const latency = end - start;
      timings.push({
        startH2DMs: start,
        endH2DMs: start,
        startComputeMs: start,
        endComputeMs: end,
        startD2HMs: end,
        endD2HMs: end,
        h2dMs: 0,
        computeMs: latency,
        d2hMs: 0,
        latencyMs: latency,
      });
    }
  });
  // A loop, not Math.max(...): a fast model records hundreds of thousands of calls, more
  // arguments than a call can take.
  let wallMs = 0;
  for (const t of timings) wallMs = Math.max(wallMs, t.endD2HMs);
  return {
    concurrency: runners.length,
    warmUpCalls,
    calls: timings.length,
    wallMs,
    throughputQps: wallMs > 0 ? (timings.length * 1000) / wallMs : Infinity,
    latencyMs: summarizeLatencies(timings.map((t) => t.latencyMs), options.percentiles),
    transfers,
    timings: timings.sort((a, b) => a.startComputeMs - b.startComputeMs),
  };
}
