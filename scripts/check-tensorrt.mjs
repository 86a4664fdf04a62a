#!/usr/bin/env node
// Compile check for the TensorRT adapter, for machines without TensorRT or a GPU: compiles
// every native/tensorrt/*.cc, and the addon's loader that opens the adapter
// (native/backend/loader.cc), with -fsyntax-only against a directory of TensorRT headers (the
// public NVIDIA/TensorRT repository's include/ works) and the CUDA headers, for the host and,
// with --target, cross-compiled for aarch64 (Jetson) and Windows x64.
//
//   npm run check:tensorrt -- <TensorRT include dir> [<more include dirs>] [--target host|aarch64|win64]
//   TENSORRT_ROOT=/opt/tensorrt npm run check:tensorrt
//   npm run check:tensorrt -- v10.3.0/include --target aarch64,win64   # Jetson, Windows
//
// Extra directories serve releases whose repository tag lacks NvOnnxParser.h (10.0-10.13
// kept it in onnx-tensorrt): `-- v10.0.0/include v10.16/include` takes the parser header from
// the second directory.
//
// Warnings are errors, except deprecations: the adapter builds against several TensorRT
// releases, and one release's deprecated call is sometimes the only one another release has.
// TensorRT and CUDA headers are passed with -isystem, as CMake does for imported targets: their
// own code has unused parameters that -Wextra would flag, and those are not ours to fix.
import { spawnSync } from 'node:child_process';
import { existsSync, readdirSync, readFileSync } from 'node:fs';
import path from 'node:path';
import { fileURLToPath } from 'node:url';

const root = path.resolve(path.dirname(fileURLToPath(import.meta.url)), '..');
const sourceDir = path.join(root, 'native', 'tensorrt');

function usage(message) {
  console.error(`check:tensorrt: ${message}
usage: npm run check:tensorrt -- <TensorRT include dir> [<more include dirs>] [--target host|aarch64|win64[,...]]
       (or set TENSORRT_ROOT to a TensorRT install; its include/ is used)
--target aarch64 cross-compiles with aarch64-linux-gnu-g++ (Jetson: use TensorRT 10.3 headers, as JetPack 6
ships); --target win64 with x86_64-w64-mingw32-g++-posix. CXX_AARCH64 / CXX_WIN64 name other compilers.
The first directory must contain NvInferVersion.h and NvInfer.h; NvOnnxParser.h may come from any
of them. Without TensorRT, use the headers of the public NVIDIA/TensorRT repository:
  git clone --depth 1 --branch v10.16 https://github.com/NVIDIA/TensorRT && npm run check:tensorrt -- TensorRT/include`);
  process.exit(2);
}

function tensorRtVersion(includeDir) {
  const text = readFileSyncSafe(path.join(includeDir, 'NvInferVersion.h'));
  const pick = (names) => {
    for (const name of names) {
      const m = text.match(new RegExp(`#define\\s+${name}\\s+(\\d+)`));
      if (m) return m[1];
    }
    return '?';
  };
  return ['MAJOR', 'MINOR', 'PATCH']
    .map((part) => pick([`TRT_${part}_ENTERPRISE`, `NV_TENSORRT_${part}`]))
    .join('.');
}

function readFileSyncSafe(file) {
  try {
    return readFileSync(file, 'utf8');
  } catch {
    return '';
  }
}

// Targets: the host, and the two platforms the adapter is cross-checked for here.
//   aarch64: Jetson (JetPack 6 ships TensorRT 10.3: pass v10.3.0/include), with Debian's
//            g++-aarch64-linux-gnu; CUDA headers from targets/sbsa-linux or aarch64-linux when
//            the toolkit has them, else the host's (the runtime API headers are the same text).
//   win64:   Windows x64, with MinGW-w64 (Debian's g++-mingw-w64-x86-64-posix): the Windows
//            branches of the loader and of the adapter's companion-library code. MSVC is what
//            builds there; this catches POSIX-only code and Windows API misuse early.
const TARGETS = {
  host: { cxx: process.env.CXX || 'g++', cudaTargets: [], package: 'g++' },
  aarch64: { cxx: process.env.CXX_AARCH64 || 'aarch64-linux-gnu-g++', cudaTargets: ['sbsa-linux', 'aarch64-linux'], package: 'g++-aarch64-linux-gnu' },
  win64: { cxx: process.env.CXX_WIN64 || 'x86_64-w64-mingw32-g++-posix', cudaTargets: [], package: 'g++-mingw-w64-x86-64-posix' },
};

const argv = process.argv.slice(2);
if (argv.includes('-h') || argv.includes('--help')) usage('compile-checks native/tensorrt against TensorRT headers');
const targets = [];
const args = [];
for (let i = 0; i < argv.length; i++) {
  const a = argv[i];
  const value = a === '--target' ? argv[++i] : a.startsWith('--target=') ? a.slice('--target='.length) : undefined;
  if (value === undefined) {
    args.push(a);
    continue;
  }
  for (const t of value.split(',')) {
    if (!TARGETS[t]) usage(`unknown target '${t}' (expected ${Object.keys(TARGETS).join(', ')})`);
    targets.push(t);
  }
}
if (targets.length === 0) targets.push('host');
let includeDirs;
if (args.length > 0) {
  includeDirs = args.map((a) => path.resolve(a));
} else if (process.env.TENSORRT_ROOT) {
  includeDirs = [path.join(path.resolve(process.env.TENSORRT_ROOT), 'include')];
} else {
  usage('no TensorRT include directory given and TENSORRT_ROOT is not set');
}
const includeDir = includeDirs[0];
for (const header of ['NvInferVersion.h', 'NvInfer.h']) {
  if (!existsSync(path.join(includeDir, header))) usage(`${path.join(includeDir, header)} not found`);
}
if (!includeDirs.some((d) => existsSync(path.join(d, 'NvOnnxParser.h')))) {
  usage(`NvOnnxParser.h not found in ${includeDirs.join(', ')}`);
}

const cudaRoot = process.env.CUDA_PATH || '/usr/local/cuda';
const cudaInclude = path.join(cudaRoot, 'include');
if (!existsSync(path.join(cudaInclude, 'cuda_runtime_api.h'))) {
  usage(`${cudaInclude}/cuda_runtime_api.h not found (set CUDA_PATH to the CUDA toolkit)`);
}

// The adapter, and the addon's loader (native/backend/loader.cc), which opens it, with the
// library opening both share (native/backend/shared_library.cc).
const sources = readdirSync(sourceDir)
  .filter((f) => f.endsWith('.cc'))
  .sort()
  .map((f) => path.join(sourceDir, f));
if (sources.length === 0) usage(`no sources in ${sourceDir}`);
sources.push(...['loader.cc', 'shared_library.cc'].map((f) => path.join(root, 'native', 'backend', f)));

let failed = 0;
let checked = 0;
for (const target of targets) {
  const { cxx, cudaTargets, package: pkg } = TARGETS[target];
  if (spawnSync(cxx, ['--version'], { stdio: 'ignore' }).error) {
    console.log(`FAIL ${target}: ${cxx} not found (install it: apt-get install ${pkg})`);
    failed++;
    continue;
  }
  const targetCuda = cudaTargets.map((t) => path.join(cudaRoot, 'targets', t, 'include')).find((d) => existsSync(path.join(d, 'cuda_runtime_api.h')));
  const flags = [
    '-std=c++17',
    '-fsyntax-only',
    '-Wall',
    '-Wextra',
    '-Werror',
    '-Wno-deprecated-declarations',
    ...includeDirs.flatMap((d) => ['-isystem', d]),
    '-isystem',
    targetCuda ?? cudaInclude,
    `-I${path.join(root, 'native')}`,
  ];
  console.log(`check:tensorrt: ${target}: TensorRT ${tensorRtVersion(includeDir)} headers in ${includeDirs.join(', ')}, ` +
    `CUDA headers in ${targetCuda ?? cudaInclude}, ${cxx}`);
  for (const file of sources) {
    const name = path.relative(path.join(root, 'native'), file);
    const result = spawnSync(cxx, [...flags, file], { encoding: 'utf8' });
    const output = `${result.stdout ?? ''}${result.stderr ?? ''}`.trim();
    checked++;
    if (result.error) {
      console.log(`FAIL ${target} ${name}: could not run ${cxx}: ${result.error.message}`);
      failed++;
    } else if (result.status !== 0) {
      console.log(`FAIL ${target} ${name}\n${output}`);
      failed++;
    } else {
      console.log(`ok   ${target} ${name}${output ? `\n${output}` : ''}`);
    }
  }
}
console.log(`check:tensorrt: ${checked - failed}/${checked} files passed (${targets.join(', ')})`);
process.exit(failed ? 1 : 0);
