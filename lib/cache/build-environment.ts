/**
 * What a plan depends on besides the model and the options: the backend and its version, the
 * GPU it was built for, and this package's version. A TensorRT plan runs only on the GPU
 * model and TensorRT version that built it; the sim's plans run anywhere, so its "GPU" is
 * 'cpu'.
 */
import { execFile } from 'node:child_process';
import { readFileSync } from 'node:fs';
import { readdir, readFile } from 'node:fs/promises';
import { hostname } from 'node:os';
import { join } from 'node:path';

import { backends, type BackendName } from '../backend.js';
import type { Logger } from '../logger.js';
import { packageRoot } from '../native.js';

/** The GPU a plan is for: its name and compute capability when they can be found out. */
export type GpuIdentity = Record<string, string | number | string[]>;

export interface BuildEnvironment {
  backend: { name: BackendName; version: string };
  gpu: GpuIdentity;
  package: { name: string; version: string };
}

let override: Partial<BuildEnvironment> | undefined;

/**
 * @internal Replaces parts of what describeBuildEnvironment reports (undefined restores the
 * real values): tests use it to stand for another GPU, backend version or package version on
 * a machine that has only one of each.
 */
export function overrideBuildEnvironment(patch: Partial<BuildEnvironment> | undefined): void {
  override = patch;
}

let packageIdentity: BuildEnvironment['package'] | undefined;

function readPackageIdentity(): BuildEnvironment['package'] {
  if (!packageIdentity) {
    const json = JSON.parse(readFileSync(join(packageRoot, 'package.json'), 'utf8')) as { name: string; version: string };
    packageIdentity = { name: json.name, version: json.version };
  }
  return packageIdentity;
}

/** The environment a build on `backend` (already resolved from 'auto') for CUDA device `device` depends on. */
export async function describeBuildEnvironment(backend: BackendName, device: number, logger: Logger): Promise<BuildEnvironment> {
  const version = backends().find((b) => b.name === backend)?.version ?? '';
  return {
    backend: { name: backend, version },
    gpu: backend === 'sim' ? { name: 'cpu' } : await identifyGpu(device, logger),
    package: readPackageIdentity(),
    ...override,
  };
}

/** One GPU as the driver reports it. */
export interface GpuInfo {
  name: string;
  computeCapability: string;
}

let gpuList: Promise<GpuInfo[]> | undefined;

/** The GPU of CUDA device `device` (see gpuIdentity); a host name where the driver cannot be asked. */
async function identifyGpu(device: number, logger: Logger): Promise<GpuIdentity> {
  gpuList ??= listGpus();
  const identity = gpuIdentity(await gpuList, device);
  if (identity) return identity;
  logger.warnOnce('engine-cache-gpu', 'the engine cache cannot identify the GPU (nvidia-smi gave no answer): its entries are keyed to this host name instead');
  return { name: 'unidentified', host: hostname() };
}

/**
 * @internal The identity of CUDA device `device` among `gpus` (undefined when none are known).
 * nvidia-smi numbers GPUs in PCI order, CUDA (by default) fastest first, so an index cannot be
 * mapped from one to the other. Where every GPU is the same model that does not matter; on a
 * machine with mixed GPUs the identity names them all plus the device index and the variables
 * that order CUDA's devices: the cache then misses more often, but never hands a plan to a GPU
 * it was not built for.
 */
export function gpuIdentity(gpus: readonly GpuInfo[], device: number): GpuIdentity | undefined {
  if (gpus.length === 0) return undefined;
  const models = [...new Set(gpus.map((g) => `${g.name} (compute capability ${g.computeCapability})`))].sort();
  if (models.length === 1) return { name: gpus[0]!.name, computeCapability: gpus[0]!.computeCapability };
  return {
    gpus: models,
    device,
    cudaVisibleDevices: process.env.CUDA_VISIBLE_DEVICES ?? '',
    cudaDeviceOrder: process.env.CUDA_DEVICE_ORDER ?? '',
  };
}

/** @internal The GPUs in `nvidia-smi --query-gpu=name,compute_cap --format=csv,noheader` output. */
export function parseGpuList(csv: string): GpuInfo[] {
  const gpus: GpuInfo[] = [];
  for (const line of csv.split('\n')) {
    // GPU names may hold commas; the compute capability never does.
    const comma = line.lastIndexOf(',');
    const computeCapability = line.slice(comma + 1).trim();
    if (comma > 0 && /^\d+\.\d+$/.test(computeCapability)) gpus.push({ name: line.slice(0, comma).trim(), computeCapability });
  }
  return gpus;
}

/** Every GPU the driver reports, or [] when it cannot be asked. */
async function listGpus(): Promise<GpuInfo[]> {
  const fromSmi = await new Promise<string>((resolve) => {
    execFile('nvidia-smi', ['--query-gpu=name,compute_cap', '--format=csv,noheader'], { timeout: 10_000, windowsHide: true }, (error, stdout) => resolve(error ? '' : stdout));
  });
  const gpus = parseGpuList(fromSmi);
  if (gpus.length > 0) return gpus;
  // Older drivers and some embedded systems lack nvidia-smi (or its compute_cap field); the
  // kernel driver still names each GPU.
  try {
    const dir = '/proc/driver/nvidia/gpus';
    for (const bus of await readdir(dir)) {
      const model = /^Model:\s*(.+)$/m.exec(await readFile(join(dir, bus, 'information'), 'utf8'))?.[1];
      if (model) gpus.push({ name: model.trim(), computeCapability: 'unknown' });
    }
  } catch {
    // No NVIDIA driver here: the caller keys the entry to the host.
  }
  return gpus;
}
