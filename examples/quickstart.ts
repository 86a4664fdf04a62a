// The library in twenty lines: build an engine from ONNX, save it, load it, run it.
// Usage: node build/examples/quickstart.js [MODEL.onnx]   (default: a tiny model made on the fly)
import { writeFile } from 'node:fs/promises';

import { backends, buildEngine, InferenceSession, Tensor } from 'tensorrt-node';
import { makeModel, makeTensor } from 'tensorrt-node/onnx';

const model =
  process.argv[2] ??
  makeModel({
    inputs: [{ name: 'x', dtype: 'float32', shape: ['batch', 3] }],
    outputs: [{ name: 'y', dtype: 'float32', shape: ['batch', 2] }],
    initializers: [makeTensor('W', 'float32', [3, 2], [1, 0, 0, 1, 1, 1])],
    nodes: [
      { op: 'MatMul', inputs: ['x', 'W'], outputs: ['h'] },
      { op: 'Relu', inputs: ['h'], outputs: ['y'] },
    ],
  });

console.log('backends:', backends().map((b) => `${b.name} ${b.available ? b.version : 'unavailable'}`).join(', '));

// Dynamic batch from 1 to 8, tuned for 4. Runs on worker threads; the event loop stays free.
const engine = await buildEngine(model, { profiles: [{ x: { min: [1, 3], opt: [4, 3], max: [8, 3] } }] });
await writeFile('quickstart.engine', engine);

const session = await InferenceSession.create('quickstart.engine');
try {
  const x = new Tensor('float32', [1, 2, 3, -1, -2, -3], [2, 3]);
  const { y } = await session.run({ x });
  // Checking dtype narrows data: here y.data is a Float32Array.
  if (y?.dtype !== 'float32') throw new Error(`expected a float32 output, got ${y?.dtype}`);
  console.log(`y ${y.dtype} [${y.dims}] =`, Array.from(y.data)); // [4, 5, 0, 0]: x·W, then relu
} finally {
  session.dispose(); // or `using session = ...` where the runtime supports it
}
