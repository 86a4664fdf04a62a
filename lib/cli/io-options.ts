/**
 * Where `run` and `bench` get their inputs (`compare` too) and put their outputs, with trtexec's flags:
 * --loadInputs name:file (raw little-endian .bin as trtexec reads it, or .npy), seeded random
 * values otherwise (--val-range, --seed); --exportOutput FILE (trtexec's JSON) and
 * --save-outputs DIR (one .npy per output).
 */
import { mkdir, writeFile } from 'node:fs/promises';
import { join } from 'node:path';

import { type DataType, STORAGE, storageLength } from '../dtype.js';
import { ShapeError, TensorRTError } from '../errors.js';
import type { Feeds } from '../execution-context.js';
import type { InferenceSession } from '../inference-session.js';
import { npyToTensor, readNpy, writeNpy } from '../npy.js';
import { parseShapeSpec, type ShapeMap } from '../shapes.js';
import { Tensor } from '../tensor.js';
import { checkWritableDirectory, checkWritableFile, readUserFile } from './preflight.js';
import { defaultDims, defaultTensor, makeRandom, type ValueRange } from './random-inputs.js';
import { UsageError } from './usage.js';

export const INPUT_OPTIONS = {
  shapes: { type: 'string' },
  loadInputs: { type: 'string', multiple: true },
  input: { type: 'string', multiple: true },
  'val-range': { type: 'string', multiple: true },
  seed: { type: 'string' },
} as const;

export const OUTPUT_OPTIONS = {
  exportOutput: { type: 'string' },
  'save-outputs': { type: 'string' },
} as const;

export const INPUT_HELP = `  --shapes SPEC              input shapes for dynamic inputs, e.g. x:1x3x224x224
                             (default: the optimization profile's opt shape)
  --loadInputs NAME:FILE     an input's data: a .npy file (it sets a dynamic input's shape
                             unless --shapes does), or raw little-endian bytes in the input's
                             dtype at its shape (trtexec's .bin); comma-separated or repeated;
                             inputs not named get seeded random values
  --input NAME=FILE          the same, one input per flag
  --val-range [NAME:]MIN,MAX range of random values, for one input or (no NAME) all
                             (default -1,1 for floats, 0,9 for integers); repeatable
  --seed N                   seed of the random values (default 1)`;

export const OUTPUT_HELP = `  --exportOutput FILE        write the outputs as JSON, as trtexec does:
                             [{"name", "dimensions", "values"}]
  --save-outputs DIR         write each output as DIR/<name>.npy`;

interface InputValues {
  shapes?: string;
  loadInputs?: string[];
  input?: string[];
  'val-range'?: string[];
  seed?: string;
}

function parseRange(text: string, flag: string): ValueRange {
  const parts = text.split(',');
  const [min, max] = parts.map(Number);
  if (parts.length !== 2 || !Number.isFinite(min) || !Number.isFinite(max) || min! > max!) {
    throw new UsageError(`${flag} takes MIN,MAX with MIN <= MAX (optionally NAME:MIN,MAX), got '${text}'`);
  }
  return { min: min!, max: max! };
}

/** --loadInputs and --input as name -> the file and the flag that named it. */
function inputFiles(values: InputValues): Map<string, { file: string; flag: string }> {
  const files = new Map<string, { file: string; flag: string }>();
  for (const spec of (values.loadInputs ?? []).flatMap((v) => v.split(','))) {
    const colon = spec.lastIndexOf(':');
    if (colon <= 0 || colon === spec.length - 1) throw new UsageError(`--loadInputs takes NAME:FILE, e.g. --loadInputs x:x.npy, got '${spec}'`);
    files.set(spec.slice(0, colon), { file: spec.slice(colon + 1), flag: '--loadInputs' });
  }
  for (const spec of values.input ?? []) {
    const eq = spec.indexOf('=');
    if (eq <= 0 || eq === spec.length - 1) throw new UsageError(`--input takes NAME=FILE, e.g. --input x=x.bin, got '${spec}'`);
    // 'random' is what inputs not named get anyway; earlier versions spelled it out.
    if (spec.slice(eq + 1) !== 'random') files.set(spec.slice(0, eq), { file: spec.slice(eq + 1), flag: '--input' });
  }
  return files;
}

/**
 * Reads one input file: .npy checked against the input's dtype and dims, else raw bytes.
 * `dimsChosen` is false where the dims are only the profile's opt shape of a dynamic input:
 * a .npy of the same rank then brings its own shape.
 */
export async function loadInput(info: { dtype: DataType }, name: string, file: string, dims: number[], dimsChosen: boolean, flag: string): Promise<Tensor> {
  const bytes = await readUserFile(file, `${flag} ${name}`);
  const want = `${info.dtype} [${dims.join(', ')}]`;
  if (file.toLowerCase().endsWith('.npy')) {
    let tensor: Tensor;
    try {
      tensor = npyToTensor(readNpy(bytes, file));
    } catch (error) {
      if (error instanceof TensorRTError) throw new UsageError(`${flag} ${name}: ${error.message}`);
      throw error;
    }
    if (tensor.dtype !== info.dtype) throw new UsageError(`${flag} ${name}: ${file} holds ${tensor.dtype} but '${name}' is ${info.dtype}; save it as ${info.dtype}`);
    if (tensor.dims.join() !== dims.join() && (dimsChosen || tensor.dims.length !== dims.length)) {
      throw new UsageError(`${flag} ${name}: ${file} has shape [${tensor.dims.join(', ')}] but '${name}' runs at ${want}; reshape it, or pass --shapes ${name}:${tensor.dims.join('x')}`);
    }
    return tensor;
  }
  const Storage = STORAGE[info.dtype];
  const expected = storageLength(info.dtype, dims.reduce((a, b) => a * b, 1)) * Storage.BYTES_PER_ELEMENT;
  if (bytes.byteLength !== expected) throw new UsageError(`${flag} ${name}: ${file} has ${bytes.byteLength} bytes but '${name}' (${want}) needs ${expected}; check --shapes`);
  const copy = new Uint8Array(bytes); // aligned for the typed array
  return new Tensor(info.dtype, new Storage(copy.buffer, 0, copy.byteLength / Storage.BYTES_PER_ELEMENT), dims);
}

/** The input flags parsed: shapes, files and value ranges by input name, and the seeded generator. */
export interface InputPlan {
  shapes: ShapeMap;
  files: Map<string, { file: string; flag: string }>;
  /** The --val-range for this input, else the one for all inputs, else undefined (the defaults). */
  range(name: string): ValueRange | undefined;
  seed: number;
  random: () => number;
}

/**
 * Parses the input flags and checks every name they give against `inputNames`, the inputs
 * of `of` ("this engine", "the model").
 */
export function inputPlan(values: InputValues, inputNames: readonly string[], of: string): InputPlan {
  const shapes = values.shapes ? parseShapeSpec(values.shapes, '--shapes') : {};
  const files = inputFiles(values);
  const ranges = new Map<string, ValueRange>();
  let allRange: ValueRange | undefined;
  for (const spec of values['val-range'] ?? []) {
    const colon = spec.lastIndexOf(':');
    if (colon < 0) allRange = parseRange(spec, '--val-range');
    else ranges.set(spec.slice(0, colon), parseRange(spec.slice(colon + 1), '--val-range'));
  }
  const named: [string, string][] = [
    ...[...files].map(([n, { flag }]): [string, string] => [n, flag]),
    ...Object.keys(shapes).map((n): [string, string] => [n, '--shapes']),
    ...[...ranges.keys()].map((n): [string, string] => [n, '--val-range']),
  ];
  for (const [name, flag] of named) {
    if (!inputNames.includes(name)) throw new UsageError(`${flag}: '${name}' is not an input of ${of} (inputs: ${inputNames.join(', ')})`);
  }
  const seed = values.seed === undefined ? 1 : Number(values.seed);
  if (!Number.isInteger(seed)) throw new UsageError(`--seed takes an integer, got '${values.seed}'`);
  return { shapes, files, range: (name) => ranges.get(name) ?? allRange, seed, random: makeRandom(seed) };
}

/**
 * The feeds `run` and `bench` use: files where given, seeded random values elsewhere, at
 * --shapes or the default dims. Every name given is checked against the engine's inputs.
 */
export async function inputFeeds(session: InferenceSession, values: InputValues, profile: number): Promise<Feeds> {
  const { shapes, files, range, random } = inputPlan(values, session.inputNames, 'this engine');
  const feeds: Feeds = {};
  for (const input of session.inputMetadata) {
    const dims = shapes[input.name] ?? defaultDims(session, input, profile);
    const given = files.get(input.name);
    const dimsChosen = shapes[input.name] !== undefined || input.shape.every((d) => d >= 0);
    feeds[input.name] = given ? await loadInput(input, input.name, given.file, dims, dimsChosen, given.flag) : defaultTensor(session, input, dims, profile, random, range(input.name));
  }
  return feeds;
}

/** Output paths checked before anything runs. */
export async function checkOutputPaths(values: { exportOutput?: string; 'save-outputs'?: string }): Promise<void> {
  if (values.exportOutput) await checkWritableFile(values.exportOutput, '--exportOutput');
  if (values['save-outputs']) {
    await mkdir(values['save-outputs'], { recursive: true }).catch(() => undefined);
    await checkWritableDirectory(values['save-outputs'], '--save-outputs');
  }
}

function jsonValues(t: Tensor): number[] {
  return t.dtype === 'int64' ? Array.from(t.data as BigInt64Array, Number) : Array.from(t.toFloat32());
}

/** --exportOutput and --save-outputs. Returns the lines saying what was written. */
export async function writeOutputs(outputs: Record<string, Tensor>, values: { exportOutput?: string; 'save-outputs'?: string }): Promise<string[]> {
  const written: string[] = [];
  if (values.exportOutput) {
    const records = Object.entries(outputs).map(([name, t]) => ({ name, dimensions: t.dims.join('x'), values: jsonValues(t) }));
    await writeFile(values.exportOutput, `${JSON.stringify(records, null, 2)}\n`);
    written.push(`wrote ${values.exportOutput}`);
  }
  const dir = values['save-outputs'];
  if (dir) {
    for (const [name, t] of Object.entries(outputs)) {
      // Tensor names may hold '/' or ':' (ONNX allows any string); keep the file in DIR.
      const file = join(dir, `${name.replace(/[^A-Za-z0-9._-]/g, '_')}.npy`);
      try {
        await writeFile(file, writeNpy(t));
      } catch (error) {
        if (error instanceof TensorRTError) throw new UsageError(`--save-outputs: output '${name}': ${error.message}`);
        throw error;
      }
      written.push(`wrote ${file}`);
    }
  }
  return written;
}

/**
 * Runs `body`, turning a ShapeError into a usage error when the user chose the shapes, with
 * --shapes or with the shape of a .npy file: a shape outside the engine's profile is then a
 * mistake on the command line.
 */
export async function withShapeHint<T>(values: InputValues, body: () => Promise<T>): Promise<T> {
  try {
    return await body();
  } catch (error) {
    if (!(error instanceof ShapeError)) throw error;
    const first = error.message.split('\n')[0];
    if (values.shapes !== undefined) throw new UsageError(`--shapes ${values.shapes}: ${first}`);
    if (inputFiles(values).size > 0) throw new UsageError(`the shapes of the input files: ${first}; give inputs the engine's profile accepts`);
    throw error;
  }
}

export function describeFeeds(session: InferenceSession, feeds: Feeds): string {
  return session.inputMetadata.map((i) => `${i.name} ${i.dtype} [${feeds[i.name]!.dims.join(', ')}]`).join(', ');
}
