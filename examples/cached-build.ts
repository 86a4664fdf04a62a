// A first-start build for an application that ships an ONNX model. A TensorRT plan runs only on
// the GPU model and TensorRT version that built it, so the app builds on the user's machine
// and keeps the plan in an engine cache keyed by the model (external data included), the build
// options, the backend and its version (TensorRT's), the GPU and this package's version. Only
// the first start pays for the build; an update of the model, the driver's TensorRT or the GPU
// builds again by itself.
// Usage: node build/examples/cached-build.js [MODEL.onnx [CACHE_DIR]]
//   (default: a small model written to a temporary directory, cached beside it)
import { mkdtemp, open, writeFile } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';

import { buildEngineWithCache, type BuildEngineOptions, InferenceSession, Tensor } from 'tensorrt-node';
import { makeModel, makeTensor } from 'tensorrt-node/onnx';

async function exampleModel(): Promise<string> {
  const dir = await mkdtemp(join(tmpdir(), 'cached-build-'));
  const path = join(dir, 'model.onnx');
  await writeFile(
    path,
    makeModel({
      inputs: [{ name: 'x', dtype: 'float32', shape: ['batch', 3] }],
      outputs: [{ name: 'y', dtype: 'float32', shape: ['batch', 2] }],
      initializers: [makeTensor('W', 'float32', [3, 2], [1, 0, 0, 1, 1, 1])],
      nodes: [{ op: 'MatMul', inputs: ['x', 'W'], outputs: ['y'] }],
    }),
  );
  return path;
}

/** The longest header an entry may have (a model with many external data files keys them all). */
const MAX_HEADER_BYTES = 1 << 20;

/** The first two lines of a cache entry: its format, then JSON saying what it was built from. */
async function entryHeader(path: string): Promise<Record<string, unknown>> {
  const file = await open(path);
  try {
    const { buffer, bytesRead } = await file.read(Buffer.alloc(MAX_HEADER_BYTES), 0, MAX_HEADER_BYTES, 0);
    const lines = buffer.subarray(0, bytesRead).toString('utf8').split('\n');
    if (lines.length < 3) throw new Error(`${path} has no complete header in its first ${MAX_HEADER_BYTES} bytes`);
    return JSON.parse(lines[1]!) as Record<string, unknown>;
  } finally {
    await file.close();
  }
}

const model = process.argv[2] ?? (await exampleModel());
const cacheDir = process.argv[3] ?? join(model, '..', 'engine-cache');

// Everything here that shapes the plan is part of the key; logger, onProgress and signal are not.
const options: BuildEngineOptions = {
  profiles: [{ x: { min: [1, 3], opt: [4, 3], max: [16, 3] } }],
  cache: { dir: cacheDir, maxBytes: 512 * 1024 * 1024 },
};

for (const start of ['first start', 'second start']) {
  let phases = 0;
  const started = performance.now();
  const result = await buildEngineWithCache(model, {
    ...options,
    // Only a real build reports progress: an app shows "optimizing for your GPU..." here.
    onProgress: (event) => {
      if (event.kind === 'phaseStart') phases++;
    },
  });
  const ms = (performance.now() - started).toFixed(0);
  const how = result.cache?.hit ? 'loaded from the cache' : `built (${phases} build phases reported)`;
  console.log(`${start}: ${how} in ${ms} ms, ${result.engine.byteLength} bytes, backend ${result.backend}`);
}

const result = await buildEngineWithCache(model, options);
const header = await entryHeader(result.cache!.path);
console.log(`entry ${result.cache!.path}`);
console.log('  keyed by', JSON.stringify({ model: header.model, backend: header.backend, gpu: header.gpu, package: header.package }));

// A session can take the ONNX model and the cache directly.
const session = await InferenceSession.create(model, options);
try {
  const { y } = await session.run({ x: new Tensor('float32', Float32Array.from([1, 2, 3]), [1, 3]) });
  // Checking the dtype narrows the tensor: y.data is then a Float32Array.
  if (y?.dtype !== 'float32') throw new Error(`expected a float32 output y, got ${y?.dtype ?? 'none'}`);
  console.log(`y [${y.dims}] =`, Array.from(y.data)); // [4, 5]: x·W
} finally {
  session.dispose();
}
