/**
 * Plain JavaScript arrays into a tensor's storage, checked element by element. A TypedArray's
 * own `set()` would wrap 300 into an int8 as 44, store -1 in a uint8 as 255, truncate 1.5 and
 * turn NaN into 0; here every value that the element type cannot hold is an OutOfRangeError
 * naming it, so a tensor never silently holds something other than what was given.
 */
import { type DataType, type DataTypeStorage, float32ToBfloat16, toFloat16Bits } from './dtype.js';
import { DataTypeError, OutOfRangeError } from './errors.js';
import { describe } from './validate.js';

/** The element types whose values Tensor.fromNumbers converts from JavaScript numbers. */
export type NumericDataType = 'float32' | 'float16' | 'bfloat16' | 'int8' | 'uint8' | 'int32' | 'int64' | 'bool';

export const NUMERIC_DATA_TYPES: readonly NumericDataType[] = ['float32', 'float16', 'bfloat16', 'int8', 'uint8', 'int32', 'int64', 'bool'];

const INTEGER_RANGES = {
  int8: [-128, 127],
  uint8: [0, 255],
  int32: [-2147483648, 2147483647],
  int64: [Number.MIN_SAFE_INTEGER, Number.MAX_SAFE_INTEGER],
} as const;

const INT64_MIN = -(2n ** 63n);
const INT64_MAX = 2n ** 63n - 1n;

/** Converts numbers to the storage of `dtype`, refusing any value the type cannot hold. */
export function numbersToStorage<T extends NumericDataType>(dtype: T, values: ArrayLike<unknown>): DataTypeStorage[T] {
  const n = values.length;
  const number = (i: number): number => {
    const v = values[i];
    if (typeof v !== 'number') throw new DataTypeError(`Expected numbers for the values of a ${dtype} Tensor but received ${describe(v)} at index ${i}`);
    return v;
  };
  switch (dtype) {
    case 'float32': {
      const out = new Float32Array(n);
      for (let i = 0; i < n; i++) {
        const v = number(i);
        out[i] = v;
        if (!Number.isFinite(out[i]!) && Number.isFinite(v)) throw overflow(dtype, i, v, '3.4028234663852886e38');
      }
      return out as DataTypeStorage[T];
    }
    case 'float16':
    case 'bfloat16': {
      const numbers = new Float64Array(n);
      for (let i = 0; i < n; i++) numbers[i] = number(i);
      // Converted in one pass, then scanned: an Infinity pattern from a finite value means it
      // overflowed; NaN and infinities pass.
      const out = dtype === 'float16' ? Uint16Array.from(numbers, toFloat16Bits) : float32ToBfloat16(numbers);
      const [infinity, limit] = dtype === 'float16' ? [0x7c00, '65504'] : [0x7f80, '3.3895313892515355e38'];
      for (let i = 0; i < n; i++) {
        if ((out[i]! & 0x7fff) === infinity && Number.isFinite(numbers[i]!)) throw overflow(dtype, i, numbers[i]!, limit);
      }
      return out as DataTypeStorage[T];
    }
    case 'bool': {
      const out = new Uint8Array(n);
      for (let i = 0; i < n; i++) {
        const v = values[i];
        if (v === true || v === false) out[i] = v ? 1 : 0;
        else if (v === 0 || v === 1) out[i] = v;
        else if (typeof v === 'number') throw new OutOfRangeError(`value ${v} at index ${i} is not a bool: a bool Tensor takes true/false or 0/1`, dtype, i, v);
        else throw new DataTypeError(`Expected booleans (or 0/1) for the values of a bool Tensor but received ${describe(v)} at index ${i}`);
      }
      return out as DataTypeStorage[T];
    }
    default: {
      const integer = dtype as keyof typeof INTEGER_RANGES;
      const [min, max] = INTEGER_RANGES[integer];
      const out = integer === 'int64' ? new BigInt64Array(n) : new { int8: Int8Array, uint8: Uint8Array, int32: Int32Array }[integer](n);
      for (let i = 0; i < n; i++) {
        const v = number(i);
        if (!Number.isInteger(v) || v < min || v > max) {
          const what = Number.isInteger(v) ? `outside ${dtype}'s range [${min}, ${max}]` : `not an integer (${dtype} holds integers in [${min}, ${max}])`;
          const fix = integer === 'int64' ? '; pass bigints to new Tensor() for int64 values beyond 2^53 - 1' : '';
          throw new OutOfRangeError(`value ${v} at index ${i} is ${what}${fix}`, dtype, i, v);
        }
        out[i] = (integer === 'int64' ? BigInt(v) : v) as never;
      }
      return out as DataTypeStorage[T];
    }
  }
}

/** Whether the Tensor constructor takes a plain array for `dtype` (see TensorArray). */
export function acceptsPlainArray(dtype: DataType): boolean {
  return dtype === 'float32' || dtype === 'int8' || dtype === 'uint8' || dtype === 'int32' || dtype === 'int64' || dtype === 'bool';
}

/** The constructor's plain array into the storage of `dtype`: bigints for int64, numbers (booleans for bool) else. */
export function plainArrayToStorage<T extends DataType>(dtype: T, values: readonly unknown[]): DataTypeStorage[T] {
  if (!acceptsPlainArray(dtype)) throw new DataTypeError(plainArrayRefusal(dtype));
  return (dtype === 'int64' ? bigintsToStorage(values) : numbersToStorage(dtype as NumericDataType, values)) as DataTypeStorage[T];
}

/** Copies bigints into int64 storage, refusing any outside int64's range (which `set()` would wrap). */
function bigintsToStorage(values: ArrayLike<unknown>): BigInt64Array {
  const out = new BigInt64Array(values.length);
  for (let i = 0; i < values.length; i++) {
    const v = values[i];
    if (typeof v !== 'bigint') {
      const fix = typeof v === 'number' ? "; to convert numbers use Tensor.fromNumbers('int64', values)" : '';
      throw new DataTypeError(`Expected bigints for the data of an int64 Tensor but received ${describe(v)} at index ${i}${fix}`);
    }
    if (v < INT64_MIN || v > INT64_MAX) throw new OutOfRangeError(`value ${v} at index ${i} is outside int64's range [-2^63, 2^63 - 1]`, 'int64', i, v);
    out[i] = v;
  }
  return out;
}

/** Why a type whose elements are encodings takes no plain array, and what to pass instead. */
function plainArrayRefusal(dtype: DataType): string {
  const how =
    dtype === 'float16' || dtype === 'bfloat16'
      ? `its raw bit patterns in a Uint16Array, or values through Tensor.fromNumbers('${dtype}', values), which rounds them`
      : 'its encoded bytes in a Uint8Array';
  return `a ${dtype} Tensor does not take a plain array, whose numbers could be values or encodings: pass ${how}`;
}

function overflow(dtype: DataType, index: number, value: number, limit: string): OutOfRangeError {
  return new OutOfRangeError(`value ${value} at index ${index} is outside ${dtype}'s finite range (largest ${limit}) and would become Infinity`, dtype, index, value);
}
