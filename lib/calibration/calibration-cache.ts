/**
 * TensorRT's INT8 calibration cache, the text its calibrators write and read back to skip
 * recalibration:
 *
 *   TRT-<version>-<algorithm>          e.g. TRT-100300-EntropyCalibration2
 *   <tensor name>: <8 hex digits>      one line per tensor
 *
 * where the hex digits are the big-endian IEEE-754 float32 bit pattern of the tensor's scale
 * (threshold / 127), e.g. 1.0 -> 3f800000. Tensor names may themselves contain ": " (names
 * such as `conv1/Relu:0` or `(Unnamed Layer* 3) [Activation]_output` occur), so a line splits
 * at its last ": ".
 *
 * What this module writes it reads back to the same bytes, and so does a canonical hand-
 * written file (lowercase hex, `\n` line ends, with or without a final newline). On input it
 * also accepts uppercase hex and `\r\n` line ends, which it writes back as lowercase and `\n`.
 */
import { InvalidArgumentError } from '../errors.js';
import { describe, expectObject, expectString, invalid } from '../validate.js';

/** The calibrator a cache comes from, as named in its first line. */
export type CalibrationAlgorithm = 'EntropyCalibration2' | 'EntropyCalibration' | 'MinMaxCalibration' | 'LegacyCalibration';

export const CALIBRATION_ALGORITHMS: readonly CalibrationAlgorithm[] = ['EntropyCalibration2', 'EntropyCalibration', 'MinMaxCalibration', 'LegacyCalibration'];

export interface CalibrationCache {
  /** The version field of the header: TensorRT's version as digits, e.g. '100300' for 10.3.0. */
  version: string;
  algorithm: CalibrationAlgorithm;
  /** Tensor name -> scale (a float32 value, finite and >= 0), in file order. */
  scales: Map<string, number>;
  /** Whether the text ends with a newline. Defaults to true when writing; parsing records it. */
  trailingNewline?: boolean;
}

const HEADER = /^TRT-(\d+)-([A-Za-z0-9]+)$/;
const HEX = /^[0-9a-fA-F]{8}$/;

/** The 8 lowercase hex digits of the big-endian float32 bit pattern of `value`. */
export function float32ToHex(value: number): string {
  const view = new DataView(new ArrayBuffer(4));
  view.setFloat32(0, value, false);
  return view.getUint32(0, false).toString(16).padStart(8, '0');
}

/** The float32 whose big-endian bit pattern the 8 hex digits spell. */
export function hexToFloat32(hex: string): number {
  const view = new DataView(new ArrayBuffer(4));
  view.setUint32(0, Number.parseInt(hex, 16), false);
  return view.getFloat32(0, false);
}

function lineError(lineNumber: number, expected: string, line: string): never {
  throw new InvalidArgumentError(`Expected ${expected} for line ${lineNumber} of the calibration cache but received ${describe(line)}`);
}

/**
 * Parses a calibration cache. Accepts the text or its UTF-8 bytes (what TensorRT's
 * writeCalibrationCache hands over).
 * @throws InvalidArgumentError naming the line and what it should hold: for a missing or
 *   unknown header, an empty file, a line without `name: hex`, hex that is not 8 digits, an
 *   empty or repeated tensor name, a scale that is negative, NaN or infinite, and blank lines
 *   (other than one final newline), and bytes that are not UTF-8
 */
export function parseCalibrationCache(data: string | Uint8Array): CalibrationCache {
  let text: string;
  if (typeof data === 'string') text = data;
  else if (data instanceof Uint8Array) {
    try {
      text = new TextDecoder('utf-8', { fatal: true }).decode(data);
    } catch {
      throw new InvalidArgumentError(`Expected UTF-8 text for the calibration cache but received ${describe(data)} that is not valid UTF-8`);
    }
  }
  else invalid('a string or a Uint8Array', 'the calibration cache', data);
  const trailingNewline = text.endsWith('\n');
  const body = trailingNewline ? text.slice(0, text.endsWith('\r\n') ? -2 : -1) : text;
  if (body.length === 0) throw new InvalidArgumentError('Expected a `TRT-<version>-<algorithm>` header for line 1 of the calibration cache but the cache is empty');
  const lines = body.split(/\r?\n/);
  const header = HEADER.exec(lines[0]!);
  if (!header) lineError(1, 'a `TRT-<version>-<algorithm>` header', lines[0]!);
  const algorithm = header[2] as CalibrationAlgorithm;
  if (!CALIBRATION_ALGORITHMS.includes(algorithm)) {
    lineError(1, `a header naming one of ${CALIBRATION_ALGORITHMS.join(', ')}`, lines[0]!);
  }
  const scales = new Map<string, number>();
  for (let i = 1; i < lines.length; i++) {
    const line = lines[i]!;
    const split = line.lastIndexOf(': ');
    if (split < 0) lineError(i + 1, '`<tensor name>: <8 hex digits>`', line);
    const name = line.slice(0, split);
    const hex = line.slice(split + 2);
    if (name.length === 0) lineError(i + 1, 'a tensor name before ": "', line);
    if (!HEX.test(hex)) lineError(i + 1, '8 hex digits (a big-endian float32) after ": "', line);
    const scale = hexToFloat32(hex);
    if (!Number.isFinite(scale) || scale < 0) lineError(i + 1, `a finite scale >= 0 (${hex} is ${scale})`, line);
    if (scales.has(name)) lineError(i + 1, `a tensor not listed before ('${name}' is on an earlier line)`, line);
    scales.set(name, scale);
  }
  return { version: header[1]!, algorithm, scales, trailingNewline };
}

/**
 * Writes a calibration cache as TensorRT does: the header, then `name: hex` per tensor in
 * the map's order, each line ending in `\n` (the last one too unless `trailingNewline` is
 * false). Scales are stored as float32, so a value float32 cannot hold exactly is rounded.
 * @throws InvalidArgumentError for a version that is not all digits, an unknown algorithm,
 *   scales that are not a Map, an empty tensor name or one containing a line break, and a
 *   scale that is not a finite number >= 0 or overflows float32
 */
export function formatCalibrationCache(cache: CalibrationCache): string {
  expectObject(cache, 'the calibration cache');
  const version = expectString(cache.version, 'the version of the calibration cache');
  if (!/^\d+$/.test(version)) invalid('a string of digits such as "100300"', 'the version of the calibration cache', version);
  if (!CALIBRATION_ALGORITHMS.includes(cache.algorithm)) {
    invalid(`one of ${CALIBRATION_ALGORITHMS.map((a) => `'${a}'`).join(', ')}`, 'the algorithm of the calibration cache', cache.algorithm);
  }
  if (!(cache.scales instanceof Map)) invalid('a Map of tensor name to scale', 'the scales of the calibration cache', cache.scales);
  const lines = [`TRT-${version}-${cache.algorithm}`];
  for (const [name, scale] of cache.scales) {
    if (typeof name !== 'string' || name.length === 0 || /[\r\n]/.test(name)) {
      invalid('a non-empty tensor name without line breaks', 'a tensor of the calibration cache', name);
    }
    if (typeof scale !== 'number' || !(scale >= 0) || !Number.isFinite(Math.fround(scale))) {
      invalid('a finite float32 scale >= 0', `the scale of tensor '${name}' in the calibration cache`, scale);
    }
    lines.push(`${name}: ${float32ToHex(scale)}`);
  }
  return lines.join('\n') + (cache.trailingNewline === false ? '' : '\n');
}
