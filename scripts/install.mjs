// `npm install` step: make sure the addon exists (a prebuild, or a local node-gyp build), build
// the TensorRT adapter where TensorRT is installed, and say in one line which backends work.
// The sim backend is always there; a failed adapter build never fails the install.
// With a prebuild that loads here (prebuilds/, see scripts/prebuild.mjs) nothing is compiled
// and no compiler is needed; `npm rebuild tensorrt-node --build-from-source` compiles anyway.
import { spawnSync } from 'node:child_process';
import { existsSync } from 'node:fs';
import { createRequire } from 'node:module';
import { delimiter, dirname, join, relative } from 'node:path';
import { fileURLToPath } from 'node:url';

const root = join(dirname(fileURLToPath(import.meta.url)), '..');
const require = createRequire(import.meta.url);

// 1. The addon. node-gyp-build uses prebuilds/ when one matches this platform, else compiles.
// JOBS=max lets node-gyp compile the sources in parallel (it builds one file at a time otherwise).
const gypBuild = spawnSync(process.execPath, [require.resolve('node-gyp-build/bin.js')], {
  cwd: root,
  stdio: 'inherit',
  env: { ...process.env, JOBS: process.env.JOBS ?? 'max' },
});
if (gypBuild.status !== 0) {
  const missing = [
    ['python3', ['python3']],
    ['make', ['make']],
    ['a C++17 compiler', ['c++', 'g++', 'clang++']],
  ].filter(([, names]) => !names.some((name) => (process.env.PATH ?? '').split(delimiter).some((dir) => dir && existsSync(join(dir, name)))));
  console.error(
    `tensorrt-node: compiling the native addon for ${process.platform}-${process.arch} failed (see above). ` +
      `It needs python3, make and a C++17 compiler${missing.length ? `; missing here: ${missing.map(([what]) => what).join(', ')} (Debian/Ubuntu: apt-get install python3 make g++)` : ''}.`,
  );
  process.exit(gypBuild.status ?? 1);
}

// 2. The TensorRT adapter, where TensorRT is found.
let adapter = { built: false, reason: 'adapter build script missing' };
const adapterScript = join(root, 'scripts', 'build-adapter.mjs');
if (existsSync(adapterScript)) {
  try {
    const { buildAdapter } = await import(adapterScript);
    adapter = await buildAdapter({ quiet: true });
  } catch (error) {
    adapter = { built: false, reason: `adapter build failed: ${error.message}` };
  }
}

// 3. One line: what works, and why TensorRT does not when it does not.
const addonPath = require('node-gyp-build').resolve(root);
const addon = require(addonPath);
const available = [`sim ${addon.probeBackend('sim', '').version}`];
let note = '';
if (adapter.built) {
  const info = addon.probeBackend('tensorrt', adapter.path);
  if (info.available) available.push(`tensorrt ${info.version}`);
  else note = `tensorrt built but cannot run here: ${info.reason.split('\n')[0]}`;
} else {
  note = `tensorrt not built: ${adapter.reason.split('\n')[0]}`;
}
const addonFrom = relative(root, addonPath).startsWith('prebuilds') ? `prebuilt (${relative(join(root, 'prebuilds'), dirname(addonPath))})` : 'compiled here';
console.log(`tensorrt-node: backends available: ${available.join(', ')}${note ? ` (${note})` : ''}; addon: ${addonFrom}`);
