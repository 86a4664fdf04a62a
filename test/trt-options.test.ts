// The TensorRT options (plugins, TF32, version-compatible plans, the device) on the sim and
// in the TypeScript layer: validation, the sim's documented semantics, and the command line.
// Through the TensorRT adapter they are tested against the double (tensorrt-double/options.test.ts).
import { execFile } from 'node:child_process';
import { mkdtempSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { promisify } from 'node:util';

import { describe, expect, it, vi } from 'vitest';

import { Builder, BuilderConfig, buildEngine, InferenceSession, Logger, Runtime, Tensor } from '../lib/index.js';
import { mlpModel, randomFloats } from './fixtures/models.js';

const profiles = [{ x: { min: [1, 8], opt: [2, 8], max: [4, 8] } }];
const root = new URL('..', import.meta.url).pathname;
const x = new Tensor('float32', randomFloats(16, 7), [2, 8]);

describe('TensorRT options on the sim', () => {
  it('versionCompatible engines load only with engineHostCodeAllowed, as TensorRT plans do', async () => {
    const engine = await buildEngine(mlpModel(), { backend: 'sim', profiles, versionCompatible: true });
    await expect(InferenceSession.create(engine)).rejects.toMatchObject({
      name: 'EngineInvalidError',
      message: expect.stringMatching(/built version compatible \(versionCompatible\)[\s\S]*engineHostCodeAllowed: true/),
    });
    await expect(new Runtime({ backend: 'sim' }).deserializeCudaEngine(engine)).rejects.toThrow(/engineHostCodeAllowed/);
    using s = await InferenceSession.create(engine, { engineHostCodeAllowed: true });
    using plain = await InferenceSession.create(await buildEngine(mlpModel(), { backend: 'sim', profiles }));
    expect(Array.from((await s.run({ x })).y!.data as Float32Array)).toEqual(Array.from((await plain.run({ x })).y!.data as Float32Array));
    // Serialized again, it keeps the flag.
    const runtime = new Runtime({ backend: 'sim', engineHostCodeAllowed: true });
    const again = await (await runtime.deserializeCudaEngine(engine)).serialize();
    runtime.dispose();
    await expect(InferenceSession.create(again)).rejects.toThrow(/engineHostCodeAllowed/);
  });

  it('excludeLeanRuntime leaves no host code to refuse, and needs versionCompatible', async () => {
    const engine = await buildEngine(mlpModel(), { backend: 'sim', profiles, versionCompatible: true, excludeLeanRuntime: true });
    using s = await InferenceSession.create(engine);
    expect(s.backend).toBe('sim');
    await expect(buildEngine(mlpModel(), { backend: 'sim', profiles, excludeLeanRuntime: true })).rejects.toMatchObject({
      name: 'InvalidArgumentError',
      message: expect.stringContaining("set 'versionCompatible' too"),
    });
  });

  it('tf32 and hardwareCompatibility are accepted (the sim is float32-exact and runs anywhere) and validated', async () => {
    const messages: string[] = [];
    const logger = new Logger({ minSeverity: 'verbose', onMessage: (_s, m) => messages.push(m) });
    const engine = await buildEngine(mlpModel(), { backend: 'sim', profiles, tf32: false, hardwareCompatibility: 'ampereplus', logger });
    expect(messages.join('\n')).toMatch(/TF32 off accepted/);
    expect(messages.join('\n')).toMatch(/hardware compatibility level accepted/);
    using s = await InferenceSession.create(engine);
    expect((await s.run({ x })).y!.dims).toEqual([2, 4]);
    await expect(buildEngine(mlpModel(), { backend: 'sim', profiles, tf32: 'no' as unknown as boolean })).rejects.toThrow(
      /Expected a boolean for buildEngine option tf32 but received the string "no"/,
    );
    await expect(buildEngine(mlpModel(), { backend: 'sim', profiles, hardwareCompatibility: 'turing' as never })).rejects.toMatchObject({
      name: 'InvalidArgumentError',
    });
  });

  it("BuilderConfig's tf32 flag is set by default, as TensorRT's, and the new flags set and clear", () => {
    const config = new BuilderConfig();
    expect(config.getFlag('tf32')).toBe(true);
    expect(config.toNative().tf32).toBeUndefined();  // TensorRT's default stays untouched
    config.clearFlag('tf32');
    expect(config.getFlag('tf32')).toBe(false);
    expect(config.toNative().tf32).toBe(false);
    config.setFlag('versionCompatible').setFlag('excludeLeanRuntime').setHardwareCompatibilityLevel('sameComputeCapability');
    expect(config.toNative()).toMatchObject({ versionCompatible: true, excludeLeanRuntime: true, hardwareCompatibilityLevel: 'sameComputeCapability' });
    expect(() => config.setHardwareCompatibilityLevel('ampere+' as never)).toThrow(/Expected one of 'none', 'ampereplus', 'sameComputeCapability'/);
  });

  it('device: the sim has one, 0; others are refused naming it, and bad values are caught in TypeScript', async () => {
    expect(new Builder({ backend: 'sim', device: 0 }).device).toBe(0);
    expect(() => new Runtime({ backend: 'sim', device: 1 })).toThrow(
      expect.objectContaining({ name: 'InvalidArgumentError', message: expect.stringContaining('device 1 does not exist on the sim backend') }),
    );
    expect(() => new Builder({ backend: 'sim', device: -1 })).toThrow(/Expected an integer in \[0, 1000000\] for Builder option device but received number -1/);
    await expect(buildEngine(mlpModel(), { backend: 'sim', profiles, device: 1 })).rejects.toThrow(/does not exist on the sim backend/);
    await expect(InferenceSession.create(await buildEngine(mlpModel(), { backend: 'sim', profiles }), { device: 1.5 })).rejects.toThrow(/option device/);
  });

  it('plugins: paths must exist; the sim cannot run TensorRT plugins and says so', async () => {
    expect(() => new Builder({ backend: 'sim', plugins: ['./no-such-plugin.so'] })).toThrow(
      expect.objectContaining({ name: 'InvalidArgumentError', message: expect.stringMatching(/the plugin library \.\/no-such-plugin\.so does not exist \(looked for \/.*no-such-plugin\.so\)/) }),
    );
    expect(() => new Runtime({ backend: 'sim', plugins: 'a.so' as never })).toThrow(/Expected an array of plugin library paths for Runtime option plugins/);
    const messages: string[] = [];
    const logger = new Logger({ onMessage: (severity, m) => messages.push(`${severity}: ${m}`) });
    const library = join(mkdtempSync(join(tmpdir(), 'tnrt-plugins-')), 'libplugin.so');
    writeFileSync(library, 'not really a library');
    const engine = await buildEngine(mlpModel(), { backend: 'sim', profiles, plugins: [library], logger });
    using s = await InferenceSession.create(engine, { plugins: [library], logger });
    // Log messages reach JavaScript through a thread-safe function: wait for the runtime's.
    await vi.waitFor(() => expect(messages.filter((m) => m.includes(`plugin library ${library} is not loaded`))).toHaveLength(2));
    expect(messages[0]).toMatch(/^warning: \[sim\] plugin library .* the sim cannot run TensorRT plugins/);
  });

  it('the command line: --noTF32, --versionCompatible, --excludeLeanRuntime, --hardwareCompatibilityLevel, --device, --plugins and --engineHostCodeAllowed', async () => {
    const dir = mkdtempSync(join(tmpdir(), 'tnrt-options-cli-'));
    const model = join(dir, 'mlp.onnx');
    writeFileSync(model, mlpModel());
    const library = join(dir, 'libplugin.so');
    writeFileSync(library, 'x');
    const cli = async (...args: string[]) => {
      try {
        const r = await promisify(execFile)(process.execPath, [join(root, 'dist/cli/main.js'), ...args], { env: { ...process.env, TENSORRT_NODE_BACKEND: 'sim' } });
        return { code: 0, ...r };
      } catch (error) {
        return error as { code: number; stdout: string; stderr: string };
      }
    };
    const engine = join(dir, 'mlp.engine');
    const built = await cli('build', model, '-o', engine, '--shapes', 'x:2x8', '--noTF32', '--versionCompatible', '--hardwareCompatibilityLevel', 'ampere+',
      '--device', '0', '--dynamicPlugins', library, '--log-level', 'verbose');
    expect(built.code).toBe(0);
    expect(built.stderr).toMatch(/TF32 off accepted/);
    expect(built.stderr).toMatch(/plugin library .*libplugin\.so is not loaded/);
    const refused = await cli('run', engine);
    expect(refused.code).not.toBe(0);
    expect(refused.stderr).toMatch(/engineHostCodeAllowed/);
    expect((await cli('run', engine, '--engineHostCodeAllowed', '--plugins', library)).code).toBe(0);
    expect((await cli('build', model, '-o', engine, '--excludeLeanRuntime')).stderr).toMatch(/--excludeLeanRuntime goes with --versionCompatible/);
    expect((await cli('build', model, '-o', engine, '--hardwareCompatibilityLevel', 'volta')).stderr).toMatch(/--hardwareCompatibilityLevel must be one of/);
    expect((await cli('run', engine, '--device', 'one')).stderr).toMatch(/--device takes an integer >= 0/);
  });
});
