/**
 * Element types, spelled as string unions, with their storage in JavaScript. Names follow
 * onnxruntime-node where it has one; TensorRT's narrower types use their usual names.
 */

export type DataType =
  | 'float32'
  | 'float16'
  | 'bfloat16'
  | 'int8'
  | 'uint8'
  | 'int32'
  | 'int64'
  | 'bool'
  | 'float8e4m3'
  | 'int4'
  | 'float4e2m1'
  | 'float8e8m0';

export const DATA_TYPES: readonly DataType[] = [
  'float32', 'float16', 'bfloat16', 'int8', 'uint8', 'int32', 'int64', 'bool', 'float8e4m3', 'int4', 'float4e2m1', 'float8e8m0',
];

/** The TypedArray that stores each type. 16-bit floats are raw bit patterns in a Uint16Array. */
export interface DataTypeStorage {
  float32: Float32Array;
  float16: Uint16Array;
  bfloat16: Uint16Array;
  int8: Int8Array;
  uint8: Uint8Array;
  int32: Int32Array;
  int64: BigInt64Array;
  bool: Uint8Array;
  float8e4m3: Uint8Array;
  int4: Uint8Array;
  float4e2m1: Uint8Array;
  float8e8m0: Uint8Array;
}

export type TensorData = DataTypeStorage[DataType];

type TypedArrayConstructor = { new (buffer: ArrayBufferLike, byteOffset: number, length: number): TensorData; new (length: number): TensorData; BYTES_PER_ELEMENT: number };

export const STORAGE: Record<DataType, TypedArrayConstructor> = {
  float32: Float32Array,
  float16: Uint16Array,
  bfloat16: Uint16Array,
  int8: Int8Array,
  uint8: Uint8Array,
  int32: Int32Array,
  int64: BigInt64Array,
  bool: Uint8Array,
  float8e4m3: Uint8Array,
  int4: Uint8Array,
  float4e2m1: Uint8Array,
  float8e8m0: Uint8Array,
} as unknown as Record<DataType, TypedArrayConstructor>;

/** int4 and float4e2m1 pack two elements in a byte. */
export function isPacked4Bit(type: DataType): boolean {
  return type === 'int4' || type === 'float4e2m1';
}

/** Number of storage elements (TypedArray length) that `count` tensor elements need. */
export function storageLength(type: DataType, count: number): number {
  return isPacked4Bit(type) ? Math.ceil(count / 2) : count;
}

// float16 <-> float32, round to nearest even, with infinities, NaN and subnormals.
const f32 = new Float32Array(1);
const u32 = new Uint32Array(f32.buffer);

/** The float16 bit pattern nearest to `value` (round half to even). */
export function toFloat16Bits(value: number): number {
  f32[0] = value;
  const x = u32[0]!;
  const sign = (x >>> 16) & 0x8000;
  const exp = (x >>> 23) & 0xff;
  let mant = x & 0x7fffff;
  if (exp === 0xff) return sign | 0x7c00 | (mant ? 0x200 : 0); // Inf or NaN
  let e = exp - 127 + 15;
  if (e >= 0x1f) return sign | 0x7c00; // overflow to infinity
  if (e <= 0) {
    if (e < -10) return sign; // underflows to zero
    mant |= 0x800000; // make the implicit bit explicit, then shift into subnormal range
    const shift = 14 - e;
    const half = 1 << (shift - 1);
    const rest = mant & ((1 << shift) - 1);
    let m = mant >>> shift;
    if (rest > half || (rest === half && (m & 1))) m += 1;
    return sign | m;
  }
  let m = mant >>> 13;
  const rest = mant & 0x1fff;
  if (rest > 0x1000 || (rest === 0x1000 && (m & 1))) {
    m += 1;
    if (m === 0x400) {
      m = 0;
      e += 1;
      if (e >= 0x1f) return sign | 0x7c00;
    }
  }
  return sign | (e << 10) | m;
}

/** The number a float16 bit pattern stands for. */
export function fromFloat16Bits(bits: number): number {
  const sign = bits & 0x8000 ? -1 : 1;
  const exp = (bits >>> 10) & 0x1f;
  const mant = bits & 0x3ff;
  if (exp === 0) return sign * mant * 2 ** -24;
  if (exp === 0x1f) return mant ? NaN : sign * Infinity;
  return sign * (1 + mant / 1024) * 2 ** (exp - 15);
}

/** Converts float32 values to float16 storage. */
export function float32ToFloat16(values: ArrayLike<number>): Uint16Array {
  const out = new Uint16Array(values.length);
  for (let i = 0; i < values.length; i++) out[i] = toFloat16Bits(values[i]!);
  return out;
}

/** Converts float16 storage to float32 values. */
export function float16ToFloat32(bits: ArrayLike<number>): Float32Array {
  const out = new Float32Array(bits.length);
  for (let i = 0; i < bits.length; i++) out[i] = fromFloat16Bits(bits[i]!);
  return out;
}

/** Converts float32 values to bfloat16 storage (round half to even). */
export function float32ToBfloat16(values: ArrayLike<number>): Uint16Array {
  const out = new Uint16Array(values.length);
  for (let i = 0; i < values.length; i++) {
    f32[0] = values[i]!;
    const x = u32[0]!;
    if ((x & 0x7f800000) === 0x7f800000 && x & 0x7fffff) out[i] = (x >>> 16) | 0x40; // keep NaN a NaN
    else out[i] = (x + 0x7fff + ((x >>> 16) & 1)) >>> 16;
  }
  return out;
}

/** Converts bfloat16 storage to float32 values. */
export function bfloat16ToFloat32(bits: ArrayLike<number>): Float32Array {
  const out = new Float32Array(bits.length);
  const view = new Uint32Array(out.buffer);
  for (let i = 0; i < bits.length; i++) view[i] = (bits[i]! & 0xffff) << 16;
  return out;
}
