// session.benchmark() on the tensorrt adapter over the double: each call's H2D, compute and D2H
// timed with events, --noDataTransfers without per-call copies, and --useCudaGraph capturing
// once per set of shapes and replaying, checked by what the double's CUDA runtime counted.
import { spawnSync } from 'node:child_process';
import { mkdtempSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';

import { describe, expect, it } from 'vitest';

import { buildEngine, InferenceSession, Tensor } from '../../lib/index.js';
import { mlpModel, randomFloats } from '../fixtures/models.js';

const root = new URL('../..', import.meta.url).pathname;
const profiles = [{ x: { min: [1, 8], opt: [2, 8], max: [4, 8] } }];

// A child process runs dist/ with TNRT_DOUBLE_REPORT=1: at exit the double prints what it
// counted. `script` prints one JSON line last.
function inChild(script: string, env: Record<string, string> = {}) {
  const model = join(mkdtempSync(join(tmpdir(), 'tnrt-bench-')), 'mlp.onnx');
  writeFileSync(model, mlpModel());
  const r = spawnSync(
    process.execPath,
    [
      '--input-type=module',
      '-e',
      `import { readFileSync } from 'node:fs';
       import { buildEngine, InferenceSession, Tensor } from './dist/index.js';
       const engine = await buildEngine(readFileSync(process.env.MODEL), { backend: 'tensorrt', profiles: ${JSON.stringify(profiles)} });
       const session = await InferenceSession.create(engine);
       const x = (b) => ({ x: new Tensor('float32', new Float32Array(b * 8).map((_, i) => Math.sin(i + b)), [b, 8]) });
       ${script}
       session.dispose();`,
    ],
    { cwd: root, encoding: 'utf8', env: { ...process.env, TNRT_DOUBLE_REPORT: '1', MODEL: model, ...env } },
  );
  const counted = r.stderr.match(/TensorRT double counted: (\d+) cudaMemcpyAsync, (\d+) stream captures, (\d+) graph launches/);
  return {
    status: r.status,
    stderr: r.stderr,
    result: JSON.parse(r.stdout.trim().split('\n').pop() || 'null'),
    memcpy: Number(counted?.[1]),
    captures: Number(counted?.[2]),
    launches: Number(counted?.[3]),
  };
}

describe.skipIf(!process.env.TNRT_DOUBLE_TRT_MAJOR)('benchmark on the tensorrt adapter', () => {
  it('times H2D, compute and D2H apart with events, consistently', async () => {
    using session = await InferenceSession.create(await buildEngine(mlpModel(), { backend: 'tensorrt', profiles }));
    const feeds = { x: new Tensor('float32', randomFloats(32, 5), [4, 8]) };
    const result = await session.benchmark({ warmUpMs: 0, durationMs: 0, iterations: 8, feeds });
    expect(result.transfers).toBe('timed');
    expect(result.cudaGraph).toBe(false);
    expect(result.calls).toBe(8);
    for (const t of result.timings) {
      expect(t.startH2DMs).toBeLessThanOrEqual(t.endH2DMs);
      expect(t.endH2DMs).toBeLessThanOrEqual(t.startComputeMs);
      expect(t.startComputeMs).toBeLessThan(t.endComputeMs);
      expect(t.endComputeMs).toBeLessThanOrEqual(t.startD2HMs);
      expect(t.startD2HMs).toBeLessThanOrEqual(t.endD2HMs);
      expect(t.h2dMs).toBeCloseTo(t.endH2DMs - t.startH2DMs, 9);
      expect(t.computeMs).toBeCloseTo(t.endComputeMs - t.startComputeMs, 9);
      expect(t.d2hMs).toBeCloseTo(t.endD2HMs - t.startD2HMs, 9);
      expect(t.h2dMs + t.computeMs + t.d2hMs).toBeLessThanOrEqual(t.latencyMs);
    }
  });

  it('noDataTransfers: one upload per context before timing, no copy in the timed calls', () => {
    // mlp: one input, one output, so a call with transfers queues 2 copies. Both children run
    // once first (2 copies); the compute-only one then uploads once before timing (2 more).
    const script = (noDataTransfers: boolean) => `
      await session.run(x(2));
      const r = await session.benchmark({ warmUpMs: 0, durationMs: 0, iterations: 10, feeds: x(2), noDataTransfers: ${noDataTransfers} });
      console.log(JSON.stringify({ calls: r.calls, transfers: r.transfers, h2d: r.timings.map((t) => t.h2dMs) }));`;
    const without = inChild(script(true));
    expect(without.status).toBe(0);
    expect(without.result).toMatchObject({ calls: 10, transfers: 'excluded' });
    expect(without.memcpy).toBe(2 + 2);
    const withCopies = inChild(script(false));
    expect(withCopies.result).toMatchObject({ calls: 10, transfers: 'timed' });
    expect(withCopies.memcpy).toBe(2 + 2 * 10);
  });

  it('useCudaGraph: captures on the second call with given shapes, replays after, captures again when shapes change; same outputs', () => {
    const r = inChild(`
      const engineContext = session.engine.createExecutionContext();
      const calls = [];
      // 2x8 three times (plain, capture, replay), 4x8 three times (new shape and bigger
      // buffers: plain, capture, replay), then 2x8 twice (not the graph's shape: plain, capture).
      for (const b of [2, 2, 2, 4, 4, 4, 2, 2]) {
        const feeds = x(b);
        const { outputs } = await engineContext.executeForBenchmark(feeds, { transfers: true, cudaGraph: true });
        const plain = await session.run(feeds);
        calls.push(Array.from(outputs.y.data).every((v, i) => v === plain.y.data[i]) && outputs.y.dims.join() === plain.y.dims.join());
      }
      engineContext.dispose();
      const bench = await session.benchmark({ warmUpMs: 0, durationMs: 0, iterations: 6, feeds: x(3), useCudaGraph: true });
      console.log(JSON.stringify({ same: calls, calls: bench.calls, cudaGraph: bench.cudaGraph }));`);
    expect(r.status).toBe(0);
    expect(r.result.same).toEqual([true, true, true, true, true, true, true, true]);
    expect(r.result).toMatchObject({ calls: 6, cudaGraph: true });
    // Captures: 2x8, 4x8, 2x8 again, then the benchmark's 3x8 on the session's context.
    // Launches: every call from the capturing one on while shapes hold: 2 + 2 + 1, then 5 of 6.
    expect(r.captures).toBe(4);
    expect(r.launches).toBe(2 + 2 + 1 + 5);
    expect(r.stderr).toMatch(/0 graphs, 0 graph execs live/);
  });

  it('the CLI prints the split, and takes --useCudaGraph and --noDataTransfers', async () => {
    const engineFile = join(mkdtempSync(join(tmpdir(), 'tnrt-bench-cli-')), 'mlp.engine');
    writeFileSync(engineFile, await buildEngine(mlpModel(), { backend: 'tensorrt', profiles }));
    const bench = (...flags: string[]) =>
      spawnSync(process.execPath, [join(root, 'dist/cli/main.js'), 'bench', engineFile, '--shapes', 'x:2x8', '--warmUp', '0', '--duration', '0', '--iterations', '5', ...flags], {
        encoding: 'utf8',
        env: process.env,
      });
    const timed = bench();
    expect(timed.status).toBe(0);
    expect(timed.stdout).toMatch(/^H2D \/ compute \/ D2H \(mean, GPU events\): \d+\.\d{4} ms \/ \d+\.\d{4} ms \/ \d+\.\d{4} ms$/m);
    const both = bench('--useCudaGraph', '--noDataTransfers');
    expect(both.stderr).toBe('');
    expect(both.status).toBe(0);
    expect(both.stdout).toMatch(/^H2D \/ compute \/ D2H \(mean, GPU events\): no transfers \(--noDataTransfers\) \/ \d+\.\d{4} ms \/ no transfers, compute replayed from a CUDA graph$/m);
  });

  it.each([
    ['capture fails', { TNRT_DOUBLE_FAULTS: 'cudaStreamBeginCapture' }, /CUDA graph capture failed[^\n]*cudaStreamBeginCapture failed: cudaErrorStreamCaptureUnsupported/],
    ['outputs of data-dependent shape', { TNRT_DOUBLE_DATA_DEPENDENT: '1' }, /CUDA graph capture failed[^\n]*data-dependent shape/],
  ])('useCudaGraph where %s: warns once and runs without a graph', (_, env, warning) => {
    const r = inChild(
      `const bench = await session.benchmark({ warmUpMs: 0, durationMs: 0, iterations: 5, feeds: x(2), useCudaGraph: true });
       console.log(JSON.stringify({ calls: bench.calls }));`,
      env,
    );
    expect(r.status).toBe(0);
    expect(r.result).toEqual({ calls: 5 });
    expect(r.stderr.match(/CUDA graph capture failed/g)).toHaveLength(1);
    expect(r.stderr).toMatch(warning);
    expect(r.launches).toBe(0);
    expect(r.stderr).toMatch(/0 device allocations, 0 pinned allocations, 0 streams, 0 events live, 0 graphs, 0 graph execs live/);
  });
});
