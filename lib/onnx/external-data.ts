/**
 * ONNX external data: a tensor with data_location EXTERNAL keeps its bytes in a separate file,
 * described by external_data entries `location` (a path relative to the model's directory),
 * `offset` and `length` (bytes). It is how models outgrow protobuf's 2 GB message limit.
 * This module loads such tensors into raw_data and moves large raw_data out to a file.
 */
import { type FileHandle, open, realpath } from 'node:fs/promises';
import { isAbsolute, join, relative, resolve, sep } from 'node:path';

import { clearField, create } from '@bufbuild/protobuf';
import { StringStringEntryProtoSchema, TensorProto_DataLocation, TensorProtoSchema, type ModelProto, type TensorProto } from 'onnx-buf';

import { InvalidArgumentError } from '../errors.js';
import { forEachTensor } from './walk.js';

/** Where one tensor's bytes live. `length` is undefined when the entry omits it (to the end of the file). */
export interface ExternalDataInfo {
  location: string;
  offset: number;
  length: number | undefined;
}

/** Whether any tensor of the model keeps its data in an external file. */
export function hasExternalData(model: ModelProto): boolean {
  let found = false;
  forEachTensor(model, (t) => {
    if (t.dataLocation === TensorProto_DataLocation.EXTERNAL) found = true;
  });
  return found;
}

function nonNegativeInteger(tensor: TensorProto, key: string, value: string): number {
  const n = Number(value);
  if (!/^\d+$/.test(value) || !Number.isSafeInteger(n)) {
    throw new InvalidArgumentError(`Expected a non-negative integer for external_data '${key}' of tensor '${tensor.name}' but received the string ${JSON.stringify(value)}`);
  }
  return n;
}

/**
 * Reads a tensor's external_data entries. Throws InvalidArgumentError when `location` is
 * missing or offset/length are not non-negative integers.
 */
export function externalDataInfo(tensor: TensorProto): ExternalDataInfo {
  const entries = new Map(tensor.externalData.map((e) => [e.key, e.value]));
  const location = entries.get('location');
  if (!location) throw new InvalidArgumentError(`Expected a 'location' entry in the external_data of tensor '${tensor.name}' but received none`);
  const offset = entries.has('offset') ? nonNegativeInteger(tensor, 'offset', entries.get('offset')!) : 0;
  const length = entries.has('length') ? nonNegativeInteger(tensor, 'length', entries.get('length')!) : undefined;
  return { location, offset, length };
}

function escapes(baseDir: string, path: string): boolean {
  const rel = relative(baseDir, path);
  return rel === '..' || rel.startsWith(`..${sep}`) || isAbsolute(rel);
}

/**
 * The absolute path of an external data file, resolved against the model's directory. A model
 * is untrusted input, so a location that is absolute, or that leaves the directory (`..`, or a
 * symbolic link pointing outside), is refused with InvalidArgumentError rather than read:
 * otherwise a model could make us read any file the process can.
 */
export async function resolveExternalDataPath(baseDir: string, location: string): Promise<string> {
  if (isAbsolute(location) || /^[A-Za-z]:/.test(location)) {
    throw new InvalidArgumentError(`Expected a path relative to the model's directory for external data location but received the absolute path ${JSON.stringify(location)}`);
  }
  const base = resolve(baseDir);
  const path = resolve(base, location);
  if (escapes(base, path)) {
    throw new InvalidArgumentError(`Expected an external data location inside the model's directory ${base} but received ${JSON.stringify(location)}, which leaves it`);
  }
  let real: string;
  try {
    real = await realpath(path);
  } catch {
    throw new InvalidArgumentError(`Expected an existing external data file for location ${JSON.stringify(location)} but ${path} cannot be opened`);
  }
  if (escapes(await realpath(base), real)) {
    throw new InvalidArgumentError(`Expected an external data location inside the model's directory ${base} but ${JSON.stringify(location)} links to ${real}`);
  }
  return real;
}

/**
 * Reads every external tensor of the model into its raw_data and marks it as inline, so the
 * model is self-contained in memory. `baseDir` is the model file's directory. Each file is
 * opened once and read tensor by tensor, so peak memory is the weights themselves. Throws
 * InvalidArgumentError for unsafe or missing locations, malformed entries, and ranges that run
 * past the end of the file. Returns the number of bytes loaded.
 */
export async function loadExternalData(model: ModelProto, baseDir: string): Promise<number> {
  const external: TensorProto[] = [];
  forEachTensor(model, (t) => {
    if (t.dataLocation === TensorProto_DataLocation.EXTERNAL) external.push(t);
  });
  const files = new Map<string, { handle: FileHandle; size: number }>();
  let loaded = 0;
  try {
    for (const tensor of external) {
      const info = externalDataInfo(tensor);
      const path = await resolveExternalDataPath(baseDir, info.location);
      let file = files.get(path);
      if (!file) {
        const handle = await open(path, 'r');
        file = { handle, size: (await handle.stat()).size };
        files.set(path, file);
      }
      const length = info.length ?? file.size - info.offset;
      if (info.offset + length > file.size) {
        throw new InvalidArgumentError(
          `Expected external data of tensor '${tensor.name}' within ${info.location} (${file.size} bytes) but received offset ${info.offset} and length ${length}`,
        );
      }
      const bytes = new Uint8Array(length);
      let done = 0;
      while (done < length) {
        const { bytesRead } = await file.handle.read(bytes, done, length - done, info.offset + done);
        if (bytesRead === 0) break;
        done += bytesRead;
      }
      tensor.rawData = bytes;
      tensor.externalData = [];
      clearField(tensor, TensorProtoSchema.field.dataLocation);
      loaded += length;
    }
  } finally {
    await Promise.all([...files.values()].map((f) => f.handle.close()));
  }
  return loaded;
}

/** Offsets of large tensors are aligned to pages so that readers (onnxruntime) can map them. */
const PAGE = 4096;
const ALIGN_FROM = 1 << 20;

/**
 * Moves the raw_data of every tensor of at least `sizeThreshold` bytes into one file,
 * `location` (relative to `baseDir`, the directory the model will be written to), and points the
 * tensors at it. The file is written tensor by tensor, never assembled in memory. The model is
 * changed in place; call the returned function to put the data back inline (writeModel does,
 * so that the caller's model is unchanged). Throws InvalidArgumentError for a location that is
 * absolute or leaves baseDir.
 */
export async function moveDataToExternalFile(
  model: ModelProto,
  options: { baseDir: string; location: string; sizeThreshold: number },
): Promise<() => void> {
  const { baseDir, location, sizeThreshold } = options;
  if (isAbsolute(location) || escapes(resolve(baseDir), resolve(baseDir, location))) {
    throw new InvalidArgumentError(`Expected a file name relative to the model's directory for externalDataPath but received ${JSON.stringify(location)}`);
  }
  const moved: { tensor: TensorProto; rawData: TensorProto['rawData'] }[] = [];
  forEachTensor(model, (t) => {
    if (t.rawData.byteLength >= sizeThreshold && t.rawData.byteLength > 0) moved.push({ tensor: t, rawData: t.rawData });
  });
  const restore = () => {
    for (const { tensor, rawData } of moved) {
      tensor.rawData = rawData;
      tensor.externalData = [];
      clearField(tensor, TensorProtoSchema.field.dataLocation);
    }
  };
  const handle = await open(join(resolve(baseDir), location), 'w');
  try {
    let offset = 0;
    for (const { tensor, rawData } of moved) {
      if (rawData.byteLength >= ALIGN_FROM && offset % PAGE !== 0) {
        const pad = PAGE - (offset % PAGE);
        await handle.write(new Uint8Array(pad), 0, pad, offset);
        offset += pad;
      }
      let done = 0;
      while (done < rawData.byteLength) {
        const { bytesWritten } = await handle.write(rawData, done, rawData.byteLength - done, offset + done);
        done += bytesWritten;
      }
      tensor.rawData = new Uint8Array(0);
      tensor.dataLocation = TensorProto_DataLocation.EXTERNAL;
      tensor.externalData = [
        create(StringStringEntryProtoSchema, { key: 'location', value: location }),
        create(StringStringEntryProtoSchema, { key: 'offset', value: String(offset) }),
        create(StringStringEntryProtoSchema, { key: 'length', value: String(rawData.byteLength) }),
      ];
      offset += rawData.byteLength;
    }
  } catch (error) {
    restore();
    throw error;
  } finally {
    await handle.close();
  }
  return restore;
}
