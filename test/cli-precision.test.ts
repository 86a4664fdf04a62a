// The precision options of `build` and `quantize`, run as a user runs them (node
// dist/cli/main.js): accuracy targets, node selection, dynamic shapes with INT8, and the usage
// errors. The models' expected float layers and FLOP figures are worked out in
// fixtures/precision-models.ts.
import { mkdirSync, mkdtempSync, readFileSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';

import { afterAll, describe, expect, it } from 'vitest';

import { parseModel } from '../lib/onnx/model-io.js';
import { randomFloats } from './fixtures/models.js';
import { cancellationModel, overflowModel, sensitiveModel } from './fixtures/precision-models.js';
import { expectMistake, tensorrtNode as trt } from './fixtures/run-cli.js';

const dir = mkdtempSync(join(tmpdir(), 'tensorrt-node-cli-precision-'));
afterAll(() => rmSync(dir, { recursive: true, force: true }));

/** `count` batch files of float32 [rows, 8], seeded from `seed`. */
function batches(name: string, count: number, seed: number, rows = 4): string {
  const path = join(dir, name);
  mkdirSync(path);
  for (let b = 0; b < count; b++) writeFileSync(join(path, `batch${String(b).padStart(2, '0')}.bin`), new Uint8Array(randomFloats(rows * 8, seed + b).buffer));
  return path;
}

const sensitive = join(dir, 'sensitive.onnx');
writeFileSync(sensitive, sensitiveModel());
const dynamic = join(dir, 'sensitive-dynamic.onnx');
writeFileSync(dynamic, sensitiveModel('N'));
const overflow = join(dir, 'overflow.onnx');
writeFileSync(overflow, overflowModel());
const cancellation = join(dir, 'cancellation.onnx');
writeFileSync(cancellation, cancellationModel());
const calib = batches('calib', 16, 1);
const validation = batches('validation', 8, 100);

describe('tensorrt-node quantize: the calibration method', () => {
  it("defaults to 'auto', which says with --verbose which thresholds it kept; --calib-method entropy is TensorRT's", async () => {
    const out = join(dir, 'method.int8.onnx');
    const auto = await trt('--verbose', 'quantize', sensitive, '-o', out, '--calib-data', calib);
    expect(auto.code).toBe(0);
    // 16 batches: 13 calibrate (3 held out for the report); 'auto' ranks the single methods on
    // all 13, probes the layers on 7 and checks the per-layer set on the other 6.
    expect(auto.stderr).toMatch(/quantizeInt8 method 'auto': .* kept; worst output cosine on 13 calibration batches: entropy [\d.]+, percentile 99\.99 [\d.]+, percentile 99\.999 [\d.]+, minmax [\d.]+; per-layer choice \(.+\) [\d.]+ against [a-z0-9. ]+ [\d.]+ on the 6 batches it was not fitted to/);
    const entropy = await trt('--verbose', 'quantize', sensitive, '-o', out, '--calib-data', calib, '--calib-method', 'entropy');
    expect(entropy.code).toBe(0);
    expect(entropy.stderr).not.toMatch(/method 'auto'/);
  });
});

describe('tensorrt-node build and quantize: accuracy targets', () => {
  it('build --int8 --min-cosine keeps the destroyed layer in float and prints the INT8 FLOP share', async () => {
    const built = await trt('build', sensitive, '-o', join(dir, 's.engine'), '--int8', '--calib-data', calib, '--calib-method', 'minmax', '--validation-data', validation, '--min-cosine', '0.99');
    expect(built.code).toBe(0);
    expect(built.stderr).not.toMatch(/warning/i);
    expect(built.stdout).toMatch(/backend sim, int8\)/);
    // As quantizeInt8WithReport's test counts them: the FLOP-free add is tried in float first, and back in INT8 last.
    expect(built.stdout).toMatch(/accuracy target: worst output cosine 0\.99\d+ against fp32 on 8 validation batches \(target 0\.99, met; 7 candidate models measured\)/);
    expect(built.stdout).toMatch(/kept in float \(most sensitive first; cosine with only that layer INT8\): mm2 \(MatMul, 0\.00000\)\n/);
    // mm1: 2 * 4 * 8 * 8 = 512 FLOPs in INT8 of 512 + mm2's 2 * 4 * 4 * 8 = 256.
    expect(built.stdout).toMatch(/INT8 share of Conv\/Gemm\/MatMul FLOPs: 66\.7% \(512 FLOP of 768 FLOP/);
  });

  it('quantize takes the same options, and says when the target cannot be met', async () => {
    const out = join(dir, 's.int8.onnx');
    const q = await trt('quantize', sensitive, '-o', out, '--calib-data', calib, '--calib-method', 'minmax', '--validation-data', validation, '--min-cosine', '0.99');
    expect(q.code).toBe(0);
    expect(q.stdout).toMatch(/2 nodes in INT8/);
    expect(q.stdout).toMatch(/mm2 \(MatMul, 0\.00000\)/);
    expect(q.stdout).toMatch(/accuracy of int8 against fp32 \(on the --validation-data batches\):\ny: max \|error\| \S+, cosine 0\.99\d+/);
    // With the float ops in float16, even every layer kept float rounds (float16 keeps 11
    // bits): cosine 1 cannot be reached, and the command says so, having tried all of them.
    const strict = await trt('quantize', sensitive, '-o', out, '--calib-data', calib, '--calib-method', 'minmax', '--validation-data', validation, '--min-cosine', '1', '--fp16-rest');
    expect(strict.code).toBe(0);
    expect(strict.stdout).toMatch(/0 nodes in INT8/);
    expect(strict.stdout).toMatch(/target 1, NOT met/);
    expect(strict.stderr).toMatch(/warning: the accuracy target 1 is not met \(worst output cosine 0\.\d+\) even with every candidate layer in float\n/);
  });

  it('--int8-include and --int8-exclude take node names and op types', async () => {
    const out = join(dir, 'sel.int8.onnx');
    const excluded = await trt('quantize', sensitive, '-o', out, '--calib-data', calib, '--int8-exclude', 'mm2');
    expect(excluded.code).toBe(0);
    expect(excluded.stdout).toMatch(/2 nodes in INT8/);
    const onlyAdd = await trt('quantize', sensitive, '-o', out, '--calib-data', calib, '--int8-include', 'Add');
    expect(onlyAdd.stdout).toMatch(/1 nodes in INT8/);
    const both = await trt('quantize', sensitive, '-o', out, '--calib-data', calib, '--int8-include', 'MatMul,add', '--int8-exclude', 'mm1');
    expect(both.stdout).toMatch(/2 nodes in INT8/);
    // The float rest in float16, but for mm2, which --fp16-block keeps float32 (its weight too).
    const blocked = await trt('quantize', sensitive, '-o', out, '--calib-data', calib, '--int8-exclude', 'mm2', '--fp16-rest', '--fp16-block', 'mm2');
    expect(blocked.code).toBe(0);
    expect(parseModel(readFileSync(out)).graph!.initializer.find((t) => t.name === 'w2')!.dataType).toBe(1); // FLOAT
    const unblocked = await trt('quantize', sensitive, '-o', out, '--calib-data', calib, '--int8-exclude', 'mm2', '--fp16-rest');
    expect(unblocked.code).toBe(0);
    expect(parseModel(readFileSync(out)).graph!.initializer.find((t) => t.name === 'w2')!.dataType).toBe(10); // FLOAT16
    const typo = await trt('quantize', sensitive, '-o', out, '--calib-data', calib, '--int8-exclude', 'mm3');
    expect(expectMistake(typo)).toMatch(/--int8-exclude: 'mm3' is neither a node name nor an op type of the model/);
  });

  it('build --fp16 --min-cosine keeps the overflowing nodes in float32 by the activation check, the rounding-ruined ones by the search', async () => {
    const f16val = batches('validation16', 4, 200);
    const built = await trt('build', overflow, '-o', join(dir, 'o.engine'), '--fp16', '--validation-data', f16val, '--min-cosine', '0.999');
    expect(built.code).toBe(0);
    expect(built.stdout).toMatch(/target 0\.999, met; 1 candidate model measured/);
    expect(built.stdout).toMatch(/kept in float32 by the activation check \(values beyond float16's range on the data\): square, shrink\nkept in float32: none\n/);
    expect(built.stdout).toMatch(/float16 share of Conv\/Gemm\/MatMul FLOPs: 100\.0% \(512 FLOP of 512 FLOP/);
    expect(built.stderr).toMatch(/Mul node 'square' output 'sq' reaches \|x\| = \S+ > 65504 on the data/);
    const rounded = await trt('build', cancellation, '-o', join(dir, 'c.engine'), '--fp16', '--validation-data', f16val, '--min-cosine', '0.999');
    expect(rounded.code).toBe(0);
    expect(rounded.stdout).toMatch(/target 0\.999, met/);
    // Each alone in float16 gives a cosine near 0.89 (see cancellationModel).
    expect(rounded.stdout).toMatch(/kept in float32 \(most sensitive first; cosine with only that layer float16\): (lift \(Add, 0\.[89]\d+\), drop \(Sub, 0\.[89]\d+\)|drop \(Sub, 0\.[89]\d+\), lift \(Add, 0\.[89]\d+\))\n/);
    expect(rounded.stdout).not.toMatch(/activation check/);
    // Blocking them by hand gives a model free of Inf: the report against float32, on the
    // validation batches, is near 1.
    const blocked = await trt('build', overflow, '-o', join(dir, 'b.engine'), '--fp16', '--fp16-block', 'square,shrink', '--validation-data', f16val);
    expect(blocked.code).toBe(0);
    expect(blocked.stdout).toMatch(/accuracy of fp16 against fp32 \(on the --validation-data batches\):\ny: max \|error\| \S+, cosine (0\.99\d+|1\.00000), relative error \S+ \(4 samples\)/);
  });
});

describe('tensorrt-node build and quantize: the accuracy report', () => {
  it('runs on the held-out calibration batches without --validation-data; a poor report warns, and fails under --fail-below', async () => {
    // min-max INT8 zeroes y (see sensitiveModel): its cosine against a non-zero reference is 0
    // and its relative error ||0 - r|| / ||r|| = 1; the report warns and --fail-below exits 1.
    const built = await trt('build', sensitive, '-o', join(dir, 'h.engine'), '--int8', '--calib-data', calib, '--calib-method', 'minmax');
    expect(built.code).toBe(0);
    expect(built.stdout).toMatch(/accuracy of int8 against fp32 \(on the held-out --calib-data batches\):\ny: max \|error\| \S+, cosine 0\.00000, relative error 1\.00e\+0 \(3 samples\)/);
    expect(built.stderr).toMatch(/warning: the int8 model may not be accurate enough/);
    const failed = await trt('quantize', sensitive, '-o', join(dir, 'h.onnx'), '--calib-data', calib, '--calib-method', 'minmax', '--fail-below', '0.99');
    expect(failed.code).toBe(1);
    expect(failed.stdout).toMatch(/\(on the held-out --calib-data batches\)/);
    expect(failed.stderr).toMatch(/accuracy below --fail-below 0\.99: output 'y'/);
  });
});

describe('tensorrt-node build --int8 with dynamic shapes', () => {
  it('calibrates at the opt shape and builds the profile', async () => {
    const engine = join(dir, 'dyn.engine');
    const built = await trt('build', dynamic, '-o', engine, '--int8', '--calib-data', calib, '--min-shapes', 'x:1x8', '--opt-shapes', 'x:4x8', '--max-shapes', 'x:8x8');
    expect(built.code).toBe(0);
    expect(built.stdout).toMatch(/backend sim, int8\)/);
    const ran = await trt('run', engine, '--shapes', 'x:7x8', '--input', 'x=random');
    expect(ran.code).toBe(0);
    expect(ran.stdout).toMatch(/y\tfloat32 \[7, 4\]/);
  });

  it('reads batches at --calib-shapes when they differ from the opt shape', async () => {
    const small = batches('calib2', 6, 40, 2);
    const args = ['build', dynamic, '-o', join(dir, 'dyn2.engine'), '--int8', '--calib-data', small, '--min-shapes', 'x:1x8', '--opt-shapes', 'x:4x8', '--max-shapes', 'x:8x8'];
    const wrong = await trt(...args);
    // Found while calibration reads the batches, after its progress lines: still exit 2.
    expect(wrong.code).toBe(2);
    expect(wrong.stderr).toMatch(/has 64 bytes but 'x' \(float32 \[4, 8\]\) needs 128 \(tensorrt-node build --help\)/);
    const right = await trt(...args, '--calib-shapes', 'x:2x8');
    expect(right.code).toBe(0);
  });

  it('builds INT8 with the float ops in float16 when --fp16 is given too', async () => {
    const built = await trt('build', sensitive, '-o', join(dir, 'mixed.engine'), '--int8', '--fp16', '--calib-data', calib);
    expect(built.code).toBe(0);
    expect(built.stdout).toMatch(/backend sim, int8 with fp16\)/);
  });
});

describe('tensorrt-node precision usage errors', () => {
  const cases: [string, string[], RegExp][] = [
    ['--min-cosine without --validation-data', ['build', sensitive, '-o', join(dir, 'e.engine'), '--int8', '--calib-data', calib, '--min-cosine', '0.99'], /--min-cosine needs --validation-data DIR/],
    ['a --min-cosine out of range', ['quantize', sensitive, '-o', join(dir, 'e.onnx'), '--calib-data', calib, '--validation-data', validation, '--min-cosine', '1.5'], /--min-cosine takes a number in \(-1, 1\]/],
    ['an INT8 option without --int8', ['build', sensitive, '-o', join(dir, 'e.engine'), '--fp16', '--int8-include', 'mm1'], /--int8-include goes with --int8/],
    ['a target without a reduced precision', ['build', sensitive, '-o', join(dir, 'e.engine'), '--min-cosine', '0.9'], /--min-cosine goes with --fp16 or --int8/],
    ['--fp16-block on an INT8 build without --fp16', ['build', sensitive, '-o', join(dir, 'e.engine'), '--int8', '--calib-data', calib, '--fp16-block', 'add'], /--fp16-block with --int8 needs --fp16 too/],
    ['--fp16-block on quantize without --fp16-rest', ['quantize', sensitive, '-o', join(dir, 'e.onnx'), '--calib-data', calib, '--fp16-block', 'add'], /--fp16-block goes with --fp16-rest/],
    ['an unknown --calib-method', ['quantize', sensitive, '-o', join(dir, 'e.onnx'), '--calib-data', calib, '--calib-method', 'median'], /--calib-method must be one of/],
  ];
  for (const [what, args, message] of cases) {
    it(`exits 2 for ${what}`, async () => {
      const r = await trt(...args);
      expect(expectMistake(r)).toMatch(message);
      expect(r.stdout).toBe('');
    });
  }
});
