/**
 * Tensor: an element type, its data and its dimensions, in onnxruntime-node's shape
 * (`new Tensor(dtype, data, dims)`, properties `dtype`, `data`, `dims`). Generic in its element
 * type: a `Tensor<'float32'>` holds a Float32Array, a `Tensor<'int64'>` a BigInt64Array (see
 * DataTypeStorage), and in an {@link AnyTensor}, what `run()` and `execute()` resolve to,
 * checking `dtype` narrows `data`.
 */
import { type DataType, type DataTypeStorage, DATA_TYPES, STORAGE, bfloat16ToFloat32, float16ToFloat32, storageLength } from './dtype.js';
import { DataTypeError, ShapeError } from './errors.js';
import { acceptsPlainArray, NUMERIC_DATA_TYPES, type NumericDataType, numbersToStorage, plainArrayToStorage } from './tensor-values.js';
import { describe, expectDims, expectOneOf, invalid } from './validate.js';

/**
 * The plain arrays the constructor takes besides the storage TypedArray, per element type:
 * numbers for float32 (each rounded to the nearest float32, as a Float32Array stores it), int8,
 * uint8 and int32 (integers in the type's range only); bigints for int64 (in its range);
 * booleans for bool. The other types take only their storage: for them a plain array of numbers
 * could mean values or encodings, so values go through Tensor.fromNumbers instead.
 */
export type TensorArray<T extends DataType> = T extends 'float32' | 'int8' | 'uint8' | 'int32'
  ? readonly number[]
  : T extends 'int64'
    ? readonly bigint[]
    : T extends 'bool'
      ? readonly boolean[]
      : never;

/**
 * A tensor of any element type, as a union over them: `if (t.dtype === 'float32')` narrows
 * `t.data` to a Float32Array. Every `Tensor<K>` is an AnyTensor's member, and an AnyTensor is
 * a `Tensor`.
 */
export type AnyTensor = { [K in DataType]: Tensor<K> }[DataType];

export class Tensor<T extends DataType = DataType> {
  readonly dtype: T;
  readonly data: DataTypeStorage[T];
  readonly dims: readonly number[];

  /**
   * @param dtype element type
   * @param data the storage TypedArray of `dtype` (see DataTypeStorage), used as is, or a plain
   *   array to copy and check (see TensorArray: float32, int8, uint8, int32, int64 and bool
   *   only); float16 and bfloat16 take raw 16-bit patterns, see Tensor.fromNumbers for values
   * @param dims dimensions; defaults to a 1-D tensor of the data's length
   * @throws DataTypeError if `data` is not the storage of `dtype` or a plain array it takes;
   *   OutOfRangeError for a plain array's value the type cannot hold (int8 300, uint8 -1, 1.5
   *   or NaN for an integer type); ShapeError if the data's length does not match `dims`
   */
  constructor(dtype: T, data: DataTypeStorage[T] | TensorArray<T>, dims?: readonly number[]) {
    expectOneOf(dtype, DATA_TYPES, 'Tensor dtype');
    const Storage = STORAGE[dtype];
    let stored: DataTypeStorage[T];
    if (Array.isArray(data)) {
      stored = plainArrayToStorage(dtype, data);
    } else if (data instanceof Storage) {
      stored = data as DataTypeStorage[T];
    } else {
      const array = acceptsPlainArray(dtype) ? ` (or a plain array of ${dtype === 'int64' ? 'bigints' : dtype === 'bool' ? 'booleans' : 'numbers'})` : '';
      throw new DataTypeError(`Expected a ${Storage.name}${array} for the data of a ${dtype} Tensor but received ${describe(data)}`);
    }
    const shape = dims === undefined ? [stored.length] : expectDims(dims, 'Tensor dims');
    const count = shape.reduce((a, b) => a * b, 1);
    if (storageLength(dtype, count) !== stored.length) {
      throw new ShapeError(`Tensor of dims [${shape.join(', ')}] needs ${storageLength(dtype, count)} ${dtype} storage elements but the data has ${stored.length}`);
    }
    this.dtype = dtype;
    this.data = stored;
    this.dims = Object.freeze(shape);
  }

  /**
   * A tensor of `dtype` holding `values`, converted: float32 rounds each to the nearest float32;
   * float16 and bfloat16 round it to float32, then to the nearest 16-bit value (ties to even);
   * int8, uint8 and int32 take integers in their range; int64 takes safe integers (|v| <= 2^53 - 1;
   * pass bigints to the constructor beyond); bool takes 0 and 1. Nothing wraps or saturates.
   * @param values numbers, as a plain array or any TypedArray of numbers (a Float32Array into
   *   float16, say)
   * @param dims dimensions; defaults to a 1-D tensor of the values' length
   * @throws OutOfRangeError naming the first value the type cannot hold (an integer out of range,
   *   a fraction or NaN for an integer type, a finite number beyond a float type's largest);
   *   DataTypeError for a dtype whose values are encodings (the 8- and 4-bit types) or a value
   *   that is not a number; ShapeError if the count does not match `dims`
   */
  static fromNumbers<K extends NumericDataType>(dtype: K, values: ArrayLike<number>, dims?: readonly number[]): Tensor<K> {
    expectOneOf(dtype, DATA_TYPES, 'Tensor.fromNumbers dtype');
    if (!NUMERIC_DATA_TYPES.includes(dtype)) {
      throw new DataTypeError(`Tensor.fromNumbers does not convert numbers to ${dtype}, whose elements are encodings: pass its encoded bytes in a Uint8Array to new Tensor('${dtype}', bytes, dims)`);
    }
    if (typeof values !== 'object' || values === null || typeof values.length !== 'number') invalid('an array or TypedArray of numbers', 'Tensor.fromNumbers values', values);
    return new Tensor(dtype, numbersToStorage(dtype, values), dims);
  }

  /**
   * @internal A tensor from data the library itself produced (a backend's outputs), skipping
   * validation on the hot path. Same shape of object as the constructor makes.
   */
  static trusted<T extends DataType>(dtype: T, data: DataTypeStorage[T], dims: number[]): Tensor<T> {
    const t = Object.create(Tensor.prototype) as { dtype: T; data: DataTypeStorage[T]; dims: readonly number[] };
    t.dtype = dtype;
    t.data = data;
    t.dims = Object.freeze(dims);
    return t as unknown as Tensor<T>;
  }

  /** Number of elements (the product of dims). */
  get size(): number {
    return this.dims.reduce((a, b) => a * b, 1);
  }

  /** The values as float32, converting float16/bfloat16 storage; a copy for other types. */
  toFloat32(): Float32Array {
    if (this.dtype === 'float16') return float16ToFloat32(this.data as Uint16Array);
    if (this.dtype === 'bfloat16') return bfloat16ToFloat32(this.data as Uint16Array);
    if (this.dtype === 'int64') return Float32Array.from(this.data as BigInt64Array, (v) => Number(v));
    return Float32Array.from(this.data as ArrayLike<number>);
  }
}
