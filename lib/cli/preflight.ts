/**
 * Checks made before a long operation, so that a mistake in a path or a missing shape costs
 * the user one line and no build time: files that must be readable, outputs that must be
 * writable, dynamic inputs that need shapes.
 */
import { constants } from 'node:fs';
import { access, readFile, stat } from 'node:fs/promises';
import { dirname, resolve } from 'node:path';

import { readModel } from '../onnx/model-io.js';
import { UsageError } from './usage.js';

function reason(error: unknown): string {
  const code = (error as NodeJS.ErrnoException).code;
  return code === 'ENOENT' ? 'no such file' : code === 'EACCES' || code === 'EPERM' ? 'permission denied' : code === 'EISDIR' ? 'it is a directory' : (error as Error).message;
}

/** The bytes of a file the user named with `flag`; a UsageError naming both when unreadable. */
export async function readUserFile(path: string, flag: string): Promise<Uint8Array> {
  try {
    return await readFile(path);
  } catch (error) {
    throw new UsageError(`${flag}: cannot read ${path} (${reason(error)}); give the path of an existing file`);
  }
}

/** A file the user named must exist and be a readable file. */
export async function checkReadableFile(path: string, flag: string): Promise<void> {
  try {
    if ((await stat(path)).isDirectory()) throw Object.assign(new Error(), { code: 'EISDIR' });
    await access(path, constants.R_OK);
  } catch (error) {
    throw new UsageError(`${flag}: cannot read ${path} (${reason(error)}); give the path of an existing file`);
  }
}

/** An output file path: not a directory, in a directory that exists and is writable. */
export async function checkWritableFile(path: string, flag: string): Promise<void> {
  const existing = await stat(path).catch(() => undefined);
  if (existing?.isDirectory()) throw new UsageError(`${flag}: ${path} is a directory; give a file path, e.g. ${resolve(path, 'model.engine')}`);
  if (existing) {
    await access(path, constants.W_OK).catch(() => {
      throw new UsageError(`${flag}: ${path} exists and is not writable; choose another path or fix its permissions`);
    });
    return;
  }
  await checkWritableDirectory(dirname(resolve(path)), flag, path);
}

/** A directory to write into (`of`: the path the user gave, for the message). */
export async function checkWritableDirectory(dir: string, flag: string, of = dir): Promise<void> {
  const info = await stat(dir).catch(() => undefined);
  if (!info) throw new UsageError(`${flag}: the directory ${dir} of ${of} does not exist; create it first or choose another path`);
  if (!info.isDirectory()) throw new UsageError(`${flag}: ${dir} is not a directory`);
  await access(dir, constants.W_OK).catch(() => {
    throw new UsageError(`${flag}: cannot write in ${dir} (permission denied); choose another path`);
  });
}

/**
 * A model whose inputs have dynamic dimensions needs a shape for each: say which flags give
 * them, before the build would fail for want of an optimization profile. `shaped` are the
 * inputs --shapes or --min/--opt/--max-shapes name; `rangesToo` says whether the command takes
 * the latter. A model that does not read is left for the build to report.
 */
export async function checkDynamicInputsShaped(modelPath: string, shaped: ReadonlySet<string>, rangesToo = true): Promise<void> {
  let graph;
  try {
    graph = (await readModel(modelPath, { loadExternalData: false })).model.graph;
  } catch {
    return;
  }
  if (!graph) return;
  const initializers = new Set(graph.initializer.map((t) => t.name));
  for (const input of graph.input) {
    if (initializers.has(input.name) || shaped.has(input.name)) continue;
    const tensor = input.type?.value.case === 'tensorType' ? input.type.value.value : undefined;
    const dims = (tensor?.shape?.dim ?? []).map((d) => (d.value.case === 'dimValue' ? String(d.value.value) : d.value.case === 'dimParam' ? d.value.value : '?'));
    if (!tensor?.shape || dims.every((d) => /^\d+$/.test(d))) continue;
    const example = dims.map((d) => (/^\d+$/.test(d) ? d : '1')).join('x');
    throw new UsageError(
      `input '${input.name}' has dynamic dimensions [${dims.join(', ')}]: give its shape with --shapes ${input.name}:${example}` +
        (rangesToo ? ', or a range with --min-shapes, --opt-shapes and --max-shapes' : ''),
    );
  }
}
