/**
 * inspectModel: what an ONNX model declares (inputs, outputs, opsets, operators) and which of
 * its nodes a backend's parser refuses, subgraph nodes included, as `tensorrt-node inspect`
 * prints it. Polygraphy's `inspect model` and the parse step of trtexec, in one call.
 */
import { resolve } from 'node:path';

import type { GraphProto, ValueInfoProto } from 'onnx-buf';
import { TensorProto_DataType } from 'onnx-buf';

import type { BackendName, BackendOption } from './backend.js';
import { Builder } from './builder.js';
import type { DeviceAndPluginOptions } from './create-options.js';
import { OnnxParseError, type ParserErrorDetail } from './errors.js';
import type { Logger } from './logger.js';
import { readModel } from './onnx/model-io.js';
import { dataTypeFromOnnx } from './onnx/tensor-data.js';
import { forEachGraph } from './onnx/walk.js';

/** One input or output of a model. */
export interface ModelIOTensor {
  name: string;
  /** tensorrt-node's name for the element type ('float32', ...), else ONNX's ('STRING'); 'unknown' when undeclared. */
  dtype: string;
  /** One entry per dimension: a size, or the symbolic name (or '?') of a dynamic one; undefined when the rank is unknown. */
  shape: (number | string)[] | undefined;
  /** Indices of the dynamic dimensions. */
  dynamicDims: number[];
}

export interface ModelInspection {
  /** The opset each imported domain is at ('' is the default ONNX domain). */
  opsets: Record<string, number>;
  producer: string;
  inputs: ModelIOTensor[];
  outputs: ModelIOTensor[];
  /** How many nodes use each operator (custom domains as 'domain.Op'), subgraphs included, most used first. */
  operators: { op: string; count: number }[];
  numNodes: number;
  /** The backend whose parser was asked. */
  backend: BackendName;
  /** The parser's errors: nodes it cannot take (nodes inside subgraphs named by their path), or [] when it parses. */
  unsupported: ParserErrorDetail[];
}

function elementTypeName(elemType: number): string {
  if (elemType === 0) return 'unknown';
  try {
    return dataTypeFromOnnx(elemType);
  } catch {
    return TensorProto_DataType[elemType] ?? `type ${elemType}`;
  }
}

function describe(info: ValueInfoProto): ModelIOTensor {
  const type = info.type?.value;
  if (type?.case !== 'tensorType') return { name: info.name, dtype: 'unknown', shape: undefined, dynamicDims: [] };
  const tensor = type.value;
  const shape = tensor.shape?.dim.map((d) => (d.value.case === 'dimValue' ? Number(d.value.value) : d.value.case === 'dimParam' ? d.value.value : '?'));
  return {
    name: info.name,
    dtype: elementTypeName(tensor.elemType),
    shape,
    dynamicDims: (shape ?? []).flatMap((d, i) => (typeof d === 'number' ? [] : [i])),
  };
}

/** A model's real inputs (initializers listed as inputs, as before IR 4, left out) and outputs. */
export function modelIO(graph: GraphProto): { inputs: ModelIOTensor[]; outputs: ModelIOTensor[] } {
  const initializers = new Set(graph.initializer.map((t) => t.name));
  return { inputs: graph.input.filter((i) => !initializers.has(i.name)).map(describe), outputs: graph.output.map(describe) };
}

function histogram(graph: GraphProto): { operators: { op: string; count: number }[]; numNodes: number } {
  const counts = new Map<string, number>();
  let numNodes = 0;
  forEachGraph(graph, (g) => {
    for (const node of g.node) {
      const op = node.domain && node.domain !== 'ai.onnx' ? `${node.domain}.${node.opType}` : node.opType;
      counts.set(op, (counts.get(op) ?? 0) + 1);
      numNodes++;
    }
  });
  const operators = [...counts].map(([op, count]) => ({ op, count })).sort((a, b) => b.count - a.count || a.op.localeCompare(b.op));
  return { operators, numNodes };
}

export interface InspectModelOptions extends DeviceAndPluginOptions {
  /** The backend whose parser decides what is unsupported (default: auto, as Builder picks). */
  backend?: BackendOption;
  logger?: Logger;
}

/**
 * Reads an ONNX file and reports what it declares and what `backend`'s parser refuses.
 * A model the parser refuses is not an error here: its errors are the `unsupported` list.
 * @throws InvalidArgumentError if the file cannot be read; OnnxParseError if it is not an ONNX
 *   model; BackendUnavailableError if the backend cannot run here
 */
export async function inspectModel(path: string, options: InspectModelOptions = {}): Promise<ModelInspection> {
  const { model } = await readModel(path, { loadExternalData: false });
  const graph = model.graph!;
  const opsets = Object.fromEntries(model.opsetImport.map((o) => [o.domain === 'ai.onnx' ? '' : o.domain, Number(o.version)]));
  // The plugins matter: an operator a plugin library implements parses.
  const { backend, logger, device, plugins } = options;
  const builder = new Builder({ ...(backend && { backend }), ...(logger && { logger }), ...(device !== undefined && { device }), ...(plugins !== undefined && { plugins }) });
  let unsupported: ParserErrorDetail[] = [];
  try {
    const network = builder.createNetworkV2();
    try {
      await builder.createOnnxParser(network).parseFromFile(resolve(path));
    } catch (error) {
      // A parse that failed without naming a node is not a list of unsupported nodes.
      if (!(error instanceof OnnxParseError) || error.parserErrors.length === 0) throw error;
      unsupported = [...error.parserErrors];
    }
    return {
      opsets,
      producer: [model.producerName, model.producerVersion].filter((s) => s).join(' '),
      ...modelIO(graph),
      ...histogram(graph),
      backend: builder.backend,
      unsupported,
    };
  } finally {
    builder.dispose();
  }
}

