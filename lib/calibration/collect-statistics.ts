/**
 * The statistics half of post-training quantization: run the float model on calibration
 * batches with the tensors to quantize exposed as extra graph outputs, and feed each one into
 * its CalibrationHistogram as the batch comes out. Batches are taken from the (async) iterable
 * one at a time and dropped once their activations are binned, so memory stays at one batch
 * and 2048 bins per tensor however long the data stream is.
 */
import { create } from '@bufbuild/protobuf';
import { TensorProto_DataType, TypeProto_TensorSchema, TypeProtoSchema, ValueInfoProtoSchema, type ModelProto } from 'onnx-buf';

import type { BackendOption } from '../backend.js';
import { buildEngine } from '../build-engine.js';
import { DataTypeError, InvalidArgumentError, ShapeError, TensorRTError } from '../errors.js';
import { InferenceSession } from '../inference-session.js';
import { writeModel } from '../onnx/model-io.js';
import type { ShapeMap } from '../shapes.js';
import { Tensor } from '../tensor.js';
import { describe } from '../validate.js';
import { CalibrationBatchReader } from './calibration-data.js';
import { CalibrationHistogram, ownedByLibrary } from './histogram.js';

/** One calibration batch: graph input name -> tensor. */
export type CalibrationFeeds = Record<string, Tensor>;

/** What calibration reads batches from: an array, a generator, or an async generator streaming from disk. */
export type CalibrationData = Iterable<CalibrationFeeds> | AsyncIterable<CalibrationFeeds>;

export interface CollectOptions {
  backend: BackendOption;
  /** For the float engine's builder and runtime (undefined: their defaults). */
  device?: number | undefined;
  plugins?: readonly string[] | undefined;
  /** Fixed input shapes for the float engine; taken from the first batch when absent. */
  shapes: ShapeMap | undefined;
}

export interface CollectedStatistics {
  /** One histogram per requested tensor (the caller disposes them). */
  histograms: Map<string, CalibrationHistogram>;
  batches: number;
}

export function isCalibrationData(value: unknown): value is CalibrationData {
  return (
    typeof value === 'object' && value !== null &&
    (typeof (value as Iterable<unknown>)[Symbol.iterator] === 'function' || typeof (value as AsyncIterable<unknown>)[Symbol.asyncIterator] === 'function')
  );
}

/** Checks one batch: an object of Tensors holding every input the model needs, float32 where the model says so. */
function checkBatch(batch: unknown, index: number, inputs: readonly string[]): CalibrationFeeds {
  const what = `calibration batch ${index}`;
  if (typeof batch !== 'object' || batch === null || Array.isArray(batch)) {
    throw new InvalidArgumentError(`Expected an object of Tensors (input name -> Tensor) for ${what} but received ${describe(batch)}`);
  }
  const feeds = batch as Record<string, unknown>;
  for (const name of inputs) {
    if (!(name in feeds)) {
      throw new InvalidArgumentError(`Expected a Tensor for input '${name}' in ${what} but it has only ${Object.keys(feeds).map((k) => `'${k}'`).join(', ') || 'no inputs'}`);
    }
    if (!(feeds[name] instanceof Tensor)) throw new InvalidArgumentError(`Expected a Tensor for input '${name}' in ${what} but received ${describe(feeds[name])}`);
  }
  return feeds as CalibrationFeeds;
}

/**
 * The model with `tensors` appended to its graph outputs (as float32; their shapes are left
 * for the builder to infer). Works on a copy of the graph's output list only: nodes and
 * weights are shared with `model`, which is not changed.
 */
export async function withExposedOutputs(model: ModelProto, tensors: readonly string[]): Promise<Uint8Array> {
  const graph = model.graph!;
  const saved = graph.output;
  const present = new Set(saved.map((o) => o.name));
  const extra = tensors.filter((t) => !present.has(t)).map((name) =>
    create(ValueInfoProtoSchema, {
      name,
      type: create(TypeProtoSchema, { value: { case: 'tensorType', value: create(TypeProto_TensorSchema, { elemType: TensorProto_DataType.FLOAT }) } }),
    }),
  );
  graph.output = [...saved, ...extra];
  try {
    return await writeModel(model);
  } finally {
    graph.output = saved;
  }
}

/**
 * Runs the float model over every batch of `data` and returns a histogram of |x| per tensor
 * in `tensors` (graph inputs among them are binned straight from the feeds). Graph inputs the
 * model reads are `inputs`; each batch must hold all of them.
 * @throws InvalidArgumentError for data that is not iterable, a batch that is not an object
 *   of Tensors or lacks an input, a batch of the wrong shape or type (naming the batch, with
 *   the engine's ShapeError or DataTypeError as cause), and for empty data; TensorRTError
 *   with the original as `cause` when the iterator itself throws (calibrationDataError)
 */
export async function collectStatistics(
  model: ModelProto,
  inputs: readonly string[],
  tensors: readonly string[],
  data: CalibrationData,
  options: CollectOptions,
): Promise<CollectedStatistics> {
  const histograms = new Map(tensors.map((t) => [t, new CalibrationHistogram()]));
  const inputSet = new Set(inputs);
  const exposed = tensors.filter((t) => !inputSet.has(t));
  let session: InferenceSession | undefined;
  let batches = 0;
  // Failures of the user's iterator come out of reader.next() already wrapped, as on the
  // implicit path (calibration-data.ts).
  const reader = new CalibrationBatchReader(data);
  try {
    for (let step = await reader.next(); !step.done; step = await reader.next()) {
      const feeds = checkBatch(step.value, batches, inputs);
      // Where every tensor to calibrate is a graph input, the feeds are all there is to bin: no engine is needed.
      let outputs: Record<string, Tensor> = {};
      if (exposed.length > 0) {
        if (!session) {
          // The engine is built on the first batch, so that its shapes can fix dynamic dimensions.
          const fromBatch = options.shapes === undefined;
          const shapes = options.shapes ?? Object.fromEntries(inputs.map((name) => [name, [...feeds[name]!.dims]]));
          try {
            const where = {
              ...(options.device !== undefined && { device: options.device }),
              ...(options.plugins !== undefined && { plugins: options.plugins }),
            };
            const engine = await buildEngine(await withExposedOutputs(model, exposed), { backend: options.backend, shapes, ...where });
            session = await InferenceSession.create(engine, { backend: options.backend, ...where });
          } catch (error) {
            // Shapes taken from the batch that the model refuses are the batch's fault.
            throw fromBatch ? batchMismatch(error, batches) : error;
          }
        }
        try {
          outputs = await session.run(Object.fromEntries(inputs.map((name) => [name, feeds[name]!])));
        } catch (error) {
          throw batchMismatch(error, batches);
        }
      }
      const pending: Promise<void>[] = [];
      for (const [name, histogram] of histograms) {
        const tensor = inputSet.has(name) ? feeds[name]! : outputs[name];
        if (!tensor || tensor.dtype !== 'float32') {
          throw new InvalidArgumentError(`Expected a float32 tensor '${name}' in calibration batch ${batches} but received ${tensor ? tensor.dtype : 'none'}`);
        }
        // Engine outputs are this function's own, never handed out: binned without a copy.
        // Feeds are the caller's, and may be transferred meanwhile: add() copies them.
        const values = tensor.data as Float32Array;
        pending.push(histogram.add(inputSet.has(name) ? values : ownedByLibrary(values)));
      }
      // Waiting here is what bounds memory: the next batch is not pulled until this one is binned.
      await Promise.all(pending);
      batches++;
    }
    if (batches === 0) throw new InvalidArgumentError('Expected at least one batch in calibrationData but the iterable was empty');
    return { histograms, batches };
  } catch (error) {
    for (const h of histograms.values()) h.dispose();
    throw error;
  } finally {
    reader.close();
    session?.dispose();
  }
}

/**
 * A batch the float engine refused for its shape or element type is an InvalidArgumentError
 * naming the batch, as the implicit path reports such a batch (the engine's ShapeError or
 * DataTypeError is its cause); other errors only gain the batch's index.
 */
function batchMismatch(error: unknown, batch: number): unknown {
  if (error instanceof ShapeError || error instanceof DataTypeError) {
    return new InvalidArgumentError(`calibration batch ${batch} does not fit the model: ${error.message}`, error.logMessages, { cause: error });
  }
  if (error instanceof TensorRTError) error.message = `calibration batch ${batch}: ${error.message}`;
  return error;
}
