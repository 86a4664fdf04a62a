/**
 * Where explicit INT8 puts its QuantizeLinear/DequantizeLinear nodes, the way TensorRT's
 * explicit-quantization ONNX flow expects them: on the data inputs of the ops TensorRT runs in
 * int8 (Conv, ConvTranspose, Gemm, MatMul) and of the ops it fuses with them (Add, Mul,
 * pooling, BatchNormalization, Clip). Activations get a Q/DQ pair with one calibrated scale;
 * constant weights get int8 storage and a per-output-channel DequantizeLinear; biases and
 * other parameters stay float. This module only decides; qdq-insertion.ts rewrites.
 */
import { AttributeProto_AttributeType, TensorProto_DataType, type GraphProto, type NodeProto } from 'onnx-buf';

import { inferElemTypes } from '../onnx/value-types.js';

/** Op types quantized by default: TensorRT's int8 ops and the ops it fuses with them. */
export const QUANTIZABLE_OPS: readonly string[] = [
  'Conv', 'ConvTranspose', 'Gemm', 'MatMul',
  'Add', 'Mul', 'AveragePool', 'MaxPool', 'GlobalAveragePool', 'GlobalMaxPool', 'BatchNormalization', 'Clip',
];

/** A constant input quantized per channel. */
export interface WeightUse {
  node: NodeProto;
  inputIndex: number;
  /** The value read (an initializer, or a Transpose of one). */
  name: string;
  /** The per-channel axis of the DequantizeLinear. */
  axis: number;
}

export interface QuantizationPlan {
  /** Nodes that get Q/DQ on their inputs, in graph order. */
  nodes: NodeProto[];
  /** Activation tensors needing a calibrated scale, in graph order of first use. */
  activations: string[];
  /** Activation inputs to rewrite: node -> input indices. */
  activationUses: Map<NodeProto, number[]>;
  weights: WeightUse[];
}

function intAttribute(node: NodeProto, name: string, fallback: number): number {
  const a = node.attribute.find((x) => x.name === name && x.type === AttributeProto_AttributeType.INT);
  return a ? Number(a.i) : fallback;
}

/** Indices of a node's inputs that carry data to quantize: the first input, or all of them for the elementwise ops. */
function dataInputs(node: NodeProto): number[] {
  switch (node.opType) {
    case 'Add':
    case 'Mul':
      return node.input.map((_, i) => i);
    case 'Conv':
    case 'ConvTranspose':
    case 'Gemm':
    case 'MatMul':
      return [0, 1];
    default:
      return [0];
  }
}

/** The per-output-channel axis of a weight at `index` of `node`, given the weight's rank; undefined where it has none (stays float). */
function weightAxis(node: NodeProto, index: number, rank: number): number | undefined {
  switch (node.opType) {
    case 'Conv':
      return index === 1 ? 0 : undefined;
    case 'ConvTranspose':
      // ConvTranspose weights are [C_in, C_out / group, k...]: output channels are axis 1.
      return index === 1 ? 1 : undefined;
    case 'Gemm':
      // B is [K, N], or [N, K] with transB: the output feature is the axis that is not reduced.
      return index === 1 ? (intAttribute(node, 'transB', 0) ? 0 : 1) : index === 0 ? (intAttribute(node, 'transA', 0) ? 1 : 0) : undefined;
    case 'MatMul':
      // A constant B [..., K, N] gives output columns along its last axis; a constant A [..., M, K] output rows along its second-to-last.
      if (rank < 2) return undefined;
      return index === 1 ? rank - 1 : rank - 2;
    default:
      return undefined;
  }
}

export interface ConstantSource {
  /** dims of the constant a value name resolves to, or undefined when it is not one. */
  dims(name: string): number[] | undefined;
}

/**
 * Decides which nodes and inputs get quantized. `selected(node)` says whether a node takes
 * part (op type and include/exclude lists); only float32 inputs are touched, constants
 * become weights where the op has a channel axis for them and stay float otherwise.
 */
export function planQuantization(graph: GraphProto, selected: (node: NodeProto) => boolean, constants: ConstantSource): QuantizationPlan {
  const types = inferElemTypes(graph);
  const plan: QuantizationPlan = { nodes: [], activations: [], activationUses: new Map(), weights: [] };
  const seen = new Set<string>();
  for (const node of graph.node) {
    if (!selected(node)) continue;
    const uses: number[] = [];
    const weights: WeightUse[] = [];
    for (const i of dataInputs(node)) {
      const name = node.input[i];
      if (!name || types.get(name) !== TensorProto_DataType.FLOAT) continue;
      const dims = constants.dims(name);
      if (dims) {
        const axis = weightAxis(node, i, dims.length);
        if (axis !== undefined && axis < dims.length) weights.push({ node, inputIndex: i, name, axis });
        continue;
      }
      uses.push(i);
    }
    if (uses.length === 0 && weights.length === 0) continue;
    plan.nodes.push(node);
    if (uses.length > 0) plan.activationUses.set(node, uses);
    plan.weights.push(...weights);
    for (const i of uses) {
      const name = node.input[i]!;
      if (!seen.has(name)) {
        seen.add(name);
        plan.activations.push(name);
      }
    }
  }
  return plan;
}
