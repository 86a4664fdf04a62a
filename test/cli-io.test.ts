// Inputs and outputs of `run` and `bench`: --loadInputs (raw .bin and .npy), --input,
// --val-range, --seed, --exportOutput and --save-outputs, run as a user runs them. The add
// model computes y = a + b, so every expected output is a sum written out here.
import { mkdtempSync, readFileSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';

import { beforeAll, describe, expect, it } from 'vitest';

import { npyToTensor, readNpy, writeNpy } from '../lib/npy.js';
import { Tensor } from '../lib/tensor.js';
import { addModel } from './fixtures/models.js';
import { expectMistake, tensorrtNode } from './fixtures/run-cli.js';

const dir = mkdtempSync(join(tmpdir(), 'tensorrt-node-cli-io-'));
const engine = join(dir, 'add.engine');
const file = (name: string, bytes: Uint8Array | string) => {
  const path = join(dir, name);
  writeFileSync(path, bytes);
  return path;
};
const floats = (...values: number[]) => new Uint8Array(new Float32Array(values).buffer);

beforeAll(async () => {
  expect((await tensorrtNode('build', file('add.onnx', addModel()), '-o', engine)).code).toBe(0);
});

describe('run inputs and outputs', () => {
  it('loads a raw .bin and a .npy, and writes trtexec JSON and one .npy per output', async () => {
    const a = file('a.bin', floats(1, 2, 3, 4));
    const b = file('b.npy', writeNpy(new Tensor('float32', [0.5, 0.25, -1, 10], [4])));
    const json = join(dir, 'out.json');
    const outDir = join(dir, 'outputs', 'nested');
    const r = await tensorrtNode('run', engine, '--loadInputs', `a:${a},b:${b}`, '--exportOutput', json, '--save-outputs', outDir);
    expect(r.code).toBe(0);
    expect(r.stdout).toMatch(/y\tfloat32 \[4\]\tmin 1\.5000 +max 14\.000 +mean 4\.9375 +\[1\.5, 2\.25, 2, 14\]/);
    expect(JSON.parse(readFileSync(json, 'utf8'))).toEqual([{ name: 'y', dimensions: '4', values: [1.5, 2.25, 2, 14] }]);
    const saved = npyToTensor(readNpy(readFileSync(join(outDir, 'y.npy')), 'y.npy'));
    expect(saved.dims).toEqual([4]);
    expect(Array.from(saved.data as Float32Array)).toEqual([1.5, 2.25, 2, 14]);
    expect(r.stderr).toContain(`wrote ${json}`);
    // --input NAME=FILE is the same thing, one input per flag
    const again = await tensorrtNode('run', engine, '--input', `a=${a}`, '--loadInputs', `b:${b}`);
    expect(again.stdout).toMatch(/\[1\.5, 2\.25, 2, 14\]/);
  });

  it('draws seeded random values in --val-range', async () => {
    const json = join(dir, 'range.json');
    const r = await tensorrtNode('run', engine, '--val-range', 'a:2,3', '--val-range', '10,11', '--seed', '7', '--exportOutput', json);
    expect(r.code).toBe(0);
    const values = (JSON.parse(readFileSync(json, 'utf8')) as { values: number[] }[])[0]!.values;
    // a in [2, 3) plus b in [10, 11)
    for (const v of values) expect(v >= 12 && v < 14).toBe(true);
    const same = await tensorrtNode('run', engine, '--val-range', 'a:2,3', '--val-range', '10,11', '--seed', '7');
    const other = await tensorrtNode('run', engine, '--val-range', 'a:2,3', '--val-range', '10,11', '--seed', '8');
    const line = (s: string) => s.split('\n').find((l) => l.startsWith('y\t'));
    expect(line(same.stdout)).toBe(line(r.stdout));
    expect(line(other.stdout)).not.toBe(line(r.stdout));
  });

  it('explains inputs that do not fit, in one line naming the flag', async () => {
    const short = file('short.bin', floats(1, 2, 3));
    expect(expectMistake(await tensorrtNode('run', engine, '--loadInputs', `a:${short}`))).toMatch(/--loadInputs a: .*short\.bin has 12 bytes but 'a' \(float32 \[4\]\) needs 16; check --shapes/);
    const ints = file('ints.npy', writeNpy(new Tensor('int32', [1, 2, 3, 4], [4])));
    expect(expectMistake(await tensorrtNode('run', engine, '--loadInputs', `a:${ints}`))).toMatch(/ints\.npy holds int32 but 'a' is float32; save it as float32/);
    const shaped = file('shaped.npy', writeNpy(new Tensor('float32', [1, 2, 3, 4], [2, 2])));
    expect(expectMistake(await tensorrtNode('run', engine, '--loadInputs', `a:${shaped}`))).toMatch(/has shape \[2, 2\] but 'a' runs at float32 \[4\]/);
    const broken = file('broken.npy', 'not numpy');
    expect(expectMistake(await tensorrtNode('run', engine, '--loadInputs', `a:${broken}`))).toMatch(/broken\.npy is not a valid \.npy file/);
    expect(expectMistake(await tensorrtNode('run', engine, '--loadInputs', `c:${short}`))).toMatch(/--loadInputs: 'c' is not an input of this engine \(inputs: a, b\)/);
    expect(expectMistake(await tensorrtNode('run', engine, '--loadInputs', 'a'))).toMatch(/--loadInputs takes NAME:FILE/);
    expect(expectMistake(await tensorrtNode('run', engine, '--val-range', '3,1'))).toMatch(/--val-range takes MIN,MAX with MIN <= MAX/);
    expect(expectMistake(await tensorrtNode('run', engine, '--seed', 'x'))).toMatch(/--seed takes an integer/);
    expect(expectMistake(await tensorrtNode('run', engine, '--exportOutput', dir))).toMatch(/--exportOutput: .* is a directory/);
    expect(expectMistake(await tensorrtNode('run', engine, '--save-outputs', file('plain', 'x')))).toMatch(/--save-outputs: .* is not a directory/);
  });

  it('bench takes the same inputs', async () => {
    const a = file('a2.npy', writeNpy(new Tensor('float32', [1, 1, 1, 1], [4])));
    const r = await tensorrtNode('bench', engine, '--loadInputs', `a:${a}`, '--val-range', '0,1', '--duration', '0', '--warmUp', '0', '--iterations', '2');
    expect(r.code).toBe(0);
    expect(r.stdout).toMatch(/inputs: a float32 \[4\], b float32 \[4\]/);
    expect(expectMistake(await tensorrtNode('bench', engine, '--loadInputs', `a:${join(dir, 'missing.npy')}`))).toMatch(/--loadInputs a: cannot read .*missing\.npy \(no such file\)/);
  });
});
