// session.benchmark() and the measuring loop under it: warm-up left out, the stopping rule,
// and the statistics, checked against arithmetic on the recorded calls.
import { describe, expect, it } from 'vitest';

import { normalizeBenchmarkOptions, percentile, runBenchmark, summarizeLatencies } from '../lib/benchmark.js';
import { buildEngine } from '../lib/build-engine.js';
import { InvalidArgumentError, UnsupportedError } from '../lib/errors.js';
import { InferenceSession } from '../lib/inference-session.js';
import { Tensor } from '../lib/tensor.js';
import { mlpModel } from './fixtures/models.js';

const sleep = (ms: number) => new Promise((resolve) => setTimeout(resolve, ms));

describe('benchmark statistics', () => {
  it('uses nearest-rank percentiles and the middle pair for an even median', () => {
    const latencies = [10, 3, 7, 1, 9, 2, 8, 4, 6, 5];
    const s = summarizeLatencies(latencies, [50, 90, 95, 99, 100]);
    expect(s).toEqual({
      min: 1,
      max: 10,
      mean: 5.5,
      median: 5.5,
      // ceil(p/100 * 10)-th smallest: 5th, 9th, 10th, 10th, 10th
      percentiles: [
        { percentile: 50, ms: 5 },
        { percentile: 90, ms: 9 },
        { percentile: 95, ms: 10 },
        { percentile: 99, ms: 10 },
        { percentile: 100, ms: 10 },
      ],
    });
    expect(summarizeLatencies([4, 1, 3], [1]).median).toBe(3);
    expect(percentile([1, 2, 3], 1)).toBe(1);
  });

  it('leaves the warm-up calls out', async () => {
    // A runner that is slow while warming up (as a first call that allocates) and fast after.
    let calls = 0;
    const started = performance.now();
    const slowFirst = async () => {
      calls++;
      await sleep(performance.now() - started < 60 ? 25 : 1);
    };
    const result = await runBenchmark([slowFirst], normalizeBenchmarkOptions({ warmUpMs: 80, durationMs: 30, iterations: 5 }), 'none');
    expect(result.warmUpCalls).toBeGreaterThanOrEqual(2);
    expect(result.calls + result.warmUpCalls).toBe(calls);
    expect(result.latencyMs.max).toBeLessThan(20);
    expect(result.timings[0]!.startComputeMs).toBeGreaterThanOrEqual(0);
  });

  it('stops only when both the duration and the iterations are reached', async () => {
    const fast = () => sleep(1);
    const byCount = await runBenchmark([fast], normalizeBenchmarkOptions({ warmUpMs: 0, durationMs: 0, iterations: 7 }), 'none');
    expect(byCount.calls).toBe(7);
    const byTime = await runBenchmark([fast], normalizeBenchmarkOptions({ warmUpMs: 0, durationMs: 50, iterations: 1 }), 'none');
    expect(byTime.wallMs).toBeGreaterThanOrEqual(50);
    expect(byTime.calls).toBeGreaterThan(1);
    // throughput is measured calls over the measured wall time
    expect(byTime.throughputQps).toBeCloseTo((byTime.calls * 1000) / byTime.wallMs, 6);
  });

  it('summarizes more calls than a function call takes arguments', async () => {
    // A model that runs in microseconds records this many calls in a few seconds.
    const instant = () => Promise.resolve();
    const result = await runBenchmark([instant], normalizeBenchmarkOptions({ warmUpMs: 0, durationMs: 0, iterations: 300_000 }), 'none');
    expect(result.calls).toBe(300_000);
    expect(result.wallMs).toBeGreaterThan(0);
    expect(result.latencyMs.max).toBeGreaterThanOrEqual(result.latencyMs.min);
  }, 60_000);

  it('runs one loop per runner, overlapping', async () => {
    const result = await runBenchmark([() => sleep(5), () => sleep(5), () => sleep(5)], normalizeBenchmarkOptions({ warmUpMs: 0, durationMs: 30, iterations: 1 }), 'none');
    expect(result.concurrency).toBe(3);
    const t = result.timings;
    const overlapping = t.filter((a) => t.some((b) => b !== a && b.startComputeMs < a.endComputeMs && a.startComputeMs < b.endComputeMs));
    expect(overlapping.length).toBe(t.length);
  });

  it('stops every loop at the first failure and throws it once all have stopped', async () => {
    let inFlight = 0;
    let calls = 0;
    const failing = async () => {
      inFlight++;
      calls++;
      await sleep(2);
      inFlight--;
      if (calls > 6) throw new Error('call failed');
    };
    await expect(runBenchmark([failing, failing, failing], normalizeBenchmarkOptions({ warmUpMs: 0, durationMs: 1000, iterations: 1 }), 'none')).rejects.toThrow('call failed');
    expect(inFlight).toBe(0);
    expect(calls).toBeLessThan(12);
  });

  it("places a backend's event spans from each call's start", async () => {
    const parts = { h2dStartMs: 0, h2dEndMs: 1, computeStartMs: 1, computeEndMs: 3, d2hStartMs: 3, d2hEndMs: 3.5 };
    const timed = async () => {
      await sleep(5);
      return parts;
    };
    const result = await runBenchmark([timed], normalizeBenchmarkOptions({ warmUpMs: 0, durationMs: 0, iterations: 3 }), 'timed');
    expect(result.transfers).toBe('timed');
    for (const t of result.timings) {
      expect([t.h2dMs, t.computeMs, t.d2hMs]).toEqual([1, 2, 0.5]);
      expect(t.endH2DMs - t.startH2DMs).toBeCloseTo(1, 9);
      expect(t.startComputeMs).toBe(t.endH2DMs);
      expect(t.endD2HMs - t.startH2DMs).toBeCloseTo(3.5, 9);
      expect(t.latencyMs).toBeGreaterThanOrEqual(4);
    }
  });

  it('refuses bad options with InvalidArgumentError', () => {
    expect(() => normalizeBenchmarkOptions({ useCudaGraph: 'yes' as unknown as boolean })).toThrow(/useCudaGraph.*boolean|boolean.*useCudaGraph/);
    expect(() => normalizeBenchmarkOptions({ warmUpMs: -1 })).toThrow(InvalidArgumentError);
    expect(() => normalizeBenchmarkOptions({ iterations: 0 })).toThrow(/iterations/);
    expect(() => normalizeBenchmarkOptions({ concurrency: 65 })).toThrow(/concurrency/);
    expect(() => normalizeBenchmarkOptions({ percentiles: [0] })).toThrow(/percentiles/);
  });
});

describe('InferenceSession.benchmark', () => {
  it('measures a sim engine on several contexts and leaves the session usable', async () => {
    const engine = await buildEngine(mlpModel(), { backend: 'sim', profiles: [{ x: { min: [1, 8], opt: [4, 8], max: [8, 8] } }] });
    const session = await InferenceSession.create(engine, { backend: 'sim' });
    try {
      const result = await session.benchmark({ warmUpMs: 10, durationMs: 20, iterations: 5, concurrency: 2, percentiles: [50] });
      expect(result.concurrency).toBe(2);
      expect(result.calls).toBeGreaterThanOrEqual(5);
      expect(result.transfers).toBe('none');
      for (const t of result.timings) {
        expect(t.h2dMs).toBe(0);
        expect(t.d2hMs).toBe(0);
        expect(t.computeMs).toBe(t.latencyMs);
        expect(t.endD2HMs - t.startH2DMs).toBeCloseTo(t.latencyMs, 9);
      }
      // given feeds at another shape
      const feeds = { x: new Tensor('float32', new Float32Array(16), [2, 8]) };
      expect((await session.benchmark({ warmUpMs: 0, durationMs: 0, iterations: 3, feeds })).calls).toBe(3);
      const out = await session.run(feeds);
      expect(out.y!.dims).toEqual([2, 4]);
      await expect(session.benchmark({ concurrency: 0 })).rejects.toThrow(InvalidArgumentError);
      // No CUDA graphs or transfers on the sim: refused, not ignored.
      await expect(session.benchmark({ useCudaGraph: true })).rejects.toThrow(new UnsupportedError('benchmark option useCudaGraph needs the tensorrt backend: the sim has no CUDA graphs or host-device transfers; leave it out on the sim'));
      await expect(session.benchmark({ noDataTransfers: true })).rejects.toThrow(UnsupportedError);
    } finally {
      session.dispose();
    }
  });
});
