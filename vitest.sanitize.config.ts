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
      exclude: [],
      // Instrumented native code runs 2-5x slower.
      testTimeout: 240_000,
    },
  }),
);
