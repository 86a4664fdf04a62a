/**
 * FP16 by rewriting the model: float32 weights and
 * activations become float16, which TensorRT 11's strongly typed networks (and TensorRT 10
 * without builder flags) then run in half precision. Graph inputs and outputs stay float32 by
 * default, with Cast nodes at the edges; nodes that must or should stay float32 (a block list,
 * operators without float16 kernels or whose float inputs are parameters rather than data,
 * and consumers of constants that float16 cannot represent) are wrapped in Casts instead.
 * The bodies of If, Loop and Scan are rewritten by the same rules, inside and at their edges.
 */
import { basename } from 'node:path';

import { create } from '@bufbuild/protobuf';
import {
  AttributeProto_AttributeType,
  AttributeProtoSchema,
  NodeProtoSchema,
  TensorProto_DataType,
  TensorProtoSchema,
  TypeProto_TensorSchema,
  TypeProtoSchema,
  ValueInfoProtoSchema,
  type AttributeProto,
  type GraphProto,
  type ModelProto,
  type NodeProto,
  type TensorProto,
  type ValueInfoProto,
} from 'onnx-buf';

import { BACKEND_OPTIONS, type BackendOption } from '../backend.js';
import { type CalibrationData, isCalibrationData } from '../calibration/collect-statistics.js';
import { toFloat16Bits } from '../dtype.js';
import { getDefaultLogger, Logger } from '../logger.js';
import { readModel, writeModel } from '../onnx/model-io.js';
import { arrayToTensor, setTensorData, tensorToFloat32 } from '../onnx/tensor-data.js';
import { inferElemTypes } from '../onnx/value-types.js';
import { forEachGraph } from '../onnx/walk.js';
import { parseShapeSpec, type ShapeMap } from '../shapes.js';
import { expectFunction, expectObject, expectOneOf, expectString, invalid } from '../validate.js';
import { findOutOfRangeActivations, FLOAT16_MAX, nodeLabel, type OutOfRangeActivation } from './float16-ranges.js';

const F32 = TensorProto_DataType.FLOAT;
const F16 = TensorProto_DataType.FLOAT16;

/** What convertToFloat16 found about the model's activations. */
export interface Float16Report {
  /** Whether activations were measured (calibrationData or validationData was given). */
  activationsChecked: boolean;
  /**
   * Node outputs beyond float16's range (|x| > 65504) on the data, or NaN/Inf already in
   * float32; the nodes producing or reading the out-of-range ones stay float32.
   */
  outOfRange: OutOfRangeActivation[];
  /** Names (or `OpType #index`) of the nodes kept in float32 because of them. */
  keptFloat32: string[];
}

export interface Float16Options {
  /** Keep float32 graph inputs and outputs, with Casts at the edges (default true). */
  keepIoTypes?: boolean;
  /** Nodes kept in float32, by operator type or node name. */
  blockList?: { opTypes?: readonly string[]; nodeNames?: readonly string[] };
  /**
   * Also write the converted model to this file. A model that came with external data gets its
   * (converted) weights written to `externalDataPath` next to it.
   */
  outputPath?: string;
  /** External data file name for outputPath (default: `<output file name>.data`). */
  externalDataPath?: string;
  /** Directory a model given as bytes keeps its external data in. */
  baseDir?: string;
  /**
   * Inputs to measure activation ranges on (either name; the same use): the float32 model
   * runs on every batch with its node outputs exposed, and nodes whose outputs exceed
   * float16's range (|x| > 65504) stay float32, together with the nodes reading those
   * outputs. Without data the activations are not checked (a warning says so).
   */
  calibrationData?: CalibrationData;
  validationData?: CalibrationData;
  /** Backend that runs the float32 model for that check (default 'auto'). */
  backend?: BackendOption;
  /** Fixes dynamic input dimensions for that run (default: the first batch's shapes). */
  shapes?: ShapeMap | string;
  /** Where the check's findings and the no-data warning go (default: warnings to stderr). */
  logger?: Logger;
  /** Receives what the check found and which nodes stayed float32. */
  onReport?: (report: Float16Report) => void;
  /**
   * Accuracy target, with `validationData` to measure it on: the smallest cosine against
   * float32 accepted on every output. The nodes float16 hurts most then stay float32 until the
   * model meets it, as convertToFloat16WithReport does (which also reports them).
   */
  minCosine?: number;
}

/**
 * Operators kept in float32 by nature: no float16 type in their schema (Range, Celu,
 * NonMaxSuppression, DynamicQuantizeLinear), a float type chosen by attribute (Random*,
 * EyeLike, windows), quantization scales, and sequences and optionals (SequenceMap's body stays
 * float32 with them). If, Loop and Scan are not among them: their bodies are converted.
 */
const ALWAYS_FLOAT32: ReadonlySet<string> = new Set([
  'Range', 'Celu', 'NonMaxSuppression', 'DynamicQuantizeLinear', 'QuantizeLinear', 'DequantizeLinear', 'QLinearConv',
  'QLinearMatMul', 'MatMulInteger', 'ConvInteger', 'RandomNormal', 'RandomUniform', 'RandomNormalLike', 'RandomUniformLike',
  'Multinomial', 'Bernoulli', 'EyeLike', 'BlackmanWindow', 'HannWindow', 'HammingWindow', 'MelWeightMatrix', 'STFT',
  'TfIdfVectorizer', 'SequenceConstruct', 'SequenceInsert', 'SequenceAt', 'SequenceErase',
  'SequenceLength', 'SplitToSequence', 'ConcatFromSequence', 'SequenceEmpty', 'SequenceMap', 'Optional',
  'OptionalGetElement', 'OptionalHasElement',
]);

/**
 * Arithmetic that computes the argument of a Log (a power or magnitude spectrum, a sum of
 * squares, an energy plus epsilon): see logArguments.
 */
const LOG_ARGUMENT_OPS: ReadonlySet<string> = new Set([
  'Add', 'Sub', 'Mul', 'Div', 'Pow', 'Sqrt', 'Abs', 'Neg', 'Exp', 'Reciprocal', 'Max', 'Min', 'Clip', 'Sum',
  'ReduceSum', 'ReduceSumSquare', 'ReduceMean', 'ReduceL1', 'ReduceL2',
]);

/**
 * Nodes kept in float32 because a Log reads what they compute: Log turns relative error into
 * absolute error (log(x(1 + e)) = log x + e), and float16 holds values under 6.1e-5 only as
 * subnormals, with up to 100% relative error, and squares values under 2.4e-4 to zero. The
 * log of a power spectrum's quiet bins (silero VAD's features) is then off by whole units.
 * The Log and the arithmetic chain computing its argument, back to the first node of another
 * kind (a Conv, a MatMul, a Slice...), stay float32; what that node computes keeps float16's
 * ~5e-4 relative error, which the log tolerates.
 */
function logArguments(graph: GraphProto): Set<NodeProto> {
  const producer = new Map<string, NodeProto>();
  for (const node of graph.node) for (const o of node.output) if (o) producer.set(o, node);
  const kept = new Set<NodeProto>();
  const visit = (node: NodeProto) => {
    if (kept.has(node)) return;
    kept.add(node);
    for (const name of node.input) {
      const p = name ? producer.get(name) : undefined;
      if (p && LOG_ARGUMENT_OPS.has(p.opType) && (p.domain === '' || p.domain === 'ai.onnx')) visit(p);
    }
  };
  for (const node of graph.node) if (node.opType === 'Log' && (node.domain === '' || node.domain === 'ai.onnx')) visit(node);
  return kept;
}

/** How a node's float input is used: as data of the op's type, as a float32 parameter, or as anything. */
type InputRole = 'data' | 'float32' | 'any';

function inputRole(node: NodeProto, index: number): InputRole {
  switch (node.opType) {
    // Only the shape or the bytes are read; any type is fine.
    case 'Shape':
    case 'Size':
    case 'Cast':
      return 'any';
    case 'CastLike':
      return index === 0 ? 'any' : 'data';
    // roi and scales are coordinates, float32 in the schema (scales) or by choice (roi).
    case 'Resize':
    case 'Upsample':
      return index === 0 ? 'data' : 'float32';
    default:
      return 'data';
  }
}

function validate(options: unknown): Required<Pick<Float16Options, 'keepIoTypes'>> & { opTypes: Set<string>; nodeNames: Set<string> } & Float16Options {
  const o = expectObject(options, 'convertToFloat16 options') as Float16Options;
  const keepIoTypes = o.keepIoTypes ?? true;
  if (typeof keepIoTypes !== 'boolean') invalid('a boolean', 'keepIoTypes', keepIoTypes);
  const block = o.blockList === undefined ? {} : (expectObject(o.blockList, 'blockList') as NonNullable<Float16Options['blockList']>);
  const names = (value: unknown, what: string): Set<string> => {
    if (value === undefined) return new Set();
    if (!Array.isArray(value) || value.some((v) => typeof v !== 'string')) invalid('an array of strings', what, value);
    return new Set(value as string[]);
  };
  if (o.outputPath !== undefined) expectString(o.outputPath, 'outputPath');
  if (o.externalDataPath !== undefined) expectString(o.externalDataPath, 'externalDataPath');
  if (o.baseDir !== undefined) expectString(o.baseDir, 'baseDir');
  if (o.calibrationData !== undefined && o.validationData !== undefined) invalid('one of calibrationData and validationData (both measure the same ranges)', 'validationData', o.validationData);
  for (const key of ['calibrationData', 'validationData'] as const) {
    if (o[key] !== undefined && !isCalibrationData(o[key])) invalid('an Iterable or AsyncIterable of feeds', key, o[key]);
  }
  if (o.backend !== undefined) expectOneOf(o.backend, BACKEND_OPTIONS, 'backend');
  if (o.shapes !== undefined && typeof o.shapes !== 'string') expectObject(o.shapes, 'shapes');
  if (o.logger !== undefined && !(o.logger instanceof Logger)) invalid('a Logger', 'logger', o.logger);
  if (o.onReport !== undefined) expectFunction(o.onReport, 'onReport');
  return { ...o, keepIoTypes, opTypes: names(block.opTypes, 'blockList.opTypes'), nodeNames: names(block.nodeNames, 'blockList.nodeNames') };
}

function maxFiniteAbs(values: ArrayLike<number>): number {
  let max = 0;
  for (let i = 0; i < values.length; i++) {
    const a = Math.abs(values[i]!);
    if (a > max && a !== Infinity) max = a;
  }
  return max;
}

/** Rewrites a float32 TensorProto's data as float16 in place (round to nearest even). */
function tensorToFloat16(tensor: TensorProto): void {
  const values = tensorToFloat32(tensor);
  const bits = new Uint16Array(values.length);
  for (let i = 0; i < values.length; i++) bits[i] = toFloat16Bits(values[i]!);
  setTensorData(tensor, 'float16', bits);
}

/** The float values a Constant or ConstantOfShape node defines, or undefined when it is not a float constant. */
function constantValues(node: NodeProto): ArrayLike<number> | undefined {
  if (node.opType !== 'Constant' && node.opType !== 'ConstantOfShape') return undefined;
  const a = node.attribute.find((x) => x.name === 'value' || x.name === 'value_float' || x.name === 'value_floats');
  if (!a) return undefined;
  if (a.t) return a.t.dataType === F32 ? tensorToFloat32(a.t) : undefined;
  return a.name === 'value_float' ? [a.f] : a.name === 'value_floats' ? a.floats : undefined;
}

function renameInSubgraphs(node: NodeProto, from: string, to: string): void {
  for (const attr of node.attribute) {
    for (const g of [...(attr.g ? [attr.g] : []), ...attr.graphs]) {
      forEachGraph(g, (sub) => {
        for (const n of sub.node) n.input = n.input.map((x) => (x === from ? to : x));
        for (const o of sub.output) if (o.name === from) o.name = to;
      });
    }
  }
}

function setElemType(info: ValueInfoProto, elemType: number): void {
  const type = info.type?.value;
  if (type?.case === 'tensorType') type.value.elemType = elemType;
}

/** A Cast of `input` to element type `to`, spelled as the model's opset wants it. */
export function castNode(name: string, input: string, output: string, to: number, opset: number): NodeProto {
  // Cast-1 (before opset 6) spelled the target type as a string.
  const attribute: AttributeProto =
    opset < 6
      ? create(AttributeProtoSchema, { name: 'to', type: AttributeProto_AttributeType.STRING, s: new TextEncoder().encode(to === F16 ? 'FLOAT16' : 'FLOAT') })
      : create(AttributeProtoSchema, { name: 'to', type: AttributeProto_AttributeType.INT, i: BigInt(to) });
  return create(NodeProtoSchema, { name, opType: 'Cast', domain: '', input: [input], output: [output], attribute: [attribute] });
}

/** Turns a Constant's or ConstantOfShape's float32 value attribute into a float16 tensor. */
function convertConstantAttribute(node: NodeProto): void {
  const index = node.attribute.findIndex((a) => a.name === 'value' || a.name === 'value_float' || a.name === 'value_floats');
  if (index < 0) {
    // ConstantOfShape without a value fills float32 zeros; say float16 zero explicitly.
    if (node.opType === 'ConstantOfShape') {
      const zero = create(TensorProtoSchema, { dims: [1n], dataType: F16, rawData: new Uint8Array(2) });
      node.attribute.push(create(AttributeProtoSchema, { name: 'value', type: AttributeProto_AttributeType.TENSOR, t: zero }));
    }
    return;
  }
  const a = node.attribute[index]!;
  if (a.t) {
    if (a.t.dataType === F32) tensorToFloat16(a.t);
    return;
  }
  // value_float / value_floats have no float16 form: replace them by an equivalent value tensor.
  const values = a.name === 'value_float' ? [a.f] : [...a.floats];
  const dims = a.name === 'value_float' ? [] : [BigInt(values.length)];
  const bits = Uint16Array.from(values, toFloat16Bits);
  const t = create(TensorProtoSchema, { dims, dataType: F16, rawData: new Uint8Array(bits.buffer) });
  node.attribute[index] = create(AttributeProtoSchema, { name: 'value', type: AttributeProto_AttributeType.TENSOR, t });
}

function tensorValueInfo(name: string, elemType: number): ValueInfoProto {
  return create(ValueInfoProtoSchema, {
    name,
    type: create(TypeProtoSchema, { value: { case: 'tensorType', value: create(TypeProto_TensorSchema, { elemType }) } }),
  });
}

/** The rewrite's options, as validate() normalizes them. */
interface RewriteOptions {
  keepIoTypes: boolean;
  opTypes: ReadonlySet<string>;
  nodeNames: ReadonlySet<string>;
  outOfRange?: ReadonlySet<string>;
}

/**
 * A subgraph's read of a float32 value of an enclosing graph, at the type its consumer needs:
 * the subgraph reads `placeholder`, which the graph defining `name` renames to a value of that
 * type (the value itself, a converted initializer or a Cast placed outside the loop).
 */
interface OuterRead {
  name: string;
  type: number;
  placeholder: string;
}

/** What the rewrite of one graph needs from the model and from the graphs around it. */
interface Scope {
  opset: number;
  irVersion: number;
  unique: (base: string) => string;
  options: RewriteOptions;
  /** Element types, before the rewrite, of the values of the enclosing graphs. */
  outer: ReadonlyMap<string, number>;
  /** The enclosing graphs' values float16 cannot carry: their readers here stay float32 too. */
  outerOverflowing: ReadonlySet<string>;
  /**
   * Absent for the main graph. For a subgraph: the type its float inputs and outputs take,
   * which is its node's (the If's outputs, the Loop's carried values and scan outputs, Scan's
   * states and scanned values), and whether the whole of it stays float32 (a node kept in
   * float32 keeps its bodies so).
   */
  body?: { io: number; float32: boolean };
}

/** Operators whose bodies compute in float16 when the node does, by the rules of the main graph. */
const CONTROL_FLOW: ReadonlySet<string> = new Set(['If', 'Loop', 'Scan']);

function subgraphsOf(node: NodeProto): GraphProto[] {
  return node.attribute.flatMap((a) => [...(a.g ? [a.g] : []), ...a.graphs]);
}

/**
 * Rewrites one graph in place, then (depth first) the bodies of its nodes. Returns, per node,
 * whether it stayed float32, and the enclosing graphs' values the graph (or a body in it) reads
 * at a given type, for the graph that defines them to supply.
 */
function convertScope(graph: GraphProto, scope: Scope): { keep: boolean[]; outerReads: OuterRead[] } {
  const { opset, unique, options, body } = scope;
  const types = inferElemTypes(graph, scope.outer);
  const isFloat32 = (name: string) => name !== '' && types.get(name) === F32;

  const initializers = new Map(graph.initializer.filter((t) => t.dataType === F32).map((t) => [t.name, t]));
  const initializerNames = new Set(graph.initializer.map((t) => t.name));
  const realInputs = new Set(graph.input.map((i) => i.name).filter((n) => !initializerNames.has(n)));
  // Values this graph defines; any other value it reads is an enclosing graph's.
  const local = new Set([...realInputs, ...initializerNames]);
  for (const node of graph.node) for (const o of node.output) if (o) local.add(o);

  // Constants float16 cannot hold: their consumers stay float32, so the exact values reach them.
  // Activations measured beyond its range join them: their producers stay float32 as well.
  const overflowing = new Set<string>(body ? scope.outerOverflowing : options.outOfRange);
  for (const [name, t] of initializers) if (maxFiniteAbs(tensorToFloat32(t)) > FLOAT16_MAX) overflowing.add(name);
  for (const node of graph.node) {
    const values = constantValues(node);
    if (values && maxFiniteAbs(values) > FLOAT16_MAX) node.output.forEach((o) => overflowing.add(o));
  }

  const forLog = logArguments(graph);
  const keep = graph.node.map(
    (node) =>
      body?.float32 === true ||
      forLog.has(node) ||
      options.opTypes.has(node.opType) ||
      (node.name !== '' && options.nodeNames.has(node.name)) ||
      ALWAYS_FLOAT32.has(node.opType) ||
      (node.domain !== '' && node.domain !== 'ai.onnx') ||
      (!CONTROL_FLOW.has(node.opType) && subgraphsOf(node).length > 0) ||
      node.output.some((o) => overflowing.has(o)) ||
      node.input.some((name, j) => overflowing.has(name) && inputRole(node, j) === 'data'),
  );

  // The type float32 inputs and outputs take: the main graph's by keepIoTypes, a body's its node's.
  const io = body ? body.io : options.keepIoTypes ? F32 : F16;
  // The type each float32 value has after conversion, where its producer decides it.
  const produced = new Map<string, number>();
  for (const name of realInputs) if (isFloat32(name)) produced.set(name, io);
  graph.node.forEach((node, i) => node.output.forEach((o) => isFloat32(o) && produced.set(o, keep[i] ? F32 : F16)));

  // What each consumer needs: per node input, per graph output.
  const need = (node: NodeProto, i: number, j: number): number | undefined => {
    const role = inputRole(node, j);
    return role === 'any' ? undefined : role === 'float32' || keep[i] ? F32 : F16;
  };

  // Bodies first: what they read from this graph (or further out) joins the needs here.
  const reads = graph.node.map((node, i) =>
    subgraphsOf(node).flatMap(
      (g) => convertScope(g, { ...scope, outer: types, outerOverflowing: overflowing, body: { io: keep[i] ? F32 : F16, float32: keep[i]! } }).outerReads,
    ),
  );

  // Initializers are constants: give each consumer the precision it needs, converting in place
  // when all consumers want float16 and keeping a float32 original beside a float16 copy otherwise.
  const initializerFor = new Map<string, string>(); // "name|type" -> initializer name
  {
    const wants = new Map<string, Set<number>>();
    const want = (name: string, t: number | undefined) => {
      if (t === undefined || !initializers.has(name)) return;
      let set = wants.get(name);
      if (!set) wants.set(name, (set = new Set()));
      set.add(t);
    };
    graph.node.forEach((node, i) => {
      node.input.forEach((name, j) => want(name, need(node, i, j)));
      for (const r of reads[i]!) want(r.name, r.type);
    });
    for (const o of graph.output) want(o.name, io);
    for (const [name, set] of wants) {
      if (!set.has(F16) || overflowing.has(name)) continue;
      const tensor = initializers.get(name)!;
      if (!set.has(F32)) {
        tensorToFloat16(tensor);
        for (const input of graph.input) if (input.name === name) setElemType(input, F16);
        initializerFor.set(`${name}|${F16}`, name);
      } else {
        const values = tensorToFloat32(tensor);
        const copy = arrayToTensor(unique(`${name}_fp16`), 'float16', tensor.dims.map(Number), Uint16Array.from(values, toFloat16Bits));
        graph.initializer.push(copy);
        // IR versions before 4 require every initializer of the main graph to be listed among its inputs.
        if (!body && scope.irVersion < 4) graph.input.push(tensorValueInfo(copy.name, F16));
        initializerFor.set(`${name}|${F16}`, copy.name);
      }
    }
    for (const [name, tensor] of initializers) {
      produced.set(name, tensor.dataType);
      if (tensor.dataType === F32) initializerFor.set(`${name}|${F32}`, name);
    }
  }

  // Main graph outputs whose producer now yields the other type: the producer writes a renamed
  // internal value and a Cast restores the output's name and type. (A body's outputs are
  // positional: they are pointed at a value of the right type instead, below.)
  const internal = new Map<string, string>();
  for (const o of body ? [] : graph.output) {
    const p = produced.get(o.name);
    if (p !== undefined && p !== io && !initializers.has(o.name) && !realInputs.has(o.name)) internal.set(o.name, unique(`${o.name}_${p === F16 ? 'fp16' : 'fp32'}`));
  }
  const rename = (name: string) => internal.get(name) ?? name;

  // Casts, one per (value, type), placed right after the value's producer.
  const castsAfter = new Map<number, NodeProto[]>(); // producer node index (-1: graph inputs) -> casts
  const producerIndex = new Map<string, number>();
  graph.node.forEach((node, i) => node.output.forEach((o) => producerIndex.set(o, i)));
  const castOf = new Map<string, string>();
  const cast = (name: string, to: number): string => {
    const key = `${name}|${to}`;
    let out = castOf.get(key);
    if (out === undefined) {
      const suffix = to === F16 ? 'fp16' : 'fp32';
      out = unique(`${name}_to_${suffix}`);
      const at = producerIndex.get(name) ?? -1;
      if (!castsAfter.has(at)) castsAfter.set(at, []);
      castsAfter.get(at)!.push(castNode(unique(`Cast_${name}_to_${suffix}`), rename(name), out, to, opset));
      castOf.set(key, out);
    }
    return out;
  };
  // Enclosing graphs' values, one placeholder per (value, type).
  const outerReads = new Map<string, OuterRead>();
  const readOuter = (name: string, type: number): string => {
    const key = `${name}|${type}`;
    let read = outerReads.get(key);
    if (!read) outerReads.set(key, (read = { name, type, placeholder: unique(`${name}_${type === F16 ? 'fp16' : 'fp32'}_outer`) }));
    return read.placeholder;
  };
  const supply = (name: string, t: number | undefined): string => {
    if (t === undefined || !isFloat32(name)) return rename(name);
    if (!local.has(name)) return readOuter(name, t);
    const init = initializerFor.get(`${name}|${t}`);
    if (init !== undefined) return init;
    return produced.get(name) === t || produced.get(name) === undefined ? rename(name) : cast(name, t);
  };

  graph.node.forEach((node, i) => {
    node.input = node.input.map((name, j) => (name ? supply(name, need(node, i, j)) : name));
    for (const r of reads[i]!) renameInSubgraphs(node, r.placeholder, supply(r.name, r.type));
    if (!keep[i] && node.output.some(isFloat32)) {
      if (node.opType === 'Constant' || node.opType === 'ConstantOfShape') convertConstantAttribute(node);
      if (node.opType === 'Cast') {
        const to = node.attribute.find((a) => a.name === 'to');
        if (to && to.type === AttributeProto_AttributeType.INT && Number(to.i) === F32) to.i = BigInt(F16);
      }
    }
    node.output = node.output.map(rename);
  });
  for (const [name, renamed] of internal) {
    const at = producerIndex.get(name) ?? -1;
    if (!castsAfter.has(at)) castsAfter.set(at, []);
    castsAfter.get(at)!.push(castNode(unique(`Cast_${name}_to_${io === F16 ? 'fp16' : 'fp32'}`), renamed, name, io, opset));
  }
  // Declared types follow the values.
  for (const output of graph.output) {
    if (!isFloat32(output.name)) continue;
    if (body) output.name = supply(output.name, io);
    setElemType(output, io);
  }
  const nodes: NodeProto[] = [...(castsAfter.get(-1) ?? [])];
  graph.node.forEach((node, i) => nodes.push(node, ...(castsAfter.get(i) ?? [])));
  graph.node = nodes;

  for (const input of graph.input) if (realInputs.has(input.name) && isFloat32(input.name)) setElemType(input, produced.get(input.name)!);
  for (const info of graph.valueInfo) {
    if (!isFloat32(info.name) || !local.has(info.name)) continue;
    setElemType(info, produced.get(info.name) ?? F32);
    info.name = rename(info.name);
  }
  return { keep, outerReads: [...outerReads.values()] };
}

/**
 * The rewrite behind convertToFloat16 (convert-float16.ts), on a parsed model whose external
 * data is loaded: changes the model in place, the bodies of If, Loop and Scan included (by the
 * same rules; a body computes in float16 when its node does, a node kept in float32 keeps its
 * bodies so, and values a body reads from outside get Casts outside it). Exported for passes
 * that compose it (INT8's optional float16 remainder). `outOfRange` names main-graph
 * activations measured beyond float16's range: their producers and data readers stay float32.
 * Returns, per node of the main graph as it was, whether it stayed float32.
 * Throws InvalidArgumentError when a float32 tensor's data is malformed or still external.
 */
export function convertGraphToFloat16(model: ModelProto, options: RewriteOptions): boolean[] {
  const graph = model.graph!;
  return convertScope(graph, { opset: defaultOpset(model), irVersion: Number(model.irVersion), unique: nameAllocator(graph), options, outer: new Map(), outerOverflowing: new Set() }).keep;
}

/**
 * Fresh names for values and nodes a rewrite adds: `base`, else `base_1`, `base_2`...; never a
 * name any graph of the model (bodies included) uses, since a body may read any outer name.
 */
export function nameAllocator(graph: GraphProto): (base: string) => string {
  const taken = new Set<string>();
  forEachGraph(graph, (g) => {
    for (const v of [...g.input, ...g.output, ...g.valueInfo]) taken.add(v.name);
    for (const t of g.initializer) taken.add(t.name);
    for (const n of g.node) [...n.input, ...n.output, n.name].forEach((x) => taken.add(x));
  });
  return (base: string) => {
    let name = base;
    for (let k = 1; taken.has(name); k++) name = `${base}_${k}`;
    taken.add(name);
    return name;
  };
}

/** The model's version of the default ONNX domain (1 when it imports none). */
export function defaultOpset(model: ModelProto): number {
  return Number(model.opsetImport.find((o) => o.domain === '' || o.domain === 'ai.onnx')?.version ?? 1n);
}

/**
 * convertToFloat16 without an accuracy target (see convert-float16.ts): the activation check on
 * the given data, then the rewrite. `checkActivations: false` is for a caller that checked them
 * already and blocked what the check found (no check, no warning).
 */
export async function convertModelToFloat16(model: Uint8Array | ArrayBufferLike | string, options: Float16Options = {}, checkActivations = true): Promise<Uint8Array> {
  const o = validate(options);
  const loaded = await readModel(model, { loadExternalData: true, ...(o.baseDir !== undefined ? { baseDir: o.baseDir } : {}) });
  const logger = o.logger ?? getDefaultLogger();
  const data = checkActivations ? (o.calibrationData ?? o.validationData) : undefined;
  let outOfRange: OutOfRangeActivation[] = [];
  if (!checkActivations) {
    // The caller checked.
  } else if (data === undefined) {
    logger.log('warning', 'convertToFloat16: activation ranges were not checked (no calibrationData or validationData); values beyond float16 range (|x| > 65504) would become Inf or NaN');
  } else {
    const shapes = typeof o.shapes === 'string' ? parseShapeSpec(o.shapes) : o.shapes;
    outOfRange = await findOutOfRangeActivations(loaded.model, data, { backend: o.backend ?? 'auto', shapes });
    const withBodies = loaded.model.graph!.node.filter((n) => CONTROL_FLOW.has(n.opType)).map((n) => `${n.opType} '${n.name || '(unnamed)'}'`);
    if (withBodies.length > 0) {
      logger.log('warning', `convertToFloat16: activations inside the bodies of ${withBodies.join(', ')} were not checked (only the main graph's values are measured); give the node in blockList to keep its body float32`);
    }
  }
  const graph = loaded.model.graph!;
  const forLog = logArguments(graph);
  if (forLog.size > 0) {
    const labels = graph.node.flatMap((node, i) => (forLog.has(node) ? [`${node.opType} '${nodeLabel(loaded.model, i)}'`] : []));
    logger.log('info', `convertToFloat16: ${labels.length} nodes kept in float32 because a Log reads what they compute (float16 loses small arguments, which the log turns into whole units of error): ${labels.join(', ')}`);
  }
  const beyond = new Set(outOfRange.filter((a) => a.maxAbs > FLOAT16_MAX).map((a) => a.tensor));
  // The nodes producing or reading those values, labelled before the rewrite renames their values.
  const touching = loaded.model.graph!.node.map((node, i) => (node.output.some((x) => beyond.has(x)) || node.input.some((x) => beyond.has(x)) ? nodeLabel(loaded.model, i) : undefined));
  const keep = convertGraphToFloat16(loaded.model, { ...o, outOfRange: beyond });
  const keptFloat32 = touching.filter((label, i): label is string => label !== undefined && keep[i]!);
  for (const a of outOfRange) {
    const what = a.maxAbs > FLOAT16_MAX ? `reaches |x| = ${a.maxAbs.toPrecision(4)} > 65504 on the data: kept in float32 with its readers` : 'is already NaN/Inf in float32';
    logger.log('warning', `convertToFloat16: ${a.opType} node '${a.node}' output '${a.tensor}' ${what}${a.nonFinite > 0 ? ` (${a.nonFinite} NaN/Inf values in float32)` : ''}`);
  }
  if (checkActivations) o.onReport?.({ activationsChecked: data !== undefined, outOfRange, keptFloat32 });
  if (o.outputPath === undefined) return writeModel(loaded.model);
  const externalDataPath = o.externalDataPath ?? (loaded.hadExternalData ? `${basename(o.outputPath)}.data` : undefined);
  return writeModel(loaded.model, { path: o.outputPath, ...(externalDataPath !== undefined ? { externalDataPath } : {}) });
}
