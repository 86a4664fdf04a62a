/**
 * NumPy's .npy format (format versions 1.0, 2.0 and 3.0), for the CLI's --loadInputs and
 * --save-outputs. A file is: the magic "\x93NUMPY", a major and minor version byte, the header
 * length (uint16 little-endian in 1.0, uint32 from 2.0), a Python dict literal with 'descr',
 * 'fortran_order' and 'shape' padded with spaces and a newline so the data starts at a
 * multiple of 64 bytes, then the elements in C order.
 *
 * The reader distrusts its input: every length is checked against the file before it is used.
 */
import { type DataType, STORAGE } from './dtype.js';
import { DataTypeError, InvalidArgumentError } from './errors.js';
import { Tensor } from './tensor.js';

const MAGIC = [0x93, 0x4e, 0x55, 0x4d, 0x50, 0x59]; // \x93NUMPY
const ALIGNMENT = 64;

/** The dtypes NumPy has; bfloat16, the 8-bit floats and the 4-bit types have no .npy spelling. */
const DESCR: Partial<Record<DataType, string>> = {
  float32: '<f4',
  float16: '<f2',
  int8: '|i1',
  uint8: '|u1',
  int32: '<i4',
  int64: '<i8',
  bool: '|b1',
};

/** A descr read from a file, to our dtype: '<' and '=' (little-endian here) and '|' alike. */
function dtypeOfDescr(descr: string, what: string): DataType {
  if (descr.startsWith('>') && descr.slice(1) !== 'i1' && descr.slice(1) !== 'u1' && descr.slice(1) !== 'b1') {
    throw new DataTypeError(`${what} is big-endian ('${descr}'); save it little-endian, e.g. with a.astype(a.dtype.newbyteorder('<'))`);
  }
  const body = descr.replace(/^[<>=|]/, '');
  for (const [dtype, known] of Object.entries(DESCR)) if (known.slice(1) === body) return dtype as DataType;
  throw new DataTypeError(`${what} has NumPy dtype '${descr}', which no tensor type here matches (supported: ${Object.values(DESCR).join(', ')})`);
}

export interface NpyArray {
  dtype: DataType;
  dims: number[];
  /** The element bytes, C order, little-endian. */
  data: Uint8Array;
}

/**
 * Parses a .npy file. `what` names it in errors (a file path).
 * @throws InvalidArgumentError for a file that is not a well-formed .npy, or is in Fortran
 *   order; DataTypeError for a dtype with no tensor type here
 */
export function readNpy(bytes: Uint8Array, what: string): NpyArray {
  const bad = (why: string): never => {
    throw new InvalidArgumentError(`${what} is not a valid .npy file: ${why}`);
  };
  if (bytes.byteLength < 10 || MAGIC.some((b, i) => bytes[i] !== b)) bad('it does not start with \\x93NUMPY');
  const major = bytes[6]!;
  if (major < 1 || major > 3) bad(`format version ${major}.${bytes[7]} is not 1.0, 2.0 or 3.0`);
  const view = new DataView(bytes.buffer, bytes.byteOffset, bytes.byteLength);
  if (major > 1 && bytes.byteLength < 12) bad('the header length is cut off');
  const prefix = major === 1 ? 10 : 12;
  const headerLength = major === 1 ? view.getUint16(8, true) : view.getUint32(8, true);
  if (prefix + headerLength > bytes.byteLength) bad(`the header claims ${headerLength} bytes but the file has ${bytes.byteLength - prefix} after the prefix`);
  const header = new TextDecoder(major === 3 ? 'utf-8' : 'latin1').decode(bytes.subarray(prefix, prefix + headerLength)).trim();
  if (!header.startsWith('{') || !header.endsWith('}')) bad(`the header is not a dict: ${JSON.stringify(header.slice(0, 80))}`);
  const descr = /['"]descr['"]\s*:\s*['"]([^'"]+)['"]/.exec(header)?.[1] ?? bad("the header has no 'descr'");
  const fortran = /['"]fortran_order['"]\s*:\s*(True|False)/.exec(header)?.[1] ?? bad("the header has no 'fortran_order'");
  const shapeText = /['"]shape['"]\s*:\s*\(([^)]*)\)/.exec(header)?.[1] ?? bad("the header has no 'shape' tuple");
  const parts = shapeText.split(',').map((s) => s.trim());
  if (parts.at(-1) === '') parts.pop();
  const dims = parts.map((p) => (/^\d+L?$/.test(p) ? Number.parseInt(p, 10) : bad(`the shape (${shapeText}) has a non-integer entry '${p}'`)));
  const dtype = dtypeOfDescr(descr, what);
  if (fortran === 'True' && dims.filter((d) => d > 1).length > 1) {
    throw new InvalidArgumentError(`${what} is in Fortran order; save it in C order, e.g. with np.save(path, np.ascontiguousarray(a))`);
  }
  let count = 1;
  for (const d of dims) {
    count *= d;
    if (!Number.isSafeInteger(count)) bad(`the shape (${shapeText}) is too large`);
  }
  const expected = count * STORAGE[dtype].BYTES_PER_ELEMENT;
  const have = bytes.byteLength - prefix - headerLength;
  if (have !== expected) bad(`shape (${dims.join(', ')}) of '${descr}' needs ${expected} data bytes but the file has ${have}`);
  return { dtype, dims, data: bytes.subarray(prefix + headerLength) };
}

/** A .npy array as a Tensor, its data copied to aligned memory. */
export function npyToTensor(array: NpyArray): Tensor {
  const copy = new Uint8Array(array.data);
  const Storage = STORAGE[array.dtype];
  return new Tensor(array.dtype, new Storage(copy.buffer, 0, copy.byteLength / Storage.BYTES_PER_ELEMENT), array.dims);
}

/** The header dict NumPy writes: a one-element shape keeps its trailing comma, as in Python. */
function headerDict(descr: string, dims: readonly number[]): string {
  const shape = dims.length === 1 ? `(${dims[0]},)` : `(${dims.join(', ')})`;
  return `{'descr': '${descr}', 'fortran_order': False, 'shape': ${shape}, }`;
}

/**
 * Serializes a tensor as .npy: version 1.0, or 2.0 when the header would not fit 1.0's 16-bit
 * length.
 * @throws DataTypeError for a dtype NumPy has no spelling for (bfloat16, 8-bit floats, 4-bit types)
 */
export function writeNpy(tensor: Tensor): Uint8Array {
  const descr = DESCR[tensor.dtype];
  if (!descr) throw new DataTypeError(`${tensor.dtype} has no NumPy dtype, so it cannot be saved as .npy; save the raw bytes instead`);
  const dict = headerDict(descr, tensor.dims);
  const major = dict.length + 11 > 0xffff ? 2 : 1;
  const prefix = major === 1 ? 10 : 12;
  // Spaces, then a newline, so that the data starts on an ALIGNMENT boundary.
  const padded = prefix + dict.length + 1;
  const headerLength = dict.length + 1 + ((ALIGNMENT - (padded % ALIGNMENT)) % ALIGNMENT);
  const data = new Uint8Array(tensor.data.buffer, tensor.data.byteOffset, tensor.data.byteLength);
  const out = new Uint8Array(prefix + headerLength + data.byteLength);
  out.set(MAGIC, 0);
  out[6] = major;
  out[7] = 0;
  const view = new DataView(out.buffer);
  if (major === 1) view.setUint16(8, headerLength, true);
  else view.setUint32(8, headerLength, true);
  out.set(new TextEncoder().encode(dict.padEnd(headerLength - 1, ' ') + '\n'), prefix);
  out.set(data, prefix + headerLength);
  return out;
}
