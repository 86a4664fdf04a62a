/**
 * The accuracy report of `build --fp16/--int8` and `quantize`: the reduced-precision model
 * against float32 on the user's data where given (--validation-data, held-out calibration
 * batches), printed with a warning when an output has NaN/Inf or a cosine below 0.99, and
 * failing the command (exit 1) under --fail-below.
 */
import type { BackendOption } from '../backend.js';
import type { Feeds } from '../execution-context.js';
import { InferenceSession } from '../inference-session.js';
import type { Logger } from '../logger.js';
import { readModel } from '../onnx/model-io.js';
import { accuracyProblems, classScoreOutputs, compareAccuracy, formatAccuracyReport } from '../precision/accuracy.js';
import { calibrationBatches, listCalibrationFiles, modelInputs } from './calibration-files.js';
import { randomFeeds } from './random-inputs.js';
import { CheckFailedError, UsageError } from './usage.js';

export const ACCURACY_OPTIONS = {
  'validation-data': { type: 'string' },
  'fail-below': { type: 'string' },
} as const;

export const ACCURACY_HELP = `  --validation-data DIR      held-out inputs, laid out as --calib-data, for the accuracy
                             report, the --min-cosine target and, with --fp16, for checking
                             activations against float16's range
  --fail-below COSINE        exit with status 1 when an output's cosine against float32 is
                             below COSINE (e.g. 0.99) or it has NaN/Inf values`;

/** Below this an accuracy report is printed as a warning even without --fail-below. */
const WARN_BELOW = 0.99;

export function parseFailBelow(value: string | undefined): number | undefined {
  if (value === undefined) return undefined;
  const n = Number(value);
  if (value.trim() === '' || !(n > 0 && n <= 1)) throw new UsageError(`--fail-below takes a cosine in (0, 1], such as 0.99 (got '${value}')`);
  return n;
}

/** Every batch of a data directory (the --calib-data layout), read lazily on each iteration. */
export async function dataDirectoryBatches(modelPath: string, dir: string, shapes: Record<string, number[]>): Promise<() => AsyncGenerator<Feeds>> {
  const inputs = await modelInputs(modelPath, shapes);
  const files = await listCalibrationFiles(dir, inputs);
  return () => calibrationBatches(files, inputs, 0, files[0]!.length);
}

/** Batches of the user's to report on, and where they came from (for the report's heading). */
export interface ReportData {
  batches: () => AsyncIterable<Feeds>;
  /** e.g. 'the --validation-data batches' */
  from: string;
}

export interface AccuracyRun {
  modelPath: string;
  precision: string;
  /** The float32 engine and the reduced-precision one, serialized. */
  reference: Uint8Array;
  candidate: Uint8Array;
  load: { backend: BackendOption; logger?: Logger; device?: number; plugins?: string[]; engineHostCodeAllowed?: boolean };
  /** The user's data; undefined: seeded random inputs in [-1, 1]. */
  data: ReportData | undefined;
  failBelow: number | undefined;
}

/**
 * Prints the report to stdout, a warning to stderr when an output has NaN/Inf values or a
 * cosine below 0.99, and throws CheckFailedError when one is below `failBelow`.
 */
export async function reportAccuracy(run: AccuracyRun): Promise<void> {
  const fp32 = await InferenceSession.create(run.reference, run.load);
  let reduced: InferenceSession | undefined;
  try {
    reduced = await InferenceSession.create(run.candidate, run.load);
    const { model } = await readModel(run.modelPath, { loadExternalData: false });
    const inputs = run.data ? run.data.batches() : randomFeeds(fp32, 8, 12345);
    const report = await compareAccuracy(fp32, reduced, inputs, { classOutputs: classScoreOutputs(model) });
    const on = run.data ? `on ${run.data.from}` : 'random inputs in [-1, 1]; give --validation-data DIR to measure on real inputs';
    console.log(`accuracy of ${run.precision} against fp32 (${on}):\n${formatAccuracyReport(report)}`);
    const problems = accuracyProblems(report, WARN_BELOW);
    if (problems.length > 0) console.warn(`warning: the ${run.precision} model may not be accurate enough:\n  ${problems.join('\n  ')}`);
    if (run.failBelow !== undefined) {
      const failed = accuracyProblems(report, run.failBelow);
      if (failed.length > 0) throw new CheckFailedError(`accuracy below --fail-below ${run.failBelow}: ${failed.join('; ')}`);
    }
  } finally {
    fp32.dispose();
    reduced?.dispose();
  }
}
