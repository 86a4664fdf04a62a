/**
 * FP16 by rewriting the model: float32 weights and
 * activations become float16, which TensorRT 11's strongly typed networks (and TensorRT 10
 * without builder flags) then run in half precision. Graph inputs and outputs stay float32 by
 * default, with Cast nodes at the edges; nodes that must or should stay float32 (a block list,
 * operators without float16 kernels or whose float inputs are parameters rather than data,
 * and consumers of constants that float16 cannot represent) are wrapped in Casts instead.
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
 * EyeLike, windows), quantization scales, and control flow and sequences, whose bodies this pass
 * does not rewrite.
 */
const ALWAYS_FLOAT32: ReadonlySet<string> = new Set([
  'Range', 'Celu', 'NonMaxSuppression', 'DynamicQuantizeLinear', 'QuantizeLinear', 'DequantizeLinear', 'QLinearConv',
  'QLinearMatMul', 'MatMulInteger', 'ConvInteger', 'RandomNormal', 'RandomUniform', 'RandomNormalLike', 'RandomUniformLike',
  'Multinomial', 'Bernoulli', 'EyeLike', 'BlackmanWindow', 'HannWindow', 'HammingWindow', 'MelWeightMatrix', 'STFT',
  'TfIdfVectorizer', 'If', 'Loop', 'Scan', 'SequenceConstruct', 'SequenceInsert', 'SequenceAt', 'SequenceErase',
  'SequenceLength', 'SplitToSequence', 'ConcatFromSequence', 'SequenceEmpty', 'SequenceMap', 'Optional',
  'OptionalGetElement', 'OptionalHasElement',
]);

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

/** Names an outer graph's values that `graph` (or graphs nested in it) reads without defining them. */
function outerReferences(graph: GraphProto, into: Set<string>): Set<string> {
  const defined = new Set<string>([...graph.input.map((i) => i.name), ...graph.initializer.map((i) => i.name)]);
  for (const node of graph.node) node.output.forEach((o) => defined.add(o));
  for (const node of graph.node) {
    for (const name of node.input) if (name && !defined.has(name)) into.add(name);
    for (const attr of node.attribute) {
      for (const g of [...(attr.g ? [attr.g] : []), ...attr.graphs]) {
        for (const name of outerReferences(g, new Set())) if (!defined.has(name)) into.add(name);
      }
    }
  }
  return into;
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

function castNode(name: string, input: string, output: string, to: number, opset: number): NodeProto {
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

/**
 * The rewrite behind convertToFloat16 (convert-float16.ts), on a parsed model whose external
 * data is loaded: changes the main graph in place (its subgraphs only where they read outer values, which get
 * float32 Casts). Exported for passes that compose it (INT8's optional float16 remainder).
 * `outOfRange` names activations measured beyond float16's range: their producers and data
 * readers stay float32. Returns, per node of the graph as it was, whether it stayed float32.
 * Throws InvalidArgumentError when a float32 tensor's data is malformed or still external.
 */
export function convertGraphToFloat16(
  model: ModelProto,
  options: { keepIoTypes: boolean; opTypes: ReadonlySet<string>; nodeNames: ReadonlySet<string>; outOfRange?: ReadonlySet<string> },
): boolean[] {
  const graph = model.graph!;
  const opset = Number(model.opsetImport.find((o) => o.domain === '' || o.domain === 'ai.onnx')?.version ?? 1n);
  const types = inferElemTypes(graph);
  const isFloat32 = (name: string) => name !== '' && types.get(name) === F32;

  const taken = new Set<string>();
  forEachGraph(graph, (g) => {
    for (const v of [...g.input, ...g.output, ...g.valueInfo]) taken.add(v.name);
    for (const t of g.initializer) taken.add(t.name);
    for (const n of g.node) [...n.input, ...n.output, n.name].forEach((x) => taken.add(x));
  });
  const unique = (base: string) => {
    let name = base;
    for (let k = 1; taken.has(name); k++) name = `${base}_${k}`;
    taken.add(name);
    return name;
  };

  const initializers = new Map(graph.initializer.filter((t) => t.dataType === F32).map((t) => [t.name, t]));
  const realInputs = new Set(graph.input.map((i) => i.name).filter((n) => !initializers.has(n) && !graph.initializer.some((t) => t.name === n)));

  // Constants float16 cannot hold: their consumers stay float32, so the exact values reach them.
  // Activations measured beyond its range join them: their producers stay float32 as well.
  const overflowing = new Set<string>(options.outOfRange);
  for (const [name, t] of initializers) if (maxFiniteAbs(tensorToFloat32(t)) > FLOAT16_MAX) overflowing.add(name);
  for (const node of graph.node) {
    const values = constantValues(node);
    if (values && maxFiniteAbs(values) > FLOAT16_MAX) node.output.forEach((o) => overflowing.add(o));
  }

  const hasSubgraph = (node: NodeProto) => node.attribute.some((a) => a.g || a.graphs.length > 0);
  const keep = graph.node.map((node) =>
    options.opTypes.has(node.opType) ||
    (node.name !== '' && options.nodeNames.has(node.name)) ||
    ALWAYS_FLOAT32.has(node.opType) ||
    (node.domain !== '' && node.domain !== 'ai.onnx') ||
    hasSubgraph(node) ||
    node.output.some((o) => overflowing.has(o)) ||
    node.input.some((name, j) => overflowing.has(name) && inputRole(node, j) === 'data'),
  );

  // The type each float32 value has after conversion, where its producer decides it.
  const produced = new Map<string, number>();
  for (const name of realInputs) if (isFloat32(name)) produced.set(name, options.keepIoTypes ? F32 : F16);
  graph.node.forEach((node, i) => node.output.forEach((o) => isFloat32(o) && produced.set(o, keep[i] ? F32 : F16)));

  // What each consumer needs: per node input, per subgraph outer reference, per graph output.
  const need = (node: NodeProto, i: number, j: number): number | undefined => {
    const role = inputRole(node, j);
    return role === 'any' ? undefined : role === 'float32' || keep[i] ? F32 : F16;
  };
  const outputNeed = options.keepIoTypes ? F32 : F16;
  const implicit = graph.node.map((node) => {
    const names = new Set<string>();
    for (const attr of node.attribute) for (const g of [...(attr.g ? [attr.g] : []), ...attr.graphs]) outerReferences(g, names);
    return [...names].filter(isFloat32);
  });

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
      implicit[i]!.forEach((name) => want(name, F32));
    });
    for (const o of graph.output) want(o.name, outputNeed);
    const irVersion = Number(model.irVersion);
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
        // IR versions before 4 require every initializer to be listed among the graph inputs.
        if (irVersion < 4) graph.input.push(tensorValueInfo(copy.name, F16));
        initializerFor.set(`${name}|${F16}`, copy.name);
      }
    }
    for (const [name, tensor] of initializers) {
      produced.set(name, tensor.dataType);
      if (tensor.dataType === F32) initializerFor.set(`${name}|${F32}`, name);
    }
  }

  // Graph outputs whose producer now yields the other type: the producer writes a renamed
  // internal value and a Cast restores the output's name and type.
  const internal = new Map<string, string>();
  for (const o of graph.output) {
    const p = produced.get(o.name);
    if (p !== undefined && p !== outputNeed && !initializers.has(o.name) && !realInputs.has(o.name)) internal.set(o.name, unique(`${o.name}_${p === F16 ? 'fp16' : 'fp32'}`));
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
  const supply = (name: string, t: number | undefined): string => {
    if (t === undefined || !isFloat32(name)) return rename(name);
    const init = initializerFor.get(`${name}|${t}`);
    if (init !== undefined) return init;
    return produced.get(name) === t || produced.get(name) === undefined ? rename(name) : cast(name, t);
  };

  graph.node.forEach((node, i) => {
    node.input = node.input.map((name, j) => (name ? supply(name, need(node, i, j)) : name));
    for (const name of implicit[i]!) {
      const source = supply(name, F32);
      if (source !== name) renameInSubgraphs(node, name, source);
    }
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
    castsAfter.get(at)!.push(castNode(unique(`Cast_${name}_to_${outputNeed === F16 ? 'fp16' : 'fp32'}`), renamed, name, outputNeed, opset));
  }
  const nodes: NodeProto[] = [...(castsAfter.get(-1) ?? [])];
  graph.node.forEach((node, i) => nodes.push(node, ...(castsAfter.get(i) ?? [])));
  graph.node = nodes;

  // Declared types follow the values.
  for (const input of graph.input) if (realInputs.has(input.name) && isFloat32(input.name)) setElemType(input, produced.get(input.name)!);
  for (const output of graph.output) if (isFloat32(output.name)) setElemType(output, outputNeed);
  for (const info of graph.valueInfo) {
    if (!isFloat32(info.name)) continue;
    setElemType(info, produced.get(info.name) ?? F32);
    info.name = rename(info.name);
  }
  return keep;
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
