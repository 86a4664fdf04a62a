/**
 * Raising a model's default-domain (ai.onnx) opset: each node is carried across every
 * version change of its operator between the model's opset and the target (operator-changes.ts
 * lists them and how), subgraphs included, so that the model computes what it computed
 * before. Other domains are left as they are.
 */
import { create } from '@bufbuild/protobuf';
import { OperatorSetIdProtoSchema, type GraphProto, type ModelProto, type NodeProto } from 'onnx-buf';

import { InvalidArgumentError } from '../../errors.js';
import { GraphEdit, NameSource, withoutAttrs } from './graph-edit.js';
import { OPERATOR_HISTORY } from './operator-changes.js';

/** The opset upgradeOpset raises to by default: the first with per-axis QuantizeLinear/DequantizeLinear and one-axis Softmax. */
export const DEFAULT_TARGET_OPSET = 13;
/** The newest opset whose operators the sim's ONNX parser has been reviewed against. */
export const MAX_TARGET_OPSET = 25;

/** The IR version each opset first shipped with (onnx/helper.py's VERSION_TABLE): a model at the opset needs at least this. */
const MIN_IR_VERSION: Readonly<Record<number, number>> = { 13: 7, 14: 7, 15: 8, 16: 8, 17: 8, 18: 8, 19: 9, 20: 9, 21: 10, 22: 10, 23: 11, 24: 12, 25: 13 };

export interface OpsetUpgrade {
  /** The model's default-domain opset before. */
  from: number;
  /** After: the target, or `from` when the model was already at or above it. */
  to: number;
  /** Nodes that were rewritten (beyond the version label); new nodes count with the one they replace. */
  rewritten: number;
}

const isDefaultDomain = (domain: string) => domain === '' || domain === 'ai.onnx';

/** The model's default-domain (ai.onnx) opset version; 1 when it imports none. */
export function defaultOpset(model: ModelProto): number {
  return Number(model.opsetImport.find((o) => isDefaultDomain(o.domain))?.version ?? 1n);
}

interface Pending {
  graph: GraphProto;
  edit: GraphEdit;
  nodes: NodeProto[];
}

function collectNames(graph: GraphProto, names: NameSource): void {
  for (const v of [...graph.input, ...graph.output, ...graph.valueInfo, ...graph.initializer]) names.add(v.name);
  for (const node of graph.node) {
    names.add(node.name);
    node.output.forEach((o) => names.add(o));
    for (const a of node.attribute) {
      if (a.g) collectNames(a.g, names);
      a.graphs.forEach((g) => collectNames(g, names));
    }
  }
}

function convertGraph(graph: GraphProto, edit: GraphEdit, pending: Pending[]): number {
  const nodes: NodeProto[] = [];
  let rewritten = 0;
  for (const node of graph.node) {
    let out = [node];
    if (isDefaultDomain(node.domain)) {
      const history = OPERATOR_HISTORY[node.opType];
      if (!history) edit.refuse(node, 'is not an operator whose version history this converter knows (it covers the operators the sim runs)');
      // consumed_inputs was opset 1's in-place bookkeeping; no later version has it.
      const current = edit.from < 7 ? withoutAttrs(node, 'consumed_inputs') : node;
      out = history.rewrite ? history.rewrite(current, edit) : [current];
      if (out.length !== 1 || out[0] !== node) rewritten++;
    }
    for (const n of out) {
      for (const a of n.attribute) {
        for (const body of [...(a.g ? [a.g] : []), ...a.graphs]) {
          rewritten += convertGraph(body, new GraphEdit(body, edit.from, edit.to, edit.names, edit.types, edit.ranks), pending);
        }
      }
    }
    nodes.push(...out);
  }
  pending.push({ graph, edit, nodes });
  return rewritten;
}

function commit({ graph, edit, nodes }: Pending): void {
  const produced = new Set(nodes.flatMap((n) => n.output));
  const dropped = new Set(graph.node.flatMap((n) => n.output).filter((o) => o !== '' && !produced.has(o)));
  graph.node = nodes;
  graph.initializer.push(...edit.initializers);
  if (dropped.size > 0) graph.valueInfo = graph.valueInfo.filter((v) => !dropped.has(v.name));
}

/**
 * Raises `model`'s default-domain opset to `target` in place (default 13, up to
 * {@link MAX_TARGET_OPSET}), rewriting every node whose operator changed meaning or encoding
 * on the way: attributes that became inputs (Squeeze/Unsqueeze/Split/ReduceSum axes at 13,
 * the other Reduce* at 18, Pad and Clip at 11, Slice and TopK at 10, Dropout's ratio at 12),
 * Softmax/LogSoftmax/Hardmax's coerce-to-2D semantics before 13 (Flatten, op, Reshape where
 * the axis is not the last), Upsample and Resize-10 to Resize with their asymmetric
 * sampling, the pre-7 broadcast attributes, and the rest listed in operator-changes.ts.
 * If/Loop/Scan bodies are converted too; nodes of other domains are left alone, and so is a
 * model already at `target` or later. The IR version is raised to the target's when lower.
 * @returns the opsets before and after and how many nodes were rewritten
 * @throws InvalidArgumentError for a target outside 13..MAX_TARGET_OPSET or a model without a
 *   graph; UnsupportedError naming the node and operator where a node cannot be carried
 *   across (an operator this converter does not know, Scan-8's batch axis, a
 *   BatchNormalization whose training-only outputs are read, ...); the model is unchanged then
 */
export function upgradeOpset(model: ModelProto, target: number = DEFAULT_TARGET_OPSET): OpsetUpgrade {
  if (!Number.isInteger(target) || target < DEFAULT_TARGET_OPSET || target > MAX_TARGET_OPSET) {
    throw new InvalidArgumentError(`Expected a target opset from ${DEFAULT_TARGET_OPSET} to ${MAX_TARGET_OPSET} for upgradeOpset but received ${String(target)}`);
  }
  if (!model.graph) throw new InvalidArgumentError('Expected a model with a graph for upgradeOpset but it has none');
  const from = defaultOpset(model);
  if (from >= target) return { from, to: from, rewritten: 0 };
  const names = new NameSource();
  collectNames(model.graph, names);
  const pending: Pending[] = [];
  // Every graph is converted before any is written, so a refusal leaves the model as it was.
  const rewritten = convertGraph(model.graph, new GraphEdit(model.graph, from, target, names), pending);
  pending.forEach(commit);
  const entries = model.opsetImport.filter((o) => isDefaultDomain(o.domain));
  for (const entry of entries) entry.version = BigInt(target);
  if (entries.length === 0) model.opsetImport.push(create(OperatorSetIdProtoSchema, { domain: '', version: BigInt(target) }));
  const ir = BigInt(MIN_IR_VERSION[target] ?? 7);
  if (model.irVersion < ir) model.irVersion = ir;
  return { from, to: target, rewritten };
}
