/**
 * Running a model over held-out validation batches on one backend, and scoring a candidate's
 * outputs against a reference's: what the accuracy-targeted precision searches (INT8 and FP16)
 * measure every candidate with. The batches are kept in memory, since every candidate reruns
 * them; a batch's inputs may differ in shape from another's (one profile spans them all).
 */
import type { BackendOption } from '../backend.js';
import { buildEngine, type ProfileEntry } from '../build-engine.js';
import { CalibrationBatchReader } from '../calibration/calibration-data.js';
import { type CalibrationData, isCalibrationData } from '../calibration/collect-statistics.js';
import { cosineSimilarity } from '../cosine-similarity.js';
import { InvalidArgumentError } from '../errors.js';
import type { Feeds } from '../execution-context.js';
import { InferenceSession } from '../inference-session.js';
import { Tensor } from '../tensor.js';
import { describe, invalid } from '../validate.js';

/** Where candidates are built and run. */
export interface RunPlace {
  backend: BackendOption;
  device?: number | undefined;
  plugins?: readonly string[] | undefined;
}

/** Checks an accuracy target's `minCosine` and `validationData`, named as `what`.minCosine and so on. */
export function checkTarget(minCosine: unknown, validationData: unknown, what: string): { minCosine: number; validationData: CalibrationData } {
  if (typeof minCosine !== 'number' || !(minCosine > -1 && minCosine <= 1)) invalid('a number in (-1, 1], such as 0.99', `${what}minCosine`, minCosine);
  if (!isCalibrationData(validationData)) invalid('an Iterable or AsyncIterable of feeds (input name -> Tensor)', `${what}validationData`, validationData);
  return { minCosine, validationData };
}

/** One run's outputs, per batch: output name -> its values (as float32) and dims. */
export type RunOutputs = Record<string, { values: Float32Array; dims: number[] }>[];

/**
 * Reads `data` once into memory, checking each batch is an object of Tensors holding `inputs`.
 * @throws InvalidArgumentError for data that is not iterable, a malformed batch, or no batch at all
 */
export async function readValidationData(data: CalibrationData, inputs: readonly string[], what: string): Promise<Feeds[]> {
  const batches: Feeds[] = [];
  const reader = new CalibrationBatchReader(data);
  try {
    for (let step = await reader.next(); !step.done; step = await reader.next()) {
      const batch = step.value as unknown;
      if (typeof batch !== 'object' || batch === null || Array.isArray(batch)) {
        throw new InvalidArgumentError(`Expected an object of Tensors (input name -> Tensor) for ${what} batch ${batches.length} but received ${describe(batch)}`);
      }
      const feeds: Feeds = {};
      for (const name of inputs) {
        const t = (batch as Record<string, unknown>)[name];
        if (!(t instanceof Tensor)) throw new InvalidArgumentError(`Expected a Tensor for input '${name}' in ${what} batch ${batches.length} but received ${describe(t)}`);
        // Copied: the caller may reuse or transfer its buffers while candidates are measured.
        feeds[name] = new Tensor(t.dtype, t.data.slice() as typeof t.data, [...t.dims]);
      }
      batches.push(feeds);
    }
  } finally {
    reader.close();
  }
  if (batches.length === 0) throw new InvalidArgumentError(`Expected at least one batch in ${what} but the iterable was empty`);
  return batches;
}

/** One optimization profile spanning every batch's input dims (opt: the first batch's). */
function profileOf(batches: readonly Feeds[]): Record<string, ProfileEntry> {
  const profile: Record<string, ProfileEntry> = {};
  for (const name of Object.keys(batches[0]!)) {
    const first = [...batches[0]![name]!.dims];
    const min = [...first];
    const max = [...first];
    for (const b of batches) {
      const dims = b[name]!.dims;
      if (dims.length !== first.length) throw new InvalidArgumentError(`Expected validation batches of one rank for input '${name}' but they hold ranks ${first.length} and ${dims.length}`);
      dims.forEach((d, k) => {
        min[k] = Math.min(min[k]!, d);
        max[k] = Math.max(max[k]!, d);
      });
    }
    profile[name] = { min, opt: first, max };
  }
  return profile;
}

/** Builds `model` at the batches' shapes on `place` and runs every batch through it. */
export async function runBatches(model: Uint8Array, batches: readonly Feeds[], place: RunPlace): Promise<RunOutputs> {
  const where = {
    ...(place.device !== undefined && { device: place.device }),
    ...(place.plugins !== undefined && { plugins: place.plugins }),
  };
  const engine = await buildEngine(model, { backend: place.backend, profiles: [profileOf(batches)], ...where });
  const session = await InferenceSession.create(engine, { backend: place.backend, ...where });
  try {
    const out: RunOutputs = [];
    for (const feeds of batches) {
      const result = await session.run(feeds);
      out.push(Object.fromEntries(Object.entries(result).map(([name, t]) => [name, { values: t.toFloat32(), dims: [...t.dims] }])));
    }
    return out;
  } finally {
    session.dispose();
  }
}

/** Batches a single-layer sensitivity is measured on: ranking needs an order, not the final figure. */
const RANK_BATCHES = 8;

/**
 * The worst output cosine of `model` against `reference` (the float run on `batches`): on every
 * batch to check a candidate, on the first few to rank a layer.
 */
export async function scoreCandidate(model: Uint8Array, reference: RunOutputs, batches: readonly Feeds[], place: RunPlace, phase: 'rank' | 'check'): Promise<number> {
  const n = phase === 'rank' ? Math.min(RANK_BATCHES, batches.length) : batches.length;
  return scoreOutputs(reference.slice(0, n), await runBatches(model, batches.slice(0, n), place)).worst;
}

export interface OutputCosine {
  name: string;
  /** Over every batch at once (float64 sums); NaN when the candidate produced NaN or Inf. */
  cosine: number;
}

/**
 * Cosine similarity per output of `candidate` against `reference` over all batches, and the
 * worst of them (NaN counts as the worst: it can never meet a target).
 */
export function scoreOutputs(reference: RunOutputs, candidate: RunOutputs): { worst: number; outputs: OutputCosine[] } {
  const outputs: OutputCosine[] = [];
  for (const name of Object.keys(reference[0] ?? {})) {
    let dot = 0;
    let rr = 0;
    let cc = 0;
    reference.forEach((r, b) => {
      const x = r[name]!.values;
      const y = candidate[b]![name]!.values;
      for (let i = 0; i < x.length; i++) {
        dot += x[i]! * y[i]!;
        rr += x[i]! * x[i]!;
        cc += y[i]! * y[i]!;
      }
    });
    outputs.push({ name, cosine: cosineSimilarity(dot, rr, cc) });
  }
  const worst = outputs.reduce((w, o) => (Number.isNaN(o.cosine) ? -Infinity : Math.min(w, o.cosine)), 1);
  return { worst: worst === -Infinity ? NaN : worst, outputs };
}
