// The package as users get it: `npm pack`, then the tarball installed into empty projects, from
// the npm cache where it can (--prefer-offline: only the npm registry is asked for the rest),
// with install scripts and without, and with a PATH that holds
// node, npm and sh but no compiler, make or python3. Slow (packing builds the prebuilds), so it
// runs only with TENSORRT_NODE_PACK_TEST=1: `npm run test:package`.
import { execFile } from 'node:child_process';
import { mkdirSync, mkdtempSync, readdirSync, realpathSync, rmSync, symlinkSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { dirname, join } from 'node:path';
import { fileURLToPath } from 'node:url';
import { promisify } from 'node:util';

import { beforeAll, describe, expect, it } from 'vitest';

const execFileAsync = promisify(execFile);
const repo = join(dirname(fileURLToPath(import.meta.url)), '..');
const enabled = process.env.TENSORRT_NODE_PACK_TEST === '1';
const tuple = `${process.platform}-${process.arch}`;

interface Result {
  code: number;
  stdout: string;
  stderr: string;
  seconds: number;
}

/** Runs a command to completion; never throws for a non-zero exit (the tests look at `code`). */
async function sh(command: string, args: string[], cwd: string, env: NodeJS.ProcessEnv): Promise<Result> {
  const started = performance.now();
  try {
    const { stdout, stderr } = await execFileAsync(command, args, { cwd, env, maxBuffer: 64 << 20 });
    return { code: 0, stdout, stderr, seconds: (performance.now() - started) / 1000 };
  } catch (error) {
    const e = error as { code?: number; stdout?: string; stderr?: string };
    return { code: typeof e.code === 'number' ? e.code : 1, stdout: e.stdout ?? '', stderr: e.stderr ?? String(error), seconds: (performance.now() - started) / 1000 };
  }
}

/**
 * The environment of a user's shell with no build tools: PATH is one folder with node, npm, npx
 * and sh (npm runs scripts through sh). npm's own variables from `npm run test:package` are
 * dropped, so the inner npm commands see only the project they run in.
 */
function bareEnvironment(binDir: string): NodeJS.ProcessEnv {
  mkdirSync(binDir, { recursive: true });
  const npmCli = realpathSync(join(dirname(process.execPath), '..', 'lib', 'node_modules', 'npm', 'bin', 'npm-cli.js'));
  const links: Record<string, string> = {
    node: process.execPath,
    npm: npmCli,
    npx: join(dirname(npmCli), 'npx-cli.js'),
    sh: '/bin/sh',
  };
  for (const [name, target] of Object.entries(links)) symlinkSync(target, join(binDir, name));
  const env: NodeJS.ProcessEnv = {};
  for (const [key, value] of Object.entries(process.env)) {
    if (!/^npm_/i.test(key) && !key.startsWith('TENSORRT_NODE_') && !key.startsWith('VITEST')) env[key] = value;
  }
  return { ...env, PATH: binDir, TENSORRT_NODE_BACKEND: 'sim', NODE_OPTIONS: '' };
}

// y = relu(x·W + b) with x: [batch, 3], W: [3, 2], b: [2]; the expected values are worked out
// by hand in the test.
const MAKE_MODEL = `
import { writeFileSync } from 'node:fs';
import { makeModel, makeTensor } from 'tensorrt-node/onnx';
writeFileSync('tiny.onnx', makeModel({
  inputs: [{ name: 'x', dtype: 'float32', shape: ['batch', 3] }],
  outputs: [{ name: 'y', dtype: 'float32', shape: ['batch', 2] }],
  initializers: [makeTensor('W', 'float32', [3, 2], [1, -1, 2, 0, -1, 3]), makeTensor('b', 'float32', [2], [0.5, -4])],
  nodes: [
    { op: 'MatMul', inputs: ['x', 'W'], outputs: ['h'] },
    { op: 'Add', inputs: ['h', 'b'], outputs: ['z'] },
    { op: 'Relu', inputs: ['z'], outputs: ['y'] },
  ],
}));
`;
const RUN_ENGINE = `
const { readFileSync } = require('node:fs');
const { InferenceSession, Tensor } = require('tensorrt-node');
(async () => {
  const session = await InferenceSession.create(readFileSync('tiny.engine'));
  const out = await session.run({ x: new Tensor('float32', new Float32Array([1, 2, 3, -1, 0, 1]), [2, 3]) });
  console.log(JSON.stringify({ dims: out.y.dims, y: Array.from(out.y.data) }));
  session.dispose();
})();
`;
// TypeScript users of either module system, against the package's declarations.
const TYPED_CJS = `
import trt = require('tensorrt-node');
import onnx = require('tensorrt-node/onnx');
export async function run(): Promise<Float32Array> {
  const model: Uint8Array = onnx.makeModel({ inputs: [], outputs: [], nodes: [] });
  const session = await trt.InferenceSession.create(model);
  const out = await session.run({ x: new trt.Tensor('float32', new Float32Array(4), [2, 2]) });
  const y = out['y']!;
  if (y.dtype !== 'float32') throw new trt.DataTypeError('not float32');
  return y.data;
}
`;
const TYPED_ESM = `
import { InferenceSession, Tensor } from 'tensorrt-node';
import { makeTensor } from 'tensorrt-node/onnx';
export const tensor: Tensor<'int64'> = new Tensor('int64', new BigInt64Array(2), [2]);
export const proto = makeTensor('w', 'float32', [1], [1]);
export type Session = InferenceSession;
`;
// What each module system sees: the export names of both entry points.
const LIST_ESM = `
const main = await import('tensorrt-node');
const onnx = await import('tensorrt-node/onnx');
console.log(JSON.stringify({ main: Object.keys(main).sort(), onnx: Object.keys(onnx).sort() }));
`;
const LIST_CJS = `
const main = require('tensorrt-node');
const onnx = require('tensorrt-node/onnx');
console.log(JSON.stringify({ main: Object.keys(main).filter((k) => k !== '__esModule').sort(), onnx: Object.keys(onnx).filter((k) => k !== '__esModule').sort() }));
`;
const LOAD_ERROR_ESM = `
try { await import('tensorrt-node'); console.log('loaded'); }
catch (e) { console.log(JSON.stringify({ name: e.name, code: e.code, message: e.message })); }
`;
const LOAD_ERROR_CJS = `
try { require('tensorrt-node'); console.log('loaded'); }
catch (e) { console.log(JSON.stringify({ name: e.name, code: e.code, message: e.message })); }
`;

describe.skipIf(!enabled)('the packed package installed into an empty project', () => {
  let work: string;
  let env: NodeJS.ProcessEnv;
  let tarball: string;
  const installs: Record<string, Result> = {};

  async function newProject(name: string, ignoreScripts: boolean): Promise<string> {
    const dir = join(work, name);
    mkdirSync(dir);
    // npm 11.19+ runs a dependency's install script only where allowScripts approves it.
    const manifest = { name, version: '1.0.0', private: true, ...(ignoreScripts ? {} : { allowScripts: { 'tensorrt-node': true } }) };
    writeFileSync(join(dir, 'package.json'), `${JSON.stringify(manifest, null, 2)}\n`);
    const args = ['install', tarball, '--prefer-offline', '--no-audit', '--no-fund', '--foreground-scripts'];
    if (ignoreScripts) args.push('--ignore-scripts');
    installs[name] = await sh('npm', args, dir, env);
    return dir;
  }

  const node = (dir: string, ...args: string[]) => sh('node', args, dir, env);

  let withScripts: string;
  let withoutScripts: string;

  beforeAll(async () => {
    work = mkdtempSync(join(tmpdir(), 'tensorrt-node-pack-'));
    env = bareEnvironment(join(work, 'bin'));
    // Packing runs prepack (the prebuilds, scripts/prebuild.mjs) and prepare (the TypeScript),
    // with this machine's tools: the repository's own environment, not the bare one.
    const packed = await sh('npm', ['pack', '--json', '--pack-destination', work], repo, process.env);
    expect(packed.code, packed.stderr).toBe(0);
    const [info] = JSON.parse(packed.stdout.slice(packed.stdout.indexOf('['))) as { filename: string; size: number; unpackedSize: number; files: { path: string }[] }[];
    tarball = join(work, info!.filename);
    const files = info!.files.map((f) => f.path);
    for (const shipped of ['LICENSE', 'CHANGELOG.md', 'dist/index.js', 'dist/cjs/index.js', 'dist/cjs/package.json', 'prebuilds/linux-x64/tensorrt-node.napi.glibc.node', 'prebuilds/linux-arm64/tensorrt-node.napi.glibc.node']) {
      expect(files, `the tarball lacks ${shipped}`).toContain(shipped);
    }
    expect(files.some((f) => f.startsWith('build/') || f.startsWith('build-prebuild/'))).toBe(false);
    console.log(`package-install: ${info!.filename}: ${(info!.size / 1e6).toFixed(2)} MB packed, ${(info!.unpackedSize / 1e6).toFixed(2)} MB unpacked, ${files.length} files; npm pack took ${packed.seconds.toFixed(1)} s`);

    withScripts = await newProject('with-scripts', false);
    withoutScripts = await newProject('without-scripts', true);
    for (const [name, result] of Object.entries(installs)) {
      const backends = result.stdout.split('\n').find((line) => line.startsWith('tensorrt-node: backends available'));
      console.log(`package-install: npm install (${name}) took ${result.seconds.toFixed(1)} s${backends ? `; it printed: ${backends}` : ''}`);
    }
  }, 3_600_000);

  it('installs with scripts from the prebuild, compiling nothing, and prints the backends line', () => {
    const install = installs['with-scripts']!;
    expect(install.code, install.stderr).toBe(0);
    expect(install.stdout).toMatch(new RegExp(`tensorrt-node: backends available: sim \\S+.*; addon: prebuilt \\(${tuple}\\)`));
    // node-gyp never ran: no build folder, and no compiler could have been found anyway.
    expect(readdirSync(join(withScripts, 'node_modules', 'tensorrt-node'))).not.toContain('build');
    expect(install.seconds).toBeLessThan(60);
  });

  it('installs with --ignore-scripts', () => {
    const install = installs['without-scripts']!;
    expect(install.code, install.stderr).toBe(0);
    expect(install.stdout).not.toMatch(/backends available/);
  });

  it('gives the same API to import and require, tensorrt-node/onnx included', async () => {
    for (const dir of [withScripts, withoutScripts]) {
      const esm = await node(dir, '--input-type=module', '-e', LIST_ESM);
      expect(esm.code, esm.stderr).toBe(0);
      const cjs = await node(dir, '-e', LIST_CJS);
      expect(cjs.code, cjs.stderr).toBe(0);
      const esmKeys = JSON.parse(esm.stdout) as { main: string[]; onnx: string[] };
      expect(esmKeys.main).toContain('InferenceSession');
      expect(esmKeys.onnx).toContain('makeModel');
      expect(JSON.parse(cjs.stdout)).toEqual(esmKeys);
      // Node versions that cannot require() an ES module get the CommonJS build all the same.
      if (process.allowedNodeEnvironmentFlags.has('--no-experimental-require-module')) {
        const old = await node(dir, '--no-experimental-require-module', '-e', LIST_CJS);
        expect(old.code, old.stderr).toBe(0);
        expect(JSON.parse(old.stdout)).toEqual(esmKeys);
      }
    }
  });

  it('types the API for TypeScript in both module systems (no skipLibCheck)', async () => {
    writeFileSync(join(withoutScripts, 'typed.cts'), TYPED_CJS);
    writeFileSync(join(withoutScripts, 'typed.mts'), TYPED_ESM);
    const tsc = join(repo, 'node_modules', 'typescript', 'bin', 'tsc');
    const typeRoots = join(repo, 'node_modules', '@types');
    const checked = await node(withoutScripts, tsc, '--noEmit', '--strict', '--module', 'node16', '--target', 'es2022', '--types', 'node', '--typeRoots', typeRoots, 'typed.cts', 'typed.mts');
    expect(checked.code, checked.stdout + checked.stderr).toBe(0);
  });

  it('runs the demo: a model made with tensorrt-node/onnx, built and run by the CLI, then run from CommonJS', async () => {
    for (const dir of [withScripts, withoutScripts]) {
      writeFileSync(join(dir, 'make-model.mjs'), MAKE_MODEL);
      writeFileSync(join(dir, 'run-engine.cjs'), RUN_ENGINE);
      const made = await node(dir, 'make-model.mjs');
      expect(made.code, made.stderr).toBe(0);
      const built = await sh('npx', ['tensorrt-node', 'build', 'tiny.onnx', '-o', 'tiny.engine', '--min-shapes', 'x:1x3', '--opt-shapes', 'x:2x3', '--max-shapes', 'x:4x3'], dir, env);
      expect(built.code, built.stderr).toBe(0);
      expect(built.stdout).toMatch(/built tiny\.engine \(\d+ bytes, backend sim, fp32\)/);
      const cliRun = await sh('npx', ['tensorrt-node', 'run', 'tiny.engine', '--shapes', 'x:2x3'], dir, env);
      expect(cliRun.code, cliRun.stderr).toBe(0);
      expect(cliRun.stdout).toMatch(/y\tfloat32 \[2, 2\]/);
      const ran = await node(dir, 'run-engine.cjs');
      expect(ran.code, ran.stderr).toBe(0);
      // Row 1: x = [1, 2, 3]: x·W = [1+4-3, -1+0+9] = [2, 8]; + b = [2.5, 4]; relu keeps both.
      // Row 2: x = [-1, 0, 1]: x·W = [-1+0-1, 1+0+3] = [-2, 4]; + b = [-1.5, 0]; relu -> [0, 0].
      expect(JSON.parse(ran.stdout)).toEqual({ dims: [2, 2], y: [2.5, 4, 0, 0] });
    }
  });

  it('without a prebuild and without a build, import, require and the CLI give the named BackendUnavailableError', async () => {
    rmSync(join(withoutScripts, 'node_modules', 'tensorrt-node', 'prebuilds'), { recursive: true });
    for (const [flag, script] of [
      ['--input-type=module', LOAD_ERROR_ESM],
      ['--input-type=commonjs', LOAD_ERROR_CJS],
    ] as const) {
      const loaded = await node(withoutScripts, flag, '-e', script);
      expect(loaded.code, loaded.stderr).toBe(0);
      const error = JSON.parse(loaded.stdout) as { name: string; code: string; message: string };
      expect(error.name).toBe('BackendUnavailableError');
      expect(error.code).toBe('ERR_TENSORRT_BACKEND_UNAVAILABLE');
      expect(error.message).toContain(`could not be loaded on ${tuple}`);
      expect(error.message).toMatch(/Cause: no addon for this platform: the package has no prebuilt addons, and none was compiled at install/);
      expect(error.message).toContain('Fix: run `npm rebuild tensorrt-node`');
      expect(error.message).toContain('this machine lacks python3, make, a C++17 compiler');
    }
    const cli = await sh('npx', ['tensorrt-node', 'backends'], withoutScripts, env);
    expect(cli.code).toBe(1);
    expect(cli.stderr).toMatch(/^tensorrt-node: BackendUnavailableError: tensorrt-node's native addon could not be loaded/);
    expect(cli.stderr).not.toMatch(/^\s+at /m);
  });

  it('without a prebuild, the install compiles, and says which build tools are missing when it cannot', async () => {
    const rebuilt = await sh('npm', ['rebuild', 'tensorrt-node', '--foreground-scripts'], withoutScripts, env);
    expect(rebuilt.code).not.toBe(0);
    expect(rebuilt.stderr).toMatch(new RegExp(`compiling the native addon for ${tuple} failed .*missing here: python3, make, a C\\+\\+17 compiler`));
  });
});
