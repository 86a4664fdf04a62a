/** The INT8 options `build --int8` and `quantize` share: calibration data, cache and method. */
import { existsSync } from 'node:fs';

import { CALIBRATION_METHODS, type CalibrationMethod } from '../calibration/histogram.js';
import type { Feeds } from '../execution-context.js';
import type { Int8Options } from '../precision/int8.js';
import type { ProgressEvent } from '../builder-config.js';
import { calibrationBatches, listCalibrationFiles, modelInputs } from './calibration-files.js';
import { withBatchProgress } from './output.js';
import { UsageError } from './usage.js';

export const INT8_OPTIONS = {
  'calib-data': { type: 'string' },
  'calib-cache': { type: 'string' },
  'calib-method': { type: 'string' },
} as const;

export const INT8_HELP = `  --calib-data DIR           calibration batches: DIR/*.bin (one input) or DIR/<input>/*.bin,
                             raw little-endian data at the input's shape (see --shapes);
                             the last fifth (at least one batch, from five up) is held out
                             for the accuracy report
  --calib-cache FILE         TensorRT calibration cache: read if it exists (no calibration),
                             written after calibrating
  --calib-method M           entropy (default, TensorRT's EntropyCalibration2), minmax,
                             percentile, or auto (per tensor, the least-error of those)`;

export interface Int8Plan {
  calibration: Omit<Int8Options, 'backend' | 'shapes' | 'outputPath' | 'baseDir'>;
  /** How many batches calibrate (0 without --calib-data). */
  batches: number;
  /** Batches kept out of calibration, for the accuracy report; undefined without --calib-data. */
  heldOut: (() => AsyncIterable<Feeds>) | undefined;
}

export async function int8Plan(
  modelPath: string,
  values: { 'calib-data'?: string; 'calib-cache'?: string; 'calib-method'?: string },
  shapes: Record<string, number[]>,
): Promise<Int8Plan> {
  const method = (values['calib-method'] ?? 'entropy') as CalibrationMethod;
  if (!CALIBRATION_METHODS.includes(method)) throw new UsageError(`--calib-method must be one of ${CALIBRATION_METHODS.join(', ')}`);
  const cache = values['calib-cache'];
  const cacheExists = cache !== undefined && existsSync(cache);
  if (!values['calib-data'] && !cacheExists) throw new UsageError('INT8 needs --calib-data DIR, or --calib-cache FILE naming an existing cache');
  const calibration: Int8Plan['calibration'] = { method };
  if (cache) calibration.calibrationCache = { ...(cacheExists && { read: cache }), write: cache };
  let heldOut: Int8Plan['heldOut'];
  let batches = 0;
  if (values['calib-data']) {
    const inputs = await modelInputs(modelPath, shapes);
    const files = await listCalibrationFiles(values['calib-data'], inputs);
    const total = files[0]!.length;
    const held = total >= 5 ? Math.max(1, Math.floor(total / 5)) : 0;
    batches = total - held;
    calibration.calibrationData = { [Symbol.asyncIterator]: () => calibrationBatches(files, inputs, 0, total - held) };
    if (held > 0) heldOut = () => calibrationBatches(files, inputs, total - held, total);
  }
  return { calibration, batches, heldOut };
}

/** The plan's calibration options, its batches reporting progress as they are read. */
export function withCalibrationProgress(plan: Int8Plan, onProgress: (event: ProgressEvent) => void): Int8Plan['calibration'] {
  const data = plan.calibration.calibrationData;
  if (!data) return plan.calibration;
  return { ...plan.calibration, calibrationData: withBatchProgress(data, plan.batches, onProgress) };
}
