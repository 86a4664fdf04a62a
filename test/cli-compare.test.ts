// `tensorrt-node compare` run as a user runs it, and the comparison arithmetic it reports.
import { mkdtempSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';

import { describe, expect, it } from 'vitest';

import { Tensor } from '../lib/index.js';
import { makeModel } from '../lib/onnx/model-builder.js';
import { compareOutputs } from '../lib/output-comparison.js';
import { runCli as tensorrtNode } from './fixtures/run-cli.js';
import { lenetModel } from './fixtures/cnn-models.js';
import { addModel } from './fixtures/models.js';

const dir = mkdtempSync(join(tmpdir(), 'tensorrt-node-cli-compare-'));
const lenet = join(dir, 'lenet.onnx');
writeFileSync(lenet, lenetModel());

describe('tensorrt-node compare', () => {
  it('runs sim and onnxruntime on the same inputs and passes when they agree', async () => {
    const text = await tensorrtNode(['compare', lenet, '--shapes', 'x:2x1x28x28', '--atol', '1e-5', '--rtol', '1e-4']);
    expect(text.stderr).toBe('');
    expect(text.code).toBe(0);
    expect(text.stdout).toMatch(/onnxruntime against sim; atol 0\.00001, rtol 0\.0001; inputs x float32 2x1x28x28 \(random, seed 1\)/);
    expect(text.stdout).toMatch(/^output +backend +shape +max abs +max rel +cosine +mismatches +result$/m);
    expect(text.stdout).toMatch(/^y +onnxruntime +2x10 +\S+ +\S+ +1\.000000 +0\/20 +PASS$/m);

    const json = await tensorrtNode(['compare', lenet, '--shapes', 'x:2x1x28x28', '--backends', 'onnxruntime,sim', '--format', 'json']);
    expect(json.code).toBe(0);
    const report = JSON.parse(json.stdout);
    expect(report).toMatchObject({ reference: 'onnxruntime', backends: ['onnxruntime', 'sim'], atol: 1e-5, rtol: 1e-5, seed: 1 });
    expect(report.comparisons).toHaveLength(1);
    expect(report.comparisons[0]).toMatchObject({ output: 'y', backend: 'sim', reference: 'onnxruntime', dims: [2, 10], count: 20, mismatches: 0, passed: true, shapesMatch: true });
    expect(report.comparisons[0].maxAbsError).toBeLessThan(1e-5);
    expect(report.comparisons[0].cosine).toBeCloseTo(1, 6);
  });

  it('feeds the inputs given with --loadInputs to every backend', async () => {
    const model = join(dir, 'add.onnx');
    writeFileSync(model, addModel());
    const a = new Float32Array([1, 2, 3, 4]);
    const b = new Float32Array([0.5, -0.5, 10, -10]);
    writeFileSync(join(dir, 'a.bin'), new Uint8Array(a.buffer));
    writeFileSync(join(dir, 'b.bin'), new Uint8Array(b.buffer));
    const out = await tensorrtNode(['compare', model, '--loadInputs', `a:${join(dir, 'a.bin')}`, '--loadInputs', `b:${join(dir, 'b.bin')}`, '--atol', '0', '--rtol', '0', '--format', 'json']);
    expect(out.code).toBe(0);
    // a + b is exact in float32 for these values, so the two agree to the bit.
    expect(JSON.parse(out.stdout).comparisons[0]).toMatchObject({ output: 'y', maxAbsError: 0, mismatches: 0, count: 4, passed: true });
    const short = await tensorrtNode(['compare', model, '--loadInputs', `a:${join(dir, 'a.bin')}`, '--loadInputs', `b:${join(dir, 'lenet.onnx')}`]);
    expect(short.code).toBe(2);
    expect(short.stderr).toMatch(/--loadInputs b: .*lenet\.onnx has \d+ bytes but 'b' \(float32 \[4\]\) needs 16/);
  });

  it('takes the input flags run and bench take: comma-separated --loadInputs, --input, --val-range', async () => {
    const model = join(dir, 'add.onnx');
    writeFileSync(model, addModel());
    // a = [1, 2, 3, 4] from a file; b drawn from [2, 2], that is b = [2, 2, 2, 2].
    writeFileSync(join(dir, 'a.bin'), new Uint8Array(new Float32Array([1, 2, 3, 4]).buffer));
    writeFileSync(join(dir, 'b.bin'), new Uint8Array(new Float32Array([2, 2, 2, 2]).buffer));
    const [both, input, ranged] = [
      await tensorrtNode(['compare', model, '--loadInputs', `a:${join(dir, 'a.bin')},b:${join(dir, 'b.bin')}`, '--format', 'json']),
      await tensorrtNode(['compare', model, '--input', `a=${join(dir, 'a.bin')}`, '--input', `b=${join(dir, 'b.bin')}`, '--format', 'json']),
      await tensorrtNode(['compare', model, '--input', `a=${join(dir, 'a.bin')}`, '--val-range', 'b:2,2', '--format', 'json']),
    ];
    for (const out of [both, input, ranged]) {
      expect(out.stderr).toBe('');
      expect(out.code).toBe(0);
      expect(JSON.parse(out.stdout).comparisons[0]).toMatchObject({ output: 'y', maxAbsError: 0, passed: true });
    }
  });

  it('exits 1 naming the output when backends disagree beyond the tolerances', async () => {
    // y = x + RandomUniformLike(x): the two backends draw from different generators.
    const model = join(dir, 'random.onnx');
    writeFileSync(model, makeModel({
      inputs: [{ name: 'x', dtype: 'float32', shape: [64] }],
      outputs: [{ name: 'y', dtype: 'float32', shape: [64] }],
      nodes: [
        { op: 'RandomUniformLike', inputs: ['x'], outputs: ['r'], attributes: { seed: 3.5, low: -0.5, high: 0.5 } },
        { op: 'Add', inputs: ['x', 'r'], outputs: ['y'] },
      ],
    }));
    const out = await tensorrtNode(['compare', model]);
    expect(out.code).toBe(1);
    expect(out.stdout).toMatch(/^y +onnxruntime +64 +.* FAIL$/m);
    expect(out.stderr).toMatch(/^tensorrt-node compare: 1 of 1 output comparison\(s\) failed: y on onnxruntime \(tolerances: atol 0\.00001, rtol 0\.00001\)\n$/);
  });

  it('reports a model onnxruntime refuses in one line, exit code 1', async () => {
    // RandomUniformLike's seed is a FLOAT attribute; onnxruntime's checker refuses an INT one.
    const model = join(dir, 'int-seed.onnx');
    writeFileSync(model, makeModel({
      inputs: [{ name: 'x', dtype: 'float32', shape: [4] }],
      outputs: [{ name: 'r', dtype: 'float32', shape: [4] }],
      nodes: [{ op: 'RandomUniformLike', inputs: ['x'], outputs: ['r'], attributes: { seed: 3 } }],
    }));
    const out = await tensorrtNode(['compare', model, '--backends', 'onnxruntime,sim']);
    expect(out.code).toBe(1);
    expect(out.stderr).toMatch(/^tensorrt-node compare: TensorRTError: onnxruntime-node cannot load the model: .*seed.*\n$/);
  });

  it('names an input type onnxruntime cannot take as a DataTypeError', async () => {
    const model = join(dir, 'bfloat16.onnx');
    writeFileSync(model, makeModel({
      inputs: [{ name: 'x', dtype: 'bfloat16', shape: [4] }],
      outputs: [{ name: 'y', dtype: 'bfloat16', shape: [4] }],
      nodes: [{ op: 'Identity', inputs: ['x'], outputs: ['y'] }],
    }));
    const out = await tensorrtNode(['compare', model, '--backends', 'onnxruntime,sim']);
    expect(out.code).toBe(1);
    expect(out.stderr).toMatch(/^tensorrt-node compare: DataTypeError: onnxruntime-node cannot take input 'x' of type bfloat16: leave onnxruntime out of --backends for this model\n$/);
  });

  it('refuses mistakes with one line and exit code 2, and prints help', async () => {
    const cases: [string[], RegExp][] = [
      [['compare', lenet], /input 'x' has dynamic dimensions \[N, 1, 28, 28\]: give its shape with --shapes x:1x1x28x28 \(/],
      [['compare', lenet, '--shapes', 'x:1x1x28x28', '--backends', 'sim'], /--backends needs at least two backends/],
      [['compare', lenet, '--shapes', 'x:1x1x28x28', '--backends', 'sim,sim'], /--backends names a backend twice/],
      [['compare', lenet, '--shapes', 'x:1x1x28x28', '--backends', 'sim,tflite'], /--backends takes sim, tensorrt and onnxruntime, got 'tflite'/],
      [['compare', lenet, '--shapes', 'x:1x1x28x28', '--atol', 'abc'], /--atol takes a number >= 0, got 'abc'/],
      [['compare', lenet, '--shapes', 'x:1x1x28x28', '--rtol=-1'], /--rtol takes a number >= 0, got '-1'/],
      [['compare', lenet, '--shapes', 'q:1x1x28x28'], /--shapes: 'q' is not an input of the model \(inputs: x\)/],
      [['compare', lenet, '--shapes', 'x:1x1x28x28', '--val-range', 'q:0,1'], /--val-range: 'q' is not an input of the model \(inputs: x\)/],
      [['compare', lenet, '--shapes', 'x:1x1x28x28', '--input', 'x'], /--input takes NAME=FILE/],
      [['compare', join(dir, 'missing.onnx')], /cannot read the model .*missing\.onnx/],
      [['compare'], /expected exactly one ONNX model/],
    ];
    for (const [args, message] of cases) {
      const out = await tensorrtNode(args);
      expect(out.code, args.join(' ')).toBe(2);
      expect(out.stderr.split('\n')[0]).toMatch(message);
      expect(out.stderr).not.toMatch(/\n\s+at /);
    }
    const help = await tensorrtNode(['compare', '--help']);
    expect(help.code).toBe(0);
    expect(help.stdout).toMatch(/Example:\n +tensorrt-node compare /);
  });

  it('says how to install onnxruntime-node when it cannot be loaded', async () => {
    // NODE_PATH cannot hide an installed package; a loader hook that fails its import can.
    const hook = join(dir, 'no-onnxruntime.mjs');
    writeFileSync(hook, "export async function resolve(specifier, context, next) { if (specifier === 'onnxruntime-node') throw new Error(\"Cannot find package 'onnxruntime-node'\"); return next(specifier, context); }\n");
    const register = join(dir, 'register.mjs');
    writeFileSync(register, `import { register } from 'node:module';\nregister(${JSON.stringify(`file://${hook}`)});\n`);
    const out = await tensorrtNode(['compare', lenet, '--shapes', 'x:1x1x28x28'], { TENSORRT_NODE_BACKEND: 'sim', NODE_OPTIONS: `--import ${register}` });
    expect(out.code).toBe(1);
    expect(out.stderr).toMatch(/BackendUnavailableError: onnxruntime-node cannot be loaded \(Cannot find package 'onnxruntime-node'\); it is an optional peer of tensorrt-node: install it with 'npm install onnxruntime-node', or leave onnxruntime out of --backends/);
  });
});

describe('compareOutputs', () => {
  const t = (values: number[]) => new Tensor('float32', values, [values.length]);

  it('computes max abs and relative error, cosine and mismatches as allclose counts them', () => {
    // reference [1, 2, 0, -4], candidate [1.1, 2, 0.001, -4]: |diff| = [0.1, 0, 0.001, 0].
    const d = compareOutputs(t([1, 2, 0, -4]), t([1.1, 2, 0.001, -4]), { atol: 0.01, rtol: 0.05 });
    expect(d.count).toBe(4);
    expect(d.maxAbsError).toBeCloseTo(0.1, 6);
    // Relative error skips the zero reference: 0.1 / 1.
    expect(d.maxRelError).toBeCloseTo(0.1, 6);
    // Only element 0 exceeds atol + rtol * |ref| = 0.01 + 0.05 = 0.06.
    expect(d.mismatches).toBe(1);
    // cos = (1.1 + 4 + 0 + 16) / (sqrt(21) * sqrt(1.21 + 4 + 1e-6 + 16)).
    expect(d.cosine).toBeCloseTo(21.1 / (Math.sqrt(21) * Math.sqrt(21.210001)), 9);
    expect(d.shapesMatch).toBe(true);
  });

  it('counts NaN against a number as a mismatch, NaN against NaN as a match, and refuses other shapes', () => {
    expect(compareOutputs(t([NaN, 1]), t([NaN, 1]), { atol: 0, rtol: 0 }).mismatches).toBe(0);
    expect(compareOutputs(t([NaN, 1]), t([0, 1]), { atol: 1, rtol: 1 }).mismatches).toBe(1);
    expect(compareOutputs(t([Infinity]), t([Infinity]), { atol: 0, rtol: 0 }).mismatches).toBe(0);
    expect(compareOutputs(t([1, 2]), new Tensor('float32', [1, 2], [1, 2]), { atol: 1, rtol: 1 })).toMatchObject({ shapesMatch: false, count: 0 });
  });
});
