/**
 * The rewrite of explicit INT8: given a {@link QuantizationPlan} and one scale per activation,
 * inserts QuantizeLinear -> DequantizeLinear after each activation (shared by all its
 * quantized consumers, as TensorRT fuses one pair per tensor), and replaces each quantized
 * weight by an int8 initializer read through a per-axis DequantizeLinear. Float weights no
 * consumer reads any more are removed, so the model does not carry both copies.
 */
import { create } from '@bufbuild/protobuf';
import {
  AttributeProto_AttributeType,
  AttributeProtoSchema,
  NodeProtoSchema,
  type GraphProto,
  type NodeProto,
  type TensorProto,
} from 'onnx-buf';

import { arrayToTensor, tensorToFloat32 } from '../onnx/tensor-data.js';
import type { ConstantSource, QuantizationPlan } from './qdq-plan.js';
import { quantizePerChannel } from './weight-quantization.js';

interface ConstantValue {
  values: Float32Array;
  dims: number[];
}

/**
 * Resolves value names to float32 constants: initializers, Constant nodes with a tensor value,
 * and Transposes of either (PyTorch's Linear exports its weight as Transpose(W) -> MatMul; the
 * transpose is folded so the int8 weight is stored in the layout the MatMul reads).
 */
export class GraphConstants implements ConstantSource {
  readonly #initializers: Map<string, TensorProto>;
  readonly #producers = new Map<string, NodeProto>();

  constructor(graph: GraphProto) {
    this.#initializers = new Map(graph.initializer.map((t) => [t.name, t]));
    for (const node of graph.node) for (const o of node.output) if (o) this.#producers.set(o, node);
  }

  dims(name: string): number[] | undefined {
    const init = this.#initializers.get(name);
    if (init) return init.dims.map(Number);
    const node = this.#producers.get(name);
    if (node?.opType === 'Constant') {
      const t = node.attribute.find((a) => a.name === 'value')?.t;
      return t ? t.dims.map(Number) : undefined;
    }
    if (node?.opType === 'Transpose' && node.input[0]) {
      const inner = this.dims(node.input[0]);
      if (!inner) return undefined;
      return this.#perm(node, inner.length).map((p) => inner[p]!);
    }
    return undefined;
  }

  /** The float32 values of a constant `dims()` resolved. */
  value(name: string): ConstantValue {
    const init = this.#initializers.get(name);
    if (init) return { values: tensorToFloat32(init), dims: init.dims.map(Number) };
    const node = this.#producers.get(name)!;
    if (node.opType === 'Constant') {
      const t = node.attribute.find((a) => a.name === 'value')!.t!;
      return { values: tensorToFloat32(t), dims: t.dims.map(Number) };
    }
    const inner = this.value(node.input[0]!);
    const perm = this.#perm(node, inner.dims.length);
    return transpose(inner, perm);
  }

  #perm(node: NodeProto, rank: number): number[] {
    const a = node.attribute.find((x) => x.name === 'perm');
    // Transpose without perm reverses the axes.
    return a ? a.ints.map(Number) : Array.from({ length: rank }, (_, i) => rank - 1 - i);
  }
}

function transpose(x: ConstantValue, perm: number[]): ConstantValue {
  const rank = x.dims.length;
  const dims = perm.map((p) => x.dims[p]!);
  const inStrides = new Array<number>(rank);
  for (let i = rank - 1, s = 1; i >= 0; i--) {
    inStrides[i] = s;
    s *= x.dims[i]!;
  }
  const out = new Float32Array(x.values.length);
  const index = new Array<number>(rank).fill(0);
  for (let o = 0; o < out.length; o++) {
    let src = 0;
    for (let d = 0; d < rank; d++) src += index[d]! * inStrides[perm[d]!]!;
    out[o] = x.values[src]!;
    for (let d = rank - 1; d >= 0; d--) {
      if (++index[d]! < dims[d]!) break;
      index[d] = 0;
    }
  }
  return { values: out, dims };
}

/** A node of the default domain with integer attributes. */
export function node(name: string, opType: string, input: string[], output: string[], ints: Record<string, number> = {}): NodeProto {
  const attribute = Object.entries(ints).map(([n, i]) => create(AttributeProtoSchema, { name: n, type: AttributeProto_AttributeType.INT, i: BigInt(i) }));
  return create(NodeProtoSchema, { name, opType, domain: '', input, output, attribute });
}

/** Makes names no value, initializer or node of `graph` has yet, nor an earlier call: base, base_1, ... */
export function freshNames(graph: GraphProto): (base: string) => string {
  const taken = new Set<string>();
  for (const v of [...graph.input, ...graph.output, ...graph.valueInfo]) taken.add(v.name);
  for (const t of graph.initializer) taken.add(t.name);
  for (const n of graph.node) [...n.input, ...n.output, n.name].forEach((x) => taken.add(x));
  return (base) => {
    let name = base;
    for (let k = 1; taken.has(name); k++) name = `${base}_${k}`;
    taken.add(name);
    return name;
  };
}

/**
 * Rewrites `graph` in place per `plan`, with `scales` giving the float32 scale of every
 * activation in `plan.activations`.
 */
export function insertQdq(graph: GraphProto, plan: QuantizationPlan, scales: ReadonlyMap<string, number>, constants: GraphConstants): void {
  const unique = freshNames(graph);

  const newInitializers: TensorProto[] = [];
  const atStart: NodeProto[] = [];
  const after = new Map<string, NodeProto[]>(); // producer's output -> nodes placed right after it

  // Activations: one Q/DQ pair per tensor, right after its producer.
  const dequantized = new Map<string, string>();
  for (const name of plan.activations) {
    const scale = scales.get(name)!;
    const scaleName = unique(`${name}_scale`);
    const zeroName = unique(`${name}_zero_point`);
    newInitializers.push(arrayToTensor(scaleName, 'float32', [], Float32Array.of(scale)));
    newInitializers.push(arrayToTensor(zeroName, 'int8', [], new Int8Array(1)));
    const q = unique(`${name}_quantized`);
    const dq = unique(`${name}_dequantized`);
    const pair = [
      node(unique(`${name}_QuantizeLinear`), 'QuantizeLinear', [name, scaleName, zeroName], [q]),
      node(unique(`${name}_DequantizeLinear`), 'DequantizeLinear', [q, scaleName, zeroName], [dq]),
    ];
    if (!after.has(name)) after.set(name, []);
    after.get(name)!.push(...pair);
    dequantized.set(name, dq);
  }
  for (const [n, indices] of plan.activationUses) for (const i of indices) n.input[i] = dequantized.get(n.input[i]!)!;

  // Weights: one int8 initializer and per-axis DequantizeLinear per (weight, axis).
  const weightOutputs = new Map<string, string>();
  for (const use of plan.weights) {
    const key = `${use.name}|${use.axis}`;
    let out = weightOutputs.get(key);
    if (out === undefined) {
      const { values, dims } = constants.value(use.name);
      const q = quantizePerChannel(values, dims, use.axis);
      const int8Name = unique(`${use.name}_quantized`);
      const scaleName = unique(`${use.name}_scale`);
      const zeroName = unique(`${use.name}_zero_point`);
      newInitializers.push(arrayToTensor(int8Name, 'int8', dims, q.values));
      newInitializers.push(arrayToTensor(scaleName, 'float32', [q.scales.length], q.scales));
      newInitializers.push(arrayToTensor(zeroName, 'int8', [q.scales.length], new Int8Array(q.scales.length)));
      out = unique(`${use.name}_dequantized`);
      atStart.push(node(unique(`${use.name}_DequantizeLinear`), 'DequantizeLinear', [int8Name, scaleName, zeroName], [out], { axis: use.axis }));
      weightOutputs.set(key, out);
    }
    use.node.input[use.inputIndex] = out;
  }

  const nodes: NodeProto[] = [...atStart];
  for (const input of graph.input) nodes.push(...(after.get(input.name) ?? []));
  for (const n of graph.node) {
    nodes.push(n);
    for (const o of n.output) nodes.push(...(after.get(o) ?? []));
  }
  graph.node = nodes;
  graph.initializer.push(...newInitializers);
  removeReplaced(graph, plan.weights.map((w) => w.name));
}

/**
 * Drops the float constants the rewrite replaced, once nothing reads them: initializers (with
 * their graph-input and value_info entries) and the Constant or folded Transpose nodes that
 * produced them, following a Transpose back to the initializer it read. Values the model
 * left unused before the rewrite are not this pass's business and stay.
 */
function removeReplaced(graph: GraphProto, replaced: Iterable<string>): void {
  // Subgraphs may read outer names without listing them as inputs; keep everything then.
  if (graph.node.some((n) => n.attribute.some((a) => a.g || a.graphs.length > 0))) return;
  const read = new Set<string>(graph.output.map((o) => o.name));
  for (const n of graph.node) for (const i of n.input) read.add(i);
  const deadNodes = new Set<NodeProto>();
  const deadInits = new Set<string>();
  const initializers = new Set(graph.initializer.map((t) => t.name));
  const visit = (name: string): void => {
    if (read.has(name)) return;
    if (initializers.has(name)) {
      deadInits.add(name);
      return;
    }
    const producer = graph.node.find((n) => n.output.includes(name));
    if (!producer || (producer.opType !== 'Constant' && producer.opType !== 'Transpose') || deadNodes.has(producer)) return;
    deadNodes.add(producer);
    for (const i of producer.input) {
      // The Transpose no longer reads its input: recount the readers without it.
      if (!graph.node.some((n) => !deadNodes.has(n) && n.input.includes(i)) && !graph.output.some((o) => o.name === i)) read.delete(i);
      visit(i);
    }
  };
  for (const name of replaced) visit(name);
  graph.node = graph.node.filter((n) => !deadNodes.has(n));
  graph.initializer = graph.initializer.filter((t) => !deadInits.has(t.name));
  graph.input = graph.input.filter((i) => !deadInits.has(i.name));
  const deadValues = new Set([...deadInits, ...[...deadNodes].flatMap((n) => n.output)]);
  graph.valueInfo = graph.valueInfo.filter((v) => !deadValues.has(v.name));
}
