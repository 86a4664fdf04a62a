/**
 * main.ts imports this first, before any command's module loads the addon: an addon that
 * cannot load then ends the command with its BackendUnavailableError message and exit code 1,
 * not with a stack trace from deep inside an import.
 */
import { loadAddon } from '../addon-loader.js';
import { BackendUnavailableError } from '../errors.js';

try {
  loadAddon();
} catch (error) {
  if (!(error instanceof BackendUnavailableError)) throw error;
  console.error(`tensorrt-node: ${error.name}: ${error.message}`);
  process.exit(1);
}
