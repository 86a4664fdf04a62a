/**
 * Reading and writing ONNX models (ModelProto) with onnx-buf's generated schema on
 * @bufbuild/protobuf, which parses and re-serializes an unmodified model byte for byte
 * (unknown fields included), so a rewrite pass changes only what it means to change.
 */
import { readFile, writeFile } from 'node:fs/promises';
import { basename, dirname, resolve } from 'node:path';

import { fromBinary, toBinary } from '@bufbuild/protobuf';
import { ModelProtoSchema, type ModelProto } from 'onnx-buf';

import { InvalidArgumentError, OnnxParseError } from '../errors.js';
import { expectBytes, expectInteger, expectObject, expectString, invalid } from '../validate.js';
import { hasExternalData, loadExternalData, moveDataToExternalFile } from './external-data.js';
import { forEachTensor } from './walk.js';

/** Protobuf messages cannot exceed 2 GiB; larger models must keep weights in external data. */
const PROTOBUF_LIMIT = 2 ** 31 - 1;

/** A model read by {@link readModel}, with where it came from. */
export interface LoadedModel {
  model: ModelProto;
  /** Absolute path of the model file, when it was read from one. */
  path: string | undefined;
  /** The directory external data locations are relative to, when known. */
  baseDir: string | undefined;
  /** Whether the model referenced external data files (loaded or not). */
  hadExternalData: boolean;
  /** Bytes read from external files into raw_data (0 when none were loaded). */
  externalBytesLoaded: number;
}

export interface ReadModelOptions {
  /** Read external tensors into raw_data (default true). Needs a path, or `baseDir` for bytes. */
  loadExternalData?: boolean;
  /** Directory external data is relative to when the model is given as bytes. */
  baseDir?: string;
}

/**
 * Parses ONNX bytes into a ModelProto. The result's byte fields may share memory with `bytes`.
 * Throws InvalidArgumentError for something that is not bytes and OnnxParseError for bytes that
 * are not a protobuf ModelProto.
 */
export function parseModel(bytes: Uint8Array): ModelProto {
  const data = expectBytes(bytes, 'model');
  let model: ModelProto;
  try {
    model = fromBinary(ModelProtoSchema, data);
  } catch (error) {
    throw new OnnxParseError(`Expected an ONNX model (a protobuf ModelProto) for model but received ${data.byteLength} bytes that do not parse: ${(error as Error).message}`);
  }
  if (!model.graph) throw new OnnxParseError(`Expected an ONNX model with a graph for model but received ${data.byteLength} bytes without one`);
  return model;
}

/**
 * Reads an ONNX model from a file path or from bytes, loading its external data (resolved
 * relative to the model's directory, never outside it) unless `loadExternalData: false`.
 * Throws InvalidArgumentError for a bad argument, a missing file, or external data that is
 * missing, unsafe or out of range; OnnxParseError when the bytes are not an ONNX model.
 */
export async function readModel(source: Uint8Array | ArrayBufferLike | string, options: ReadModelOptions = {}): Promise<LoadedModel> {
  expectObject(options, 'readModel options');
  const load = options.loadExternalData ?? true;
  if (typeof load !== 'boolean') invalid('a boolean', 'loadExternalData', load);
  let path: string | undefined;
  let baseDir = options.baseDir === undefined ? undefined : resolve(expectString(options.baseDir, 'baseDir'));
  let bytes: Uint8Array;
  if (typeof source === 'string') {
    path = resolve(expectString(source, 'model path'));
    try {
      bytes = await readFile(path);
    } catch (error) {
      throw new InvalidArgumentError(`Expected a readable ONNX file for model but ${path} cannot be read: ${(error as NodeJS.ErrnoException).code ?? (error as Error).message}`);
    }
    baseDir ??= dirname(path);
  } else {
    bytes = expectBytes(source, 'model');
  }
  const model = parseModel(bytes);
  const hadExternalData = hasExternalData(model);
  let externalBytesLoaded = 0;
  if (hadExternalData && load) {
    if (baseDir === undefined) {
      throw new InvalidArgumentError('Expected a path, or the baseDir option, for a model with external data but received bytes alone; its weights are in files next to the model');
    }
    externalBytesLoaded = await loadExternalData(model, baseDir);
  }
  return { model, path, baseDir, hadExternalData, externalBytesLoaded };
}

export interface WriteModelOptions {
  /** Write the model to this file too (its directory receives the external data file). */
  path?: string;
  /**
   * Move tensors of at least `sizeThreshold` bytes into this file, relative to the model's
   * directory (ONNX's convention; needs `path`). Without it every tensor stays inline.
   */
  externalDataPath?: string;
  /** Smallest tensor, in bytes, moved to external data (default 1024, as ONNX's own writer). */
  sizeThreshold?: number;
}

function inlineBytes(model: ModelProto): number {
  let total = 0;
  forEachTensor(model, (t) => {
    total += t.rawData.byteLength;
  });
  return total;
}

/**
 * Serializes a ModelProto; an unmodified model read by {@link readModel} comes out byte for
 * byte as it went in. With `externalDataPath`, large tensors go to that file next to `path`
 * (the caller's model object is left as it was). Resolves to the model's bytes (without the
 * external data). Throws InvalidArgumentError for bad options (externalDataPath without path,
 * a location leaving the model's directory) or for a model over protobuf's 2 GiB limit with
 * its weights inline (use externalDataPath).
 */
export async function writeModel(model: ModelProto, options: WriteModelOptions = {}): Promise<Uint8Array> {
  expectObject(options, 'writeModel options');
  const path = options.path === undefined ? undefined : resolve(expectString(options.path, 'path'));
  const sizeThreshold = options.sizeThreshold === undefined ? 1024 : expectInteger(options.sizeThreshold, 'sizeThreshold', 0);
  let restore: (() => void) | undefined;
  if (options.externalDataPath !== undefined) {
    const location = expectString(options.externalDataPath, 'externalDataPath');
    if (path === undefined) invalid('a path (the model file external data sits next to)', 'path when externalDataPath is given', undefined);
    if (location === basename(path)) invalid('a file name other than the model\'s', 'externalDataPath', location);
    restore = await moveDataToExternalFile(model, { baseDir: dirname(path), location, sizeThreshold });
  }
  try {
    // A rough bound, checked before serializing so the error is ours rather than a RangeError.
    if (inlineBytes(model) > PROTOBUF_LIMIT) {
      throw new InvalidArgumentError(`Expected a model under protobuf's 2 GiB limit but received one with ${inlineBytes(model)} bytes of inline tensors; pass externalDataPath (and path) to writeModel`);
    }
    const bytes = toBinary(ModelProtoSchema, model);
    if (path !== undefined) await writeFile(path, bytes);
    return bytes;
  } finally {
    restore?.();
  }
}
