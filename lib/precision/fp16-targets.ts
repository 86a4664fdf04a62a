/**
 * FP16 with an accuracy target: convertToFloat16, with the nodes float16 hurts most kept in
 * float32 (added to its block list) until the model reaches `minCosine` against float32 on the
 * validation data; the search is the one INT8 uses (sensitivity-search.ts). The activation
 * check of float16.ts runs first, once: the nodes it keeps float32 stay so in every candidate.
 * The report names the nodes kept float32 and the share of Conv/Gemm/MatMul FLOPs that runs in
 * float16.
 */
import { basename } from 'node:path';

import { type ModelProto, TensorProto_DataType } from 'onnx-buf';

import { BACKEND_OPTIONS, type BackendOption } from '../backend.js';
import type { CalibrationData } from '../calibration/collect-statistics.js';
import { parseModel, readModel, writeModel } from '../onnx/model-io.js';
import { inferElemTypes } from '../onnx/value-types.js';
import { expectObject, expectOneOf, expectString } from '../validate.js';
import { measureFlops, type NodeFlops } from './compute-flops.js';
import { convertModelToFloat16, type Float16Options, type Float16Report } from './float16.js';
import { type FloatNode, floatNodes, searchFloatLayers, type TargetAccuracy } from './sensitivity-search.js';
import { checkTarget, readValidationData, runBatches, scoreCandidate, scoreOutputs } from './validation-runs.js';

export interface Float16TargetOptions extends Float16Options {
  /** Smallest cosine similarity against float32 accepted on every output, over all of `validationData`. */
  minCosine: number;
  /**
   * Held-out batches (input name -> Tensor), read once and kept in memory; the activation
   * check runs on them too unless `calibrationData` is given for it.
   */
  validationData: CalibrationData;
  /** Backend that runs the candidates (default 'auto'), and its device and plugins. */
  backend?: BackendOption;
  device?: number;
  plugins?: readonly string[];
}

export interface Float16TargetReport {
  /**
   * The activation check on `calibrationData`, else `validationData`: the nodes whose
   * activations leave float16's range, kept float32 before the search (besides `blockList`).
   */
  activations: Float16Report;
  /** Nodes kept in float32 to meet the target (besides `blockList` and `activations`), most sensitive first. */
  floatNodes: FloatNode[];
  /**
   * FLOPs of the Conv, ConvTranspose, Gemm and MatMul nodes at the first validation batch's
   * shapes, all of them and those computing in float16; `float16Share` is NaN without such nodes.
   */
  flops: { total: number; float16: number; float16Share: number; nodes: NodeFlops[] };
  accuracy: TargetAccuracy;
}

/** Unnamed nodes get names, so that the block list can keep them in float32. */
function nameNodes(model: ModelProto): void {
  const taken = new Set(model.graph!.node.map((n) => n.name));
  for (const n of model.graph!.node) {
    if (n.name) continue;
    let k = 0;
    while (taken.has(`${n.opType}_fp16_${k}`)) k++;
    n.name = `${n.opType}_fp16_${k}`;
    taken.add(n.name);
  }
}

/**
 * convertToFloat16 with an accuracy target. When the fully converted model misses
 * `minCosine` on `validationData`, each node's sensitivity is measured (only that node in
 * float16) and the most sensitive go back to float32 until the model meets it. Resolves to
 * the converted model (also written to `outputPath` when given) and the report; when even
 * float32 everywhere misses the target, `report.accuracy.met` is false.
 * @throws as convertToFloat16; InvalidArgumentError for a bad minCosine, validation data that
 *   is not iterable, empty, or lacks an input
 */
export async function convertToFloat16WithReport(model: Uint8Array | ArrayBufferLike | string, options: Float16TargetOptions): Promise<{ model: Uint8Array; report: Float16TargetReport }> {
  const o = expectObject(options, 'convertToFloat16 options') as unknown as Float16TargetOptions;
  const { minCosine, validationData } = checkTarget(o.minCosine, o.validationData, '');
  const place = {
    backend: o.backend === undefined ? ('auto' as const) : expectOneOf(o.backend, BACKEND_OPTIONS, 'backend'),
    device: o.device,
    plugins: o.plugins,
  };
  const loaded = await readModel(model, { loadExternalData: true, ...(o.baseDir !== undefined ? { baseDir: expectString(o.baseDir, 'baseDir') } : {}) });
  const m = loaded.model;
  const graph = m.graph!;
  nameNodes(m);
  const initializers = new Set(graph.initializer.map((t) => t.name));
  const inputs = graph.input.map((i) => i.name).filter((n) => !initializers.has(n));
  const batches = await readValidationData(validationData, inputs, 'validationData');
  const float = await writeModel(m);
  const reference = await runBatches(float, batches, place);

  const { minCosine: _t, validationData: _v, calibrationData, onReport, backend: _b, device: _d, plugins: _p, outputPath, externalDataPath, baseDir: _dir, ...rest } = o;
  const blocked = { opTypes: new Set(o.blockList?.opTypes ?? []), nodeNames: new Set(o.blockList?.nodeNames ?? []) };
  // The candidates come from the loaded model's bytes: a model that had external data gets it again only on output.
  const dataPath = externalDataPath ?? (loaded.hadExternalData && outputPath !== undefined ? `${basename(outputPath)}.data` : undefined);
  const convert = (float32: ReadonlySet<string>, write: boolean): Promise<Uint8Array> =>
    convertModelToFloat16(
      float,
      {
        ...rest,
        blockList: { opTypes: [...blocked.opTypes], nodeNames: [...blocked.nodeNames, ...float32] },
        ...(write && outputPath !== undefined && { outputPath, ...(dataPath !== undefined && { externalDataPath: dataPath }) }),
      },
      false,
    );
  // The activation check, once: what it keeps float32 (every node is named by now, so its
  // labels are node names) is blocked in every candidate, and so is no layer of the search.
  let activations: Float16Report | undefined;
  await convertModelToFloat16(float, { ...rest, calibrationData: calibrationData ?? batches, backend: place.backend, onReport: (r) => (activations = r) });
  for (const name of activations!.keptFloat32) blocked.nodeNames.add(name);
  onReport?.(activations!);
  // Layers: the nodes that compute a float32 value and are not blocked already.
  const types = inferElemTypes(graph);
  const layers = graph.node.filter(
    (n) => !blocked.opTypes.has(n.opType) && !blocked.nodeNames.has(n.name) && n.output.some((t) => types.get(t) === TensorProto_DataType.FLOAT),
  );
  const nodes = await measureFlops(m, batches[0]!, place);
  const search = await searchFloatLayers(
    layers.map((n) => n.name),
    minCosine,
    async (float32, phase) => scoreCandidate(await convert(float32, false), reference, batches, place, phase),
    new Map(nodes.map((f) => [f.node, f.flops])),
  );
  const converted = await convert(new Set(search.floatLayers), true);
  // A node computes in float16 when the converted model gives its output that type.
  const convertedGraph = parseModel(converted).graph!;
  const convertedTypes = inferElemTypes(convertedGraph);
  const half = new Set(convertedGraph.node.filter((n) => n.output[0] && convertedTypes.get(n.output[0]) === TensorProto_DataType.FLOAT16).map((n) => n.name));
  const flops = { total: 0, float16: 0, float16Share: NaN, nodes };
  for (const f of nodes) {
    flops.total += f.flops;
    if (half.has(f.node)) flops.float16 += f.flops;
  }
  if (flops.total > 0) flops.float16Share = flops.float16 / flops.total;
  const scored = scoreOutputs(reference, await runBatches(converted, batches, place));
  return {
    model: converted,
    report: {
      activations: activations!,
      floatNodes: floatNodes(search, graph.node),
      flops,
      accuracy: { minCosine, met: scored.worst >= minCosine, cosine: scored.worst, outputs: scored.outputs, samples: batches.length, evaluations: search.evaluations },
    },
  };
}
