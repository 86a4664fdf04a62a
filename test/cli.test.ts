// The command line, run as a user runs it (node dist/cli/main.js), on a generated model.
import { mkdirSync, mkdtempSync, readFileSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';

import { describe, expect, it } from 'vitest';

import { makeModel, makeTensor } from '../lib/onnx/model-builder.js';
import { addModel, mlpModel, overflowModel, randomFloats } from './fixtures/models.js';
import { tensorrtNode } from './fixtures/run-cli.js';

const dir = mkdtempSync(join(tmpdir(), 'tensorrt-node-cli-'));
const trt = tensorrtNode;

describe('tensorrt-node CLI', () => {
  it('builds with trtexec-style shapes and runs with a given input file', async () => {
    const model = join(dir, 'add.onnx');
    writeFileSync(model, addModel());
    const engine = join(dir, 'add.engine');
    const built = await trt('build', model, '-o', engine);
    expect(built.stdout).toMatch(/built .*add\.engine \(\d+ bytes, backend sim, fp32\)/);
    writeFileSync(join(dir, 'a.bin'), new Uint8Array(new Float32Array([1, 2, 3, 4]).buffer));
    writeFileSync(join(dir, 'b.bin'), new Uint8Array(new Float32Array([0.5, 0.5, 0.5, 0.5]).buffer));
    const ran = await trt('run', engine, '--input', `a=${join(dir, 'a.bin')}`, '--input', `b=${join(dir, 'b.bin')}`);
    expect(ran.code).toBe(0);
    expect(ran.stdout).toMatch(/y\tfloat32 \[4\]\tmin 1\.5000 +max 4\.5000 +mean 3\.0000 +\[1\.5, 2\.5, 3\.5, 4\.5\]/);
  });

  it('builds a dynamic model with min/opt/max shapes and runs it at a chosen shape', async () => {
    const model = join(dir, 'mlp.onnx');
    writeFileSync(model, mlpModel());
    const engine = join(dir, 'mlp.engine');
    expect((await trt('build', model, '-o', engine, '--min-shapes', 'x:1x8', '--opt-shapes', 'x:4x8', '--max-shapes', 'x:8x8')).code).toBe(0);
    const ran = await trt('run', engine, '--shapes', 'x:3x8', '--input', 'x=random');
    expect(ran.stdout).toMatch(/y\tfloat32 \[3, 4\]/);
    const outside = await trt('run', engine, '--shapes', 'x:9x8');
    expect(outside.code).toBe(2);
    expect(outside.stderr).toMatch(/--shapes x:9x8: .*range \[1, 8\]/);
  });

  it('builds in float16 with --fp16 and reports its accuracy against float32', async () => {
    const model = join(dir, 'mlp16.onnx');
    writeFileSync(model, mlpModel());
    const built = await trt('build', model, '-o', join(dir, 'mlp16.engine'), '--fp16', '--shapes', 'x:4x8');
    expect(built.code).toBe(0);
    expect(built.stdout).toMatch(/backend sim, fp16/);
    // y ends a Softmax, so it is reported as class scores (top-1 agreement).
    const line = built.stdout.match(/y: max \|error\| (\S+), cosine (\S+), relative error (\S+), top-1 agreement (\S+)% \(8 samples\)/);
    expect(line).not.toBeNull();
    expect(Number(line![1])).toBeLessThan(1e-2);
    expect(Number(line![2])).toBeGreaterThan(0.999);
  });

  it('builds in INT8 from a calibration directory, writes the cache, and quantizes from it', async () => {
    const model = join(dir, 'mlp8.onnx');
    writeFileSync(model, mlpModel());
    const calib = join(dir, 'calib');
    mkdirSync(calib);
    for (let b = 0; b < 10; b++) writeFileSync(join(calib, `batch${b}.bin`), new Uint8Array(randomFloats(4 * 8, 300 + b).buffer));
    const cache = join(dir, 'mlp8.cache');
    const built = await trt('build', model, '-o', join(dir, 'mlp8.engine'), '--int8', '--calib-data', calib, '--calib-cache', cache, '--shapes', 'x:4x8');
    expect(built.code).toBe(0);
    expect(built.stdout).toMatch(/backend sim, int8/);
    // 10 batches: 8 calibrate, the last 2 are held out for the report.
    const cosine = Number(built.stdout.match(/cosine (\S+),.*\(2 samples\)/)![1]);
    expect(cosine).toBeGreaterThan(0.99);
    expect(readFileSync(cache, 'utf8')).toMatch(/^TRT-\d+-EntropyCalibration2\n(\S+: [0-9a-f]{8}\n)+$/);
    const quantized = join(dir, 'mlp8.int8.onnx');
    const q = await trt('quantize', model, '-o', quantized, '--calib-cache', cache, '--shapes', 'x:4x8');
    expect(q.code).toBe(0);
    expect(readFileSync(quantized).byteLength).toBeGreaterThan(0);
    const none = await trt('build', model, '-o', join(dir, 'x8.engine'), '--int8');
    expect(none.code).toBe(2);
    expect(none.stderr).toMatch(/INT8 needs --calib-data DIR/);
    // A batch file of the wrong size, found while calibration reads the data: still a usage
    // error (exit 2), though calibration wraps what its data source throws.
    const bad = join(dir, 'calib-bad');
    mkdirSync(bad);
    for (let b = 0; b < 4; b++) writeFileSync(join(bad, `batch${b}.bin`), new Uint8Array(b === 1 ? 12 : 4 * 8 * 4));
    const truncated = await trt('build', model, '-o', join(dir, 'bad8.engine'), '--int8', '--calib-data', bad, '--shapes', 'x:4x8');
    expect(truncated.code).toBe(2);
    expect(truncated.stderr).toMatch(/batch1\.bin has 12 bytes but 'x' \(float32 \[4, 8\]\) needs 128/);
  });

  it('reports on the user\'s data with --validation-data, warns and fails under --fail-below', async () => {
    // y = (x * 1000) * 0.001 + x = 2x: |x| = 100 takes the product to 1e5, beyond float16.
    const model = join(dir, 'overflow.onnx');
    writeFileSync(model, overflowModel());
    const data = join(dir, 'overflow-data');
    mkdirSync(data);
    for (let b = 0; b < 3; b++) writeFileSync(join(data, `batch${b}.bin`), new Uint8Array(Float32Array.of(100, -50.3 - b, 0.1, 3.7).buffer));
    const checked = await trt('build', model, '-o', join(dir, 'overflow16.engine'), '--fp16', '--validation-data', data, '--fail-below', '0.99');
    expect(checked.code).toBe(0);
    // The data reaches the float16 conversion, which keeps the overflowing Mul in float32 and says so.
    expect(checked.stderr).toMatch(/Mul node 'scale_up' output 'scaled' reaches \|x\| = 1\.000e\+5 > 65504/);
    expect(checked.stdout).toMatch(/accuracy of fp16 against fp32 \(on the --validation-data batches\):\ny: max \|error\| \S+, cosine 1\.00000, relative error \S+ \(3 samples\)/);
    // y is not class scores (rows do not sum to 1, no Softmax): no top-1 agreement.
    expect(checked.stdout).not.toMatch(/top-1/);
    // --fail-below 1: float16 rounding leaves the cosine just under 1, so the check fails, exit 1.
    const strict = await trt('build', model, '-o', join(dir, 'overflow16b.engine'), '--fp16', '--validation-data', data, '--fail-below', '1');
    expect(strict.code).toBe(1);
    expect(strict.stderr).toMatch(/accuracy below --fail-below 1: output 'y' has cosine 1 - \d\.\de-\d+ < 1/);
    // With random inputs the report says so and points at --validation-data.
    const random = await trt('build', model, '-o', join(dir, 'overflow16c.engine'), '--fp16');
    expect(random.stdout).toMatch(/random inputs in \[-1, 1\]; give --validation-data DIR/);
    expect((await trt('build', model, '-o', join(dir, 'x.engine'), '--fp16', '--fail-below', '2')).stderr).toMatch(/--fail-below takes a cosine in \(0, 1\]/);
    expect((await trt('build', model, '-o', join(dir, 'x.engine'), '--fail-below', '0.9')).code).toBe(2);
  });

  it('prints a warning for NaN/Inf outputs, which --fail-below turns into exit 1', async () => {
    // y = (x * 60000) * 60000: up to 3.6e9 for x in [-1, 1], Inf in float16 (max 65504).
    const model = join(dir, 'huge.onnx');
    writeFileSync(
      model,
      makeModel({
        inputs: [{ name: 'x', dtype: 'float32', shape: [1, 4] }],
        outputs: [{ name: 'y', dtype: 'float32', shape: [1, 4] }],
        initializers: [makeTensor('k', 'float32', [], [60000])],
        nodes: [
          { op: 'Mul', inputs: ['x', 'k'], outputs: ['h'] },
          { op: 'Mul', inputs: ['h', 'k'], outputs: ['y'] },
        ],
      }),
    );
    const built = await trt('build', model, '-o', join(dir, 'huge16.engine'), '--fp16', '--fail-below', '0.99');
    expect(built.stderr).toMatch(/activation ranges were not checked/);
    expect(built.stdout).toMatch(/y: max \|error\| \S+, cosine NaN, relative error \S+, \d+ NaN, \d+ Inf of 32 values \(8 samples\)/);
    expect(built.stderr).toMatch(/warning: the fp16 model may not be accurate enough:\n  output 'y' has \d+ NaN and \d+ Inf values of 32/);
    expect(built.code).toBe(1);
  });

  it('explains mistakes and has --help on every command', async () => {
    for (const command of ['build', 'run', 'backends', 'quantize']) {
      const help = await trt(command, '--help');
      expect(help.code).toBe(0);
      expect(help.stdout).toMatch(new RegExp(`Usage: tensorrt-node ${command}`));
    }
    const missing = await trt('build', join(dir, 'mlp.onnx'));
    expect(missing.code).toBe(2);
    expect(missing.stderr).toMatch(/missing -o\/--output/);
    const dynamic = await trt('build', join(dir, 'mlp.onnx'), '-o', join(dir, 'x.engine'));
    expect(dynamic.code).toBe(2);
    expect(dynamic.stderr).toMatch(/dynamic dimensions \[batch, 8\]: give its shape with --shapes x:1x8/);
    const corrupt = join(dir, 'corrupt.engine');
    writeFileSync(corrupt, 'TNRTSIM\0garbage');
    const bad = await trt('run', corrupt);
    expect(bad.code).toBe(1);
    expect(bad.stderr).toMatch(/EngineInvalidError/);
  });
});
