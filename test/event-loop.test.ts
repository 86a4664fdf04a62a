// Build, deserialize and execute run on the libuv pool, calibration histograms on the addon's
// calibration threads and in short slices between event-loop turns: the loop keeps turning
// while they work. What a call did on the JavaScript thread is measured, not how long the
// loop waited for its turns: on a loaded machine the scheduler and the VM's host pause the
// thread for milliseconds at a time whatever it does (test/fixtures/ticker.ts).
import { afterEach, describe, expect, it } from 'vitest';

import { buildEngine, CalibrationHistogram, Runtime, Tensor } from '../lib/index.js';
import { native } from '../lib/native.js';
import { bigMatMulModel, randomFloats } from './fixtures/models.js';
import { cpuSplit, threadCpu, ticksDuring } from './fixtures/ticker.js';

/**
 * Runs `work` until the JavaScript thread spent at most half of the CPU time it cost, at most
 * three times, and returns the last result. A call that blocked the loop spends all of its
 * work's CPU time on that thread, whether at once or deferred with setImmediate; one that does
 * not spends there only its validation and the conversion of the result (0.2-0.5 ms measured
 * next to 1-20 ms of work). The retries are for garbage collection and for the VM's pauses,
 * which land on whichever thread runs and can take a few milliseconds.
 * Without a per-thread CPU clock (not Linux) the loop must turn at least once during the call.
 */
async function expectOffThread<T>(name: string, work: () => Promise<T>): Promise<{ totalCpuMs: number; result: T }> {
  if (!threadCpu) {
    const watch = await ticksDuring(work);
    expect(watch.ticks, `${name}: turns of the loop during the call`).toBeGreaterThan(0);
    return { totalCpuMs: Number.NaN, result: watch.result };
  }
  const failures: string[] = [];
  for (let attempt = 0; attempt < 3; attempt++) {
    const split = await cpuSplit(work);
    if (split.jsCpuMs <= 0.5 * split.totalCpuMs) return split;
    failures.push(`JS thread ${split.jsCpuMs.toFixed(2)} ms of ${split.totalCpuMs.toFixed(2)} ms CPU (${split.ms.toFixed(1)} ms wall)`);
  }
  expect.fail(`${name}: more than half of the call's CPU time was on the JavaScript thread, three times: ${failures.join('; ')}`);
}

describe('the event loop keeps ticking', () => {
  // Sixteen 384^3 MatMuls: tens of milliseconds of CPU even on the blocked sgemm.
  const n = 384;
  it('while an engine builds, deserializes and executes', async () => {
    const model = bigMatMulModel(n, 16);
    const build = await expectOffThread('build', () => buildEngine(model, { backend: 'sim' }));
    using runtime = new Runtime({ backend: 'sim' });
    const load = await expectOffThread('deserialize', () => runtime.deserializeCudaEngine(build.result));
    const context = load.result.createExecutionContext();
    const x = new Tensor('float32', randomFloats(n * n, 2), [n, n]);
    const exec = await expectOffThread('execute', () => context.execute({ x }));
    expect(exec.result.y!.dims).toEqual([n, n]);
    // The execute measurement means something only if the work took a while.
    if (threadCpu) expect(exec.totalCpuMs).toBeGreaterThan(10);
  });

  describe('while a calibration histogram bins a large batch', () => {
    // The event loop's part is native help() calls, one per turn (lib/calibration/histogram.ts),
    // each binning up to two 64 KB slices (native/binding/histogram_add.h). Counted and timed
    // here: the addon's class is swapped for a subclass whose objects carry a wrapped help()
    // (the method on the native prototype is read-only).
    const Native = native.CalibrationHistogram;
    let onHelp: ((self: { help(): boolean }, help: () => boolean) => boolean) | undefined;
    class WatchedHistogram extends Native {
      constructor(...args: ConstructorParameters<typeof Native>) {
        super(...args);
        const help = Native.prototype.help;
        Object.defineProperty(this, 'help', { value: () => (onHelp ? onHelp(this, () => help.call(this)) : help.call(this)) });
      }
    }
    afterEach(() => {
      native.CalibrationHistogram = Native;
      onHelp = undefined;
    });

    it('a loop awaiting one 1 MB add() after another lets the event loop turn between them', async () => {
      // Each such add() bins its batch before it returns (0.1-0.2 ms) and resolves on the
      // next turn: awaited back to back, the adds would otherwise be one chain of microtasks.
      const batch = randomFloats(1 << 18, 4);
      using histogram = new CalibrationHistogram();
      const watch = await ticksDuring(async () => {
        for (let i = 0; i < 32; i++) await histogram.add(batch);
      });
      expect(histogram.total).toBe(32 * (1 << 18));
      expect(watch.ticks, 'turns of the loop during 32 awaited adds').toBeGreaterThanOrEqual(31);
    });

    it('the loop bins at most two slices between two turns, about 10 us', async () => {
      // 64 MB, about 3 ms of binning on each of two cores: the calibration threads and the
      // event loop share it. Had the loop binned its share in one go, one call would have held
      // it for milliseconds; had it called help() until no slice was left, it would do so in
      // one turn.
      const batch = randomFloats(1 << 24, 3);
      native.CalibrationHistogram = WatchedHistogram;
      using histogram = new CalibrationHistogram();
      await histogram.add(batch); // sets the range; a batch within it is the shared case

      let turn = 0;
      let callsThisTurn = 0;
      let mostCallsPerTurn = 0;
      const binningMs: number[] = [];
      onHelp = (_self, help) => {
        if (++callsThisTurn > mostCallsPerTurn) mostCallsPerTurn = callsThisTurn;
        const started = performance.now();
        const binned = help();
        if (binned) binningMs.push(performance.now() - started);
        return binned;
      };
      let running = true;
      const tick = () => {
        turn++;
        callsThisTurn = 0;
        if (running) setImmediate(tick);
      };
      setImmediate(tick);
      try {
        for (let i = 0; i < 3; i++) await histogram.add(batch);
      } finally {
        running = false;
      }
      expect(histogram.total).toBe(4 * (1 << 24));
      expect(mostCallsPerTurn, 'help() calls between two turns of the loop').toBe(1);
      // The loop did its share: a fair number of slices, over many turns.
      expect(binningMs.length, `help() calls that binned, in ${turn} turns`).toBeGreaterThan(30);
      // The median, not the longest: a pause of the VM or a preemption lengthens a few calls
      // by milliseconds, never half of them.
      const median = binningMs.sort((a, b) => a - b)[binningMs.length >> 1]!;
      expect(median, 'median time of a help() call that binned, ms').toBeLessThan(0.5);
    });
  });
});
