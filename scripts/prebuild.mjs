// `npm run prebuild` (and `npm pack`, through prepack): compile the addon for each platform
// the package ships a prebuild for, and put it where node-gyp-build looks:
// prebuilds/<platform>-<arch>/tensorrt-node.napi.glibc.node. linux-x64 is built with the host
// compiler, linux-arm64 with Debian's aarch64 cross compiler (g++-aarch64-linux-gnu).
//
// Each target builds in its own folder, build-prebuild/<platform>-<arch>/, whose sources are
// links to the package's: build/ (the everyday build, which node-gyp-build prefers) is never
// touched, and make recompiles only what changed since the last run, so packing again after
// a small change costs seconds. This machine's own target takes build/Release's addon instead
// while that is newer than every source.
//
// Usage: node scripts/prebuild.mjs [--arch x64,arm64]
import { spawnSync } from 'node:child_process';
import { copyFileSync, existsSync, mkdirSync, readdirSync, readFileSync, renameSync, rmSync, statSync, symlinkSync, utimesSync } from 'node:fs';
import { arch as hostArch, platform as hostPlatform } from 'node:os';
import { dirname, join } from 'node:path';
import { fileURLToPath } from 'node:url';
import { parseArgs } from 'node:util';

const root = join(dirname(fileURLToPath(import.meta.url)), '..');

// The targets the package ships. When a target is not this machine's, it is built with the
// compilers and binutils named by its GNU triplet, from the Debian/Ubuntu `package`.
const targets = {
  x64: { triplet: 'x86_64-linux-gnu', package: 'g++-x86-64-linux-gnu' },
  arm64: { triplet: 'aarch64-linux-gnu', package: 'g++-aarch64-linux-gnu' },
};

const { values } = parseArgs({ options: { arch: { type: 'string', default: Object.keys(targets).join(',') } } });
const archs = values.arch.split(',').filter(Boolean);
for (const arch of archs) {
  if (!(arch in targets)) fail(`unknown --arch ${arch}; the package builds ${Object.keys(targets).join(', ')}`);
}
if (hostPlatform() !== 'linux') fail(`prebuilds are made on Linux (this is ${hostPlatform()})`);

const nodeGyp = findNodeGyp();
for (const arch of archs) buildOne(arch);

function buildOne(arch) {
  const tuple = `linux-${arch}`;
  const started = Date.now();
  const stage = join(root, 'build-prebuild', tuple);
  // This machine's everyday build (npm install's) is the same compile: take it while no source
  // has changed since, which spares CI a second compile of the whole addon.
  const everyday = join(root, 'build', 'Release', 'tensorrt_node.node');
  if (arch === hostArch() && existsSync(everyday) && statSync(everyday).mtimeMs > newestSource()) {
    publish(everyday, tuple, 'strip', started, 'build/Release, newer than every source');
    return;
  }
  prepareStage(stage);

  const env = { ...process.env };
  let strip = 'strip';
  if (arch !== hostArch()) {
    const { triplet } = targets[arch];
    const cxx = `${triplet}-g++`;
    if (!onPath(cxx)) {
      fail(`building the ${tuple} prebuild needs the ${cxx} cross compiler (Debian/Ubuntu: apt-get install ${targets[arch].package}); or build only this machine's with --arch ${hostArch()}`);
    }
    Object.assign(env, { CC: `${triplet}-gcc`, CXX: cxx, LINK: cxx, AR: `${triplet}-ar` });
    strip = `${triplet}-strip`;
  }
  // JOBS=max compiles the sources in parallel (node-gyp builds one file at a time otherwise).
  const args = [nodeGyp, 'configure', 'build', '--release', `--arch=${arch}`, '-j', process.env.JOBS ?? 'max'];
  const nodedir = localNodeHeaders();
  if (nodedir) args.push(`--nodedir=${nodedir}`);
  console.log(`prebuild: ${tuple}: node-gyp in ${stage}`);
  run(process.execPath, args, { cwd: stage, env });

  publish(join(stage, 'build', 'Release', 'tensorrt_node.node'), tuple, strip, started, 'compiled');
}

// N-API makes one file fit every Node version; the tags say which libc it is for.
function publish(built, tuple, strip, started, how) {
  const outDir = join(root, 'prebuilds', tuple);
  mkdirSync(outDir, { recursive: true });
  const out = join(outDir, 'tensorrt-node.napi.glibc.node');
  const temporary = `${out}.${process.pid}.tmp`;
  copyFileSync(built, temporary);
  run(strip, ['--strip-unneeded', temporary], {});
  renameSync(temporary, out);
  const seconds = ((Date.now() - started) / 1000).toFixed(0);
  console.log(`prebuild: ${tuple}: ${out.slice(root.length + 1)} (${(statSync(out).size / 1e6).toFixed(1)} MB, ${how}, ${seconds} s)`);
}

/** The time of the newest file the addon is built from. */
function newestSource() {
  let newest = Math.max(statSync(join(root, 'binding.gyp')).mtimeMs, statSync(join(root, 'scripts', 'sim-sources.cjs')).mtimeMs);
  const walk = (dir) => {
    for (const entry of readdirSync(dir, { withFileTypes: true })) {
      const full = join(dir, entry.name);
      if (entry.isDirectory()) walk(full);
      else newest = Math.max(newest, statSync(full).mtimeMs);
    }
  };
  walk(join(root, 'native'));
  return newest;
}

// The stage holds links to the sources binding.gyp reads (relative paths, as in the package)
// and a copy of binding.gyp itself (gyp resolves source paths from the .gyp file's folder).
function prepareStage(stage) {
  mkdirSync(join(stage, 'scripts'), { recursive: true });
  for (const entry of ['native', 'node_modules', 'scripts/sim-sources.cjs']) {
    const link = join(stage, entry);
    rmSync(link, { force: true, recursive: false });
    symlinkSync(join(root, entry), link);
  }
  // Keep the copy's time so make does not regenerate the build files when nothing changed.
  const gyp = join(root, 'binding.gyp');
  const stagedGyp = join(stage, 'binding.gyp');
  if (!existsSync(stagedGyp) || readFileSync(stagedGyp, 'utf8') !== readFileSync(gyp, 'utf8')) {
    copyFileSync(gyp, stagedGyp);
    const { atime, mtime } = statSync(gyp);
    utimesSync(stagedGyp, atime, mtime);
  }
}

// npm gives its own node-gyp to the scripts it runs; outside npm, the one npm ships with.
function findNodeGyp() {
  const candidates = [
    process.env.npm_config_node_gyp,
    join(dirname(process.execPath), '..', 'lib', 'node_modules', 'npm', 'node_modules', 'node-gyp', 'bin', 'node-gyp.js'),
  ];
  const found = candidates.find((path) => path && existsSync(path));
  if (!found) fail('node-gyp not found: run this through npm (npm run prebuild), which provides it');
  return found;
}

// The headers of the running Node when they are installed next to it (Debian's nodejs-dev,
// the official tarballs): node-gyp would otherwise download them.
function localNodeHeaders() {
  if (process.env.npm_config_nodedir) return undefined;
  const prefix = join(dirname(process.execPath), '..');
  return existsSync(join(prefix, 'include', 'node', 'node_api.h')) ? prefix : undefined;
}

function onPath(command) {
  return spawnSync('sh', ['-c', `command -v ${command}`], { stdio: 'ignore' }).status === 0;
}

function run(command, args, options) {
  const result = spawnSync(command, args, { stdio: 'inherit', ...options });
  if (result.status !== 0) fail(`${command} ${args.join(' ')} failed (${result.error?.message ?? `exit ${result.status}`})`);
}

function fail(message) {
  console.error(`prebuild: ${message}`);
  process.exit(1);
}
