/**
 * The activation check of convertToFloat16: run the float32 model on the user's data with
 * every float32 node output exposed, and name the values whose |x| goes beyond what float16
 * holds (65504; larger values round to Inf) or that are already Inf or NaN in float32. The
 * conversion keeps the nodes that produce or read such values in float32.
 */
import { type ModelProto, TensorProto_DataType } from 'onnx-buf';

import type { BackendOption } from '../backend.js';
import { type CalibrationData, collectRanges } from '../calibration/collect-statistics.js';
import { inferElemTypes } from '../onnx/value-types.js';
import type { ShapeMap } from '../shapes.js';

export const FLOAT16_MAX = 65504;

/** A node output float16 cannot carry. */
export interface OutOfRangeActivation {
  /** The value's name. */
  tensor: string;
  /** The node producing it (its name, else its op type and position). */
  node: string;
  opType: string;
  /** Max |x| over the finite values the float32 model produced for it on the data. */
  maxAbs: number;
  /** How many of its values were NaN or ±Inf already in float32. */
  nonFinite: number;
}

export interface RangeCheckOptions {
  backend: BackendOption;
  shapes: ShapeMap | undefined;
}

/** How a node is named in reports: its name, else `OpType #index`. */
export function nodeLabel(model: ModelProto, index: number): string {
  const node = model.graph!.node[index]!;
  return node.name || `${node.opType} #${index}`;
}

/**
 * Runs the float32 `model` over `data` and returns the node outputs of the main graph that
 * exceed float16's range or hold NaN/Inf, in graph order.
 * @throws as collectRanges (bad or empty data, a batch that does not fit the model)
 */
export async function findOutOfRangeActivations(model: ModelProto, data: CalibrationData, options: RangeCheckOptions): Promise<OutOfRangeActivation[]> {
  const graph = model.graph!;
  const types = inferElemTypes(graph);
  const initializers = new Set(graph.initializer.map((t) => t.name));
  const inputs = graph.input.map((i) => i.name).filter((n) => !initializers.has(n));
  const producers = new Map<string, number>();
  graph.node.forEach((node, i) => {
    // Constants are checked from their values by the conversion itself.
    if (node.opType === 'Constant' || node.opType === 'ConstantOfShape') return;
    for (const o of node.output) if (o && types.get(o) === TensorProto_DataType.FLOAT) producers.set(o, i);
  });
  // Ranges alone decide this: one pass over the data, no histograms.
  const { ranges } = await collectRanges(model, inputs, [...producers.keys()], data, { backend: options.backend, shapes: options.shapes });
  const found: OutOfRangeActivation[] = [];
  for (const [tensor, { maxAbs, nonFinite }] of ranges) {
    if (maxAbs <= FLOAT16_MAX && nonFinite === 0) continue;
    const index = producers.get(tensor)!;
    found.push({ tensor, node: nodeLabel(model, index), opType: graph.node[index]!.opType, maxAbs, nonFinite });
  }
  return found;
}
