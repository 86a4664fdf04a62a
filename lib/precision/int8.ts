/**
 * INT8 by rewriting the model: post-training
 * quantization that works on every backend and on TensorRT 11, which has no calibrators. The
 * float model runs on calibration data with the tensors to quantize exposed as outputs; a
 * histogram per tensor gives its scale (entropy, min-max or percentile); then Q/DQ pairs go on
 * those activations and int8 per-channel weights replace the float ones. The scales can be
 * written as, and read back from, TensorRT's calibration cache, which skips calibration.
 */
import { readFile, writeFile } from 'node:fs/promises';
import { basename } from 'node:path';

import { type ModelProto, type NodeProto, TensorProto_DataType } from 'onnx-buf';

import { BACKEND_OPTIONS, backends, type BackendOption } from '../backend.js';
import { type CalibrationAlgorithm, type CalibrationCache, formatCalibrationCache, parseCalibrationCache } from '../calibration/calibration-cache.js';
import { type CalibrationData, collectStatistics, isCalibrationData } from '../calibration/collect-statistics.js';
import { AUTO_PERCENTILES, type AutoThreshold, CALIBRATION_METHODS, type CalibrationMethod, type ChosenThreshold, scaleFromThreshold } from '../calibration/histogram.js';
import { InvalidArgumentError, UnsupportedError } from '../errors.js';
import type { Feeds } from '../execution-context.js';
import { getDefaultLogger, Logger } from '../logger.js';
import { parseModel, readModel, writeModel } from '../onnx/model-io.js';
import { inlineConstantIfs } from '../onnx/inline-constant-if.js';
import { upgradeOpset } from '../onnx/opset/upgrade-opset.js';
import { inferElemTypes } from '../onnx/value-types.js';
import { parseShapeSpec, type ShapeMap } from '../shapes.js';
import { expectBytes, expectFunction, expectObject, expectOneOf, expectString, invalid } from '../validate.js';
import { AUTO_KEEP, bestSingle, chooseByLayerOutput, chooseEndToEnd, keepingFirstBatches, leastTensorErrorSet, singleMethodSet } from './auto-calibration.js';
import { convertGraphToFloat16 } from './float16.js';
import { GraphConstants, insertQdq } from './qdq-insertion.js';
import { COMPUTE_OPS, measureFlops, type NodeFlops } from './compute-flops.js';
import { planQuantization, QUANTIZABLE_OPS, type QuantizationPlan } from './qdq-plan.js';
import { widenFloat16 } from './widen-float16.js';
import { type FloatNode, floatNodes, type SearchResult, searchFloatLayers, type TargetAccuracy } from './sensitivity-search.js';
import { checkTarget, readValidationData, runBatches, type RunOutputs, type RunPlace, scoreCandidate, scoreOutputs } from './validation-runs.js';

export type { CalibrationData, CalibrationFeeds } from '../calibration/collect-statistics.js';

/** Nodes chosen by operator type and/or node name. */
export interface NodeSelection {
  opTypes?: readonly string[];
  nodeNames?: readonly string[];
}

export interface Int8Options {
  /**
   * Calibration batches: an Iterable or AsyncIterable of feeds (input name -> Tensor). Read
   * twice, one batch at a time: ranges first, then histograms over exactly those ranges, so the
   * thresholds do not depend on how the data is batched or ordered. Data known to restart
   * when iterated again (an array, an object whose `async *[Symbol.asyncIterator]()` generator
   * method opens the files afresh) is held one batch at a time; a generator, which cannot
   * restart, has its inputs kept in memory for the second pass, up to 1 GiB (beyond, the rest
   * is binned in one pass, with a warning). Any other iterable (a Node Readable stream, a
   * readline interface) has its inputs kept likewise while it is read, then is read again: a
   * second read that gives no batches means it reads once, and the kept inputs are binned (past
   * 1 GiB: an InvalidArgumentError). Required unless `calibrationCache.read` supplies the scales.
   */
  calibrationData?: CalibrationData;
  /**
   * How a tensor's clipping threshold is chosen (default 'entropy', TensorRT's
   * EntropyCalibration2); 'auto' takes, per tensor, the one of entropy, percentile 99.99 /
   * 99.999 and minmax that least disturbs the outputs of the quantized layers reading it,
   * then scores that set end to end on other calibration batches against the best single
   * method, keeping the single method unless the set beats it by more than 0.002 (said
   * through `logger` at 'info'; see auto-calibration.ts).
   */
  method?: CalibrationMethod;
  /** Receives each calibrated tensor's threshold and the method that gave it (with 'auto', the winner). */
  onThresholds?: (thresholds: ReadonlyMap<string, ChosenThreshold>) => void;
  /** For method 'percentile': the share of |x| kept unclipped, in percent (default 99.99). */
  percentile?: number;
  /** Fixes dynamic input dimensions for calibration, as in buildEngine; default: the first batch's shapes. */
  shapes?: ShapeMap | string;
  /** Backend that runs the float model during calibration (default 'auto'). */
  backend?: BackendOption;
  /** The CUDA device and plugin libraries of that run, as buildEngine takes them. */
  device?: number;
  plugins?: readonly string[];
  /**
   * Only these nodes are quantized (by op type, from QUANTIZABLE_OPS, exported beside quantizeInt8, or by name).
   * Default: every node of a quantizable op type.
   */
  include?: NodeSelection;
  /** Nodes left in float, by op type or node name; wins over `include`. */
  exclude?: NodeSelection;
  /** Precision of the float ops left around the quantized ones (default 'float32'). */
  floatOpsIn?: 'float32' | 'float16';
  /** With floatOpsIn 'float16': float ops kept in float32 all the same, by op type or node name. */
  float16BlockList?: NodeSelection;
  calibrationCache?: {
    /** A cache (its text, its bytes, or a file path) whose scales replace calibration. */
    read?: string | Uint8Array;
    /** File the scales used (calibrated, or taken from `read`) are written to, in TensorRT's format. */
    write?: string;
    /**
     * The TensorRT version in the cache header, as digits (10.16.0 is '101600'). Default: the
     * version of the TensorRT backend that calibrated, else '101600'.
     */
    version?: string;
  };
  /**
   * An accuracy target: the quantized model must reach `minCosine` (cosine similarity against
   * the float32 model, on every output, over all of `validationData`). When fully quantized
   * it does not, the nodes whose INT8 hurts most stay float (float16 with `floatOpsIn:
   * 'float16'`) until it does; the report names them (see quantizeInt8WithReport).
   */
  accuracy?: {
    minCosine: number;
    /** Held-out batches (feeds, as calibrationData), read once and kept in memory. */
    validationData: CalibrationData;
  };
  /** Also write the quantized model to this file (with external data if the input had it). */
  outputPath?: string;
  /** Directory a model given as bytes keeps its external data in. */
  baseDir?: string;
  /**
   * Receives the notes that a model below opset 13 was converted or a float16 one widened to
   * float32, and what method 'auto' kept (default: warnings to stderr).
   */
  logger?: Logger;
}

const ALGORITHM: Record<CalibrationMethod, CalibrationAlgorithm> = {
  entropy: 'EntropyCalibration2',
  minmax: 'MinMaxCalibration',
  // TensorRT's percentile calibrator is the legacy one (its quantile cutoff).
  percentile: 'LegacyCalibration',
  // The header has no name for a mix; the entropy calibrator's is the one TensorRT reads back.
  auto: 'EntropyCalibration2',
};
const DEFAULT_CACHE_VERSION = '101600';
/** The first opset with per-axis QuantizeLinear/DequantizeLinear, which per-channel weights need. */
const QDQ_PER_AXIS_OPSET = 13;

/** What quantizeInt8WithReport did to the model. */
export interface Int8Report {
  /** Nodes that got Q/DQ (run in INT8), in graph order. */
  int8Nodes: string[];
  /** Nodes kept in float to meet `accuracy.minCosine`, most sensitive first; empty without a target. */
  floatNodes: FloatNode[];
  /**
   * FLOPs of the Conv, ConvTranspose, Gemm and MatMul nodes at the first validation batch's
   * shapes, all of them and those in INT8; `int8Share` is NaN for a model without such nodes.
   * Undefined without `accuracy` (no batch to measure shapes on).
   */
  flops: { total: number; int8: number; int8Share: number; nodes: NodeFlops[] } | undefined;
  /** The target and what the returned model reached; undefined without `accuracy`. */
  accuracy: TargetAccuracy | undefined;
}

interface Normalized {
  data: CalibrationData | undefined;
  method: CalibrationMethod;
  percentile: number | undefined;
  onThresholds: ((thresholds: ReadonlyMap<string, ChosenThreshold>) => void) | undefined;
  shapes: ShapeMap | undefined;
  backend: BackendOption;
  /** Checked by the Builder and Runtime of the calibration run. */
  device: number | undefined;
  plugins: readonly string[] | undefined;
  include: { opTypes: Set<string>; nodeNames: Set<string> } | undefined;
  exclude: { opTypes: Set<string>; nodeNames: Set<string> };
  floatOpsIn: 'float32' | 'float16';
  float16Block: { opTypes: Set<string>; nodeNames: Set<string> };
  cacheRead: string | Uint8Array | undefined;
  cacheWrite: string | undefined;
  cacheVersion: string | undefined;
  outputPath: string | undefined;
  baseDir: string | undefined;
  accuracy: { minCosine: number; validationData: CalibrationData } | undefined;
  logger: Logger;
}

function selection(value: unknown, what: string, checkOps: boolean): { opTypes: Set<string>; nodeNames: Set<string> } {
  const o = expectObject(value, what) as NodeSelection;
  const names = (v: unknown, field: string): Set<string> => {
    if (v === undefined) return new Set();
    if (!Array.isArray(v) || v.some((x) => typeof x !== 'string' || x === '')) invalid('an array of non-empty strings', `${what}.${field}`, v);
    return new Set(v as string[]);
  };
  const opTypes = names(o.opTypes, 'opTypes');
  if (checkOps) {
    for (const op of opTypes) {
      if (!QUANTIZABLE_OPS.includes(op)) invalid(`one of ${QUANTIZABLE_OPS.map((x) => `'${x}'`).join(', ')}`, `an entry of ${what}.opTypes`, op);
    }
  }
  return { opTypes, nodeNames: names(o.nodeNames, 'nodeNames') };
}

function validate(options: unknown): Normalized {
  const o = expectObject(options, 'quantizeInt8 options') as Int8Options;
  const cache = o.calibrationCache === undefined ? {} : (expectObject(o.calibrationCache, 'calibrationCache') as NonNullable<Int8Options['calibrationCache']>);
  let cacheRead: string | Uint8Array | undefined;
  if (cache.read !== undefined) cacheRead = typeof cache.read === 'string' ? expectString(cache.read, 'calibrationCache.read') : expectBytes(cache.read, 'calibrationCache.read');
  if (cacheRead === undefined && o.calibrationData === undefined) {
    invalid('an Iterable or AsyncIterable of feeds (or calibrationCache.read)', 'calibrationData', undefined);
  }
  if (o.calibrationData !== undefined && !isCalibrationData(o.calibrationData)) invalid('an Iterable or AsyncIterable of feeds', 'calibrationData', o.calibrationData);
  const method = o.method === undefined ? 'entropy' : expectOneOf(o.method, CALIBRATION_METHODS, 'method');
  if (o.percentile !== undefined) {
    if (method !== 'percentile') invalid("method 'percentile' (percentile means nothing to the others)", 'method when percentile is given', method);
    if (typeof o.percentile !== 'number' || !(o.percentile > 0 && o.percentile <= 100)) invalid('a number in (0, 100]', 'percentile', o.percentile);
  }
  let shapes: ShapeMap | undefined;
  if (o.shapes !== undefined) shapes = typeof o.shapes === 'string' ? parseShapeSpec(o.shapes) : (expectObject(o.shapes, 'shapes') as ShapeMap);
  const backend = o.backend === undefined ? 'auto' : expectOneOf(o.backend, BACKEND_OPTIONS, 'backend');
  const floatOpsIn = o.floatOpsIn === undefined ? 'float32' : expectOneOf(o.floatOpsIn, ['float32', 'float16'] as const, 'floatOpsIn');
  let accuracy: Normalized['accuracy'];
  if (o.accuracy !== undefined) {
    const a = expectObject(o.accuracy, 'accuracy') as NonNullable<Int8Options['accuracy']>;
    accuracy = checkTarget(a.minCosine, a.validationData, 'accuracy.');
  }
  const cacheVersion = cache.version === undefined ? undefined : expectString(cache.version, 'calibrationCache.version');
  if (cacheVersion !== undefined && !/^\d+$/.test(cacheVersion)) invalid("a string of digits such as '101600'", 'calibrationCache.version', cacheVersion);
  return {
    data: o.calibrationData,
    method,
    percentile: o.percentile,
    onThresholds: o.onThresholds === undefined ? undefined : expectFunction(o.onThresholds, 'onThresholds'),
    shapes,
    backend,
    device: o.device,
    plugins: o.plugins,
    include: o.include === undefined ? undefined : selection(o.include, 'include', true),
    exclude: o.exclude === undefined ? { opTypes: new Set(), nodeNames: new Set() } : selection(o.exclude, 'exclude', false),
    floatOpsIn,
    float16Block: o.float16BlockList === undefined ? { opTypes: new Set(), nodeNames: new Set() } : selection(o.float16BlockList, 'float16BlockList', false),
    cacheRead,
    cacheWrite: cache.write === undefined ? undefined : expectString(cache.write, 'calibrationCache.write'),
    cacheVersion,
    outputPath: o.outputPath === undefined ? undefined : expectString(o.outputPath, 'outputPath'),
    baseDir: o.baseDir === undefined ? undefined : expectString(o.baseDir, 'baseDir'),
    accuracy,
    logger: o.logger === undefined ? getDefaultLogger() : o.logger instanceof Logger ? o.logger : invalid('a Logger', 'logger', o.logger),
  };
}

/** Node names the lists mention must exist, so a typo does not silently quantize (or keep) the wrong node. */
function checkNodeNames(model: ModelProto, o: Normalized): void {
  const names = new Set(model.graph!.node.map((n) => n.name));
  for (const [what, set] of [['include.nodeNames', o.include?.nodeNames], ['exclude.nodeNames', o.exclude.nodeNames], ['float16BlockList.nodeNames', o.float16Block.nodeNames]] as const) {
    for (const name of set ?? []) if (!names.has(name)) invalid('the name of a node in the model', `an entry of ${what}`, name);
  }
  for (const n of model.graph!.node) {
    if (o.include?.nodeNames.has(n.name) && !QUANTIZABLE_OPS.includes(n.opType)) {
      invalid(`a node of a quantizable op type (${QUANTIZABLE_OPS.join(', ')})`, `include.nodeNames entry '${n.name}'`, n.opType);
    }
  }
}

async function readCache(source: string | Uint8Array): Promise<CalibrationCache> {
  let text: string | Uint8Array = source;
  // A string that is not cache text is a path: cache text always starts with its TRT- header.
  if (typeof source === 'string' && !source.startsWith('TRT-')) {
    try {
      text = await readFile(source);
    } catch (error) {
      throw new InvalidArgumentError(`Expected cache text or a readable file for calibrationCache.read but ${source} cannot be read: ${(error as NodeJS.ErrnoException).code ?? (error as Error).message}`);
    }
  }
  return parseCalibrationCache(text);
}

/** Unnamed nodes get names, so that the float16 pass can be told to leave quantized ones alone. */
function nameNodes(nodes: readonly NodeProto[], taken: Set<string>): void {
  for (const n of nodes) {
    if (n.name) continue;
    let name = `${n.opType}_int8`;
    for (let k = 1; taken.has(name); k++) name = `${n.opType}_int8_${k}`;
    taken.add(name);
    n.name = name;
  }
}

/**
 * Quantizes a float32 ONNX model to explicit INT8 (QuantizeLinear/DequantizeLinear), the form
 * TensorRT 10 and 11 both build from. Unless `calibrationCache.read` gives the scales, the
 * float model runs on `backend` over `calibrationData` (streamed one batch at a time) with the
 * activation inputs of the quantized nodes exposed as outputs, and each activation's scale is
 * threshold / 127 from its 2048-bin histogram by `method`. Conv, ConvTranspose, Gemm, MatMul,
 * Add, Mul, pooling, BatchNormalization and Clip nodes (narrowed by `include`, minus
 * `exclude`) get a Q/DQ pair (zero point 0) on each float activation input and their constant
 * weights become int8 initializers with a per-output-channel DequantizeLinear (axis 0 for
 * Conv, 1 for ConvTranspose, the output-feature axis for Gemm and MatMul); biases and other
 * parameters stay float32. With `floatOpsIn: 'float16'` the ops left unquantized run in
 * float16 (the quantized ones keep float32 between their DequantizeLinear and the next Q).
 * Only main-graph nodes are quantized; an If whose condition is a build-time constant is first
 * replaced by the branch it takes (inline-constant-if.ts), as TensorRT imports only that branch,
 * said through `logger` at 'info'; its nodes can then be quantized and named in `include`/`exclude`.
 * Models below opset 13 are converted to it (upgradeOpset), with a warning through `logger`;
 * so is a model whose nodes to quantize compute in float16: it is widened to float32 first
 * (float16 weights, constants and Casts; its float16 inputs and outputs keep their type), as
 * QuantizeLinear takes float32 only. Writes the scales to
 * `calibrationCache.write` in TensorRT's cache format, and the model to `outputPath` when
 * given. Resolves to the quantized model's bytes.
 * @throws InvalidArgumentError for bad options, node names not in the model, empty
 *   calibration data, a batch that is not an object of Tensors or lacks an input, a cache
 *   that does not parse or lacks a needed tensor, and unreadable files; UnsupportedError for
 *   a model that is already quantized or with a node upgradeOpset cannot carry to opset 13;
 *   OnnxParseError for bytes that are not an ONNX model; InvalidArgumentError naming the
 *   batch for one of the wrong shape or element type; TensorRTError with the original as
 *   `cause` when the calibration data's iterator throws (as on the implicit path); backend
 *   errors from running the float model on a batch
 */
export async function quantizeInt8(model: Uint8Array | ArrayBufferLike | string, options: Int8Options): Promise<Uint8Array> {
  return (await quantizeInt8WithReport(model, options)).model;
}

/**
 * quantizeInt8, resolving to the quantized model's bytes and a report: the nodes in INT8,
 * those kept in float to meet `accuracy.minCosine`, the accuracy reached, and the share of the
 * Conv/Gemm/MatMul FLOPs that runs in INT8. With `accuracy`, when the fully quantized model
 * misses the target on the validation data, each quantized node's sensitivity is measured (the
 * model with only it quantized, scored against float32), and the most sensitive nodes go back
 * to float until the whole model meets the target (sensitivity-search.ts). When even the
 * float model with every node kept float misses it (float16 remainder), `accuracy.met` is false.
 * @throws as quantizeInt8; InvalidArgumentError for a malformed accuracy option or validation batch
 */
export async function quantizeInt8WithReport(model: Uint8Array | ArrayBufferLike | string, options: Int8Options): Promise<{ model: Uint8Array; report: Int8Report }> {
  const o = validate(options);
  const loaded = await readModel(model, { loadExternalData: true, ...(o.baseDir !== undefined ? { baseDir: o.baseDir } : {}) });
  const m = loaded.model;
  const graph = m.graph!;
  const already = graph.node.find((n) => n.opType === 'QuantizeLinear' || n.opType === 'DequantizeLinear');
  if (already) throw new UnsupportedError(`the model already holds ${already.opType} node '${already.name}'; quantizeInt8 takes a float model`);
  // TensorRT builds only the taken branch of an If with a build-time constant condition; inlined, its layers can be quantized (and named in include/exclude).
  for (const i of inlineConstantIfs(m)) o.logger.log('info', `quantizeInt8: inlined the ${i.branch} of If '${i.node}' (${i.nodes} nodes): its condition '${i.condition}' is a build-time constant, and TensorRT builds only the branch it takes`);
  checkNodeNames(m, o);
  // Per-axis Q/DQ needs opset 13. Raised before calibration: a refusal should come before minutes of calibration, not after.
  const upgrade = (() => {
    try {
      return upgradeOpset(m, QDQ_PER_AXIS_OPSET);
    } catch (error) {
      throw error instanceof UnsupportedError ? new UnsupportedError(`quantizeInt8 needs opset ${QDQ_PER_AXIS_OPSET} for per-axis QuantizeLinear. ${error.message}`) : error;
    }
  })();
  if (upgrade.to !== upgrade.from) {
    o.logger.log('warning', `quantizeInt8: converted the model from opset ${upgrade.from} to ${upgrade.to} (per-axis QuantizeLinear needs 13); ${upgrade.rewritten} nodes rewritten, the quantized model is at opset ${upgrade.to}`);
  }

  const selected = (n: NodeProto): boolean => {
    if (!QUANTIZABLE_OPS.includes(n.opType) || (n.domain !== '' && n.domain !== 'ai.onnx')) return false;
    if (o.exclude.opTypes.has(n.opType) || o.exclude.nodeNames.has(n.name)) return false;
    return o.include === undefined || o.include.opTypes.has(n.opType) || o.include.nodeNames.has(n.name);
  };
  widenForQuantization(m, selected, o);
  const constants = new GraphConstants(graph);
  const plan = planQuantization(graph, selected, constants);

  let scales: Map<string, number>;
  let header: Pick<CalibrationCache, 'version' | 'algorithm'>;
  if (o.cacheRead !== undefined) {
    const cache = await readCache(o.cacheRead);
    header = { version: o.cacheVersion ?? cache.version, algorithm: cache.algorithm };
    const cached = cache.scales;
    const missing = plan.activations.filter((t) => !cached.has(t));
    if (missing.length > 0) {
      throw new InvalidArgumentError(
        `Expected a scale for every tensor to quantize in calibrationCache.read but it lacks ${missing.map((t) => `'${t}'`).join(', ')}; recalibrate, or exclude the nodes that read them`,
      );
    }
    scales = new Map(plan.activations.map((t) => [t, Math.fround(cached.get(t)!)]));
  } else {
    const initializers = new Set(graph.initializer.map((t) => t.name));
    const inputs = graph.input.map((i) => i.name).filter((n) => !initializers.has(n));
    // 'auto' weighs its candidates on the first batches again, after calibration has read them.
    const kept: Feeds[] = [];
    const data = o.method === 'auto' ? keepingFirstBatches(o.data!, inputs, AUTO_KEEP, kept) : o.data!;
    const { histograms } = await collectStatistics(m, inputs, plan.activations, data, {
      backend: o.backend,
      shapes: o.shapes,
      device: o.device,
      plugins: o.plugins,
      logger: o.logger,
      rangesOnly: o.method === 'minmax',
    });
    let chosen = new Map<string, ChosenThreshold>();
    const autos = new Map<string, AutoThreshold>();
    try {
      for (const [name, histogram] of histograms) {
        if (o.method === 'auto') autos.set(name, await histogram.autoThreshold());
        else chosen.set(name, await histogram.chooseThreshold(o.method, o.percentile === undefined ? {} : { percentile: o.percentile }));
      }
    } finally {
      for (const h of histograms.values()) h.dispose();
    }
    // Without activations to calibrate there is nothing to choose (and no reason to run the model again).
    if (o.method === 'auto' && autos.size > 0) chosen = await chooseAuto(m, plan, autos, kept, selected, o);
    scales = scalesOf(chosen);
    o.onThresholds?.(chosen);
    const trt = backends().find((b) => b.name === 'tensorrt');
    const version = o.cacheVersion ?? (o.backend !== 'sim' && trt?.available ? trtVersionDigits(trt.version) : DEFAULT_CACHE_VERSION);
    header = { version, algorithm: ALGORITHM[o.method] };
  }
  if (o.cacheWrite !== undefined) {
    // Only the tensors this model quantizes, in graph order: a cache read for another selection is narrowed too.
    const text = formatCalibrationCache({ ...header, scales });
    try {
      await writeFile(o.cacheWrite, text);
    } catch (error) {
      throw new InvalidArgumentError(`Expected a writable file for calibrationCache.write but ${o.cacheWrite} cannot be written: ${(error as NodeJS.ErrnoException).code ?? (error as Error).message}`);
    }
  }

  const taken = new Set(graph.node.map((n) => n.name));
  nameNodes(plan.nodes, taken);
  const report: Int8Report = { int8Nodes: [], floatNodes: [], flops: undefined, accuracy: undefined };
  let keptFloat = new Set<string>();
  let check: { batches: Feeds[]; reference: RunOutputs; place: RunPlace; search: SearchResult } | undefined;
  if (o.accuracy !== undefined) {
    const place = { backend: o.backend, device: o.device, plugins: o.plugins };
    const initializers = new Set(graph.initializer.map((t) => t.name));
    const inputs = graph.input.map((i) => i.name).filter((n) => !initializers.has(n));
    const batches = await readValidationData(o.accuracy.validationData, inputs, 'accuracy.validationData');
    const float = await writeModel(m);
    const reference = await runBatches(float, batches, place);
    // Shapes come from the float model, before any rewrite; the FLOPs also order the search's last step.
    const nodes = await measureFlops(m, batches[0]!, place);
    // Every candidate starts from the float model's bytes: applyQuantization rewrites in place.
    const search = await searchFloatLayers(
      plan.nodes.map((n) => n.name),
      o.accuracy.minCosine,
      async (floatLayers, phase) => {
        const candidate = parseModel(float);
        applyQuantization(candidate, (n) => selected(n) && !floatLayers.has(n.name), scales, o.floatOpsIn, o.float16Block);
        return scoreCandidate(await writeModel(candidate), reference, batches, place, phase);
      },
      new Map(nodes.map((f) => [f.node, f.flops])),
      // The ops fused around the Conv/Gemm/MatMul layers cost no FLOPs the share counts: float first.
      new Set(plan.nodes.filter((n) => !COMPUTE_OPS.includes(n.opType)).map((n) => n.name)),
    );
    keptFloat = new Set(search.floatLayers);
    report.floatNodes = floatNodes(search, plan.nodes);
    report.flops = { total: 0, int8: 0, int8Share: NaN, nodes };
    check = { batches, reference, place, search };
  }
  const applied = applyQuantization(m, (n) => selected(n) && !keptFloat.has(n.name), scales, o.floatOpsIn, o.float16Block);
  report.int8Nodes = applied.nodes.map((n) => n.name);
  if (check !== undefined && report.flops !== undefined) {
    const inInt8 = new Set(report.int8Nodes);
    for (const f of report.flops.nodes) {
      report.flops.total += f.flops;
      if (inInt8.has(f.node)) report.flops.int8 += f.flops;
    }
    if (report.flops.total > 0) report.flops.int8Share = report.flops.int8 / report.flops.total;
    // The figures are those of the very model returned, measured once more output by output.
    const scored = scoreOutputs(check.reference, await runBatches(await writeModel(m), check.batches, check.place));
    const minCosine = o.accuracy!.minCosine;
    report.accuracy = { minCosine, met: scored.worst >= minCosine, cosine: scored.worst, outputs: scored.outputs, samples: check.batches.length, evaluations: check.search.evaluations };
  }
  if (o.outputPath === undefined) return { model: await writeModel(m), report };
  const externalDataPath = loaded.hadExternalData ? `${basename(o.outputPath)}.data` : undefined;
  return { model: await writeModel(m, { path: o.outputPath, ...(externalDataPath !== undefined ? { externalDataPath } : {}) }), report };
}

/**
 * Opset-13 QuantizeLinear takes float32 only, so the Q/DQ pairs cannot sit on float16
 * activations: a model computing in float16 would keep every layer in float. When nodes to
 * quantize read float16 tensors, the model is widened to float32 first (widen-float16.ts; its
 * float16 inputs and outputs keep their type), and the logger says so. The widened model is
 * also the reference of `accuracy`: it computes what the float16 one does, without its roundings.
 */
function widenForQuantization(model: ModelProto, selected: (n: NodeProto) => boolean, o: Normalized): void {
  const types = inferElemTypes(model.graph!);
  const readers = model.graph!.node.filter((n) => selected(n) && n.input.some((x) => x !== '' && types.get(x) === TensorProto_DataType.FLOAT16)).length;
  if (readers === 0) return;
  const w = widenFloat16(model);
  const rest = o.floatOpsIn === 'float16' ? 'the ops left unquantized go back to float16' : "the ops left unquantized run in float32 (floatOpsIn 'float16' keeps them in float16)";
  const kept = [
    ...(w.edgeCasts > 0 ? [`${w.edgeCasts} Casts keep its float16 inputs and outputs float16`] : []),
    ...(w.foreignCasts > 0 ? [`${w.foreignCasts} Casts keep those of nodes of other domains`] : []),
  ];
  o.logger.log(
    'warning',
    `quantizeInt8: ${readers} nodes to quantize read float16 tensors, which QuantizeLinear cannot take: widened the model to float32 ` +
      `(${w.initializers} initializers, ${w.constants} constant values, ${w.typeAttributes} Cast/dtype attributes, ${w.declaredTypes} declared types` +
      `${kept.map((k) => `; ${k}`).join('')}); ${rest}`,
  );
}

/** Each tensor's int8 scale (float32) from its threshold. */
function scalesOf(thresholds: ReadonlyMap<string, ChosenThreshold>): Map<string, number> {
  const scales = new Map<string, number>();
  for (const [name, { threshold }] of thresholds) {
    // A tensor that was zero throughout calibration has no range; any positive scale stores
    // its zeros exactly, and threshold 1 keeps a later non-zero value from becoming huge.
    scales.set(name, Math.fround(scaleFromThreshold(threshold > 0 ? threshold : 1)));
  }
  return scales;
}

/**
 * Method 'auto' (auto-calibration.ts): per tensor, the candidate that least disturbs the
 * output of the layers reading it, on the even kept batches; then that whole set scored end to
 * end on the odd ones, against the single methods ranked on every kept batch, keeping the best
 * single method unless the per-layer set beats it clearly (pickSet), and saying which through
 * the logger.
 */
async function chooseAuto(
  model: ModelProto,
  plan: QuantizationPlan,
  autos: ReadonlyMap<string, AutoThreshold>,
  batches: readonly Feeds[],
  selected: (n: NodeProto) => boolean,
  o: Normalized,
): Promise<Map<string, ChosenThreshold>> {
  const place = { backend: o.backend, device: o.device, plugins: o.plugins };
  // The per-layer choice is fitted to the batches it probes, so it is checked on others:
  // scored on its own batches, it would win ties it owes to fitting (seen on a text recognizer).
  // With a single batch there are no others: only the single methods, which fit nothing, are
  // scored (on that batch).
  const split = batches.length > 1;
  const isCheck = (i: number) => !split || i % 2 === 1;
  const perLayer = split ? await chooseByLayerOutput(model, plan, autos, batches.filter((_, i) => !isCheck(i)), place) : undefined;
  const singles = [singleMethodSet(autos, 'entropy'), ...AUTO_PERCENTILES.map((p) => singleMethodSet(autos, 'percentile', p)), singleMethodSet(autos, 'minmax')].filter((x) => x !== undefined);
  // Should no single method cover every tensor, each tensor's least-error candidate stands in.
  if (singles.length === 0) singles.push(leastTensorErrorSet(autos));
  const float = await writeModel(model);
  const reference = await runBatches(float, batches, place);
  const chosen = await chooseEndToEnd(
    singles,
    perLayer === undefined ? undefined : { label: 'per-layer', mixed: true, thresholds: perLayer },
    async (thresholds) => {
      const candidate = parseModel(float);
      applyQuantization(candidate, selected, scalesOf(thresholds), o.floatOpsIn, o.float16Block);
      return writeModel(candidate);
    },
    reference,
    batches,
    isCheck,
    place,
  );
  const cosine = (x: number) => (Number.isNaN(x) ? 'NaN' : x.toFixed(4));
  const checks = batches.filter((_, i) => isCheck(i)).length;
  let mixFigures = 'per-layer choice not made (one calibration batch, none left to check a fit on)';
  if (perLayer !== undefined && chosen.mix !== undefined) {
    const mix = new Map<string, number>();
    for (const c of perLayer.values()) {
      const label = c.percentile === undefined ? c.method : `${c.method} ${c.percentile}`;
      mix.set(label, (mix.get(label) ?? 0) + 1);
    }
    const rival = bestSingle(chosen.singles) ?? chosen.singles[0]!;
    mixFigures =
      `per-layer choice (${[...mix].map(([label, n]) => `${n} ${label}`).join(', ')}) ${cosine(chosen.mix.cosine)} ` +
      `against ${rival.set.label} ${cosine(rival.checkCosine)} on the ${checks} batches it was not fitted to`;
  }
  o.logger.log(
    'info',
    `quantizeInt8 method 'auto': ${chosen.best.mixed ? `${chosen.best.label} thresholds` : `every tensor by ${chosen.best.label}`} kept; ` +
      `worst output cosine on ${batches.length} calibration batches: ${chosen.singles.map((s) => `${s.set.label} ${cosine(s.cosine)}`).join(', ')}; ${mixFigures}`,
  );
  return chosen.best.thresholds;
}

/**
 * Q/DQ on the nodes `selected` picks (with `scales` holding every activation they read), and
 * with a float16 remainder the other ops in float16: the quantized ops stay float32 around
 * their Q/DQ (TensorRT fuses DQ -> op -> Q into one int8 kernel). Rewrites `model` in place.
 */
function applyQuantization(
  model: ModelProto,
  selected: (n: NodeProto) => boolean,
  scales: ReadonlyMap<string, number>,
  floatOpsIn: 'float32' | 'float16',
  float16Block: { opTypes: ReadonlySet<string>; nodeNames: ReadonlySet<string> },
): QuantizationPlan {
  const graph = model.graph!;
  const constants = new GraphConstants(graph);
  const plan = planQuantization(graph, selected, constants);
  insertQdq(graph, plan, scales, constants);
  if (floatOpsIn === 'float16') {
    convertGraphToFloat16(model, { keepIoTypes: true, opTypes: float16Block.opTypes, nodeNames: new Set([...float16Block.nodeNames, ...plan.nodes.map((n) => n.name)]) });
  }
  return plan;
}

/** '10.16.0' -> '101600', the way TensorRT numbers itself in cache headers (major * 10000 + minor * 100 + patch). */
function trtVersionDigits(version: string): string {
  const [major = 0, minor = 0, patch = 0] = version.split('.').map((x) => Number.parseInt(x, 10) || 0);
  return String(major * 10000 + minor * 100 + patch);
}
