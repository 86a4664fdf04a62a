/**
 * Runs an ONNX model on onnxruntime-node for `compare`. onnxruntime-node is an optional peer:
 * imported only here, only when asked for, with install instructions when it is missing.
 */
import { BackendUnavailableError, DataTypeError, TensorRTError, UnsupportedError } from '../errors.js';
import type { DataType } from '../dtype.js';
import { Tensor } from '../tensor.js';

// The element types onnxruntime-node and tensorrt-node spell alike.
const SHARED_TYPES: readonly DataType[] = ['float32', 'float16', 'int8', 'uint8', 'int32', 'int64', 'bool'];

type Ort = typeof import('onnxruntime-node');

async function loadOnnxRuntime(): Promise<Ort> {
  try {
    return await import('onnxruntime-node');
  } catch (error) {
    throw new BackendUnavailableError(
      `onnxruntime-node cannot be loaded (${(error as Error).message.split('\n')[0]}); it is an optional peer of tensorrt-node: ` +
        "install it with 'npm install onnxruntime-node', or leave onnxruntime out of --backends",
    );
  }
}

/** Runs `modelPath` once on onnxruntime's CPU provider; outputs by name. */
export async function runOnOnnxRuntime(modelPath: string, feeds: Record<string, Tensor>): Promise<Record<string, Tensor>> {
  const ort = await loadOnnxRuntime();
  // Before the model loads, which for such a type fails with a less telling message.
  for (const [name, t] of Object.entries(feeds)) {
    if (!SHARED_TYPES.includes(t.dtype)) throw new DataTypeError(`onnxruntime-node cannot take input '${name}' of type ${t.dtype}: leave onnxruntime out of --backends for this model`);
  }
  const session = await ort.InferenceSession.create(modelPath, { executionProviders: ['cpu'] }).catch((error: Error) => {
    throw new TensorRTError(`onnxruntime-node cannot load the model: ${error.message.split('\n')[0]}`);
  });
  try {
    const ortFeeds: Record<string, InstanceType<Ort['Tensor']>> = {};
    for (const [name, t] of Object.entries(feeds)) {
      ortFeeds[name] = new ort.Tensor(t.dtype as 'float32', t.data as Float32Array, [...t.dims]);
    }
    const results = await session.run(ortFeeds).catch((error: Error) => {
      throw new TensorRTError(`onnxruntime-node failed to run the model: ${error.message.split('\n')[0]}`);
    });
    const out: Record<string, Tensor> = {};
    for (const [name, value] of Object.entries(results)) {
      if (!SHARED_TYPES.includes(value.type as DataType)) throw new UnsupportedError(`onnxruntime-node returned output '${name}' of type ${value.type}, which compare cannot read`);
      out[name] = new Tensor(value.type as DataType, value.data as Float32Array, [...value.dims]);
    }
    return out;
  } finally {
    await session.release();
  }
}
