// Inference in worker_threads: the main thread builds an engine once and hands its bytes to
// several workers; each worker loads it (the addon is context-aware) and serves requests.
// Usage: node build/examples/worker-threads.js
import { isMainThread, parentPort, Worker, workerData } from 'node:worker_threads';

import { buildEngine, InferenceSession, Tensor } from 'tensorrt-node';
import { makeModel, makeTensor } from 'tensorrt-node/onnx';

interface Job {
  engine: Uint8Array;
  id: number;
}
interface Answer {
  id: number;
  y: number[];
}

if (isMainThread) {
  const model = makeModel({
    inputs: [{ name: 'x', dtype: 'float32', shape: ['batch', 4] }],
    outputs: [{ name: 'y', dtype: 'float32', shape: ['batch', 2] }],
    initializers: [makeTensor('W', 'float32', [4, 2], [1, 0, 0, 1, 1, 0, 0, 1])],
    nodes: [{ op: 'MatMul', inputs: ['x', 'W'], outputs: ['y'] }],
  });
  const engine = await buildEngine(model, { profiles: [{ x: { min: [1, 4], opt: [1, 4], max: [8, 4] } }] });
  const workers = Array.from({ length: 3 }, (_, id) => new Worker(new URL(import.meta.url), { workerData: { engine, id } satisfies Job }));
  const answers = await Promise.all(workers.map((w) => new Promise<Answer>((resolve, reject) => w.once('message', resolve).once('error', reject))));
  for (const a of answers) console.log(`worker ${a.id}: y = [${a.y}]`); // x·W = [x0 + x2, x1 + x3]
  await Promise.all(workers.map((w) => w.terminate()));
} else {
  const { engine, id } = workerData as Job;
  const session = await InferenceSession.create(engine);
  try {
    const { y } = await session.run({ x: new Tensor('float32', [id, 1, 2, 3], [1, 4]) });
    if (y?.dtype !== 'float32') throw new Error('expected a float32 output');
    parentPort!.postMessage({ id, y: Array.from(y.data) } satisfies Answer);
  } finally {
    session.dispose();
  }
}
