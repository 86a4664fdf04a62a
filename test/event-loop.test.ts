// Build, deserialize and execute run on the libuv pool: the event loop keeps turning while
// they work. A ticker counts setImmediate turns during each call; a call that blocked the loop
// would see none until it returned.
import { describe, expect, it } from 'vitest';

import { buildEngine, Runtime, Tensor } from '../lib/index.js';
import { bigMatMulModel, randomFloats } from './fixtures/models.js';
import { ticksDuring } from './fixtures/ticker.js';

describe('the event loop keeps ticking', () => {
  // Sixteen 384^3 MatMuls: tens of milliseconds on one core even on the blocked sgemm.
  const n = 384;
  it('while an engine builds, deserializes and executes', async () => {
    const model = bigMatMulModel(n, 16);
    const build = await ticksDuring(() => buildEngine(model, { backend: 'sim' }));
    using runtime = new Runtime({ backend: 'sim' });
    const load = await ticksDuring(() => runtime.deserializeCudaEngine(build.result));
    const context = load.result.createExecutionContext();
    const x = new Tensor('float32', randomFloats(n * n, 2), [n, n]);
    const exec = await ticksDuring(() => context.execute({ x }));
    expect(exec.result.y!.dims).toEqual([n, n]);
    for (const [name, m] of Object.entries({ build, load, exec })) {
      // A call that blocked the loop would see no tick (or one, if it deferred its blocking
      // work with setImmediate); one that does not sees the loop turn throughout. An idle
      // machine gives many turns per millisecond of work; one turn per 20 ms is a bound
      // that holds even when other processes take both cores.
      expect(m.ticks, `${name}: ${m.ticks} ticks in ${m.ms.toFixed(1)} ms`).toBeGreaterThanOrEqual(Math.max(2, Math.floor(m.ms / 20)));
    }
    // The execute measurement means something only if the work took a while.
    expect(exec.ms).toBeGreaterThan(10);
  });
});
