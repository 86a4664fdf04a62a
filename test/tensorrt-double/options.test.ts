// The TensorRT options through the adapter and the double: TF32 (fault 5), plugins
// (fault 2), version-compatible plans (fault 8) and the device (fault 10). Runs only through
// scripts/test-tensorrt-double.mjs. The double records what the adapter set (build flags in its
// plan header and log, the device of every object) and enforces the rules a GPU would.
import { spawnSync } from 'node:child_process';
import { mkdtempSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { dirname, join } from 'node:path';

import { afterEach, describe, expect, it } from 'vitest';

import { backends, Builder, buildEngine, InferenceSession, Logger, Runtime, Tensor } from '../../lib/index.js';
import { makeModel, makeTensor } from '../../lib/onnx/model-builder.js';
import { mlpModel, randomFloats } from '../fixtures/models.js';

const adapter = process.env.TENSORRT_NODE_ADAPTER ?? '';
const major = Number(process.env.TNRT_DOUBLE_TRT_MAJOR);
const root = new URL('../..', import.meta.url).pathname;
const testPlugin = join(dirname(adapter), 'libtnrt_double_test_plugin.so');
const profiles = [{ x: { min: [1, 8], opt: [2, 8], max: [4, 8] } }];
// Two devices for the whole file: the double aborts (a contract violation) when a call of an
// object runs with another device current than the one the object was made on. Set once, never
// changed: objects are torn down after their tests, and a device must not vanish under them.
process.env.TNRT_DOUBLE_DEVICES = '2';

/** Collects every message of a logger, for the lines the double logs. */
function recordingLogger(): { logger: Logger; messages: string[] } {
  const messages: string[] = [];
  return { logger: new Logger({ minSeverity: 'verbose', onMessage: (_s, m) => messages.push(m) }), messages };
}

/** y = x·W with x: [2, 8], W: [8, 8] whose float32 products need more than TF32's 10 mantissa bits. */
function matmulModel(): Uint8Array {
  return makeModel({
    inputs: [{ name: 'x', dtype: 'float32', shape: [2, 8] }],
    outputs: [{ name: 'y', dtype: 'float32', shape: [2, 8] }],
    initializers: [makeTensor('W', 'float32', [8, 8], randomFloats(64, 11))],
    nodes: [{ op: 'MatMul', inputs: ['x', 'W'], outputs: ['y'], name: 'mm' }],
  });
}

/** x -> Relu -> <op> (a plugin layer: one input, one output) -> y, x: [2, 4]. */
function pluginModel(op: string): Uint8Array {
  return makeModel({
    inputs: [{ name: 'x', dtype: 'float32', shape: [2, 4] }],
    outputs: [{ name: 'y', dtype: 'float32', shape: [2, 4] }],
    nodes: [
      { op: 'Relu', inputs: ['x'], outputs: ['r'], name: 'relu' },
      { op, inputs: ['r'], outputs: ['y'], name: 'plugin_layer', attributes: { plugin_version: '1' } },
    ],
  });
}

function maxRelativeDiff(a: Float32Array, b: Float32Array): number {
  let worst = 0;
  for (let i = 0; i < a.length; i++) worst = Math.max(worst, Math.abs(a[i]! - b[i]!) / Math.max(1e-6, Math.abs(b[i]!)));
  return worst;
}

/** Runs `script` (an ES module importing ./dist) in a fresh process: plugin registrations are per process. */
function runFresh(script: string, env: Record<string, string> = {}) {
  return spawnSync(process.execPath, ['--input-type=module', '-e', script], {
    cwd: root,
    encoding: 'utf8',
    env: { ...process.env, ...env },
  });
}

describe.skipIf(!process.env.TNRT_DOUBLE_TRT_MAJOR)('TensorRT options through the adapter and the double', () => {
  afterEach(() => {
    delete process.env.TNRT_DOUBLE_TF32;
  });

  describe('TF32', () => {
    const x = new Tensor('float32', randomFloats(16, 12), [2, 8]);
    async function run(options: { tf32?: boolean }) {
      const { logger, messages } = recordingLogger();
      const engine = await buildEngine(matmulModel(), { backend: 'tensorrt', logger, ...options });
      using s = await InferenceSession.create(engine);
      return { y: (await s.run({ x })).y!.data as Float32Array, messages };
    }

    it('is TensorRT default, and tf32: false clears kTF32 so float32 results are exact', async () => {
      // TNRT_DOUBLE_TF32=1: engines built with kTF32 return float32 results rounded as TF32 leaves them.
      process.env.TNRT_DOUBLE_TF32 = '1';
      const byDefault = await run({});
      const off = await run({ tf32: false });
      const on = await run({ tf32: true });
      expect(byDefault.messages.join('\n')).toMatch(/kTF32 on/);
      expect(off.messages.join('\n')).toMatch(/kTF32 off/);
      // The float32 reference, computed here.
      const w = randomFloats(64, 11);
      const xs = x.data as Float32Array;
      const reference = new Float32Array(16);
      for (let r = 0; r < 2; r++)
        for (let c = 0; c < 8; c++) {
          let sum = 0;
          for (let k = 0; k < 8; k++) sum += xs[r * 8 + k]! * w[k * 8 + c]!;
          reference[r * 8 + c] = sum;
        }
      expect(maxRelativeDiff(off.y, reference)).toBeLessThan(1e-5);
      expect(maxRelativeDiff(byDefault.y, reference)).toBeGreaterThan(1e-5);
      expect(maxRelativeDiff(byDefault.y, reference)).toBeLessThan(1e-3);
      expect(Array.from(on.y)).toEqual(Array.from(byDefault.y));
    });
  });

  describe('version-compatible plans', () => {
    it("a refusal carries only the backend errors logged since its own call began, not an earlier call's", async () => {
      // Both calls log through the default logger; the parse failure is reported as a value
      // (OnnxParseError with parser errors), so nothing took its log line before.
      await expect(buildEngine(pluginModel('TnrtDoubleTestOp'), { backend: 'tensorrt' })).rejects.toMatchObject({ name: 'OnnxParseError' });
      const engine = await buildEngine(mlpModel(), { backend: 'tensorrt', profiles, versionCompatible: true });
      const error = (await InferenceSession.create(engine).catch((e: unknown) => e)) as { name: string; logMessages: string[] };
      expect(error.name).toBe('EngineInvalidError');
      expect(error.logMessages.join('\n')).toContain('version compatible');
      expect(error.logMessages.join('\n')).not.toContain('Plugin not found');
    });

    it('load only with engineHostCodeAllowed, and the refusal names it', async () => {
      const engine = await buildEngine(mlpModel(), { backend: 'tensorrt', profiles, versionCompatible: true });
      const refusal = InferenceSession.create(engine);
      await expect(refusal).rejects.toMatchObject({ name: 'EngineInvalidError', message: expect.stringContaining('engineHostCodeAllowed: true') });
      await expect(refusal).rejects.not.toMatchObject({ message: expect.stringContaining('another TensorRT version') });
      using s = await InferenceSession.create(engine, { engineHostCodeAllowed: true });
      expect((await s.run({ x: new Tensor('float32', randomFloats(16, 1), [2, 8]) })).y!.dims).toEqual([2, 4]);
      // A plain plan needs no permission.
      using plain = await InferenceSession.create(await buildEngine(mlpModel(), { backend: 'tensorrt', profiles }));
      expect(plain.backend).toBe('tensorrt');
    });

    it('without the lean runtime (excludeLeanRuntime) carry no host code', async () => {
      const engine = await buildEngine(mlpModel(), { backend: 'tensorrt', profiles, versionCompatible: true, excludeLeanRuntime: true });
      using s = await InferenceSession.create(engine);
      expect(s.backend).toBe('tensorrt');
      await expect(buildEngine(mlpModel(), { backend: 'tensorrt', profiles, excludeLeanRuntime: true })).rejects.toMatchObject({
        name: 'InvalidArgumentError',
        message: expect.stringContaining("set 'versionCompatible' too"),
      });
    });

    it('hardwareCompatibility reaches the builder config', async () => {
      const { logger, messages } = recordingLogger();
      await buildEngine(mlpModel(), { backend: 'tensorrt', profiles, logger, hardwareCompatibility: 'ampereplus' });
      expect(messages.join('\n')).toMatch(/hardware compatibility level kAMPERE_PLUS/);
      const same = buildEngine(mlpModel(), { backend: 'tensorrt', profiles, logger, hardwareCompatibility: 'sameComputeCapability' });
      // kSAME_COMPUTE_CAPABILITY appeared in TensorRT 10.9.
      const [maj, min] = backends()[1]!.version.split('.').map(Number) as [number, number];
      if (maj > 10 || min >= 9) {
        await same;
        expect(messages.join('\n')).toMatch(/hardware compatibility level kSAME_COMPUTE_CAPABILITY/);
      } else {
        await expect(same).rejects.toMatchObject({ name: 'UnsupportedError', message: expect.stringContaining('needs TensorRT 10.9') });
      }
    });
  });

  describe('the device', () => {
    it('every call of a builder, runtime, engine and context runs on its device', async () => {
      // Interleaving objects of both devices on the same pool threads proves that each call sets
      // its own device (the double aborts otherwise).
      const { logger, messages } = recordingLogger();
      const onOne = await buildEngine(mlpModel(), { backend: 'tensorrt', profiles, device: 1, logger });
      expect(messages.join('\n')).toMatch(/build flags:.*device 1/);
      const onZero = await buildEngine(mlpModel(), { backend: 'tensorrt', profiles, logger });
      using one = await InferenceSession.create(onOne, { device: 1, logger });
      using zero = await InferenceSession.create(onZero, { logger });
      expect(messages.join('\n')).toMatch(/deserializing on device 1/);
      const x = new Tensor('float32', randomFloats(24, 5), [3, 8]);
      const runs = [];
      for (let i = 0; i < 6; i++) runs.push(one.run({ x }), zero.run({ x }));
      const results = await Promise.all(runs);
      for (const r of results) expect(Array.from(r.y!.data as Float32Array)).toEqual(Array.from(results[0]!.y!.data as Float32Array));
      expect(one.engine.deviceMemorySize).toBe(zero.engine.deviceMemorySize);
      // Serialize, profile queries and teardown on the JavaScript thread, whose device is 0.
      expect((await one.engine.serialize()).byteLength).toBeGreaterThan(0);
      const builder = new Builder({ backend: 'tensorrt', device: 1 });
      const network = builder.createNetworkV2();
      await builder.createOnnxParser(network).parse(mlpModel());
      network.dispose();
      builder.dispose();
    });

    it('a device the machine does not have is an InvalidArgumentError saying how many there are', () => {
      expect(() => new Runtime({ backend: 'tensorrt', device: 2 })).toThrow(
        expect.objectContaining({ name: 'InvalidArgumentError', message: expect.stringMatching(/device 2 does not exist: CUDA sees 2 devices \(0 to 1\)/) }),
      );
      expect(() => new Builder({ backend: 'tensorrt', device: 7 })).toThrow(/device 7 does not exist: CUDA sees 2 devices/);
    });

    it('the double aborts a call made on another device than its object', () => {
      const model = join(mkdtempSync(join(tmpdir(), 'tnrt-options-')), 'mlp.onnx');
      writeFileSync(model, mlpModel());
      const r = spawnSync(join(dirname(adapter), 'tnrt_double_contract_check'), ['wrong-device', model], {
        encoding: 'utf8',
        env: { ...process.env, TNRT_DOUBLE_DEVICES: '2' },
      });
      expect(r.signal).toBe('SIGABRT');
      expect(r.stderr).toContain("CONTRACT VIOLATION: every call of a TensorRT object runs with the object's CUDA device current");
    });
  });

  describe('plugins', () => {
    it("TensorRT's standard plugins are registered before parsing: a plugin layer parses, builds and runs", async () => {
      const engine = await buildEngine(pluginModel('EfficientNMS_TRT'), { backend: 'tensorrt' });
      using s = await InferenceSession.create(engine);
      const x = new Float32Array([-1, 2, -3, 4, 5, -6, 7, -8]);
      const y = (await s.run({ x: new Tensor('float32', x, [2, 4]) })).y!;
      expect(Array.from(y.data as Float32Array)).toEqual([0, 2, 0, 4, 5, 0, 7, 0]);  // the double's plugin layers are Identity
    });

    it('an operator no registered plugin provides fails the parse naming it and the libraries searched; the plugins option loads one', async () => {
      await expect(buildEngine(pluginModel('TnrtDoubleTestOp'), { backend: 'tensorrt' })).rejects.toMatchObject({
        name: 'OnnxParseError',
        parserErrors: [expect.objectContaining({ node: 'plugin_layer', op: 'TnrtDoubleTestOp' })],
        message: expect.stringMatching(new RegExp(`Plugin not found[\\s\\S]*libnvinfer_plugin\\.so\\.${major} \\(registered\\)[\\s\\S]*loaded in this process \\(none\\)[\\s\\S]*plugins option`)),
      });
      const engine = await buildEngine(pluginModel('TnrtDoubleTestOp'), { backend: 'tensorrt', plugins: [testPlugin] });
      expect(engine.byteLength).toBeGreaterThan(0);
    });

    it('a plugin library that is missing, or is not one, is an InvalidArgumentError naming it', () => {
      expect(() => new Builder({ backend: 'tensorrt', plugins: ['/nonexistent/libmissing.so'] })).toThrow(
        expect.objectContaining({ name: 'InvalidArgumentError', message: expect.stringContaining('the plugin library /nonexistent/libmissing.so does not exist') }),
      );
      const notALibrary = join(root, 'package.json');
      expect(() => new Runtime({ backend: 'tensorrt', plugins: [notALibrary] })).toThrow(
        expect.objectContaining({ name: 'InvalidArgumentError', message: expect.stringContaining(`TensorRT could not load the plugin library ${notALibrary}`) }),
      );
    });

    it("libnvinfer_plugin is found beside libnvinfer when a preloaded library interposes dlopen (as the ASan and TSan runtimes do)", () => {
      // With dlopen interposed, a bare-name dlopen no longer searches the adapter's RUNPATH, so
      // the adapter must open the plugin library by its full path from libnvinfer's directory.
      const interposer = join(dirname(adapter), 'libtnrt_double_dlopen_interposer.so');
      const built = runFresh(`
        import { buildEngine } from './dist/index.js';
        const model = ${JSON.stringify(Array.from(pluginModel('EfficientNMS_TRT')))};
        const engine = await buildEngine(new Uint8Array(model), { backend: 'tensorrt' });
        console.log(JSON.stringify(engine.byteLength > 0));
      `, { LD_PRELOAD: [process.env.LD_PRELOAD, interposer].filter(Boolean).join(' ') });
      expect(built.stderr).toBe('');
      expect(built.stdout.trim().split('\n').pop()).toBe('true');
    });

    it('a runtime registers them before deserializing: in a fresh process, plans with plugin layers load, and a missing plugin is named', async () => {
      const dir = mkdtempSync(join(tmpdir(), 'tnrt-options-'));
      writeFileSync(join(dir, 'standard.engine'), await buildEngine(pluginModel('EfficientNMS_TRT'), { backend: 'tensorrt' }));
      writeFileSync(join(dir, 'extra.engine'), await buildEngine(pluginModel('TnrtDoubleTestOp'), { backend: 'tensorrt', plugins: [testPlugin] }));
      const load = (file: string, options: string) =>
        runFresh(`
          import { InferenceSession, Tensor } from './dist/index.js';
          try {
            const s = await InferenceSession.create(${JSON.stringify(join(dir, file))}, ${options});
            const y = (await s.run({ x: new Tensor('float32', new Float32Array([1, -1, 2, -2, 3, -3, 4, -4]), [2, 4]) })).y;
            console.log(JSON.stringify(Array.from(y.data)));
            s.dispose();
          } catch (e) {
            console.log(JSON.stringify({ name: e.name, message: e.message }));
          }
        `);
      const lastLine = (r: ReturnType<typeof runFresh>) => JSON.parse(r.stdout.trim().split('\n').pop()!);
      // A builder registers them too, before its first parse, in a process no runtime has touched.
      writeFileSync(join(dir, 'standard.onnx'), pluginModel('EfficientNMS_TRT'));
      const built = runFresh(`
        import { readFileSync } from 'node:fs';
        import { buildEngine } from './dist/index.js';
        const engine = await buildEngine(readFileSync(${JSON.stringify(join(dir, 'standard.onnx'))}), { backend: 'tensorrt' });
        console.log(JSON.stringify(engine.byteLength > 0));
      `);
      expect(built.stderr).toBe('');
      expect(lastLine(built)).toBe(true);
      expect(lastLine(load('standard.engine', '{}'))).toEqual([1, 0, 2, 0, 3, 0, 4, 0]);
      const missing = lastLine(load('extra.engine', '{}'));
      expect(missing.name).toBe('EngineInvalidError');
      expect(missing.message).toMatch(/plugin layer whose plugin is not registered[\s\S]*plugins option[\s\S]*Cannot find plugin: TnrtDoubleTestOp/);
      expect(lastLine(load('extra.engine', JSON.stringify({ plugins: [testPlugin] })))).toEqual([1, 0, 2, 0, 3, 0, 4, 0]);
    });
  });
});
