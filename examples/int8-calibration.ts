// INT8 from a calibration directory: the batches a model will really see, one raw float32
// file per batch, as `tensorrt-node build --int8 --calib-data DIR` reads them. The scales are
// kept in a TensorRT calibration cache, so a later build skips calibration.
// Usage: node build/examples/int8-calibration.js [CALIB_DIR]
//   CALIB_DIR holds *.bin files of float32 x [4, 8] (little-endian); when it is missing, this
//   writes one with 16 batches of synthetic data first.
import { existsSync } from 'node:fs';
import { mkdir, mkdtemp, readdir, readFile, writeFile } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';

import { buildEngine, type Feeds, InferenceSession, Tensor } from 'tensorrt-node';

import { mlpModel } from './mlp-model.js';

const BATCH: [number, number] = [4, 8];
const work = await mkdtemp(join(tmpdir(), 'tensorrt-node-int8-'));
const calibDir = process.argv[2] ?? join(work, 'calib');

// Inputs shaped like real data: smooth signals with a little noise, from a seeded generator.
let seed = 7;
const random = (): number => ((seed = (seed * 1103515245 + 12345) % 2147483648) / 2147483648) * 2 - 1;
const sample = (): Float32Array => Float32Array.from({ length: BATCH[0] * BATCH[1] }, (_, i) => Math.sin(i / 3 + random()) + 0.1 * random());

if (!existsSync(calibDir)) {
  await mkdir(calibDir, { recursive: true });
  for (let b = 0; b < 16; b++) await writeFile(join(calibDir, `batch-${String(b).padStart(3, '0')}.bin`), sample());
  console.log(`wrote 16 calibration batches to ${calibDir}`);
}

/** The directory's batches, read one file at a time, so a directory larger than memory works. */
async function* batches(dir: string): AsyncGenerator<Feeds> {
  for (const name of (await readdir(dir)).filter((n) => n.endsWith('.bin')).sort()) {
    const bytes = await readFile(join(dir, name));
    yield { x: new Tensor('float32', new Float32Array(bytes.buffer, bytes.byteOffset, bytes.byteLength / 4), BATCH) };
  }
}

const model = join(work, 'mlp.onnx');
await writeFile(model, mlpModel());
const cache = join(work, 'mlp.calib.cache');
const int8 = await buildEngine(model, {
  precision: 'int8',
  shapes: { x: BATCH },
  calibration: { calibrationData: batches(calibDir), method: 'entropy', calibrationCache: { write: cache } },
});
console.log(`int8 engine: ${int8.byteLength} bytes; calibration cache written to ${cache}`);
console.log(`the same from the command line: npx tensorrt-node build ${model} -o mlp.int8.engine --int8 --calib-data ${calibDir} --shapes x:${BATCH.join('x')}`);

// A second build reads the scales from the cache instead of calibrating again.
const again = await buildEngine(model, { precision: 'int8', shapes: { x: BATCH }, calibration: { calibrationCache: { read: cache } } });
console.log(`rebuilt from the cache: ${again.byteLength} bytes`);

// How far INT8 is from float32 on inputs the calibration did not see.
const fp32 = await buildEngine(model, { shapes: { x: BATCH } });
const reference = await InferenceSession.create(fp32);
const quantized = await InferenceSession.create(int8);
try {
  let maxError = 0;
  let agree = 0;
  const runs = 8;
  for (let i = 0; i < runs; i++) {
    const x = new Tensor('float32', sample(), BATCH);
    const [r, q] = [(await reference.run({ x })).y, (await quantized.run({ x })).y];
    if (r?.dtype !== 'float32' || q?.dtype !== 'float32') throw new Error('expected float32 outputs');
    for (let k = 0; k < r.data.length; k++) maxError = Math.max(maxError, Math.abs(r.data[k]! - q.data[k]!));
    for (let row = 0; row < BATCH[0]; row++) {
      const top = (d: Float32Array): number => d.subarray(row * 4, row * 4 + 4).reduce((best, v, j, a) => (v > a[best]! ? j : best), 0);
      if (top(r.data) === top(q.data)) agree++;
    }
  }
  console.log(`int8 vs float32 on ${runs} held-out batches: max abs error ${maxError.toFixed(5)}, top-1 agreement ${agree}/${runs * BATCH[0]}`);
} finally {
  reference.dispose();
  quantized.dispose();
}
