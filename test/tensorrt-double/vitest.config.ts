// Runs selected backend-agnostic suites on backend 'tensorrt': the real adapter
// (native/tensorrt) over the TensorRT double. Started by scripts/test-tensorrt-double.mjs,
// which builds both and sets TENSORRT_NODE_ADAPTER and LD_LIBRARY_PATH.
import { defineConfig } from 'vitest/config';

export default defineConfig({
  test: {
    root: new URL('../..', import.meta.url).pathname,
    include: ['test/tensorrt-double/double.test.ts', 'test/build-and-run.test.ts'],
    setupFiles: ['test/tensorrt-double/setup.ts'],
    testTimeout: 60_000,
    pool: 'forks',
  },
});
