/**
 * The options a Builder or Runtime takes when it is created and keeps for its life: the CUDA
 * device and the plugin libraries (and, for a runtime, whether plans may carry host code).
 * Validated here once for Builder, Runtime, buildEngine and InferenceSession.
 */
import { statSync } from 'node:fs';
import { resolve } from 'node:path';

import { InvalidArgumentError } from './errors.js';
import type { NativeCreateOptions } from './native.js';
import { expectInteger, invalid } from './validate.js';

/** What Builder, Runtime, buildEngine and InferenceSession take. */
export interface DeviceAndPluginOptions {
  /**
   * The CUDA device (index as CUDA numbers them, after CUDA_VISIBLE_DEVICES) that every CUDA
   * and TensorRT call of this object, and of the networks, engines and contexts it makes, runs
   * on. Default 0. An index the machine does not have is an InvalidArgumentError saying how
   * many devices there are. The sim has one device, 0.
   */
  device?: number;
  /**
   * Plugin libraries to load before parsing or deserializing, as trtexec's --dynamicPlugins:
   * paths to shared libraries that register TensorRT plugin creators (TensorRT's standard
   * plugins, libnvinfer_plugin, are always registered). Each must exist (relative paths resolve
   * against the working directory); one TensorRT cannot load is an InvalidArgumentError naming
   * it. Libraries stay loaded for the life of the process. The sim cannot run TensorRT plugins:
   * it checks that the files exist and logs a warning that it does not load them.
   */
  plugins?: readonly string[];
}

/**
 * Validates `device` and `plugins` and returns them in the addon's form.
 * @throws InvalidArgumentError for a device that is not an integer >= 0, plugins that are not
 *   an array of non-empty strings, or a plugin library that does not exist
 */
export function resolveCreateOptions(options: DeviceAndPluginOptions, what: string): NativeCreateOptions {
  const device = options.device === undefined ? 0 : expectInteger(options.device, `${what} option device`, 0, 1_000_000);
  const plugins: string[] = [];
  if (options.plugins !== undefined) {
    if (!Array.isArray(options.plugins)) invalid('an array of plugin library paths', `${what} option plugins`, options.plugins);
    for (const [i, entry] of (options.plugins as unknown[]).entries()) {
      if (typeof entry !== 'string' || entry.length === 0) invalid('a non-empty string (a plugin library path)', `${what} option plugins[${i}]`, entry);
      const path = resolve(entry);
      let isFile = false;
      try {
        isFile = statSync(path).isFile();
      } catch {
        // reported below
      }
      if (!isFile) throw new InvalidArgumentError(`the plugin library ${entry} does not exist (looked for ${path}); pass the path of a TensorRT plugin library (.so or .dll) in ${what} option plugins`);
      if (!plugins.includes(path)) plugins.push(path);
    }
  }
  return { device, plugins };
}
