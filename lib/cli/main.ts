#!/usr/bin/env node
/**
 * The tensorrt-node command line: `build` an engine from ONNX, `run` an engine, list
 * `backends`. Each command lives in its own file; this one dispatches and reports errors.
 */
// First: says why the addon cannot load, before the commands' imports would throw it.
import './addon-check.js';
import { TensorRTError } from '../errors.js';
import { backendsCommand } from './backends-command.js';
import { buildCommand } from './build-command.js';
import { quantizeCommand } from './quantize-command.js';
import { runCommand } from './run-command.js';
import { UsageError } from './usage.js';

const USAGE = `Usage: tensorrt-node <command> [options]

Commands:
  build MODEL.onnx -o MODEL.engine   build an engine from an ONNX model
  run MODEL.engine                   run an engine on given or random inputs
  quantize MODEL.onnx -o OUT.onnx    calibrate and insert INT8 Q/DQ (explicit quantization)
  backends                           list backends and whether they can run here

Run 'tensorrt-node <command> --help' for a command's options.`;

const commands: Record<string, (args: string[]) => Promise<void>> = {
  build: buildCommand,
  run: runCommand,
  backends: backendsCommand,
  quantize: quantizeCommand,
};

async function main(argv: string[]): Promise<number> {
  const [name, ...rest] = argv;
  if (!name || name === '--help' || name === '-h' || name === 'help') {
    console.log(USAGE);
    return 0;
  }
  const command = commands[name];
  if (!command) {
    console.error(`tensorrt-node: unknown command '${name}'\n\n${USAGE}`);
    return 2;
  }
  try {
    await command(rest);
    return 0;
  } catch (error) {
    // Calibration files the CLI could not turn into batches come back wrapped as the
    // calibration data's failure (calibration-data.ts): still a usage error.
    const usage = error instanceof UsageError ? error : error instanceof TensorRTError && error.cause instanceof UsageError ? error.cause : undefined;
    if (usage) {
      console.error(`tensorrt-node ${name}: ${usage.message}\nRun 'tensorrt-node ${name} --help' for usage.`);
      return 2;
    }
    if (error instanceof TensorRTError) {
      console.error(`tensorrt-node ${name}: ${error.name}: ${error.message}`);
      return 1;
    }
    throw error;
  }
}

process.exitCode = await main(process.argv.slice(2));
