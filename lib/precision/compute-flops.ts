/**
 * The arithmetic of the compute-heavy operators (Conv, ConvTranspose, Gemm, MatMul), counted
 * from the shapes their tensors take on one real batch: the measure behind "the share of the
 * model's FLOPs that runs in INT8 (or float16)". A multiply-add counts as two FLOPs:
 *   Conv           2 * |output| * (C_in / group) * k_1 * ... * k_n   (= 2 * |output| * |W| / C_out)
 *   ConvTranspose  2 * |input| * (C_out / group) * k_1 * ... * k_n   (= 2 * |input| * |W| / C_in)
 *   Gemm, MatMul   2 * |output| * K                                 (= 2 * M * N * K, per batch)
 */
import type { ModelProto, NodeProto } from 'onnx-buf';

import { withExposedOutputs } from '../calibration/collect-statistics.js';
import type { Feeds } from '../execution-context.js';
import { GraphConstants } from './qdq-insertion.js';
import { type RunPlace, runBatches } from './validation-runs.js';

export const COMPUTE_OPS: readonly string[] = ['Conv', 'ConvTranspose', 'Gemm', 'MatMul'];

export interface NodeFlops {
  node: string;
  opType: string;
  flops: number;
}

const size = (dims: readonly number[]): number => dims.reduce((a, b) => a * b, 1);

function intAttribute(node: NodeProto, name: string, fallback: number): number {
  const a = node.attribute.find((x) => x.name === name);
  return a ? Number(a.i) : fallback;
}

/** FLOPs of one node from its tensors' dims; undefined when a dim it needs is unknown. */
export function nodeFlops(node: NodeProto, dims: (name: string) => number[] | undefined): number | undefined {
  const a = node.input[0] ? dims(node.input[0]) : undefined;
  const b = node.input[1] ? dims(node.input[1]) : undefined;
  const y = node.output[0] ? dims(node.output[0]) : undefined;
  switch (node.opType) {
    case 'Conv':
      // W is [C_out, C_in / group, k...]: each output element reads |W| / C_out weights.
      return y && b && b.length > 0 ? (2 * size(y) * size(b)) / b[0]! : undefined;
    case 'ConvTranspose':
      // W is [C_in, C_out / group, k...]: each input element scatters into |W| / C_in outputs.
      return a && b && b.length > 0 ? (2 * size(a) * size(b)) / b[0]! : undefined;
    case 'Gemm': {
      if (!a || !y || a.length !== 2) return undefined;
      const k = intAttribute(node, 'transA', 0) ? a[0]! : a[1]!;
      return 2 * size(y) * k;
    }
    case 'MatMul':
      // A 1-D A is [K]; otherwise K is A's last axis.
      return a && y && a.length > 0 ? 2 * size(y) * a[a.length - 1]! : undefined;
    default:
      return undefined;
  }
}

/**
 * FLOPs of every Conv, ConvTranspose, Gemm and MatMul of the main graph, on `feeds`: the float
 * model runs once on `place` with the tensors whose dims are not constant exposed as outputs.
 * Nodes whose dims stay unknown (a tensor that is not float32, say) are left out.
 */
export async function measureFlops(model: ModelProto, feeds: Feeds, place: RunPlace): Promise<NodeFlops[]> {
  const graph = model.graph!;
  const nodes = graph.node.filter((n) => COMPUTE_OPS.includes(n.opType) && (n.domain === '' || n.domain === 'ai.onnx'));
  if (nodes.length === 0) return [];
  const constants = new GraphConstants(graph);
  const wanted = new Set<string>();
  for (const n of nodes) for (const name of [n.input[0], n.input[1], n.output[0]]) if (name && !(name in feeds) && !constants.dims(name)) wanted.add(name);
  const outputs = wanted.size > 0 ? (await runBatches(await withExposedOutputs(model, [...wanted]), [feeds], place))[0]! : {};
  const dims = (name: string): number[] | undefined => (name in feeds ? [...feeds[name]!.dims] : constants.dims(name) ?? outputs[name]?.dims);
  const out: NodeFlops[] = [];
  for (const n of nodes) {
    const flops = nodeFlops(n, dims);
    if (flops !== undefined) out.push({ node: n.name, opType: n.opType, flops });
  }
  return out;
}
