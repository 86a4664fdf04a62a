// What every command does with a user's mistakes (exit 2, one line naming the flag and the fix,
// no stack trace) and with failures (exit 1), and the flags every command takes: --help with
// an example, --verbose, --quiet, --version; build progress as plain lines off a terminal.
import { existsSync, mkdirSync, mkdtempSync, readFileSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';

import { beforeAll, describe, expect, it } from 'vitest';

import { mlpModel, randomFloats } from './fixtures/models.js';
import { expectMistake, tensorrtNode } from './fixtures/run-cli.js';

const dir = mkdtempSync(join(tmpdir(), 'tensorrt-node-cli-mistakes-'));
const model = join(dir, 'mlp.onnx');
const engine = join(dir, 'mlp.engine');

beforeAll(() => {
  writeFileSync(model, mlpModel());
});

describe('mistakes on the command line', () => {
  it('checks the output path before building: a missing directory, or a directory', async () => {
    const missing = await tensorrtNode('build', model, '-o', '/nonexistent/x.engine', '--shapes', 'x:4x8');
    expect(expectMistake(missing)).toBe(
      "tensorrt-node build: -o/--output: the directory /nonexistent of /nonexistent/x.engine does not exist; create it first or choose another path (tensorrt-node build --help)",
    );
    // progress goes to stderr as plain lines here: none means the build never began
    expect(missing.stderr).not.toMatch(/Building engine/);
    const directory = await tensorrtNode('build', model, '-o', dir, '--shapes', 'x:4x8');
    expect(expectMistake(directory)).toContain(`-o/--output: ${dir} is a directory; give a file path, e.g. ${join(dir, 'model.engine')}`);
    expect(directory.stderr).not.toMatch(/Building engine/);
  });

  it('explains a missing --shapes in flags', async () => {
    const line = expectMistake(await tensorrtNode('build', model, '-o', engine));
    expect(line).toMatch(/input 'x' has dynamic dimensions \[batch, 8\]: give its shape with --shapes x:1x8, or a range with --min-shapes, --opt-shapes and --max-shapes/);
    expect(line).not.toMatch(/addOptimizationProfile/);
    expect(existsSync(engine)).toBe(false);
  });

  it('reports files that are not there, without a stack trace', async () => {
    expect((await tensorrtNode('build', model, '-o', engine, '--min-shapes', 'x:1x8', '--opt-shapes', 'x:4x8', '--max-shapes', 'x:8x8')).code).toBe(0);
    expect(expectMistake(await tensorrtNode('run', engine, '--input', `x=${join(dir, 'missing.bin')}`))).toMatch(/--input x: cannot read .*missing\.bin \(no such file\); give the path of an existing file/);
    expect(expectMistake(await tensorrtNode('run', join(dir, 'missing.engine')))).toMatch(/MODEL\.engine: cannot read .*missing\.engine \(no such file\)/);
    expect(expectMistake(await tensorrtNode('bench', dir))).toMatch(/MODEL\.engine: cannot read .* \(it is a directory\)/);
    expect(expectMistake(await tensorrtNode('build', join(dir, 'missing.onnx'), '-o', engine))).toMatch(/MODEL\.onnx: cannot read .*missing\.onnx \(no such file\)/);
  });

  it('treats shapes, flags and values the user gave as mistakes (exit 2)', async () => {
    expect(expectMistake(await tensorrtNode('run', engine, '--shapes', 'x:9x8'))).toMatch(/--shapes x:9x8: input 'x' dimension 0 is 9, outside optimization profile 0's range \[1, 8\]/);
    expect(expectMistake(await tensorrtNode('bench', engine, '--shapes', 'x:9x8'))).toMatch(/--shapes x:9x8: /);
    expect(expectMistake(await tensorrtNode('run', engine, '--shapes', 'x=4x8'))).toMatch(/Expected name:AxBxC for an entry of --shapes but received 'x=4x8'/);
    expect(expectMistake(await tensorrtNode('run', engine, '--profile', '3'))).toMatch(/optimization profile/);
    expect(expectMistake(await tensorrtNode('run', engine, '--frobnicate'))).toMatch(/^tensorrt-node run: Unknown option '--frobnicate'/);
    expect(expectMistake(await tensorrtNode('frobnicate'))).toMatch(/unknown command 'frobnicate'; the commands are build, run, bench/);
    expect(expectMistake(await tensorrtNode('run', engine, '--verbose', '--quiet'))).toMatch(/choose one of --verbose and --quiet/);
    expect(expectMistake(await tensorrtNode('run', engine, engine))).toMatch(/expected exactly one engine file, got 2/);
  });

  it('exits 1 on a failure that is not a mistake in the command, in one line', async () => {
    const corrupt = join(dir, 'corrupt.engine');
    writeFileSync(corrupt, 'TNRTSIM\0garbage');
    const r = await tensorrtNode('run', corrupt);
    expect(r.code).toBe(1);
    expect(r.stderr).toMatch(/^tensorrt-node run: EngineInvalidError: /);
    expect(r.stderr).not.toMatch(/^\s+at /m);
  });
});

describe('flags of every command', () => {
  it('has --help with an example on every command', async () => {
    for (const command of ['build', 'run', 'bench', 'quantize', 'backends']) {
      const help = await tensorrtNode(command, '--help');
      expect(help.code).toBe(0);
      expect(help.stdout).toMatch(new RegExp(`^Usage: tensorrt-node ${command}`));
      expect(help.stdout).toMatch(new RegExp(`\\nExample:\\n  tensorrt-node ${command}\\b`));
    }
    const top = await tensorrtNode('--help');
    expect(top.stdout).toMatch(/--verbose[\s\S]*--quiet[\s\S]*--version/);
  });

  it('prints the version and the backends with --version', async () => {
    const pkg = JSON.parse(readFileSync(new URL('../package.json', import.meta.url), 'utf8')) as { version: string };
    const r = await tensorrtNode('--version');
    expect(r.code).toBe(0);
    expect(r.stdout).toMatch(new RegExp(`^tensorrt-node ${pkg.version.replace(/\./g, '\\.')}\\n  sim: \\d+\\.\\d+\\.\\d+\\n  tensorrt: `));
    expect((await tensorrtNode('run', '--version')).stdout).toBe(r.stdout);
  });

  it('shows build progress as plain lines off a terminal, the backend log with --verbose, and little with --quiet', async () => {
    const plain = await tensorrtNode('build', model, '-o', join(dir, 'a.engine'), '--shapes', 'x:2x8');
    expect(plain.code).toBe(0);
    expect(plain.stderr).toMatch(/^Building engine: started \(6 steps\)  \d+\.\ds\n(Building engine: \d\/6  \d+\.\ds\n)*Building engine: done  \d+\.\ds\n$/);
    const verbose = await tensorrtNode('build', model, '-o', join(dir, 'b.engine'), '--shapes', 'x:2x8', '--verbose');
    expect(verbose.stderr).toMatch(/\[tensorrt-node\] VERBOSE: \[sim\] layer 0: /);
    const quiet = await tensorrtNode('--quiet', 'build', model, '-o', join(dir, 'c.engine'), '--shapes', 'x:2x8');
    expect(quiet.code).toBe(0);
    expect(quiet.stderr).toBe('');
    expect(quiet.stdout).toMatch(/^built /);
    // INT8: calibration reports each batch it reads (10 batch files: 8 calibrate, 2 are held out)
    const calib = join(dir, 'calib');
    mkdirSync(calib);
    for (let b = 0; b < 10; b++) writeFileSync(join(calib, `batch${b}.bin`), new Uint8Array(randomFloats(2 * 8, 40 + b).buffer));
    const int8 = await tensorrtNode('build', model, '-o', join(dir, 'i8.engine'), '--int8', '--calib-data', calib, '--shapes', 'x:2x8', '--no-accuracy');
    expect(int8.code).toBe(0);
    expect(int8.stderr).toMatch(/^Calibrating: started \(8 steps\)  \d+\.\ds\nCalibrating: 2\/8  [^\n]*\nCalibrating: 4\/8  [^\n]*\nCalibrating: 6\/8  [^\n]*\nCalibrating: done  /);
    const quantize = await tensorrtNode('quantize', model, '-o', '/nonexistent/q.onnx', '--calib-data', calib, '--shapes', 'x:2x8');
    expect(expectMistake(quantize)).toMatch(/-o\/--output: the directory \/nonexistent of \/nonexistent\/q\.onnx does not exist/);
    const json = join(dir, 'quiet.json');
    const run = await tensorrtNode('run', join(dir, 'c.engine'), '--exportOutput', json, '--quiet');
    expect(run.stderr).toBe('');
    expect(existsSync(json)).toBe(true);
  });
});
