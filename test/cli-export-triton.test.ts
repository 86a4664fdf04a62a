// `tensorrt-node export-triton` run as a user runs it, and the config.pbtxt it writes, read
// back with a small protobuf text-format reader and checked field by field against the
// fields of Triton's inference.ModelConfig (model_config.proto).
import { existsSync, mkdirSync, mkdtempSync, readdirSync, readFileSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';

import { describe, expect, it } from 'vitest';

import { buildEngine, InvalidArgumentError } from '../lib/index.js';
import { parseModel, writeModel } from '../lib/onnx/model-io.js';
import { batchFromProfile, tritonModelConfig } from '../lib/triton-config.js';
import { runCli as tensorrtNode } from './fixtures/run-cli.js';
import { lenetModel } from './fixtures/cnn-models.js';

// ---- model_config.proto, as far as a model configuration's fields go ----------------------
// Field names and types read from triton-inference-server/common protobuf/model_config.proto:
// 'string', 'bool', 'int32', 'int64', 'uint32', 'uint64', an enum as 'enum:<Name>', a message
// by its name; a trailing [] marks a repeated field (a map<K, V> is a repeated entry message).
const ENUMS: Record<string, readonly string[]> = {
  DataType: ['TYPE_INVALID', 'TYPE_BOOL', 'TYPE_UINT8', 'TYPE_UINT16', 'TYPE_UINT32', 'TYPE_UINT64', 'TYPE_INT8', 'TYPE_INT16', 'TYPE_INT32', 'TYPE_INT64', 'TYPE_FP16', 'TYPE_FP32', 'TYPE_FP64', 'TYPE_STRING', 'TYPE_BF16'],
  Kind: ['KIND_AUTO', 'KIND_GPU', 'KIND_CPU', 'KIND_MODEL'],
  Format: ['FORMAT_NONE', 'FORMAT_NHWC', 'FORMAT_NCHW'],
  ModelPriority: ['PRIORITY_DEFAULT', 'PRIORITY_MAX', 'PRIORITY_MIN'],
};
const MESSAGES: Record<string, Record<string, string>> = {
  ModelConfig: {
    name: 'string', platform: 'string', backend: 'string', runtime: 'string', version_policy: 'ModelVersionPolicy',
    max_batch_size: 'int32', input: 'ModelInput[]', output: 'ModelOutput[]', batch_input: 'BatchInput[]', batch_output: 'BatchOutput[]',
    optimization: 'ModelOptimizationPolicy', dynamic_batching: 'ModelDynamicBatching', sequence_batching: 'ModelSequenceBatching',
    ensemble_scheduling: 'ModelEnsembling', instance_group: 'ModelInstanceGroup[]', default_model_filename: 'string',
    cc_model_filenames: 'StringMapEntry[]', metric_tags: 'StringMapEntry[]', parameters: 'ModelParameterEntry[]',
    model_warmup: 'ModelWarmup[]', model_operations: 'ModelOperations', model_transaction_policy: 'ModelTransactionPolicy',
    model_repository_agents: 'ModelRepositoryAgents', response_cache: 'ModelResponseCache', model_metrics: 'ModelMetrics',
  },
  ModelInput: {
    name: 'string', data_type: 'enum:DataType', format: 'enum:Format', dims: 'int64[]', reshape: 'ModelTensorReshape',
    is_shape_tensor: 'bool', allow_ragged_batch: 'bool', optional: 'bool', is_non_linear_format_io: 'bool',
  },
  ModelOutput: {
    name: 'string', data_type: 'enum:DataType', dims: 'int64[]', reshape: 'ModelTensorReshape', label_filename: 'string',
    is_shape_tensor: 'bool', is_non_linear_format_io: 'bool',
  },
  ModelTensorReshape: { shape: 'int64[]' },
  ModelInstanceGroup: {
    name: 'string', kind: 'enum:Kind', count: 'int32', rate_limiter: 'ModelRateLimiter', gpus: 'int32[]',
    secondary_devices: 'SecondaryDevice[]', profile: 'string[]', passive: 'bool', host_policy: 'string',
  },
  ModelDynamicBatching: {
    preferred_batch_size: 'int32[]', max_queue_delay_microseconds: 'uint64', preserve_ordering: 'bool', priority_levels: 'uint64',
    default_priority_level: 'uint64', default_queue_policy: 'ModelQueuePolicy', priority_queue_policy: 'QueuePolicyEntry[]',
  },
  ModelOptimizationPolicy: {
    graph: 'Graph', priority: 'enum:ModelPriority', cuda: 'Cuda', execution_accelerators: 'ExecutionAccelerators',
    input_pinned_memory: 'PinnedMemoryBuffer', output_pinned_memory: 'PinnedMemoryBuffer', gather_kernel_buffer_threshold: 'uint32',
    eager_batching: 'bool',
  },
  ExecutionAccelerators: { gpu_execution_accelerator: 'Accelerator[]', cpu_execution_accelerator: 'Accelerator[]' },
  Accelerator: { name: 'string', parameters: 'StringMapEntry[]' },
  StringMapEntry: { key: 'string', value: 'string' },
};

// ---- a protobuf text-format reader: enough of the grammar for config.pbtxt -----------------
type Scalar = { kind: 'string'; value: string } | { kind: 'number'; value: string } | { kind: 'ident'; value: string };
type Message = Map<string, (Scalar | Message)[]>;

function tokenize(text: string): string[] {
  const tokens: string[] = [];
  const re = /\s+|#[^\n]*|("(?:[^"\\]|\\.)*")|([{}[\]:,])|([A-Za-z_][A-Za-z0-9_]*)|(-?[0-9][0-9.eE+-]*)|(.)/gy;
  while (re.lastIndex < text.length) {
    const m = re.exec(text)!;
    if (m[5] !== undefined) throw new Error(`unexpected character '${m[5]}' in the text format`);
    const token = m[1] ?? m[2] ?? m[3] ?? m[4];
    if (token !== undefined) tokens.push(token);
  }
  return tokens;
}

function parseTextFormat(text: string): Message {
  const tokens = tokenize(text);
  let at = 0;
  const peek = () => tokens[at];
  const take = (expected?: string) => {
    const t = tokens[at++];
    if (t === undefined || (expected !== undefined && t !== expected)) throw new Error(`expected ${expected ?? 'a token'} at token ${at}, got ${t}`);
    return t;
  };
  const scalar = (): Scalar => {
    const t = take();
    if (t.startsWith('"')) return { kind: 'string', value: JSON.parse(t) as string };
    if (/^-?[0-9]/.test(t)) return { kind: 'number', value: t };
    if (/^[A-Za-z_]/.test(t)) return { kind: 'ident', value: t };
    throw new Error(`unexpected '${t}'`);
  };
  const message = (end: string | undefined): Message => {
    const fields: Message = new Map();
    while (peek() !== end) {
      const name = take();
      if (!/^[A-Za-z_]/.test(name)) throw new Error(`expected a field name, got '${name}'`);
      const hasColon = peek() === ':';
      if (hasColon) take(':');
      const values = fields.get(name) ?? [];
      const value = (): Scalar | Message => (peek() === '{' ? (take('{'), message('}')) : scalar());
      if (peek() === '[') {
        take('[');
        while (peek() !== ']') {
          values.push(value());
          if (peek() === ',') take(',');
        }
        take(']');
      } else {
        if (!hasColon && peek() !== '{') throw new Error(`field '${name}' has neither ':' nor a message`);
        values.push(value());
      }
      fields.set(name, values);
    }
    if (end) take(end);
    return fields;
  };
  return message(undefined);
}

/** Asserts every field of `message` exists in `type` with a value of the right type. */
function checkAgainstProto(message: Message, type: string, path = type): void {
  const fields = MESSAGES[type];
  expect(fields, `${path}: a message type this test knows`).toBeDefined();
  for (const [name, values] of message) {
    const declared = fields![name];
    expect(declared, `${path}.${name} is a field of ${type}`).toBeDefined();
    const repeated = declared!.endsWith('[]');
    const base = repeated ? declared!.slice(0, -2) : declared!;
    if (!repeated) expect(values.length, `${path}.${name} is not repeated`).toBe(1);
    for (const value of values) {
      const where = `${path}.${name}`;
      if (base in MESSAGES) {
        expect(value instanceof Map, `${where} is a ${base} message`).toBe(true);
        checkAgainstProto(value as Message, base, where);
        continue;
      }
      const s = value as Scalar;
      expect(s instanceof Map, `${where} is a scalar`).toBe(false);
      if (base === 'string') expect(s.kind, where).toBe('string');
      else if (base === 'bool') expect(s.kind === 'ident' && (s.value === 'true' || s.value === 'false'), `${where} is a bool`).toBe(true);
      else if (base.startsWith('enum:')) expect(ENUMS[base.slice(5)], where).toContain(s.value);
      else {
        expect(s.kind === 'number' && /^-?[0-9]+$/.test(s.value), `${where} is an integer`).toBe(true);
        if (base.startsWith('uint')) expect(Number(s.value), `${where} is unsigned`).toBeGreaterThanOrEqual(0);
        if (base === 'int32') expect(Math.abs(Number(s.value)), `${where} fits int32`).toBeLessThan(2 ** 31);
      }
    }
  }
}

const get = (m: Message, ...path: string[]): (Scalar | Message)[] => {
  let values: (Scalar | Message)[] = [m];
  for (const name of path) values = values.flatMap((v) => (v as Message).get(name) ?? []);
  return values;
};
const scalars = (m: Message, ...path: string[]) => get(m, ...path).map((s) => (s as Scalar).value);

// ---- the tests ------------------------------------------------------------------------------
const dir = mkdtempSync(join(tmpdir(), 'tensorrt-node-cli-triton-'));
const lenet = join(dir, 'lenet.onnx');
writeFileSync(lenet, lenetModel());

describe('the text-format reader of these tests', () => {
  it('reads nested messages, lists and map entries, and rejects a field the proto lacks', () => {
    const m = parseTextFormat('name: "a"\ninput [ { name: "x" dims: [ 1, -1 ] } ]\noptimization { execution_accelerators { gpu_execution_accelerator: [ { name: "t" parameters { key: "k" value: "v" } } ] } }');
    expect(scalars(m, 'input', 'dims')).toEqual(['1', '-1']);
    expect(scalars(m, 'optimization', 'execution_accelerators', 'gpu_execution_accelerator', 'parameters', 'value')).toEqual(['v']);
    checkAgainstProto(m, 'ModelConfig');
    expect(() => checkAgainstProto(parseTextFormat('max_batch: 3'), 'ModelConfig')).toThrow(/max_batch is a field of ModelConfig/);
    expect(() => checkAgainstProto(parseTextFormat('input [ { data_type: TYPE_FLOAT32 } ]'), 'ModelConfig')).toThrow();
  });
});

describe('tensorrt-node export-triton, an ONNX model', () => {
  it('writes config.pbtxt (onnxruntime_onnx, TensorRT accelerator at the precision) and 1/model.onnx', async () => {
    const repo = join(dir, 'repo');
    const out = await tensorrtNode(['export-triton', lenet, '--repo', repo, '--precision', 'fp16', '--max-batch-size', '8', '--instances', '2']);
    expect(out.stderr).toBe('');
    expect(out.code).toBe(0);
    expect(out.stdout).toMatch(/wrote .*repo\/lenet\/config\.pbtxt and .*repo\/lenet\/1\/model\.onnx/);
    expect(readFileSync(join(repo, 'lenet', '1', 'model.onnx')).equals(readFileSync(lenet))).toBe(true);
    const config = parseTextFormat(readFileSync(join(repo, 'lenet', 'config.pbtxt'), 'utf8'));
    checkAgainstProto(config, 'ModelConfig');
    expect(scalars(config, 'name')).toEqual(['lenet']);
    expect(scalars(config, 'platform')).toEqual(['onnxruntime_onnx']);
    expect(scalars(config, 'max_batch_size')).toEqual(['8']);
    // x: [N, 1, 28, 28] and y: [N, 10], less the batch dimension.
    expect(scalars(config, 'input', 'name')).toEqual(['x']);
    expect(scalars(config, 'input', 'data_type')).toEqual(['TYPE_FP32']);
    expect(scalars(config, 'input', 'dims')).toEqual(['1', '28', '28']);
    expect(scalars(config, 'output', 'name')).toEqual(['y']);
    expect(scalars(config, 'output', 'dims')).toEqual(['10']);
    expect(get(config, 'dynamic_batching')).toHaveLength(1);
    expect(scalars(config, 'instance_group', 'count')).toEqual(['2']);
    expect(scalars(config, 'instance_group', 'kind')).toEqual(['KIND_GPU']);
    const accelerator = get(config, 'optimization', 'execution_accelerators', 'gpu_execution_accelerator') as Message[];
    expect(accelerator).toHaveLength(1);
    expect(scalars(accelerator[0]!, 'name')).toEqual(['tensorrt']);
    expect(scalars(accelerator[0]!, 'parameters', 'key')).toEqual(['precision_mode']);
    expect(scalars(accelerator[0]!, 'parameters', 'value')).toEqual(['FP16']);
  });

  it('keeps the batch dimension in dims, and no dynamic batching, without --max-batch-size', async () => {
    const repo = join(dir, 'repo-unbatched');
    const out = await tensorrtNode(['export-triton', lenet, '--repo', repo, '--name', 'lenet_fp32']);
    expect(out.code).toBe(0);
    const config = parseTextFormat(readFileSync(join(repo, 'lenet_fp32', 'config.pbtxt'), 'utf8'));
    checkAgainstProto(config, 'ModelConfig');
    expect(scalars(config, 'max_batch_size')).toEqual(['0']);
    expect(scalars(config, 'input', 'dims')).toEqual(['-1', '1', '28', '28']);
    expect(get(config, 'dynamic_batching')).toHaveLength(0);
    expect(scalars(get(config, 'optimization', 'execution_accelerators', 'gpu_execution_accelerator')[0] as Message, 'parameters', 'value')).toEqual(['FP32']);
  });

  it('copies external weights beside model.onnx at their relative locations', async () => {
    const source = join(dir, 'external');
    mkdirSync(join(source, 'weights'), { recursive: true });
    await writeModel(parseModel(lenetModel()), { path: join(source, 'big.onnx'), externalDataPath: 'weights/big.bin' });
    const repo = join(dir, 'repo-external');
    const out = await tensorrtNode(['export-triton', join(source, 'big.onnx'), '--repo', repo]);
    expect(out.code).toBe(0);
    expect(out.stdout).toMatch(/\(\+1 external data file\(s\)\)/);
    expect(readFileSync(join(repo, 'big', '1', 'weights', 'big.bin')).equals(readFileSync(join(source, 'weights', 'big.bin')))).toBe(true);
    // The copy is complete: the sim parses it from the repository and the sim's parser finds its weights.
    const inspected = await tensorrtNode(['inspect', join(repo, 'big', '1', 'model.onnx')]);
    expect(inspected.stdout).toMatch(/every node parses/);
  });

  it('refuses a sim engine with the reason, and other mistakes with one line and exit code 2', async () => {
    const engine = join(dir, 'lenet.engine');
    writeFileSync(engine, await buildEngine(lenetModel(), { backend: 'sim', shapes: { x: [1, 1, 28, 28] } }));
    const sim = await tensorrtNode(['export-triton', engine, '--repo', join(dir, 'repo-sim')]);
    expect(sim.code).toBe(2);
    expect(sim.stderr).toMatch(/^tensorrt-node export-triton: .*lenet\.engine is a tensorrt-node sim engine, .*Triton's tensorrt_plan platform needs a TensorRT plan/);
    expect(existsSync(join(dir, 'repo-sim'))).toBe(false);

    const taken = join(dir, 'repo-taken');
    mkdirSync(join(taken, 'lenet'), { recursive: true });
    const cases: [string[], RegExp][] = [
      [['export-triton', lenet], /missing --repo DIR/],
      [['export-triton', lenet, '--repo', taken], /repo-taken\/lenet already exists; pass --force to replace it/],
      [['export-triton', engine, '--repo', taken, '--precision', 'fp16'], /--precision applies to ONNX models/],
      [['export-triton', lenet, '--repo', taken, '--precision', 'tf32'], /--precision must be one of fp32, fp16, int8/],
      [['export-triton', lenet, '--repo', taken, '--name', '../escape'], /--name '\.\.\/escape' is not a usable model name/],
      [['export-triton', lenet, '--repo', taken, '--name', 'n', '--instances', '0'], /--instances takes an integer >= 1, got '0'/],
      [['export-triton', join(dir, 'gone.onnx'), '--repo', taken], /cannot read .*gone\.onnx: no such file/],
    ];
    for (const [args, message] of cases) {
      const out = await tensorrtNode(args);
      expect(out.code, args.join(' ')).toBe(2);
      expect(out.stderr.split('\n')[0]).toMatch(message);
      expect(out.stderr).not.toMatch(/\n\s+at /);
    }
    // --force replaces the whole entry: an old version and old files in version 1 go.
    mkdirSync(join(taken, 'lenet', '2'), { recursive: true });
    mkdirSync(join(taken, 'lenet', '1'), { recursive: true });
    writeFileSync(join(taken, 'lenet', '2', 'model.onnx'), 'old');
    writeFileSync(join(taken, 'lenet', '1', 'weights.bin'), 'old');
    const forced = await tensorrtNode(['export-triton', lenet, '--repo', taken, '--force']);
    expect(forced.code).toBe(0);
    expect(readdirSync(taken)).toEqual(['lenet']);
    expect(readdirSync(join(taken, 'lenet')).sort()).toEqual(['1', 'config.pbtxt']);
    expect(readdirSync(join(taken, 'lenet', '1'))).toEqual(['model.onnx']);
    expect(readFileSync(join(taken, 'lenet', '1', 'model.onnx')).equals(readFileSync(lenet))).toBe(true);
    const help = await tensorrtNode(['export-triton', '--help']);
    expect(help.code).toBe(0);
    expect(help.stdout).toMatch(/Examples:\n +tensorrt-node export-triton /);
  });
});

describe('the tensorrt_plan configuration (engine metadata given directly)', () => {
  // What a TensorRT engine of the lenet model with one profile reports (Engine.inspect()):
  // the tests of the CLI on an engine built through the TensorRT double are in
  // test/tensorrt-double/double.test.ts.
  const inputs = [{ name: 'x', dtype: 'float32', dims: [-1, 1, 28, 28] }];
  const outputs = [{ name: 'y', dtype: 'float16', dims: [-1, 10] }];

  it("derives max_batch_size from profile 0 (the one Triton's TensorRT backend uses): its max batch when it starts at 1 or below", () => {
    const io = [...inputs, ...outputs];
    expect(batchFromProfile(io, { x: { min: [1, 1, 28, 28], max: [16, 1, 28, 28] } })).toBe(16);
    // Triton may send a batch of 1: a profile from 2 up cannot serve it; one from 0 can.
    expect(batchFromProfile(io, { x: { min: [2, 1, 28, 28], max: [16, 1, 28, 28] } })).toBe(0);
    expect(batchFromProfile(io, { x: { min: [0, 1, 28, 28], max: [16, 1, 28, 28] } })).toBe(16);
    // Two inputs: the smaller of their max batches.
    expect(batchFromProfile([...io, { name: 'z', dtype: 'float32', dims: [-1, 3] }], { x: { min: [1, 1, 28, 28], max: [16, 1, 28, 28] }, z: { min: [1, 3], max: [4, 3] } })).toBe(4);
    // A static first dimension is no batch dimension; nor is anything without a profile.
    expect(batchFromProfile([{ name: 'x', dtype: 'float32', dims: [4, 3] }, { name: 'y', dtype: 'float32', dims: [4, 3] }], { x: { min: [4, 3], max: [4, 3] } })).toBe(0);
    expect(batchFromProfile(io, {})).toBe(0);
  });

  it('writes a tensor that is nothing but its batch as dims [ 1 ] reshaped to [ ], as Triton refuses empty dims', () => {
    const text = tritonModelConfig({ name: 'm', platform: 'tensorrt_plan', inputs, outputs: [{ name: 'score', dtype: 'float32', dims: [-1] }], maxBatchSize: 8, instances: 1 });
    const config = parseTextFormat(text);
    checkAgainstProto(config, 'ModelConfig');
    expect(scalars(config, 'output', 'dims')).toEqual(['1']);
    expect(get(config, 'output', 'reshape')).toHaveLength(1);
    expect(scalars(config, 'output', 'reshape', 'shape')).toEqual([]);
    // The input keeps its dims and has no reshape.
    expect(get(config, 'input', 'reshape')).toHaveLength(0);
  });

  it('writes platform tensorrt_plan with Triton types and the batch left out of dims', () => {
    const text = tritonModelConfig({ name: 'lenet_trt', platform: 'tensorrt_plan', inputs, outputs, maxBatchSize: 16, instances: 1 });
    const config = parseTextFormat(text);
    checkAgainstProto(config, 'ModelConfig');
    expect(scalars(config, 'platform')).toEqual(['tensorrt_plan']);
    expect(scalars(config, 'max_batch_size')).toEqual(['16']);
    expect(scalars(config, 'input', 'dims')).toEqual(['1', '28', '28']);
    expect(scalars(config, 'output', 'data_type')).toEqual(['TYPE_FP16']);
    expect(scalars(config, 'output', 'dims')).toEqual(['10']);
    expect(get(config, 'dynamic_batching')).toHaveLength(1);
    expect(get(config, 'optimization')).toHaveLength(0);
    const shape = parseTextFormat(tritonModelConfig({ name: 's', platform: 'tensorrt_plan', inputs: [{ name: 'shape', dtype: 'int64', dims: [2], isShapeTensor: true }], outputs, maxBatchSize: 0, instances: 3 }));
    checkAgainstProto(shape, 'ModelConfig');
    expect(scalars(shape, 'input', 'is_shape_tensor')).toEqual(['true']);
    expect(scalars(shape, 'input', 'data_type')).toEqual(['TYPE_INT64']);
    expect(scalars(shape, 'output', 'dims')).toEqual(['-1', '10']);
  });

  it('refuses what Triton cannot express', () => {
    expect(() => tritonModelConfig({ name: 'm', platform: 'tensorrt_plan', inputs: [{ name: 'q', dtype: 'fp8', dims: [4] }], outputs, maxBatchSize: 0, instances: 1 })).toThrow(InvalidArgumentError);
    expect(() => tritonModelConfig({ name: 'm', platform: 'tensorrt_plan', inputs: [{ name: 's', dtype: 'float32', dims: [] }], outputs, maxBatchSize: 4, instances: 1 })).toThrow(/scalar, so it has no batch dimension/);
    // Without batching a scalar would be written as empty dims, which Triton refuses.
    expect(() => tritonModelConfig({ name: 'm', platform: 'tensorrt_plan', inputs: [{ name: 's', dtype: 'float32', dims: [] }], outputs, maxBatchSize: 0, instances: 1 })).toThrow(/'s' is a scalar, and Triton's model configuration needs at least one dimension/);
  });
});
