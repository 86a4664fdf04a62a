// Vitest setup for runs through the TensorRT double (npm run test:tensorrt-double): the
// existing suites name backend 'sim' where they mean "the backend under test", so here every
// request for 'sim' goes to 'tensorrt' (the adapter over the double) instead. Tests of
// sim-only behaviour are deselected in test/tensorrt-double/vitest.config.ts, not edited.
import { vi } from 'vitest';

vi.mock('../../lib/backend.js', async (importOriginal) => {
  const original = await importOriginal<typeof import('../../lib/backend.js')>();
  return {
    ...original,
    resolveBackend: (option: unknown, logger: Parameters<typeof original.resolveBackend>[1]) =>
      original.resolveBackend(option === 'sim' ? 'tensorrt' : option, logger),
  };
});
