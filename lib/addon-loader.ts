/**
 * Finds and loads the native addon, and when that fails, says why in terms a user can act on:
 * which platform this is, what went wrong (no build for it, or a build that does not load
 * here), and the fix. Nothing here needs the addon, so the CLI can call it before any module
 * that does.
 */
import { existsSync, readdirSync, readFileSync } from 'node:fs';
import { createRequire } from 'node:module';
import { delimiter, dirname, join } from 'node:path';
import { fileURLToPath } from 'node:url';

import { BackendUnavailableError } from './errors.js';

/** The package root (holds package.json, build/, prebuilds/, build-tensorrt/). */
export const packageRoot = findPackageRoot(dirname(fileURLToPath(import.meta.url)));

// Not named `require`: the CommonJS build has its own.
const requireHere = createRequire(import.meta.url);
const nodeGypBuild = requireHere('node-gyp-build') as (dir: string) => unknown;

// Kept once loaded: the CLI's check and native.ts both ask, and node-gyp-build searches the
// folders again on every call.
let addon: unknown;

/**
 * The addon, loaded from prebuilds/ or build/ by node-gyp-build; or, when
 * TENSORRT_NODE_ADDON names a .node file, that file: `npm run test:sanitize` points it at a
 * sanitizer build kept apart from build/, so the everyday build is never replaced.
 * @throws BackendUnavailableError naming the platform, the cause and the fix.
 */
export function loadAddon(): unknown {
  if (addon !== undefined) return addon;
  const override = process.env.TENSORRT_NODE_ADDON;
  try {
    addon = override ? requireHere(override) : nodeGypBuild(packageRoot);
    return addon;
  } catch (error) {
    throw addonLoadError(error, override);
  }
}

/**
 * The nearest folder up from `start` whose package.json has a name: this file runs from lib/
 * (tests), dist/ and dist/cjs/ (whose package.json only sets the module type).
 */
function findPackageRoot(start: string): string {
  for (let dir = start; ; dir = dirname(dir)) {
    try {
      if ((JSON.parse(readFileSync(join(dir, 'package.json'), 'utf8')) as { name?: unknown }).name) return dir;
    } catch {
      // No package.json here (or not JSON): look further up.
    }
    if (dirname(dir) === dir) return join(start, '..');
  }
}

function addonLoadError(error: unknown, override: string | undefined): BackendUnavailableError {
  // The first line: Node adds a require stack below, and error.cause keeps the whole message.
  const detail = (error instanceof Error ? error.message : String(error)).trim().split('\n')[0];
  const head = `tensorrt-node's native addon could not be loaded on ${describePlatform()}, Node ${process.version}.`;
  let cause: string;
  let fix: string;
  if (override) {
    cause = `TENSORRT_NODE_ADDON=${override} does not load: ${detail}`;
    fix = 'point TENSORRT_NODE_ADDON at a tensorrt_node.node built for this machine, or unset it to use the installed addon.';
  } else if (/No native build was found/.test(detail)) {
    const shipped = listPrebuilds();
    cause =
      `no addon for this platform: ${shipped.length ? `the package's prebuilt addons are for ${shipped.join(', ')}` : 'the package has no prebuilt addons'}, ` +
      'and none was compiled at install (its install script was skipped: --ignore-scripts, npm without ' +
      '`npm install-scripts approve tensorrt-node`, pnpm without allowed builds; or it failed).';
    fix = `run \`npm rebuild tensorrt-node\` to compile it; ${toolchainAdvice()}`;
  } else {
    cause = `the addon was found but does not load here: ${detail}`;
    fix = `compile it for this system with \`npm rebuild tensorrt-node --build-from-source\`; ${toolchainAdvice()}`;
  }
  return new BackendUnavailableError(`${head}\nCause: ${cause}\nFix: ${fix}`, [], { cause: error });
}

/** "linux-x64 (glibc 2.36)": what node-gyp-build matches prebuilds against. */
function describePlatform(): string {
  const header = (process.report?.getReport() as { header?: { glibcVersionRuntime?: string } } | undefined)?.header;
  const libc = process.platform !== 'linux' ? '' : header?.glibcVersionRuntime ? ` (glibc ${header.glibcVersionRuntime})` : ' (musl)';
  return `${process.platform}-${process.arch}${libc}`;
}

/** The prebuilds the package ships, as "linux-x64 (glibc)". */
function listPrebuilds(): string[] {
  const dir = join(packageRoot, 'prebuilds');
  const found: string[] = [];
  for (const tuple of readdirOrEmpty(dir)) {
    for (const file of readdirOrEmpty(join(dir, tuple)).filter((name) => name.endsWith('.node'))) {
      const libc = file.split('.').find((tag) => tag === 'glibc' || tag === 'musl');
      found.push(libc ? `${tuple} (${libc})` : tuple);
    }
  }
  return found;
}

function readdirOrEmpty(dir: string): string[] {
  try {
    return readdirSync(dir);
  } catch {
    return [];
  }
}

/** What compiling the addon needs (node-gyp: python3, make, a C++17 compiler) and which of it is missing. */
function toolchainAdvice(): string {
  const tools: [string, string[]][] = [
    ['python3', ['python3']],
    ['make', ['make']],
    ['a C++17 compiler', ['c++', 'g++', 'clang++']],
  ];
  const missing = tools.filter(([, names]) => !names.some(onPath)).map(([what]) => what);
  const needs = 'that needs python3, make and a C++17 compiler';
  return missing.length === 0
    ? `${needs} (all found here).`
    : `${needs}, and this machine lacks ${missing.join(', ')} (Debian/Ubuntu: apt-get install python3 make g++).`;
}

function onPath(command: string): boolean {
  return (process.env.PATH ?? '').split(delimiter).some((dir) => dir && existsSync(join(dir, command)));
}
