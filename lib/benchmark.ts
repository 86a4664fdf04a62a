/**
 * Throughput and latency measurement, as trtexec reports them: a warm-up that is not counted,
 * then calls until both a minimum duration and a minimum number of calls are reached, on one
 * or more execution contexts at once. InferenceSession.benchmark() runs it on an engine; the
 * loop itself only sees async functions, so its arithmetic can be checked on its own.
 */
import type { NativeCallTiming } from './native.js';
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
  /**
   * Replay each call's compute from a CUDA graph, trtexec's --useCudaGraph (tensorrt backend
   * only; default false). Captured per context on the second call with given input shapes.
   */
  useCudaGraph?: boolean;
  /**
   * Time compute only, trtexec's --noDataTransfers (tensorrt backend only; default false):
   * inputs are uploaded before measuring and outputs are not read back.
   */
  noDataTransfers?: boolean;
}

/** The backend's event timing of one call's parts, ms from its first event. */
export type CallPartTiming = NativeCallTiming;

/**
 * One measured call, with trtexec's --exportTimes field names. Times are ms since measuring
 * began. Where the backend times the parts with events on its stream (transfers 'timed' or
 * 'excluded'), the spans are the events', placed from the call's start; otherwise the H2D
 * and D2H spans are empty and compute spans the whole call.
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
   * computes in host memory, compute is the whole call); 'timed' where each call's H2D,
   * compute and D2H are timed apart with events (TensorRT); 'excluded' where calls ran compute
   * only (noDataTransfers), so the H2D and D2H spans are empty.
   */
  transfers: 'none' | 'timed' | 'excluded';
  /** Whether the compute was replayed from CUDA graphs (useCudaGraph). */
  cudaGraph: boolean;
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
    useCudaGraph: expectFlag(options.useCudaGraph, 'benchmark option useCudaGraph'),
    noDataTransfers: expectFlag(options.noDataTransfers, 'benchmark option noDataTransfers'),
  };
}

function expectFlag(value: unknown, what: string): boolean {
  if (value !== undefined && typeof value !== 'boolean') invalid('a boolean', what, value);
  return value === true;
}

/**
 * A call's record: the backend's event spans placed from the call's start where it timed
 * them, else the whole call as compute.
 */
function timingOf(start: number, end: number, parts: CallPartTiming | null | undefined | void): BenchmarkTiming {
  const latencyMs = end - start;
  if (!parts) {
    return { startH2DMs: start, endH2DMs: start, startComputeMs: start, endComputeMs: end, startD2HMs: end, endD2HMs: end, h2dMs: 0, computeMs: latencyMs, d2hMs: 0, latencyMs };
  }
  return {
    startH2DMs: start + parts.h2dStartMs,
    endH2DMs: start + parts.h2dEndMs,
    startComputeMs: start + parts.computeStartMs,
    endComputeMs: start + parts.computeEndMs,
    startD2HMs: start + parts.d2hStartMs,
    endD2HMs: start + parts.d2hEndMs,
    h2dMs: parts.h2dEndMs - parts.h2dStartMs,
    computeMs: parts.computeEndMs - parts.computeStartMs,
    d2hMs: parts.d2hEndMs - parts.d2hStartMs,
    latencyMs,
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
async function inParallel<R>(runners: readonly (() => Promise<R>)[], loop: (run: () => Promise<R>, stopped: () => boolean) => Promise<void>): Promise<void> {
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
 * A runner may resolve to the backend's timing of the call's parts; each record then carries
 * those spans, else the whole call as compute.
 * @throws what a runner throws, after every loop has stopped
 */
export async function runBenchmark(
  runners: readonly (() => Promise<CallPartTiming | null | void>)[],
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
  let lastEnd = 0;
  // Judged on the calls' own ends, which make the wall time: a clock read after the last call
  // could pass durationMs where that call ended just short of it.
  const done = () => timings.length >= options.iterations && lastEnd >= options.durationMs;
  await inParallel(runners, async (run, stopped) => {
    while (!stopped() && !done()) {
      const start = performance.now() - origin;
      const parts = await run();
      const end = performance.now() - origin;
      lastEnd = Math.max(lastEnd, end);
      timings.push(timingOf(start, end, parts));
    }
  });
  const wallMs = lastEnd;
  return {
    concurrency: runners.length,
    warmUpCalls,
    calls: timings.length,
    wallMs,
    throughputQps: wallMs > 0 ? (timings.length * 1000) / wallMs : Infinity,
    latencyMs: summarizeLatencies(timings.map((t) => t.latencyMs), options.percentiles),
    transfers,
    cudaGraph: options.useCudaGraph,
    timings: timings.sort((a, b) => a.startComputeMs - b.startComputeMs),
  };
}
