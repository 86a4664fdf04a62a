// `tensorrt-node inspect` run as a user runs it, and the Engine.inspect() it prints.
import { create, fromBinary, toBinary } from '@bufbuild/protobuf';
import { mkdtempSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';

import { AttributeProto_AttributeType, AttributeProtoSchema, ModelProtoSchema } from 'onnx-buf';
import { describe, expect, it } from 'vitest';

import { backends, buildEngine, DisposedError, type EngineInspection, InferenceSession } from '../lib/index.js';
import { readEngineInformation } from '../lib/engine-inspection.js';
import { makeModel, type ValueSpec } from '../lib/onnx/model-builder.js';
import { runCli as tensorrtNode } from './fixtures/run-cli.js';
import { lenetModel } from './fixtures/cnn-models.js';

const dir = mkdtempSync(join(tmpdir(), 'tensorrt-node-cli-inspect-'));
const f32 = (name: string, shape: (number | string)[]): ValueSpec => ({ name, dtype: 'float32', shape });
const lenetProfile = { min: [1, 1, 28, 28], opt: [4, 1, 28, 28], max: [16, 1, 28, 28] };

/** A model the sim cannot parse in two places: a custom-domain op at the top, and Det in a Loop body. */
function unsupportedModel(): Uint8Array {
  const bytes = makeModel({
    opset: 17,
    inputs: [f32('x', [2]), { name: 'n', dtype: 'int64', shape: [] }, { name: 'c', dtype: 'bool', shape: [] }],
    outputs: [f32('y', [2]), f32('z', [2])],
    nodes: [
      { op: 'Loop', name: 'Loop_3', inputs: ['n', 'c', 'x'], outputs: ['y'] },
      { op: 'Frobnicate', domain: 'com.example', name: 'custom_0', inputs: ['x'], outputs: ['z'] },
    ],
  });
  const model = fromBinary(ModelProtoSchema, bytes);
  const body = fromBinary(ModelProtoSchema, makeModel({
    inputs: [],
    outputs: [f32('r', [2])],
    nodes: [{ op: 'Det', name: 'Det_0', inputs: ['x'], outputs: ['d'] }, { op: 'Relu', name: 'Relu_1', inputs: ['d'], outputs: ['r'] }],
  })).graph!;
  model.graph!.node[0]!.attribute.push(create(AttributeProtoSchema, { name: 'body', type: AttributeProto_AttributeType.GRAPH, g: body }));
  return toBinary(ModelProtoSchema, model);
}

describe('tensorrt-node inspect, a model', () => {
  it('reports inputs, outputs with dynamic dims, the opset and the operator histogram', async () => {
    const model = join(dir, 'lenet.onnx');
    writeFileSync(model, lenetModel());
    const json = await tensorrtNode(['inspect', model, '--format', 'json']);
    expect(json.code).toBe(0);
    const report = JSON.parse(json.stdout);
    expect(report).toMatchObject({ kind: 'model', opsets: { '': 17 }, backend: 'sim', unsupported: [], numNodes: 11 });
    expect(report.inputs).toEqual([{ name: 'x', dtype: 'float32', shape: ['N', 1, 28, 28], dynamicDims: [0] }]);
    expect(report.outputs).toEqual([{ name: 'y', dtype: 'float32', shape: ['N', 10], dynamicDims: [0] }]);
    // The fixture's eleven nodes: 2 Conv, 3 Relu, MaxPool, AveragePool, Flatten, 2 Gemm, Softmax.
    expect(Object.fromEntries(report.operators.map((o: { op: string; count: number }) => [o.op, o.count]))).toEqual({
      Relu: 3, Conv: 2, Gemm: 2, AveragePool: 1, Flatten: 1, MaxPool: 1, Softmax: 1,
    });
    const text = await tensorrtNode(['inspect', model]);
    expect(text.code).toBe(0);
    expect(text.stdout).toMatch(/opsets: ai\.onnx 17/);
    expect(text.stdout).toMatch(/x +float32 +Nx1x28x28 +dynamic dims 0/);
    expect(text.stdout).toMatch(/Relu +3/);
    expect(text.stdout).toMatch(/backend sim: every node parses/);
  });

  it('names the nodes the parser cannot take, inside subgraphs by their path, and still exits 0', async () => {
    const model = join(dir, 'unsupported.onnx');
    writeFileSync(model, unsupportedModel());
    const json = await tensorrtNode(['inspect', model, '--backend', 'sim', '--format', 'json']);
    expect(json.code).toBe(0);
    const report = JSON.parse(json.stdout);
    const nodes = report.unsupported.map((e: { node: string; op: string }) => `${e.node} ${e.op}`);
    expect(nodes).toContain('Loop_3/body/Det_0 Det');
    expect(nodes).toContain('custom_0 Frobnicate');
    // Subgraph nodes count in the histogram too: Loop, the custom op, and Det and Relu in the body.
    expect(report.numNodes).toBe(4);
    expect(report.operators.map((o: { op: string }) => o.op).sort()).toEqual(['Det', 'Loop', 'Relu', 'com.example.Frobnicate']);
    const text = await tensorrtNode(['inspect', model]);
    expect(text.stdout).toMatch(/backend sim: \d+ node\(s\) the parser cannot take:/);
    expect(text.stdout).toMatch(/Loop_3\/body\/Det_0 +Det +/);
  });
});

describe('tensorrt-node inspect, a model: the global and device flags', () => {
  it('logs through --verbose and --quiet, and loads --plugins', async () => {
    const model = join(dir, 'flags.onnx');
    writeFileSync(model, lenetModel());
    const verbose = await tensorrtNode(['--verbose', 'inspect', model, '--backend', 'sim']);
    expect(verbose.code).toBe(0);
    expect(verbose.stderr).toMatch(/INFO: \[sim\] parsed ONNX model/);
    const normal = await tensorrtNode(['inspect', model, '--backend', 'sim']);
    expect(normal.stderr).not.toMatch(/INFO:/);
    const quiet = await tensorrtNode(['--quiet', 'inspect', model]);
    expect(quiet.code).toBe(0);
    // --quiet leaves out warnings too, such as the one about falling back to the sim.
    expect(quiet.stderr).toBe('');
    const plugins = await tensorrtNode(['inspect', model, '--backend', 'sim', '--plugins', join(dir, 'missing-plugin.so')]);
    expect(plugins.code).toBe(2);
    expect(plugins.stderr).toMatch(/plugin library .*missing-plugin\.so does not exist/);
  });
});

describe('tensorrt-node inspect, an engine', () => {
  it('reports backend, version, I/O, profiles, device memory and every layer with its tensors', async () => {
    const engineFile = join(dir, 'lenet.engine');
    const plan = await buildEngine(lenetModel(), { backend: 'sim', profiles: [{ x: lenetProfile }] });
    writeFileSync(engineFile, plan);
    const json = await tensorrtNode(['inspect', engineFile, '--format', 'json']);
    expect(json.code).toBe(0);
    const report = JSON.parse(json.stdout) as EngineInspection & { kind: string };
    const session = await InferenceSession.create(plan, { backend: 'sim' });
    const memory = session.engine.deviceMemorySize;
    session.dispose();
    expect(report).toMatchObject({ kind: 'engine', backend: 'sim', version: backends()[0]!.version, deviceMemorySize: memory, layerDetail: 'detailed', profilingVerbosity: 'detailed', numLayers: 11 });
    expect(report.io).toEqual([
      { name: 'x', mode: 'input', dtype: 'float32', shape: [-1, 1, 28, 28], dynamicDims: [0], isShapeTensor: false },
      { name: 'y', mode: 'output', dtype: 'float32', shape: [-1, 10], dynamicDims: [0], isShapeTensor: false },
    ]);
    expect(report.profiles).toEqual([{ x: lenetProfile }]);
    expect(report.layers.map((l) => `${l.name}:${l.type}:${l.precision}`)).toEqual([
      'Conv_0:Conv:FP32', 'Relu_1:Relu:FP32', 'MaxPool_2:MaxPool:FP32', 'Conv_3:Conv:FP32', 'Relu_4:Relu:FP32', 'AveragePool_5:AveragePool:FP32',
      'Flatten_6:Flatten:FP32', 'Gemm_7:Gemm:FP32', 'Relu_8:Relu:FP32', 'Gemm_9:Gemm:FP32', 'Softmax_10:Softmax:FP32',
    ]);
    // Shapes by arithmetic: conv 5x5 pad 2 keeps 28; pool /2 -> 14; conv 5x5 -> 10; pool -> 5; 16*5*5 = 400.
    const dims = (i: number) => report.layers[i]!.outputs.map((t) => `${t.name} ${t.dims!.join('x')}`);
    expect(dims(0)).toEqual(['c1 -1x6x28x28']);
    expect(dims(2)).toEqual(['p1 -1x6x14x14']);
    expect(dims(3)).toEqual(['c2 -1x16x10x10']);
    expect(dims(5)).toEqual(['p2 -1x16x5x5']);
    expect(dims(6)).toEqual(['f -1x400']);
    // The convolution's kernel and bias are its parameters, as TensorRT reports them, not
    // inputs: 6 output channels x 1 input channel x 5x5 = 150 weights, 6 biases.
    expect(report.layers[0]!.inputs.map((t) => `${t.name} ${t.dims!.join('x')} ${t.format}`)).toEqual(['x -1x1x28x28 Row major linear FP32']);
    expect(report.layers[0]!.weights).toEqual([{ role: 'Weights', type: 'Float', count: 150 }, { role: 'Bias', type: 'Float', count: 6 }]);
    // Gemm reads its constants as tensors (TensorRT: the outputs of constant layers).
    expect(report.layers[7]!.inputs.map((t) => t.name)).toEqual(['f', 'f1w', 'f1b']);
    expect(report.layers[7]!.weights).toBeUndefined();

    const text = await tensorrtNode(['inspect', engineFile]);
    expect(text.code).toBe(0);
    expect(text.stdout).toMatch(new RegExp(`backend sim ${backends()[0]!.version}; device memory ${memory} bytes; 11 layers; 1 profile\\(s\\)`));
    expect(text.stdout).toMatch(/x +min 1x1x28x28 +opt 4x1x28x28 +max 16x1x28x28/);
    expect(text.stdout).toMatch(/0 +Conv_0 +Conv +FP32 +x -1x1x28x28 \[Weights Float 150, Bias Float 6\] -> c1 -1x6x28x28/);
  });

  it('reports the precision the sim computes each layer in: float16 weights after --fp16', async () => {
    const plan = await buildEngine(lenetModel(), { backend: 'sim', precision: 'fp16', shapes: { x: [2, 1, 28, 28] } });
    const session = await InferenceSession.create(plan, { backend: 'sim' });
    const report = await session.engine.inspect();
    session.dispose();
    const byType = (type: string) => new Set(report.layers.filter((l) => l.type === type).map((l) => l.precision));
    expect(byType('Conv')).toEqual(new Set(['FP16']));
    expect(byType('Gemm')).toEqual(new Set(['FP16']));
    // Stored as float16 ("Half"); the biases too.
    expect(report.layers.filter((l) => l.type === 'Conv').flatMap((l) => l.weights!.map((w) => `${w.role} ${w.type}`))).toEqual([
      'Weights Half', 'Bias Half', 'Weights Half', 'Bias Half',
    ]);
    // float32 I/O around a float16 body: the cast back to float32 computes in float32.
    const cast = report.layers.find((l) => l.outputs.some((t) => t.name === 'y'))!;
    expect(cast).toMatchObject({ type: 'Cast', precision: 'FP32' });
  });

  it('refuses mistakes with one line and exit code 2, a corrupt engine with exit code 1, and prints help', async () => {
    const missing = await tensorrtNode(['inspect', join(dir, 'nope.engine')]);
    expect(missing.code).toBe(2);
    expect(missing.stderr).toMatch(/^tensorrt-node inspect: cannot read .*nope\.engine: no such file/);
    expect(missing.stderr).not.toMatch(/\n\s+at /);
    const format = await tensorrtNode(['inspect', join(dir, 'lenet.onnx'), '--format', 'yaml']);
    expect(format.code).toBe(2);
    expect(format.stderr).toMatch(/--format must be text or json, got 'yaml'/);
    expect((await tensorrtNode(['inspect'])).code).toBe(2);
    expect((await tensorrtNode(['inspect', 'a', 'b'])).code).toBe(2);
    expect((await tensorrtNode(['inspect', 'x.onnx', '--bogus'])).code).toBe(2);
    const corrupt = join(dir, 'corrupt.engine');
    writeFileSync(corrupt, new Uint8Array(64).fill(7));
    const bad = await tensorrtNode(['inspect', corrupt, '--backend', 'sim']);
    expect(bad.code).toBe(1);
    expect(bad.stderr).toMatch(/^tensorrt-node inspect: EngineInvalidError: /);
    const verbosity = await tensorrtNode(['build', join(dir, 'lenet.onnx'), '-o', join(dir, 'v.engine'), '--profilingVerbosity', 'toString']);
    expect(verbosity.code).toBe(2);
    expect(verbosity.stderr).toMatch(/--profilingVerbosity must be one of detailed, layer_names_only, layerNamesOnly, none/);
    const help = await tensorrtNode(['inspect', '--help']);
    expect(help.code).toBe(0);
    expect(help.stdout).toMatch(/Examples?:\n +tensorrt-node inspect /);
  });
});

describe('Engine.inspect()', () => {
  it('throws DisposedError after dispose', async () => {
    const session = await InferenceSession.create(await buildEngine(lenetModel(), { backend: 'sim', shapes: { x: [1, 1, 28, 28] } }), { backend: 'sim' });
    const engine = session.engine;
    session.dispose();
    await expect(engine.inspect()).rejects.toThrow(DisposedError);
  });

  it('keeps layer and tensor names that JSON must escape', async () => {
    const odd = 'a "quoted" \\ name\twith\ncontrols\u0001';
    const plan = await buildEngine(makeModel({
      inputs: [f32('x', [2])],
      outputs: [f32(odd, [2])],
      nodes: [{ op: 'Relu', name: odd, inputs: ['x'], outputs: [odd] }],
    }), { backend: 'sim' });
    const session = await InferenceSession.create(plan, { backend: 'sim' });
    const report = await session.engine.inspect();
    session.dispose();
    expect(report.layers).toEqual([{ name: odd, type: 'Relu', precision: 'FP32', inputs: [{ name: 'x', dims: [2], format: 'Row major linear FP32' }], outputs: [{ name: odd, dims: [2], format: 'Row major linear FP32' }] }]);
  });

  it("reads TensorRT's inspector JSON at each verbosity, deriving precision from the output format", () => {
    // The three forms IEngineInspector::getEngineInformation(kJSON) takes, per ProfilingVerbosity.
    const detailed = JSON.stringify({
      Layers: [{
        Name: 'conv1 + relu1', LayerType: 'CaskConvolution',
        Inputs: [{ Name: 'x', Location: 'Device', Dimensions: [1, 3, 8, 8], 'Format/Datatype': 'Row major linear FP32' }],
        Outputs: [{ Name: 'r1', Location: 'Device', Dimensions: [1, 8, 8, 8], 'Format/Datatype': 'Channel major FP16 format where channel % 8 == 0' }],
        TacticName: 'sm80_xmma',
      }],
      Bindings: ['x', 'r1'],
    });
    expect(readEngineInformation(detailed)).toEqual({
      layerDetail: 'detailed',
      layers: [{
        name: 'conv1 + relu1', type: 'CaskConvolution', precision: 'FP16',
        inputs: [{ name: 'x', dims: [1, 3, 8, 8], format: 'Row major linear FP32' }],
        outputs: [{ name: 'r1', dims: [1, 8, 8, 8], format: 'Channel major FP16 format where channel % 8 == 0' }],
      }],
    });
    expect(readEngineInformation('{"Layers":["a","b"],"Bindings":["x"]}')).toEqual({
      layerDetail: 'names',
      layers: [{ name: 'a', inputs: [], outputs: [] }, { name: 'b', inputs: [], outputs: [] }],
    });
    expect(readEngineInformation('{"Layers":[],"Bindings":["x"]}')).toEqual({ layerDetail: 'none', layers: [] });
    expect(() => readEngineInformation('not json')).toThrow(/not JSON/);
  });

  it("reads a convolution's weights from TensorRT's parameter keys, and \"N/A\" formats as none", () => {
    // The form TensorRT's developer guide shows for a fused int8 convolution of a dynamic engine
    // inspected without a context: weights as "Weights"/"Bias" parameters, not inputs.
    const conv = JSON.stringify({
      Layers: [{
        Name: 'conv1 + bn1 + relu1', LayerType: 'CaskConvolution',
        Inputs: [{ Name: 'x', Location: 'Device', Dimensions: [-1, 512, 28, 28], 'Format/Datatype': 'N/A due to dynamic shapes' }],
        Outputs: [{ Name: 'r1', Location: 'Device', Dimensions: [-1, 256, 28, 28], 'Format/Datatype': 'N/A due to dynamic shapes' }],
        ParameterType: 'Convolution', Kernel: [1, 1], OutMaps: 256, Groups: 1,
        Weights: { Type: 'Int8', Count: 131072 }, Bias: { Type: 'Float', Count: 256 }, HasBias: 1, HasReLU: 1,
        TacticName: 'sm80_xmma_fprop', TacticValue: '0x11bde0e1d9f2f35d',
      }],
      Bindings: ['x', 'r1'],
    });
    expect(readEngineInformation(conv)).toEqual({
      layerDetail: 'detailed',
      layers: [{
        name: 'conv1 + bn1 + relu1', type: 'CaskConvolution',
        inputs: [{ name: 'x', dims: [-1, 512, 28, 28] }],
        outputs: [{ name: 'r1', dims: [-1, 256, 28, 28] }],
        weights: [{ role: 'Weights', type: 'Int8', count: 131072 }, { role: 'Bias', type: 'Float', count: 256 }],
      }],
    });
  });

  it('keeps profile 0 of an engine with several profiles: TensorRT repeats each layer per profile as "NAME [profile N]"', () => {
    const layer = (name: string, suffix: string) => ({
      Name: name + suffix, LayerType: 'CaskConvolution',
      Inputs: [{ Name: `x${suffix}`, Location: 'Device', Dimensions: [-1, 3, 8, 8] }],
      Outputs: [{ Name: `r1${suffix}`, Location: 'Device', Dimensions: [-1, 8, 8, 8] }],
    });
    const threeProfiles = JSON.stringify({
      Layers: ['', ' [profile 1]', ' [profile 2]'].map((suffix) => layer('conv1 + relu1', suffix)),
      Bindings: ['x', 'r1', 'x [profile 1]', 'r1 [profile 1]', 'x [profile 2]', 'r1 [profile 2]'],
    });
    // No "Format/Datatype" (a dynamic engine inspected without a context): no output type either.
    expect(readEngineInformation(threeProfiles)).toEqual({
      layerDetail: 'detailed',
      layers: [{ name: 'conv1 + relu1', type: 'CaskConvolution', inputs: [{ name: 'x', dims: [-1, 3, 8, 8] }], outputs: [{ name: 'r1', dims: [-1, 8, 8, 8] }] }],
    });
    expect(readEngineInformation('{"Layers":["a","b","a [profile 1]","b [profile 1]"],"Bindings":[]}').layers.map((l) => l.name)).toEqual(['a', 'b']);
  });
});
