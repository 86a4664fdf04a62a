// Runs only through scripts/test-tensorrt-double.mjs: proves the run really goes through the
// adapter and the double (not the sim), drives the double's fault injection through the whole
// library, and checks that the double's contract checks abort with the rule's name.
import { spawnSync } from 'node:child_process';
import { copyFileSync, mkdtempSync, readdirSync, readFileSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { basename, dirname, join } from 'node:path';

import { afterEach, describe, expect, it } from 'vitest';

import { backends, Builder, buildEngine, InferenceSession, Logger, Tensor } from '../../lib/index.js';
import { makeModel } from '../../lib/onnx/model-builder.js';
import { lenetModel } from '../fixtures/cnn-models.js';
import { mlpModel, randomFloats } from '../fixtures/models.js';

const adapter = process.env.TENSORRT_NODE_ADAPTER ?? '';
const root = new URL('../..', import.meta.url).pathname;
const profiles = [{ x: { min: [1, 8], opt: [2, 8], max: [4, 8] } }];

async function session(): Promise<InferenceSession> {
  return InferenceSession.create(await buildEngine(mlpModel(), { backend: 'tensorrt', profiles }));
}

function withFaults<T>(faults: string, fn: () => Promise<T>): Promise<T> {
  process.env.TNRT_DOUBLE_FAULTS = faults;
  return fn().finally(() => delete process.env.TNRT_DOUBLE_FAULTS);
}

// TNRT_DOUBLE_TRT_MAJOR is set by scripts/test-tensorrt-double.mjs; a plain `npm test` skips this.
describe.skipIf(!process.env.TNRT_DOUBLE_TRT_MAJOR)('the TensorRT double', () => {
  afterEach(() => {
    delete process.env.TNRT_DOUBLE_FAULTS;
  });

  it('is what backend tensorrt loaded', async () => {
    const trt = backends()[1]!;
    expect(trt).toMatchObject({ name: 'tensorrt', available: true });
    expect(trt.version).toMatch(new RegExp(`^${process.env.TNRT_DOUBLE_TRT_MAJOR}\\.`));
    const engine = await buildEngine(mlpModel(), { backend: 'tensorrt', profiles });
    // A double plan: the sim engine behind the double's own header.
    expect(Buffer.from(engine.subarray(0, 7)).toString()).toBe('TNRTDBL');
    using s = await InferenceSession.create(engine);
    expect(s.backend).toBe('tensorrt');
    const out = await s.run({ x: new Tensor('float32', randomFloats(16, 3), [2, 8]) });
    expect(out.y!.dims).toEqual([2, 4]);
  });

  describe('faults reach JavaScript as typed errors, and the next call works', () => {
    it('createInferRuntime and createInferBuilder return null', async () => {
      const engine = await buildEngine(mlpModel(), { backend: 'tensorrt', profiles });
      await withFaults('createRuntime', async () => {
        await expect(InferenceSession.create(engine)).rejects.toMatchObject({
          message: expect.stringMatching(/could not create a runtime[\s\S]*injected fault: createRuntime/),
        });
      });
      await withFaults('createBuilder', async () => {
        await expect(buildEngine(mlpModel(), { backend: 'tensorrt', profiles })).rejects.toMatchObject({
          message: expect.stringMatching(/could not create a builder[\s\S]*injected fault: createBuilder/),
        });
      });
    });

    it('deserializeCudaEngine returns null', async () => {
      const engine = await buildEngine(mlpModel(), { backend: 'tensorrt', profiles });
      await withFaults('deserialize', async () => {
        await expect(InferenceSession.create(engine)).rejects.toMatchObject({
          name: 'EngineInvalidError',
          message: expect.stringMatching(/could not deserialize[\s\S]*injected fault: deserialize/),
        });
      });
      using s = await InferenceSession.create(engine);
      expect(s.backend).toBe('tensorrt');
    });

    it('buildSerializedNetwork returns null', async () => {
      await withFaults('build', async () => {
        await expect(buildEngine(mlpModel(), { backend: 'tensorrt', profiles })).rejects.toMatchObject({
          code: 'ERR_TENSORRT_INTERNAL',
          message: expect.stringMatching(/could not build the engine[\s\S]*injected fault: build/),
        });
      });
      expect((await buildEngine(mlpModel(), { backend: 'tensorrt', profiles })).length).toBeGreaterThan(0);
    });

    it('the ONNX parser fails', async () => {
      await withFaults('parse', async () => {
        await expect(buildEngine(mlpModel(), { backend: 'tensorrt', profiles })).rejects.toMatchObject({
          name: 'OnnxParseError',
          message: expect.stringContaining('injected fault: parse'),
        });
      });
    });

    it('createExecutionContext returns null', async () => {
      const engine = await buildEngine(mlpModel(), { backend: 'tensorrt', profiles });
      await withFaults('createContext', async () => {
        await expect(InferenceSession.create(engine)).rejects.toMatchObject({
          message: expect.stringMatching(/could not create an execution context[\s\S]*injected fault/),
        });
      });
    });

    it('cudaMalloc fails during a run, and the context recovers', async () => {
      using s = await session();
      const x = new Tensor('float32', randomFloats(32, 4), [4, 8]);
      await withFaults('cudaMalloc', async () => {
        await expect(s.run({ x })).rejects.toMatchObject({
          code: 'ERR_TENSORRT_INTERNAL',
          message: expect.stringMatching(/cudaMalloc\(\d+ bytes\) failed: cudaErrorMemoryAllocation/),
        });
      });
      expect((await s.run({ x })).y!.dims).toEqual([4, 4]);
    });

    it('cudaMallocHost fails during a run', async () => {
      using s = await session();
      await withFaults('cudaMallocHost', async () => {
        await expect(s.run({ x: new Tensor('float32', randomFloats(32, 4), [4, 8]) })).rejects.toThrow(/cudaMallocHost/);
      });
    });

    it('enqueueV3 fails, and the next run succeeds', async () => {
      using s = await session();
      const x = new Tensor('float32', randomFloats(16, 5), [2, 8]);
      const good = await s.run({ x });
      await withFaults('enqueue', async () => {
        await expect(s.run({ x })).rejects.toMatchObject({
          message: expect.stringMatching(/enqueueV3 failed[\s\S]*injected fault: enqueue/),
        });
      });
      expect(Array.from((await s.run({ x })).y!.data as Float32Array)).toEqual(Array.from(good.y!.data as Float32Array));
    });

  });

  it('a kernel that fails on the stream surfaces at the synchronize, and the next run succeeds', async () => {
    using s = await session();
    const x = new Tensor('float32', randomFloats(16, 6), [2, 8]);
    await withFaults('kernel', async () => {
      await expect(s.run({ x })).rejects.toMatchObject({
        code: 'ERR_TENSORRT_INTERNAL',
        message: expect.stringMatching(/cudaStreamSynchronize\) failed: cudaErrorLaunchFailure[\s\S]*injected fault: kernel/),
      });
    });
    expect((await s.run({ x })).y!.dims).toEqual([2, 4]);
  });

  // TrtNetwork's destructor took the builder's lock, which a build of
  // another network of the same builder holds for the whole build, and Network.dispose() runs it
  // on the JavaScript thread: the event loop stopped for the rest of the build.
  it('disposing one network while another network of the same builder builds does not block the event loop', async () => {
    const builder = new Builder({ backend: 'tensorrt' });
    try {
      const parsed = async () => {
        const network = builder.createNetworkV2();
        await builder.createOnnxParser(network).parse(mlpModel());
        return network;
      };
      const building = await parsed();
      const idle = await parsed();
      const config = builder.createBuilderConfig();
      config.addOptimizationProfile(builder.createOptimizationProfile().setDimensions('x', profiles[0]!.x));
      process.env.TNRT_DOUBLE_BUILD_MS = '1500';
      const build = builder.buildSerializedNetwork(building, config);
      await new Promise((resolve) => setTimeout(resolve, 200));  // the build holds the builder now
      const start = performance.now();
      idle.dispose();
      const blockedMs = performance.now() - start;
      await build;
      expect(blockedMs).toBeLessThan(100);
    } finally {
      delete process.env.TNRT_DOUBLE_BUILD_MS;
      builder.dispose();
    }
  });

  describe('engine inspection through IEngineInspector', () => {
    const lenetProfiles = [{ x: { min: [1, 1, 28, 28], opt: [2, 1, 28, 28], max: [4, 1, 28, 28] } }];

    it("reports the layers in detail by default, at profile 0's opt shapes, output types read from the formats", async () => {
      using trt = await InferenceSession.create(await buildEngine(lenetModel(), { backend: 'tensorrt', profiles: lenetProfiles }));
      using sim = await InferenceSession.create(await buildEngine(lenetModel(), { backend: 'sim', profiles: lenetProfiles }), { backend: 'sim' });
      const fromTrt = await trt.engine.inspect();
      const fromSim = await sim.engine.inspect();
      expect(fromTrt).toMatchObject({ backend: 'tensorrt', layerDetail: 'detailed', profilingVerbosity: 'detailed', numLayers: 11 });
      expect(fromTrt.version).toMatch(new RegExp(`^${process.env.TNRT_DOUBLE_TRT_MAJOR}\\.`));
      expect(fromTrt.profiles).toEqual([{ x: lenetProfiles[0]!.x }]);
      expect(fromTrt.io).toEqual(fromSim.io);
      // TensorRT gives formats and concrete dims only through a context whose input shapes are
      // set (IEngineInspector::setExecutionContext): the adapter's, at profile 0's opt batch of
      // 2, where the sim reports -1 for the batch. The double writes no "Precision" key, as
      // TensorRT does not: the reader derived it from the formats.
      const atOpt = fromSim.layers.map((l) => ({
        ...l,
        inputs: l.inputs.map((t) => ({ ...t, dims: t.dims!.map((d) => (d === -1 ? 2 : d)) })),
        outputs: l.outputs.map((t) => ({ ...t, dims: t.dims!.map((d) => (d === -1 ? 2 : d)) })),
      }));
      expect(fromTrt.layers).toEqual(atOpt);
      expect(new Set(fromTrt.layers.map((l) => l.precision))).toEqual(new Set(['FP32']));
    });

    it('without a context to attach, a dynamic engine reports -1 dims and no formats, and inspect says so', async () => {
      // The adapter's private context cannot be made: TensorRT then shows shapes that depend on
      // the inputs as -1 and leaves "Format/Datatype" out (IEngineInspector::setExecutionContext).
      const plan = await buildEngine(lenetModel(), { backend: 'tensorrt', profiles: lenetProfiles });
      using trt = await InferenceSession.create(plan);
      const report = await withFaults('createUserManagedContext', () => trt.engine.inspect());
      expect(report.layerDetail).toBe('detailed');
      // TensorRT writes "N/A due to dynamic shapes" for the formats, which the reader leaves
      // out; the kernel (6x1x5x5 = 150) and bias (6) are the convolution's parameters.
      expect(report.layers[0]).toEqual({
        name: 'Conv_0', type: 'Conv', inputs: [{ name: 'x', dims: [-1, 1, 28, 28] }], outputs: [{ name: 'c1', dims: [-1, 6, 28, 28] }],
        weights: [{ role: 'Weights', type: 'Float', count: 150 }, { role: 'Bias', type: 'Float', count: 6 }],
      });
      expect(report.layers.every((l) => l.precision === undefined)).toBe(true);
      const work = mkdtempSync(join(tmpdir(), 'tnrt-double-noformat-'));
      writeFileSync(join(work, 'lenet.engine'), plan);
      const r = spawnSync(process.execPath, [join(root, 'dist/cli/main.js'), 'inspect', join(work, 'lenet.engine')], { encoding: 'utf8', env: { ...process.env, TNRT_DOUBLE_FAULTS: 'createUserManagedContext' } });
      expect(r.status).toBe(0);
      expect(r.stdout).toMatch(/TensorRT reported no tensor formats, so no precision/);
    });

    it('a context of a detailed plan lowers its NVTX markers to layer names; a plan without details is left alone', async () => {
      // NvInferRuntime.h, setNvtxVerbosity: a context's NVTX verbosity defaults to the plan's,
      // kDETAILED markers add enqueueV3() latency, and it may be lowered but not raised.
      const logged = async (profilingVerbosity: 'detailed' | 'none') => {
        const messages: string[] = [];
        const logger = new Logger({ minSeverity: 'verbose', onMessage: (severity, message) => messages.push(`${severity}: ${message}`) });
        using s = await InferenceSession.create(await buildEngine(mlpModel(), { backend: 'tensorrt', profiles, profilingVerbosity }), { logger });
        await s.run({ x: new Tensor('float32', randomFloats(16, 3), [2, 8]) });
        return messages.filter((m) => /setNvtxVerbosity/.test(m));
      };
      expect(await logged('detailed')).toEqual(['verbose: IExecutionContext::setNvtxVerbosity: NVTX verbosity kLAYER_NAMES_ONLY']);
      expect(await logged('none')).toEqual([]);
    });

    it('lists profile 0 of a plan with two profiles, whose inspector repeats each layer as "NAME [profile 1]"', async () => {
      const two = [profiles[0]!, { x: { min: [5, 8], opt: [6, 8], max: [8, 8] } }];
      using s = await InferenceSession.create(await buildEngine(mlpModel(), { backend: 'tensorrt', profiles: two }));
      const report = await s.engine.inspect();
      expect(report.profiles).toHaveLength(2);
      expect(report.layers.map((l) => l.name)).toEqual(['fc1', 'fc1_bias', 'relu1', 'fc2', 'fc2_bias', 'softmax']);
      // The context attached for the formats is at profile 0's opt batch of 2.
      expect(report.layers[0]!.inputs[0]).toEqual({ name: 'x', dims: [2, 8], format: 'Row major linear FP32' });
    });

    it('reading the report does not hold the engine: a context can be created meanwhile', async () => {
      using s = await session();
      process.env.TNRT_DOUBLE_INSPECT_MS = '1500';
      try {
        const inspecting = s.engine.inspect();
        await new Promise((resolve) => setTimeout(resolve, 200));  // the inspector is reading now
        const start = performance.now();
        const context = s.engine.createExecutionContext();
        const blockedMs = performance.now() - start;
        context.dispose();
        await inspecting;
        expect(blockedMs).toBeLessThan(100);
      } finally {
        delete process.env.TNRT_DOUBLE_INSPECT_MS;
      }
    });

    it('a report that is not JSON still leaves I/O and profiles, and says why the layers are missing', async () => {
      using s = await session();
      process.env.TNRT_DOUBLE_INSPECTOR_TEXT = 'not json';
      try {
        const report = await s.engine.inspect();
        expect(report.io.map((t) => t.name)).toEqual(['x', 'y']);
        expect(report.profiles).toEqual([{ x: profiles[0]!.x }]);
        expect(report).toMatchObject({ layerDetail: 'none', layers: [] });
        expect(report.layerError).toMatch(/not JSON/);
      } finally {
        delete process.env.TNRT_DOUBLE_INSPECTOR_TEXT;
      }
    });

    it('reports names only, or no layers, for plans built with less profiling verbosity', async () => {
      using names = await InferenceSession.create(await buildEngine(mlpModel(), { backend: 'tensorrt', profiles, profilingVerbosity: 'layerNamesOnly' }));
      const named = await names.engine.inspect();
      expect(named.layerDetail).toBe('names');
      // ICudaEngine::getProfilingVerbosity: what the plan says it kept, beside what the report shows.
      expect(named.profilingVerbosity).toBe('layerNamesOnly');
      expect(named.layers.map((l) => l.name)).toEqual(['fc1', 'fc1_bias', 'relu1', 'fc2', 'fc2_bias', 'softmax']);
      expect(named.layers.every((l) => l.type === undefined && l.inputs.length === 0)).toBe(true);
      using none = await InferenceSession.create(await buildEngine(mlpModel(), { backend: 'tensorrt', profiles, profilingVerbosity: 'none' }));
      expect(await none.engine.inspect()).toMatchObject({ layerDetail: 'none', profilingVerbosity: 'none', layers: [] });
    });

    it('the CLI inspects a TensorRT engine and exports it as a Triton tensorrt_plan with batching from its profile', async () => {
      const work = mkdtempSync(join(tmpdir(), 'tnrt-double-triton-'));
      const engineFile = join(work, 'lenet.engine');
      const plan = await buildEngine(lenetModel(), { backend: 'tensorrt', profiles: lenetProfiles });
      writeFileSync(engineFile, plan);
      const cli = (...args: string[]) => spawnSync(process.execPath, [join(root, 'dist/cli/main.js'), ...args], { encoding: 'utf8', env: process.env });
      const inspected = cli('inspect', engineFile);
      expect(inspected.status).toBe(0);
      expect(inspected.stdout).toMatch(/backend tensorrt \d+\.\d+\.\d+; device memory \d+ bytes; 11 layers; 1 profile\(s\)/);
      // At profile 0's opt batch of 2 (the context the adapter attaches to the inspector).
      expect(inspected.stdout).toMatch(/0 +Conv_0 +Conv +FP32 +x 2x1x28x28 \[Weights Float 150, Bias Float 6\] -> c1 2x6x28x28/);
      const exported = cli('export-triton', engineFile, '--repo', join(work, 'repo'));
      expect(exported.stderr).toMatch(/^warning: max_batch_size 4 assumes the first dimension of every input and output is the batch/);
      expect(exported.stderr).not.toMatch(/version-compatible/);
      expect(exported.status).toBe(0);
      expect(readFileSync(join(work, 'repo', 'lenet', '1', 'model.plan')).equals(Buffer.from(plan))).toBe(true);
      const config = readFileSync(join(work, 'repo', 'lenet', 'config.pbtxt'), 'utf8');
      // The profile takes batches 1 to 4, so Triton batches up to 4 and dims leave the batch out.
      expect(config).toMatch(/^platform: "tensorrt_plan"$/m);
      expect(config).toMatch(/^max_batch_size: 4$/m);
      expect(config).toMatch(/name: "x"\n +data_type: TYPE_FP32\n +dims: \[ 1, 28, 28 \]/);
      expect(config).toMatch(/name: "y"\n +data_type: TYPE_FP32\n +dims: \[ 10 \]/);
      expect(config).toMatch(/^dynamic_batching \{ \}$/m);
      const tooBig = cli('export-triton', engineFile, '--repo', join(work, 'repo'), '--force', '--max-batch-size', '8');
      expect(tooBig.status).toBe(2);
      expect(tooBig.stderr).toMatch(/--max-batch-size 8: the engine's profile 0 admits batches up to 4/);
      // Loaded as a version-compatible plan would be: Triton must be told to load such plans.
      const hostCode = cli('export-triton', engineFile, '--repo', join(work, 'repo'), '--force', '--engineHostCodeAllowed');
      expect(hostCode.status).toBe(0);
      expect(hostCode.stderr).toMatch(/--backend-config=tensorrt,version-compatible=true/);
      // trtexec's --profilingVerbosity spelling on build: a names-only plan inspects as such.
      const model = join(work, 'lenet.onnx');
      writeFileSync(model, lenetModel());
      const namesOnly = join(work, 'names.engine');
      expect(cli('build', model, '-o', namesOnly, '--backend', 'tensorrt', '--shapes', 'x:1x1x28x28', '--profilingVerbosity', 'layer_names_only').status).toBe(0);
      const names = cli('inspect', namesOnly);
      expect(names.stdout).toMatch(/layers \(names only: build with profilingVerbosity detailed for more\):\n +0 +Conv_0\n/);
    });
  });

  describe('in a fresh process', () => {
    const model = join(mkdtempSync(join(tmpdir(), 'tnrt-double-')), 'mlp.onnx');
    writeFileSync(model, mlpModel());
    // The child runs dist/ (npm run build:ts), as a user's process would.
    const run = (script: string, faults = '', env: Record<string, string> = {}) =>
      spawnSync(process.execPath, ['--input-type=module', '-e', script], {
        cwd: root,
        encoding: 'utf8',
        env: { ...process.env, TNRT_DOUBLE_FAULTS: faults, TNRT_DOUBLE_REPORT: '1', MODEL: model, ...env },
      });

    it.each([
      ['noDriver', /no NVIDIA driver found/],
      ['noDevice', /no CUDA-capable GPU \(cudaErrorNoDevice/],
      ['oldDriver', /the NVIDIA driver supports CUDA 11\.8, older than the CUDA \d+\.\d+ runtime/],
    ])('%s: backends() says why tensorrt is unavailable and how to fix it', (fault, reason) => {
      const r = run("import { backends } from './dist/index.js'; console.log(JSON.stringify(backends()[1]));", fault);
      const info = JSON.parse(r.stdout.trim().split('\n').pop()!);
      expect(info.available).toBe(false);
      expect(info.reason).toMatch(reason);
    });

    it('a libnvinfer of another major: backend tensorrt is unavailable, naming both versions', () => {
      const r = run("import { backends } from './dist/index.js'; console.log(JSON.stringify(backends()[1]));", '', {
        TNRT_DOUBLE_LIB_VERSION: '90000',
      });
      const info = JSON.parse(r.stdout.trim().split('\n').pop()!);
      expect(info.available).toBe(false);
      expect(info.reason).toMatch(new RegExp(`compiled for TensorRT ${process.env.TNRT_DOUBLE_TRT_MAJOR}, found TensorRT 9\\.0\\.0`));
    });

    it('a libnvinfer older than the headers the adapter was compiled with: unavailable, naming both versions', () => {
      const compiled = backends()[1]!.version; // the double reports its headers' version
      const [major, minor, patch] = compiled.split('.').map(Number) as [number, number, number];
      const encoded = major * 10000 + minor * 100 + patch;
      const probe = (libVersion: number) => {
        const r = run("import { backends } from './dist/index.js'; console.log(JSON.stringify(backends()[1]));", '', {
          TNRT_DOUBLE_LIB_VERSION: String(libVersion),
        });
        return JSON.parse(r.stdout.trim().split('\n').pop()!);
      };
      if (encoded % 10000 > 0) {
        const older = encoded - 1;
        const olderText = `${major}.${Math.floor(older / 100) % 100}.${older % 100}`;
        const info = probe(older);
        expect(info.available).toBe(false);
        expect(info.reason).toContain(`compiled against TensorRT ${compiled} headers, but the libnvinfer loaded is TensorRT ${olderText}`);
        expect(info.reason).toMatch(/Install TensorRT .* or newer, or rebuild the adapter/);
      }
      // A newer release of the same major keeps the ABI: fine.
      expect(probe(encoded + 100)).toMatchObject({ available: true, version: `${major}.${minor + 1}.${patch}` });
    });

    it('every adapter found is tried until one runs: a newer-major file that does not load falls through', async () => {
      const { chooseAdapter, listAdapters } = await import('../../lib/backend.js');
      const { native } = await import('../../lib/native.js');
      const dir = mkdtempSync(join(tmpdir(), 'tnrt-adapters-'));
      const newer = join(dir, `libtensorrt_node_trt${Number(process.env.TNRT_DOUBLE_TRT_MAJOR) + 1}.so`);
      writeFileSync(newer, 'an adapter whose TensorRT is not installed');
      const choice = chooseAdapter([...listAdapters(dir), adapter], (path) => native.probeBackend('tensorrt', path) as never);
      expect(choice.path).toBe(adapter);
      expect(choice.info.available).toBe(true);
    });

    it('a libnvinfer without a symbol the adapter links: backend tensorrt is unavailable, saying why', () => {
      const r = run("import { backends } from './dist/index.js'; console.log(JSON.stringify(backends()[1]));", '', {
        LD_LIBRARY_PATH: `${join(dirname(adapter), 'missing-symbol')}:${process.env.LD_LIBRARY_PATH}`,
      });
      const info = JSON.parse(r.stdout.trim().split('\n').pop()!);
      expect(info.available).toBe(false);
      expect(info.reason).toMatch(/undefined symbol: createInferRuntime_INTERNAL/);
    });

    describe('TensorRT installed from a tarball: beside the adapter, not on LD_LIBRARY_PATH', () => {
      // A directory laid out like TensorRT's tar package lib/: copies, since $ORIGIN is the
      // directory a library was opened from. The adapter finds libnvinfer through its RUNPATH;
      // libnvinfer (no RUNPATH, as since TensorRT 8.4) opens its builder resource by bare name.
      const install = (withResource: boolean) => {
        const from = dirname(adapter);
        const dir = mkdtempSync(join(tmpdir(), 'tnrt-tarball-'));
        for (const f of readdirSync(from)) {
          const wanted = /^lib(nvinfer|nvonnxparser|cudart)\.so\.\d+$/.test(f) || f === basename(adapter) ||
            (withResource && f.startsWith('libnvinfer_builder_resource.so.'));
          if (wanted) copyFileSync(join(from, f), join(dir, f));
        }
        return dir;
      };
      const buildIn = (dir: string) => {
        const r = run(`
          import { readFileSync } from 'node:fs';
          import { backends, buildEngine } from './dist/index.js';
          const info = backends()[1];
          let result;
          try {
            const plan = await buildEngine(readFileSync(process.env.MODEL), { backend: 'tensorrt', profiles: ${JSON.stringify(profiles)} });
            result = { built: plan.length > 0 };
          } catch (e) {
            result = { error: e.message, name: e.name };
          }
          console.log(JSON.stringify({ available: info.available, ...result }));
        `, '', { LD_LIBRARY_PATH: '', TENSORRT_NODE_ADAPTER: join(dir, basename(adapter)) });
        expect(r.status, r.stderr).toBe(0);
        return JSON.parse(r.stdout.trim().split('\n').pop()!);
      };

      it('builds: the builder resource beside libnvinfer is loaded by full path first', () => {
        expect(buildIn(install(true))).toEqual({ available: true, built: true });
      });

      it('without the builder resource, a build fails naming the file, the directory and the fix', () => {
        const dir = install(false);
        const out = buildIn(dir);
        // Engines built elsewhere still run: only building needs the resource.
        expect(out.available).toBe(true);
        expect(out.built).toBeUndefined();
        expect(out.name).toBe('BackendUnavailableError');
        // TensorRT's own error, then what tensorrt-node found and how to fix it.
        expect(out.error).toMatch(/Unable to load library: libnvinfer_builder_resource\.so\.\d+\.\d+\.\d+/);
        expect(out.error).toMatch(/builder needs libnvinfer_builder_resource\.so\.\d+\.\d+\.\d+/);
        expect(out.error).toContain(dir);
        expect(out.error).toMatch(/Install the complete TensorRT release/);
        expect(out.error).toMatch(/add the directory that holds them to LD_LIBRARY_PATH/);
      });
    });

    it('leaves no device memory, pinned memory or stream behind once everything is disposed', () => {
      const r = run(`
        import { readFileSync } from 'node:fs';
        import { buildEngine, InferenceSession, Tensor } from './dist/index.js';
        const engine = await buildEngine(readFileSync(process.env.MODEL), { backend: 'tensorrt', profiles: ${JSON.stringify(profiles)} });
        const s = await InferenceSession.create(engine);
        for (const b of [1, 4, 2]) await s.run({ x: new Tensor('float32', new Float32Array(b * 8), [b, 8]) });
        s.dispose();
      `);
      expect(r.stderr).toMatch(/0 device allocations, 0 pinned allocations, 0 streams, 0 events live/);
    });

    it('runs outputs of data-dependent shape through IOutputAllocator, growing and shrinking, same results', () => {
      // TNRT_DOUBLE_DATA_DEPENDENT=1: the double reports -1 for each output's first dimension.
      const script = `
        import { readFileSync } from 'node:fs';
        import { buildEngine, InferenceSession, Tensor } from './dist/index.js';
        const engine = await buildEngine(readFileSync(process.env.MODEL), { backend: 'tensorrt', profiles: ${JSON.stringify(profiles)} });
        const s = await InferenceSession.create(engine);
        const results = [];
        for (const b of [1, 4, 2, 4]) {
          const x = new Float32Array(b * 8).map((_, i) => Math.sin(i + b));
          const out = await s.run({ x: new Tensor('float32', x, [b, 8]) });
          results.push({ dims: out.y.dims, data: Array.from(out.y.data) });
        }
        s.dispose();
        console.log(JSON.stringify(results));
      `;
      const plain = run(script);
      const dependent = run(script, '', { TNRT_DOUBLE_DATA_DEPENDENT: '1' });
      expect(dependent.status).toBe(0);
      expect(JSON.parse(dependent.stdout.trim().split('\n').pop()!)).toEqual(JSON.parse(plain.stdout.trim().split('\n').pop()!));
      expect(dependent.stderr).toMatch(/0 device allocations, 0 pinned allocations, 0 streams, 0 events live/);
    });
  });

  describe('contract checks abort with the rule they enforce', () => {
    const bin = join(dirname(adapter), 'tnrt_double_contract_check');
    const model = join(mkdtempSync(join(tmpdir(), 'tnrt-double-')), 'mlp.onnx');
    writeFileSync(model, mlpModel());
    const check = (scenario: string) => spawnSync(bin, [scenario, model], { encoding: 'utf8' });

    it('runs clean when every rule is kept', () => {
      const r = check('ok');
      expect(r.stderr).toBe('');
      expect(r.status).toBe(0);
    });

    it.each([
      ['missing-address', 'every I/O tensor has an address (or an output allocator) before enqueueV3'],
      ['missing-shape', 'every dynamic input shape is set (setInputShape) before enqueueV3'],
      ['small-buffer', 'cudaMemcpy: device pointers lie inside one cudaMalloc allocation'],
      ['runtime-before-engine', 'an IRuntime is destroyed after every ICudaEngine it deserialized'],
      ['engine-before-context', 'an ICudaEngine is destroyed after every IExecutionContext created from it'],
      ['network-before-parser', 'an INetworkDefinition is destroyed after the IParser that fills it'],
      ['builder-before-network', 'an IBuilder is destroyed after every INetworkDefinition it created'],
      ['two-threads', 'an IExecutionContext is used by one thread at a time'],
    ])('%s', (scenario, rule) => {
      const r = check(scenario);
      expect(r.signal).toBe('SIGABRT');
      expect(r.stderr).toContain(`CONTRACT VIOLATION: ${rule}`);
    });

    describe('shape-tensor inputs', () => {
      const reshape = join(dirname(model), 'reshape.onnx');
      writeFileSync(
        reshape,
        makeModel({
          opset: 13,
          inputs: [
            { name: 'x', dtype: 'float32', shape: ['n'] },
            { name: 's', dtype: 'int64', shape: [2] },
          ],
          outputs: [{ name: 'y', dtype: 'float32', shape: ['a', 'b'] }],
          nodes: [{ op: 'Reshape', inputs: ['x', 's'], outputs: ['y'] }],
        }),
      );
      const checkShape = (scenario: string) => spawnSync(bin, [scenario, reshape], { encoding: 'utf8' });

      it('run from host memory with values inside the profile; y follows s', () => {
        const r = checkShape('shape-tensor-ok');
        expect(r.stderr).toBe('');
        // y = x = 0..5 reshaped to 2x3: first 0, last 5.
        expect(r.stdout.trim()).toBe('ok 0 5');
      });

      it('bound to device memory abort naming the rule', () => {
        const r = checkShape('shape-tensor-device');
        expect(r.signal).toBe('SIGABRT');
        expect(r.stderr).toContain('CONTRACT VIOLATION: a shape-tensor input (isShapeInferenceIO, TensorLocation::kHOST) is bound to host memory');
      });

      it('with values outside the profile are refused as TensorRT refuses them', () => {
        const r = checkShape('shape-tensor-outside');
        expect(r.status).toBe(0);
        expect(r.stdout.trim()).toBe('refused');
        expect(r.stderr).toMatch(/values of shape tensor s are not inside optimization profile 0/);
      });
    });

    it('a member the double does not model names itself', () => {
      const r = check('unimplemented');
      expect(r.signal).toBe('SIGABRT');
      expect(r.stderr).toContain('nvinfer1::apiv::VCudaEngine::isRefittable is not implemented by the double');
    });
  });
});
