// Inference in worker_threads: the main thread builds an engine once and hands its bytes to
// several workers; each worker loads it (the addon is context-aware) and serves requests.
// Usage: node examples/worker-threads.mjs
import { isMainThread, parentPort, Worker, workerData } from 'node:worker_threads';

import { buildEngine, InferenceSession, Tensor } from 'tensorrt-node';
import { makeModel, makeTensor } from 'tensorrt-node/onnx';

if (isMainThread) {
  const model = makeModel({
    inputs: [{ name: 'x', dtype: 'float32', shape: ['batch', 4] }],
    outputs: [{ name: 'y', dtype: 'float32', shape: ['batch', 2] }],
    initializers: [makeTensor('W', 'float32', [4, 2], [1, 0, 0, 1, 1, 0, 0, 1])],
    nodes: [{ op: 'MatMul', inputs: ['x', 'W'], outputs: ['y'] }],
  });
  const engine = await buildEngine(model, { profiles: [{ x: { min: [1, 4], opt: [1, 4], max: [8, 4] } }] });
  const workers = Array.from({ length: 3 }, (_, id) => new Worker(new URL(import.meta.url), { workerData: { engine, id } }));
  const answers = await Promise.all(workers.map((w) => new Promise((resolve) => w.once('message', resolve))));
  for (const a of answers) console.log(`worker ${a.id}: y = [${a.y}]`); // x·W = [x0 + x2, x1 + x3]
  await Promise.all(workers.map((w) => w.terminate()));
} else {
  const session = await InferenceSession.create(workerData.engine);
  const k = workerData.id;
  const { y } = await session.run({ x: new Tensor('float32', [k, 1, 2, 3], [1, 4]) });
  parentPort.postMessage({ id: k, y: Array.from(y.data) });
  session.dispose();
}
