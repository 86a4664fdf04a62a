/**
 * Replaces each main-graph If whose condition is known when the model is built by the nodes of
 * the branch it takes. TensorRT's ONNX parser does the same (it imports only the taken branch
 * of such an If), so a pass that works on main-graph nodes alone (INT8's Q/DQ placement) sees
 * the layers TensorRT will build, not an opaque If around them. silero VAD, with its sample
 * rate fixed, is the case in point: all of its layers sit in the branch of `If(sr == 16000)`.
 *
 * The condition counts as constant only when it follows from initializers (not also graph
 * inputs, which a caller may override) and Constant nodes through a few operators on
 * one-element tensors: comparisons, logic, Cast, Identity and reshapes. Anything else leaves
 * the If as it is.
 */
import { create } from '@bufbuild/protobuf';
import {
  AttributeProto_AttributeType,
  NodeProtoSchema,
  TensorProto_DataType,
  ValueInfoProtoSchema,
  type GraphProto,
  type ModelProto,
  type NodeProto,
  type TensorProto,
} from 'onnx-buf';

import { NameSource } from './opset/graph-edit.js';
import { tensorToArray } from './tensor-data.js';

const T = TensorProto_DataType;
const A = AttributeProto_AttributeType;

/** One If replaced by its branch. */
export interface InlinedIf {
  /** The If node's name (empty when it had none). */
  node: string;
  /** The value its condition read. */
  condition: string;
  /** Which branch it took. */
  branch: 'then_branch' | 'else_branch';
  /** How many nodes that branch put in the graph (Identity nodes for its outputs included). */
  nodes: number;
}

/** A one-element tensor's value: integers as bigint, floats as number, bool as 0 or 1 (number). */
interface Scalar {
  type: number;
  value: number | bigint;
}

const INTEGER_RANGES = new Map<number, [bigint, bigint]>([
  [T.INT8, [-(2n ** 7n), 2n ** 7n - 1n]],
  [T.UINT8, [0n, 2n ** 8n - 1n]],
  [T.INT16, [-(2n ** 15n), 2n ** 15n - 1n]],
  [T.UINT16, [0n, 2n ** 16n - 1n]],
  [T.INT32, [-(2n ** 31n), 2n ** 31n - 1n]],
  [T.UINT32, [0n, 2n ** 32n - 1n]],
  [T.INT64, [-(2n ** 63n), 2n ** 63n - 1n]],
  [T.UINT64, [0n, 2n ** 64n - 1n]],
]);

/** The value of a one-element tensor of a type this pass reasons about; undefined otherwise. */
function scalarOf(tensor: TensorProto): Scalar | undefined {
  if (tensor.dims.reduce((a, d) => a * Number(d), 1) !== 1) return undefined;
  if (![T.FLOAT, T.INT8, T.UINT8, T.INT32, T.INT64, T.BOOL].includes(tensor.dataType)) return undefined;
  try {
    const { data } = tensorToArray(tensor);
    const v = data[0]!;
    if (tensor.dataType === T.FLOAT) return { type: T.FLOAT, value: Number(v) };
    if (tensor.dataType === T.BOOL) return { type: T.BOOL, value: Number(v) !== 0 ? 1 : 0 };
    return { type: tensor.dataType, value: BigInt(v) };
  } catch {
    // External data not loaded, malformed data: not something to decide a branch on.
    return undefined;
  }
}

/** A Constant node's value when it is one element of a supported type. */
function constantValue(node: NodeProto): Scalar | undefined {
  const a = node.attribute[0];
  if (!a || node.attribute.length !== 1) return undefined;
  if (a.name === 'value' && a.t) return scalarOf(a.t);
  if (a.name === 'value_int') return { type: T.INT64, value: a.i };
  if (a.name === 'value_ints' && a.ints.length === 1) return { type: T.INT64, value: a.ints[0]! };
  if (a.name === 'value_float') return { type: T.FLOAT, value: a.f };
  if (a.name === 'value_floats' && a.floats.length === 1) return { type: T.FLOAT, value: a.floats[0]! };
  return undefined;
}

function compare(op: string, a: Scalar, b: Scalar): Scalar | undefined {
  // ONNX requires both sides of one type; a model that breaks that is not decided here.
  if (a.type !== b.type || typeof a.value !== typeof b.value) return undefined;
  if (op !== 'Equal' && a.type === T.BOOL) return undefined;
  const x = a.value;
  const y = b.value;
  const result = op === 'Equal' ? x === y : op === 'Greater' ? x > y : op === 'Less' ? x < y : op === 'GreaterOrEqual' ? x >= y : x <= y;
  return { type: T.BOOL, value: result ? 1 : 0 };
}

function logic(op: string, a: Scalar, b: Scalar): Scalar | undefined {
  if (a.type !== T.BOOL || b.type !== T.BOOL) return undefined;
  const x = a.value === 1;
  const y = b.value === 1;
  const result = op === 'And' ? x && y : op === 'Or' ? x || y : x !== y;
  return { type: T.BOOL, value: result ? 1 : 0 };
}

function cast(node: NodeProto, x: Scalar): Scalar | undefined {
  const to = node.attribute.find((a) => a.name === 'to');
  // Cast before opset 6 names the type as a string; not worth decoding for this.
  if (!to || to.type !== A.INT) return undefined;
  const type = Number(to.i);
  if (type === T.BOOL) return { type, value: x.value === 0 || x.value === 0n ? 0 : 1 };
  if (type === T.FLOAT) return { type, value: Math.fround(Number(x.value)) };
  const range = INTEGER_RANGES.get(type);
  if (!range) return undefined;
  let value: bigint;
  if (typeof x.value === 'bigint') value = x.value;
  else if (x.type === T.BOOL) value = BigInt(x.value);
  else if (Number.isFinite(x.value)) value = BigInt(Math.trunc(x.value));
  else return undefined;
  // Out of range the result depends on the implementation: not a constant to build on.
  return value < range[0] || value > range[1] ? undefined : { type, value };
}

const COMPARISONS = new Set(['Equal', 'Greater', 'Less', 'GreaterOrEqual', 'LessOrEqual']);
const LOGIC = new Set(['And', 'Or', 'Xor']);
const PASS_THROUGH = new Set(['Identity', 'Squeeze', 'Unsqueeze', 'Reshape']);

/** The one-element values of `graph` that follow from its constants through the operators above. */
function constantScalars(graph: GraphProto): Map<string, Scalar> {
  const inputs = new Set(graph.input.map((i) => i.name));
  const known = new Map<string, Scalar>();
  for (const t of graph.initializer) {
    if (inputs.has(t.name)) continue;
    const s = scalarOf(t);
    if (s) known.set(t.name, s);
  }
  for (const node of graph.node) {
    if ((node.domain !== '' && node.domain !== 'ai.onnx') || node.output.length !== 1 || !node.output[0]) continue;
    const arg = (i: number) => (node.input[i] ? known.get(node.input[i]!) : undefined);
    let out: Scalar | undefined;
    if (node.opType === 'Constant') out = constantValue(node);
    else if (COMPARISONS.has(node.opType) && node.input.length === 2) out = arg(0) && arg(1) && compare(node.opType, arg(0)!, arg(1)!);
    else if (LOGIC.has(node.opType) && node.input.length === 2) out = arg(0) && arg(1) && logic(node.opType, arg(0)!, arg(1)!);
    else if (node.opType === 'Not') out = arg(0)?.type === T.BOOL ? { type: T.BOOL, value: arg(0)!.value === 1 ? 0 : 1 } : undefined;
    else if (node.opType === 'Cast') out = arg(0) && cast(node, arg(0)!);
    // A one-element tensor reshaped (to any shape a valid model can ask for) keeps its one value.
    else if (PASS_THROUGH.has(node.opType)) out = arg(0);
    if (out) known.set(node.output[0], out);
  }
  return known;
}

function branchOf(node: NodeProto, name: 'then_branch' | 'else_branch'): GraphProto | undefined {
  return node.attribute.find((a) => a.name === name)?.g;
}

/** The first main-graph If whose condition is constant (and whose branches are there), with the branch it takes. */
function findConstantIf(graph: GraphProto): { index: number; branch: 'then_branch' | 'else_branch' } | undefined {
  let known: Map<string, Scalar> | undefined;
  for (let index = 0; index < graph.node.length; index++) {
    const node = graph.node[index]!;
    if (node.opType !== 'If' || (node.domain !== '' && node.domain !== 'ai.onnx') || !node.input[0]) continue;
    known ??= constantScalars(graph);
    const condition = known.get(node.input[0]);
    if (condition?.type !== T.BOOL) continue;
    const branch = condition.value === 1 ? 'then_branch' : 'else_branch';
    const g = branchOf(node, branch);
    if (g && g.output.length === node.output.length) return { index, branch };
  }
  return undefined;
}

/** Every value name and node name of `graph` and the graphs nested in it, except those inside `skip`'s subgraphs. */
function collectNames(graph: GraphProto, values: NameSource, nodes: NameSource, skip?: NodeProto): void {
  for (const v of [...graph.input, ...graph.output, ...graph.valueInfo]) values.add(v.name);
  for (const t of graph.initializer) values.add(t.name);
  for (const s of graph.sparseInitializer) values.add(s.values?.name ?? '');
  for (const node of graph.node) {
    for (const n of [...node.input, ...node.output]) values.add(n);
    nodes.add(node.name);
    if (node === skip) continue;
    for (const a of node.attribute) for (const g of [...(a.g ? [a.g] : []), ...a.graphs]) collectNames(g, values, nodes);
  }
}

/** Names a graph defines for itself: its inputs, initializers and node outputs, which hide outer values of the same name. */
function ownNames(graph: GraphProto): Set<string> {
  const own = new Set<string>(graph.input.map((i) => i.name));
  for (const t of graph.initializer) own.add(t.name);
  for (const s of graph.sparseInitializer) if (s.values) own.add(s.values.name);
  for (const node of graph.node) for (const o of node.output) if (o) own.add(o);
  return own;
}

/** Renames the reads of outer values in the graphs nested in `node` (and deeper), where no graph on the way defines the name itself. */
function renameOuterReads(node: NodeProto, renamed: ReadonlyMap<string, string>): void {
  for (const a of node.attribute) {
    for (const g of [...(a.g ? [a.g] : []), ...a.graphs]) {
      const own = ownNames(g);
      const visible = new Map([...renamed].filter(([from]) => !own.has(from)));
      if (visible.size === 0) continue;
      for (const n of g.node) {
        n.input = n.input.map((x) => visible.get(x) ?? x);
        renameOuterReads(n, visible);
      }
      for (const o of g.output) o.name = visible.get(o.name) ?? o.name;
    }
  }
}

/** Puts the nodes of `branch` of the If at `index` in its place; returns how many nodes went in. */
function inlineAt(graph: GraphProto, index: number, branchName: 'then_branch' | 'else_branch'): number {
  const ifNode = graph.node[index]!;
  const branch = branchOf(ifNode, branchName)!;
  // Names used anywhere but in the If's own branches, and those defined in graphs nested in the taken branch (which must not shadow its values).
  const values = new NameSource();
  const nodeNames = new NameSource();
  collectNames(graph, values, nodeNames, ifNode);
  const defineInNested = (node: NodeProto): void => {
    for (const a of node.attribute) {
      for (const g of [...(a.g ? [a.g] : []), ...a.graphs]) {
        ownNames(g).forEach((n) => values.add(n));
        g.node.forEach(defineInNested);
      }
    }
  };
  branch.node.forEach(defineInNested);

  const produced = new Set(branch.node.flatMap((n) => n.output.filter((o) => o)));
  const local = ownNames(branch);
  const renamed = new Map<string, string>();
  // A branch output made by one of its nodes takes the If's output name; others go through an Identity below.
  branch.output.forEach((out, i) => {
    const target = ifNode.output[i];
    if (target && produced.has(out.name) && !renamed.has(out.name)) renamed.set(out.name, target);
  });
  for (const name of local) if (!renamed.has(name)) renamed.set(name, values.fresh(name));
  const rename = (x: string) => renamed.get(x) ?? x;

  const nodes: NodeProto[] = [];
  for (const node of branch.node) {
    node.input = node.input.map(rename);
    node.output = node.output.map(rename);
    if (node.name) node.name = nodeNames.fresh(node.name);
    renameOuterReads(node, renamed);
    nodes.push(node);
  }
  branch.output.forEach((out, i) => {
    const target = ifNode.output[i];
    if (!target || rename(out.name) === target) return;
    const name = nodeNames.fresh(`${ifNode.name || 'If'}/${branchName}/output_${i}`);
    nodes.push(create(NodeProtoSchema, { name, opType: 'Identity', domain: '', input: [rename(out.name)], output: [target] }));
  });

  for (const t of branch.initializer) {
    t.name = rename(t.name);
    graph.initializer.push(t);
  }
  for (const s of branch.sparseInitializer) {
    if (s.values) s.values.name = rename(s.values.name);
    graph.sparseInitializer.push(s);
  }
  // What the branch declared about its values (and its outputs, about the If's) stays known.
  const described = new Set([...graph.input, ...graph.output, ...graph.valueInfo].map((v) => v.name));
  for (const info of branch.valueInfo) {
    if (!local.has(info.name) || described.has(rename(info.name))) continue;
    info.name = rename(info.name);
    described.add(info.name);
    graph.valueInfo.push(info);
  }
  branch.output.forEach((out, i) => {
    const target = ifNode.output[i];
    if (!target || described.has(target) || !out.type) return;
    described.add(target);
    graph.valueInfo.push(create(ValueInfoProtoSchema, { name: target, type: out.type, docString: out.docString }));
  });

  graph.node.splice(index, 1, ...nodes);
  return nodes.length;
}

/**
 * Replaces, in place, every If of the main graph whose condition is a build-time constant by
 * the nodes of the branch it takes, again and again while the branches brought in hold such
 * Ifs themselves. The branch's own values and initializers keep their names unless those are
 * used elsewhere in the model, then get fresh ones (reads in nested graphs follow); its
 * outputs become the If's outputs. Returns what was inlined, in order; empty when nothing was.
 */
export function inlineConstantIfs(model: ModelProto): InlinedIf[] {
  const graph = model.graph;
  if (!graph) return [];
  const done: InlinedIf[] = [];
  for (let found = findConstantIf(graph); found; found = findConstantIf(graph)) {
    const node = graph.node[found.index]!;
    const record = { node: node.name, condition: node.input[0]!, branch: found.branch };
    done.push({ ...record, nodes: inlineAt(graph, found.index, found.branch) });
  }
  return done;
}
