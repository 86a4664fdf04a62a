#!/usr/bin/env node
// Builds the TensorRT adapter (native/tensorrt, see CMakeLists.txt) where TensorRT is
// installed, into build-tensorrt/lib/libtensorrt_node_trt<MAJOR>.so. Called by
// scripts/install.mjs during `npm install`, or run directly: `node scripts/build-adapter.mjs`.
//
// Never throws and never fails the install: without TensorRT, or when the compile fails, it
// resolves { built: false, reason } and the sim backend still works.
//
// Environment:
//   TENSORRT_ROOT                 the TensorRT install directory (with include/ and lib/);
//                                 when set, only it is searched
//   TENSORRT_NODE_SKIP_ADAPTER=1  do not build the adapter
//   TENSORRT_NODE_CUDA_MAJOR      the CUDA major TensorRT was built for, when it cannot be told
//                                 (see tensorRtCudaMajor)
//   CUDAToolkit_ROOT, CUDA_PATH   the CUDA toolkit to link (CMake's FindCUDAToolkit)
import { spawn, spawnSync } from 'node:child_process';
import { closeSync, existsSync, openSync, readFileSync, readdirSync, readSync, realpathSync, rmSync } from 'node:fs';
import { createRequire } from 'node:module';
import { availableParallelism } from 'node:os';
import path from 'node:path';
import { fileURLToPath, pathToFileURL } from 'node:url';

const root = path.resolve(path.dirname(fileURLToPath(import.meta.url)), '..');
const require = createRequire(import.meta.url);

// The same places CMakeLists.txt searches, in the same order.
const SYSTEM_INCLUDE_DIRS = [
  '/usr/include/x86_64-linux-gnu',
  '/usr/include/aarch64-linux-gnu',
  '/usr/local/tensorrt/include',
  '/opt/tensorrt/include',
  '/usr/include',
];
const SYSTEM_LIBRARY_DIRS = [
  '/usr/lib/x86_64-linux-gnu',
  '/usr/lib/aarch64-linux-gnu',
  '/usr/local/tensorrt/lib',
  '/usr/local/tensorrt/lib64',
  '/opt/tensorrt/lib',
  '/opt/tensorrt/lib64',
  '/usr/lib',
];

const NOT_FOUND = 'TensorRT not found (set TENSORRT_ROOT to the TensorRT install directory)';

/** Reads "10.16.0" from NvInferVersion.h (10.12+ define the numbers via TRT_*_ENTERPRISE). */
function readTensorRtVersion(includeDir) {
  const text = readFileSync(path.join(includeDir, 'NvInferVersion.h'), 'utf8');
  const part = (name) =>
    text.match(new RegExp(`#define\\s+TRT_${name}_ENTERPRISE\\s+(\\d+)`))?.[1] ??
    text.match(new RegExp(`#define\\s+NV_TENSORRT_${name}\\s+(\\d+)`))?.[1];
  const [major, minor, patch] = ['MAJOR', 'MINOR', 'PATCH'].map(part);
  return major ? { major, version: `${major}.${minor ?? 0}.${patch ?? 0}` } : undefined;
}

function hasLibnvinfer(dir) {
  try {
    return readdirSync(dir).some((f) => f === 'libnvinfer.so' || f.startsWith('libnvinfer.so.'));
  } catch {
    return false;
  }
}

/**
 * Finds TensorRT as CMakeLists.txt does: NvInferVersion.h and libnvinfer.so*, under
 * TENSORRT_ROOT when it is set, else in the usual system locations.
 * @returns {{ root?: string, includeDir: string, libraryDir: string, major: string, version: string } | undefined}
 */
export function findTensorRt(env = process.env) {
  const trtRoot = env.TENSORRT_ROOT ? path.resolve(env.TENSORRT_ROOT) : undefined;
  const includeDirs = trtRoot ? [path.join(trtRoot, 'include')] : SYSTEM_INCLUDE_DIRS;
  const libraryDirs = trtRoot ? [path.join(trtRoot, 'lib'), path.join(trtRoot, 'lib64')] : SYSTEM_LIBRARY_DIRS;
  const includeDir = includeDirs.find((d) => existsSync(path.join(d, 'NvInferVersion.h')));
  const libraryDir = libraryDirs.find(hasLibnvinfer);
  if (!includeDir || !libraryDir) return undefined;
  const version = readTensorRtVersion(includeDir);
  if (!version) return undefined;
  return { root: trtRoot, includeDir, libraryDir, ...version };
}

/**
 * The CUDA major a TensorRT build was made for, and how that was told; undefined when it
 * cannot be. TensorRT 10 ships one build per CUDA major (12 and 13) and records the choice in
 * no header, so, in order:
 * - TENSORRT_NODE_CUDA_MAJOR, when the user says it;
 * - "cuda-<major>.<minor>" in the install's path, as NVIDIA names its tar packages
 *   (TensorRT-10.16.0.72.Linux.x86_64-gnu.cuda-13.0);
 * - the CUDA library sonames libnvinfer names (libcudart.so.12, libcublas.so.12,
 *   libcublasLt.so.12, libnvrtc.so.12: libraries it links or opens at run time), when they all
 *   agree on one major.
 * @returns {{ major: string, source: string } | undefined}
 */
export function tensorRtCudaMajor(trt, env = process.env) {
  if (env.TENSORRT_NODE_CUDA_MAJOR) return { major: env.TENSORRT_NODE_CUDA_MAJOR, source: 'TENSORRT_NODE_CUDA_MAJOR' };
  const nvinfer = [`libnvinfer.so.${trt.major}`, 'libnvinfer.so'].map((f) => path.join(trt.libraryDir, f)).find((f) => existsSync(f));
  let real;
  try {
    real = nvinfer && realpathSync(nvinfer);
  } catch {
    real = undefined;
  }
  for (const p of [trt.root, trt.libraryDir, real]) {
    const m = p && /cuda-(\d+)\.\d+/i.exec(p);
    if (m) return { major: m[1], source: p };
  }
  if (!real) return undefined;
  const majors = new Set();
  const pattern = /lib(?:cudart|cublas|cublasLt|nvrtc)\.so\.(\d+)/g;
  // libnvinfer is hundreds of megabytes: read it in pieces, overlapping so no name is cut.
  const fd = openSync(real, 'r');
  try {
    const chunk = Buffer.alloc(1 << 22);
    let carry = '';
    for (let n; (n = readSync(fd, chunk, 0, chunk.length, null)) > 0; ) {
      const text = carry + chunk.toString('latin1', 0, n);
      for (const m of text.matchAll(pattern)) majors.add(m[1]);
      carry = text.slice(-32);
    }
  } finally {
    closeSync(fd);
  }
  return majors.size === 1 ? { major: [...majors][0], source: `the CUDA libraries ${real} names` } : undefined;
}

/** Runs a command, collecting its output (and echoing it unless quiet). */
function run(command, args, { quiet, cwd }) {
  return new Promise((resolve) => {
    const child = spawn(command, args, { cwd, stdio: ['ignore', 'pipe', 'pipe'] });
    let output = '';
    const collect = (stream, echo) =>
      stream.on('data', (chunk) => {
        output += chunk;
        if (!quiet) echo.write(chunk);
      });
    collect(child.stdout, process.stdout);
    collect(child.stderr, process.stderr);
    child.on('error', (error) => resolve({ code: -1, output: `${output}${error.message}\n` }));
    child.on('close', (code) => resolve({ code, output }));
  });
}

/** The last lines of a build log that say what went wrong. */
function tail(output, lines = 25) {
  const all = output.trimEnd().split('\n');
  const errors = all.filter((l) => /error|Error|ERROR|undefined reference/.test(l));
  return (errors.length ? errors : all).slice(-lines).join('\n');
}

/** The adapters' file names, for any TensorRT major (and their Windows spelling). */
const ADAPTER_FILE = /^(lib)?tensorrt_node_trt\d+\.(so|dll)$/;

/**
 * Deletes every adapter library in `libDir`, whatever TensorRT major it was built for: the
 * addon tries each adapter it finds, and one left from an earlier install (TensorRT 11 since
 * replaced by 10, or a build that now fails) must not be what it loads.
 * @returns {string[]} the files removed
 */
export function removeStaleAdapters(libDir) {
  let names;
  try {
    names = readdirSync(libDir);
  } catch {
    return [];
  }
  const removed = names.filter((n) => ADAPTER_FILE.test(n)).map((n) => path.join(libDir, n));
  for (const file of removed) rmSync(file, { force: true });
  return removed;
}

/**
 * Builds the TensorRT adapter when TensorRT is installed, after removing every adapter an
 * earlier build left.
 * @param {{ quiet?: boolean, libDir?: string }} [options] quiet: print nothing (the caller
 *   reports the result); libDir: where the adapter goes (default build-tensorrt/lib)
 * @returns {Promise<{ built: boolean, path?: string, tensorrtVersion?: string, reason?: string }>}
 */
export async function buildAdapter({ quiet = false, libDir = path.join(root, 'build-tensorrt', 'lib') } = {}) {
  try {
    if (process.env.TENSORRT_NODE_SKIP_ADAPTER === '1') {
      return { built: false, reason: 'skipped (TENSORRT_NODE_SKIP_ADAPTER=1)' };
    }
    // Before looking for TensorRT: without it, an old adapter would still be tried.
    removeStaleAdapters(libDir);
    const trt = findTensorRt();
    if (!trt) return { built: false, reason: NOT_FOUND };
    const tensorrtVersion = trt.version;
    if (Number(trt.major) < 10) {
      return { built: false, tensorrtVersion, reason: `TensorRT ${tensorrtVersion} is too old (tensorrt-node needs 10 or newer)` };
    }
    if (!existsSync(path.join(trt.includeDir, 'NvOnnxParser.h'))) {
      return {
        built: false,
        tensorrtVersion,
        reason: `TensorRT ${tensorrtVersion} in ${trt.includeDir} has no ONNX parser (NvOnnxParser.h); install libnvonnxparsers-dev or the full TensorRT package`,
      };
    }
    if (spawnSync('cmake', ['--version'], { stdio: 'ignore' }).status !== 0) {
      return { built: false, tensorrtVersion, reason: `TensorRT ${tensorrtVersion} found but CMake is not installed (install cmake >= 3.18, then run \`npm rebuild tensorrt-node\`)` };
    }
    let cmakeJs;
    try {
      const pkgPath = require.resolve('cmake-js/package.json');
      const pkg = JSON.parse(readFileSync(pkgPath, 'utf8'));
      cmakeJs = path.join(path.dirname(pkgPath), typeof pkg.bin === 'string' ? pkg.bin : pkg.bin['cmake-js']);
    } catch {
      return { built: false, tensorrtVersion, reason: 'cmake-js is not installed (it is a dependency of tensorrt-node; reinstall)' };
    }

    // cmake-js reads package.json's binary.napi_versions and, seeing a Node-API project, takes
    // headers from the node-api-headers package instead of downloading Node's: no network.
    // `rebuild` starts from a clean CMake tree so a changed TENSORRT_ROOT is always honoured;
    // build-tensorrt/lib (the output) is outside that tree and survives.
    const args = [
      cmakeJs,
      'rebuild',
      '--directory', root,
      '--out', path.join(root, 'build-tensorrt', 'cmake'),
      '--config', 'Release',
      '--parallel', String(availableParallelism()),
    ];
    if (trt.root) args.push(`--CDTENSORRT_ROOT=${trt.root}`);
    args.push(`--CDTNRT_ADAPTER_OUTPUT_DIR=${libDir}`);
    const cuda = tensorRtCudaMajor(trt);
    // Empty clears a value an earlier configure cached.
    args.push(`--CDTNRT_CUDA_MAJOR=${cuda?.major ?? ''}`);
    if (!quiet) {
      console.log(cuda ? `tensorrt-node: TensorRT ${tensorrtVersion} was built for CUDA ${cuda.major} (from ${cuda.source})`
        : `tensorrt-node: TensorRT ${tensorrtVersion}'s CUDA major is not known; linking the CUDA toolkit CMake finds`);
    }
    if (quiet) args.push('--log-level', 'warn');
    const library = path.join(libDir, `libtensorrt_node_trt${trt.major}.so`);
    const { code, output } = await run(process.execPath, args, { quiet, cwd: root });
    if (code !== 0) {
      return {
        built: false,
        tensorrtVersion,
        reason: `building the TensorRT ${tensorrtVersion} adapter failed (\`node scripts/build-adapter.mjs\` shows the full log):\n${tail(output)}`,
      };
    }
    if (!existsSync(library)) {
      return { built: false, tensorrtVersion, reason: `the adapter build succeeded but ${library} is missing` };
    }
    return { built: true, path: library, tensorrtVersion };
  } catch (error) {
    return { built: false, reason: `building the TensorRT adapter failed: ${error?.message ?? error}` };
  }
}

// Run directly: build, print the result, and exit 0 either way (like the install step).
function invokedDirectly() {
  try {
    return import.meta.url === pathToFileURL(realpathSync(path.resolve(process.argv[1]))).href;
  } catch {
    return false;  // no script path (node -e, a REPL)
  }
}
if (invokedDirectly()) {
  const result = await buildAdapter({ quiet: false });
  if (result.built) console.log(`tensorrt-node: TensorRT ${result.tensorrtVersion} adapter built: ${result.path}`);
  else console.log(`tensorrt-node: TensorRT adapter not built: ${result.reason}`);
}
