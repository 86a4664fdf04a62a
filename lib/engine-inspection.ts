/**
 * What Engine.inspect() returns, and the reading of TensorRT's IEngineInspector JSON (which
 * the sim writes in the same form) into it.
 */
import type { BackendName } from './backend.js';
import type { DataType } from './dtype.js';
import { TensorRTError } from './errors.js';

/** One input or output of an engine. */
export interface InspectedIOTensor {
  name: string;
  mode: 'input' | 'output';
  dtype: DataType;
  /** -1 for a dynamic dimension. */
  shape: number[];
  /** Indices of the dynamic dimensions (empty for a static tensor). */
  dynamicDims: number[];
  isShapeTensor: boolean;
}

/** One input's range in an optimization profile; values only for a shape-tensor input. */
export interface InspectedProfileInput {
  min: number[];
  opt: number[];
  max: number[];
  values?: { min: number[]; opt: number[]; max: number[] };
}

/** A tensor a layer reads or writes, as the engine inspector describes it. */
export interface LayerTensor {
  name: string;
  /** Its dimensions as the layer sees them (-1 where dynamic); absent when not reported. */
  dims?: number[];
  /** TensorRT's format string, e.g. 'Row major linear FP32'; absent when not reported. */
  format?: string;
}

/** One layer of the engine: TensorRT's fused layers, the sim's steps. */
export interface LayerInformation {
  name: string;
  /** TensorRT's LayerType ('CaskConvolution', 'Reformat', ...), the sim's ONNX operator; absent when not recorded. */
  type?: string;
  /** The type the layer computes in ('FP32', 'FP16', 'Int8', ...); absent when not recorded. */
  precision?: string;
  inputs: LayerTensor[];
  outputs: LayerTensor[];
}

/**
 * How much the engine told about its layers: 'detailed' (type, precision, tensors), 'names'
 * (a plan built with profilingVerbosity 'layerNamesOnly'), or 'none' (profilingVerbosity 'none').
 */
export type LayerDetail = 'detailed' | 'names' | 'none';

export interface EngineInspection {
  backend: BackendName;
  /** The backend's version: the sim's, or TensorRT's ("10.16.0"). */
  version: string;
  io: InspectedIOTensor[];
  /** One entry per optimization profile, keyed by input name. */
  profiles: Record<string, InspectedProfileInput>[];
  /** Bytes of device memory (the sim: host scratch memory) a context needs. */
  deviceMemorySize: number;
  numLayers: number;
  layerDetail: LayerDetail;
  layers: LayerInformation[];
}

function isRecord(value: unknown): value is Record<string, unknown> {
  return typeof value === 'object' && value !== null && !Array.isArray(value);
}

function readTensors(value: unknown): LayerTensor[] {
  if (!Array.isArray(value)) return [];
  return value.filter(isRecord).map((t) => {
    const out: LayerTensor = { name: String(t['Name'] ?? '') };
    if (Array.isArray(t['Dimensions'])) out.dims = t['Dimensions'].map(Number);
    if (typeof t['Format/Datatype'] === 'string') out.format = t['Format/Datatype'];
    return out;
  });
}

// TensorRT writes no precision of its own; its format strings end in the element type
// ("Row major linear FP32", "Channel major FP16 format where ..."): the first output's says
// what the layer computes in.
const FORMAT_TYPES = ['FP32', 'FP16', 'BF16', 'FP8', 'FP4', 'Int8', 'UInt8', 'Int32', 'Int64', 'Int4', 'Bool', 'E8M0'];
function precisionOf(format: string | undefined): string | undefined {
  if (!format) return undefined;
  const words = format.split(/[\s,]+/);
  return FORMAT_TYPES.find((t) => words.includes(t));
}

/**
 * Reads IEngineInspector::getEngineInformation(kJSON) output: each entry of "Layers" is an
 * object (kDETAILED) or a name (kLAYER_NAMES_ONLY); no entries at kNONE.
 * @throws TensorRTError when the backend's text is not that JSON
 */
export function readEngineInformation(json: string): { layerDetail: LayerDetail; layers: LayerInformation[] } {
  let parsed: unknown;
  try {
    parsed = JSON.parse(json);
  } catch (error) {
    throw new TensorRTError(`the engine inspector returned text that is not JSON: ${(error as Error).message}`);
  }
  if (!isRecord(parsed) || !Array.isArray(parsed['Layers'])) throw new TensorRTError('the engine inspector returned JSON without a "Layers" list');
  const entries = parsed['Layers'] as unknown[];
  if (entries.length === 0) return { layerDetail: 'none', layers: [] };
  let detailed = false;
  const layers = entries.map((entry): LayerInformation => {
    if (!isRecord(entry)) return { name: String(entry), inputs: [], outputs: [] };
    detailed = true;
    const outputs = readTensors(entry['Outputs']);
    const layer: LayerInformation = { name: String(entry['Name'] ?? ''), inputs: readTensors(entry['Inputs']), outputs };
    if (typeof entry['LayerType'] === 'string') layer.type = entry['LayerType'];
    const precision = typeof entry['Precision'] === 'string' ? entry['Precision'] : precisionOf(outputs[0]?.format);
    if (precision) layer.precision = precision;
    return layer;
  });
  return { layerDetail: detailed ? 'detailed' : 'names', layers };
}
