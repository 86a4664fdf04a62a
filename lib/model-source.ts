/** An ONNX model given as a file path or as bytes, and the directory its external data is resolved against. */
import { readFile } from 'node:fs/promises';
import { dirname, resolve } from 'node:path';

import { InvalidArgumentError } from './errors.js';
import { expectBytes } from './validate.js';

export interface ModelSource {
  bytes: Uint8Array;
  /** The model file's directory; the working directory for a model given as bytes. */
  modelDir: string;
}

/** @throws InvalidArgumentError for a file that cannot be read or a value that is not bytes */
export async function readModelSource(model: string | Uint8Array | ArrayBufferLike): Promise<ModelSource> {
  if (typeof model !== 'string') return { bytes: expectBytes(model, 'ONNX model'), modelDir: '.' };
  try {
    return { bytes: await readFile(model), modelDir: dirname(resolve(model)) };
  } catch (error) {
    throw new InvalidArgumentError(`cannot read the ONNX model ${model}: ${(error as Error).message}`);
  }
}
