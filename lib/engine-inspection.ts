/**
 * What Engine.inspect() returns, and the reading of TensorRT's IEngineInspector JSON (which
 * the sim writes in the same form) into it.
 */
import type { BackendName } from './backend.js';
import type { ProfilingVerbosity } from './builder-config.js';
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

/**
 * Weights a layer holds as parameters rather than reading them as an input tensor: TensorRT's
 * convolutions keep their kernel and bias so (its inspector's "Weights" and "Bias" keys).
 */
export interface LayerWeights {
  /** The inspector's key for them: 'Weights', 'Bias', ... */
  role: string;
  /** Their stored element type as TensorRT spells it: 'Float', 'Half', 'Int8', ... */
  type: string;
  /** How many elements. */
  count: number;
}

/** One layer of the engine: TensorRT's fused layers, the sim's steps. */
export interface LayerInformation {
  name: string;
  /** TensorRT's LayerType ('CaskConvolution', 'Reformat', ...), the sim's ONNX operator; absent when not recorded. */
  type?: string;
  /**
   * The element type of the layer's first output ('FP32', 'FP16', 'Int8', ...), read from its
   * TensorRT format string: what the layer writes, which is not always what it computes in
   * (TensorRT reports no compute type). The sim gives the type it computes in. Absent when
   * the formats are not reported (TensorRT leaves them out for shapes it does not know).
   */
  precision?: string;
  /** The tensors the layer reads; weights held as parameters are in `weights` instead. */
  inputs: LayerTensor[];
  outputs: LayerTensor[];
  /** Present when the layer holds weights as parameters (a convolution's kernel and bias). */
  weights?: LayerWeights[];
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
  /**
   * What the plan itself says it recorded about its layers (TensorRT's
   * ICudaEngine::getProfilingVerbosity; the sim records everything: 'detailed'), which
   * `layerDetail`, read from the report, should agree with.
   */
  profilingVerbosity: ProfilingVerbosity;
  /**
   * The layers of optimization profile 0: TensorRT repeats every layer for each further
   * profile with the suffix " [profile N]", and those copies are left out.
   */
  layers: LayerInformation[];
  /** Why the layers could not be read, when the backend's report was not the JSON expected (layers is then empty). */
  layerError?: string;
}

function isRecord(value: unknown): value is Record<string, unknown> {
  return typeof value === 'object' && value !== null && !Array.isArray(value);
}

function readTensors(value: unknown): LayerTensor[] {
  if (!Array.isArray(value)) return [];
  return value.filter(isRecord).map((t) => {
    const out: LayerTensor = { name: String(t['Name'] ?? '') };
    if (Array.isArray(t['Dimensions'])) out.dims = t['Dimensions'].map(Number);
    // TensorRT writes "N/A due to dynamic shapes" where it knows no format: not one.
    const format = t['Format/Datatype'];
    if (typeof format === 'string' && !format.startsWith('N/A')) out.format = format;
    return out;
  });
}

// TensorRT lists a layer's parameter weights as keys of the layer ("Weights": {"Type": "Int8",
// "Count": 131072}, "Bias": {...}), which key depending on the layer type: any object with a
// Type and a Count is one.
function readWeights(entry: Record<string, unknown>): LayerWeights[] {
  const weights: LayerWeights[] = [];
  for (const [role, value] of Object.entries(entry)) {
    if (isRecord(value) && typeof value['Type'] === 'string' && typeof value['Count'] === 'number') {
      weights.push({ role, type: value['Type'], count: value['Count'] });
    }
  }
  return weights;
}

// TensorRT writes no precision of its own; its format strings name the element type
// ("Row major linear FP32", "Channel major FP16 format where ..."): the first output's is
// the type the layer writes.
const FORMAT_TYPES = ['FP32', 'FP16', 'BF16', 'FP8', 'FP4', 'Int8', 'UInt8', 'Int32', 'Int64', 'Int4', 'Bool', 'E8M0'];
function precisionOf(format: string | undefined): string | undefined {
  if (!format) return undefined;
  const words = format.split(/[\s,]+/);
  return FORMAT_TYPES.find((t) => words.includes(t));
}

const PROFILE_COPY = / \[profile [1-9][0-9]*\]$/;

/**
 * Reads IEngineInspector::getEngineInformation(kJSON) output: each entry of "Layers" is an
 * object (kDETAILED) or a name (kLAYER_NAMES_ONLY); no entries at kNONE. A detailed entry's
 * "Inputs" and "Outputs" are tensors; weights it holds as parameters are keys of their own.
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
  // The copies TensorRT makes for profiles 1 and up ("conv1 [profile 1]") describe the same
  // layers again.
  const entries = (parsed['Layers'] as unknown[]).filter((entry) => !PROFILE_COPY.test(String(isRecord(entry) ? entry['Name'] : entry)));
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
    const weights = readWeights(entry);
    if (weights.length > 0) layer.weights = weights;
    return layer;
  });
  return { layerDetail: detailed ? 'detailed' : 'names', layers };
}
