/** `tensorrt-node run MODEL.engine`: run an engine on given or random inputs and summarize. */
import { readFile } from 'node:fs/promises';

import { STORAGE, storageLength } from '../dtype.js';
import { InferenceSession } from '../inference-session.js';
import { parseShapeSpec } from '../shapes.js';
import { Tensor } from '../tensor.js';
import { defaultDims, defaultTensor, makeRandom } from './random-inputs.js';
import { backendOption, DEVICE_AND_PLUGIN_HELP, DEVICE_AND_PLUGIN_OPTIONS, deviceAndPlugins, parseCommandLine, UsageError } from './usage.js';

const HELP = `Usage: tensorrt-node run MODEL.engine [options]

Runs an engine and prints each output's name, shape and a summary of its values.

Options:
  --backend NAME            auto (default: picked by the engine file), tensorrt or sim
  --shapes SPEC             input shapes for dynamic inputs, e.g. x:1x3x224x224
                            (default: the optimization profile's opt shape)
  --input NAME=FILE|random  raw little-endian data for an input, or random values
                            (repeatable; inputs not named get random values)
  --profile N               optimization profile to use (default 0)
  --iterations N            run N times and report the mean latency (default 1)
  --seed N                  seed for random inputs (default 1)
  --engineHostCodeAllowed   load a version-compatible engine, whose lean runtime runs in
                            this process (only for engines you trust)
${DEVICE_AND_PLUGIN_HELP}
  -h, --help                show this help`;

function summarize(t: Tensor): string {
  const values = t.dtype === 'int64' ? Array.from(t.data as BigInt64Array, Number) : Array.from(t.toFloat32());
  if (values.length === 0) return 'empty';
  let min = Infinity;
  let max = -Infinity;
  let sum = 0;
  for (const v of values) {
    min = Math.min(min, v);
    max = Math.max(max, v);
    sum += v;
  }
  const head = values.slice(0, 6).map((v) => Number(v.toPrecision(5))).join(', ');
  return `min ${min.toPrecision(5)}  max ${max.toPrecision(5)}  mean ${(sum / values.length).toPrecision(5)}  [${head}${values.length > 6 ? ', ...' : ''}]`;
}

export async function runCommand(args: string[]): Promise<void> {
  const { values, positionals } = parseCommandLine(args, {
    backend: { type: 'string' },
    shapes: { type: 'string' },
    input: { type: 'string', multiple: true },
    profile: { type: 'string' },
    iterations: { type: 'string' },
    seed: { type: 'string' },
    engineHostCodeAllowed: { type: 'boolean' },
    ...DEVICE_AND_PLUGIN_OPTIONS,
    help: { type: 'boolean', short: 'h' },
  });
  if (values.help) {
    console.log(HELP);
    return;
  }
  if (positionals.length !== 1) throw new UsageError('expected exactly one engine file');
  const backend = backendOption(values.backend);
  const profile = values.profile === undefined ? 0 : Number(values.profile);
  const iterations = values.iterations === undefined ? 1 : Number(values.iterations);
  if (!Number.isInteger(profile) || profile < 0) throw new UsageError('--profile takes an integer >= 0');
  if (!Number.isInteger(iterations) || iterations < 1) throw new UsageError('--iterations takes an integer >= 1');
  const shapes = values.shapes ? parseShapeSpec(values.shapes, '--shapes') : {};
  const sources = new Map<string, string>();
  for (const spec of values.input ?? []) {
    const eq = spec.indexOf('=');
    if (eq <= 0) throw new UsageError(`--input takes NAME=FILE or NAME=random, got '${spec}'`);
    sources.set(spec.slice(0, eq), spec.slice(eq + 1));
  }

  const session = await InferenceSession.create(positionals[0]!, {
    ...(backend && { backend }),
    profile,
    ...deviceAndPlugins(values),
    ...(values.engineHostCodeAllowed && { engineHostCodeAllowed: true }),
  });
  try {
    for (const name of [...sources.keys(), ...Object.keys(shapes)]) {
      if (!session.inputNames.includes(name)) throw new UsageError(`'${name}' is not an input of this engine (inputs: ${session.inputNames.join(', ')})`);
    }
    const random = makeRandom(values.seed === undefined ? 1 : Number(values.seed));
    const feeds: Record<string, Tensor> = {};
    for (const input of session.inputMetadata) {
      const dims = shapes[input.name] ?? defaultDims(session, input, profile);
      const source = sources.get(input.name) ?? 'random';
      if (source === 'random') {
        feeds[input.name] = defaultTensor(session, input, dims, profile, random);
      } else {
        const bytes = await readFile(source);
        const Storage = STORAGE[input.dtype];
        const expected = storageLength(input.dtype, dims.reduce((a, b) => a * b, 1)) * Storage.BYTES_PER_ELEMENT;
        if (bytes.byteLength !== expected) {
          throw new UsageError(`${source} has ${bytes.byteLength} bytes but '${input.name}' (${input.dtype} [${dims.join(', ')}]) needs ${expected}`);
        }
        const copy = new Uint8Array(bytes); // aligned copy
        feeds[input.name] = new Tensor(input.dtype, new Storage(copy.buffer, 0, copy.byteLength / Storage.BYTES_PER_ELEMENT), dims);
      }
    }
    let outputs: Record<string, Tensor> = {};
    const started = performance.now();
    for (let i = 0; i < iterations; i++) outputs = await session.run(feeds);
    const ms = (performance.now() - started) / iterations;
    console.log(`backend ${session.backend}; inputs: ${session.inputMetadata.map((i) => `${i.name} ${i.dtype} [${feeds[i.name]!.dims.join(', ')}]`).join(', ')}`);
    for (const name of session.outputNames) {
      const t = outputs[name]!;
      console.log(`${name}\t${t.dtype} [${t.dims.join(', ')}]\t${summarize(t)}`);
    }
    console.log(`latency: ${ms.toFixed(3)} ms (mean of ${iterations})`);
  } finally {
    session.dispose();
  }
}
