// upgradeOpset, one version change at a time: each model below runs at its old opset on
// onnxruntime-node (the reference: onnxruntime implements every old version), and the converted
// model must give the same outputs on onnxruntime and on the sim. Then refusals (typed,
// naming node and operator, model untouched), subgraphs, and quantizeInt8 on an opset-11
// model, which now converts and says so through its logger.
import { readdirSync, readFileSync } from 'node:fs';
import { join } from 'node:path';
import { fileURLToPath } from 'node:url';

import { create } from '@bufbuild/protobuf';
import { AttributeProto_AttributeType, AttributeProtoSchema, type ModelProto } from 'onnx-buf';
import { describe, expect, it } from 'vitest';

import * as api from '../lib/index.js';
import { InvalidArgumentError, Logger, parseModel, quantizeInt8, type Severity, Tensor, UnsupportedError, upgradeOpset, writeModel } from '../lib/index.js';
import { makeModel, makeTensor, type ModelSpec, type ValueSpec } from '../lib/onnx/model-builder.js';
import { OPERATOR_HISTORY } from '../lib/onnx/opset/operator-changes.js';
import { randomFloats } from './fixtures/models.js';
import { type Feeds, mismatch, runOrt, runSim } from './fixtures/runtimes.js';
// @ts-expect-error plain ESM shared with scripts/zoo.mjs, no type declarations
import { compare } from './zoo/harness.mjs';

const f32 = (name: string, shape: (number | string)[]): ValueSpec => ({ name, dtype: 'float32', shape });
const input = (dims: number[], seed = 1) => new Tensor('float32', randomFloats(dims.reduce((a, b) => a * b, 1), seed).map((v) => v * 3), dims);

/**
 * Converts `original` to `target`, runs both (the original on onnxruntime, the converted on
 * onnxruntime and the sim) and compares every output; returns the converted model.
 */
async function expectSameResults(original: Uint8Array, feeds: Feeds, target = 13, runtimes = { sim: true }): Promise<ModelProto> {
  const model = parseModel(original);
  upgradeOpset(model, target);
  // Rewritten nodes keep every field, unset proto2 ones included (the domain stays '').
  for (const n of model.graph!.node) expect(n.domain, n.name).toBe('');
  const converted = await writeModel(model);
  const expected = await runOrt(original, feeds);
  const runs: [string, typeof runOrt][] = [['onnxruntime', runOrt]];
  if (runtimes.sim) runs.push(['sim', runSim]);
  for (const [name, run] of runs) {
    const out = await run(converted, feeds);
    for (const [output, e] of Object.entries(expected)) expect(mismatch(out[output], e, 1e-5, 1e-6), `${name}, output ${output}`).toBeUndefined();
  }
  return model;
}

const one = (op: string, opset: number, x: number[], y: (number | string)[], attributes: NonNullable<ModelSpec['nodes'][number]['attributes']> = {}, extra: Partial<ModelSpec> = {}) =>
  makeModel({ opset, inputs: [f32('x', x)], outputs: [f32('y', y)], nodes: [{ op, inputs: ['x'], outputs: ['y'], attributes }], ...extra });

const opsOf = (m: ModelProto) => m.graph!.node.map((n) => n.opType);

describe('upgradeOpset: each version change computes what the old node computed', () => {
  for (const op of ['Softmax', 'LogSoftmax', 'Hardmax']) {
    for (const axis of [0, 1, 2, 3, -1, -2]) {
      it(`${op}-11 axis ${axis} of a rank-4 input (coerce-to-2D before 13)`, async () => {
        const m = await expectSameResults(one(op, 11, [2, 3, 4, 5], [2, 3, 4, 5], { axis }), { x: input([2, 3, 4, 5]) });
        // Only the last axis keeps the one-node form; elsewhere Flatten -> op -> Reshape(Shape(x)).
        expect(opsOf(m)).toEqual(axis === 3 || axis === -1 ? [op] : ['Flatten', op, 'Shape', 'Reshape']);
      });
    }
  }

  it('Softmax-1 without axis (default 1) on a rank-3 input of unknown rank, and on a rank-2 input', async () => {
    const original = parseModel(one('Softmax', 9, [2, 3, 4], [2, 3, 4]));
    for (const v of [...original.graph!.input, ...original.graph!.output]) if (v.type?.value.case === 'tensorType') v.type.value.value.shape = undefined;
    // Onnxruntime only: TensorRT, and so the sim, needs every input's rank.
    const m = await expectSameResults(await writeModel(original), { x: input([2, 3, 4]) }, 13, { sim: false });
    expect(opsOf(m)).toEqual(['Flatten', 'Softmax', 'Shape', 'Reshape']);
    expect(opsOf(await expectSameResults(one('Softmax', 9, [2, 3], [2, 3]), { x: input([2, 3]) }))).toEqual(['Softmax']);
  });

  it('Squeeze-11 and Unsqueeze-11 axes (negative too) move to inputs at 13', async () => {
    const model = makeModel({
      opset: 11,
      inputs: [f32('x', [2, 1, 3, 1])],
      outputs: [f32('y', [1, 2, 3, 1])],
      nodes: [
        { op: 'Squeeze', inputs: ['x'], outputs: ['s'], attributes: { axes: [1, -1] } },
        { op: 'Unsqueeze', inputs: ['s'], outputs: ['y'], attributes: { axes: [0, -1] } },
      ],
    });
    const m = await expectSameResults(model, { x: input([2, 1, 3, 1]) });
    expect(m.graph!.node.map((n) => n.input.length)).toEqual([2, 2]);
    expect(m.graph!.node.every((n) => n.attribute.length === 0)).toBe(true);
  });

  it('Squeeze-11 without axes stays without an axes input', async () => {
    const m = await expectSameResults(one('Squeeze', 11, [1, 3, 1], [3]), { x: input([1, 3, 1]) });
    expect(m.graph!.node[0]!.input).toEqual(['x']);
  });

  for (const target of [13, 18]) {
    it(`Split-11 with and without split sizes, to opset ${target}`, async () => {
      const model = makeModel({
        opset: 11,
        inputs: [f32('x', [2, 6])],
        outputs: [f32('a', [2, 1]), f32('b', [2, 5]), f32('c', [1, 6]), f32('d', [1, 6])],
        nodes: [
          { op: 'Split', inputs: ['x'], outputs: ['a', 'b'], attributes: { axis: 1, split: [1, 5] } },
          { op: 'Split', inputs: ['x'], outputs: ['c', 'd'], attributes: { axis: 0 } },
        ],
      });
      const m = await expectSameResults(model, { x: input([2, 6]) }, target);
      const equal = m.graph!.node[1]!;
      expect(equal.attribute.find((a) => a.name === 'num_outputs')?.i).toBe(target >= 18 ? 2n : undefined);
    });
  }

  for (const op of ['ReduceSum', 'ReduceMean', 'ReduceMax', 'ReduceMin', 'ReduceProd', 'ReduceL1', 'ReduceL2', 'ReduceLogSum', 'ReduceLogSumExp', 'ReduceSumSquare']) {
    it(`${op}-11 axes (attribute) to opset 18, keepdims 0 and 1, and without axes`, async () => {
      const model = makeModel({
        opset: 11,
        inputs: [f32('x', [2, 3, 4])],
        outputs: [f32('a', [2, 1, 1]), f32('b', [3]), f32('c', [1, 1, 1])],
        nodes: [
          { op, inputs: ['x'], outputs: ['a'], attributes: { axes: [1, -1] } },
          { op, inputs: ['x'], outputs: ['b'], attributes: { axes: [0, 2], keepdims: 0 } },
          { op, inputs: ['x'], outputs: ['c'] },
        ],
      });
      // Strictly positive inputs, so ReduceLogSum's logarithm is defined.
      const x = new Tensor('float32', input([2, 3, 4]).toFloat32().map((v) => Math.abs(v) + 0.1), [2, 3, 4]);
      const m13 = parseModel(model);
      upgradeOpset(m13, 13);
      expect(m13.graph!.node[0]!.input.length).toBe(op === 'ReduceSum' ? 2 : 1);
      const m = await expectSameResults(model, { x }, 18);
      expect(m.graph!.node.map((n) => n.input.length)).toEqual([2, 2, 1]);
    });
  }

  it('Pad-2 (opset 10) pads and value move to inputs at 11: constant with a value, reflect, edge', async () => {
    const model = makeModel({
      opset: 10,
      inputs: [f32('x', [1, 2, 3, 3])],
      outputs: [f32('a', [1, 2, 5, 7]), f32('b', [1, 2, 5, 5]), f32('c', [1, 2, 3, 5])],
      nodes: [
        { op: 'Pad', inputs: ['x'], outputs: ['a'], attributes: { pads: [0, 0, 1, 2, 0, 0, 1, 2], value: 1.5 } },
        { op: 'Pad', inputs: ['x'], outputs: ['b'], attributes: { pads: [0, 0, 1, 1, 0, 0, 1, 1], mode: 'reflect' } },
        { op: 'Pad', inputs: ['x'], outputs: ['c'], attributes: { pads: [0, 0, 0, 1, 0, 0, 0, 1], mode: 'edge' } },
      ],
    });
    await expectSameResults(model, { x: input([1, 2, 3, 3]) });
  });

  it('Clip-6 (opset 10) min/max move to inputs at 11: both, min only, max only, neither', async () => {
    const model = makeModel({
      opset: 10,
      inputs: [f32('x', [4, 5])],
      outputs: [f32('a', [4, 5]), f32('b', [4, 5]), f32('c', [4, 5]), f32('d', [4, 5])],
      nodes: [
        { op: 'Clip', inputs: ['x'], outputs: ['a'], attributes: { min: -0.5, max: 1.25 } },
        { op: 'Clip', inputs: ['x'], outputs: ['b'], attributes: { min: 0.5 } },
        { op: 'Clip', inputs: ['x'], outputs: ['c'], attributes: { max: -0.25 } },
        { op: 'Clip', inputs: ['x'], outputs: ['d'] },
      ],
    });
    const m = await expectSameResults(model, { x: input([4, 5]) });
    expect(m.graph!.node.map((n) => n.input)).toEqual([['x', expect.any(String), expect.any(String)], ['x', expect.any(String)], ['x', '', expect.any(String)], ['x']]);
  });

  for (const mode of ['nearest', 'linear']) {
    it(`Upsample-9 (scales input) and Upsample-7 (scales attribute), ${mode}, become Resize with asymmetric sampling`, async () => {
      const at9 = makeModel({
        opset: 9,
        inputs: [f32('x', [1, 2, 3, 4])],
        outputs: [f32('y', [1, 2, 6, 12])],
        initializers: [makeTensor('scales', 'float32', [4], [1, 1, 2, 3])],
        nodes: [{ op: 'Upsample', inputs: ['x', 'scales'], outputs: ['y'], attributes: { mode } }],
      });
      expect(opsOf(await expectSameResults(at9, { x: input([1, 2, 3, 4]) }))).toEqual(['Resize']);
      const at8 = one('Upsample', 8, [1, 2, 3, 4], [1, 2, 6, 12], { mode, scales: { floats: [1, 1, 2, 3] } });
      expect(opsOf(await expectSameResults(at8, { x: input([1, 2, 3, 4]) }))).toEqual(['Resize']);
    });

    it(`Resize-10 ${mode}, up and down, keeps its asymmetric sampling at 11+`, async () => {
      for (const scales of [[1, 1, 2, 1.5], [1, 1, 0.5, 0.5]]) {
        const model = makeModel({
          opset: 10,
          inputs: [f32('x', [1, 1, 4, 6])],
          outputs: [f32('y', [1, 1, 'h', 'w'])],
          initializers: [makeTensor('scales', 'float32', [4], scales)],
          nodes: [{ op: 'Resize', inputs: ['x', 'scales'], outputs: ['y'], attributes: { mode } }],
        });
        await expectSameResults(model, { x: input([1, 1, 4, 6]) });
      }
    });
  }

  it('Resize-11 tf_half_pixel_for_nn (removed at 13) becomes half_pixel with the equivalent rounding', async () => {
    for (const nearestMode of ['floor', 'round_prefer_floor']) {
      const model = makeModel({
        opset: 11,
        inputs: [f32('x', [1, 1, 4, 6])],
        outputs: [f32('y', [1, 1, 'h', 'w'])],
        initializers: [makeTensor('roi', 'float32', [0], []), makeTensor('scales', 'float32', [4], [1, 1, 1.75, 0.6])],
        nodes: [{ op: 'Resize', inputs: ['x', 'roi', 'scales'], outputs: ['y'], attributes: { mode: 'nearest', coordinate_transformation_mode: 'tf_half_pixel_for_nn', nearest_mode: nearestMode } }],
      });
      await expectSameResults(model, { x: input([1, 1, 4, 6]) });
    }
  });

  it('Slice-1 (opset 9) starts/ends/axes and TopK-1 k move to inputs at 10', async () => {
    const model = makeModel({
      opset: 9,
      inputs: [f32('x', [4, 6])],
      outputs: [f32('s', [2, 4]), f32('t', [4, 3]), { name: 'i', dtype: 'int64', shape: [4, 3] }],
      nodes: [
        { op: 'Slice', inputs: ['x'], outputs: ['s'], attributes: { starts: [1, 1], ends: [3, 1000], axes: [0, 1] } },
        { op: 'TopK', inputs: ['x'], outputs: ['t', 'i'], attributes: { k: 3 } },
      ],
    });
    await expectSameResults(model, { x: input([4, 6]) });
  });

  it('Dropout-10 (ratio attribute) and Dropout-7, inference: an identity with ratio as an input', async () => {
    for (const opset of [8, 11]) await expectSameResults(one('Dropout', opset, [3, 4], [3, 4], { ratio: 0.3 }), { x: input([3, 4]) });
  });

  it('BatchNormalization-7 (spatial=1) and -9 drop the retired attributes', async () => {
    for (const [opset, attributes] of [[7, { spatial: 1, epsilon: 1e-3 }], [9, { epsilon: 1e-3 }]] as const) {
      const model = makeModel({
        opset,
        inputs: [f32('x', [2, 3, 4, 4])],
        outputs: [f32('y', [2, 3, 4, 4])],
        initializers: ['scale', 'bias', 'mean'].map((n, i) => makeTensor(n, 'float32', [3], randomFloats(3, 10 + i))).concat(makeTensor('var', 'float32', [3], [0.5, 1, 2])),
        nodes: [{ op: 'BatchNormalization', inputs: ['x', 'scale', 'bias', 'mean', 'var'], outputs: ['y'], attributes }],
      });
      const m = await expectSameResults(model, { x: input([2, 3, 4, 4]) });
      expect(m.graph!.node[0]!.attribute.map((a) => a.name)).toEqual(['epsilon']);
    }
  });

  it('Scatter-9 becomes ScatterElements at 11, same meaning', async () => {
    const model = makeModel({
      opset: 9,
      inputs: [f32('x', [3, 3]), { name: 'i', dtype: 'int64', shape: [2, 3] }, f32('u', [2, 3])],
      outputs: [f32('y', [3, 3])],
      nodes: [{ op: 'Scatter', inputs: ['x', 'i', 'u'], outputs: ['y'], attributes: { axis: 0 } }],
    });
    const feeds = { x: input([3, 3]), i: new Tensor('int64', [1n, 0n, 2n, 0n, 2n, 1n], [2, 3]), u: input([2, 3], 7) };
    expect(opsOf(await expectSameResults(model, feeds))).toEqual(['ScatterElements']);
  });

  it('MeanVarianceNormalization-1 (across_channels) becomes MVN-9 with axes', async () => {
    for (const across of [0, 1]) {
      const model = one('MeanVarianceNormalization', 8, [2, 3, 4, 4], [2, 3, 4, 4], { across_channels: across, normalize_variance: 1 });
      // The sim's MVN reads MVN-9; onnxruntime runs both versions.
      await expectSameResults(model, { x: input([2, 3, 4, 4]) });
    }
  });

  it('RoiAlign-10 (no half-pixel offset) keeps its sampling at 16 (default half_pixel there)', async () => {
    const model = makeModel({
      opset: 10,
      inputs: [f32('x', [1, 2, 8, 8]), f32('rois', [2, 4]), { name: 'b', dtype: 'int64', shape: [2] }],
      outputs: [f32('y', [2, 2, 3, 3])],
      nodes: [{ op: 'RoiAlign', inputs: ['x', 'rois', 'b'], outputs: ['y'], attributes: { output_height: 3, output_width: 3, sampling_ratio: 2, spatial_scale: { floats: [1] } } }],
    });
    const feeds = { x: input([1, 2, 8, 8]), rois: new Tensor('float32', [0.5, 1, 6, 5.5, 2, 2.5, 7, 7], [2, 4]), b: new Tensor('int64', [0n, 0n], [2]) };
    await expectSameResults(model, feeds, 16);
  });

  it('GridSample-16 bilinear/bicubic keep their meaning at 20 (renamed linear/cubic)', async () => {
    for (const mode of ['bilinear', 'bicubic', 'nearest']) {
      const model = makeModel({
        opset: 16,
        inputs: [f32('x', [1, 2, 4, 5]), f32('g', [1, 3, 3, 2])],
        outputs: [f32('y', [1, 2, 3, 3])],
        nodes: [{ op: 'GridSample', inputs: ['x', 'g'], outputs: ['y'], attributes: { mode, align_corners: 0 } }],
      });
      const m = await expectSameResults(model, { x: input([1, 2, 4, 5]), g: new Tensor('float32', randomFloats(18, 4), [1, 3, 3, 2]) }, 20);
      expect(new TextDecoder().decode(m.graph!.node[0]!.attribute.find((a) => a.name === 'mode')!.s)).toBe({ bilinear: 'linear', bicubic: 'cubic' }[mode] ?? mode);
    }
  });

  it('GroupNormalization-18 per-group scale and bias become per-channel at 21', async () => {
    const model = makeModel({
      opset: 18,
      inputs: [f32('x', [2, 6, 5])],
      outputs: [f32('y', [2, 6, 5])],
      initializers: [makeTensor('s', 'float32', [3], [0.5, 2, -1]), makeTensor('b', 'float32', [3], [1, 0, 3])],
      nodes: [{ op: 'GroupNormalization', inputs: ['x', 's', 'b'], outputs: ['y'], attributes: { num_groups: 3, epsilon: { floats: [1e-3] } } }],
    });
    await expectSameResults(model, { x: input([2, 6, 5]) }, 21);
  });

  it('experimental ImageScaler (opset 9) becomes Mul and Add at 10+', async () => {
    const model = one('ImageScaler', 9, [1, 3, 2, 2], [1, 3, 2, 2], { scale: 0.5, bias: { floats: [1, -2, 0.25] } });
    expect(opsOf(await expectSameResults(model, { x: input([1, 3, 2, 2]) }))).toEqual(['Mul', 'Add']);
  });

  it('converts If branches and Loop bodies (here Unsqueeze-11 and ReduceSum-11 inside them)', async () => {
    const branch = (axes: number[]) =>
      parseModel(makeModel({ opset: 11, inputs: [], outputs: [f32('r', [1, 2, 3])], nodes: [{ op: 'Unsqueeze', inputs: ['x'], outputs: ['r'], attributes: { axes } }] })).graph!;
    const body = parseModel(
      makeModel({
        opset: 11,
        inputs: [{ name: 'i', dtype: 'int64', shape: [] }, { name: 'c', dtype: 'bool', shape: [] }, f32('acc', [2, 3])],
        outputs: [{ name: 'c_out', dtype: 'bool', shape: [] }, f32('acc_out', [2, 3]), f32('s', [2])],
        nodes: [
          { op: 'Identity', inputs: ['c'], outputs: ['c_out'] },
          { op: 'Add', inputs: ['acc', 'x'], outputs: ['acc_out'] },
          { op: 'ReduceSum', inputs: ['acc_out'], outputs: ['s'], attributes: { axes: [1], keepdims: 0 } },
        ],
      }),
    ).graph!;
    const model = parseModel(
      makeModel({
        opset: 11,
        inputs: [f32('x', [2, 3]), { name: 'cond', dtype: 'bool', shape: [] }],
        outputs: [f32('y', [1, 2, 3]), f32('acc', [2, 3]), f32('sums', [3, 2])],
        initializers: [makeTensor('n', 'int64', [], [3n]), makeTensor('t', 'bool', [], [1]), makeTensor('zero', 'float32', [2, 3], new Array(6).fill(0))],
        nodes: [
          { op: 'If', inputs: ['cond'], outputs: ['y'] },
          { op: 'Loop', inputs: ['n', 't', 'zero'], outputs: ['acc', 'sums'] },
        ],
      }),
    );
    const G = AttributeProto_AttributeType.GRAPH;
    model.graph!.node[0]!.attribute = [create(AttributeProtoSchema, { name: 'then_branch', type: G, g: branch([0]) }), create(AttributeProtoSchema, { name: 'else_branch', type: G, g: branch([-3]) })];
    model.graph!.node[1]!.attribute = [create(AttributeProtoSchema, { name: 'body', type: G, g: body })];
    const original = await writeModel(model);
    for (const cond of [0, 1]) {
      const m = await expectSameResults(original, { x: input([2, 3]), cond: new Tensor('bool', [cond], []) });
      const [ifNode, loop] = m.graph!.node;
      expect(ifNode!.attribute.map((a) => a.g!.node[0]!.input.length)).toEqual([2, 2]);
      expect(loop!.attribute[0]!.g!.node[2]!.input.length).toBe(2);
      // The axes live in the subgraph that reads them.
      expect(loop!.attribute[0]!.g!.initializer.map((t) => t.name)).toContain(loop!.attribute[0]!.g!.node[2]!.input[1]);
    }
  });

  it('leaves other domains alone and raises the IR version with the opset', async () => {
    const model = parseModel(one('Relu', 9, [2], [2]));
    model.opsetImport.push({ ...model.opsetImport[0]!, domain: 'com.example', version: 3n });
    model.irVersion = 4n;
    expect(upgradeOpset(model, 18)).toEqual({ from: 9, to: 18, rewritten: 0 });
    expect(model.opsetImport.map((o) => [o.domain, o.version])).toEqual([['', 18n], ['com.example', 3n]]);
    expect(model.irVersion).toBe(8n);
    // Already at or above the target: untouched.
    expect(upgradeOpset(model, 13)).toEqual({ from: 18, to: 18, rewritten: 0 });
  });
});

/** Converts `original` to 13 and checks the result on onnxruntime and the sim against values worked out by hand. */
async function expectConverted(original: Uint8Array, feeds: Feeds, expected: Record<string, { dims: number[]; values: ArrayLike<number> }>): Promise<ModelProto> {
  const model = parseModel(original);
  upgradeOpset(model);
  const converted = await writeModel(model);
  for (const [name, run] of [['onnxruntime', runOrt], ['sim', runSim]] as const) {
    const out = await run(converted, feeds);
    for (const [output, e] of Object.entries(expected)) {
      expect(mismatch(out[output], new Tensor(out[output]?.dtype === 'int32' ? 'int32' : 'float32', Array.from(e.values), e.dims), 1e-5, 1e-6), `${name}, output ${output}`).toBeUndefined();
    }
  }
  return model;
}

describe('upgradeOpset from opsets onnxruntime no longer runs (expected values by hand)', () => {
  const x = Float32Array.from({ length: 24 }, (_, i) => i / 4 - 3);

  it('Add-6 with broadcast=1 axis=1 aligns B with A\'s channel axis; PRelu-6 applies a 1-D slope per channel', async () => {
    const model = makeModel({
      opset: 6,
      inputs: [f32('x', [2, 3, 4])],
      outputs: [f32('a', [2, 3, 4]), f32('p', [2, 3, 4])],
      initializers: [makeTensor('b', 'float32', [3], [10, 20, 30]), makeTensor('slope', 'float32', [3], [0.5, 0.25, 2])],
      nodes: [
        { op: 'Add', inputs: ['x', 'b'], outputs: ['a'], attributes: { broadcast: 1, axis: 1 } },
        { op: 'PRelu', inputs: ['x', 'slope'], outputs: ['p'] },
      ],
    });
    const channel = (i: number) => Math.floor(i / 4) % 3;
    await expectConverted(model, { x: new Tensor('float32', x, [2, 3, 4]) }, {
      a: { dims: [2, 3, 4], values: x.map((v, i) => v + [10, 20, 30][channel(i)]!) },
      p: { dims: [2, 3, 4], values: x.map((v, i) => (v >= 0 ? v : v * [0.5, 0.25, 2][channel(i)]!)) },
    });
  });

  it('Cast-1 (to as a type name), Concat-1 without axis (1), Reshape-1 (shape attribute), Pad-1 (paddings)', async () => {
    const model = makeModel({
      opset: 4,
      inputs: [f32('x', [2, 3, 4])],
      outputs: [{ name: 'c', dtype: 'int32', shape: [2, 3, 4] }, f32('k', [2, 6, 4]), f32('r', [6, 4]), f32('p', [2, 3, 6])],
      nodes: [
        { op: 'Cast', inputs: ['x'], outputs: ['c'], attributes: { to: 'INT32' } },
        { op: 'Concat', inputs: ['x', 'x'], outputs: ['k'] },
        { op: 'Reshape', inputs: ['x'], outputs: ['r'], attributes: { shape: [6, 4] } },
      ],
    });
    const parsed = parseModel(model);
    // Pad-1 is older than the model builder's opset; add it at opset 1's attribute names.
    parsed.opsetImport[0]!.version = 1n;
    parsed.graph!.node.push(parseModel(one('Pad', 1, [2, 3, 4], [2, 3, 6], { paddings: [0, 0, 1, 0, 0, 1], value: 7 })).graph!.node[0]!);
    parsed.graph!.node[3]!.output = ['p'];
    const row = (i: number) => x.slice(i * 4, i * 4 + 4);
    const padded = Array.from({ length: 6 }, (_, r) => [7, ...row(r), 7]).flat();
    const stacked = [0, 1].flatMap((n) => [...x.slice(n * 12, n * 12 + 12), ...x.slice(n * 12, n * 12 + 12)]);
    const m = await expectConverted(await writeModel(parsed), { x: new Tensor('float32', x, [2, 3, 4]) }, {
      c: { dims: [2, 3, 4], values: x.map((v) => Math.trunc(v)) },
      k: { dims: [2, 6, 4], values: stacked },
      r: { dims: [6, 4], values: x },
      p: { dims: [2, 3, 6], values: padded },
    });
    expect(m.graph!.node[0]!.attribute[0]!.i).toBe(6n); // TensorProto.INT32
  });

  it('Upsample-1 (height_scale, width_scale) becomes Resize: each pixel repeated 2 x 3 times', async () => {
    const model = one('Upsample', 6, [1, 1, 2, 2], [1, 1, 4, 6], { height_scale: { floats: [2] }, width_scale: { floats: [3] } });
    const values = [1, 2, 3, 4];
    const expected = Array.from({ length: 24 }, (_, i) => values[Math.floor(Math.floor(i / 6) / 2) * 2 + Math.floor((i % 6) / 3)]!);
    await expectConverted(model, { x: new Tensor('float32', values, [1, 1, 2, 2]) }, { y: { dims: [1, 1, 4, 6], values: expected } });
  });

  it('experimental ScaledTanh and ParametricSoftplus become standard operators', async () => {
    const model = makeModel({
      opset: 9,
      inputs: [f32('x', [24])],
      outputs: [f32('t', [24]), f32('s', [24])],
      nodes: [
        { op: 'ScaledTanh', inputs: ['x'], outputs: ['t'], attributes: { alpha: 1.5, beta: 0.5 } },
        { op: 'ParametricSoftplus', inputs: ['x'], outputs: ['s'], attributes: { alpha: 2, beta: 0.75 } },
      ],
    });
    await expectConverted(model, { x: new Tensor('float32', x, [24]) }, {
      t: { dims: [24], values: x.map((v) => 1.5 * Math.tanh(0.5 * v)) },
      s: { dims: [24], values: x.map((v) => 2 * Math.log1p(Math.exp(0.75 * v))) },
    });
  });
});

describe('upgradeOpset: coverage', () => {
  it('knows the version history of every operator the sim registers', () => {
    const dir = fileURLToPath(new URL('../native/sim/kernels/', import.meta.url));
    const registered = readdirSync(dir)
      .filter((f) => f.endsWith('.cc'))
      .flatMap((f) => [...readFileSync(join(dir, f), 'utf8').matchAll(/registry\.add\(\{"(\w+)"/g)].map((m) => m[1]!));
    expect(registered.length).toBeGreaterThan(100);
    expect(registered.filter((op) => !(op in OPERATOR_HISTORY))).toEqual([]);
  });
});

describe('upgradeOpset: refusals', () => {
  it('refuses what it cannot carry across, naming node and operator, and leaves the model as it was', async () => {
    const model = parseModel(
      makeModel({
        opset: 11,
        inputs: [f32('x', [2, 3])],
        outputs: [f32('y', [1, 2, 3])],
        nodes: [
          { op: 'Unsqueeze', inputs: ['x'], outputs: ['u'], attributes: { axes: [0] }, name: 'first' },
          { op: 'Det', inputs: ['u'], outputs: ['y'], name: 'det' },
        ],
      }),
    );
    const before = await writeModel(model);
    expect(() => upgradeOpset(model)).toThrow(UnsupportedError);
    expect(() => upgradeOpset(model)).toThrow(/opset 11 to 13: node 'det' \(Det\) is not an operator whose version history/);
    expect(Buffer.from(await writeModel(model))).toEqual(Buffer.from(before));
  });

  it('refuses a BatchNormalization whose training-only outputs the model reads, and drops unread ones', () => {
    const bn = (outputs: string[], graphOutputs: string[]) =>
      parseModel(
        makeModel({
          opset: 9,
          inputs: [f32('x', [1, 2, 2])],
          outputs: graphOutputs.map((n) => f32(n, [2])),
          initializers: ['s', 'b', 'm', 'v'].map((n) => makeTensor(n, 'float32', [2], [1, 1])),
          nodes: [{ op: 'BatchNormalization', inputs: ['x', 's', 'b', 'm', 'v'], outputs, name: 'bn' }],
        }),
      );
    // BatchNormalization-9 is the version of opset 13 too: its outputs stay; 14 gave them to training_mode.
    const at13 = bn(['y', 'mean'], ['y', 'mean']);
    upgradeOpset(at13);
    expect(at13.graph!.node[0]!.output).toEqual(['y', 'mean']);
    expect(() => upgradeOpset(bn(['y', 'mean'], ['y', 'mean']), 14)).toThrow(/node 'bn' \(BatchNormalization\) has output 'mean' read by the model/);
    const unread = bn(['y', 'mean', 'var'], ['y']);
    upgradeOpset(unread, 14);
    expect(unread.graph!.node[0]!.output).toEqual(['y']);
  });

  it('checks the target', () => {
    const model = parseModel(one('Relu', 9, [2], [2]));
    for (const bad of [12, 26, 13.5, '13' as unknown as number]) expect(() => upgradeOpset(model, bad)).toThrow(InvalidArgumentError);
    expect(api.upgradeOpset).toBe(upgradeOpset);
    expect(api.MAX_TARGET_OPSET).toBe(25);
  });
});

describe('quantizeInt8 on an opset-11 model', () => {
  it('converts Softmax/Squeeze/Split/ReduceSum to opset 13 first, says so through the logger, and stays close to float', async () => {
    // x [2,1,6,8] -> Squeeze [2,6,8] -> MatMul, Add -> Split on axis 2 -> Softmax over axes 1-2
    // (opset 11's coerce-to-2D at axis 1) -> ReduceSum: y [2,4], r [2].
    const model = makeModel({
      opset: 11,
      inputs: [f32('x', [2, 1, 6, 8])],
      outputs: [f32('y', [2, 4]), f32('r', [2])],
      initializers: [makeTensor('w', 'float32', [8, 8], randomFloats(64, 3)), makeTensor('b', 'float32', [8], randomFloats(8, 4))],
      nodes: [
        { op: 'Squeeze', inputs: ['x'], outputs: ['s'], attributes: { axes: [1] } },
        { op: 'MatMul', inputs: ['s', 'w'], outputs: ['m'] },
        { op: 'Add', inputs: ['m', 'b'], outputs: ['a'] },
        { op: 'Split', inputs: ['a'], outputs: ['p', 'q'], attributes: { axis: 2, split: [4, 4] } },
        { op: 'Softmax', inputs: ['p'], outputs: ['sm'], attributes: { axis: 1 } },
        { op: 'ReduceSum', inputs: ['sm'], outputs: ['y'], attributes: { axes: [1], keepdims: 0 } },
        { op: 'ReduceSum', inputs: ['q'], outputs: ['r'], attributes: { axes: [1, 2], keepdims: 0 } },
      ],
    });
    const messages: [Severity, string][] = [];
    const logger = new Logger({ minSeverity: 'info', onMessage: (s, m) => messages.push([s, m]) });
    const calibration = Array.from({ length: 4 }, (_, i) => ({ x: input([2, 1, 6, 8], 20 + i) }));
    const quantized = await quantizeInt8(model, { calibrationData: calibration, backend: 'sim', logger });
    await new Promise((resolve) => setTimeout(resolve, 50));
    expect(messages.some(([s, m]) => s === 'warning' && /converted the model from opset 11 to 13/.test(m)), JSON.stringify(messages)).toBe(true);
    const q = parseModel(quantized);
    expect(q.opsetImport.find((o) => o.domain === '')!.version).toBe(13n);
    expect(q.graph!.node.some((n) => n.opType === 'QuantizeLinear')).toBe(true);
    // The quantized model on onnxruntime and the sim against the float original on onnxruntime.
    const feeds = { x: input([2, 1, 6, 8], 99) };
    const reference = await runOrt(model, feeds);
    for (const run of [runOrt, runSim]) {
      const out = await run(quantized, feeds);
      for (const [name, e] of Object.entries(reference)) {
        expect((compare(out[name]!.toFloat32(), e.toFloat32()) as { cosine: number }).cosine, name).toBeGreaterThan(0.99);
      }
    }
    logger.dispose();
  });
});
