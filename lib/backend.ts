/**
 * Backend selection. Policy lives here, not in C++: which backend 'auto' means, where the
 * TensorRT adapter library is looked for, and the one warning when auto falls back to the sim.
 */
import { readdirSync } from 'node:fs';
import { basename, join } from 'node:path';

import { BackendUnavailableError } from './errors.js';
import type { Logger } from './logger.js';
import { native, packageRoot, type NativeBackendInfo } from './native.js';
import { expectOneOf } from './validate.js';

export type BackendName = 'sim' | 'tensorrt';
export type BackendOption = 'auto' | BackendName;
export const BACKEND_OPTIONS: readonly BackendOption[] = ['auto', 'tensorrt', 'sim'];

export interface BackendInfo {
  name: BackendName;
  /** The sim's version, or TensorRT's ("10.16.0"). Empty when unavailable. */
  version: string;
  available: boolean;
  /** Why the backend is unavailable, with the fix. */
  reason?: string;
  /**
   * Whether the fp16/int8 builder flags and INT8 calibrators work: true for the sim and
   * TensorRT 10, false for TensorRT 11 (use convertToFloat16 / quantizeInt8 there).
   */
  implicitPrecision?: boolean;
}

/** A resolved choice: which backend, and for tensorrt which adapter library. */
export interface ResolvedBackend {
  name: BackendName;
  adapterPath: string;
}

/** The adapter's file name on this platform: libtensorrt_node_trt10.so, tensorrt_node_trt10.dll. */
const ADAPTER_FILE = process.platform === 'win32' ? /^tensorrt_node_trt(\d+)\.dll$/ : /^libtensorrt_node_trt(\d+)\.so$/;

/** Where `npm install` builds the adapters. */
export const ADAPTER_DIR = join(packageRoot, 'build-tensorrt', 'lib');

/**
 * The adapter libraries in `dir`, one per TensorRT major, newest major first. Empty when there
 * are none (or no such directory).
 */
export function listAdapters(dir: string = ADAPTER_DIR): string[] {
  let names: string[];
  try {
    names = readdirSync(dir);
  } catch {
    return [];
  }
  return names
    .map((name) => ({ name, major: Number(ADAPTER_FILE.exec(name)?.[1] ?? NaN) }))
    .filter((a) => Number.isFinite(a.major))
    .sort((a, b) => b.major - a.major)
    .map((a) => join(dir, a.name));
}

/**
 * The adapters to try, in order: TENSORRT_NODE_ADAPTER if set, else every adapter `npm install`
 * built into build-tensorrt/lib, newest TensorRT major first.
 */
export function adapterCandidates(): string[] {
  const override = process.env.TENSORRT_NODE_ADAPTER;
  return override ? [override] : listAdapters();
}

/** The outcome of trying adapters: the one that runs here (path set), or why none does. */
export interface AdapterChoice {
  path?: string;
  info: BackendInfo;
}

/**
 * Tries each candidate adapter in order and takes the first that loads and can run: a machine
 * may hold adapters for two TensorRT majors and the libraries of only one (or a GPU driver too
 * old for the newer one). When none runs, the reason lists every candidate's reason.
 */
export function chooseAdapter(candidates: readonly string[], probeOne: (path: string) => BackendInfo): AdapterChoice {
  if (candidates.length === 0) return { info: { name: 'tensorrt', version: '', available: false, reason: NOT_BUILT } };
  const failures: { path: string; info: BackendInfo }[] = [];
  for (const path of candidates) {
    const info = probeOne(path);
    if (info.available) return { path, info };
    failures.push({ path, info });
  }
  if (failures.length === 1) return { info: failures[0]!.info };
  // The first line stands alone in the auto-fallback warning; the rest is for `backends`.
  const reason =
    `none of the ${failures.length} TensorRT adapters built here can run (${failures.map((f) => basename(f.path)).join(', ')}):\n` +
    failures.map((f) => `${f.path}: ${f.info.reason ?? 'unavailable'}`).join('\n\n');
  return { info: { ...failures[0]!.info, reason } };
}

/**
 * The adapter that runs here, if any (the one `backend: 'tensorrt'` uses): the first of
 * `adapterCandidates()` that loads. Undefined when none was built or none runs.
 */
export function findAdapter(): string | undefined {
  return probeTensorRt().path;
}

const NOT_BUILT =
  'the TensorRT adapter was not built: TensorRT was not found when tensorrt-node was installed.\n' +
  'Possible solutions:\n' +
  '- Install TensorRT 10 or 11, set TENSORRT_ROOT to its directory, and run `npm rebuild tensorrt-node`\n' +
  '- Or point TENSORRT_NODE_ADAPTER at a built libtensorrt_node_trtN.so\n' +
  "- Or use the CPU simulator: backend 'sim' (or TENSORRT_NODE_BACKEND=sim)";

// Loading an adapter is attempted once per path and process; so is a failure.
const probed = new Map<string, BackendInfo>();

function probeAdapter(path: string): BackendInfo {
  let info = probed.get(path);
  if (!info) {
    info = toInfo(native.probeBackend('tensorrt', path));
    probed.set(path, info);
  }
  return info;
}

function probeTensorRt(): AdapterChoice {
  return chooseAdapter(adapterCandidates(), probeAdapter);
}

function probe(name: BackendName): BackendInfo {
  if (name === 'sim') return toInfo(native.probeBackend('sim', ''));
  return probeTensorRt().info;
}

function toInfo(n: NativeBackendInfo): BackendInfo {
  const info: BackendInfo = { name: n.name as BackendName, version: n.version, available: n.available, implicitPrecision: n.implicitPrecision };
  if (n.reason) info.reason = n.reason;
  return info;
}

/**
 * Every backend, whether it can run here, its version, and if not, why and how to fix it.
 * Loading the TensorRT adapter is attempted once per process.
 */
export function backends(): BackendInfo[] {
  return [probe('sim'), probe('tensorrt')];
}

/**
 * Turns a backend option (or TENSORRT_NODE_BACKEND, or 'auto') into a concrete backend.
 * 'auto' takes TensorRT when it loads and otherwise the sim, warning once through `logger`.
 *
 * @throws InvalidArgumentError for an unknown name; BackendUnavailableError when 'tensorrt'
 *   was asked for explicitly and cannot load
 */
export function resolveBackend(option: unknown, logger: Logger): ResolvedBackend {
  const fromEnv = process.env.TENSORRT_NODE_BACKEND;
  const requested =
    option !== undefined
      ? expectOneOf(option, BACKEND_OPTIONS, 'backend')
      : fromEnv
        ? expectOneOf(fromEnv, BACKEND_OPTIONS, 'TENSORRT_NODE_BACKEND')
        : 'auto';
  if (requested === 'sim') return { name: 'sim', adapterPath: '' };
  const { path, info: trt } = probeTensorRt();
  if (path) return { name: 'tensorrt', adapterPath: path };
  if (requested === 'tensorrt') throw new BackendUnavailableError(`The tensorrt backend is unavailable: ${trt.reason}`);
  // One line: the full reason, with its list of fixes, is a `npx tensorrt-node backends` away.
  const why = (trt.reason ?? '').split('\n')[0];
  logger.warnOnce('auto-fallback', `TensorRT is unavailable, using the sim (CPU) backend: ${why} (details: npx tensorrt-node backends)`);
  return { name: 'sim', adapterPath: '' };
}
