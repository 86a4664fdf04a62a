/** Command-line parsing shared by the commands: node's parseArgs, with usage errors typed. */
import { parseArgs } from 'node:util';

import { BACKEND_OPTIONS, type BackendOption } from '../backend.js';

/** A mistake on the command line: printed with a pointer to --help, exit code 2. */
export class UsageError extends Error {}

type Options = Record<string, { type: 'string' | 'boolean'; short?: string; multiple?: boolean }>;

export function parseCommandLine<T extends Options>(args: string[], options: T): ReturnType<typeof parseArgs<{ args: string[]; options: T; allowPositionals: true; strict: true }>> {
  try {
    return parseArgs({ args, options, allowPositionals: true, strict: true });
  } catch (error) {
    throw new UsageError((error as Error).message);
  }
}

/** The --backend value, checked. */
export function backendOption(value: string | undefined): BackendOption | undefined {
  if (value !== undefined && !BACKEND_OPTIONS.includes(value as BackendOption)) throw new UsageError(`--backend must be one of ${BACKEND_OPTIONS.join(', ')}`);
  return value as BackendOption | undefined;
}
