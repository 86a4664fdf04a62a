// Build, deserialize and execute run on the libuv pool, calibration histograms on the addon's
// calibration threads and in short slices between event-loop turns: the loop keeps turning
// while they work. A ticker counts setImmediate turns during each call; a call that blocked
// the loop would see none until it returned.
import { describe, expect, it } from 'vitest';

import { buildEngine, CalibrationHistogram, Runtime, Tensor } from '../lib/index.js';
import { bigMatMulModel, randomFloats } from './fixtures/models.js';
import { ticksDuring } from './fixtures/ticker.js';

/**
 * Runs `work` until the loop turned often enough during it, at most three times, and returns
 * the last result. A call that blocked the loop would see no tick (or one, if it deferred its
 * blocking work with setImmediate) every time; one that does not sees the loop turn
 * throughout. An idle machine gives many turns per millisecond of work; one turn per 20 ms is
 * a bound that holds even when other processes take both cores. The retries are for a
 * garbage-collection pause that can take all of a call of a few milliseconds.
 */
async function expectLoopTurns<T>(name: string, work: () => Promise<T>): Promise<{ ms: number; result: T }> {
  let last: { ticks: number; ms: number; result: T } | undefined;
  for (let attempt = 0; attempt < 3; attempt++) {
    last = await ticksDuring(work);
    if (last.ticks >= Math.max(2, Math.floor(last.ms / 20))) return last;
  }
  expect.fail(`${name}: ${last!.ticks} ticks in ${last!.ms.toFixed(1)} ms, three times`);
}

describe('the event loop keeps ticking', () => {
  // Sixteen 384^3 MatMuls: tens of milliseconds on one core even on the blocked sgemm.
  const n = 384;
  it('while an engine builds, deserializes and executes', async () => {
    const model = bigMatMulModel(n, 16);
    const build = await expectLoopTurns('build', () => buildEngine(model, { backend: 'sim' }));
    using runtime = new Runtime({ backend: 'sim' });
    const load = await expectLoopTurns('deserialize', () => runtime.deserializeCudaEngine(build.result));
    const context = load.result.createExecutionContext();
    const x = new Tensor('float32', randomFloats(n * n, 2), [n, n]);
    const exec = await expectLoopTurns('execute', () => context.execute({ x }));
    expect(exec.result.y!.dims).toEqual([n, n]);
    // The execute measurement means something only if the work took a while.
    expect(exec.ms).toBeGreaterThan(10);
  });

  it('while a calibration histogram bins a large batch, a turn at least every millisecond', async () => {
    // 64 MB, about 3 ms of binning on each of two cores: the calibration threads and the event
    // loop share it, the loop two 64 KB slices (about 10 us) per turn. Had the loop
    // binned its share in one go, it would have stood still for milliseconds.
    const batch = randomFloats(1 << 24, 3);
    using histogram = new CalibrationHistogram();
    await histogram.add(batch); // sets the range; a batch within it is the shared case
    let gaps: string[] = [];
    for (let attempt = 0; attempt < 3; attempt++) {
      const add = await ticksDuring(() => histogram.add(batch));
      if (add.maxGapMs < 1) {
        gaps = [];
        break;
      }
      gaps.push(`${add.maxGapMs.toFixed(2)} ms`);
    }
    expect(gaps, 'longest pause of the event loop during add(), three attempts').toEqual([]);
    expect(histogram.total % (1 << 24)).toBe(0);
  });
});
