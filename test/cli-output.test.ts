// The CLI's progress display, its refusal of TensorRT-only bench flags on the sim and its
// transfer split line, checked without a terminal or TensorRT: the reporter writes to a stand-in stream, the check sees a stand-in session.
import { afterEach, describe, expect, it } from 'vitest';

import type { BenchmarkResult } from '../lib/benchmark.js';
import { benchmarkOptions, checkTensorRTOnlyFlags, formatBenchmark } from '../lib/cli/bench-options.js';
import { progressReporter, setVerbosity } from '../lib/cli/output.js';
import { UsageError } from '../lib/cli/usage.js';
import type { InferenceSession } from '../lib/inference-session.js';

function stream(isTTY: boolean) {
  const writes: string[] = [];
  return { writes, stream: { isTTY, columns: 80, write: (s: string) => writes.push(s) } as unknown as NodeJS.WriteStream };
}

afterEach(() => setVerbosity('normal'));

describe('progressReporter', () => {
  it('redraws one bar line on a terminal, with steps and elapsed time', () => {
    const { writes, stream: tty } = stream(true);
    const { onProgress, finish } = progressReporter(tty);
    onProgress({ kind: 'phaseStart', phase: 'Building engine', parent: '', steps: 4 });
    onProgress({ kind: 'step', phase: 'Building engine', step: 0 });
    onProgress({ kind: 'step', phase: 'Building engine', step: 1 });
    onProgress({ kind: 'phaseFinish', phase: 'Building engine' });
    finish();
    expect(writes.slice(0, 4).every((w) => w.startsWith('\r') && !w.includes('\n'))).toBe(true);
    // 24 cells: 0/4, 1/4 (6 filled), 2/4 (12 filled), 4/4 (all)
    expect(writes[0]).toMatch(/^\r\[\.{24}\] Building engine 0\/4  \d+\.\ds/);
    expect(writes[1]).toMatch(/^\r\[#{6}\.{18}\] Building engine 1\/4  /);
    expect(writes[2]).toMatch(/^\r\[#{12}\.{12}\] Building engine 2\/4  /);
    expect(writes[3]).toMatch(/^\r\[#{24}\] Building engine 4\/4  /);
    expect(writes[4]).toBe('\n');
  });

  it('writes plain lines otherwise: start, each quarter, done', () => {
    const { writes, stream: log } = stream(false);
    const { onProgress, finish } = progressReporter(log);
    onProgress({ kind: 'phaseStart', phase: 'Calibration', parent: 'Building engine', steps: 8 });
    for (let step = 0; step < 8; step++) onProgress({ kind: 'step', phase: 'Calibration', step });
    onProgress({ kind: 'phaseFinish', phase: 'Calibration' });
    finish();
    expect(writes.map((w) => w.replace(/\d+\.\ds/, 'T'))).toEqual([
      'Calibration: started (8 steps)  T\n',
      'Calibration: 2/8  T\n',
      'Calibration: 4/8  T\n',
      'Calibration: 6/8  T\n',
      'Calibration: done  T\n',
    ]);
  });

  it('is silent under --quiet', () => {
    setVerbosity('quiet');
    const { writes, stream: tty } = stream(true);
    const { onProgress, finish } = progressReporter(tty);
    onProgress({ kind: 'phaseStart', phase: 'Building engine', parent: '', steps: 1 });
    finish();
    expect(writes).toEqual([]);
  });
});

describe('--useCudaGraph and --noDataTransfers', () => {
  const on = (backend: string) => ({ backend }) as unknown as InferenceSession;
  it('are a usage mistake on the sim and pass on tensorrt', () => {
    expect(() => checkTensorRTOnlyFlags(on('sim'), { useCudaGraph: true })).toThrow(UsageError);
    expect(() => checkTensorRTOnlyFlags(on('tensorrt'), { useCudaGraph: true, noDataTransfers: true })).not.toThrow();
    expect(() => checkTensorRTOnlyFlags(on('sim'), {})).not.toThrow();
  });

  it('map to the benchmark options', async () => {
    expect(await benchmarkOptions({ useCudaGraph: true, noDataTransfers: true })).toEqual({ useCudaGraph: true, noDataTransfers: true });
    expect(await benchmarkOptions({})).toEqual({});
  });
});

describe('the H2D / compute / D2H line', () => {
  const timing = (h2d: number, compute: number, d2h: number) => ({
    startH2DMs: 0, endH2DMs: h2d, startComputeMs: h2d, endComputeMs: h2d + compute, startD2HMs: h2d + compute, endD2HMs: h2d + compute + d2h,
    h2dMs: h2d, computeMs: compute, d2hMs: d2h, latencyMs: h2d + compute + d2h + 0.5,
  });
  const result = (transfers: BenchmarkResult['transfers'], cudaGraph: boolean): BenchmarkResult => ({
    concurrency: 1, warmUpCalls: 0, calls: 2, wallMs: 10, throughputQps: 200,
    latencyMs: { min: 1, mean: 1, median: 1, max: 1, percentiles: [] },
    transfers, cudaGraph, timings: [timing(1, 2, 0.5), timing(3, 4, 1.5)],
  });

  it('prints the mean of each part where the backend timed them: (1+3)/2, (2+4)/2, (0.5+1.5)/2', () => {
    expect(formatBenchmark(result('timed', false), 'tensorrt').at(-1)).toBe('H2D / compute / D2H (mean, GPU events): 2.0000 ms / 3.0000 ms / 1.0000 ms');
    expect(formatBenchmark(result('excluded', true), 'tensorrt').at(-1)).toBe(
      'H2D / compute / D2H (mean, GPU events): no transfers (--noDataTransfers) / 3.0000 ms / no transfers, compute replayed from a CUDA graph',
    );
    expect(formatBenchmark(result('none', false), 'sim').at(-1)).toMatch(/the sim computes in host memory/);
  });
});
