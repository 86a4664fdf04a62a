/**
 * TensorProto <-> typed arrays. ONNX stores a tensor's elements either in raw_data
 * (little-endian bytes) or in a typed repeated field (float_data, int32_data, int64_data, ...);
 * which one depends on the writer, so readers must accept both and writers use raw_data, as
 * ONNX's own numpy_helper does.
 */
import { clearField, create } from '@bufbuild/protobuf';
import { TensorProto_DataLocation, TensorProto_DataType, TensorProtoSchema, type TensorProto } from 'onnx-buf';

import { type DataType, type DataTypeStorage, STORAGE, storageLength } from '../dtype.js';
import { DataTypeError, InvalidArgumentError, UnsupportedError } from '../errors.js';

const T = TensorProto_DataType;

const TO_ONNX: Record<DataType, TensorProto_DataType> = {
  float32: T.FLOAT,
  float16: T.FLOAT16,
  bfloat16: T.BFLOAT16,
  int8: T.INT8,
  uint8: T.UINT8,
  int32: T.INT32,
  int64: T.INT64,
  bool: T.BOOL,
  float8e4m3: T.FLOAT8E4M3FN,
  int4: T.INT4,
  float4e2m1: T.FLOAT4E2M1,
  float8e8m0: T.FLOAT8E8M0,
};

const FROM_ONNX = new Map<number, DataType>(Object.entries(TO_ONNX).map(([k, v]) => [v, k as DataType]));

/** The ONNX element type (TensorProto.DataType) of a library data type. */
export function onnxDataType(dtype: DataType): TensorProto_DataType {
  const t = TO_ONNX[dtype];
  if (t === undefined) throw new InvalidArgumentError(`Expected a data type for onnxDataType but received ${String(dtype)}`);
  return t;
}

/**
 * The library data type of an ONNX element type (TensorProto.DataType number). Throws
 * UnsupportedError for ONNX types the library has no tensors for (double, strings, complex,
 * 16/32/64-bit unsigned integers...), naming the type.
 */
export function dataTypeFromOnnx(onnxType: number): DataType {
  const dtype = FROM_ONNX.get(onnxType);
  if (dtype === undefined) throw new UnsupportedError(`ONNX element type ${T[onnxType] ?? onnxType} has no tensorrt-node data type`);
  return dtype;
}

/** A tensor's elements with its type and shape. */
export interface TensorValues<D extends DataType = DataType> {
  dtype: D;
  dims: number[];
  data: DataTypeStorage[D];
}

function elementCount(tensor: TensorProto): number {
  return tensor.dims.reduce((a, d) => a * Number(d), 1);
}

/**
 * Reads a TensorProto's elements into a typed array (16-bit floats as bit patterns in a
 * Uint16Array, as {@link DataTypeStorage} says), from raw_data or from the typed field the
 * writer used. The result never aliases the proto's buffer. Throws UnsupportedError for
 * element types the library lacks, InvalidArgumentError for a tensor whose data lives in an
 * external file that was not loaded (see loadExternalData) or whose data does not match dims.
 */
export function tensorToArray(tensor: TensorProto): TensorValues {
  const dtype = dataTypeFromOnnx(tensor.dataType);
  const name = tensor.name || '(unnamed)';
  if (tensor.dataLocation === TensorProto_DataLocation.EXTERNAL) {
    throw new InvalidArgumentError(`tensor '${name}' keeps its data in an external file; read the model with { loadExternalData: true } first`);
  }
  const dims = tensor.dims.map(Number);
  const count = elementCount(tensor);
  const Storage = STORAGE[dtype];
  const length = storageLength(dtype, count);
  if (tensor.rawData.byteLength > 0 || count === 0) {
    const expected = length * Storage.BYTES_PER_ELEMENT;
    if (tensor.rawData.byteLength !== expected) {
      throw new InvalidArgumentError(`tensor '${name}' has dims [${dims.join(', ')}] (${expected} bytes of ${dtype}) but raw_data holds ${tensor.rawData.byteLength} bytes`);
    }
    // Copying also aligns the data: raw_data may sit at any offset inside the file's buffer.
    const copy = new Uint8Array(tensor.rawData);
    return { dtype, dims, data: new Storage(copy.buffer, 0, length) as DataTypeStorage[DataType] };
  }
  const typed =
    dtype === 'float32' ? tensor.floatData : dtype === 'int64' ? tensor.int64Data : tensor.int32Data; // int32_data carries every narrower type
  if (typed.length !== length) {
    throw new InvalidArgumentError(`tensor '${name}' has dims [${dims.join(', ')}] (${length} values) but its typed data field holds ${typed.length}`);
  }
  const data = new Storage(length);
  (data as unknown as { set(values: ArrayLike<number | bigint>): void }).set(typed);
  return { dtype, dims, data: data as DataTypeStorage[DataType] };
}

/**
 * Like {@link tensorToArray} but requires float32 and returns the values directly. Throws
 * DataTypeError naming the tensor and its type when it is not float32.
 */
export function tensorToFloat32(tensor: TensorProto): Float32Array {
  if (tensor.dataType !== T.FLOAT) {
    throw new DataTypeError(`Expected a float32 tensor for '${tensor.name}' but received ${T[tensor.dataType]?.toLowerCase() ?? tensor.dataType}`);
  }
  return tensorToArray(tensor).data as Float32Array;
}

/**
 * A TensorProto holding `data` in raw_data (little-endian; the library runs on little-endian
 * hosts, which is every platform TensorRT ships for). Throws InvalidArgumentError when the
 * data's length does not match dims or its array type does not store `dtype`.
 */
export function arrayToTensor<D extends DataType>(name: string, dtype: D, dims: readonly number[], data: DataTypeStorage[D]): TensorProto {
  const tensor = create(TensorProtoSchema, { name, dims: dims.map((d) => BigInt(d)) });
  setTensorData(tensor, dtype, data);
  return tensor;
}

/**
 * Replaces a TensorProto's element type and data in place (dims, name and doc stay), clearing
 * the typed fields and any external-data reference so raw_data is the one source. Throws
 * InvalidArgumentError when the data does not match the tensor's dims or type.
 */
export function setTensorData<D extends DataType>(tensor: TensorProto, dtype: D, data: DataTypeStorage[D]): void {
  const Storage = STORAGE[dtype];
  if (!(data instanceof (Storage as unknown as new () => object))) {
    throw new InvalidArgumentError(`Expected a ${Storage.name} for the data of ${dtype} tensor '${tensor.name}' but received a ${(data as object).constructor.name}`);
  }
  const length = storageLength(dtype, elementCount(tensor));
  if (data.length !== length) {
    throw new InvalidArgumentError(`Expected ${length} elements for tensor '${tensor.name}' with dims [${tensor.dims.join(', ')}] but received ${data.length}`);
  }
  tensor.dataType = onnxDataType(dtype);
  tensor.rawData = new Uint8Array(data.buffer as ArrayBuffer, data.byteOffset, data.byteLength);
  tensor.floatData = [];
  tensor.int32Data = [];
  tensor.int64Data = [];
  tensor.doubleData = [];
  tensor.uint64Data = [];
  tensor.externalData = [];
  // Cleared rather than set to DEFAULT: proto2 would then write the field out explicitly.
  clearField(tensor, TensorProtoSchema.field.dataLocation);
}
