/**
 * Which layers to keep in float so that a reduced-precision model still meets an accuracy
 * target, found the way Polygraphy and TensorRT users do it by hand, with few measurements:
 *   1. the whole model reduced: if it meets the target, nothing stays float (one measurement);
 *   2. each layer's sensitivity: the model with only that layer reduced, scored against the
 *      float reference (one measurement per layer, on a few batches);
 *   3. the most sensitive layers returned to float, re-measuring the whole model on every
 *      batch: the count doubles until the target holds, then a binary search finds the
 *      smallest count that met it (about 2 log2(layers) measurements);
 *   4. each layer so kept in float tried once more in reduced precision, the heaviest first
 *      (`weights`: FLOPs), then the least sensitive: single-layer figures ignore how layers'
 *      errors add up or cancel, so some of the prefix may not be needed (one measurement each).
 * Layers whose float costs nothing the caller counts (`free`: for INT8, the Add, Mul, pooling
 * and other ops TensorRT fuses around a Conv or MatMul, which hold no Conv/Gemm/MatMul FLOPs)
 * are tried first as one group, right after step 1: the cheapest gain there is. When that
 * meets the target they are the answer; when not, they stay float while steps 2 to 4 rank and
 * choose among the other layers only, and at the end the group is tried back in reduced
 * precision once. Without the group, many small errors mislead the ranking: in PP-OCRv4's
 * English recognizer a chain of quantized elementwise ops follows every Conv, and together
 * their Q/DQ pairs cost about as much as the INT8 of every Conv and MatMul (cosine 0.977 with
 * only them quantized, 0.974 with only the Conv/MatMul), spread over some 250 nodes, and
 * one at a time they ranked among large Convs: the prefix that met the target held 39% of
 * the FLOPs in float.
 * Every answer is one that was measured: steps 3 and 4 only settle on sets that met the target.
 */

import type { NodeProto } from 'onnx-buf';

import type { OutputCosine } from './validation-runs.js';

/** A node the search kept in float (float32, or float16 around INT8 when asked). */
export interface FloatNode {
  name: string;
  opType: string;
  /**
   * The worst output cosine (validation data, against float32) with only this node reduced;
   * undefined for a node kept float with the `free` group, which is not measured alone.
   */
  cosine: number | undefined;
}

/** An accuracy target and what the returned model reached on the validation data. */
export interface TargetAccuracy {
  minCosine: number;
  met: boolean;
  /** The worst output's cosine over every validation batch. */
  cosine: number;
  outputs: OutputCosine[];
  samples: number;
  /** Whole-model measurements the search made (builds and runs on the validation data). */
  evaluations: number;
}

/** Scores the model with `floatLayers` kept in float and the rest reduced: the worst output cosine (NaN fails). */
export type Evaluate = (floatLayers: ReadonlySet<string>, phase: 'rank' | 'check') => Promise<number>;

export interface LayerSensitivity {
  layer: string;
  /** The worst output cosine with only this layer reduced. */
  cosine: number;
}

export interface SearchResult {
  /** Layers kept in float, most sensitive first. */
  floatLayers: string[];
  /** The worst output cosine of the chosen model. */
  cosine: number;
  met: boolean;
  /** Per layer ranked, when ranking was needed (the full reduction, and the free group in float, missed the target); most sensitive first. */
  sensitivities: LayerSensitivity[] | undefined;
  /** Whole-model measurements made. */
  evaluations: number;
}

const meets = (cosine: number, target: number): boolean => cosine >= target;

/** Sorting key: NaN (the candidate blew up) is the most sensitive of all. */
const badness = (cosine: number): number => (Number.isNaN(cosine) ? Infinity : 1 - cosine);

/**
 * The fewest `layers` to keep in float for `evaluate` to reach `minCosine`, by the steps above;
 * `weights` (FLOPs per layer) order the last step; `free` names the layers whose float costs
 * nothing, tried as a group first. `met` is false only when every layer in float still misses
 * the target.
 */
export async function searchFloatLayers(
  layers: readonly string[],
  minCosine: number,
  evaluate: Evaluate,
  weights: ReadonlyMap<string, number> = new Map(),
  free: ReadonlySet<string> = new Set(),
): Promise<SearchResult> {
  let evaluations = 0;
  const measure = async (float: ReadonlySet<string>, phase: 'rank' | 'check'): Promise<number> => {
    evaluations++;
    return evaluate(float, phase);
  };
  const full = await measure(new Set(), 'check');
  if (meets(full, minCosine) || layers.length === 0) return { floatLayers: [], cosine: full, met: meets(full, minCosine), sensitivities: undefined, evaluations };

  const group = layers.filter((l) => free.has(l));
  const costly = layers.filter((l) => !free.has(l));
  if (group.length > 0) {
    const c = await measure(new Set(group), 'check');
    if (meets(c, minCosine) || costly.length === 0) return { floatLayers: group, cosine: c, met: meets(c, minCosine), sensitivities: undefined, evaluations };
  }
  const found = await searchCostly(costly, group, minCosine, measure, weights);
  if (!found.met || group.length === 0) return { ...found, floatLayers: [...found.floatLayers, ...group], evaluations };
  // The costly layers kept float may have been what the group's reduction needed: try it back once.
  const c = await measure(new Set(found.floatLayers), 'check');
  if (meets(c, minCosine)) return { ...found, cosine: c, evaluations };
  return { ...found, floatLayers: [...found.floatLayers, ...group], evaluations };
}

/** Steps 2 to 4 over `layers`, with `base` kept float throughout (and not in the answer). */
async function searchCostly(
  layers: readonly string[],
  base: readonly string[],
  minCosine: number,
  measure: (float: ReadonlySet<string>, phase: 'rank' | 'check') => Promise<number>,
  weights: ReadonlyMap<string, number>,
): Promise<Omit<SearchResult, 'evaluations'>> {
  const sensitivities: LayerSensitivity[] = [];
  for (const layer of layers) {
    const others = new Set([...base, ...layers.filter((l) => l !== layer)]);
    sensitivities.push({ layer, cosine: await measure(others, 'rank') });
  }
  // Stable: among equals, graph order decides.
  sensitivities.sort((x, y) => badness(y.cosine) - badness(x.cosine));
  const ranked = sensitivities.map((s) => s.layer);

  const scored = new Map<number, number>();
  const at = async (k: number): Promise<number> => {
    if (!scored.has(k)) scored.set(k, await measure(new Set([...base, ...ranked.slice(0, k)]), 'check'));
    return scored.get(k)!;
  };
  // Doubling: `low` missed the target, `high` met it (or is every layer).
  let low = 0;
  let high = 1;
  while (high < ranked.length && !meets(await at(high), minCosine)) {
    low = high;
    high = Math.min(ranked.length, high * 2);
  }
  if (!meets(await at(high), minCosine)) {
    return { floatLayers: ranked, cosine: await at(high), met: false, sensitivities };
  }
  while (high - low > 1) {
    const mid = (low + high) >> 1;
    if (meets(await at(mid), minCosine)) high = mid;
    else low = mid;
  }
  let kept = ranked.slice(0, high);
  let cosine = await at(high);
  const rank = new Map(ranked.map((l, i) => [l, i]));
  const order = [...kept].sort((x, y) => (weights.get(y) ?? 0) - (weights.get(x) ?? 0) || rank.get(y)! - rank.get(x)!);
  for (const layer of order) {
    const trial = kept.filter((l) => l !== layer);
    const c = await measure(new Set([...base, ...trial]), 'check');
    if (meets(c, minCosine)) {
      kept = trial;
      cosine = c;
    }
  }
  return { floatLayers: kept, cosine, met: true, sensitivities };
}

/** The search's float layers as nodes of `nodes` (the layers are their names). */
export function floatNodes(result: SearchResult, nodes: readonly NodeProto[]): FloatNode[] {
  const opTypes = new Map(nodes.map((n) => [n.name, n.opType]));
  const single = new Map(result.sensitivities?.map((x) => [x.layer, x.cosine]));
  return result.floatLayers.map((name) => ({ name, opType: opTypes.get(name)!, cosine: single.get(name) }));
}
