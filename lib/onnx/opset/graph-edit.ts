/**
 * What an operator rewrite needs to know about, and add to, the graph its node lives in while
 * the model's opset is raised: fresh names, new constant inputs, the element type and rank of
 * a value, whether a value is read at all. Nothing is written to the graph until the whole
 * model has converted, so a refusal leaves the model as it was.
 */
import { create } from '@bufbuild/protobuf';
import {
  AttributeProto_AttributeType,
  AttributeProtoSchema,
  NodeProtoSchema,
  TensorProto_DataType,
  TensorProtoSchema,
  type AttributeProto,
  type GraphProto,
  type NodeProto,
  type TensorProto,
} from 'onnx-buf';

import { float32ToBfloat16, float32ToFloat16 } from '../../dtype.js';
import { UnsupportedError } from '../../errors.js';
import { inferElemTypes } from '../value-types.js';

const T = TensorProto_DataType;
const A = AttributeProto_AttributeType;

/** Every name already used anywhere in a model (values and nodes, all graphs), so new ones never collide. */
export class NameSource {
  readonly #taken = new Set<string>();

  add(name: string): void {
    if (name) this.#taken.add(name);
  }

  fresh(base: string): string {
    let name = base;
    for (let i = 1; this.#taken.has(name); i++) name = `${base}_${i}`;
    this.#taken.add(name);
    return name;
  }
}

/** Bytes of one scalar of an ONNX numeric type, little-endian. */
function scalarBytes(dataType: number, value: number): Uint8Array | undefined {
  const view = (bytes: number, write: (v: DataView) => void) => {
    const b = new Uint8Array(bytes);
    write(new DataView(b.buffer));
    return b;
  };
  switch (dataType) {
    case T.FLOAT: return view(4, (v) => v.setFloat32(0, value, true));
    case T.DOUBLE: return view(8, (v) => v.setFloat64(0, value, true));
    case T.FLOAT16: return view(2, (v) => v.setUint16(0, float32ToFloat16([value])[0]!, true));
    case T.BFLOAT16: return view(2, (v) => v.setUint16(0, float32ToBfloat16([value])[0]!, true));
    case T.INT8: return view(1, (v) => v.setInt8(0, value));
    case T.UINT8: return view(1, (v) => v.setUint8(0, value));
    case T.INT16: return view(2, (v) => v.setInt16(0, value, true));
    case T.UINT16: return view(2, (v) => v.setUint16(0, value, true));
    case T.INT32: return view(4, (v) => v.setInt32(0, value, true));
    case T.UINT32: return view(4, (v) => v.setUint32(0, value, true));
    case T.INT64: return view(8, (v) => v.setBigInt64(0, BigInt(Math.trunc(value)), true));
    case T.UINT64: return view(8, (v) => v.setBigUint64(0, BigInt(Math.trunc(value)), true));
    default: return undefined;
  }
}

/** Operators whose output has the rank of their first input. */
const SAME_RANK = new Set([
  'Abs', 'Acos', 'Acosh', 'Asin', 'Asinh', 'Atan', 'Atanh', 'AveragePool', 'BatchNormalization', 'Cast', 'CastLike', 'Ceil', 'Celu', 'Clip', 'Conv',
  'ConvTranspose', 'Cos', 'Cosh', 'CumSum', 'DepthToSpace', 'Dropout', 'Elu', 'Erf', 'Exp', 'Floor', 'Gelu', 'GlobalAveragePool', 'GlobalLpPool',
  'GlobalMaxPool', 'HardSigmoid', 'HardSwish', 'Hardmax', 'Identity', 'ImageScaler', 'InstanceNormalization', 'IsInf', 'IsNaN', 'LRN', 'LayerNormalization',
  'LeakyRelu', 'Log', 'LogSoftmax', 'LpNormalization', 'LpPool', 'MaxPool', 'MeanVarianceNormalization', 'Mish', 'Neg', 'Not', 'PRelu', 'Pad',
  'Reciprocal', 'Relu', 'Resize', 'Round', 'Selu', 'Shrink', 'Sigmoid', 'Sign', 'Sin', 'Sinh', 'Slice', 'Softmax', 'Softplus', 'Softsign', 'SpaceToDepth',
  'Sqrt', 'Tan', 'Tanh', 'ThresholdedRelu', 'Tile', 'Transpose', 'Upsample', 'ScaledTanh', 'ParametricSoftplus',
]);

/** Elementwise operators with (numpy or legacy) broadcasting: the output has the largest input rank. */
const BROADCASTING = new Set(['Add', 'Sub', 'Mul', 'Div', 'Pow', 'And', 'Or', 'Xor', 'Equal', 'Greater', 'Less', 'GreaterOrEqual', 'LessOrEqual', 'Max', 'Min', 'Sum', 'Mean', 'Where', 'Mod']);

function declaredRank(info: GraphProto['input'][number]): number | undefined {
  const type = info.type?.value;
  return type?.case === 'tensorType' && type.value.shape ? type.value.shape.dim.length : undefined;
}

function intsAttribute(node: NodeProto, name: string): bigint[] | undefined {
  const a = node.attribute.find((x) => x.name === name);
  return a && a.type === A.INTS ? a.ints : undefined;
}

/**
 * Ranks of the values of `graph` where declarations (inputs, value_info, initializers,
 * Constants) and a few rank-preserving rules tell them; a sketch of shape inference that is
 * enough to place a legacy broadcast or a PRelu slope, and to skip a needless rewrite.
 */
function inferRanks(graph: GraphProto, outer: ReadonlyMap<string, number>): Map<string, number> {
  const ranks = new Map(outer);
  for (const info of [...graph.input, ...graph.valueInfo, ...graph.output]) {
    const r = declaredRank(info);
    if (r !== undefined) ranks.set(info.name, r);
  }
  for (const t of graph.initializer) ranks.set(t.name, t.dims.length);
  for (const node of graph.node) {
    const r = (i: number) => (node.input[i] ? ranks.get(node.input[i]!) : undefined);
    let out: number | undefined;
    if (node.domain !== '' && node.domain !== 'ai.onnx') out = undefined;
    else if (node.opType === 'Constant') out = node.attribute[0]?.t ? node.attribute[0].t.dims.length : undefined;
    else if (SAME_RANK.has(node.opType)) out = r(0);
    else if (BROADCASTING.has(node.opType)) {
      const all = node.input.filter((n) => n).map((n) => ranks.get(n));
      out = all.every((x) => x !== undefined) ? Math.max(...(all as number[])) : undefined;
    } else if (node.opType === 'Gemm' || node.opType === 'Flatten') out = 2;
    else if (node.opType === 'Shape' || node.opType === 'NonZero') out = node.opType === 'Shape' ? 1 : 2;
    else if (node.opType === 'MatMul') out = r(0) !== undefined && r(1) !== undefined && r(0)! >= 2 && r(1)! >= 2 ? Math.max(r(0)!, r(1)!) : undefined;
    else if (node.opType === 'Concat' || node.opType === 'Split') out = r(0);
    else if ((node.opType === 'Unsqueeze' || node.opType === 'Squeeze') && intsAttribute(node, 'axes') && r(0) !== undefined) {
      out = r(0)! + (node.opType === 'Unsqueeze' ? 1 : -1) * intsAttribute(node, 'axes')!.length;
    } else if (node.opType === 'Gather' && r(0) !== undefined && r(1) !== undefined) out = r(0)! + r(1)! - 1;
    if (out === undefined) continue;
    // The rule speaks of the first output (BatchNormalization's statistics, TopK's indices... differ), and of all of Split's.
    for (const name of node.opType === 'Split' ? node.output : node.output.slice(0, 1)) if (name && !ranks.has(name)) ranks.set(name, out);
  }
  return ranks;
}

/** Names read by the nodes of `graph` and of every graph nested in them (outer-scope reads included), and its outputs. */
function readNames(graph: GraphProto, into = new Set<string>()): Set<string> {
  for (const o of graph.output) into.add(o.name);
  for (const node of graph.node) {
    for (const i of node.input) into.add(i);
    for (const a of node.attribute) {
      if (a.g) readNames(a.g, into);
      for (const g of a.graphs) readNames(g, into);
    }
  }
  return into;
}

export class GraphEdit {
  /** Initializers the rewrites add to this graph, written on commit. */
  readonly initializers: TensorProto[] = [];
  readonly types: Map<string, number>;
  readonly ranks: Map<string, number>;
  readonly #read: Set<string>;

  constructor(
    readonly graph: GraphProto,
    readonly from: number,
    readonly to: number,
    readonly names: NameSource,
    outerTypes: ReadonlyMap<string, number> = new Map(),
    outerRanks: ReadonlyMap<string, number> = new Map(),
  ) {
    this.types = inferElemTypes(graph, outerTypes);
    this.ranks = inferRanks(graph, outerRanks);
    this.#read = readNames(graph);
  }

  /** Whether anything (a node here or in a nested graph, or the graph's outputs) reads `name`. */
  isRead(name: string): boolean {
    return this.#read.has(name);
  }

  initializer(name: string): TensorProto | undefined {
    return this.graph.initializer.find((t) => t.name === name);
  }

  /** A new int64 initializer (1-D unless `dims` says otherwise); returns its name. */
  int64s(base: string, values: readonly (bigint | number)[], dims: readonly number[] = [values.length]): string {
    const raw = new Uint8Array(BigInt64Array.from(values, (v) => BigInt(v)).buffer);
    return this.#add(base, T.INT64, dims, raw);
  }

  /** A new float32 initializer; returns its name. */
  floats(base: string, values: readonly number[], dims: readonly number[] = [values.length]): string {
    return this.#add(base, T.FLOAT, dims, new Uint8Array(Float32Array.from(values).buffer));
  }

  /** A new scalar initializer of `dataType` (a 0-D tensor); undefined for a type without numbers. */
  scalar(base: string, dataType: number, value: number): string | undefined {
    const raw = scalarBytes(dataType, value);
    return raw && this.#add(base, dataType, [], raw);
  }

  #add(base: string, dataType: number, dims: readonly number[], rawData: Uint8Array): string {
    const name = this.names.fresh(base);
    this.initializers.push(create(TensorProtoSchema, { name, dataType, dims: dims.map((d) => BigInt(d)), rawData: new Uint8Array(rawData) }));
    this.types.set(name, dataType);
    this.ranks.set(name, dims.length);
    return name;
  }

  /** A new node of the default domain; its name and outputs are fresh names built from `base`. */
  node(base: string, opType: string, inputs: readonly string[], outputCount = 1, attribute: AttributeProto[] = []): NodeProto {
    const name = this.names.fresh(`${base}/${opType}`);
    const output = Array.from({ length: outputCount }, (_, i) => this.names.fresh(`${name}_output${outputCount > 1 ? `_${i}` : ''}`));
    return create(NodeProtoSchema, { name, opType, input: [...inputs], output, attribute });
  }

  /** Refuses the conversion, naming the node and its operator. */
  refuse(node: NodeProto, why: string): never {
    const label = node.name ? `node '${node.name}' (${node.opType})` : `${/^[AEIOU]/.test(node.opType) ? 'an' : 'a'} ${node.opType} node`;
    throw new UnsupportedError(
      `Cannot convert the model from opset ${this.from} to ${this.to}: ${label} ${why}; ` +
        `export the model at opset ${this.to} or later instead, or change that node`,
    );
  }
}

type NodeFields = Pick<NodeProto, 'input' | 'output' | 'name' | 'opType' | 'domain' | 'overload' | 'attribute' | 'docString' | 'metadataProps'>;

/**
 * A copy of `node` with `changes` (the node itself is never changed: a refusal later must leave
 * the model as it was). Not a spread: onnx.proto is proto2, whose unset fields live on the
 * message's prototype and a spread would lose.
 */
export function edited(node: NodeProto, changes: Partial<NodeFields>): NodeProto {
  const { input, output, name, opType, domain, overload, attribute, docString, metadataProps } = node;
  return create(NodeProtoSchema, { input, output, name, opType, domain, overload, attribute, docString, metadataProps, ...changes });
}

// --- attribute helpers ---

export function attr(node: NodeProto, name: string): AttributeProto | undefined {
  return node.attribute.find((a) => a.name === name);
}

export function intAttr(node: NodeProto, name: string): bigint | undefined {
  return attr(node, name)?.i;
}

export function intsAttr(node: NodeProto, name: string): bigint[] | undefined {
  return attr(node, name)?.ints;
}

export function floatAttr(node: NodeProto, name: string): number | undefined {
  const a = attr(node, name);
  return a === undefined ? undefined : a.type === A.INT ? Number(a.i) : a.f;
}

export function stringAttr(node: NodeProto, name: string): string | undefined {
  const a = attr(node, name);
  return a === undefined ? undefined : new TextDecoder().decode(a.s);
}

export function makeIntAttr(name: string, value: bigint | number): AttributeProto {
  return create(AttributeProtoSchema, { name, type: A.INT, i: BigInt(value) });
}

export function makeIntsAttr(name: string, values: readonly (bigint | number)[]): AttributeProto {
  return create(AttributeProtoSchema, { name, type: A.INTS, ints: values.map((v) => BigInt(v)) });
}

export function makeStringAttr(name: string, value: string): AttributeProto {
  return create(AttributeProtoSchema, { name, type: A.STRING, s: new TextEncoder().encode(value) });
}

/** `node` without the named attributes: a copy when it has any (the node itself is never changed), else `node`. */
export function withoutAttrs(node: NodeProto, ...names: string[]): NodeProto {
  if (!node.attribute.some((a) => names.includes(a.name))) return node;
  return edited(node, { attribute: node.attribute.filter((a) => !names.includes(a.name)) });
}

/** `node` with `attribute` set (replacing one of the same name). */
export function withAttr(node: NodeProto, attribute: AttributeProto): NodeProto {
  return edited(node, { attribute: [...node.attribute.filter((a) => a.name !== attribute.name), attribute] });
}

/** `inputs` without trailing empty names (absent optional inputs). */
export function trimInputs(inputs: readonly string[]): string[] {
  const out = [...inputs];
  while (out.length > 0 && out[out.length - 1] === '') out.pop();
  return out;
}
