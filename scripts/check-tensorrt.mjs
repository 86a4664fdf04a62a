#!/usr/bin/env node
// Compile check for the TensorRT adapter, for machines without TensorRT or a GPU: compiles
// every native/tensorrt/*.cc with -fsyntax-only against a directory of TensorRT headers (the
// public NVIDIA/TensorRT repository's include/ works) and the CUDA headers.
//
//   npm run check:tensorrt -- <TensorRT include dir> [<more include dirs>]
//   TENSORRT_ROOT=/opt/tensorrt npm run check:tensorrt
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
usage: npm run check:tensorrt -- <TensorRT include dir> [<more include dirs>]
       (or set TENSORRT_ROOT to a TensorRT install; its include/ is used)
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

const args = process.argv.slice(2);
if (args.includes('-h') || args.includes('--help')) usage('compile-checks native/tensorrt against TensorRT headers');
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

const cudaInclude = path.join(process.env.CUDA_PATH || '/usr/local/cuda', 'include');
if (!existsSync(path.join(cudaInclude, 'cuda_runtime_api.h'))) {
  usage(`${cudaInclude}/cuda_runtime_api.h not found (set CUDA_PATH to the CUDA toolkit)`);
}

const cxx = process.env.CXX || 'g++';
const flags = [
  '-std=c++17',
  '-fsyntax-only',
  '-Wall',
  '-Wextra',
  '-Werror',
  '-Wno-deprecated-declarations',
  ...includeDirs.flatMap((d) => ['-isystem', d]),
  '-isystem',
  cudaInclude,
  `-I${path.join(root, 'native')}`,
];

const sources = readdirSync(sourceDir)
  .filter((f) => f.endsWith('.cc'))
  .sort();
if (sources.length === 0) usage(`no sources in ${sourceDir}`);

console.log(`check:tensorrt: TensorRT ${tensorRtVersion(includeDir)} headers in ${includeDirs.join(', ')}, ${cxx}`);
let failed = 0;
for (const file of sources) {
  const result = spawnSync(cxx, [...flags, path.join(sourceDir, file)], { encoding: 'utf8' });
  const output = `${result.stdout ?? ''}${result.stderr ?? ''}`.trim();
  if (result.error) {
    console.log(`FAIL ${file}: could not run ${cxx}: ${result.error.message}`);
    failed++;
  } else if (result.status !== 0) {
    console.log(`FAIL ${file}\n${output}`);
    failed++;
  } else {
    console.log(`ok   ${file}${output ? `\n${output}` : ''}`);
  }
}
console.log(`check:tensorrt: ${sources.length - failed}/${sources.length} files passed`);
process.exit(failed ? 1 : 0);
