/**
 * A small programmatic ONNX writer (on onnx-buf's generated schema): enough to make the test
 * fixtures and the example models from code instead of committing binaries, the way
 * Polygraphy's tests build their models.
 */
import { create, toBinary } from '@bufbuild/protobuf';
import {
  AttributeProto_AttributeType,
  AttributeProtoSchema,
  GraphProtoSchema,
  ModelProtoSchema,
  NodeProtoSchema,
  OperatorSetIdProtoSchema,
  TensorProto_DataType,
  TensorProtoSchema,
  TensorShapeProto_DimensionSchema,
  TensorShapeProtoSchema,
  TypeProto_TensorSchema,
  TypeProtoSchema,
  ValueInfoProtoSchema,
  type AttributeProto,
  type GraphProto,
  type NodeProto,
  type TensorProto,
  type ValueInfoProto,
} from 'onnx-buf';

import type { DataType } from '../dtype.js';
import { InvalidArgumentError } from '../errors.js';

const ONNX_TYPES: Partial<Record<DataType, TensorProto_DataType>> = {
  float32: TensorProto_DataType.FLOAT,
  float16: TensorProto_DataType.FLOAT16,
  bfloat16: TensorProto_DataType.BFLOAT16,
  int8: TensorProto_DataType.INT8,
  uint8: TensorProto_DataType.UINT8,
  int32: TensorProto_DataType.INT32,
  int64: TensorProto_DataType.INT64,
  bool: TensorProto_DataType.BOOL,
};

function onnxType(dtype: DataType): TensorProto_DataType {
  const t = ONNX_TYPES[dtype];
  if (t === undefined) throw new InvalidArgumentError(`the ONNX writer does not support ${dtype}`);
  return t;
}

/** A graph input or output; a string dimension is symbolic (dynamic). */
export interface ValueSpec {
  name: string;
  dtype: DataType;
  shape: readonly (number | string)[];
}

export type AttributeValue =
  | number
  | bigint
  | string
  | readonly number[]
  | readonly bigint[]
  | TensorProto
  | { floats: readonly number[] }
  | { strings: readonly string[] }
  | { graph: GraphSpec };

export interface NodeSpec {
  op: string;
  inputs: readonly string[];
  outputs: readonly string[];
  name?: string;
  /** Integers become INT (whole numbers) unless wrapped: use { floats: [x] } or a non-integer for FLOAT(S). */
  attributes?: Record<string, AttributeValue>;
  domain?: string;
}

/** A graph: the model's own, or a subgraph (an If branch, a Loop or Scan body) given as `{ graph }`. */
export interface GraphSpec {
  inputs: readonly ValueSpec[];
  outputs: readonly ValueSpec[];
  nodes: readonly NodeSpec[];
  initializers?: readonly TensorProto[];
  name?: string;
}

export interface ModelSpec extends GraphSpec {
  opset?: number;
}

/** An initializer or Constant value; data is stored little-endian in raw_data. */
export function makeTensor(name: string, dtype: DataType, dims: readonly number[], values: ArrayLike<number> | readonly bigint[]): TensorProto {
  const count = dims.reduce((a, b) => a * b, 1);
  if (values.length !== count) throw new InvalidArgumentError(`tensor '${name}' has dims [${dims.join(', ')}] but ${values.length} values`);
  let raw: Uint8Array;
  switch (dtype) {
    case 'float32': raw = new Uint8Array(Float32Array.from(values as ArrayLike<number>).buffer); break;
    case 'int32': raw = new Uint8Array(Int32Array.from(values as ArrayLike<number>).buffer); break;
    case 'int64': raw = new Uint8Array(BigInt64Array.from(values as ArrayLike<bigint | number>, (v) => BigInt(v)).buffer); break;
    case 'float16':
    case 'bfloat16': raw = new Uint8Array(Uint16Array.from(values as ArrayLike<number>).buffer); break;
    case 'int8': raw = new Uint8Array(Int8Array.from(values as ArrayLike<number>).buffer); break;
    case 'uint8':
    case 'bool': raw = Uint8Array.from(values as ArrayLike<number>); break;
    default: throw new InvalidArgumentError(`the ONNX writer does not support ${dtype}`);
  }
  return create(TensorProtoSchema, { name, dataType: onnxType(dtype), dims: dims.map(BigInt), rawData: new Uint8Array(raw) });
}

function valueInfo(v: ValueSpec): ValueInfoProto {
  const dim = v.shape.map((d) =>
    create(TensorShapeProto_DimensionSchema, { value: typeof d === 'string' ? { case: 'dimParam', value: d } : { case: 'dimValue', value: BigInt(d) } }),
  );
  return create(ValueInfoProtoSchema, {
    name: v.name,
    type: create(TypeProtoSchema, {
      value: { case: 'tensorType', value: create(TypeProto_TensorSchema, { elemType: onnxType(v.dtype), shape: create(TensorShapeProtoSchema, { dim }) }) },
    }),
  });
}

function attribute(name: string, value: AttributeValue): AttributeProto {
  const T = AttributeProto_AttributeType;
  if (typeof value === 'bigint') return create(AttributeProtoSchema, { name, type: T.INT, i: value });
  if (typeof value === 'number') {
    return Number.isInteger(value)
      ? create(AttributeProtoSchema, { name, type: T.INT, i: BigInt(value) })
      : create(AttributeProtoSchema, { name, type: T.FLOAT, f: value });
  }
  if (typeof value === 'string') return create(AttributeProtoSchema, { name, type: T.STRING, s: new TextEncoder().encode(value) });
  if (Array.isArray(value)) {
    const list = value as readonly (number | bigint)[];
    if (list.every((v) => typeof v === 'bigint' || Number.isInteger(v))) return create(AttributeProtoSchema, { name, type: T.INTS, ints: list.map((v) => BigInt(v)) });
    return create(AttributeProtoSchema, { name, type: T.FLOATS, floats: list.map(Number) });
  }
  if ('strings' in (value as object)) {
    const strings = (value as { strings: readonly string[] }).strings;
    return create(AttributeProtoSchema, { name, type: T.STRINGS, strings: strings.map((s) => new TextEncoder().encode(s)) });
  }
  if ('graph' in (value as object)) return create(AttributeProtoSchema, { name, type: T.GRAPH, g: makeGraph((value as { graph: GraphSpec }).graph) });
  if ('floats' in (value as object)) {
    const floats = (value as { floats: readonly number[] }).floats;
    return floats.length === 1
      ? create(AttributeProtoSchema, { name, type: T.FLOAT, f: floats[0]! })
      : create(AttributeProtoSchema, { name, type: T.FLOATS, floats: [...floats] });
  }
  return create(AttributeProtoSchema, { name, type: T.TENSOR, t: value as TensorProto });
}

function node(spec: NodeSpec, index: number): NodeProto {
  return create(NodeProtoSchema, {
    name: spec.name ?? `${spec.op}_${index}`,
    opType: spec.op,
    domain: spec.domain ?? '',
    input: [...spec.inputs],
    output: [...spec.outputs],
    attribute: Object.entries(spec.attributes ?? {}).map(([k, v]) => attribute(k, v)),
  });
}

function makeGraph(spec: GraphSpec): GraphProto {
  return create(GraphProtoSchema, {
    name: spec.name ?? 'graph',
    input: spec.inputs.map(valueInfo),
    output: spec.outputs.map(valueInfo),
    node: spec.nodes.map(node),
    initializer: [...(spec.initializers ?? [])],
  });
}

/** Serializes a model (IR version 8, default opset 17). */
export function makeModel(spec: ModelSpec): Uint8Array {
  const graph = makeGraph(spec);
  const model = create(ModelProtoSchema, {
    irVersion: 8n,
    producerName: 'tensorrt-node',
    opsetImport: [create(OperatorSetIdProtoSchema, { domain: '', version: BigInt(spec.opset ?? 17) })],
    graph,
  });
  return toBinary(ModelProtoSchema, model);
}
