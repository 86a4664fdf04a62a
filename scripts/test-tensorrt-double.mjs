#!/usr/bin/env node
// Runs backend-agnostic test suites on backend 'tensorrt' through the real adapter
// (native/tensorrt) and the TensorRT double (test/tensorrt-double), which stands in for
// libnvinfer, libnvonnxparser and the CUDA runtime. No GPU and no TensorRT are needed, only
// TensorRT's public headers:
//
//   npm run test:tensorrt-double -- <TensorRT include dir> [<more include dirs>]
//        [--sanitize=address|thread] [-- <vitest arguments>]
//
// Builds the double and the adapter (scripts/build-tensorrt-double.mjs), then runs vitest
// with test/tensorrt-double/vitest.config.ts, TENSORRT_NODE_BACKEND=tensorrt,
// TENSORRT_NODE_ADAPTER at the adapter. LD_LIBRARY_PATH is left as it is: the adapter finds the
// double's libnvinfer through its $ORIGIN RUNPATH, as it finds a tarball TensorRT through the
// RUNPATH CMake gives it, and libnvinfer's bare-name dlopen of its builder resource must work
// the way it does for such an install. Without an include directory (and without
// TENSORRT_INCLUDE) it says so in one line and exits 0, for CI.
import { spawnSync } from 'node:child_process';
import { existsSync, readdirSync } from 'node:fs';
import path from 'node:path';
import { fileURLToPath } from 'node:url';

const root = path.resolve(path.dirname(fileURLToPath(import.meta.url)), '..');
const argv = process.argv.slice(2);
const split = argv.indexOf('--');
const ours = split < 0 ? argv : argv.slice(0, split);
const vitestArgs = split < 0 ? [] : argv.slice(split + 1);
if (ours.filter((a) => !a.startsWith('--')).length === 0 && process.env.TENSORRT_INCLUDE) {
  ours.push(...process.env.TENSORRT_INCLUDE.split(path.delimiter));
}
if (ours.filter((a) => !a.startsWith('--')).length === 0) {
  console.log('test:tensorrt-double: skipped (no TensorRT include directory given and TENSORRT_INCLUDE is not set)');
  process.exit(0);
}

const build = spawnSync(process.execPath, [path.join(root, 'scripts', 'build-tensorrt-double.mjs'), ...ours], {
  stdio: ['ignore', 'pipe', 'inherit'],
  encoding: 'utf8',
});
process.stdout.write(build.stdout ?? '');
if (build.status !== 0) process.exit(build.status ?? 1);
const out = build.stdout.trim().split('\n').pop();
const adapter = readdirSync(out).find((f) => /^libtensorrt_node_trt\d+\.so$/.test(f));
if (!adapter || !existsSync(path.join(out, adapter))) {
  console.error(`test:tensorrt-double: no adapter in ${out}`);
  process.exit(1);
}
const major = adapter.match(/trt(\d+)/)[1];

const sanitize = (ours.find((a) => a.startsWith('--sanitize=')) ?? '').split('=')[1] ?? '';
const env = {
  ...process.env,
  TENSORRT_NODE_BACKEND: 'tensorrt',
  TENSORRT_NODE_ADAPTER: path.join(out, adapter),
  TNRT_DOUBLE_TRT_MAJOR: major,
};
if (sanitize) {
  // Node itself is not instrumented: preload the runtime, and keep leak reports to the end.
  const lib = sanitize === 'address' ? 'libasan.so' : 'libtsan.so';
  const found = spawnSync(process.env.CXX || 'g++', [`-print-file-name=${lib}`], { encoding: 'utf8' }).stdout.trim();
  env.LD_PRELOAD = [found, process.env.LD_PRELOAD].filter(Boolean).join(' ');
  if (sanitize === 'address') env.ASAN_OPTIONS = env.ASAN_OPTIONS ?? 'detect_leaks=0:abort_on_error=1';
  if (sanitize === 'thread') {
    // The binding must be instrumented too: it hands buffers, networks and builders between
    // the event loop and its worker threads, and uninstrumented, the mutexes, atomics and
    // shared_ptr counts that order those hand-offs are invisible, so TSan reports the adapter's
    // and the double's accesses on either side as races. So the addon is the TSan build that
    // `npm run test:tsan` uses (built into build-tsan/ when missing or stale).
    const tsanAddon = spawnSync('bash', [path.join(root, 'scripts', 'build-tsan-addon.sh')], {
      stdio: ['ignore', 'pipe', 'inherit'],
      encoding: 'utf8',
      cwd: root,
    });
    if (tsanAddon.status !== 0) process.exit(tsanAddon.status ?? 1);
    env.TENSORRT_NODE_ADDON = tsanAddon.stdout.trim().split('\n').pop();
    // As scripts/test-tsan-addon.sh: ignore_noninstrumented_modules keeps node's, V8's and
    // libuv's own free/memcpy (ordered by atomics TSan cannot see) out of the race detector,
    // while their locks still order ours; everything of ours (binding, adapter, double) is
    // instrumented and checked. exitcode=66: a race fails the file that ran into it.
    env.TSAN_OPTIONS = env.TSAN_OPTIONS ??
      'ignore_noninstrumented_modules=1:halt_on_error=1:exitcode=66:second_deadlock_stack=1:report_signal_unsafe=0:' +
      `suppressions=${path.join(root, 'test', 'tensorrt-double', 'tsan.supp')}`;
  }
}
// Some tests run the library in child processes, from dist/.
const tsc = spawnSync(process.execPath, [path.join(root, 'node_modules', 'typescript', 'bin', 'tsc'), '-p', path.join(root, 'tsconfig.json')], {
  stdio: 'inherit',
  cwd: root,
});
if (tsc.status !== 0) process.exit(tsc.status ?? 1);
console.log(`test:tensorrt-double: adapter ${path.relative(root, path.join(out, adapter))} over the double`);
const vitest = spawnSync(process.execPath, [path.join(root, 'node_modules', 'vitest', 'vitest.mjs'), 'run',
  '-c', path.join(root, 'test', 'tensorrt-double', 'vitest.config.ts'), ...vitestArgs], { stdio: 'inherit', env, cwd: root });
process.exit(vitest.status ?? 1);
