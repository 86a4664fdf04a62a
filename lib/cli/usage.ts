/** Command-line parsing shared by the commands: node's parseArgs, with usage errors typed. */
import { parseArgs } from 'node:util';

import { BACKEND_OPTIONS, type BackendOption } from '../backend.js';

/** A mistake on the command line: printed with a pointer to --help, exit code 2. */
export class UsageError extends Error {}

/** A check the user asked for (such as --fail-below) did not pass: exit status 1, the message, no stack. */
export class CheckFailedError extends Error {}

type Options = Record<string, { type: 'string' | 'boolean'; short?: string; multiple?: boolean }>;

export function parseCommandLine<T extends Options>(args: string[], options: T): ReturnType<typeof parseArgs<{ args: string[]; options: T; allowPositionals: true; strict: true }>> {
  try {
    return parseArgs({ args, options, allowPositionals: true, strict: true });
  } catch (error) {
    // node's messages run over several lines; the CLI reports a mistake in one.
    throw new UsageError((error as Error).message.replace(/\s*\n\s*/g, ' '));
  }
}

/** The --backend value, checked. */
export function backendOption(value: string | undefined): BackendOption | undefined {
  if (value !== undefined && !BACKEND_OPTIONS.includes(value as BackendOption)) throw new UsageError(`--backend must be one of ${BACKEND_OPTIONS.join(', ')}`);
  return value as BackendOption | undefined;
}

/** Options every command that makes a builder or runtime takes (trtexec spells --plugins --dynamicPlugins). */
export const DEVICE_AND_PLUGIN_OPTIONS = {
  device: { type: 'string' },
  plugins: { type: 'string', multiple: true },
  dynamicPlugins: { type: 'string', multiple: true },
} as const;

export const DEVICE_AND_PLUGIN_HELP = `  --device N                 the CUDA device to use (default 0)
  --plugins LIBS             plugin libraries to load, comma-separated or repeated
                             (trtexec's --dynamicPlugins is accepted too)`;

/** --device and --plugins/--dynamicPlugins as buildEngine and InferenceSession take them. */
export function deviceAndPlugins(values: { device?: string; plugins?: string[]; dynamicPlugins?: string[] }): { device?: number; plugins?: string[] } {
  const out: { device?: number; plugins?: string[] } = {};
  if (values.device !== undefined) {
    const device = Number(values.device);
    if (!Number.isInteger(device) || device < 0) throw new UsageError('--device takes an integer >= 0');
    out.device = device;
  }
  const plugins = [...(values.plugins ?? []), ...(values.dynamicPlugins ?? [])].flatMap((v) => v.split(',')).filter((p) => p.length > 0);
  if (plugins.length > 0) out.plugins = plugins;
  return out;
}
