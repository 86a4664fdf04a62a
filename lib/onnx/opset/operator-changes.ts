/**
 * Every version of every default-domain operator the sim runs, as ONNX's docs/Changelog.md
 * lists them, and what raising a node across each version change takes. Most changes only
 * widen the type list, add an attribute or optional input whose default keeps the old
 * meaning, or define what was undefined (negative axes): those need nothing and are listed
 * so that a reader can see each one was looked at. The rest are rewritten here:
 *
 * | operator | at | change | rewrite |
 * | --- | --- | --- | --- |
 * | (all of opset 1's) | 6, 7 | `consumed_inputs` (legacy bookkeeping) removed | dropped (in upgrade-opset.ts) |
 * | Add, Sub, Mul, Div, Pow, And, Or, Xor, Equal, Greater, Less | 7 | `broadcast`/`axis` replaced by numpy broadcasting | dropped; B aligned at `axis` gets trailing 1-dims (Unsqueeze) |
 * | Gemm | 7 | `broadcast` removed (C always broadcasts one way) | dropped |
 * | BatchNormalization | 7, 9, 14 | `is_test` removed; `spatial` removed; statistics outputs training-only | dropped (inference, as TensorRT and onnxruntime run it); `spatial`=0 with per-activation statistics refused; across 14, read statistics outputs refused, unread ones removed |
 * | Cast | 6 | `to` from a type name (string) to the enum | mapped |
 * | Clip | 11 | `min`/`max` attributes to inputs | scalar initializers of the input's type |
 * | Concat | 4 | `axis` required (was default 1) | 1 written |
 * | Dropout | 7, 10, 12 | `is_test` removed; mask from T to bool; `ratio` to an input | dropped; a read float mask refused, an unread one removed; ratio as a float initializer |
 * | LpPool, GlobalLpPool | 2 | `p` from float to int | converted (non-integer p refused) |
 * | MeanVarianceNormalization | 9 | `across_channels`/`normalize_variance` to `axes` | axes [0,2,3] or [0,1,2,3]; normalize_variance=0 refused |
 * | Pad | 2, 11 | `paddings` renamed `pads`; `pads`/`value` to inputs | renamed; int64 initializer and a scalar of the input's type |
 * | PRelu | 7 | slope broadcasts numpy-style (was per channel) | a 1-D slope of size C gets trailing 1-dims |
 * | Reshape | 5 | `shape` attribute to an input | int64 initializer |
 * | ReduceSum (13), other Reduce* (18) | 13, 18 | `axes` attribute to an input | int64 initializer |
 * | Resize | 11, 13 | roi/sizes inputs and coordinate_transformation_mode (default half_pixel; Resize-10 was asymmetric, floor); tf_half_pixel_for_nn removed | asymmetric + floor written; tf_half_pixel_for_nn mapped to half_pixel with the equivalent rounding |
 * | Upsample | 7, 9, 10 | scales attribute, then input; deprecated for Resize | Resize (asymmetric, floor; 'bilinear' is 'linear') |
 * | Scatter | 11 | deprecated for ScatterElements (same meaning) | renamed |
 * | Slice | 10 | `starts`/`ends`/`axes` to inputs | int64 initializers |
 * | Softmax, LogSoftmax, Hardmax | 13 | from coerce-to-2D at `axis` (default 1) to one axis (default -1) | unchanged where `axis` is the last axis; else Flatten(axis) -> op(-1) -> Reshape(Shape(x)) |
 * | Split | 2, 13, 18 | `split` attribute to an input; `num_outputs` needed without it | int64 initializer; `num_outputs` written |
 * | Squeeze, Unsqueeze | 13 | `axes` attribute to an input | int64 initializer |
 * | TopK | 10 | `k` attribute to an input | int64 initializer of shape [1] |
 * | Tile | 6 | (tiles, axis) inputs to one `repeats` input | repeats built from constant tiles/axis and a known rank |
 * | RoiAlign | 16 | coordinate_transformation_mode added, default half_pixel (10 had no offset) | output_half_pixel written |
 * | GridSample | 20 | mode names bilinear/bicubic renamed linear/cubic | renamed |
 * | GroupNormalization | 21 | scale/bias per group to per channel | each repeated C/G times (Unsqueeze, Expand to [G, C/G] from Shape(x), Reshape) |
 * | Scan | 9 | batch axis and sequence_lens removed | refused |
 * | RNN, GRU, LSTM | 7 | `output_sequence` removed (Y optional instead) | dropped |
 * | ImageScaler, ScaledTanh, ParametricSoftplus | 10 | experimental, removed | Mul/Add, Mul/Tanh/Mul, Mul/Softplus/Mul |
 * | If, Loop, Scan | - | subgraphs | converted recursively |
 */
import { AttributeProto_AttributeType, TensorProto_DataType, type NodeProto } from 'onnx-buf';

import {
  attr,
  edited,
  floatAttr,
  type GraphEdit,
  intAttr,
  intsAttr,
  makeIntAttr,
  makeIntsAttr,
  makeStringAttr,
  stringAttr,
  trimInputs,
  withAttr,
  withoutAttrs,
} from './graph-edit.js';

const T = TensorProto_DataType;
const A = AttributeProto_AttributeType;

/** Rewrites one node (never changed in place) into the nodes that compute the same at `edit.to`. */
export type Rewrite = (node: NodeProto, edit: GraphEdit) => NodeProto[];

export interface OperatorHistory {
  /** The opsets at which ONNX published a new version of the operator. */
  versions: readonly number[];
  /** What crossing those versions takes; absent where every change keeps an old node's meaning. */
  rewrite?: Rewrite;
}

const crosses = (edit: GraphEdit, at: number) => edit.from < at && edit.to >= at;

/** Moves INTS attribute `name` to input `index` as an int64 initializer (absent attribute: input left out). */
function attrToInput(node: NodeProto, edit: GraphEdit, name: string, index: number): NodeProto {
  const values = intsAttr(node, name);
  const out = withoutAttrs(node, name);
  if (values === undefined) return out;
  const input = [...out.input];
  while (input.length < index) input.push('');
  input[index] = edit.int64s(`${node.name || node.opType}_${name}`, values);
  return edited(out, { input });
}

function dataType(node: NodeProto, edit: GraphEdit, why: string): number {
  const t = edit.types.get(node.input[0] ?? '');
  if (t === undefined) return edit.refuse(node, `needs ${why} of its input's element type, which the model does not tell`);
  return t;
}

function typedScalar(node: NodeProto, edit: GraphEdit, base: string, value: number): string {
  const t = dataType(node, edit, `a ${base} constant`);
  const name = edit.scalar(`${node.name || node.opType}_${base}`, t, value);
  if (name === undefined) return edit.refuse(node, `has a ${T[t] ?? t} input, for which no ${base} constant can be written`);
  return name;
}

function removeUnreadOutputs(node: NodeProto, edit: GraphEdit, keep: number, why: string): NodeProto {
  const extra = node.output.slice(keep).filter((o) => o !== '');
  const read = extra.find((o) => edit.isRead(o));
  if (read !== undefined) return edit.refuse(node, `has output '${read}' read by the model, ${why}`);
  return extra.length > 0 ? edited(node, { output: node.output.slice(0, keep) }) : node;
}

// --- rewrites ---

/** Opset 7's numpy broadcasting replaced `broadcast`/`axis`, which aligned B at `axis` of A. */
const legacyBroadcast: Rewrite = (node, edit) => {
  if (!crosses(edit, 7) || (!attr(node, 'broadcast') && !attr(node, 'axis'))) return [node];
  const out = withoutAttrs(node, 'broadcast', 'axis');
  const axis = intAttr(node, 'axis');
  if (intAttr(node, 'broadcast') !== 1n || axis === undefined) return [out];
  const rankA = edit.ranks.get(node.input[0]!);
  const rankB = edit.ranks.get(node.input[1]!);
  if (rankA === undefined || rankB === undefined) return edit.refuse(node, `broadcasts at axis ${axis} (pre-opset-7), which needs both inputs' ranks, and the model does not tell them`);
  const start = axis < 0n ? rankA + Number(axis) : Number(axis);
  const trailing = rankA - start - rankB;
  if (trailing < 0) return edit.refuse(node, `broadcasts a rank-${rankB} B at axis ${axis} of a rank-${rankA} A, which does not fit`);
  if (trailing === 0) return [out];
  const axes = Array.from({ length: trailing }, (_, i) => rankB + i);
  const unsqueeze = edit.node(node.name || node.opType, 'Unsqueeze', [node.input[1]!, edit.int64s(`${node.name || node.opType}_axes`, axes)]);
  return [unsqueeze, edited(out, { input: [node.input[0]!, unsqueeze.output[0]!, ...node.input.slice(2)] })];
};

const dropOnly = (...names: string[]): Rewrite => (node) => [withoutAttrs(node, ...names)];

const batchNormalization: Rewrite = (node, edit) => {
  // Every change is before 14; from 14 on training_mode says what the extra outputs hold.
  if (edit.from >= 14) return [node];
  let out = withoutAttrs(node, 'is_test');
  if (attr(node, 'spatial')) {
    if (intAttr(node, 'spatial') === 0n) {
      const perActivation = node.input.slice(1).some((name) => (edit.ranks.get(name) ?? 2) > 1);
      if (perActivation) return edit.refuse(node, 'has spatial=0 with per-activation statistics, which opset 9 removed');
    }
    out = withoutAttrs(out, 'spatial');
  }
  return [edit.to >= 14 ? removeUnreadOutputs(out, edit, 1, 'which only training mode computes') : out];
};

const cast: Rewrite = (node, edit) => {
  const to = attr(node, 'to');
  if (!to || to.type !== A.STRING) return [node];
  const name = new TextDecoder().decode(to.s).toUpperCase();
  const value = (T as unknown as Record<string, number>)[name];
  if (typeof value !== 'number' || value === 0) return edit.refuse(node, `has to='${name}', which is not an ONNX element type`);
  return [withAttr(node, makeIntAttr('to', value))];
};

const clip: Rewrite = (node, edit) => {
  if (!crosses(edit, 11)) return [node];
  const min = floatAttr(node, 'min');
  const max = floatAttr(node, 'max');
  const input = [node.input[0]!, min === undefined ? '' : typedScalar(node, edit, 'min', min), max === undefined ? '' : typedScalar(node, edit, 'max', max)];
  return [edited(withoutAttrs(node, 'min', 'max'), { input: trimInputs(input) })];
};

const concat: Rewrite = (node, edit) => (crosses(edit, 4) && !attr(node, 'axis') ? [withAttr(node, makeIntAttr('axis', 1))] : [node]);

const dropout: Rewrite = (node, edit) => {
  let out = withoutAttrs(node, 'is_test');
  if (edit.from < 10) out = removeUnreadOutputs(out, edit, 1, 'a mask of the input type, which opset 10 made bool');
  if (crosses(edit, 12)) {
    const ratio = floatAttr(node, 'ratio');
    out = withoutAttrs(out, 'ratio');
    if (ratio !== undefined) out = edited(out, { input: [node.input[0]!, edit.floats(`${node.name || 'Dropout'}_ratio`, [ratio], [])] });
  }
  return [out];
};

const lpPool: Rewrite = (node, edit) => {
  const p = attr(node, 'p');
  if (!crosses(edit, 2) || !p || p.type !== A.FLOAT) return [node];
  if (!Number.isInteger(p.f)) return edit.refuse(node, `has p=${p.f}, and opset 2 takes integer p only`);
  return [withAttr(node, makeIntAttr('p', p.f))];
};

const meanVarianceNormalization: Rewrite = (node, edit) => {
  if (!crosses(edit, 9) || attr(node, 'axes')) return [node];
  if (intAttr(node, 'normalize_variance') === 0n) return edit.refuse(node, 'has normalize_variance=0 (mean subtraction only), which opset 9 removed');
  const axes = intAttr(node, 'across_channels') === 1n ? [0, 1, 2, 3] : [0, 2, 3];
  return [withAttr(withoutAttrs(node, 'across_channels', 'normalize_variance'), makeIntsAttr('axes', axes))];
};

const pad: Rewrite = (node, edit) => {
  let out = node;
  if (crosses(edit, 2) && attr(node, 'paddings')) out = withAttr(withoutAttrs(out, 'paddings'), makeIntsAttr('pads', intsAttr(node, 'paddings')!));
  if (!crosses(edit, 11)) return [out];
  const pads = intsAttr(out, 'pads');
  if (!pads) return edit.refuse(node, 'has no pads');
  const value = floatAttr(out, 'value') ?? 0;
  const mode = stringAttr(out, 'mode') ?? 'constant';
  const input = [node.input[0]!, edit.int64s(`${node.name || 'Pad'}_pads`, pads)];
  if (mode === 'constant' && value !== 0) input.push(typedScalar(node, edit, 'value', value));
  return [edited(withoutAttrs(out, 'pads', 'value'), { input })];
};

/** Before 7 a 1-D slope was per channel (axis 1); numpy broadcasting aligns it with the last axis. */
const prelu: Rewrite = (node, edit) => {
  if (!crosses(edit, 7)) return [node];
  const slope = node.input[1]!;
  const init = edit.initializer(slope);
  const rankX = edit.ranks.get(node.input[0]!);
  const slopeRank = edit.ranks.get(slope);
  const size = init ? init.dims.reduce((a, d) => a * Number(d), 1) : undefined;
  if (slopeRank !== 1 || size === 1) return [node];
  if (rankX === undefined) return edit.refuse(node, "has a 1-D slope, which before opset 7 ran per channel; placing it on the channel axis needs the input's rank, which the model does not tell");
  if (rankX <= 2) return [node];
  const axes = Array.from({ length: rankX - 2 }, (_, i) => i + 1);
  const unsqueeze = edit.node(node.name || 'PRelu', 'Unsqueeze', [slope, edit.int64s(`${node.name || 'PRelu'}_axes`, axes)]);
  return [unsqueeze, edited(node, { input: [node.input[0]!, unsqueeze.output[0]!] })];
};

const reshape: Rewrite = (node, edit) => (crosses(edit, 5) && attr(node, 'shape') ? [attrToInput(node, edit, 'shape', 1)] : [node]);

const reduceAt = (at: number): Rewrite => (node, edit) => (crosses(edit, at) ? [attrToInput(node, edit, 'axes', 1)] : [node]);

/** Resize-10 and Upsample sample at x_out / scale, rounding down: Resize-11's asymmetric transform with nearest_mode floor. */
function resizeFromScales(node: NodeProto, edit: GraphEdit, scales: string): NodeProto {
  const mode = (stringAttr(node, 'mode') ?? 'nearest').toLowerCase();
  const linear = mode === 'linear' || mode === 'bilinear';
  if (!linear && mode !== 'nearest') return edit.refuse(node, `has mode '${mode}', which is not one Resize-10 or Upsample defines`);
  const attribute = [makeStringAttr('mode', linear ? 'linear' : 'nearest'), makeStringAttr('coordinate_transformation_mode', 'asymmetric')];
  if (!linear) attribute.push(makeStringAttr('nearest_mode', 'floor'));
  return edited(node, { opType: 'Resize', input: [node.input[0]!, '', scales], attribute });
}

const resize: Rewrite = (node, edit) => {
  if (crosses(edit, 11) && edit.from < 11) return [resizeFromScales(node, edit, node.input[1]!)];
  if (!crosses(edit, 13) || stringAttr(node, 'coordinate_transformation_mode') !== 'tf_half_pixel_for_nn') return [node];
  // tf_half_pixel_for_nn samples at (x + 0.5) / scale = half_pixel's coordinate + 0.5, so
  // floor of it is rounding half_pixel's half up, and round-half-down of it is ceil.
  const rounding = stringAttr(node, 'nearest_mode') ?? 'round_prefer_floor';
  const equivalent: Record<string, string> = { floor: 'round_prefer_ceil', round_prefer_floor: 'ceil' };
  if ((stringAttr(node, 'mode') ?? 'nearest') !== 'nearest' || !equivalent[rounding]) {
    return edit.refuse(node, `uses coordinate_transformation_mode tf_half_pixel_for_nn with nearest_mode ${rounding}, which opset 13 cannot express`);
  }
  return [withAttr(withAttr(node, makeStringAttr('coordinate_transformation_mode', 'half_pixel')), makeStringAttr('nearest_mode', equivalent[rounding]!))];
};

const upsample: Rewrite = (node, edit) => {
  let scales = node.input[1];
  if (!scales) {
    const values = attr(node, 'scales')?.floats;
    const h = floatAttr(node, 'height_scale');
    const w = floatAttr(node, 'width_scale');
    const list = values && values.length > 0 ? [...values] : h !== undefined && w !== undefined ? [1, 1, h, w] : undefined;
    if (!list) return edit.refuse(node, 'has no scales');
    scales = edit.floats(`${node.name || 'Upsample'}_scales`, list);
  }
  return [resizeFromScales(node, edit, scales)];
};

const slice: Rewrite = (node, edit) => {
  if (!crosses(edit, 10)) return [node];
  let out = attrToInput(node, edit, 'starts', 1);
  out = attrToInput(out, edit, 'ends', 2);
  return [attrToInput(out, edit, 'axes', 3)];
};

/** Before 13 these ran on the input flattened to 2-D at `axis` (default 1); from 13 on `axis` alone (default -1). */
const softmaxFamily: Rewrite = (node, edit) => {
  if (!crosses(edit, 13)) return [node];
  const axis = Number(intAttr(node, 'axis') ?? 1n);
  const rank = edit.ranks.get(node.input[0]!);
  // Flattening at the last axis leaves every row whole: the old and new meanings agree.
  if (rank !== undefined && (axis < 0 ? rank + axis : axis) === rank - 1) return [withAttr(node, makeIntAttr('axis', -1))];
  const base = node.name || node.opType;
  const flatten = edit.node(base, 'Flatten', [node.input[0]!], 1, [makeIntAttr('axis', axis)]);
  const op = edit.node(base, node.opType, [flatten.output[0]!], 1, [makeIntAttr('axis', -1)]);
  const shape = edit.node(base, 'Shape', [node.input[0]!]);
  const back = edited(node, { opType: 'Reshape', input: [op.output[0]!, shape.output[0]!], attribute: [] });
  return [flatten, op, shape, back];
};

const split: Rewrite = (node, edit) => {
  let out = crosses(edit, 13) ? attrToInput(node, edit, 'split', 1) : node;
  if (crosses(edit, 18) && !out.input[1] && !attr(out, 'num_outputs')) out = withAttr(out, makeIntAttr('num_outputs', out.output.length));
  return [out];
};

const axesAt13: Rewrite = (node, edit) => (crosses(edit, 13) ? [attrToInput(node, edit, 'axes', 1)] : [node]);

const topK: Rewrite = (node, edit) => {
  if (!crosses(edit, 10)) return [node];
  const k = intAttr(node, 'k');
  if (k === undefined) return edit.refuse(node, 'has no k');
  return [edited(withoutAttrs(node, 'k'), { input: [node.input[0]!, edit.int64s(`${node.name || 'TopK'}_k`, [k])] })];
};

/** Tile-1 took a scalar `tiles` count and the `axis` to repeat along; Tile-6 one repeat per axis. */
const tile: Rewrite = (node, edit) => {
  if (!crosses(edit, 6) || node.input.length < 3) return [node];
  const scalar = (name: string) => {
    const t = edit.initializer(name);
    if (!t || t.dims.reduce((a, d) => a * Number(d), 1) !== 1) return undefined;
    const bytes = new Uint8Array(t.rawData);
    if (t.rawData.byteLength === 8) return Number(new DataView(bytes.buffer).getBigInt64(0, true));
    if (t.int64Data.length === 1) return Number(t.int64Data[0]);
    return undefined;
  };
  const tiles = scalar(node.input[1]!);
  const axis = scalar(node.input[2]!);
  const rank = edit.ranks.get(node.input[0]!);
  if (tiles === undefined || axis === undefined || rank === undefined) return edit.refuse(node, 'is Tile-1 with tiles/axis that are not int64 constants or an input of unknown rank');
  const repeats = Array.from({ length: rank }, (_, i) => (i === axis ? tiles : 1));
  return [edited(node, { input: [node.input[0]!, edit.int64s(`${node.name || 'Tile'}_repeats`, repeats)] })];
};

const roiAlign: Rewrite = (node, edit) =>
  crosses(edit, 16) && !attr(node, 'coordinate_transformation_mode') ? [withAttr(node, makeStringAttr('coordinate_transformation_mode', 'output_half_pixel'))] : [node];

const gridSample: Rewrite = (node, edit) => {
  const mode = stringAttr(node, 'mode');
  const renamed: Record<string, string> = { bilinear: 'linear', bicubic: 'cubic' };
  return crosses(edit, 20) && mode && renamed[mode] ? [withAttr(node, makeStringAttr('mode', renamed[mode]))] : [node];
};

/**
 * GroupNormalization-18 took one scale and bias per group; 21 takes one per channel. Each group's
 * value is repeated over its C / G channels, computed from the input's shape at run time:
 * Reshape(Expand(Unsqueeze(v, [1]), [G, C / G]), [-1]).
 */
const groupNormalization: Rewrite = (node, edit) => {
  if (!crosses(edit, 21)) return [node];
  const groups = intAttr(node, 'num_groups');
  if (groups === undefined) return edit.refuse(node, 'has no num_groups');
  const base = node.name || 'GroupNormalization';
  const shape = edit.node(base, 'Shape', [node.input[0]!], 1, [makeIntAttr('start', 1), makeIntAttr('end', 2)]);
  const perGroup = edit.node(base, 'Div', [shape.output[0]!, edit.int64s(`${base}_groups`, [groups])]);
  const expandShape = edit.node(base, 'Concat', [edit.int64s(`${base}_groups_first`, [groups]), perGroup.output[0]!], 1, [makeIntAttr('axis', 0)]);
  const nodes = [shape, perGroup, expandShape];
  const flat = edit.int64s(`${base}_flat`, [-1]);
  const column = edit.int64s(`${base}_axis1`, [1]);
  const perChannel = (value: string): string => {
    const unsqueeze = edit.node(base, 'Unsqueeze', [value, column]);
    const expand = edit.node(base, 'Expand', [unsqueeze.output[0]!, expandShape.output[0]!]);
    const reshape = edit.node(base, 'Reshape', [expand.output[0]!, flat]);
    nodes.push(unsqueeze, expand, reshape);
    return reshape.output[0]!;
  };
  const scale = perChannel(node.input[1]!);
  const bias = perChannel(node.input[2]!);
  return [...nodes, edited(node, { input: [node.input[0]!, scale, bias] })];
};

const scan: Rewrite = (node, edit) => {
  if (crosses(edit, 9)) return edit.refuse(node, "is Scan-8, whose batch axis and sequence_lens input opset 9 removed");
  return [node];
};

const scatter: Rewrite = (node, edit) => (crosses(edit, 11) ? [edited(node, { opType: 'ScatterElements' })] : [node]);

/** The experimental operators of opset 1-9 that the default domain dropped at 10, in terms of standard ones. */
const experimental = (build: (node: NodeProto, edit: GraphEdit) => NodeProto[]): Rewrite => (node, edit) => (crosses(edit, 10) ? build(node, edit) : [node]);

const scaledActivation = (inner: string): Rewrite =>
  experimental((node, edit) => {
    const base = node.name || node.opType;
    const pre = edit.node(base, 'Mul', [node.input[0]!, typedScalar(node, edit, 'beta', floatAttr(node, 'beta') ?? 1)]);
    const act = edit.node(base, inner, [pre.output[0]!]);
    return [pre, act, edited(node, { opType: 'Mul', input: [act.output[0]!, typedScalar(node, edit, 'alpha', floatAttr(node, 'alpha') ?? 1)], attribute: [] })];
  });

const imageScaler = experimental((node, edit) => {
  if (dataType(node, edit, 'its scale and bias') !== T.FLOAT) return edit.refuse(node, 'is not float32, the only type its bias can be written in here');
  const base = node.name || 'ImageScaler';
  const bias = attr(node, 'bias')?.floats ?? [];
  const scaled = edit.node(base, 'Mul', [node.input[0]!, edit.floats(`${base}_scale`, [floatAttr(node, 'scale') ?? 1], [])]);
  return [scaled, edited(node, { opType: 'Add', input: [scaled.output[0]!, edit.floats(`${base}_bias`, [...bias], [1, bias.length, 1, 1])], attribute: [] })];
});

// --- the table ---

const binary = (versions: number[]): OperatorHistory => ({ versions, rewrite: legacyBroadcast });
const same = (versions: number[]): OperatorHistory => ({ versions });

/**
 * Per operator, ONNX's versions and the rewrite that carries a node across them. An absent
 * rewrite, or a version the rewrite does not mention, is a change that kept old nodes' meaning:
 * types added (bfloat16 at 13, more integer types at 12/14/19/21-25, float8 at 19), new
 * attributes or optional inputs with a default that keeps the old behaviour (AveragePool
 * count_include_pad@7, ceil_mode@10, dilations@19; MaxPool storage_order/Indices@8,
 * ceil_mode/dilations@10; ArgMax/ArgMin select_last_index@12; TopK largest/sorted@11;
 * DepthToSpace mode@11; GatherND batch_dims@12; Reshape allowzero@14; Shape start/end@15;
 * LSTM/GRU/RNN layout@14; Pad axes@18; Resize antialias/axes/keep_aspect_ratio_policy@18;
 * ScatterElements and ScatterND reduction@16/18; Cast saturate@19; Q/DQ axis@13 and block_size@21;
 * LpPool ceil_mode@18; Gemm's optional C@11; Max/Min/Sum/Mean broadcasting@8, a superset of
 * the equal shapes before), and negative axes or indices made legal at 11.
 */
export const OPERATOR_HISTORY: Readonly<Record<string, OperatorHistory>> = {
  Abs: same([1, 6, 13]), Acos: same([7, 22]), Acosh: same([9, 22]), Add: binary([1, 6, 7, 13, 14]), And: binary([1, 7]),
  ArgMax: same([1, 11, 12, 13]), ArgMin: same([1, 11, 12, 13]), Asin: same([7, 22]), Asinh: same([9, 22]), Atan: same([7, 22]), Atanh: same([9, 22]),
  AveragePool: same([1, 7, 10, 11, 19, 22]),
  BatchNormalization: { versions: [1, 6, 7, 9, 14, 15], rewrite: batchNormalization },
  Cast: { versions: [1, 6, 9, 13, 19, 21, 23, 24, 25], rewrite: cast }, CastLike: same([15, 19, 21, 23, 24, 25]), Ceil: same([1, 6, 13]), Celu: same([12]),
  Clip: { versions: [1, 6, 11, 12, 13], rewrite: clip },
  Concat: { versions: [1, 4, 11, 13], rewrite: concat }, Constant: same([1, 9, 11, 12, 13, 19, 21, 23, 24, 25]), ConstantOfShape: same([9, 20, 21, 23, 24, 25]),
  Conv: same([1, 11, 22]), ConvTranspose: same([1, 11, 22]), Cos: same([7, 22]), Cosh: same([9, 22]), CumSum: same([11, 14]), DeformConv: same([19, 22]),
  DepthToSpace: same([1, 11, 13]), DequantizeLinear: same([10, 13, 19, 21, 23, 24, 25]), Div: binary([1, 6, 7, 13, 14]),
  Dropout: { versions: [1, 6, 7, 10, 12, 13, 22], rewrite: dropout }, Einsum: same([12]), Elu: same([1, 6, 22]),
  Equal: binary([1, 7, 11, 13, 19]), Erf: same([9, 13]), Exp: same([1, 6, 13]), Expand: same([8, 13]), EyeLike: same([9, 22]), Flatten: same([1, 9, 11, 13, 21, 23, 24, 25]),
  Floor: same([1, 6, 13]), GRU: { versions: [1, 3, 7, 14, 22], rewrite: dropOnly('output_sequence') }, Gather: same([1, 11, 13]), GatherElements: same([11, 13]),
  GatherND: same([11, 12, 13]), Gelu: same([20]), Gemm: { versions: [1, 6, 7, 9, 11, 13], rewrite: dropOnly('broadcast') }, GlobalAveragePool: same([1, 22]),
  GlobalLpPool: { versions: [1, 2, 22], rewrite: lpPool }, GlobalMaxPool: same([1, 22]), Greater: binary([1, 7, 9, 13]), GreaterOrEqual: same([12, 16]),
  GridSample: { versions: [16, 20, 22], rewrite: gridSample }, GroupNormalization: { versions: [18, 21], rewrite: groupNormalization },
  HardSigmoid: same([1, 6, 22]), HardSwish: same([14, 22]), Hardmax: { versions: [1, 11, 13], rewrite: softmaxFamily },
  Identity: same([1, 13, 14, 16, 19, 21, 23, 24, 25]), If: same([1, 11, 13, 16, 19, 21, 23, 24, 25]), InstanceNormalization: same([1, 6, 22]),
  IsInf: same([10, 20]), IsNaN: same([9, 13, 20]), LRN: same([1, 13]), LSTM: { versions: [1, 7, 14, 22], rewrite: dropOnly('output_sequence') },
  LayerNormalization: same([17]), LeakyRelu: same([1, 6, 16]), Less: binary([1, 7, 9, 13]), LessOrEqual: same([12, 16]), Log: same([1, 6, 13]),
  LogSoftmax: { versions: [1, 11, 13], rewrite: softmaxFamily }, Loop: same([1, 11, 13, 16, 19, 21, 23, 24, 25]), LpNormalization: same([1, 22]),
  LpPool: { versions: [1, 2, 11, 18, 22], rewrite: lpPool }, MatMul: same([1, 9, 13]), Max: same([1, 6, 8, 12, 13]), MaxPool: same([1, 8, 10, 11, 12, 22]),
  Mean: same([1, 6, 8, 13]), MeanVarianceNormalization: { versions: [9, 13], rewrite: meanVarianceNormalization }, Min: same([1, 6, 8, 12, 13]),
  Mish: same([18, 22]), Mod: same([10, 13]), Mul: binary([1, 6, 7, 13, 14]), Neg: same([1, 6, 13]), NonMaxSuppression: same([10, 11]), NonZero: same([9, 13]),
  Not: same([1]), OneHot: same([9, 11]), Or: binary([1, 7]), PRelu: { versions: [1, 6, 7, 9, 16], rewrite: prelu },
  Pad: { versions: [1, 2, 11, 13, 18, 19, 21, 23, 24, 25], rewrite: pad }, Pow: binary([1, 7, 12, 13, 15]), QuantizeLinear: same([10, 13, 19, 21, 23, 24, 25]),
  RNN: { versions: [1, 7, 14, 22], rewrite: dropOnly('output_sequence') }, RandomNormal: same([1, 22]), RandomNormalLike: same([1, 22]),
  RandomUniform: same([1, 22]), RandomUniformLike: same([1, 22]), Range: same([11]), Reciprocal: same([1, 6, 13]),
  ReduceL1: { versions: [1, 11, 13, 18], rewrite: reduceAt(18) }, ReduceL2: { versions: [1, 11, 13, 18], rewrite: reduceAt(18) },
  ReduceLogSum: { versions: [1, 11, 13, 18], rewrite: reduceAt(18) }, ReduceLogSumExp: { versions: [1, 11, 13, 18], rewrite: reduceAt(18) },
  ReduceMax: { versions: [1, 11, 12, 13, 18, 20], rewrite: reduceAt(18) }, ReduceMean: { versions: [1, 11, 13, 18], rewrite: reduceAt(18) },
  ReduceMin: { versions: [1, 11, 12, 13, 18, 20], rewrite: reduceAt(18) }, ReduceProd: { versions: [1, 11, 13, 18], rewrite: reduceAt(18) },
  ReduceSum: { versions: [1, 11, 13], rewrite: reduceAt(13) }, ReduceSumSquare: { versions: [1, 11, 13, 18], rewrite: reduceAt(18) },
  Relu: same([1, 6, 13, 14]), Reshape: { versions: [1, 5, 13, 14, 19, 21, 23, 24, 25], rewrite: reshape },
  Resize: { versions: [10, 11, 13, 18, 19], rewrite: resize }, ReverseSequence: same([10]), RoiAlign: { versions: [10, 16, 22], rewrite: roiAlign }, Round: same([11, 22]),
  Scan: { versions: [8, 9, 11, 16, 19, 21, 23, 24, 25], rewrite: scan }, Scatter: { versions: [9, 11], rewrite: scatter }, ScatterElements: same([11, 13, 16, 18]),
  ScatterND: same([11, 13, 16, 18]), Selu: same([1, 6, 22]), Shape: same([1, 13, 15, 19, 21, 23, 24, 25]), Shrink: same([9]), Sigmoid: same([1, 6, 13]),
  Sign: same([9, 13]), Sin: same([7, 22]), Sinh: same([9, 22]), Size: same([1, 13, 19, 21, 23, 24, 25]), Slice: { versions: [1, 10, 11, 13], rewrite: slice },
  Softmax: { versions: [1, 11, 13], rewrite: softmaxFamily }, Softplus: same([1, 22]), Softsign: same([1, 22]), SpaceToDepth: same([1, 13]),
  Split: { versions: [1, 2, 11, 13, 18], rewrite: split }, Sqrt: same([1, 6, 13]), Squeeze: { versions: [1, 11, 13, 21, 23, 24, 25], rewrite: axesAt13 },
  Sub: binary([1, 6, 7, 13, 14]), Sum: same([1, 6, 8, 13]), Tan: same([7, 22]), Tanh: same([1, 6, 13]), ThresholdedRelu: same([10, 22]),
  Tile: { versions: [1, 6, 13], rewrite: tile }, TopK: { versions: [1, 10, 11, 24], rewrite: topK }, Transpose: same([1, 13, 21, 23, 24, 25]), Trilu: same([14]),
  Unsqueeze: { versions: [1, 11, 13, 21, 23, 24, 25], rewrite: axesAt13 }, Upsample: { versions: [1, 7, 9, 10], rewrite: upsample }, Where: same([9, 16]),
  Xor: binary([1, 7]),
  // Experimental before opset 10 (not in the changelog), removed from the default domain at 10.
  ImageScaler: { versions: [1], rewrite: imageScaler },
  ScaledTanh: { versions: [1], rewrite: scaledActivation('Tanh') },
  ParametricSoftplus: { versions: [1], rewrite: scaledActivation('Softplus') },
};
