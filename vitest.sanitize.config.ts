/**
 * The test suite under ASan+UBSan (scripts/test-sanitize.sh). Excludes only what cannot run
 * there, each with its reason; everything else runs as in `npm test`.
 */
import { defineConfig, mergeConfig } from 'vitest/config';

import base from './vitest.config.js';

export default mergeConfig(
  base,
  defineConfig({
    test: {
      exclude: [
        // Timing: asserts event-loop pauses of about a millisecond while native code bins and
        // builds; instrumented code runs several times slower, so the bound cannot hold. The
        // same code paths run under the sanitizers in calibration*.test.ts and api.test.ts.
        'test/event-loop.test.ts',
        // Memory: bounds the RSS of thousands of sessions dropped without dispose(); ASan keeps
        // freed memory in quarantine and adds shadow memory, so no RSS bound holds there. The
        // reporting code itself runs under the sanitizers in api.test.ts and build-and-run.test.ts.
        'test/external-memory.test.ts',
      ],
      // Instrumented native code runs 2-5x slower.
      testTimeout: 240_000,
    },
  }),
);
