// examples/ as a user runs them: compiled with tsc against the built declarations, then each
// run with node on the sim, its printed results checked against values worked out by hand.
// The Electron app is only type-checked, against Electron's own types (installed into
// examples/electron with scripts skipped: its binary is never downloaded, and there is no
// display to run it on).
import { execFile } from 'node:child_process';
import { existsSync, mkdtempSync, readdirSync } from 'node:fs';
import { createRequire } from 'node:module';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { promisify } from 'node:util';

import { beforeAll, describe, expect, it } from 'vitest';

import { assertDeclarationsFresh, compile, root } from './fixtures/typescript.js';

const run = promisify(execFile);
// Not build/examples, where `npm run demo` compiles them: the README test runs the demo.
const built = join(root, 'build', 'examples-test');
const cwd = mkdtempSync(join(tmpdir(), 'tensorrt-node-examples-'));

async function example(name: string, ...args: string[]): Promise<string> {
  const { stdout } = await run(process.execPath, [join(built, `${name}.js`), ...args], {
    cwd,
    env: { ...process.env, TENSORRT_NODE_BACKEND: 'sim', TMPDIR: cwd },
    timeout: 120_000,
  });
  return stdout;
}

describe('examples', () => {
  beforeAll(async () => {
    assertDeclarationsFresh();
    const { code, output } = await compile(['-p', 'examples/tsconfig.json', '--outDir', built]);
    expect(output).toBe('');
    expect(code).toBe(0);
  }, 120_000);

  it('quickstart: relu(x·W) for x = [[1, 2, 3], [-1, -2, -3]], W = [[1, 0], [0, 1], [1, 1]]', async () => {
    // Row 1: [1 + 3, 2 + 3] = [4, 5]; row 2: [-4, -5], which relu makes [0, 0].
    expect(await example('quickstart')).toMatch(/^y float32 \[2,2\] = \[ 4, 5, 0, 0 \]$/m);
    expect(existsSync(join(cwd, 'quickstart.engine'))).toBe(true);
  });

  it('dynamic-shapes: every batch in the profile runs, softmax rows sum to 1, and a batch past max is refused', async () => {
    const out = await example('dynamic-shapes');
    for (const batch of [1, 4, 16]) {
      expect(out).toMatch(new RegExp(`^batch ${batch}: y \\[${batch},4\\], row sums (1\\.0000 ?){${batch}}$`, 'm'));
    }
    expect(out).toMatch(/^x fixed to \[ 2, 8 \]$/m);
    expect(out).toMatch(/^batch 32 refused: input 'x' dimension 0 is 32, outside optimization profile 0's range \[1, 16\]/m);
  });

  it('worker-threads: each worker k computes x·W for x = [k, 1, 2, 3], which is [k + 2, 4]', async () => {
    const out = await example('worker-threads');
    for (const k of [0, 1, 2]) expect(out).toMatch(new RegExp(`^worker ${k}: y = \\[${k + 2},4\\]$`, 'm'));
  });

  it('int8-calibration: calibrates from a directory, rebuilds from the cache, and stays near float32', async () => {
    const out = await example('int8-calibration');
    expect(out).toMatch(/^wrote 16 calibration batches to /m);
    expect(out).toMatch(/^rebuilt from the cache: \d+ bytes$/m);
    const [, error, agree, total] = /max abs error ([\d.]+), top-1 agreement (\d+)\/(\d+)/.exec(out) ?? [];
    // Softmax outputs lie in [0, 1]; per-tensor int8 keeps them within a few hundredths here
    // (test/int8.test.ts holds the quantizer itself to onnxruntime's numbers).
    expect(Number(error)).toBeLessThan(0.05);
    expect(Number(agree)).toBeGreaterThanOrEqual(0.9 * Number(total));
  });

  it('make-mlp-model writes the model the demo builds', async () => {
    const out = await example('make-mlp-model', join(cwd, 'models', 'mlp.onnx'));
    expect(out).toMatch(/^wrote .*mlp\.onnx \(\d+ bytes\)$/m);
    expect(existsSync(join(cwd, 'models', 'mlp.onnx'))).toBe(true);
  });

  it('every other example runs without arguments', async () => {
    const checked = new Set(['quickstart', 'dynamic-shapes', 'worker-threads', 'int8-calibration', 'make-mlp-model']);
    const others = readdirSync(join(root, 'examples')).filter((f) => f.endsWith('.ts') && !checked.has(f.slice(0, -3)));
    for (const file of others) await example(file.slice(0, -3));
    expect(others).toContain('mlp-model.ts');
  });

  it('the Electron app type-checks against Electron', async () => {
    // Electron's types live in the example's own package.json, not in the root's
    // devDependencies: Electron's install script downloads its binary, which a plain
    // `npm install` of this repository must never need. --ignore-scripts skips it.
    const exampleDir = join(root, 'examples', 'electron');
    const from = createRequire(join(exampleDir, 'main.ts'));
    const resolveTypes = (): string | undefined => {
      try {
        return from.resolve('electron/electron.d.ts');
      } catch {
        return undefined;
      }
    };
    if (!resolveTypes()) {
      await run('npm', ['install', '--ignore-scripts', '--no-audit', '--no-fund', '--no-package-lock'], { cwd: exampleDir, timeout: 300_000 });
    }
    const types = resolveTypes();
    if (!types) throw new Error("electron's types are not installed: run `npm install --ignore-scripts` in examples/electron");
    expect(types).toMatch(/electron\.d\.ts$/);
    const { code, output } = await compile(['-p', 'examples/electron/tsconfig.json', '--noEmit']);
    expect(output).toBe('');
    expect(code).toBe(0);
  }, 360_000);
});
