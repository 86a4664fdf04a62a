/**
 * How far a reduced-precision engine strays from its float32 reference: per output, the
 * largest absolute error, the cosine similarity, and (for outputs with a class axis) how often
 * both pick the same top-1 class. Both sessions run the same held-out inputs.
 */
import type { Feeds } from '../execution-context.js';
import type { InferenceSession } from '../inference-session.js';
import type { Tensor } from '../tensor.js';

export interface OutputAccuracy {
  name: string;
  maxAbsError: number;
  cosineSimilarity: number;
  /** Share of rows (all but the last axis) whose argmax over the last axis agrees; NaN for scalars. */
  top1Agreement: number;
}

export interface AccuracyReport {
  samples: number;
  outputs: OutputAccuracy[];
}

function values(t: Tensor): Float32Array {
  return t.toFloat32();
}

interface Totals {
  maxAbs: number;
  dot: number;
  refNorm: number;
  candNorm: number;
  rows: number;
  agree: number;
}

function accumulate(totals: Totals, reference: Tensor, candidate: Tensor): void {
  const r = values(reference);
  const c = values(candidate);
  for (let i = 0; i < r.length; i++) {
    totals.maxAbs = Math.max(totals.maxAbs, Math.abs(r[i]! - c[i]!));
    totals.dot += r[i]! * c[i]!;
    totals.refNorm += r[i]! * r[i]!;
    totals.candNorm += c[i]! * c[i]!;
  }
  const width = reference.dims.length > 0 ? reference.dims[reference.dims.length - 1]! : 0;
  if (width < 2) return;
  for (let row = 0; row + width <= r.length; row += width) {
    let ra = row;
    let ca = row;
    for (let k = row + 1; k < row + width; k++) {
      if (r[k]! > r[ra]!) ra = k;
      if (c[k]! > c[ca]!) ca = k;
    }
    totals.rows++;
    if (ra === ca) totals.agree++;
  }
}

/**
 * Runs `reference` and `candidate` on every feed and compares their outputs.
 * @throws as InferenceSession.run; Error if the sessions' outputs differ in name or shape
 */
export async function compareAccuracy(reference: InferenceSession, candidate: InferenceSession, inputs: Iterable<Feeds> | AsyncIterable<Feeds>): Promise<AccuracyReport> {
  const totals = new Map<string, Totals>();
  let samples = 0;
  for await (const feeds of inputs) {
    const [r, c] = await Promise.all([reference.run(feeds), candidate.run(feeds)]);
    for (const name of reference.outputNames) {
      const rt = r[name]!;
      const ct = c[name];
      if (!ct || ct.dims.join() !== rt.dims.join()) throw new Error(`output '${name}' differs in shape between the two engines`);
      let t = totals.get(name);
      if (!t) totals.set(name, (t = { maxAbs: 0, dot: 0, refNorm: 0, candNorm: 0, rows: 0, agree: 0 }));
      accumulate(t, rt, ct);
    }
    samples++;
  }
  const outputs = [...totals].map(([name, t]) => ({
    name,
    maxAbsError: t.maxAbs,
    cosineSimilarity: t.refNorm === 0 && t.candNorm === 0 ? 1 : t.dot / Math.sqrt(t.refNorm * t.candNorm),
    top1Agreement: t.rows > 0 ? t.agree / t.rows : NaN,
  }));
  return { samples, outputs };
}

/** One line per output, for the CLI and logs. */
export function formatAccuracyReport(report: AccuracyReport): string {
  return report.outputs
    .map((o) => `${o.name}: max |error| ${o.maxAbsError.toExponential(2)}, cosine ${o.cosineSimilarity.toFixed(5)}` + (Number.isNaN(o.top1Agreement) ? '' : `, top-1 agreement ${(o.top1Agreement * 100).toFixed(1)}%`) + ` (${report.samples} samples)`)
    .join('\n');
}
