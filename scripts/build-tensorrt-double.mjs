#!/usr/bin/env node
// Builds the TensorRT double (test/tensorrt-double) against a directory of TensorRT headers,
// and the TensorRT adapter (native/tensorrt) against the double:
//
//   build-tensorrt-double/<version>/libcudart.so.<CUDA major>     stand-in CUDA runtime
//   build-tensorrt-double/<version>/libnvinfer.so.<TRT major>     the double, over the sim
//   build-tensorrt-double/<version>/libnvonnxparser.so.<TRT major>
//   build-tensorrt-double/<version>/libnvinfer_plugin.so.<TRT major>   initLibNvInferPlugins
//   build-tensorrt-double/<version>/libtnrt_double_test_plugin.so      a plugin library for tests
//   build-tensorrt-double/<version>/libtnrt_double_dlopen_interposer.so   a dlopen interposer for tests
//   build-tensorrt-double/<version>/libnvinfer_builder_resource.so.<TRT version>
//   build-tensorrt-double/<version>/libtensorrt_node_trt<TRT major>.so   the adapter
//
//   node scripts/build-tensorrt-double.mjs <TensorRT include dir> [<more include dirs>]
//        [--sanitize=address|thread]
//
// Extra include directories serve tags without NvOnnxParser.h (10.0-10.13), as in
// check:tensorrt. Prints the output directory on its last line. Objects are reused while
// their sources and headers are older than them.
import { spawn, spawnSync } from 'node:child_process';
import { existsSync, mkdirSync, readdirSync, readFileSync, rmSync, statSync, symlinkSync, writeFileSync } from 'node:fs';
import os from 'node:os';
import path from 'node:path';
import { fileURLToPath } from 'node:url';

const root = path.resolve(path.dirname(fileURLToPath(import.meta.url)), '..');
const doubleDir = path.join(root, 'test', 'tensorrt-double');
const cxx = process.env.CXX || 'g++';
const jobs = Math.max(1, Number(process.env.JOBS) || Math.min(2, os.cpus().length));

const args = process.argv.slice(2);
const sanitize = (args.find((a) => a.startsWith('--sanitize=')) ?? '').split('=')[1] ?? '';
const includeDirs = args.filter((a) => !a.startsWith('--')).map((a) => path.resolve(a));
if (includeDirs.length === 0 || !existsSync(path.join(includeDirs[0], 'NvInferVersion.h'))) {
  console.error('usage: build-tensorrt-double.mjs <TensorRT include dir> [<more include dirs>] [--sanitize=address|thread]');
  process.exit(2);
}
if (!includeDirs.some((d) => existsSync(path.join(d, 'NvOnnxParser.h')))) {
  console.error(`NvOnnxParser.h not found in ${includeDirs.join(', ')}`);
  process.exit(2);
}
const cudaInclude = path.join(process.env.CUDA_PATH || '/usr/local/cuda', 'include');

function version(includeDir) {
  const text = readFileSync(path.join(includeDir, 'NvInferVersion.h'), 'utf8');
  const pick = (part) => {
    for (const name of [`TRT_${part}_ENTERPRISE`, `NV_TENSORRT_${part}`]) {
      const m = text.match(new RegExp(`#define\\s+${name}\\s+(\\d+)`));
      if (m) return Number(m[1]);
    }
    throw new Error(`cannot read the TensorRT ${part} version from ${includeDir}`);
  };
  return { major: pick('MAJOR'), minor: pick('MINOR'), patch: pick('PATCH') };
}
const trt = version(includeDirs[0]);
const cudaMajor = Math.floor(
  Number(readFileSync(path.join(cudaInclude, 'cuda_runtime_api.h'), 'utf8').match(/#define\s+CUDART_VERSION\s+(\d+)/)[1]) / 1000,
);
const tag = `${trt.major}.${trt.minor}.${trt.patch}${sanitize ? `-${sanitize}` : ''}`;
const out = path.join(root, 'build-tensorrt-double', tag);
// ThreadSanitizer runs with the sim uninstrumented (each sim context is used by one thread at a
// time; the races worth finding are in the adapter, the double and their callbacks), which
// keeps its build to the double and the adapter.
const simOut = path.join(root, 'build-tensorrt-double', `sim-objects${sanitize === 'address' ? '-address' : ''}`);
mkdirSync(path.join(out, 'obj'), { recursive: true });
mkdirSync(path.join(out, 'gen'), { recursive: true });
mkdirSync(path.join(out, 'adapter-obj'), { recursive: true });
mkdirSync(simOut, { recursive: true });

const sanitizeFlags = sanitize === 'address' ? ['-fsanitize=address,undefined', '-fno-omit-frame-pointer']
  : sanitize === 'thread' ? ['-fsanitize=thread'] : [];
const common = ['-std=c++17', '-fPIC', '-g', '-O1', '-fvisibility=hidden', '-fvisibility-inlines-hidden', ...sanitizeFlags];
const trtIncludes = [...includeDirs.flatMap((d) => ['-isystem', d]), '-isystem', cudaInclude];

function walk(dir, ext) {
  return readdirSync(dir, { withFileTypes: true }).flatMap((e) => {
    const full = path.join(dir, e.name);
    if (e.isDirectory()) return walk(full, ext);
    return e.name.endsWith(ext) ? [full] : [];
  });
}
const mtime = (f) => (existsSync(f) ? statSync(f).mtimeMs : 0);
const newest = (files) => Math.max(0, ...files.map(mtime));

// Compiles `sources` into `objDir`, `jobs` at a time; skips objects newer than their source
// and than `depsTime`.
async function compile(sources, objDir, flags, depsTime) {
  const todo = sources
    .map((src) => ({ src, obj: path.join(objDir, path.relative(root, src).replace(/[\\/]/g, '_').replace(/\.cc$/, '.o')) }))
    .filter(({ src, obj }) => mtime(obj) <= Math.max(mtime(src), depsTime));
  const failures = [];
  const run = async ({ src, obj }) => {
    const code = await new Promise((resolve) => {
      const child = spawn(cxx, [...flags, '-c', src, '-o', obj], { stdio: ['ignore', 'inherit', 'inherit'] });
      child.on('close', resolve);
    });
    if (code !== 0) failures.push(path.relative(root, src));
  };
  const queue = [...todo];
  const workers = Array.from({ length: jobs }, async () => {
    while (queue.length) await run(queue.shift());
  });
  await Promise.all(workers);
  if (failures.length) throw new Error(`compile failed: ${failures.join(', ')}`);
  if (todo.length) console.log(`  compiled ${todo.length} file(s) into ${path.relative(root, objDir)}`);
  return sources.map((src) => path.join(objDir, path.relative(root, src).replace(/[\\/]/g, '_').replace(/\.cc$/, '.o')));
}

function link(outputName, soname, objects, extra) {
  const output = path.join(out, outputName);
  const r = spawnSync(cxx, ['-shared', ...sanitizeFlags, '-o', output, ...objects, `-Wl,-soname,${soname}`, ...extra], {
    stdio: 'inherit',
  });
  if (r.status !== 0) throw new Error(`link failed: ${outputName}`);
  return output;
}

function devLink(name, target) {
  const p = path.join(out, name);
  rmSync(p, { force: true });
  symlinkSync(target, p);
}

console.log(`build-tensorrt-double: TensorRT ${trt.major}.${trt.minor}.${trt.patch} headers in ${includeDirs.join(', ')}` +
  `${sanitize ? `, -fsanitize=${sanitize}` : ''}`);

// 1. Stubs for the TensorRT members the double does not model.
const stubs = path.join(out, 'gen', 'stubs.h');
const gen = spawnSync(process.execPath, [path.join(doubleDir, 'gen-stubs.mjs'), stubs, cxx, ...trtIncludes], { stdio: 'inherit' });
if (gen.status !== 0) throw new Error('gen-stubs failed');

// 2. The sim (and the calibration maths it uses), as the double's engine; shared by every
// header version.
const nativeDir = path.join(root, 'native');
const simHeaders = [...walk(path.join(nativeDir, 'sim'), '.h'), ...walk(path.join(nativeDir, 'calibration'), '.h'),
  path.join(nativeDir, 'backend', 'backend.h')];
const simObjects = await compile(
  [...walk(path.join(nativeDir, 'sim'), '.cc'), ...walk(path.join(nativeDir, 'calibration'), '.cc'),
    path.join(nativeDir, 'backend', 'types.cc')],
  simOut,
  [...common.filter((f) => sanitize === 'address' || !f.startsWith('-fsanitize')), '-O2', `-I${nativeDir}`],
  newest(simHeaders),
);

// 3. The stand-in CUDA runtime.
const src = path.join(doubleDir, 'src');
const doubleHeaders = [...walk(src, '.h'), stubs];
const cudartObjects = await compile([path.join(src, 'cudart.cc')], path.join(out, 'obj'),
  [...common, '-Wall', '-Wextra', '-isystem', cudaInclude, `-I${src}`], newest(doubleHeaders));
const cudart = `libcudart.so.${cudaMajor}`;
link(cudart, cudart, cudartObjects, [`-Wl,--version-script=${path.join(src, 'cudart.map')}`]);
devLink('libcudart.so', cudart);

// 4. libnvinfer and libnvonnxparser.
const doubleFlags = [...common, '-Wall', '-Wextra', '-Wno-unused-parameter', '-Wno-deprecated-declarations',
  ...trtIncludes, `-I${src}`, `-I${path.join(out, 'gen')}`, `-I${nativeDir}`];
const nvinferObjects = await compile(
  ['double_common.cc', 'double_runtime.cc', 'double_builder.cc', 'double_entry.cc', 'double_plugins.cc', 'double_inspector.cc'].map((f) => path.join(src, f)),
  path.join(out, 'obj'), doubleFlags, Math.max(newest(doubleHeaders), newest(simHeaders)));
const nvinfer = `libnvinfer.so.${trt.major}`;
// No RUNPATH, as the real libnvinfer has none since TensorRT 8.4: its bare-name dlopen of the
// builder resource must not find the file beside it by itself. Its libcudart dependency is met
// by the copy its loader (the adapter, the contract check) already loaded.
link(nvinfer, nvinfer, [...nvinferObjects, ...simObjects],
  [`-Wl,--version-script=${path.join(src, 'nvinfer.map')}`, `-L${out}`, '-lcudart', '-ldl', '-Wl,--no-undefined']);
devLink('libnvinfer.so', nvinfer);
// The builder resource library that libnvinfer opens by bare name, beside it as in TensorRT's
// tar package.
const resourceObjects = await compile([path.join(src, 'builder_resource.cc')], path.join(out, 'obj'), [...common, '-Wall', '-Wextra'], 0);
const resource = `libnvinfer_builder_resource.so.${trt.major}.${trt.minor}.${trt.patch}`;
link(resource, resource, resourceObjects, []);
// A libnvinfer without createInferRuntime_INTERNAL, for the missing-symbol test.
mkdirSync(path.join(out, 'missing-symbol'), { recursive: true });
writeFileSync(path.join(out, 'gen', 'nvinfer-missing.map'),
  '{ global: createInferBuilder_INTERNAL; getInferLibVersion; getPluginRegistry; tnrt_double_*; local: *; };\n');
link(path.join('missing-symbol', nvinfer), nvinfer, [...nvinferObjects, ...simObjects],
  [`-Wl,--version-script=${path.join(out, 'gen', 'nvinfer-missing.map')}`, `-L${out}`, '-lcudart', '-ldl', '-Wl,--no-undefined', "-Wl,-rpath,$ORIGIN/.."]);
const parserObjects = await compile([path.join(src, 'onnxparser.cc')], path.join(out, 'obj'), doubleFlags, newest(doubleHeaders));
const parser = `libnvonnxparser.so.${trt.major}`;
link(parser, parser, parserObjects,
  [`-Wl,--version-script=${path.join(src, 'onnxparser.map')}`, `-L${out}`, '-lnvinfer', '-Wl,--no-undefined', "-Wl,-rpath,$ORIGIN"]);
devLink('libnvonnxparser.so', parser);
// TensorRT's standard plugin library, which the adapter opens from libnvinfer's directory, and a plugin library for
// the tests to load by path (the plugins option).
const pluginObjects = await compile([path.join(src, 'nvinfer_plugin.cc'), path.join(src, 'test_plugin.cc')],
  path.join(out, 'obj'), doubleFlags, newest(doubleHeaders));
const pluginLib = `libnvinfer_plugin.so.${trt.major}`;
link(pluginLib, pluginLib, [pluginObjects[0]],
  [`-Wl,--version-script=${path.join(src, 'nvinfer_plugin.map')}`, `-L${out}`, '-lnvinfer', '-Wl,--no-undefined', "-Wl,-rpath,$ORIGIN"]);
link('libtnrt_double_test_plugin.so', 'libtnrt_double_test_plugin.so', [pluginObjects[1]], ['-Wl,--no-undefined']);
// A dlopen interposer for options.test.ts, uninstrumented (it is preloaded after the sanitizer
// runtime, and does nothing a sanitizer could check).
const interposer = spawnSync(cxx, ['-shared', '-fPIC', '-O1', '-o', path.join(out, 'libtnrt_double_dlopen_interposer.so'),
  path.join(src, 'dlopen_interposer.cc'), '-ldl'], { stdio: 'inherit' });
if (interposer.status !== 0) throw new Error('link failed: libtnrt_double_dlopen_interposer.so');

// 5. A program that drives the double directly, right and wrong (test/tensorrt-double/double.test.ts).
const checkObjects = await compile([path.join(src, 'contract_check.cc')], path.join(out, 'obj'),
  [...common, '-Wall', '-Wno-deprecated-declarations', ...trtIncludes], newest(includeDirs.map((d) => path.join(d, 'NvInferVersion.h'))));
const check = spawnSync(cxx, [...sanitizeFlags, '-o', path.join(out, 'tnrt_double_contract_check'), ...checkObjects,
  // DT_RPATH (not RUNPATH): like an application that lists TensorRT's directory in its RPATH,
  // which also serves libnvinfer's bare-name dlopen of the builder resource.
  `-L${out}`, '-lnvinfer', '-lnvonnxparser', '-lcudart', '-pthread', '-Wl,--disable-new-dtags', "-Wl,-rpath,$ORIGIN"], { stdio: 'inherit' });
if (check.status !== 0) throw new Error('link failed: tnrt_double_contract_check');

// 6. The adapter, as CMakeLists.txt builds it, but against the double and its libcudart.
const adapterDir = path.join(nativeDir, 'tensorrt');
const adapterObjects = await compile(
  [...readdirSync(adapterDir).filter((f) => f.endsWith('.cc')).map((f) => path.join(adapterDir, f)),
    ...['types.cc', 'shared_library.cc'].map((f) => path.join(nativeDir, 'backend', f))],
  path.join(out, 'adapter-obj'),
  [...common, '-Wall', '-Wextra', '-Wno-deprecated-declarations', ...trtIncludes, `-I${nativeDir}`],
  newest([...walk(adapterDir, '.h'), ...['backend.h', 'shared_library.h'].map((f) => path.join(nativeDir, 'backend', f)), ...includeDirs.map((d) => path.join(d, 'NvInferVersion.h'))]),
);
const adapter = `libtensorrt_node_trt${trt.major}.so`;
link(adapter, adapter, adapterObjects, [
  `-Wl,--version-script=${path.join(adapterDir, 'exports.map')}`, '-Wl,--no-undefined', '-Wl,--as-needed',
  `-L${out}`, '-lnvinfer', '-lnvonnxparser', '-lcudart', '-ldl', "-Wl,-rpath,$ORIGIN",
]);
console.log(out);
