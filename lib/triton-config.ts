/**
 * Triton Inference Server model configurations (config.pbtxt, protobuf text format of
 * Triton's inference.ModelConfig) for a TensorRT plan or an ONNX model, from I/O metadata
 * alone, so that it is written the same way whether the metadata came from a loaded engine,
 * an ONNX file or a test.
 */
import { InvalidArgumentError } from './errors.js';

/** Triton's DataType names (model_config.proto), by tensorrt-node dtype. */
const TRITON_TYPES: Record<string, string> = {
  bool: 'TYPE_BOOL',
  uint8: 'TYPE_UINT8',
  int8: 'TYPE_INT8',
  int32: 'TYPE_INT32',
  int64: 'TYPE_INT64',
  float16: 'TYPE_FP16',
  float32: 'TYPE_FP32',
  bfloat16: 'TYPE_BF16',
  // Types ONNX models may declare at their I/O that tensorrt-node has no name of its own for.
  UINT16: 'TYPE_UINT16',
  UINT32: 'TYPE_UINT32',
  UINT64: 'TYPE_UINT64',
  INT16: 'TYPE_INT16',
  DOUBLE: 'TYPE_FP64',
  STRING: 'TYPE_STRING',
};

/** One input or output: dims with -1 for dynamic dimensions. */
export interface TritonTensorSpec {
  name: string;
  dtype: string;
  dims: readonly number[];
  /** A TensorRT shape-tensor input (ModelInput.is_shape_tensor). */
  isShapeTensor?: boolean;
}

export interface TritonModelSpec {
  name: string;
  platform: 'tensorrt_plan' | 'onnxruntime_onnx';
  inputs: readonly TritonTensorSpec[];
  outputs: readonly TritonTensorSpec[];
  /** 0: no batching, dims as given; N > 0: the first dimension of every tensor is the batch, left out of dims. */
  maxBatchSize: number;
  /** Instances per GPU (instance_group count). */
  instances: number;
  /** onnxruntime_onnx only: run through onnxruntime's TensorRT execution accelerator at this precision. */
  tensorrtPrecision?: 'fp32' | 'fp16' | 'int8';
}

/**
 * Triton's max_batch_size for an engine: when the first dimension of every input and output
 * is dynamic, the largest batch that the engine's profile 0 admits for every input from a
 * batch of 1 up (Triton sends any batch from 1 to max_batch_size); else 0 (no batch
 * dimension). Profile 0, because Triton's TensorRT backend runs every instance on profile 0
 * unless instance_group lists others, which this configuration does not.
 * `profile`: each input's min and max dims in profile 0 (empty for an engine without one).
 */
export function batchFromProfile(tensors: readonly TritonTensorSpec[], profile: Readonly<Record<string, { min: readonly number[]; max: readonly number[] }>>): number {
  if (tensors.length === 0 || tensors.some((t) => t.dims.length === 0 || t.dims[0] !== -1 || t.isShapeTensor)) return 0;
  const ranges = Object.values(profile);
  // A profile whose batch starts above 1 cannot serve Triton's batches of 1 (a min of 0 can).
  if (ranges.length === 0 || ranges.some((r) => r.min[0]! > 1)) return 0;
  return Math.min(...ranges.map((r) => r.max[0]!));
}

function tritonType(t: TritonTensorSpec): string {
  const type = TRITON_TYPES[t.dtype];
  if (!type) throw new InvalidArgumentError(`'${t.name}' has element type ${t.dtype}, which Triton's model configuration cannot express (Triton types: ${Object.values(TRITON_TYPES).join(', ')})`);
  return type;
}

const quote = (s: string): string => JSON.stringify(s);

function tensorBlock(t: TritonTensorSpec, batched: boolean): string {
  const dims = batched ? t.dims.slice(1) : t.dims;
  // Triton refuses empty dims. A tensor that is only a batch ([-1], batch left out) is one
  // element per request: dims [ 1 ], reshaped to the engine's nothing-but-batch shape.
  const lines = [`    name: ${quote(t.name)}`, `    data_type: ${tritonType(t)}`, `    dims: [ ${dims.length === 0 ? '1' : dims.join(', ')} ]`];
  if (dims.length === 0) lines.push('    reshape: { shape: [ ] }');
  if (t.isShapeTensor) lines.push('    is_shape_tensor: true');
  return `  {\n${lines.join('\n')}\n  }`;
}

/**
 * The config.pbtxt text for `spec`.
 * @throws InvalidArgumentError for a tensor type Triton has no name for, a batch size or
 *   instance count that is not an integer of the right range, or no outputs
 */
export function tritonModelConfig(spec: TritonModelSpec): string {
  if (!Number.isInteger(spec.maxBatchSize) || spec.maxBatchSize < 0) throw new InvalidArgumentError(`max batch size must be an integer >= 0, got ${spec.maxBatchSize}`);
  if (!Number.isInteger(spec.instances) || spec.instances < 1) throw new InvalidArgumentError(`instance count must be an integer >= 1, got ${spec.instances}`);
  if (spec.outputs.length === 0) throw new InvalidArgumentError(`model '${spec.name}' has no outputs`);
  const batched = spec.maxBatchSize > 0;
  for (const t of [...spec.inputs, ...spec.outputs]) {
    if (t.dims.length > 0) continue;
    throw new InvalidArgumentError(
      batched
        ? `'${t.name}' is a scalar, so it has no batch dimension; export with max batch size 0`
        : `'${t.name}' is a scalar, and Triton's model configuration needs at least one dimension per tensor (it refuses empty dims); give the model a [1]-shaped tensor instead`,
    );
  }
  const parts = [
    `name: ${quote(spec.name)}`,
    `platform: ${quote(spec.platform)}`,
    `max_batch_size: ${spec.maxBatchSize}`,
    `input [\n${spec.inputs.map((t) => tensorBlock(t, batched)).join(',\n')}\n]`,
    `output [\n${spec.outputs.map((t) => tensorBlock(t, batched)).join(',\n')}\n]`,
    `instance_group [\n  {\n    count: ${spec.instances}\n    kind: KIND_GPU\n  }\n]`,
  ];
  // Requests are gathered into batches up to max_batch_size; without a batch dimension there
  // is nothing to gather.
  if (batched) parts.push('dynamic_batching { }');
  if (spec.platform === 'onnxruntime_onnx' && spec.tensorrtPrecision) {
    parts.push(
      [
        'optimization {',
        '  execution_accelerators {',
        '    gpu_execution_accelerator: [',
        '      {',
        '        name: "tensorrt"',
        `        parameters { key: "precision_mode" value: ${quote(spec.tensorrtPrecision.toUpperCase())} }`,
        '      }',
        '    ]',
        '  }',
        '}',
      ].join('\n'),
    );
  }
  return `${parts.join('\n')}\n`;
}
