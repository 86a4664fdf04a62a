/**
 * Reads one case of ONNX's backend test data (Debian's libonnx-testdata): the model, and
 * test_data_set_N/{input_K,output_K}.pb as Tensors.
 */
import { existsSync, readdirSync, readFileSync } from 'node:fs';
import { join } from 'node:path';

import { fromBinary } from '@bufbuild/protobuf';
import { ModelProtoSchema, TensorProto_DataType, TensorProtoSchema, type TensorProto } from 'onnx-buf';

import { type DataType, STORAGE } from '../../lib/dtype.js';
import { Tensor } from '../../lib/tensor.js';

export const TESTDATA = '/usr/share/libonnx-testdata/data';

const T = TensorProto_DataType;
const DTYPES: Partial<Record<number, DataType>> = {
  [T.FLOAT]: 'float32',
  [T.FLOAT16]: 'float16',
  [T.BFLOAT16]: 'bfloat16',
  [T.INT8]: 'int8',
  [T.UINT8]: 'uint8',
  [T.INT32]: 'int32',
  [T.INT64]: 'int64',
  [T.BOOL]: 'bool',
  [T.FLOAT8E4M3FN]: 'float8e4m3',
};

/** Why a tensor of this ONNX type cannot be a TensorRT tensor, or undefined if it can. */
export function unsupportedTypeReason(onnxType: number): string | undefined {
  if (DTYPES[onnxType]) return undefined;
  return `TensorRT has no ${T[onnxType]?.toLowerCase() ?? `type ${onnxType}`} tensors`;
}

/**
 * `expectedType` is the graph's declared element type: ONNX 1.12's test data stores bfloat16
 * tensors with data_type UINT16 (the same 16-bit patterns), which the declaration disambiguates.
 */
export function tensorFromProto(proto: TensorProto, expectedType?: number): Tensor {
  const bfloat16AsUint16 = proto.dataType === T.UINT16 && expectedType === T.BFLOAT16;
  const dtype = bfloat16AsUint16 ? 'bfloat16' : DTYPES[proto.dataType];
  if (!dtype) throw new Error(unsupportedTypeReason(proto.dataType));
  const dims = proto.dims.map(Number);
  const count = dims.reduce((a, b) => a * b, 1);
  const Storage = STORAGE[dtype];
  let data;
  if (proto.rawData.byteLength > 0) {
    const copy = new Uint8Array(proto.rawData); // aligned
    data = new Storage(copy.buffer, 0, copy.byteLength / Storage.BYTES_PER_ELEMENT);
  } else if (dtype === 'float32') {
    data = Float32Array.from(proto.floatData);
  } else if (dtype === 'int64') {
    data = BigInt64Array.from(proto.int64Data);
  } else {
    // int32_data carries every narrower integer type, and float16/bfloat16 bit patterns.
    data = new Storage(count);
    (data as unknown as { set(a: ArrayLike<number>): void }).set(proto.int32Data);
  }
  return new Tensor(dtype, data, dims);
}

export interface TestCase {
  name: string;
  dir: string;
  /** The operator under test. */
  op: string;
  opset: number;
  /** Every operator the model's nodes use. */
  nodeOps: string[];
  model: Uint8Array;
  inputNames: string[];
  /** Graph input and output element types (ONNX enum values; 0 for non-tensors). */
  ioTypes: number[];
  outputNames: string[];
  /** Reads test_data_set_0 (throws for element types TensorRT lacks). */
  data(): { inputs: Tensor[]; outputs: Tensor[] };
}

/**
 * Loads a case. The operator is the node's op_type for single-node models, else the longest
 * operator name the directory name starts with (the *_expanded function-body cases).
 */
export function loadCase(dir: string, knownOps: readonly string[]): TestCase {
  const model = readFileSync(join(dir, 'model.onnx'));
  const proto = fromBinary(ModelProtoSchema, model);
  const graph = proto.graph!;
  const initializers = new Set(graph.initializer.map((t) => t.name));
  const graphInputs = graph.input.filter((i) => !initializers.has(i.name));
  const name = dir.split('/').pop()!;
  let op = graph.node.length === 1 ? graph.node[0]!.opType : '';
  if (!op) {
    const lower = name.replace(/^test_/, '').toLowerCase();
    const matches = (k: string) => lower === k.toLowerCase() || lower.startsWith(`${k.toLowerCase()}_`);
    op = [...knownOps].sort((a, b) => b.length - a.length).find(matches) ?? '';
  }
  const opset = Number(proto.opsetImport.find((o) => o.domain === '' || o.domain === 'ai.onnx')?.version ?? 1n);
  const set = join(dir, 'test_data_set_0');
  const read = (prefix: string) =>
    existsSync(set)
      ? readdirSync(set)
          .filter((f) => f.startsWith(prefix))
          .sort((a, b) => Number(a.match(/\d+/)![0]) - Number(b.match(/\d+/)![0]))
          .map((f) => fromBinary(TensorProtoSchema, readFileSync(join(set, f))))
      : [];
  const tensorType = (t: (typeof graph.input)[number]) => (t.type?.value.case === 'tensorType' ? t.type.value.value.elemType : 0);
  const ioTypes = [...graphInputs, ...graph.output].map(tensorType);
  return {
    name,
    dir,
    op,
    opset,
    nodeOps: [...new Set(graph.node.map((n) => n.opType))],
    model,
    inputNames: graphInputs.map((i) => i.name),
    ioTypes,
    outputNames: graph.output.map((o) => o.name),
    data: () => ({
      inputs: read('input_').map((t, i) => tensorFromProto(t, ioTypes[i])),
      outputs: read('output_').map((t, i) => tensorFromProto(t, ioTypes[graphInputs.length + i])),
    }),
  };
}
