/**
 * The measurement flags `bench` and `run --bench` share, trtexec's spelling: --warmUp ms,
 * --duration s, --iterations N, --percentile, --streams N, --exportTimes FILE, and the
 * TensorRT-only --useCudaGraph and --noDataTransfers; and the report they print.
 */
import { writeFile } from 'node:fs/promises';

import { BENCHMARK_DEFAULTS, type BenchmarkOptions, type BenchmarkResult } from '../benchmark.js';
import type { Feeds } from '../execution-context.js';
import type { InferenceSession } from '../inference-session.js';
import { note } from './output.js';
import { checkWritableFile } from './preflight.js';
import { UsageError } from './usage.js';

export const BENCH_OPTIONS = {
  warmUp: { type: 'string' },
  duration: { type: 'string' },
  iterations: { type: 'string' },
  percentile: { type: 'string' },
  streams: { type: 'string' },
  exportTimes: { type: 'string' },
  useCudaGraph: { type: 'boolean' },
  noDataTransfers: { type: 'boolean' },
} as const;

export const BENCH_HELP = `  --warmUp MS                call for MS milliseconds before measuring, uncounted (default ${BENCHMARK_DEFAULTS.warmUpMs})
  --duration S               measure for at least S seconds (default ${BENCHMARK_DEFAULTS.durationMs / 1000})
  --iterations N             measure at least N calls (default ${BENCHMARK_DEFAULTS.iterations})
  --percentile P[,P...]      latency percentiles to print (default ${BENCHMARK_DEFAULTS.percentiles.join(',')})
  --streams N                run N execution contexts in parallel (default 1)
  --exportTimes FILE         write each measured call's timings as JSON, as trtexec does
  --useCudaGraph             replay each call's compute from a CUDA graph (tensorrt
                             backend only)
  --noDataTransfers          time compute only: inputs uploaded once before measuring,
                             outputs not read back (tensorrt backend only)`;

export interface BenchValues {
  warmUp?: string;
  duration?: string;
  iterations?: string;
  percentile?: string;
  streams?: string;
  exportTimes?: string;
  useCudaGraph?: boolean;
  noDataTransfers?: boolean;
}

function numberFlag(text: string | undefined, flag: string, what: string, integer: boolean, min: number): number | undefined {
  if (text === undefined) return undefined;
  const value = Number(text);
  if (text.trim() === '' || !Number.isFinite(value) || value < min || (integer && !Number.isInteger(value))) throw new UsageError(`${flag} takes ${what}, got '${text}'`);
  return value;
}

/** The flags as session.benchmark() options, checked; --exportTimes checked writable. */
export async function benchmarkOptions(values: BenchValues): Promise<BenchmarkOptions> {
  const warmUpMs = numberFlag(values.warmUp, '--warmUp', 'milliseconds >= 0, e.g. --warmUp 200', false, 0);
  const seconds = numberFlag(values.duration, '--duration', 'seconds >= 0, e.g. --duration 3', false, 0);
  const iterations = numberFlag(values.iterations, '--iterations', 'an integer >= 1', true, 1);
  const concurrency = numberFlag(values.streams, '--streams', 'an integer from 1 to 64', true, 1);
  if (concurrency !== undefined && concurrency > 64) throw new UsageError(`--streams takes an integer from 1 to 64, got '${values.streams}'`);
  let percentiles: number[] | undefined;
  if (values.percentile !== undefined) {
    percentiles = values.percentile.split(',').map(Number);
    if (percentiles.some((p) => !(p > 0 && p <= 100))) throw new UsageError(`--percentile takes numbers in (0, 100], comma-separated, e.g. 90,95,99, got '${values.percentile}'`);
  }
  if (values.exportTimes) await checkWritableFile(values.exportTimes, '--exportTimes');
  return {
    ...(warmUpMs !== undefined && { warmUpMs }),
    ...(seconds !== undefined && { durationMs: seconds * 1000 }),
    ...(iterations !== undefined && { iterations }),
    ...(concurrency !== undefined && { concurrency }),
    ...(percentiles && { percentiles }),
    ...(values.useCudaGraph && { useCudaGraph: true }),
    ...(values.noDataTransfers && { noDataTransfers: true }),
  };
}

/**
 * --useCudaGraph and --noDataTransfers: the sim has neither CUDA graphs nor transfers, so on
 * the sim they are a usage mistake, reported in flags before anything runs.
 */
export function checkTensorRTOnlyFlags(session: InferenceSession, values: BenchValues): void {
  const flags = [values.useCudaGraph && '--useCudaGraph', values.noDataTransfers && '--noDataTransfers'].filter(Boolean).join(' and ');
  if (flags && session.backend === 'sim') {
    throw new UsageError(`${flags} need${flags.includes(' and ') ? '' : 's'} the tensorrt backend; this engine runs on the sim, which has no CUDA graphs or host-device transfers: drop ${flags}`);
  }
}

const ms = (v: number) => `${v.toFixed(4)} ms`;

/** trtexec-style summary lines. */
export function formatBenchmark(result: BenchmarkResult, backend: string): string[] {
  const l = result.latencyMs;
  const lines = [
    `backend ${backend}; ${result.concurrency} stream${result.concurrency > 1 ? 's' : ''}; ${result.warmUpCalls} warm-up calls (not counted); ${result.calls} measured calls in ${(result.wallMs / 1000).toFixed(3)} s`,
    `Throughput: ${result.throughputQps.toFixed(2)} qps`,
    `Latency: min = ${ms(l.min)}, max = ${ms(l.max)}, mean = ${ms(l.mean)}, median = ${ms(l.median)}, ${l.percentiles.map((p) => `percentile(${p.percentile}%) = ${ms(p.ms)}`).join(', ')}`,
  ];
  if (result.transfers === 'none') {
    lines.push('H2D / compute / D2H: the sim computes in host memory, so there are no transfers; compute is the whole call');
    return lines;
  }
  const mean = (pick: (t: BenchmarkResult['timings'][number]) => number) => result.timings.reduce((sum, t) => sum + pick(t), 0) / Math.max(1, result.timings.length);
  const graph = result.cudaGraph ? ', compute replayed from a CUDA graph' : '';
  lines.push(
    result.transfers === 'excluded'
      ? `H2D / compute / D2H (mean, GPU events): no transfers (--noDataTransfers) / ${ms(mean((t) => t.computeMs))} / no transfers${graph}`
      : `H2D / compute / D2H (mean, GPU events): ${ms(mean((t) => t.h2dMs))} / ${ms(mean((t) => t.computeMs))} / ${ms(mean((t) => t.d2hMs))}${graph}`,
  );
  return lines;
}

/** Measures, prints the summary, and writes --exportTimes (trtexec's fields, one record per call). */
export async function reportBenchmark(session: InferenceSession, feeds: Feeds, options: BenchmarkOptions, exportTimes: string | undefined): Promise<BenchmarkResult> {
  const result = await session.benchmark({ ...options, feeds });
  for (const line of formatBenchmark(result, session.backend)) console.log(line);
  if (exportTimes) {
    await writeFile(exportTimes, `${JSON.stringify(result.timings, null, 2)}\n`);
    note(`wrote ${exportTimes}`);
  }
  return result;
}
