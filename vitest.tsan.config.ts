/**
 * The threading suites under ThreadSanitizer (scripts/test-tsan-addon.sh, the second half of
 * `npm run test:tsan`): the calibration thread pool (short_job_pool), HistogramAdd shared with
 * the event loop, the thread-safe-function completions, the AsyncWorkers and the JS calibrator
 * bridge, against an addon built with -fsanitize=thread.
 *
 * Not run here, each for a reason:
 * - event-loop.test.ts: timing; it bounds event-loop pauses to about a millisecond, and TSan
 *   slows native code 5-15x. Its code paths (build, bin, add on the pool) run in the suites below.
 * - int8.test.ts: time; about two minutes under TSan on 2 cores, for threaded paths already
 *   here: histogram adds on the pool (calibration*.test.ts)
 *   and the JS calibrator (implicit-precision.test.ts, calibration-errors.test.ts). It passed
 *   under TSan when this config was written.
 * - the operator, parser, CLI and fuzz-corpus suites: single-threaded native code (one
 *   AsyncWorker at a time, already covered by api.test.ts), and the time goes to CI's limit.
 */
import { defineConfig, mergeConfig } from 'vitest/config';

import base from './vitest.config.js';

const threadingSuites = [
  'test/calibration-threads.test.ts',
  'test/calibration.test.ts',
  'test/workers.test.ts',
  'test/binding-lifetimes.test.ts',
  'test/implicit-precision.test.ts',
  'test/api.test.ts',
  // The JS calibrator bridge's error paths (a build thread woken by a throw or a rejection)
  'test/calibration-errors.test.ts',
];

const config = mergeConfig(
  base,
  defineConfig({
    test: {
      // Instrumented native code runs 5-15x slower.
      testTimeout: 300_000,
      hookTimeout: 300_000,
    },
  }),
);
// Set, not merged: mergeConfig concatenates arrays, which would keep the base's test/**.
config.test!.include = threadingSuites;

export default config;
