/**
 * Method 'auto' of quantizeInt8: which clipping threshold each activation gets, judged by what
 * quantization does downstream rather than by the tensor's own histogram. Two steps, on the
 * first calibration batches (kept in memory while calibration streams them; int8.ts gives step
 * 1 the even ones and step 2 the odd ones, so that step 2 does not reward step 1's fit):
 *
 * 1. Per tensor, each candidate threshold (entropy, percentile 99.99 and 99.999, minmax) is
 *    tried on the layers that read the tensor: a copy of each quantized consumer reads the
 *    tensor through Q/DQ at that threshold (its other inputs float), and the relative squared
 *    error of its output against the float output is summed over the batches. The candidate
 *    with the least error, summed over the consumers, wins. The tensor's own mean squared
 *    error, which this replaces, favours clipping outliers that the next layer's weights
 *    amplify (the text recognizers' attention and SVTR blocks), and is blind to where the
 *    error lands.
 * 2. Per-layer choices are made one at a time and may compound; so the whole model quantized
 *    with them is scored end to end (worst output cosine against float32) on the batches step
 *    1 did not see, beside the model quantized with each single method. The single methods
 *    fit nothing to particular batches, so they are ranked on every kept batch: on the three
 *    check batches of a wake-word head (one score each), entropy led by 0.00005 and then
 *    trailed minmax by 0.0026 on the held-out windows; on all six, it does not lead. The
 *    best single method is kept unless the per-layer choice beats it clearly (MIX_MARGIN) on
 *    the check batches.
 *
 * Each tensor's least-error candidate (leastTensorErrorSet) does not compete in step 2: its
 * thresholds come from histograms of every kept batch, the check batches included, so its
 * check score is not a held-out one (on PP-OCRv3's detectors it led percentile 99.99 by 0.008
 * on the two check pages and trailed it by 0.007-0.020 on the held-out ones). It stands in only
 * where no single method covers every tensor.
 */
import { create } from '@bufbuild/protobuf';
import { GraphProtoSchema, ModelProtoSchema, NodeProtoSchema, TensorProto_DataType, type ModelProto, type NodeProto, type TensorProto } from 'onnx-buf';

import type { CalibrationData, CalibrationFeeds } from '../calibration/collect-statistics.js';
import { keepInputs, rereading, withExposedOutputs } from '../calibration/collect-statistics.js';
import { type AutoThreshold, type ChosenThreshold, scaleFromThreshold, type ThresholdCandidate } from '../calibration/histogram.js';
import type { Feeds } from '../execution-context.js';
import { arrayToTensor } from '../onnx/tensor-data.js';
import { inferElemTypes } from '../onnx/value-types.js';
import { Tensor } from '../tensor.js';
import { freshNames, node } from './qdq-insertion.js';
import type { QuantizationPlan } from './qdq-plan.js';
import { runBatches, type RunOutputs, type RunPlace, scoreOutputs } from './validation-runs.js';

/** How many calibration batches 'auto' keeps to weigh its candidates on (AUTO_KEEP). */
export interface KeepLimit {
  /** Kept whatever their size. */
  atLeast: number;
  /** Kept past `atLeast` while all the kept inputs together stay within `bytes`. */
  atMost: number;
  bytes: number;
}

/**
 * Small batches are cheap to keep and to run again, and a choice made on few of them does not
 * carry: on silero VAD v5 (512-sample chunks, 3 KB each), kept to its first 16 chunks, the
 * per-layer choice led entropy by 0.006 on the 8 it was not fitted to and trailed it by 0.007
 * on the 46 held out; v6's first 16 put percentile 99.99 0.0002 ahead of minmax, the held-out
 * chunks 0.008 behind. On all 47 calibration chunks both pick the held-out chunks' best.
 * Large batches (pages, scenes) are few, and each ranks the methods over many values.
 */
export const AUTO_KEEP: KeepLimit = { atLeast: 16, atMost: 64, bytes: 16 * 1024 * 1024 };

/**
 * `data`, passed through unchanged, with copies of its first batches (as many as `limit`
 * allows) kept in `kept` as the first pass over it goes by: calibration reads the data, and
 * 'auto' needs some of it again. Data that restarts when iterated again stays restartable
 * (later passes keep nothing more); data that reads once (an iterator, such as a generator)
 * stays an iterator; data that only a second read can tell (a stream) stays so: calibration
 * tells them apart (collect-statistics.ts rereading()) as it does for the caller's own data.
 */
export function keepingFirstBatches(data: CalibrationData, inputs: readonly string[], limit: KeepLimit, kept: Feeds[]): CalibrationData {
  let passes = 0;
  let keptBytes = 0;
  const wanted = (feeds: Feeds) => {
    if (kept.length >= limit.atMost) return false;
    const bytes = inputs.reduce((sum, name) => sum + feeds[name]!.data.byteLength, 0);
    if (kept.length >= limit.atLeast && keptBytes + bytes > limit.bytes) return false;
    keptBytes += bytes;
    return true;
  };
  async function* pass(): AsyncGenerator<CalibrationFeeds> {
    const first = passes++ === 0;
    for await (const batch of data as AsyncIterable<CalibrationFeeds>) {
      // Copied (keepInputs): the caller may reuse or transfer its buffers once the batch is
      // binned. A malformed batch is calibration's to refuse, with its message.
      const feeds = batch as Record<string, unknown>;
      if (first && typeof batch === 'object' && batch !== null && inputs.every((name) => feeds[name] instanceof Tensor) && wanted(feeds as Feeds)) {
        kept.push(keepInputs(batch, inputs).kept);
      }
      yield batch;
    }
  }
  // The wrapper reads again as `data` does, as rereading() will see it: an iterator, a
  // generator method (restarts), or a plain method (only a second read can tell).
  const kind = rereading(data);
  if (kind === 'once') return pass();
  return kind === 'again' ? { [Symbol.asyncIterator]: pass } : { [Symbol.asyncIterator]: () => pass() };
}

/** One candidate threshold tried on one consumer of one tensor. */
interface Probe {
  tensor: string;
  candidate: number;
  /** Graph output holding sum((y_candidate - y)^2) over the batch. */
  error: string;
  /** Graph output holding sum(y^2), the float output's energy. */
  energy: string;
}

/**
 * Step 1: per tensor of `candidates`, the candidate whose Q/DQ least disturbs the outputs of
 * the quantized nodes reading it, on `batches`. The errors are reduced inside the probe graph
 * to two scalars per consumer and candidate, so that the run returns no large tensors.
 * Rewrites nothing: the probe is built on a shallow copy of the model.
 */
export async function chooseByLayerOutput(
  model: ModelProto,
  plan: QuantizationPlan,
  candidates: ReadonlyMap<string, AutoThreshold>,
  batches: readonly Feeds[],
  place: RunPlace,
): Promise<Map<string, ChosenThreshold>> {
  const graph = model.graph!;
  const types = inferElemTypes(graph);
  const unique = freshNames(graph);

  const probes: Probe[] = [];
  const added = new Map<NodeProto, NodeProto[]>();
  const initializers: TensorProto[] = [];
  // Per tensor, the candidates probed: one of several with the same threshold is enough.
  const probed = new Map<string, Set<number>>();
  const energies = new Map<string, string>();
  for (const consumer of plan.nodes) {
    const out = consumer.output[0];
    // The output's error is measured in float32; a node computing in another type is left to the tensor's own error.
    if (!out || types.get(out) !== TensorProto_DataType.FLOAT) continue;
    const extra: NodeProto[] = [];
    for (const index of plan.activationUses.get(consumer) ?? []) {
      const tensor = consumer.input[index]!;
      const tried = candidates.get(tensor)?.candidates ?? [];
      if (tried.length < 2) continue;
      let energy = energies.get(out);
      if (energy === undefined) {
        energy = unique(`${out}_energy`);
        extra.push(node(unique(`${out}_Energy`), 'ReduceSumSquare', [out], [energy], { keepdims: 0 }));
        energies.set(out, energy);
      }
      tried.forEach((c, k) => {
        if (tried.findIndex((x) => x.threshold === c.threshold) !== k) return;
        probed.set(tensor, (probed.get(tensor) ?? new Set()).add(k));
        const scale = unique(`${tensor}_probe_scale`);
        const zero = unique(`${tensor}_probe_zero_point`);
        initializers.push(arrayToTensor(scale, 'float32', [], Float32Array.of(Math.fround(scaleFromThreshold(c.threshold)))));
        initializers.push(arrayToTensor(zero, 'int8', [], new Int8Array(1)));
        const q = unique(`${tensor}_probe_quantized`);
        const dq = unique(`${tensor}_probe_dequantized`);
        const inputs = [...consumer.input];
        inputs[index] = dq;
        const outputs = consumer.output.map((o) => (o ? unique(`${o}_probe`) : ''));
        const diff = unique(`${out}_probe_difference`);
        const error = unique(`${out}_probe_error`);
        extra.push(
          node(unique(`${tensor}_probe_QuantizeLinear`), 'QuantizeLinear', [tensor, scale, zero], [q]),
          node(unique(`${tensor}_probe_DequantizeLinear`), 'DequantizeLinear', [q, scale, zero], [dq]),
          create(NodeProtoSchema, { ...consumer, name: unique(`${consumer.name || consumer.opType}_probe`), input: inputs, output: outputs }),
          node(unique(`${out}_probe_Sub`), 'Sub', [outputs[0]!, out], [diff]),
          node(unique(`${out}_probe_Error`), 'ReduceSumSquare', [diff], [error], { keepdims: 0 }),
        );
        probes.push({ tensor, candidate: k, error, energy: energy! });
      });
    }
    if (extra.length > 0) added.set(consumer, extra);
  }

  const chosen = new Map<string, ChosenThreshold>();
  for (const [tensor, auto] of candidates) chosen.set(tensor, withoutError(auto));
  if (probes.length === 0) return chosen;

  // The probe model: a shallow copy of the caller's with the probes added, so that the caller's
  // model is never seen changed, even by code that runs while this awaits.
  const probeGraph = create(GraphProtoSchema, {
    ...graph,
    node: graph.node.flatMap((n) => [n, ...(added.get(n) ?? [])]),
    initializer: [...graph.initializer, ...initializers],
  });
  const bytes = await withExposedOutputs(create(ModelProtoSchema, { ...model, graph: probeGraph }), [...new Set(probes.flatMap((p) => [p.error, p.energy]))]);
  const runs = await runBatches(bytes, batches, place);
  const total = (name: string): number => runs.reduce((sum, r) => sum + r[name]!.values[0]!, 0);

  const scores = new Map<string, number[]>();
  for (const p of probes) {
    const energy = total(p.energy);
    // A consumer whose float output is all zeros on these batches says nothing about the
    // candidates: it is left out, rather than scoring all of them 0 (a tie the first candidate
    // would win). A tensor no consumer informs on keeps its least-error default.
    if (!(energy > 0)) continue;
    const relative = total(p.error) / energy;
    const list = scores.get(p.tensor) ?? candidates.get(p.tensor)!.candidates.map((_, k) => (probed.get(p.tensor)!.has(k) ? 0 : Infinity));
    // NaN (an overflow in the probe) ranks last.
    list[p.candidate]! += Number.isFinite(relative) ? relative : Infinity;
    scores.set(p.tensor, list);
  }
  for (const [tensor, list] of scores) {
    let best = 0;
    for (let k = 1; k < list.length; k++) if (list[k]! < list[best]!) best = k;
    chosen.set(tensor, withoutError(candidates.get(tensor)!.candidates[best]!));
  }
  return chosen;
}

function withoutError(c: ThresholdCandidate): ChosenThreshold {
  return { method: c.method, ...(c.percentile !== undefined && { percentile: c.percentile }), threshold: c.threshold };
}

/** One complete set of thresholds, as step 2 weighs them. */
export interface ThresholdSet {
  /** 'per-layer' (step 1's choice), 'per-tensor' (leastTensorErrorSet), else the single method (with its percentile) all tensors used. */
  label: string;
  /** Whether tensors got their thresholds from different methods (a per-layer or per-tensor choice). */
  mixed: boolean;
  thresholds: Map<string, ChosenThreshold>;
}

/**
 * Each tensor's candidate of least quantization error on the tensor itself (from its
 * histogram): the set 'auto' falls back on where no single method covers every tensor.
 */
export function leastTensorErrorSet(candidates: ReadonlyMap<string, AutoThreshold>): ThresholdSet {
  return { label: 'per-tensor', mixed: true, thresholds: new Map([...candidates].map(([tensor, auto]) => [tensor, withoutError(auto)])) };
}

/**
 * Every tensor's threshold by one single method, taken from the candidates 'auto' computed;
 * undefined where some tensor lacks that candidate (a threshold of 0 is not a candidate).
 */
export function singleMethodSet(candidates: ReadonlyMap<string, AutoThreshold>, method: ThresholdCandidate['method'], percentile?: number): ThresholdSet | undefined {
  const thresholds = new Map<string, ChosenThreshold>();
  for (const [tensor, auto] of candidates) {
    // An all-zero tensor has no candidates; its threshold is 0 whatever the method, and it is
    // labelled with this set's method, so that the set reads as one method throughout.
    if (auto.candidates.length === 0) {
      thresholds.set(tensor, { method, ...(percentile !== undefined && { percentile }), threshold: auto.threshold });
      continue;
    }
    const c = auto.candidates.find((x) => x.method === method && x.percentile === percentile);
    if (c === undefined) return undefined;
    thresholds.set(tensor, withoutError(c));
  }
  return { label: percentile === undefined ? method : `${method} ${percentile}`, mixed: false, thresholds };
}

/**
 * How much better than the best single method, in worst-output cosine on the check batches,
 * the per-layer choice must do to be kept. It is fitted tensor by tensor on calibration data
 * and so has more room to fit it than one method has; on a near tie the single method is the
 * safer bet (PP-OCRv4's English recognizer: a mix led percentile by 0.0001 on 5 check batches
 * and trailed it by 0.017 on 10 held-out lines).
 */
export const MIX_MARGIN = 0.002;

/** A single-method set's scores: on every kept batch (`cosine`, what ranks it) and on the check batches alone. */
export interface ScoredSingle {
  set: ThresholdSet;
  cosine: number;
  checkCosine: number;
}

/** The per-layer choice's score, on the check batches. */
export interface ScoredMix {
  set: ThresholdSet;
  cosine: number;
}

/** The single method of best score on every kept batch; on a tie the earlier; undefined when every score is NaN. */
export function bestSingle(singles: readonly ScoredSingle[]): ScoredSingle | undefined {
  let best: ScoredSingle | undefined;
  for (const s of singles) if (!Number.isNaN(s.cosine) && (best === undefined || s.cosine > best.cosine)) best = s;
  return best;
}

/**
 * Step 2's rule: the single method of best score on every kept batch (on a tie the earlier),
 * unless the mix beats that method's check-batch score by more than MIX_MARGIN. NaN scores
 * never win; when every score is NaN, the first single method (else the mix).
 */
export function pickSet(singles: readonly ScoredSingle[], mix?: ScoredMix): ThresholdSet {
  const single = bestSingle(singles);
  if (mix !== undefined && !Number.isNaN(mix.cosine) && (single === undefined || Number.isNaN(single.checkCosine) || mix.cosine > single.checkCosine + MIX_MARGIN)) return mix.set;
  return (single ?? singles[0] ?? mix!).set;
}

/**
 * Step 2: each single method's quantized model (made by `quantize`) run on every kept batch
 * and scored against `reference` (the float model's run on them), the mix run on the check
 * batches (`isCheck` picks them by index), and the set pickSet() keeps, with the scores for
 * the log.
 */
export async function chooseEndToEnd(
  singles: readonly ThresholdSet[],
  mix: ThresholdSet | undefined,
  quantize: (thresholds: ReadonlyMap<string, ChosenThreshold>) => Promise<Uint8Array>,
  reference: RunOutputs,
  batches: readonly Feeds[],
  isCheck: (index: number) => boolean,
  place: RunPlace,
): Promise<{ best: ThresholdSet; singles: ScoredSingle[]; mix: ScoredMix | undefined }> {
  const checkReference = reference.filter((_, i) => isCheck(i));
  const scored: ScoredSingle[] = [];
  for (const set of singles) {
    const runs = await runBatches(await quantize(set.thresholds), batches, place);
    scored.push({ set, cosine: scoreOutputs(reference, runs).worst, checkCosine: scoreOutputs(checkReference, runs.filter((_, i) => isCheck(i))).worst });
  }
  let scoredMix: ScoredMix | undefined;
  if (mix !== undefined) {
    const runs = await runBatches(await quantize(mix.thresholds), batches.filter((_, i) => isCheck(i)), place);
    scoredMix = { set: mix, cosine: scoreOutputs(checkReference, runs).worst };
  }
  return { best: pickSet(scored, scoredMix), singles: scored, mix: scoredMix };
}
