/** Deterministic random inputs for the CLI's `run` and its accuracy reports. */
import { type DataType, float32ToBfloat16, float32ToFloat16, STORAGE, storageLength } from '../dtype.js';
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
export function defaultTensor(session: InferenceSession, input: IOTensorInfo, dims: number[], profile: number, random: () => number, range?: ValueRange): Tensor {
  const values = input.isShapeTensor ? session.engine.getProfileShapeValues(input.name, profile) : undefined;
  if (!values) return randomTensor(input.dtype, dims, random, range);
  return input.dtype === 'int64' ? new Tensor('int64', values.opt.map(BigInt), dims) : new Tensor(input.dtype, values.opt, dims);
}

/** A range random values are drawn from, --val-range's min,max. */
export interface ValueRange {
  min: number;
  max: number;
}

/**
 * Random values at `dims`: floats uniform in [min, max) (default [-1, 1)), integers uniform
 * in [min, max] (default [0, 9]), bools 0 or 1 alike.
 */
export function randomTensor(dtype: DataType, dims: number[], random: () => number, range?: ValueRange): Tensor {
  const count = dims.reduce((a, b) => a * b, 1);
  if (dtype === 'float16' || dtype === 'bfloat16') {
    const { min, max } = range ?? { min: -1, max: 1 };
    const floats = Float32Array.from({ length: count }, () => min + random() * (max - min));
    return new Tensor(dtype, dtype === 'float16' ? float32ToFloat16(floats) : float32ToBfloat16(floats), dims);
  }
  const data = new STORAGE[dtype](storageLength(dtype, count));
  const { min, max } = range ?? (dtype === 'float32' ? { min: -1, max: 1 } : { min: 0, max: 9 });
  const integer = () => Math.min(max, Math.floor(min + random() * (max - min + 1)));
  for (let i = 0; i < data.length; i++) {
    if (dtype === 'float32') (data as Float32Array)[i] = min + random() * (max - min);
    else if (dtype === 'int64') (data as BigInt64Array)[i] = BigInt(integer());
    else if (dtype === 'bool') (data as Uint8Array)[i] = random() < 0.5 ? 0 : 1;
    else (data as unknown as number[])[i] = integer();
  }
  return new Tensor<DataType>(dtype, data, dims);
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
