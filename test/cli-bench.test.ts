// `tensorrt-node bench` and `run --bench`, run as a user runs them: the printed figures are
// checked against arithmetic on the calls --exportTimes wrote.
import { mkdtempSync, readFileSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';

import { beforeAll, describe, expect, it } from 'vitest';

import type { BenchmarkTiming as Timing } from '../lib/benchmark.js';
import { writeNpy } from '../lib/npy.js';
import { Tensor } from '../lib/tensor.js';
import { mlpModel } from './fixtures/models.js';
import { expectMistake, tensorrtNode } from './fixtures/run-cli.js';

const dir = mkdtempSync(join(tmpdir(), 'tensorrt-node-cli-bench-'));
const engine = join(dir, 'mlp.engine');

beforeAll(async () => {
  writeFileSync(join(dir, 'mlp.onnx'), mlpModel());
  const built = await tensorrtNode('build', join(dir, 'mlp.onnx'), '-o', engine, '--min-shapes', 'x:1x8', '--opt-shapes', 'x:4x8', '--max-shapes', 'x:8x8');
  expect(built.code).toBe(0);
});

function figure(stdout: string, label: string): number {
  const m = new RegExp(`${label.replace(/[()%]/g, '\\$&')} = ([0-9.]+) ms`).exec(stdout);
  if (!m) throw new Error(`no '${label}' in:\n${stdout}`);
  return Number(m[1]);
}

describe('tensorrt-node bench', () => {
  it('prints throughput and latency statistics that match the exported per-call times', async () => {
    const times = join(dir, 'times.json');
    const r = await tensorrtNode('bench', engine, '--warmUp', '20', '--duration', '0.2', '--iterations', '5', '--percentile', '50,90,99', '--exportTimes', times, '--shapes', 'x:2x8');
    expect(r.code).toBe(0);
    expect(r.stdout).toMatch(/^inputs: x float32 \[2, 8\]$/m);
    const calls = Number(/(\d+) measured calls in ([0-9.]+) s/.exec(r.stdout)![1]);
    const timings = JSON.parse(readFileSync(times, 'utf8')) as Timing[];
    expect(timings.length).toBe(calls);
    expect(calls).toBeGreaterThanOrEqual(5);
    expect(Object.keys(timings[0]!)).toEqual(['startH2DMs', 'endH2DMs', 'startComputeMs', 'endComputeMs', 'startD2HMs', 'endD2HMs', 'h2dMs', 'computeMs', 'd2hMs', 'latencyMs']);
    const latencies = timings.map((t) => t.latencyMs).sort((a, b) => a - b);
    const rank = (p: number) => latencies[Math.ceil((p / 100) * calls) - 1]!;
    const median = calls % 2 ? latencies[(calls - 1) / 2]! : (latencies[calls / 2 - 1]! + latencies[calls / 2]!) / 2;
    const mean = latencies.reduce((a, b) => a + b, 0) / calls;
    // printed to 4 decimals
    expect(figure(r.stdout, 'min')).toBeCloseTo(latencies[0]!, 3);
    expect(figure(r.stdout, 'max')).toBeCloseTo(latencies[calls - 1]!, 3);
    expect(figure(r.stdout, 'mean')).toBeCloseTo(mean, 3);
    expect(figure(r.stdout, 'median')).toBeCloseTo(median, 3);
    expect(figure(r.stdout, 'percentile(50%)')).toBeCloseTo(rank(50), 3);
    expect(figure(r.stdout, 'percentile(90%)')).toBeCloseTo(rank(90), 3);
    expect(figure(r.stdout, 'percentile(99%)')).toBeCloseTo(rank(99), 3);
    // The wall time is the last call's end as JavaScript saw it (the loop's stop condition),
    // printed in seconds to 3 decimals; a call's event spans end before that (under ASan, the
    // return trip after the last span took over a millisecond).
    const wall = 1000 * Number(/measured calls in ([0-9.]+) s/.exec(r.stdout)![1]);
    expect(wall).toBeGreaterThanOrEqual(200);
    for (const t of timings) expect(t.endD2HMs).toBeLessThanOrEqual(wall + 0.5);
    const qps = Number(/Throughput: ([0-9.]+) qps/.exec(r.stdout)![1]);
    expect(Math.abs(qps - (calls * 1000) / wall) / qps).toBeLessThan(0.01);
    // The sim has no transfers: empty H2D and D2H spans. One stream: each call starts after
    // the one before it ended, so the calls' latencies add up to no more than the wall time.
    timings.forEach((t, i) => {
      expect([t.h2dMs, t.d2hMs, t.endH2DMs - t.startH2DMs, t.endD2HMs - t.startD2HMs]).toEqual([0, 0, 0, 0]);
      expect(t.latencyMs).toBeGreaterThan(0);
      expect(t.startH2DMs).toBeGreaterThanOrEqual(i === 0 ? 0 : timings[i - 1]!.endD2HMs);
    });
    expect(mean * calls).toBeLessThanOrEqual(wall + 1e-6 * calls);
    expect(r.stdout).toMatch(/the sim computes in host memory, so there are no transfers/);
    expect(r.stdout).toMatch(/\d+ warm-up calls \(not counted\)/);
  });

  it('runs --streams contexts in parallel and stops at --iterations when --duration is 0', async () => {
    const times = join(dir, 'streams.json');
    const r = await tensorrtNode('bench', engine, '--streams', '3', '--warmUp', '0', '--duration', '0', '--iterations', '30', '--exportTimes', times);
    expect(r.code).toBe(0);
    expect(r.stdout).toMatch(/backend sim; 3 streams; 0 warm-up calls \(not counted\); (3\d) measured calls/);
    const t = JSON.parse(readFileSync(times, 'utf8')) as Timing[];
    // three loops each wait for their own call: at every moment up to three calls are open
    const overlaps = t.filter((a) => t.some((b) => b !== a && b.startH2DMs < a.endD2HMs && a.startH2DMs < b.endD2HMs));
    expect(overlaps.length).toBeGreaterThan(0);
    expect(t.length).toBeLessThan(33);
  });

  it('run --bench prints the first call and then warm-up-free statistics', async () => {
    const r = await tensorrtNode('run', engine, '--bench', '--warmUp', '10', '--duration', '0.05', '--iterations', '3');
    expect(r.code).toBe(0);
    expect(r.stdout).toMatch(/^y\tfloat32 \[4, 4\]/m);
    expect(r.stdout).toMatch(/^first call: [0-9.]+ ms$/m);
    expect(r.stdout).toMatch(/^Throughput: [0-9.]+ qps$/m);
    expect(r.stdout).toMatch(/percentile\(99%\) = [0-9.]+ ms/);
    // A measurement flag alone implies --bench.
    expect((await tensorrtNode('run', engine, '--iterations', '2', '--duration', '0', '--warmUp', '0')).stdout).toMatch(/2 measured calls/);
  });

  it('refuses --useCudaGraph and --noDataTransfers on the sim, and bad values, in one line', async () => {
    expect(expectMistake(await tensorrtNode('bench', engine, '--useCudaGraph'))).toMatch(/--useCudaGraph needs the tensorrt backend; this engine runs on the sim/);
    expect(expectMistake(await tensorrtNode('run', engine, '--bench', '--noDataTransfers'))).toMatch(/--noDataTransfers needs the tensorrt backend/);
    expect(expectMistake(await tensorrtNode('bench', engine, '--useCudaGraph', '--noDataTransfers'))).toMatch(/--useCudaGraph and --noDataTransfers need the tensorrt backend/);
    for (const [flag, value] of [['--warmUp', '-5'], ['--duration', 'soon'], ['--iterations', '1.5'], ['--streams', '0'], ['--streams', '65'], ['--percentile', '0,99']]) {
      expect(expectMistake(await tensorrtNode('bench', engine, `${flag}=${value}`))).toContain(`${flag} takes`);
    }
    // node's own parse errors come out on one line too
    expect(expectMistake(await tensorrtNode('bench', engine, '--warmUp', '-5'))).toMatch(/'--warmUp' argument is ambiguous\. .*'--warmUp=-XYZ'/);
    expect(expectMistake(await tensorrtNode('bench', engine, '--exportTimes', join(dir, 'no', 'such', 'dir', 't.json')))).toMatch(/--exportTimes: the directory .* does not exist/);
  });

  it('takes the shape of a dynamic input from a .npy file when --shapes does not give it', async () => {
    const x = join(dir, 'x3.npy');
    writeFileSync(x, writeNpy(new Tensor('float32', new Float32Array(3 * 8), [3, 8])));
    const r = await tensorrtNode('bench', engine, '--loadInputs', `x:${x}`, '--duration', '0', '--warmUp', '0', '--iterations', '2');
    expect(r.code).toBe(0);
    expect(r.stdout).toMatch(/^inputs: x float32 \[3, 8\]$/m);
    expect(expectMistake(await tensorrtNode('bench', engine, '--loadInputs', `x:${x}`, '--shapes', 'x:2x8'))).toMatch(/x3\.npy has shape \[3, 8\] but 'x' runs at float32 \[2, 8\]; reshape it, or pass --shapes x:3x8/);
    const big = join(dir, 'x9.npy');
    writeFileSync(big, writeNpy(new Tensor('float32', new Float32Array(9 * 8), [9, 8])));
    expect(expectMistake(await tensorrtNode('run', engine, '--loadInputs', `x:${big}`))).toMatch(/the shapes of the input files: input 'x' dimension 0 is 9, outside optimization profile 0's range \[1, 8\]/);
  });

  it('has --help with an example', async () => {
    const help = await tensorrtNode('bench', '--help');
    expect(help.code).toBe(0);
    expect(help.stdout).toMatch(/Usage: tensorrt-node bench MODEL\.engine/);
    expect(help.stdout).toMatch(/--warmUp MS[\s\S]*--duration S[\s\S]*--iterations N[\s\S]*--percentile[\s\S]*--streams N[\s\S]*--exportTimes FILE[\s\S]*--useCudaGraph[\s\S]*--noDataTransfers/);
    expect(help.stdout).toMatch(/Example:\n  tensorrt-node bench /);
  });
});
