/**
 * How far a reduced-precision engine strays from its float32 reference: per output, the
 * cosine similarity, the largest absolute error, the relative error (||c - r|| / ||r||), how
 * many values came out NaN or ±Inf, and for outputs that hold class scores, how often both pick
 * the same top-1 class. Both sessions run the same inputs, which should be the user's data: on
 * random inputs a model can look fine and still overflow on real ones.
 */
import type { ModelProto } from 'onnx-buf';

import { cosineSimilarity } from '../cosine-similarity.js';
import { ShapeError } from '../errors.js';
import type { Feeds } from '../execution-context.js';
import type { InferenceSession } from '../inference-session.js';
import type { Tensor } from '../tensor.js';
import { expectObject, invalid } from '../validate.js';

export interface OutputAccuracy {
  name: string;
  /**
   * Cosine similarity of all the output's values over all samples (see cosineSimilarity: 1 for
   * two all-zero outputs, 0 for one); NaN when any value is NaN or ±Inf.
   */
  cosineSimilarity: number;
  /** Largest |candidate - reference|; NaN when any value is NaN, Infinity when one is ±Inf. */
  maxAbsError: number;
  /** ||candidate - reference|| / ||reference|| (Euclidean norms over all values; NaN for a zero reference). */
  relativeError: number;
  /** NaN and ±Inf values in the candidate's output (and, separately, in the reference's). */
  nanCount: number;
  infCount: number;
  referenceNonFinite: number;
  /** Number of values compared. */
  values: number;
  /**
   * For outputs holding class scores only (see compareAccuracy): the share of rows (all but
   * the last axis) whose argmax over the last axis agrees. Absent for other outputs.
   */
  top1Agreement?: number;
}

export interface AccuracyReport {
  samples: number;
  outputs: OutputAccuracy[];
}

export interface CompareOptions {
  /**
   * Outputs known to hold class scores (a classifier's Softmax, say; see classScoreOutputs),
   * which get top-1 agreement whatever their values look like.
   */
  classOutputs?: Iterable<string>;
}

/** A row of probabilities sums to 1 within this (float32 softmax rounding is far smaller). */
const ROW_SUM_TOLERANCE = 1e-3;

interface Totals {
  maxAbs: number;
  dot: number;
  refNorm: number;
  candNorm: number;
  diffNorm: number;
  nan: number;
  inf: number;
  refNonFinite: number;
  values: number;
  rows: number;
  agree: number;
  /** Every reference row so far was non-negative and summed to ~1 over a last axis of >= 2. */
  probabilities: boolean;
}

function newTotals(): Totals {
  return { maxAbs: 0, dot: 0, refNorm: 0, candNorm: 0, diffNorm: 0, nan: 0, inf: 0, refNonFinite: 0, values: 0, rows: 0, agree: 0, probabilities: true };
}

function accumulate(totals: Totals, reference: Tensor, candidate: Tensor): void {
  const r = reference.toFloat32();
  const c = candidate.toFloat32();
  for (let i = 0; i < r.length; i++) {
    const a = r[i]!;
    const b = c[i]!;
    if (Number.isNaN(b)) totals.nan++;
    else if (!Number.isFinite(b)) totals.inf++;
    if (!Number.isFinite(a)) totals.refNonFinite++;
    const d = Math.abs(a - b);
    // Math.max drops nothing: a NaN difference makes the maximum NaN.
    totals.maxAbs = Number.isNaN(d) || Number.isNaN(totals.maxAbs) ? NaN : Math.max(totals.maxAbs, d);
    totals.dot += a * b;
    totals.refNorm += a * a;
    totals.candNorm += b * b;
    totals.diffNorm += (a - b) * (a - b);
  }
  totals.values += r.length;
  const width = reference.dims.length > 0 ? reference.dims[reference.dims.length - 1]! : 0;
  if (width < 2) {
    totals.probabilities = false;
    return;
  }
  for (let row = 0; row + width <= r.length; row += width) {
    let ra = row;
    let ca = row;
    let sum = 0;
    for (let k = row; k < row + width; k++) {
      if (r[k]! < 0) totals.probabilities = false;
      sum += r[k]!;
      if (r[k]! > r[ra]!) ra = k;
      if (c[k]! > c[ca]!) ca = k;
    }
    if (!(Math.abs(sum - 1) <= ROW_SUM_TOLERANCE)) totals.probabilities = false;
    totals.rows++;
    if (ra === ca) totals.agree++;
  }
}

function summarize(name: string, t: Totals, classOutput: boolean): OutputAccuracy {
  const nonFinite = t.nan + t.inf + t.refNonFinite > 0;
  const cosine = nonFinite ? NaN : cosineSimilarity(t.dot, t.refNorm, t.candNorm);
  const out: OutputAccuracy = {
    name,
    cosineSimilarity: cosine,
    maxAbsError: t.maxAbs,
    relativeError: t.refNorm === 0 ? (t.diffNorm === 0 ? 0 : NaN) : Math.sqrt(t.diffNorm / t.refNorm),
    nanCount: t.nan,
    infCount: t.inf,
    referenceNonFinite: t.refNonFinite,
    values: t.values,
  };
  if (t.rows > 0 && (classOutput || t.probabilities)) out.top1Agreement = t.agree / t.rows;
  return out;
}

/**
 * Runs `reference` and `candidate` on every feed and compares their outputs. Top-1 agreement
 * is reported for outputs that look like class scores: a last axis of size >= 2 whose rows, in
 * the reference, are non-negative and sum to 1 (within 1e-3), or outputs named in
 * `options.classOutputs`; for others (embeddings, regressions, logits of unknown meaning) it
 * would mean nothing.
 * @throws as InferenceSession.run; Error if the sessions' outputs differ in name or shape;
 *   InvalidArgumentError for options that are not an object or classOutputs that is not an
 *   iterable of strings
 */
export async function compareAccuracy(
  reference: InferenceSession,
  candidate: InferenceSession,
  inputs: Iterable<Feeds> | AsyncIterable<Feeds>,
  options: CompareOptions = {},
): Promise<AccuracyReport> {
  const o = expectObject(options, 'compareAccuracy options') as CompareOptions;
  const classOutputs = new Set<string>();
  if (o.classOutputs !== undefined) {
    if (typeof o.classOutputs !== 'object' || o.classOutputs === null || !(Symbol.iterator in o.classOutputs)) invalid('an iterable of output names', 'classOutputs', o.classOutputs);
    for (const name of o.classOutputs) {
      if (typeof name !== 'string') invalid('an iterable of output names', 'classOutputs', o.classOutputs);
      classOutputs.add(name);
    }
  }
  const totals = new Map<string, Totals>();
  let samples = 0;
  for await (const feeds of inputs) {
    const [r, c] = await Promise.all([reference.run(feeds), candidate.run(feeds)]);
    for (const name of reference.outputNames) {
      const rt = r[name]!;
      const ct = c[name];
      if (!ct || ct.dims.join() !== rt.dims.join()) {
        const dims = (t: Tensor | undefined) => (t ? `[${t.dims.join(', ')}]` : 'no such output');
        throw new ShapeError(`output '${name}' differs in shape between the two engines (${dims(rt)} against ${dims(ct)}): compare engines built from the same model`);
      }
      let t = totals.get(name);
      if (!t) totals.set(name, (t = newTotals()));
      accumulate(t, rt, ct);
    }
    samples++;
  }
  return { samples, outputs: [...totals].map(([name, t]) => summarize(name, t, classOutputs.has(name))) };
}

/** Ops that pass values through unchanged in meaning, looked through when finding a classifier's Softmax. */
const PASS_THROUGH = new Set(['Identity', 'Reshape', 'Flatten', 'Squeeze', 'Unsqueeze', 'Cast']);

/** Graph outputs that a Softmax or LogSoftmax produces (through reshapes and casts): class scores. */
export function classScoreOutputs(model: ModelProto): string[] {
  const graph = model.graph;
  if (!graph) return [];
  const producer = new Map<string, (typeof graph.node)[number]>();
  for (const node of graph.node) for (const o of node.output) producer.set(o, node);
  return graph.output
    .map((o) => o.name)
    .filter((name) => {
      let node = producer.get(name);
      for (let depth = 0; node && PASS_THROUGH.has(node.opType) && depth < 16; depth++) node = producer.get(node.input[0] ?? '');
      return node !== undefined && (node.opType === 'Softmax' || node.opType === 'LogSoftmax');
    });
}

/** Five decimals, or for a cosine within 1e-5 of 1 its distance from 1, which five decimals would round away. */
function formatCosine(c: number): string {
  return c < 1 && 1 - c < 1e-5 ? `1 - ${(1 - c).toExponential(1)}` : c.toFixed(5);
}

/** Reasons to distrust a report: NaN/Inf values or a cosine below `minCosine`, one line per output. */
export function accuracyProblems(report: AccuracyReport, minCosine = 0.99): string[] {
  const problems: string[] = [];
  for (const o of report.outputs) {
    if (o.nanCount + o.infCount > 0) problems.push(`output '${o.name}' has ${o.nanCount} NaN and ${o.infCount} Inf values of ${o.values}`);
    else if (!(o.cosineSimilarity >= minCosine)) problems.push(`output '${o.name}' has cosine ${formatCosine(o.cosineSimilarity)} < ${minCosine}`);
  }
  return problems;
}

/** One line per output, for the CLI and logs. */
export function formatAccuracyReport(report: AccuracyReport): string {
  return report.outputs
    .map((o) => {
      const parts = [`max |error| ${o.maxAbsError.toExponential(2)}`, `cosine ${o.cosineSimilarity.toFixed(5)}`, `relative error ${o.relativeError.toExponential(2)}`];
      if (o.top1Agreement !== undefined) parts.push(`top-1 agreement ${(o.top1Agreement * 100).toFixed(1)}%`);
      if (o.nanCount + o.infCount > 0) parts.push(`${o.nanCount} NaN, ${o.infCount} Inf of ${o.values} values`);
      return `${o.name}: ${parts.join(', ')} (${report.samples} samples)`;
    })
    .join('\n');
}
