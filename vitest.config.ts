import { defineConfig } from 'vitest/config';

export default defineConfig({
  test: {
    include: ['test/**/*.test.ts'],
    testTimeout: 60_000,
    // Native work runs on the libuv pool; forks keep each file's addon instance separate.
    pool: 'forks',
  },
});
