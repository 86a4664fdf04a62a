/** `tensorrt-node backends`: which backends can run here, and why not. */
import { backends } from '../backend.js';
import { parseCommandLine } from './usage.js';

const HELP = `Usage: tensorrt-node backends

Lists each backend, its version, and when it cannot run here, why and how to fix it.

Example:
  tensorrt-node backends`;

export async function backendsCommand(args: string[]): Promise<void> {
  const { values } = parseCommandLine(args, { help: { type: 'boolean', short: 'h' } });
  if (values.help) {
    console.log(HELP);
    return;
  }
  for (const b of backends()) {
    console.log(b.available ? `${b.name}\tavailable\t${b.version}` : `${b.name}\tunavailable\n  ${(b.reason ?? '').replace(/\n/g, '\n  ')}`);
  }
}
