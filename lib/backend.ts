/**
 * Backend selection. Policy lives here, not in C++: which backend 'auto' means, where the
 * TensorRT adapter library is looked for, and the one warning when auto falls back to the sim.
 */
import { existsSync } from 'node:fs';
import { join } from 'node:path';

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

const ADAPTER_MAJORS = [11, 10];

/**
 * Where the TensorRT adapter is: TENSORRT_NODE_ADAPTER if set, else the newest one that
 * `npm install` built into build-tensorrt/lib. Undefined when none was built.
 */
export function findAdapter(): string | undefined {
  const override = process.env.TENSORRT_NODE_ADAPTER;
  if (override) return override;
  for (const major of ADAPTER_MAJORS) {
    const candidate = join(packageRoot, 'build-tensorrt', 'lib', `libtensorrt_node_trt${major}.so`);
    if (existsSync(candidate)) return candidate;
  }
  return undefined;
}

const NOT_BUILT =
  'the TensorRT adapter was not built: TensorRT was not found when tensorrt-node was installed.\n' +
  'Possible solutions:\n' +
  '- Install TensorRT 10 or 11, set TENSORRT_ROOT to its directory, and run `npm rebuild tensorrt-node`\n' +
  '- Or point TENSORRT_NODE_ADAPTER at a built libtensorrt_node_trtN.so\n' +
  "- Or use the CPU simulator: backend 'sim' (or TENSORRT_NODE_BACKEND=sim)";

const probed = new Map<string, BackendInfo>();

function probe(name: BackendName): BackendInfo {
  if (name === 'sim') return toInfo(native.probeBackend('sim', ''));
  const path = findAdapter();
  if (!path) return { name, version: '', available: false, reason: NOT_BUILT };
  let info = probed.get(path);
  if (!info) {
    info = toInfo(native.probeBackend('tensorrt', path));
    probed.set(path, info);
  }
  return info;
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
  const trt = probe('tensorrt');
  if (trt.available) return { name: 'tensorrt', adapterPath: findAdapter()! };
  if (requested === 'tensorrt') throw new BackendUnavailableError(`The tensorrt backend is unavailable: ${trt.reason}`);
  // One line: the full reason, with its list of fixes, is a `npx tensorrt-node backends` away.
  const why = (trt.reason ?? '').split('\n')[0];
  logger.warnOnce('auto-fallback', `TensorRT is unavailable, using the sim (CPU) backend: ${why} (details: npx tensorrt-node backends)`);
  return { name: 'sim', adapterPath: '' };
}
