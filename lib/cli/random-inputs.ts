/** Deterministic random inputs for the CLI's `run` and its accuracy reports. */
import { type DataType, STORAGE, storageLength } from '../dtype.js';
import type { IOTensorInfo } from '../engine.js';
import type { Feeds } from '../execution-context.js';
import type { InferenceSession } from '../inference-session.js';
import { Tensor } from '../tensor.js';

/** A small deterministic generator, so `run` prints the same numbers on every machine. */
export function makeRandom(seed: number): () => number {
  let s = seed >>> 0 || 1;
  return () => {
    s ^= s << 13;
    s ^= s >>> 17;
    s ^= s << 5;
    return (s >>> 0) / 4294967296;
  };
}

/**
 * The input `run` feeds when none is given: random values, except for a shape tensor, whose
 * values must lie in the profile's range: its opt values then.
 */
export function defaultTensor(session: InferenceSession, input: IOTensorInfo, dims: number[], profile: number, random: () => number): Tensor {
  const values = input.isShapeTensor ? session.engine.getProfileShapeValues(input.name, profile) : undefined;
  if (!values) return randomTensor(input.dtype, dims, random);
  return input.dtype === 'int64' ? new Tensor('int64', values.opt.map(BigInt), dims) : new Tensor(input.dtype, values.opt, dims);
}

export function randomTensor(dtype: DataType, dims: number[], random: () => number): Tensor {
  const count = dims.reduce((a, b) => a * b, 1);
  const data = new STORAGE[dtype](storageLength(dtype, count));
  for (let i = 0; i < data.length; i++) {
    if (dtype === 'float32') (data as Float32Array)[i] = random() * 2 - 1;
    else if (dtype === 'int64') (data as BigInt64Array)[i] = BigInt(Math.floor(random() * 10));
    else if (dtype === 'bool') (data as Uint8Array)[i] = random() < 0.5 ? 0 : 1;
    else (data as unknown as number[])[i] = Math.floor(random() * 10);
  }
  return new Tensor(dtype, data, dims);
}


/** The dims `run` uses for an input: its static shape, else the profile's opt shape. */
export function defaultDims(session: InferenceSession, input: IOTensorInfo, profile: number): number[] {
  if (input.shape.every((d) => d >= 0)) return [...input.shape];
  return [...session.engine.getProfileShape(input.name, profile).opt];
}

/** `count` feeds of random values at the default dims, from one seeded generator. */
export function randomFeeds(session: InferenceSession, count: number, seed: number): Feeds[] {
  const random = makeRandom(seed);
  return Array.from({ length: count }, () =>
    Object.fromEntries(session.inputMetadata.map((i) => [i.name, defaultTensor(session, i, defaultDims(session, i, 0), 0, random)])),
  );
}
