/**
 * The engine cache key: everything a TensorRT plan depends on, written as canonical JSON (keys
 * sorted, defaults dropped, byte arrays replaced by their SHA-256) and hashed. Two builds with
 * the same key make interchangeable plans; any difference in the model, an option that shapes
 * the plan, the backend or its version, the GPU or this package's version changes the key.
 */
import { readFile } from 'node:fs/promises';
import { basename } from 'node:path';

import { BUILD_DEFAULTS } from '../builder-config.js';
import { resolveCreateOptions } from '../create-options.js';
import { InvalidArgumentError } from '../errors.js';
import { parseShapeSpec } from '../shapes.js';
import { resolveMaxTensorBytes } from '../tensor-limits.js';
import { Tensor } from '../tensor.js';
import { describe } from '../validate.js';
import type { BuildEnvironment } from './build-environment.js';
import { hashFile, type ModelDigest, sha256Hex } from './model-digest.js';

/** Bumped when the meaning of a key's fields changes, so old entries stop matching. */
const KEY_FORMAT = 2;

/**
 * Options that leave the plan as it is. `backend` and `device` are keyed through what they
 * resolve to (the backend's name and version, the GPU's identity), not as given. A timing
 * cache only speeds the build up: keying it would turn every build that updates it into a
 * miss, so the cache would never hit for `build --timing-cache`.
 */
const NOT_IN_KEY = new Set(['logger', 'onProgress', 'signal', 'cache', 'timingCache', 'backend', 'device']);

/** Values equal to the build's default are dropped, so that `{ tf32: true }` and `{}` share an entry. */
const DEFAULTS: Record<string, unknown> = BUILD_DEFAULTS;

export interface CacheKeyFields extends BuildEnvironment {
  format: number;
  model: ModelDigest;
  /** The build options, normalized (see normalizeBuildOptions). */
  options: Record<string, unknown>;
}

/**
 * JSON with object keys sorted and byte arrays as `{ "$bytes": sha256 }`, so that equal
 * options always give equal text. Values with no stable content (functions, symbols, Maps,
 * iterators) are refused rather than silently keyed as `{}`.
 * @throws InvalidArgumentError naming the option that holds such a value
 */
export function canonicalJson(value: unknown, what = 'the build options'): string {
  if (value === null || typeof value === 'boolean' || typeof value === 'string') return JSON.stringify(value);
  if (typeof value === 'number') {
    if (!Number.isFinite(value)) unkeyable(what, value);
    return JSON.stringify(value);
  }
  if (typeof value === 'bigint') return JSON.stringify({ $bigint: value.toString() });
  if (ArrayBuffer.isView(value)) return JSON.stringify({ $bytes: sha256Hex(new Uint8Array(value.buffer, value.byteOffset, value.byteLength)) });
  if (value instanceof ArrayBuffer) return JSON.stringify({ $bytes: sha256Hex(new Uint8Array(value)) });
  // By its public fields, whatever Tensor keeps besides (calibration batches are Tensors).
  if (value instanceof Tensor) return canonicalJson({ dtype: value.dtype, dims: value.dims, data: value.data }, what);
  if (Array.isArray(value)) return `[${value.map((item, i) => canonicalJson(item ?? null, `${what}[${i}]`)).join(',')}]`;
  if (typeof value === 'object' && !(Symbol.iterator in value) && !(Symbol.asyncIterator in value) && !(value instanceof Promise)) {
    const entries = Object.entries(value)
      .filter(([, v]) => v !== undefined)
      .sort(([a], [b]) => (a < b ? -1 : a > b ? 1 : 0));
    return `{${entries.map(([k, v]) => `${JSON.stringify(k)}:${canonicalJson(v, `${what}.${k}`)}`).join(',')}}`;
  }
  unkeyable(what, value);
}

function unkeyable(what: string, value: unknown): never {
  throw new InvalidArgumentError(
    `the engine cache cannot key ${what}: it holds ${describe(value)}, whose content cannot be hashed; ` +
      'pass plain data (numbers, strings, arrays, objects, typed arrays), or build without the cache option',
  );
}

/** The key itself: SHA-256 of the fields' canonical JSON, hex. */
export function cacheKey(fields: CacheKeyFields): string {
  return sha256Hex(canonicalJson(fields, 'the cache key'));
}

export function keyFields(model: ModelDigest, options: Record<string, unknown>, environment: BuildEnvironment): CacheKeyFields {
  return { format: KEY_FORMAT, model, options, ...environment };
}

/**
 * The build options the plan depends on, in one spelling: options that do not shape the plan
 * and values equal to the defaults dropped, `shapes` parsed, `maxTensorBytes` resolved (its
 * environment variable included), plugin libraries and calibration inputs replaced by digests
 * of their contents.
 * @throws InvalidArgumentError for calibration data the key cannot cover (see normalizeCalibration)
 *   or an option holding a value with no stable content
 */
export async function normalizeBuildOptions(options: Record<string, unknown>, calibrationDataKey: string | undefined): Promise<Record<string, unknown>> {
  const out: Record<string, unknown> = {};
  for (const [name, value] of Object.entries(options)) {
    if (value === undefined || NOT_IN_KEY.has(name) || DEFAULTS[name] === value) continue;
    out[name] = value;
  }
  if (typeof out.shapes === 'string') out.shapes = parseShapeSpec(out.shapes);
  out.maxTensorBytes = resolveMaxTensorBytes(options.maxTensorBytes, 'buildEngine option maxTensorBytes');
  if (out.plugins !== undefined) {
    const { plugins } = resolveCreateOptions({ plugins: out.plugins as string[] }, 'buildEngine');
    out.plugins = await Promise.all(plugins.map(async (path) => ({ file: basename(path), sha256: (await hashFile(path)).sha256 })));
    if (plugins.length === 0) delete out.plugins;
  }
  if (out.calibration !== undefined && typeof out.calibration === 'object' && out.calibration !== null) {
    out.calibration = await normalizeCalibration(out.calibration as Record<string, unknown>, calibrationDataKey);
  }
  if (out.float16 !== undefined && typeof out.float16 === 'object' && out.float16 !== null) {
    // float16's data decides which nodes stay float32, as calibration data decides scales, so
    // both its data sets are keyed the same way, each on its own: the activation check reads
    // calibrationData when given, validationData otherwise. Its report callback shapes nothing.
    const { onReport: _onReport, validationData, ...float16 } = out.float16 as Record<string, unknown>;
    const keyed = await normalizeCalibration(float16, calibrationDataKey);
    if (validationData !== undefined) keyed.validationData = (await normalizeCalibration({ calibrationData: validationData }, calibrationDataKey)).calibrationData;
    out.float16 = keyed;
  }
  // Fails here, naming the option, rather than inside cacheKey.
  canonicalJson(out);
  return out;
}

/**
 * The calibration options as keyed: batches given as an array are hashed (dtype, dims and
 * data of every tensor); a one-pass iterable cannot be (hashing would consume the batches the
 * build needs), so it is keyed by `cache.calibrationDataKey`, a name the caller vouches for,
 * or refused. A calibration cache to read is keyed by its contents; the file it is written to
 * does not shape the plan.
 */
async function normalizeCalibration(calibration: Record<string, unknown>, calibrationDataKey: string | undefined): Promise<Record<string, unknown>> {
  // onThresholds reports what calibration chose; it shapes nothing.
  const { calibrationData, calibrationCache, onThresholds: _onThresholds, ...rest } = calibration;
  const out: Record<string, unknown> = { ...rest };
  if (calibrationData !== undefined) {
    if (Array.isArray(calibrationData)) {
      out.calibrationData = { batches: calibrationData.length, sha256: sha256Hex(canonicalJson(calibrationData, 'calibration.calibrationData')) };
    } else if (calibrationDataKey !== undefined) {
      out.calibrationData = { key: calibrationDataKey };
    } else {
      throw new InvalidArgumentError(
        'the engine cache cannot key calibration.calibrationData given as an iterable: hashing it would use up the batches the build reads. ' +
          'Pass the batches as an array (their contents are hashed into the key), or set cache.calibrationDataKey to a string that changes whenever the data does (a data set version or a digest of its files)',
      );
    }
  }
  if (calibrationCache !== undefined && typeof calibrationCache === 'object' && calibrationCache !== null) {
    const { read, version } = calibrationCache as { read?: unknown; version?: unknown };
    const cache: Record<string, unknown> = {};
    if (read !== undefined) cache.read = await digestCalibrationCache(read);
    if (version !== undefined) cache.version = version;
    out.calibrationCache = cache;
  }
  return out;
}

/** calibrationCache.read as quantizeInt8 takes it: cache text (it starts "TRT-"), bytes, or a file path. */
async function digestCalibrationCache(read: unknown): Promise<unknown> {
  if (ArrayBuffer.isView(read)) return { sha256: sha256Hex(new Uint8Array(read.buffer, read.byteOffset, read.byteLength)) };
  if (typeof read !== 'string') return read;
  if (read.startsWith('TRT-')) return { sha256: sha256Hex(read) };
  try {
    return { sha256: sha256Hex(await readFile(read)) };
  } catch (error) {
    throw new InvalidArgumentError(`Expected cache text or a readable file for calibrationCache.read but ${read} cannot be read: ${(error as NodeJS.ErrnoException).code ?? (error as Error).message}`);
  }
}
