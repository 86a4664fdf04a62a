/**
 * The model's part of an engine cache key: a digest of the ONNX bytes and of every external
 * data file they point at. A model whose weights live beside it (`model.onnx` + `model.data`)
 * keeps the same ONNX bytes when only its weights change, so hashing the ONNX bytes alone
 * would reuse an engine built from the old weights.
 */
import { createHash } from 'node:crypto';
import { createReadStream } from 'node:fs';

import { TensorProto_DataLocation } from 'onnx-buf';

import { externalDataInfo, resolveExternalDataPath } from '../onnx/external-data.js';
import { parseModel } from '../onnx/model-io.js';
import { forEachTensor } from '../onnx/walk.js';

export interface ModelDigest {
  /** SHA-256 of the ONNX bytes, hex. */
  sha256: string;
  bytes: number;
  /** One entry per external data file, in the order the model first names them. */
  externalData: { location: string; sha256: string; bytes: number }[];
}

export function sha256Hex(data: Uint8Array | string): string {
  return createHash('sha256').update(data).digest('hex');
}

/** Streams a file through SHA-256, so that gigabytes of weights are never held in memory. */
export async function hashFile(path: string): Promise<{ sha256: string; bytes: number }> {
  const hash = createHash('sha256');
  let bytes = 0;
  for await (const chunk of createReadStream(path)) {
    hash.update(chunk as Buffer);
    bytes += (chunk as Buffer).byteLength;
  }
  return { sha256: hash.digest('hex'), bytes };
}

/**
 * Digests a model and its external data files, resolved against `modelDir` as the build
 * resolves them. Whole files are hashed (not only the ranges the tensors use): the ONNX bytes
 * already fix each tensor's offset and length, so the file contents complete the key.
 * @throws OnnxParseError for bytes that are not an ONNX model; InvalidArgumentError for an
 *   external data location that is missing, unsafe or malformed (as the build would)
 */
export async function digestModel(bytes: Uint8Array, modelDir: string): Promise<ModelDigest> {
  const locations: string[] = [];
  forEachTensor(parseModel(bytes), (tensor) => {
    if (tensor.dataLocation !== TensorProto_DataLocation.EXTERNAL) return;
    const { location } = externalDataInfo(tensor);
    if (!locations.includes(location)) locations.push(location);
  });
  const externalData: ModelDigest['externalData'] = [];
  for (const location of locations) {
    externalData.push({ location, ...(await hashFile(await resolveExternalDataPath(modelDir, location))) });
  }
  return { sha256: sha256Hex(bytes), bytes: bytes.byteLength, externalData };
}
