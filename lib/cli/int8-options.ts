/**
 * The precision options `build` and `quantize` share: INT8 calibration (data, cache, method,
 * shapes, which nodes), float16 block lists, and the accuracy target (validation data and the
 * cosine it must reach), turned into the options quantizeInt8 and convertToFloat16 take.
 */
import { existsSync } from 'node:fs';

import { CALIBRATION_METHODS, type CalibrationMethod } from '../calibration/histogram.js';
import type { Feeds } from '../execution-context.js';
import type { ProgressEvent } from '../builder-config.js';
import { readModel } from '../onnx/model-io.js';
import type { Float16Options } from '../precision/float16.js';
import type { Int8Options, NodeSelection } from '../precision/int8.js';
import { QUANTIZABLE_OPS } from '../precision/qdq-plan.js';
import { parseShapeSpec } from '../shapes.js';
import { dataDirectoryBatches, type ReportData } from './accuracy-report.js';
import { calibrationBatches, listCalibrationFiles, modelInputs } from './calibration-files.js';
import { withBatchProgress } from './output.js';
import { UsageError } from './usage.js';

export const INT8_OPTIONS = {
  'calib-data': { type: 'string' },
  'calib-cache': { type: 'string' },
  'calib-method': { type: 'string' },
  'calib-shapes': { type: 'string' },
  'int8-include': { type: 'string', multiple: true },
  'int8-exclude': { type: 'string', multiple: true },
  'fp16-block': { type: 'string', multiple: true },
  'min-cosine': { type: 'string' },
} as const;

export const INT8_HELP = `  --calib-data DIR           calibration batches: DIR/*.bin (one input) or DIR/<input>/*.bin,
                             raw little-endian data at the input's shape (see --calib-shapes);
                             the last fifth (at least one batch, from five up) is held out
                             for the accuracy report
  --calib-cache FILE         TensorRT calibration cache: read if it exists (no calibration),
                             written after calibrating
  --calib-method M           auto (default: per tensor, the candidate of the others that
                             least disturbs the layers reading it, checked end to end against
                             each single method), entropy (TensorRT's EntropyCalibration2, the
                             library's default), minmax or percentile
  --calib-shapes SPEC        input shapes of the calibration and validation batches
                             (default: --shapes, else --opt-shapes)
  --int8-include LIST        quantize only these nodes (names or op types; comma-separated or repeated)
  --int8-exclude LIST        leave these nodes (names or op types) in float
  --fp16-block LIST          nodes (names or op types) kept float32 in float16 code
  --min-cosine C             accuracy target (e.g. 0.99): the worst output's cosine against
                             float32 on --validation-data; the layers reduced precision hurts
                             most stay float until it holds`;

export interface PrecisionValues {
  'calib-data'?: string;
  'calib-cache'?: string;
  'calib-method'?: string;
  'calib-shapes'?: string;
  'int8-include'?: string[];
  'int8-exclude'?: string[];
  'fp16-block'?: string[];
  'validation-data'?: string;
  'min-cosine'?: string;
}

export interface Int8Plan {
  calibration: Omit<Int8Options, 'backend' | 'shapes' | 'outputPath' | 'baseDir'>;
  /** How many batches calibrate (0 without --calib-data). */
  batches: number;
  /** Batches kept out of calibration, for the accuracy report; undefined without --calib-data. */
  heldOut: (() => AsyncIterable<Feeds>) | undefined;
  /** The --validation-data batches; undefined without it. */
  validation: (() => AsyncIterable<Feeds>) | undefined;
  /** What the accuracy report runs on: --validation-data, else the held-out batches; undefined: neither. */
  reportData: ReportData | undefined;
}

/** Node names and op types of the model's main graph, to tell which a list entry is. */
async function modelNodes(modelPath: string): Promise<{ names: Set<string>; opTypes: Set<string> }> {
  const { model } = await readModel(modelPath, { loadExternalData: false });
  const nodes = model.graph?.node ?? [];
  return { names: new Set(nodes.map((n) => n.name).filter((n) => n !== '')), opTypes: new Set(nodes.map((n) => n.opType)) };
}

/**
 * A list option's entries as node names and op types: a node's name first, else an op type
 * of the model (or, for INT8, a quantizable one); anything else is a mistake worth naming.
 */
function nodeSelection(entries: string[] | undefined, flag: string, nodes: { names: Set<string>; opTypes: Set<string> }, knownOps: readonly string[]): NodeSelection | undefined {
  const list = (entries ?? []).flatMap((e) => e.split(',')).map((e) => e.trim()).filter((e) => e !== '');
  if (list.length === 0) return undefined;
  const selection = { opTypes: [] as string[], nodeNames: [] as string[] };
  for (const entry of list) {
    if (nodes.names.has(entry)) selection.nodeNames.push(entry);
    else if (nodes.opTypes.has(entry) || knownOps.includes(entry)) selection.opTypes.push(entry);
    else throw new UsageError(`${flag}: '${entry}' is neither a node name nor an op type of the model`);
  }
  return selection;
}

/** The shapes batch files are read at: --calib-shapes, else `fallback` (--shapes, or the profile's opt shapes). */
export function calibrationShapes(values: PrecisionValues, fallback: Record<string, number[]>): Record<string, number[]> {
  return values['calib-shapes'] ? parseShapeSpec(values['calib-shapes'], '--calib-shapes') : fallback;
}

/** The accuracy target of --min-cosine, which needs --validation-data. */
function minCosine(values: PrecisionValues): number | undefined {
  const text = values['min-cosine'];
  if (text === undefined) return undefined;
  const value = Number(text);
  if (text.trim() === '' || !(value > -1 && value <= 1)) throw new UsageError('--min-cosine takes a number in (-1, 1], such as 0.99');
  if (!values['validation-data']) throw new UsageError('--min-cosine needs --validation-data DIR (batches laid out as --calib-data) to measure it on');
  return value;
}

/** Materialized for the library, which measures every candidate on all of them. */
async function collect(batches: AsyncIterable<Feeds>): Promise<Feeds[]> {
  const out: Feeds[] = [];
  for await (const b of batches) out.push(b);
  return out;
}

export async function int8Plan(modelPath: string, values: PrecisionValues, shapes: Record<string, number[]>): Promise<Int8Plan> {
  // 'auto', unlike the library's TensorRT-like 'entropy': on the zoo it is never worse than the best single method.
  const method = (values['calib-method'] ?? 'auto') as CalibrationMethod;
  if (!CALIBRATION_METHODS.includes(method)) throw new UsageError(`--calib-method must be one of ${CALIBRATION_METHODS.join(', ')}`);
  const cache = values['calib-cache'];
  const cacheExists = cache !== undefined && existsSync(cache);
  if (!values['calib-data'] && !cacheExists) throw new UsageError('INT8 needs --calib-data DIR, or --calib-cache FILE naming an existing cache');
  const target = minCosine(values);
  const calibration: Int8Plan['calibration'] = { method };
  if (cache) calibration.calibrationCache = { ...(cacheExists && { read: cache }), write: cache };
  const nodes = await modelNodes(modelPath);
  const include = nodeSelection(values['int8-include'], '--int8-include', nodes, QUANTIZABLE_OPS);
  const exclude = nodeSelection(values['int8-exclude'], '--int8-exclude', nodes, QUANTIZABLE_OPS);
  const block = nodeSelection(values['fp16-block'], '--fp16-block', nodes, []);
  if (include) calibration.include = include;
  if (exclude) calibration.exclude = exclude;
  if (block) calibration.float16BlockList = block;
  let heldOut: Int8Plan['heldOut'];
  let batches = 0;
  if (values['calib-data']) {
    const inputs = await modelInputs(modelPath, shapes);
    const files = await listCalibrationFiles(values['calib-data'], inputs);
    const total = files[0]!.length;
    const held = total >= 5 ? Math.max(1, Math.floor(total / 5)) : 0;
    batches = total - held;
    calibration.calibrationData = { [Symbol.asyncIterator]: () => calibrationBatches(files, inputs, 0, total - held) };
    if (held > 0) heldOut = () => calibrationBatches(files, inputs, total - held, total);
  }
  const validation = values['validation-data'] ? await dataDirectoryBatches(modelPath, values['validation-data'], shapes) : undefined;
  if (target !== undefined) calibration.accuracy = { minCosine: target, validationData: await collect(validation!()) };
  const reportData = validation ? { batches: validation, from: 'the --validation-data batches' } : heldOut && { batches: heldOut, from: 'the held-out --calib-data batches' };
  return { calibration, batches, heldOut, validation, reportData };
}

/**
 * What `build --fp16` hands convertToFloat16 (the block list, the accuracy target, and the data
 * activations are checked on), and what the accuracy report runs on: --validation-data, else
 * --calib-data.
 */
export async function float16Plan(
  modelPath: string,
  values: PrecisionValues,
  shapes: Record<string, number[]>,
): Promise<{ options: Pick<Float16Options, 'blockList' | 'minCosine' | 'validationData' | 'calibrationData'>; reportData: ReportData | undefined }> {
  const target = minCosine(values);
  const block = values['fp16-block'] ? nodeSelection(values['fp16-block'], '--fp16-block', await modelNodes(modelPath), []) : undefined;
  const read = async (flag: 'validation-data' | 'calib-data'): Promise<ReportData | undefined> =>
    values[flag] ? { batches: await dataDirectoryBatches(modelPath, values[flag], shapes), from: `the --${flag} batches` } : undefined;
  const data = (await read('validation-data')) ?? (await read('calib-data'));
  const options = {
    ...(block && { blockList: block }),
    // The target's search measures every candidate on the batches, so they are read once (the
    // activation check runs on them too); without a target the check reads them as it goes.
    ...(target !== undefined ? { minCosine: target, validationData: await collect(data!.batches()) } : data && { calibrationData: data.batches() }),
  };
  return { options, reportData: data };
}

/** The plan's calibration options, its batches reporting progress as they are read. */
export function withCalibrationProgress(plan: Int8Plan, onProgress: (event: ProgressEvent) => void): Int8Plan['calibration'] {
  const data = plan.calibration.calibrationData;
  if (!data) return plan.calibration;
  return { ...plan.calibration, calibrationData: withBatchProgress(data, plan.batches, onProgress) };
}
