#!/usr/bin/env node
/**
 * The tensorrt-node command line. Each command lives in its own file; this one takes the
 * global flags (--verbose, --quiet, --version), dispatches, and turns errors into exit codes:
 * 2 and one line for a mistake on the command line, 1 and one line for a failure.
 */
// First: says why the addon cannot load, before the commands' imports would throw it.
import './addon-check.js';
import { readFileSync } from 'node:fs';

import { backends } from '../backend.js';
import { InvalidArgumentError, TensorRTError } from '../errors.js';
import { backendsCommand } from './backends-command.js';
import { benchCommand } from './bench-command.js';
import { buildCommand } from './build-command.js';
import { compareCommand } from './compare-command.js';
import { exportTritonCommand } from './export-triton-command.js';
import { inspectCommand } from './inspect-command.js';
import { getVerbosity, setVerbosity } from './output.js';
import { quantizeCommand } from './quantize-command.js';
import { runCommand } from './run-command.js';
import { UsageError } from './usage.js';

const USAGE = `Usage: tensorrt-node <command> [options]

Commands:
  build MODEL.onnx -o MODEL.engine   build an engine from an ONNX model
  run MODEL.engine                   run an engine on given or random inputs
  bench MODEL.engine                 measure an engine's throughput and latency
  quantize MODEL.onnx -o OUT.onnx    calibrate and insert INT8 Q/DQ (explicit quantization)
  inspect MODEL.onnx|MODEL.engine    describe a model (I/O, operators, what a backend cannot parse)
                                     or an engine (I/O, profiles, layers)
  compare MODEL.onnx                 run a model on several backends and compare the outputs
  export-triton FILE --repo DIR      write a Triton Inference Server model repository entry
  backends                           list backends and whether they can run here

Options for every command:
  --verbose                          show the backend's verbose log
  --quiet                            show only results and errors
  --version                          print the package version and the backends
  -h, --help                         show help (of a command: 'tensorrt-node run --help')

Example:
  tensorrt-node build model.onnx -o model.engine --shapes x:1x3x224x224
  tensorrt-node bench model.engine --duration 5`;

const commands: Record<string, (args: string[]) => Promise<void>> = {
  build: buildCommand,
  run: runCommand,
  bench: benchCommand,
  backends: backendsCommand,
  quantize: quantizeCommand,
  inspect: inspectCommand,
  compare: compareCommand,
  'export-triton': exportTritonCommand,
};

function versionText(): string {
  const pkg = JSON.parse(readFileSync(new URL('../../package.json', import.meta.url), 'utf8')) as { version: string };
  const lines = [`tensorrt-node ${pkg.version}`];
  for (const b of backends()) lines.push(`  ${b.name}: ${b.available ? b.version : 'unavailable (run tensorrt-node backends for why)'}`);
  return lines.join('\n');
}

/** Takes the global flags out of argv (before a '--'), wherever they stand. */
function globalFlags(argv: string[]): { rest: string[]; version: boolean } {
  const end = argv.includes('--') ? argv.indexOf('--') : argv.length;
  const take = (flag: string) => argv.slice(0, end).includes(flag);
  const verbose = take('--verbose');
  const quiet = take('--quiet');
  if (verbose && quiet) throw new UsageError('choose one of --verbose and --quiet');
  setVerbosity(verbose ? 'verbose' : quiet ? 'quiet' : 'normal');
  const rest = argv.filter((a, i) => i >= end || (a !== '--verbose' && a !== '--quiet'));
  return { rest, version: take('--version') };
}

/** The user's mistake in an error, if that is what it is. */
function usageMistake(error: unknown): Error | undefined {
  if (error instanceof UsageError) return error;
  // Calibration files the CLI could not turn into batches come back wrapped as the
  // calibration data's failure (calibration-data.ts): still a usage error.
  if (error instanceof TensorRTError && error.cause instanceof UsageError) return error.cause;
  // Every argument here came from the command line: a value the library refuses is a flag's.
  if (error instanceof InvalidArgumentError) return error;
  return undefined;
}

async function main(argv: string[]): Promise<number> {
  let parsed: ReturnType<typeof globalFlags>;
  try {
    parsed = globalFlags(argv);
  } catch (error) {
    console.error(`tensorrt-node: ${(error as Error).message}`);
    return 2;
  }
  const [name, ...rest] = parsed.rest;
  if (parsed.version) {
    console.log(versionText());
    return 0;
  }
  if (!name || name === '--help' || name === '-h' || name === 'help') {
    console.log(USAGE);
    return 0;
  }
  const command = commands[name];
  if (!command) {
    console.error(`tensorrt-node: unknown command '${name}'; the commands are ${Object.keys(commands).join(', ')} (tensorrt-node --help)`);
    return 2;
  }
  try {
    await command(rest);
    return 0;
  } catch (error) {
    const mistake = usageMistake(error);
    if (mistake) {
      // One line: the message names the flag and the fix; --help is there for the rest.
      console.error(`tensorrt-node ${name}: ${mistake.message.split('\n')[0]} (tensorrt-node ${name} --help)`);
      return 2;
    }
    const verbose = getVerbosity() === 'verbose';
    if (error instanceof TensorRTError) console.error(`tensorrt-node ${name}: ${error.name}: ${error.message}`);
    else console.error(`tensorrt-node ${name}: ${(error as Error)?.message ?? String(error)}`);
    if (verbose && error instanceof Error && error.stack) console.error(error.stack);
    return 1;
  }
}

process.exitCode = await main(process.argv.slice(2));
