/**
 * Calibration batches from a directory, for `build --int8` and `quantize`. Each batch of an
 * input is one raw little-endian file at the input's shape:
 *   DIR/*.bin           when the model has one input (files in name order are the batches)
 *   DIR/<input>/*.bin   one folder per input otherwise (the same number of files in each)
 * Files are read one batch at a time, so a directory larger than memory works.
 */
import { readdir, readFile } from 'node:fs/promises';
import { join } from 'node:path';

import { hashFile, sha256Hex } from '../cache/model-digest.js';
import { type DataType, STORAGE, storageLength } from '../dtype.js';
import { readModel } from '../onnx/model-io.js';
import { dataTypeFromOnnx } from '../onnx/tensor-data.js';
import type { Feeds } from '../execution-context.js';
import { Tensor } from '../tensor.js';
import { UsageError } from './usage.js';

export interface InputSpec {
  name: string;
  dtype: DataType;
  dims: number[];
}

async function binFiles(dir: string): Promise<string[]> {
  let names: string[];
  try {
    names = await readdir(dir);
  } catch (error) {
    throw new UsageError(`cannot read the calibration directory ${dir}: ${(error as Error).message}`);
  }
  return names.filter((n) => n.endsWith('.bin')).sort().map((n) => join(dir, n));
}

/** The batch files of every input, after checking the layout. */
export async function listCalibrationFiles(dir: string, inputs: readonly InputSpec[]): Promise<string[][]> {
  const perInput = inputs.length === 1 ? [await binFiles(dir)] : await Promise.all(inputs.map((i) => binFiles(join(dir, i.name))));
  const counts = new Set(perInput.map((f) => f.length));
  if (counts.size !== 1) throw new UsageError(`every input needs the same number of batch files in ${dir}/<input>/ (found ${perInput.map((f, k) => `${inputs[k]!.name}: ${f.length}`).join(', ')})`);
  if (perInput[0]!.length === 0) throw new UsageError(`no .bin batch files in ${dir}${inputs.length > 1 ? '/<input>/' : ''}`);
  return perInput;
}

async function readBatch(file: string, input: InputSpec): Promise<Tensor> {
  const bytes = await readFile(file);
  const Storage = STORAGE[input.dtype];
  const expected = storageLength(input.dtype, input.dims.reduce((a, b) => a * b, 1)) * Storage.BYTES_PER_ELEMENT;
  if (bytes.byteLength !== expected) {
    throw new UsageError(`${file} has ${bytes.byteLength} bytes but '${input.name}' (${input.dtype} [${input.dims.join(', ')}]) needs ${expected}`);
  }
  const copy = new Uint8Array(bytes); // aligned for the typed array
  return new Tensor(input.dtype, new Storage(copy.buffer, 0, copy.byteLength / Storage.BYTES_PER_ELEMENT), input.dims);
}

/** Batches `from` (inclusive) to `to` (exclusive), read lazily. */
export async function* calibrationBatches(files: string[][], inputs: readonly InputSpec[], from: number, to: number): AsyncGenerator<Feeds> {
  for (let b = from; b < to; b++) {
    const feeds: Feeds = {};
    for (let k = 0; k < inputs.length; k++) feeds[inputs[k]!.name] = await readBatch(files[k]![b]!, inputs[k]!);
    yield feeds;
  }
}

/**
 * The model's inputs with the dims calibration files must have: the static shape, or the
 * --shapes entry for an input with dynamic dimensions.
 */
export async function modelInputs(modelPath: string, shapes: Record<string, number[]>): Promise<InputSpec[]> {
  const { model } = await readModel(modelPath, { loadExternalData: false });
  const graph = model.graph;
  if (!graph) throw new UsageError(`${modelPath} has no graph`);
  const initializers = new Set(graph.initializer.map((t) => t.name));
  return graph.input
    .filter((i) => !initializers.has(i.name))
    .map((i) => {
      const tensor = i.type?.value.case === 'tensorType' ? i.type.value.value : undefined;
      if (!tensor) throw new UsageError(`input '${i.name}' is not a tensor`);
      const declared = (tensor.shape?.dim ?? []).map((d) => (d.value.case === 'dimValue' ? Number(d.value.value) : -1));
      const dims = shapes[i.name] ?? declared;
      if (dims.some((d) => d < 0)) throw new UsageError(`input '${i.name}' has dynamic dimensions [${declared.join(', ')}]: give its calibration shape with --shapes ${i.name}:...`);
      return { name: i.name, dtype: dataTypeFromOnnx(tensor.elemType), dims };
    });
}

/**
 * A digest of every .bin file under `dir` (names and contents), which the engine cache keys an
 * INT8 build's calibration data by: the batches themselves are read once, by the build.
 */
export async function digestCalibrationFiles(dir: string): Promise<string> {
  let entries: string[];
  try {
    entries = (await readdir(dir, { recursive: true })).filter((n) => n.endsWith('.bin')).sort();
  } catch (error) {
    throw new UsageError(`cannot read the calibration directory ${dir}: ${(error as Error).message}`);
  }
  const parts: string[] = [];
  for (const name of entries) parts.push(`${name}:${(await hashFile(join(dir, name))).sha256}`);
  return sha256Hex(parts.join('\n'));
}
