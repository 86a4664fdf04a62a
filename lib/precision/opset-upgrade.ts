/**
 * Raising a model's default-domain opset to 13, which per-axis QuantizeLinear and
 * DequantizeLinear (the per-channel weights of explicit INT8) need. A version bump is only a
 * change of label where each operator's meaning stays the same between the model's opset and
 * 13, so this pass knows, per operator, the oldest opset from which that holds, fixes the few
 * attributes that merely disappeared (Gemm's and BatchNormalization's pre-opset-7 flags), and
 * refuses everything else rather than silently changing what the model computes.
 */
import type { ModelProto, NodeProto } from 'onnx-buf';

import { UnsupportedError } from '../errors.js';

export const QDQ_PER_AXIS_OPSET = 13;

/**
 * For each operator: the oldest opset whose definition means the same as the one in force at
 * opset 13 (after the attribute fixes below). Operators whose later versions only widened the
 * type list, added optional inputs or clarified the text count as the same.
 */
const SAME_SINCE: Readonly<Record<string, number>> = {
  Abs: 6, Add: 7, And: 7, ArgMax: 1, ArgMin: 1, AveragePool: 1, BatchNormalization: 1, Cast: 6, Ceil: 6, Clip: 11,
  Concat: 4, Constant: 1, ConstantOfShape: 9, Conv: 1, ConvTranspose: 1, DepthToSpace: 1, Div: 7, Dropout: 12,
  Elu: 6, Equal: 7, Erf: 9, Exp: 6, Expand: 8, Flatten: 1, Floor: 6, Gather: 1, Gemm: 1, GlobalAveragePool: 1,
  GlobalMaxPool: 1, Greater: 7, HardSigmoid: 6, Identity: 1, InstanceNormalization: 6, LeakyRelu: 6, Less: 7,
  Log: 6, LRN: 1, MatMul: 1, Max: 8, MaxPool: 1, Mean: 8, Min: 8, Mul: 7, Neg: 6, Not: 1, Or: 7, Pad: 11, Pow: 7,
  PRelu: 7, Reciprocal: 6, Relu: 6, Reshape: 5, Resize: 11, Selu: 6, Shape: 1, Sigmoid: 6, Slice: 10, Softplus: 1,
  Softsign: 1, SpaceToDepth: 1, Sqrt: 6, Sub: 7, Sum: 8, Tanh: 6, Tile: 6, Transpose: 1, Where: 9, Xor: 7,
  // Changed at 13 itself: the softmaxes from coerce-to-2D to one axis, the others from attributes to inputs.
  Softmax: 13, LogSoftmax: 13, Hardmax: 13, Squeeze: 13, Unsqueeze: 13, ReduceSum: 13, Split: 13,
};

/** Attributes older versions carry that opset 13 dropped, with the value under which dropping them changes nothing. */
const DROPPED: Readonly<Record<string, Readonly<Record<string, bigint | undefined>>>> = {
  // Gemm-1/6 `broadcast`: with it C broadcasts one way, which is what Gemm-7 always does; without it C already has the full shape.
  Gemm: { broadcast: undefined },
  // BatchNormalization before 7: `is_test` must say inference, `spatial` must be the per-channel form, `consumed_inputs` is legacy bookkeeping.
  BatchNormalization: { is_test: 1n, spatial: 1n, consumed_inputs: undefined },
};

function refuse(node: NodeProto, from: number, why: string): never {
  const label = node.name ? `node '${node.name}' (${node.opType})` : `${/^[AEIOU]/.test(node.opType) ? 'an' : 'a'} ${node.opType} node`;
  throw new UnsupportedError(
    `quantizeInt8 needs opset >= ${QDQ_PER_AXIS_OPSET} for per-axis QuantizeLinear/DequantizeLinear, but the model is at opset ${from} and ${label} ${why}; ` +
      `convert the model to opset ${QDQ_PER_AXIS_OPSET} or later first (e.g. onnx.version_converter)`,
  );
}

/** The model's default-domain (ai.onnx) opset version; 1 when it imports none. */
export function defaultOpset(model: ModelProto): number {
  return Number(model.opsetImport.find((o) => o.domain === '' || o.domain === 'ai.onnx')?.version ?? 1n);
}

/**
 * Raises the default-domain opset of `model` to 13 in place when it is lower, dropping the
 * attributes opset 13 no longer has, and the IR version to 7 (the one opset 13 came with) when
 * it is lower. Does nothing for a model already at opset 13 or later.
 * @throws UnsupportedError naming the node when an operator's meaning changed between the
 *   model's opset and 13 (Softmax's axis, Squeeze's axes input, Upsample, ...), when a dropped
 *   attribute has a value that mattered (BatchNormalization in training mode, legacy broadcasts
 *   with an axis), or when the main graph holds subgraphs or nodes of other domains
 */
export function upgradeToOpset13(model: ModelProto): void {
  const from = defaultOpset(model);
  if (from >= QDQ_PER_AXIS_OPSET) return;
  const graph = model.graph!;
  // Check every node before changing any, so a refusal leaves the model as it was.
  for (const node of graph.node) {
    if (node.domain !== '' && node.domain !== 'ai.onnx') refuse(node, from, `is in domain '${node.domain}', whose versions this pass does not know`);
    if (node.attribute.some((a) => a.g || a.graphs.length > 0)) refuse(node, from, 'has a subgraph, which this pass does not upgrade');
    const since = SAME_SINCE[node.opType];
    if (since === undefined) refuse(node, from, 'is not an operator this pass knows to be unchanged up to opset 13');
    if (from < since) refuse(node, from, `changed meaning at opset ${since}`);
    const dropped = DROPPED[node.opType] ?? {};
    for (const a of node.attribute) {
      if (!(a.name in dropped)) continue;
      const required = dropped[a.name];
      if (required !== undefined && a.i !== required) refuse(node, from, `has ${a.name}=${a.i}, which opset ${QDQ_PER_AXIS_OPSET} cannot express`);
    }
    // Pre-7 elementwise broadcasts with an explicit axis align B somewhere other than the tail.
    if (['Add', 'Sub', 'Mul', 'Div'].includes(node.opType) && node.attribute.some((a) => a.name === 'axis' || a.name === 'broadcast')) {
      refuse(node, from, 'uses the pre-opset-7 broadcast attributes');
    }
    if (node.opType === 'BatchNormalization' && node.output.filter((o) => o !== '').length > 1) refuse(node, from, 'has training outputs');
  }
  for (const node of graph.node) {
    const dropped = DROPPED[node.opType];
    if (dropped) node.attribute = node.attribute.filter((a) => !(a.name in dropped));
  }
  for (const o of model.opsetImport) if (o.domain === '' || o.domain === 'ai.onnx') o.version = BigInt(QDQ_PER_AXIS_OPSET);
  if (model.irVersion < 7n) model.irVersion = 7n;
}
