// Which TensorRT adapter the addon loads, and how one is built: every adapter found is tried
// until one runs, an old adapter does not survive a rebuild, the versioned libnvinfer soname is
// linked, and the CUDA toolkit must have the major TensorRT was built for. None of it needs
// TensorRT: adapters are fake files, TensorRT installs are fake directories CMake configures
// against (test/tensorrt-double/double.test.ts loads a real adapter through the same code).
import { spawnSync } from 'node:child_process';
import { existsSync, mkdirSync, mkdtempSync, readdirSync, readFileSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';

import { afterEach, describe, expect, it } from 'vitest';

import { chooseAdapter, listAdapters, type BackendInfo } from '../lib/backend.js';
import { native } from '../lib/native.js';
// @ts-expect-error: a plain .mjs script without type declarations
import { buildAdapter, removeStaleAdapters, tensorRtCudaMajor } from '../scripts/build-adapter.mjs';

const root = new URL('..', import.meta.url).pathname;
const so = process.platform === 'win32' ? (m: number) => `tensorrt_node_trt${m}.dll` : (m: number) => `libtensorrt_node_trt${m}.so`;

function dirWith(files: Record<string, string>): string {
  const dir = mkdtempSync(join(tmpdir(), 'tnrt-adapters-'));
  for (const [name, text] of Object.entries(files)) writeFileSync(join(dir, name), text);
  return dir;
}

describe('choosing the adapter', () => {
  it('lists one adapter per TensorRT major, newest first, and nothing else', () => {
    const dir = dirWith({ [so(10)]: '', [so(11)]: '', [so(9)]: '', [`${so(12)}.bak`]: '', 'libnvinfer.so.10': '' });
    expect(listAdapters(dir)).toEqual([join(dir, so(11)), join(dir, so(10)), join(dir, so(9))]);
    expect(listAdapters(join(dir, 'missing'))).toEqual([]);
  });

  it('falls through to the next adapter when the newest cannot run', () => {
    const tried: string[] = [];
    const probe = (path: string): BackendInfo => {
      tried.push(path);
      return path.endsWith(so(11))
        ? { name: 'tensorrt', version: '', available: false, reason: 'libnvinfer.so.11: cannot open shared object file' }
        : { name: 'tensorrt', version: '10.16.0', available: true };
    };
    const choice = chooseAdapter(['/a/' + so(11), '/a/' + so(10), '/a/' + so(9)], probe);
    expect(choice.path).toBe('/a/' + so(10));
    expect(choice.info).toMatchObject({ available: true, version: '10.16.0' });
    expect(tried).toEqual(['/a/' + so(11), '/a/' + so(10)]); // the first that runs ends the search
  });

  it('through the native loader: files that do not load are each reported, with their own reason', () => {
    const dir = dirWith({ [so(11)]: 'not a library', [so(10)]: '' });
    const probe = (path: string) => native.probeBackend('tensorrt', path) as BackendInfo;
    const choice = chooseAdapter(listAdapters(dir), probe);
    expect(choice.path).toBeUndefined();
    expect(choice.info.available).toBe(false);
    const [first, ...rest] = choice.info.reason!.split('\n');
    expect(first).toBe(`none of the 2 TensorRT adapters built here can run (${so(11)}, ${so(10)}):`);
    const details = rest.join('\n');
    expect(details).toContain(`${join(dir, so(11))}: could not load the TensorRT adapter ${join(dir, so(11))}`);
    expect(details).toContain(`${join(dir, so(10))}: could not load the TensorRT adapter ${join(dir, so(10))}`);
  });

  it('with no adapter built, says how to build one', () => {
    const choice = chooseAdapter([], () => {
      throw new Error('not called');
    });
    expect(choice.info.reason).toMatch(/adapter was not built[\s\S]*TENSORRT_ROOT/);
  });
});

describe('building the adapter', () => {
  const saved = { ...process.env };
  afterEach(() => {
    process.env = { ...saved };
  });

  it('a rebuild removes every adapter an earlier one left, whatever its major', async () => {
    const dir = dirWith({ [so(10)]: '', [so(11)]: '', 'libtensorrt_node_trt11.so': '', 'tensorrt_node_trt10.dll': '', 'keep.txt': '' });
    expect(removeStaleAdapters(dir).length).toBeGreaterThanOrEqual(3);
    expect(readdirSync(dir)).toEqual(['keep.txt']);

    // Even when TensorRT is gone: the old adapter must not be tried.
    writeFileSync(join(dir, 'libtensorrt_node_trt11.so'), '');
    process.env.TENSORRT_ROOT = join(dir, 'no-tensorrt-here');
    delete process.env.TENSORRT_NODE_SKIP_ADAPTER;
    const result = await buildAdapter({ quiet: true, libDir: dir });
    expect(result.built).toBe(false);
    expect(readdirSync(dir)).toEqual(['keep.txt']);
  });

  describe('the CUDA major TensorRT was built for', () => {
    it('is what TENSORRT_NODE_CUDA_MAJOR says', () => {
      expect(tensorRtCudaMajor({ major: '10', libraryDir: '/nowhere' }, { TENSORRT_NODE_CUDA_MAJOR: '12' })).toEqual({
        major: '12',
        source: 'TENSORRT_NODE_CUDA_MAJOR',
      });
    });

    it('is read from a tar package directory name', () => {
      const trt = { root: '/opt/TensorRT-10.16.0.72.Linux.x86_64-gnu.cuda-13.0', major: '10', libraryDir: '/opt/TensorRT-10.16.0.72.Linux.x86_64-gnu.cuda-13.0/lib' };
      expect(tensorRtCudaMajor(trt, {})?.major).toBe('13');
    });

    it('is read from the CUDA sonames libnvinfer names, when they agree', () => {
      const lib = mkdtempSync(join(tmpdir(), 'tnrt-nvinfer-'));
      // The names sit among binary noise, one of them across a 4 MiB read boundary.
      const noise = Buffer.alloc((1 << 22) - 5, 0xab);
      writeFileSync(join(lib, 'libnvinfer.so.10'), Buffer.concat([noise, Buffer.from('libcublasLt.so.12\0\x01libnvrtc.so.12\0')]));
      expect(tensorRtCudaMajor({ major: '10', libraryDir: lib }, {})?.major).toBe('12');
      writeFileSync(join(lib, 'libnvinfer.so.10'), Buffer.from('\0libcudart.so.12\0libcublas.so.13\0'));
      expect(tensorRtCudaMajor({ major: '10', libraryDir: lib }, {})).toBeUndefined();
    });
  });

  // CMakeLists.txt configured (not built) against a fake TensorRT install: headers that say
  // 11.1.0, libraries that are empty files. Configuring needs CMake and the CUDA toolkit.
  const cuda = process.env.CUDA_PATH ?? '/usr/local/cuda';
  const hasCmake = spawnSync('cmake', ['--version']).status === 0 && existsSync(join(cuda, 'include', 'cuda_runtime_api.h'));
  describe.skipIf(!hasCmake)('CMakeLists.txt', () => {
    const fake = mkdtempSync(join(tmpdir(), 'tnrt-fake-tensorrt-'));
    mkdirSync(join(fake, 'include'));
    mkdirSync(join(fake, 'lib'));
    writeFileSync(join(fake, 'include', 'NvInferVersion.h'), '#define NV_TENSORRT_MAJOR 11\n#define NV_TENSORRT_MINOR 1\n#define NV_TENSORRT_PATCH 0\n');
    writeFileSync(join(fake, 'include', 'NvOnnxParser.h'), '');
    // The dev symlink of another major beside the right versioned soname.
    for (const f of ['libnvinfer.so', 'libnvinfer.so.11', 'libnvonnxparser.so', 'libnvonnxparser.so.11']) writeFileSync(join(fake, 'lib', f), '');
    const cudaMajor = Math.floor(Number(/#define\s+CUDART_VERSION\s+(\d+)/.exec(readFileSync(join(cuda, 'include', 'cuda_runtime_api.h'), 'utf8'))![1]) / 1000);
    const configure = (cudaMajorOfTensorRt: number) => {
      const build = mkdtempSync(join(tmpdir(), 'tnrt-cmake-'));
      const env = { ...process.env };
      delete env.TENSORRT_NODE_CUDA_MAJOR;
      const r = spawnSync('cmake', ['-S', root, '-B', build, `-DTENSORRT_ROOT=${fake}`, `-DTNRT_CUDA_MAJOR=${cudaMajorOfTensorRt}`], { encoding: 'utf8', env });
      const cache = existsSync(join(build, 'CMakeCache.txt')) ? readFileSync(join(build, 'CMakeCache.txt'), 'utf8') : '';
      return { status: r.status, output: `${r.stdout}${r.stderr}`.replace(/\s+/g, ' '), cache };
    };

    it('links the versioned libnvinfer soname, not the unversioned symlink', () => {
      const r = configure(cudaMajor);
      expect(r.status, r.output).toBe(0);
      expect(r.cache).toContain(`TensorRT_NVINFER_LIBRARY:FILEPATH=${join(fake, 'lib', 'libnvinfer.so.11')}`);
      expect(r.cache).toContain(`TensorRT_NVONNXPARSER_LIBRARY:FILEPATH=${join(fake, 'lib', 'libnvonnxparser.so.11')}`);
      expect(r.output).toContain(`CUDA runtime ${cudaMajor}.`);
    });

    it('refuses a CUDA toolkit of another major than TensorRT was built for, naming both and the fix', () => {
      const r = configure(cudaMajor - 1);
      expect(r.status).not.toBe(0);
      expect(r.output).toContain(`TensorRT 11.1.0 was built for CUDA ${cudaMajor - 1}, but the CUDA toolkit found`);
      expect(r.output).toMatch(new RegExp(`is CUDA ${cudaMajor}\\.\\d+\\. Install CUDA ${cudaMajor - 1} and set CUDAToolkit_ROOT`));
    });
  });
});
