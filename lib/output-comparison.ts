/**
 * compareOutputs: how far one run's output is from a reference run's, as Polygraphy's
 * `run --trt --onnxrt` judges it: elementwise |candidate - reference| <= atol + rtol *
 * |reference| (numpy's allclose), plus the largest absolute and relative errors and the
 * cosine similarity.
 */
import { cosineSimilarity } from './cosine-similarity.js';
import type { Tensor } from './tensor.js';

export interface Tolerances {
  atol: number;
  rtol: number;
}

export interface OutputDifference {
  /** Elements compared (0 when the shapes differ). */
  count: number;
  maxAbsError: number;
  /** max |candidate - reference| / |reference| over elements where the reference is not 0. */
  maxRelError: number;
  /**
   * 1 for identical directions (two all-zero outputs included), 0 for an all-zero output
   * against a non-zero one; NaN elements are left out, an infinite one makes it NaN.
   */
  cosine: number;
  /** Elements outside atol + rtol * |reference| (NaN against a number counts; NaN against NaN does not). */
  mismatches: number;
  /** Whether the shapes agree; when they do not, nothing else was compared. */
  shapesMatch: boolean;
}

function values(t: Tensor): Float64Array {
  return t.dtype === 'int64' ? Float64Array.from(t.data as BigInt64Array, Number) : Float64Array.from(t.toFloat32());
}

/** Compares `candidate` with `reference` element by element. */
export function compareOutputs(reference: Tensor, candidate: Tensor, tolerances: Tolerances): OutputDifference {
  const shapesMatch = reference.dims.length === candidate.dims.length && reference.dims.every((d, i) => d === candidate.dims[i]);
  if (!shapesMatch) return { count: 0, maxAbsError: NaN, maxRelError: NaN, cosine: NaN, mismatches: 0, shapesMatch };
  const r = values(reference);
  const c = values(candidate);
  let maxAbsError = 0;
  let maxRelError = 0;
  let dot = 0;
  let rNorm = 0;
  let cNorm = 0;
  let mismatches = 0;
  for (let i = 0; i < r.length; i++) {
    const a = r[i]!;
    const b = c[i]!;
    if (Number.isNaN(a) || Number.isNaN(b)) {
      if (!(Number.isNaN(a) && Number.isNaN(b))) mismatches++;
      continue;
    }
    // Equal infinities differ by nothing (Infinity - Infinity would be NaN).
    const abs = a === b ? 0 : Math.abs(b - a);
    maxAbsError = Math.max(maxAbsError, abs);
    if (a !== 0) maxRelError = Math.max(maxRelError, abs / Math.abs(a));
    if (abs !== 0 && !(abs <= tolerances.atol + tolerances.rtol * Math.abs(a))) mismatches++;
    dot += a * b;
    rNorm += a * a;
    cNorm += b * b;
  }
  return { count: r.length, maxAbsError, maxRelError, cosine: cosineSimilarity(dot, rNorm, cNorm), mismatches, shapesMatch };
}
