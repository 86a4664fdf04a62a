/**
 * The way back from float16: a model that computes in float16 (float16 weights, Casts to
 * float16 behind its inputs) rewritten to compute the same graph in float32. INT8 needs it:
 * opset-13 QuantizeLinear takes float32 only, so the Q/DQ of quantizeInt8 cannot sit on a
 * float16 activation, and a float16 network would otherwise keep every layer in float.
 *
 * Widening is exact (every float16 value is a float32 value), so the float32 model computes
 * what the float16 one does, less the float16 roundings between operators. The rules, the same
 * in the main graph and in If/Loop/Scan bodies: float16 initializers and Constant /
 * ConstantOfShape values become float32; attributes that name an output type (Cast's `to`,
 * the `dtype` of Random* and EyeLike, the windows' `output_datatype`) say float32 instead of
 * float16; declared types (value_info, a body's inputs and outputs, TypeProto attributes)
 * follow. A CastLike follows its target, which is widened. The exception is the main graph's
 * float16 inputs and outputs: the caller feeds and reads float16 there as before, and a Cast
 * at each such edge goes between them and the float32 computation.
 */
import {
  AttributeProto_AttributeType,
  TensorProto_DataType,
  type GraphProto,
  type ModelProto,
  type NodeProto,
  type SparseTensorProto,
  type TensorProto,
  type TypeProto,
  type ValueInfoProto,
} from 'onnx-buf';

import { float16ToFloat32 } from '../dtype.js';
import { setTensorData, tensorToArray } from '../onnx/tensor-data.js';
import { inferElemTypes, valueInfoElemType } from '../onnx/value-types.js';
import { forEachGraph } from '../onnx/walk.js';
import { castNode, defaultOpset, nameAllocator } from './float16.js';

const F32 = TensorProto_DataType.FLOAT;
const F16 = TensorProto_DataType.FLOAT16;

/** The attribute that names an operator's output element type, for the operators that have one. */
const TYPE_ATTRIBUTES: Readonly<Record<string, string>> = {
  Cast: 'to',
  EyeLike: 'dtype',
  RandomNormal: 'dtype',
  RandomUniform: 'dtype',
  RandomNormalLike: 'dtype',
  RandomUniformLike: 'dtype',
  Bernoulli: 'dtype',
  SequenceEmpty: 'dtype',
  HannWindow: 'output_datatype',
  HammingWindow: 'output_datatype',
  BlackmanWindow: 'output_datatype',
  MelWeightMatrix: 'output_datatype',
};

/** What widenFloat16 changed, counted over the main graph and every body. */
export interface WidenSummary {
  /** Float16 initializers (sparse ones included) now float32. */
  initializers: number;
  /** Float16 tensors in node attributes (Constant, ConstantOfShape values) now float32. */
  constants: number;
  /** Type attributes (Cast `to`, `dtype`...) that named float16 and now name float32. */
  typeAttributes: number;
  /** Declared types (value_info, body inputs and outputs, TypeProto attributes) now float32. */
  declaredTypes: number;
  /** Casts added at the main graph's float16 inputs and outputs. */
  edgeCasts: number;
  /** Casts added around nodes of other domains, which keep reading and writing float16. */
  foreignCasts: number;
}

function isDefaultDomain(node: NodeProto): boolean {
  return node.domain === '' || node.domain === 'ai.onnx';
}

/** Float16 tensor data as float32, in place; false when the tensor is not float16. */
function widenTensor(tensor: TensorProto): boolean {
  if (tensor.dataType !== F16) return false;
  setTensorData(tensor, 'float32', float16ToFloat32(tensorToArray(tensor).data as Uint16Array));
  return true;
}

function widenSparse(sparse: SparseTensorProto): boolean {
  return sparse.values !== undefined && widenTensor(sparse.values);
}

/** Float16 element types anywhere in a type (a tensor, a sequence or optional of them, a map's values) become float32. */
function widenType(type: TypeProto | undefined): boolean {
  const v = type?.value;
  switch (v?.case) {
    case 'tensorType':
    case 'sparseTensorType':
      if (v.value.elemType !== F16) return false;
      v.value.elemType = F32;
      return true;
    case 'sequenceType':
    case 'optionalType':
      return widenType(v.value.elemType);
    case 'mapType':
      return widenType(v.value.valueType);
    default:
      return false;
  }
}

/** A node's type attribute (and any tensor or type it holds) retargeted from float16 to float32. */
function widenNode(node: NodeProto, summary: WidenSummary): void {
  // Other domains' attributes mean what their operators say; nothing general can be told.
  if (!isDefaultDomain(node)) return;
  const typeAttribute = TYPE_ATTRIBUTES[node.opType];
  for (const a of node.attribute) {
    if (a.name === typeAttribute) {
      if (a.type === AttributeProto_AttributeType.INT && Number(a.i) === F16) {
        a.i = BigInt(F32);
        summary.typeAttributes++;
      } else if (a.type === AttributeProto_AttributeType.STRING && new TextDecoder().decode(a.s) === 'FLOAT16') {
        // Cast-1 (before opset 6) names its target type as a string.
        a.s = new TextEncoder().encode('FLOAT');
        summary.typeAttributes++;
      }
    }
    for (const t of [...(a.t ? [a.t] : []), ...a.tensors]) if (widenTensor(t)) summary.constants++;
    for (const s of [...(a.sparseTensor ? [a.sparseTensor] : []), ...a.sparseTensors]) if (widenSparse(s)) summary.constants++;
    for (const tp of [...(a.tp ? [a.tp] : []), ...a.typeProtos]) if (widenType(tp)) summary.declaredTypes++;
  }
}

/**
 * Nodes of other domains (TensorRT plugins, onnxruntime's contrib ops) keep their float16
 * inputs and outputs, which their kernels may be the only ones to take: each float16 input
 * is read through a Cast to float16, and each output known to be float16 (by value_info) is
 * written under a new name and Cast to float32 under its own. In `graph` and in its bodies,
 * with `outer` the types of the enclosing graphs' values, before any other change.
 */
function keepForeignNodes(graph: GraphProto, outer: ReadonlyMap<string, number>, unique: (base: string) => string, opset: number, casts: Set<NodeProto>): void {
  const types = inferElemTypes(graph, outer);
  const nodes: NodeProto[] = [];
  for (const node of graph.node) {
    for (const g of node.attribute.flatMap((a) => [...(a.g ? [a.g] : []), ...a.graphs])) keepForeignNodes(g, types, unique, opset, casts);
    if (isDefaultDomain(node)) {
      nodes.push(node);
      continue;
    }
    const after: NodeProto[] = [];
    node.input = node.input.map((name) => {
      if (!name || types.get(name) !== F16) return name;
      const half = unique(`${name}_fp16`);
      const cast = castNode(unique(`Cast_${name}_to_fp16`), name, half, F16, opset);
      nodes.push(cast);
      casts.add(cast);
      return half;
    });
    node.output = node.output.map((name) => {
      if (!name || types.get(name) !== F16) return name;
      const half = unique(`${name}_fp16`);
      const cast = castNode(unique(`Cast_${name}_to_fp32`), half, name, F32, opset);
      after.push(cast);
      casts.add(cast);
      return half;
    });
    nodes.push(node, ...after);
  }
  graph.node = nodes;
}

/** Whether a graph input or output holds a float16 tensor (declared, or as the graph computes it). */
function isFloat16Tensor(info: ValueInfoProto, types: ReadonlyMap<string, number>): boolean {
  const declared = valueInfoElemType(info);
  return info.type?.value.case === 'tensorType' && (declared ?? types.get(info.name)) === F16;
}

/**
 * Widens a float16 model to float32 in place, bodies included (see the module comment).
 * Float16 graph inputs and outputs of the main graph keep their type: each input gets a Cast
 * to float32 that every reader (in the main graph and in bodies) reads instead, and each
 * output's producer writes a renamed float32 value that a Cast turns back into the float16
 * output. An initializer listed among the inputs (IR < 4, or an overridable constant) is a
 * weight: it is widened with its declaration. Nodes of other domains keep their float16
 * inputs and outputs, behind Casts (keepForeignNodes).
 * Throws InvalidArgumentError for a float16 tensor whose data is malformed or still external.
 */
export function widenFloat16(model: ModelProto): WidenSummary {
  const graph = model.graph!;
  const summary: WidenSummary = { initializers: 0, constants: 0, typeAttributes: 0, declaredTypes: 0, edgeCasts: 0, foreignCasts: 0 };
  const unique = nameAllocator(graph);
  const opset = defaultOpset(model);
  // The widening leaves those Casts as they are (a Cast to float16 is what they are for).
  const foreignCasts = new Set<NodeProto>();
  keepForeignNodes(graph, new Map(), unique, opset, foreignCasts);
  const types = inferElemTypes(graph);
  const initializerNames = new Set(graph.initializer.map((t) => t.name));
  const edgeInputs = graph.input.filter((i) => !initializerNames.has(i.name) && isFloat16Tensor(i, types));
  const realInputs = new Set(graph.input.filter((i) => !initializerNames.has(i.name)).map((i) => i.name));
  // An output that is also an input reads the float16 input as it is, without any Cast.
  const edgeOutputs = graph.output.filter((o) => !realInputs.has(o.name) && isFloat16Tensor(o, types));
  const edges = new Set([...edgeInputs, ...edgeOutputs].map((v) => v.name));

  // Readers of an edge value read its float32 counterpart: the Cast behind an input, the
  // renamed producer's value for an output.
  const reads = new Map<string, string>();
  for (const i of edgeInputs) reads.set(i.name, unique(`${i.name}_fp32`));
  const defines = new Map<string, string>();
  for (const o of edgeOutputs) {
    if (defines.has(o.name)) continue;
    const wide = unique(`${o.name}_fp32`);
    defines.set(o.name, wide);
    reads.set(o.name, wide);
  }
  forEachGraph(graph, (g) => {
    for (const n of g.node) n.input = n.input.map((x) => reads.get(x) ?? x);
    // A body output may be an outer value itself; the main graph's outputs keep their names.
    if (g !== graph) for (const o of g.output) o.name = reads.get(o.name) ?? o.name;
  });
  for (const n of graph.node) n.output = n.output.map((x) => defines.get(x) ?? x);
  for (const t of graph.initializer) t.name = defines.get(t.name) ?? t.name;
  for (const i of graph.input) if (initializerNames.has(i.name)) i.name = defines.get(i.name) ?? i.name;
  for (const v of graph.valueInfo) v.name = defines.get(v.name) ?? v.name;

  forEachGraph(graph, (g) => {
    for (const t of g.initializer) if (widenTensor(t)) summary.initializers++;
    for (const s of g.sparseInitializer) if (widenSparse(s)) summary.initializers++;
    for (const n of g.node) {
      if (foreignCasts.has(n)) summary.foreignCasts++;
      else widenNode(n, summary);
    }
    // The main graph's edges keep float16. Its other float16 inputs and outputs are weights
    // listed as inputs, or sequences and maps, which no Cast could keep so: they widen.
    const main = g === graph;
    for (const v of [...g.valueInfo, ...g.input, ...g.output]) if (!(main && edges.has(v.name)) && widenType(v.type)) summary.declaredTypes++;
  });

  const front = edgeInputs.map((i) => castNode(unique(`Cast_${i.name}_to_fp32`), i.name, reads.get(i.name)!, F32, opset));
  const back = [...defines].map(([name, wide]) => castNode(unique(`Cast_${name}_to_fp16`), wide, name, F16, opset));
  graph.node = [...front, ...graph.node, ...back];
  summary.edgeCasts = front.length + back.length;
  return summary;
}
