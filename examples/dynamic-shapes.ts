// Dynamic shapes: one engine serves batch sizes 1 to 16 through an optimization profile, and
// a shape outside the profile is refused with a ShapeError that says the allowed range.
// Usage: node build/examples/dynamic-shapes.js
import { buildEngine, Runtime, ShapeError, Tensor } from 'tensorrt-node';

import { mlpModel } from './mlp-model.js';

// min and max bound every call; opt is the shape TensorRT tunes its kernels for.
const plan = await buildEngine(mlpModel(), { profiles: [{ x: { min: [1, 8], opt: [4, 8], max: [16, 8] } }] });

const runtime = new Runtime();
try {
  const engine = await runtime.deserializeCudaEngine(plan);
  console.log('profile 0 for x:', engine.getProfileShape('x', 0)); // { min: [1, 8], opt: [4, 8], max: [16, 8] }
  const context = engine.createExecutionContext();

  for (const batch of [1, 4, 16]) {
    const x = Tensor.fromNumbers('float32', Array.from({ length: batch * 8 }, (_, i) => Math.sin(i)), [batch, 8]);
    const { y } = await context.execute({ x });
    if (y?.dtype !== 'float32') throw new Error('expected a float32 output');
    // Each row of y is a softmax over 4 classes, so it sums to 1.
    const sums = Array.from({ length: batch }, (_, r) => y.data.subarray(r * 4, r * 4 + 4).reduce((a, b) => a + b, 0));
    console.log(`batch ${batch}: y [${y.dims}], row sums ${sums.map((s) => s.toFixed(4)).join(' ')}`);
  }

  // Fixing a shape up front checks it once, before any call.
  context.setInputShape('x', [2, 8]);
  console.log('x fixed to', context.getInputShape('x'));

  try {
    context.setInputShape('x', [32, 8]);
  } catch (error) {
    if (!(error instanceof ShapeError)) throw error;
    console.log(`batch 32 refused: ${error.message}`);
  }
} finally {
  runtime.dispose(); // disposes the engine and its context too
}
