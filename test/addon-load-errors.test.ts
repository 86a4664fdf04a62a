// An addon that is missing or does not load: `import`, `require` and the CLI say so in one
// BackendUnavailableError naming the platform, the cause and the fix. Each case runs a fresh
// process on a copy of the built package (dist/) whose prebuilds/ and build/ the test controls.
import { execFile } from 'node:child_process';
import { cpSync, mkdirSync, mkdtempSync, symlinkSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { fileURLToPath } from 'node:url';
import { promisify } from 'node:util';

import { describe, expect, it } from 'vitest';

const run = promisify(execFile);
const repo = fileURLToPath(new URL('..', import.meta.url));
const tuple = `${process.platform}-${process.arch}`;

/** A package folder with dist/, package.json and node_modules, and no addon of its own. */
function packageWithoutAddon(): string {
  const dir = mkdtempSync(join(tmpdir(), 'tensorrt-node-addon-'));
  cpSync(join(repo, 'dist'), join(dir, 'dist'), { recursive: true });
  cpSync(join(repo, 'package.json'), join(dir, 'package.json'));
  symlinkSync(join(repo, 'node_modules'), join(dir, 'node_modules'));
  return dir;
}

async function node(args: string[], env: NodeJS.ProcessEnv = {}) {
  const base = { ...process.env };
  delete base.TENSORRT_NODE_ADDON;
  try {
    const { stdout, stderr } = await run(process.execPath, args, { env: { ...base, ...env } });
    return { code: 0, stdout, stderr };
  } catch (error) {
    const e = error as { code: number; stdout: string; stderr: string };
    return { code: e.code, stdout: e.stdout, stderr: e.stderr };
  }
}

/** Loads the package at `dir` from ESM and from CommonJS; returns each caught error's fields. */
async function loadErrors(dir: string, env: NodeJS.ProcessEnv = {}) {
  const report = 'console.log(JSON.stringify({ name: e.name, code: e.code, message: e.message, cause: e.cause?.message }))';
  const esm = await node(['--input-type=module', '-e', `try { await import(${JSON.stringify(join(dir, 'dist/index.js'))}); console.log('{}') } catch (e) { ${report} }`], env);
  const cjs = await node(['-e', `try { require(${JSON.stringify(join(dir, 'dist/cjs/index.js'))}); console.log('{}') } catch (e) { ${report} }`], env);
  expect(esm.code, esm.stderr).toBe(0);
  expect(cjs.code, cjs.stderr).toBe(0);
  const errors = [esm.stdout, cjs.stdout].map((out) => JSON.parse(out) as { name: string; code: string; message: string; cause?: string });
  for (const error of errors) {
    expect(error.name).toBe('BackendUnavailableError');
    expect(error.code).toBe('ERR_TENSORRT_BACKEND_UNAVAILABLE');
    expect(error.message).toMatch(new RegExp(`^tensorrt-node's native addon could not be loaded on ${tuple}.*, Node ${process.version}\\.\\nCause: .*\\nFix: `));
  }
  // The same error both ways (the causes differ only in the require stack Node appends).
  expect(errors[1]!.message).toBe(errors[0]!.message);
  return errors[0]!;
}

describe('an addon that cannot load', () => {
  it('none built and no prebuild for this platform: names the prebuilds there are and `npm rebuild tensorrt-node`', async () => {
    const dir = packageWithoutAddon();
    mkdirSync(join(dir, 'prebuilds', 'linux-s390x'), { recursive: true });
    writeFileSync(join(dir, 'prebuilds', 'linux-s390x', 'tensorrt-node.napi.glibc.node'), '');
    const error = await loadErrors(dir);
    expect(error.message).toContain("Cause: no addon for this platform: the package's prebuilt addons are for linux-s390x (glibc), and none was compiled at install");
    expect(error.message).toContain('Fix: run `npm rebuild tensorrt-node` to compile it; that needs python3, make and a C++17 compiler');
    expect(error.cause).toMatch(/^No native build was found for platform=/);
  });

  it('a prebuild that does not load here (not a shared library): says so and how to compile one', async () => {
    const dir = packageWithoutAddon();
    mkdirSync(join(dir, 'prebuilds', tuple), { recursive: true });
    writeFileSync(join(dir, 'prebuilds', tuple, 'tensorrt-node.napi.glibc.node'), 'not an ELF file\n'.repeat(64));
    const error = await loadErrors(dir);
    expect(error.message).toMatch(/Cause: the addon was found but does not load here: .*tensorrt-node\.napi\.glibc\.node: invalid ELF header/);
    expect(error.message).toContain('Fix: compile it for this system with `npm rebuild tensorrt-node --build-from-source`');
  });

  it('TENSORRT_NODE_ADDON naming a file that does not load: names the variable', async () => {
    const error = await loadErrors(packageWithoutAddon(), { TENSORRT_NODE_ADDON: '/nonexistent/tensorrt_node.node' });
    expect(error.message).toContain('Cause: TENSORRT_NODE_ADDON=/nonexistent/tensorrt_node.node does not load: Cannot find module');
    expect(error.message).toContain('Fix: point TENSORRT_NODE_ADDON at a tensorrt_node.node built for this machine, or unset it');
  });

  it('the CLI prints the error, not a stack trace, and exits 1, whatever the command', async () => {
    const dir = packageWithoutAddon();
    for (const args of [['backends'], ['build', 'model.onnx', '-o', 'model.engine']]) {
      const result = await node([join(dir, 'dist/cli/main.js'), ...args]);
      expect(result.code).toBe(1);
      expect(result.stdout).toBe('');
      expect(result.stderr).toMatch(new RegExp(`^tensorrt-node: BackendUnavailableError: tensorrt-node's native addon could not be loaded on ${tuple}`));
      expect(result.stderr).toContain('Fix: run `npm rebuild tensorrt-node`');
      expect(result.stderr).not.toMatch(/^\s+at /m);
    }
  });
});
