/**
 * Tensor: an element type, its data and its dimensions, in onnxruntime-node's shape
 * (`new Tensor(dtype, data, dims)`, properties `dtype`, `data`, `dims`).
 */
import { type DataType, type DataTypeStorage, DATA_TYPES, STORAGE, bfloat16ToFloat32, float16ToFloat32, storageLength } from './dtype.js';
import { DataTypeError, ShapeError } from './errors.js';
import { describe, expectDims, expectOneOf } from './validate.js';

export class Tensor<T extends DataType = DataType> {
  readonly dtype: T;
  readonly data: DataTypeStorage[T];
  readonly dims: readonly number[];

  /**
   * @param dtype element type
   * @param data the storage TypedArray for `dtype` (see DataTypeStorage), or a plain array of
   *   numbers (bigints for int64) to copy into one; float16/bfloat16 take raw 16-bit patterns
   *   (use float32ToFloat16 to convert)
   * @param dims dimensions; defaults to a 1-D tensor of the data's length
   * @throws DataTypeError if `data` is not the storage of `dtype`; ShapeError if its length
   *   does not match `dims`
   */
  constructor(dtype: T, data: DataTypeStorage[T] | readonly number[] | readonly bigint[], dims?: readonly number[]) {
    expectOneOf(dtype, DATA_TYPES, 'Tensor dtype');
    const Storage = STORAGE[dtype];
    let stored: DataTypeStorage[T];
    if (Array.isArray(data)) {
      stored = new Storage(data.length) as DataTypeStorage[T];
      try {
        (stored as unknown as { set(a: ArrayLike<unknown>): void }).set(data);
      } catch {
        throw new DataTypeError(`Expected ${dtype === 'int64' ? 'bigints' : 'numbers'} for the data of a ${dtype} Tensor but received ${describe(data[0])}`);
      }
    } else if (data instanceof Storage) {
      stored = data as DataTypeStorage[T];
    } else {
      throw new DataTypeError(`Expected a ${Storage.name} (or an array) for the data of a ${dtype} Tensor but received ${describe(data)}`);
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
