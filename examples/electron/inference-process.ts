// The utility process that owns the engine: started by main.ts with utilityProcess.fork, it
// loads (or, at first start, builds and saves) the engine, then answers requests from the main
// process one at a time on its own event loop.
import { mkdir, readFile, rename, writeFile } from 'node:fs/promises';
import { join } from 'node:path';

import { backends, buildEngine, InferenceSession, Tensor } from 'tensorrt-node';

import { mlpModel } from '../mlp-model.js';
import type { InferenceReply, InferenceRequest } from './protocol.js';

const dir = process.argv[2] ?? '.';
// The plan depends on the backend and its version, so they are part of the file name: an
// update of TensorRT builds a new engine instead of failing to load the old one.
const backend = backends().find((b) => b.available && b.name === 'tensorrt') ?? backends().find((b) => b.name === 'sim')!;
const file = join(dir, `mlp-${backend.name}-${backend.version}.engine`);

async function loadOrBuild(): Promise<Uint8Array> {
  try {
    return await readFile(file);
  } catch {
    const engine = await buildEngine(mlpModel(), { profiles: [{ x: { min: [1, 8], opt: [1, 8], max: [64, 8] } }] });
    await mkdir(dir, { recursive: true });
    // Written under another name, then renamed: a crash mid-write never leaves half an engine.
    await writeFile(`${file}.tmp`, engine);
    await rename(`${file}.tmp`, file);
    return engine;
  }
}

const session = await InferenceSession.create(await loadOrBuild());

process.parentPort.on('message', async ({ data }: { data: InferenceRequest }) => {
  let reply: InferenceReply;
  try {
    const { y } = await session.run({ x: new Tensor('float32', data.x, [data.x.length / 8, 8]) });
    if (y?.dtype !== 'float32') throw new Error('expected a float32 output');
    reply = { id: data.id, y: Array.from(y.data) };
  } catch (error) {
    reply = { id: data.id, error: (error as Error).message };
  }
  process.parentPort.postMessage(reply);
});
