// The addon is context-aware: several worker_threads load it at once, each builds and runs an
// engine, and all of them agree with the main thread.
import { Worker } from 'node:worker_threads';

import { describe, expect, it } from 'vitest';

import { buildEngine, InferenceSession, Tensor } from '../lib/index.js';
import { mlpModel, randomFloats } from './fixtures/models.js';

const workerSource = `
const { parentPort, workerData } = require('node:worker_threads');
(async () => {
  const { buildEngine, InferenceSession, Tensor } = await import(workerData.entry);
  const engine = await buildEngine(workerData.model, { backend: 'sim', shapes: 'x:2x8' });
  const session = await InferenceSession.create(engine);
  const out = await session.run({ x: new Tensor('float32', workerData.x, [2, 8]) });
  session.dispose();
  parentPort.postMessage(Array.from(out.y.data));
})().catch((e) => parentPort.postMessage({ error: String(e && e.stack || e) }));
`;

describe('worker_threads', () => {
  it('loads and runs the addon in four workers at once', async () => {
    const entry = new URL('../dist/index.js', import.meta.url).href;
    const model = mlpModel();
    const x = randomFloats(16, 4);
    const results = await Promise.all(
      Array.from({ length: 4 }, () =>
        new Promise<unknown>((resolve, reject) => {
          const worker = new Worker(workerSource, { eval: true, workerData: { entry, model, x } });
          worker.once('message', (m) => {
            resolve(m);
            void worker.terminate();
          });
          worker.once('error', reject);
        }),
      ),
    );
    using session = await InferenceSession.create(await buildEngine(model, { backend: 'sim', shapes: 'x:2x8' }));
    const expected = Array.from((await session.run({ x: new Tensor('float32', x, [2, 8]) })).y!.data as Float32Array);
    for (const r of results) expect(r).toEqual(expected);
  });

  it('survives a worker terminated in the middle of a build', async () => {
    const entry = new URL('../dist/index.js', import.meta.url).href;
    const worker = new Worker(workerSource, { eval: true, workerData: { entry, model: mlpModel(), x: randomFloats(16, 4) } });
    await new Promise((r) => setTimeout(r, 30));
    await worker.terminate();
    // The main thread's addon is unaffected.
    using session = await InferenceSession.create(await buildEngine(mlpModel(), { backend: 'sim', shapes: 'x:1x8' }));
    expect((await session.run({ x: new Tensor('float32', randomFloats(8, 1), [1, 8]) })).y!.dims).toEqual([1, 4]);
  });
});
