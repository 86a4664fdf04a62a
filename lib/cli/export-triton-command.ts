/**
 * `tensorrt-node export-triton FILE --repo DIR`: a Triton Inference Server model repository
 * entry, <repo>/<name>/config.pbtxt and <repo>/<name>/1/model.plan (a TensorRT engine) or
 * 1/model.onnx (an ONNX model, served by onnxruntime with its TensorRT accelerator).
 */
import { copyFile, mkdir, mkdtemp, readFile, rename, rm, stat, writeFile } from 'node:fs/promises';
import { basename, dirname, extname, join, resolve } from 'node:path';

import type { IOTensorInfo } from '../engine.js';
import { modelIO } from '../model-inspection.js';
import { externalDataInfo, resolveExternalDataPath } from '../onnx/external-data.js';
import { readModel } from '../onnx/model-io.js';
import { forEachTensor } from '../onnx/walk.js';
import { isSimEngine, Runtime, type RuntimeOptions } from '../runtime.js';
import { batchFromProfile, type TritonTensorSpec, tritonModelConfig } from '../triton-config.js';
import { DEVICE_AND_PLUGIN_HELP, DEVICE_AND_PLUGIN_OPTIONS, deviceAndPlugins, parseCommandLine, UsageError } from './usage.js';

const PRECISIONS = ['fp32', 'fp16', 'int8'] as const;

const HELP = `Usage: tensorrt-node export-triton FILE --repo DIR [options]

Writes a Triton Inference Server model repository entry for FILE:
  a TensorRT engine: DIR/NAME/config.pbtxt (platform tensorrt_plan) and DIR/NAME/1/model.plan;
    max_batch_size and dynamic batching come from the engine's optimization profile 0 (the
    one Triton runs) when the first dimension of every input and output is dynamic (dims
    then leave it out)
  an ONNX model (.onnx): DIR/NAME/config.pbtxt (platform onnxruntime_onnx, run through
    onnxruntime's TensorRT execution accelerator at --precision) and DIR/NAME/1/model.onnx
A sim engine cannot be exported: Triton runs TensorRT plans, and a sim engine is not one.

Options:
  --repo DIR                 the model repository (required; created if missing)
  --name NAME                the model's name in the repository (default: FILE's base name)
  --instances N              model instances per GPU (default 1)
  --max-batch-size N         engine: at most the batch its profile 0 admits (0 turns batching
                             off); ONNX model: N > 0 makes the first dimension the batch
                             (default 0)
  --precision P              ONNX model: fp32 (default), fp16 or int8 for the accelerator
                             (int8 wants a model with Q/DQ nodes: see 'tensorrt-node quantize')
  --force                    replace an existing DIR/NAME
  --engineHostCodeAllowed    load a version-compatible engine (only for engines you trust);
                             Triton then needs --backend-config=tensorrt,version-compatible=true
${DEVICE_AND_PLUGIN_HELP}
  -h, --help                 show this help

Examples:
  tensorrt-node export-triton resnet50.engine --repo models --instances 2
  tensorrt-node export-triton resnet50.onnx --repo models --precision fp16 --max-batch-size 8`;

function count(value: string | undefined, flag: string, fallback: number, min: number): number {
  if (value === undefined) return fallback;
  const n = Number(value);
  if (value.trim() === '' || !Number.isInteger(n) || n < min) throw new UsageError(`${flag} takes an integer >= ${min}, got '${value}'`);
  return n;
}

/**
 * The I/O of a TensorRT engine file and what its profile 0 says about batching. Only the
 * engine is loaded: no execution context (no activation memory) and no engine inspector.
 */
async function engineSpec(file: string, bytes: Uint8Array, load: Omit<RuntimeOptions, 'backend'>): Promise<{ inputs: TritonTensorSpec[]; outputs: TritonTensorSpec[]; batch: number }> {
  if (isSimEngine(bytes)) {
    throw new UsageError(`${file} is a tensorrt-node sim engine, which only tensorrt-node's sim backend runs; Triton's tensorrt_plan platform needs a TensorRT plan: build one with '--backend tensorrt' on a machine with TensorRT, or export the ONNX model instead`);
  }
  using runtime = new Runtime({ ...load, backend: 'tensorrt' });
  const engine = await runtime.deserializeCudaEngine(bytes);
  const spec = (t: IOTensorInfo): TritonTensorSpec => ({ name: t.name, dtype: t.dtype, dims: [...t.shape], ...(t.isShapeTensor && { isShapeTensor: true }) });
  const inputs = engine.inputs.map(spec);
  const outputs = engine.outputs.map(spec);
  const profile0 = engine.numOptimizationProfiles === 0 ? {} : Object.fromEntries(engine.inputs.map((t) => [t.name, engine.getProfileShape(t.name, 0)]));
  return { inputs, outputs, batch: batchFromProfile([...inputs, ...outputs], profile0) };
}

export async function exportTritonCommand(args: string[]): Promise<void> {
  const { values, positionals } = parseCommandLine(args, {
    repo: { type: 'string' },
    name: { type: 'string' },
    instances: { type: 'string' },
    'max-batch-size': { type: 'string' },
    precision: { type: 'string' },
    force: { type: 'boolean' },
    engineHostCodeAllowed: { type: 'boolean' },
    ...DEVICE_AND_PLUGIN_OPTIONS,
    help: { type: 'boolean', short: 'h' },
  });
  if (values.help) {
    console.log(HELP);
    return;
  }
  if (positionals.length !== 1) throw new UsageError('expected exactly one engine or ONNX model (.onnx)');
  if (!values.repo) throw new UsageError('missing --repo DIR (the Triton model repository to write into)');
  const file = positionals[0]!;
  const isOnnx = file.toLowerCase().endsWith('.onnx');
  const name = values.name ?? basename(file, extname(file));
  if (!/^[A-Za-z0-9_.-]+$/.test(name) || name === '.' || name === '..') throw new UsageError(`--name '${name}' is not a usable model name (letters, digits, '_', '-', '.')`);
  const instances = count(values.instances, '--instances', 1, 1);
  const requestedBatch = values['max-batch-size'] === undefined ? undefined : count(values['max-batch-size'], '--max-batch-size', 0, 0);
  const precision = values.precision ?? 'fp32';
  if (!PRECISIONS.includes(precision as (typeof PRECISIONS)[number])) throw new UsageError(`--precision must be one of ${PRECISIONS.join(', ')}`);
  if (!isOnnx && values.precision !== undefined) throw new UsageError('--precision applies to ONNX models; an engine has its precision built in');

  const bytes = await readFile(file).catch((error: NodeJS.ErrnoException) => {
    throw new UsageError(`cannot read ${file}: ${error.code === 'ENOENT' ? 'no such file' : error.message}`);
  });
  const modelDir = join(values.repo, name);
  if (!values.force && (await stat(modelDir).catch(() => undefined))) throw new UsageError(`${modelDir} already exists; pass --force to replace it`);

  let config: string;
  let externalFiles: string[] = [];
  if (isOnnx) {
    const { model } = await readModel(bytes, { loadExternalData: false });
    const io = modelIO(model.graph!);
    const spec = (t: (typeof io.inputs)[number]): TritonTensorSpec => {
      if (!t.shape) throw new UsageError(`'${t.name}' has no declared shape, which Triton's configuration needs`);
      return { name: t.name, dtype: t.dtype, dims: t.shape.map((d) => (typeof d === 'number' ? d : -1)) };
    };
    const inputs = io.inputs.map(spec);
    const outputs = io.outputs.map(spec);
    const batch = requestedBatch ?? 0;
    const notBatched = [...inputs, ...outputs].filter((t) => t.dims[0] !== -1);
    if (batch > 0 && notBatched.length > 0) throw new UsageError(`--max-batch-size needs a dynamic first dimension on every input and output; ${notBatched.map((t) => `'${t.name}' is [${t.dims.join(', ')}]`).join(', ')}`);
    config = tritonModelConfig({ name, platform: 'onnxruntime_onnx', inputs, outputs, maxBatchSize: batch, instances, tensorrtPrecision: precision as (typeof PRECISIONS)[number] });
    // External weights travel with the model, at the same relative locations.
    const locations = new Set<string>();
    forEachTensor(model, (t) => {
      if (t.externalData.length > 0) locations.add(externalDataInfo(t).location);
    });
    externalFiles = [...locations];
  } else {
    const load = { ...deviceAndPlugins(values), ...(values.engineHostCodeAllowed && { engineHostCodeAllowed: true }) };
    const { inputs, outputs, batch } = await engineSpec(file, bytes, load);
    if (requestedBatch !== undefined && requestedBatch > batch) {
      throw new UsageError(
        batch === 0
          ? `--max-batch-size ${requestedBatch}: the engine has no batch dimension (the first dimension of every input and output must be dynamic, with profile 0 starting at 1)`
          : `--max-batch-size ${requestedBatch}: the engine's profile 0 admits batches up to ${batch}`,
      );
    }
    config = tritonModelConfig({ name, platform: 'tensorrt_plan', inputs, outputs, maxBatchSize: requestedBatch ?? batch, instances });
    if (requestedBatch === undefined && batch > 0) {
      // A dynamic first dimension everywhere suggests a batch but does not prove one: an
      // output whose first dimension the data decide (a detection count) is not per request.
      console.warn(
        `warning: max_batch_size ${batch} assumes the first dimension of every input and output is the batch (profile 0 takes 1 to ${batch}); ` +
          `if an output's first dimension is not (a count the data decide, such as detections), export with --max-batch-size 0`,
      );
    }
    if (values.engineHostCodeAllowed) {
      // A version-compatible plan carries a lean runtime that Triton loads only when told to.
      console.warn('note: if the engine is version-compatible, start Triton with --backend-config=tensorrt,version-compatible=true');
    }
  }

  // The entry is written beside its place and renamed into it: --force then leaves nothing of
  // the old entry (other versions, old external data), and a failed write leaves no half entry.
  await mkdir(values.repo, { recursive: true });
  const staging = await mkdtemp(join(values.repo, `.${name}.new-`));
  try {
    const stagedVersion = join(staging, '1');
    await mkdir(stagedVersion);
    await writeFile(join(staging, 'config.pbtxt'), config);
    await writeFile(join(stagedVersion, isOnnx ? 'model.onnx' : 'model.plan'), bytes);
    for (const location of externalFiles) {
      const source = await resolveExternalDataPath(dirname(resolve(file)), location);
      await mkdir(dirname(join(stagedVersion, location)), { recursive: true });
      await copyFile(source, join(stagedVersion, location));
    }
    await replaceDirectory(staging, modelDir);
  } finally {
    await rm(staging, { recursive: true, force: true });
  }
  const versionDir = join(modelDir, '1');
  console.log(`wrote ${join(modelDir, 'config.pbtxt')} and ${join(versionDir, isOnnx ? 'model.onnx' : 'model.plan')}${externalFiles.length ? ` (+${externalFiles.length} external data file(s))` : ''}`);
}

/** Puts `staged` at `target`, moving an existing `target` aside first and back if the move fails. */
async function replaceDirectory(staged: string, target: string): Promise<void> {
  const old = `${staged}.old`;
  const hadOld = await rename(target, old).then(
    () => true,
    (error: NodeJS.ErrnoException) => {
      if (error.code === 'ENOENT') return false;
      throw error;
    },
  );
  try {
    await rename(staged, target);
  } catch (error) {
    if (hadOld) await rename(old, target);
    throw error;
  }
  if (hadOld) await rm(old, { recursive: true, force: true });
}
